#!/bin/sh
# $1: the node's address; $2: a peer's address (may be empty). Prints the interface
# carrying the node's address, else the one routing to the peer; exits 1 if neither.
dev=$(ip -o -4 addr show 2>/dev/null | awk -v ip="$1" '{ split($4, a, "/"); if (a[1] == ip) { print $2; exit } }')
if [ -z "$dev" ] && [ -n "$2" ]; then dev=$(ip -o -4 route get "$2" 2>/dev/null | sed -n 's/.* dev \([^ ]*\).*/\1/p' | head -n 1); fi
[ -n "$dev" ] && echo "$dev"
