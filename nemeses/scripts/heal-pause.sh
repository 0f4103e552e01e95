#!/bin/sh
# Heal section of pauses: resumes the pids we paused (recorded in the state dir), then the
# daemon's own stopped processes. $1: state dir; $2: daemon pid file (may be empty); $3:
# daemon process name (may be empty). Takes its parameters off the list.
state=$1; pidfile=$2; proc=$3; shift 3
resume() {
  st=$(ps -o stat= -p "$1" 2>/dev/null) || return 0
  case "$st" in T*) kill -CONT "$1" 2>/dev/null && echo "resumed paused pid $1 ($2)";; esac
  return 0
}
if [ -f "$state/paused" ]; then
  while read -r p; do resume "$p" "paused by splitbrain"; done < "$state/paused"
  rm -f -- "$state/paused"
fi
if [ -n "$pidfile" ] && [ -f "$pidfile" ]; then p=$(cat -- "$pidfile"); [ -n "$p" ] && resume "$p" "$proc"; fi
if [ -n "$proc" ] && command -v pgrep >/dev/null 2>&1; then
  for p in $(pgrep -x -- "$proc"); do resume "$p" "$proc"; done
fi
