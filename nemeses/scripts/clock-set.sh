#!/bin/sh
# Sets a node's clock offset. $1: state dir; $2: clock loop name; $3: clock file; $4: offset
# text (`+5.000`). Stops any clock loop first. Needs lib.sh.
stop_loop "$1" "$2" >/dev/null
mkdir -p -- "$(dirname -- "$3")" && set_offset "$3" "$4"
