#!/bin/sh
# Nemesis setup for partitions. $1: our chain. Creates it and its jump from INPUT if missing.
command -v iptables >/dev/null 2>&1 || { echo "iptables is not installed (apt-get install iptables)" >&2; exit 3; }
iptables -w -N "$1" 2>/dev/null || true
iptables -w -C INPUT -j "$1" 2>/dev/null || iptables -w -I INPUT 1 -j "$1"
