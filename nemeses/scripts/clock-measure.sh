#!/bin/sh
# $1: libfaketime; $2: clock file. Prints the real time before and after, and between them
# the time `date` sees under libfaketime with the daemon's settings, in nanoseconds.
a=$(date +%s%N)
f=$(env LD_PRELOAD="$1" FAKETIME_TIMESTAMP_FILE="$2" FAKETIME_NO_CACHE=1 date +%s%N)
b=$(date +%s%N)
echo "$a $f $b"
