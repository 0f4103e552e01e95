#!/bin/sh
# A packet fault with tc netem. $1: interface; $2: our qdisc handle; $3: number of peers;
# then the peers' addresses; then netem's arguments. Without peers netem is the root
# qdisc; with peers a prio root sends only the packets towards them through netem (band 4,
# which the default priomap never uses).
dev=$1; h=$2; n=$3; shift 3
peers=""; i=0
while [ "$i" -lt "$n" ]; do peers="$peers $1"; shift; i=$((i+1)); done
if [ -z "$peers" ]; then exec tc qdisc add dev "$dev" root handle "$h" netem "$@"; fi
undo() { tc qdisc del dev "$dev" root 2>/dev/null; exit 1; }
tc qdisc add dev "$dev" root handle "$h" prio bands 4 || exit 1
tc qdisc add dev "$dev" parent "${h}4" handle 5c: netem "$@" || undo
# Addresses have no blanks: splitting $peers into words is what is meant.
for p in $peers; do
  tc filter add dev "$dev" parent "$h" protocol ip prio 1 u32 match ip dst "$p/32" flowid "${h}4" || undo
done
