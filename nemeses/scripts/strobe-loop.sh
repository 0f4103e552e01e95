#!/bin/sh
# The strobe loop, run detached by clock-loop-start.sh. $1: clock file; $2: offset text;
# $3: period (seconds); $4: number of flips. Ends at offset zero. Needs lib.sh.
i=0
while [ "$i" -lt "$4" ]; do
  set_offset "$1" "$2"; sleep "$3"
  set_offset "$1" +0; sleep "$3"
  i=$((i+1))
done
