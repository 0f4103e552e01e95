#!/bin/sh
# A partition on one node. $1: our chain; $2...: source addresses to drop.
# Replaces the chain's rules.
set -e
chain=$1; shift
iptables -w -N "$chain" 2>/dev/null || true
iptables -w -C INPUT -j "$chain" 2>/dev/null || iptables -w -I INPUT 1 -j "$chain"
iptables -w -F "$chain"
for ip in "$@"; do iptables -w -A "$chain" -s "$ip" -j DROP; done
