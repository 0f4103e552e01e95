#!/bin/sh
# Heal section of partitions: removes our chain and its jump from INPUT, never the user's
# rules. $1: our chain. Takes its parameter off the list.
chain=$1; shift
if command -v iptables >/dev/null 2>&1 && iptables -w -S "$chain" >/dev/null 2>&1; then
  n=$(iptables -w -S "$chain" | grep -c -- '^-A' || true)
  while iptables -w -D INPUT -j "$chain" 2>/dev/null; do :; done
  iptables -w -F "$chain"; iptables -w -X "$chain"
  echo "removed iptables chain $chain ($n rules)"
fi
