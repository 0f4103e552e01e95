#!/bin/sh
# Waits until the daemon is gone, then removes its pid file; exits 1 if it is not gone in
# time. $1: pid file; $2: process name (may be empty); $3: tenths of a second to wait.
# Needs pid.sh.
i=0
while pid_of "$1" >/dev/null || { [ -n "$2" ] && pgrep -x -- "$2" >/dev/null; }; do
  i=$((i+1)); [ "$i" -gt "$3" ] && exit 1; sleep 0.1
done
rm -f -- "$1"
