#!/bin/sh
# Heals everything on a node, printing one line per thing it undid. $1: partition chain;
# $2: loss chain; $3: qdisc handle; $4: state dir; $5: clock loop name; $6: clock file (may
# be empty); $7: daemon pid file (may be empty); $8: daemon process name (may be empty).
# Needs lib.sh.
chain=$1; lchain=$2; handle=$3; state=$4; loop=$5; clock=$6; pidfile=$7; proc=$8
if command -v iptables >/dev/null 2>&1 && iptables -w -S "$chain" >/dev/null 2>&1; then
  n=$(iptables -w -S "$chain" | grep -c -- '^-A' || true)
  while iptables -w -D INPUT -j "$chain" 2>/dev/null; do :; done
  iptables -w -F "$chain"; iptables -w -X "$chain"
  echo "removed iptables chain $chain ($n rules)"
fi
packet_clear "$handle" "$lchain"
stop_loop "$state" "$loop"
if [ -n "$clock" ] && [ -f "$clock" ]; then
  was=$(cat -- "$clock" 2>/dev/null)
  case "$was" in
    +0|0|+0.000|-0.000|"") ;;
    *) set_offset "$clock" +0 && echo "reset the clock offset to 0 (was $was)" ;;
  esac
fi
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
exit 0
