#!/bin/sh
# Heal section of clock faults: stops a clock loop, sets a skewed clock file back to zero.
# $1: state dir; $2: clock loop name; $3: clock file (may be empty). Takes its parameters
# off the list. Needs lib.sh.
stop_loop "$1" "$2"
clock=$3; shift 3
if [ -n "$clock" ] && [ -f "$clock" ]; then
  was=$(cat -- "$clock" 2>/dev/null)
  case "$was" in
    +0|0|+0.000|-0.000|"") ;;
    *) set_offset "$clock" +0 && echo "reset the clock offset to 0 (was $was)" ;;
  esac
fi
