#!/bin/sh
# The drift loop, run detached by clock-loop-start.sh. $1: clock file; $2: rate in ppm
# (50000 = 5% fast, -50000 = 5% slow); $3: step (seconds); $4: number of steps at most.
# The offset grows by rate × real time elapsed, measured with the real clock (this shell is
# not under libfaketime). Needs lib.sh.
t0=$(date +%s%N); i=0
while [ "$i" -lt "$4" ]; do
  now=$(date +%s%N)
  # Nanoseconds to microseconds first keeps the product within 64 bits on long loops; the
  # precision given up is below a microsecond.
  # shellcheck disable=SC2017
  us=$(( (now - t0) / 1000 * $2 / 1000000 ))
  if [ "$us" -lt 0 ]; then s=-; us=$((0 - us)); else s=+; fi
  set_offset "$1" "$(printf '%s%d.%06d' "$s" $((us / 1000000)) $((us % 1000000)))"
  sleep "$3"; i=$((i+1))
done
