#!/bin/sh
# Packet loss with iptables' statistic match, for kernels without netem. $1: our chain;
# $2: probability (0..1); $3...: destination addresses (none: everything but loopback).
set -e
chain=$1; p=$2; shift 2
iptables -w -N "$chain" 2>/dev/null || true
iptables -w -C OUTPUT -j "$chain" 2>/dev/null || iptables -w -I OUTPUT 1 -j "$chain"
iptables -w -F "$chain"
if [ $# -eq 0 ]; then
  iptables -w -A "$chain" ! -o lo -m statistic --mode random --probability "$p" -j DROP
else
  for ip in "$@"; do iptables -w -A "$chain" -d "$ip" -m statistic --mode random --probability "$p" -j DROP; done
fi
