#!/bin/sh
# Does the kernel have netem? Tried on lo and undone at once. Prints `yes` or `no: WHY`.
command -v tc >/dev/null 2>&1 || { echo "no: tc is not installed (apt-get install iproute2)"; exit 0; }
if out=$(tc qdisc add dev lo root handle 5b: netem delay 0ms 2>&1); then
  tc qdisc del dev lo root 2>/dev/null; echo yes; exit 0
fi
case "$out" in
  *unknown*|*"No such file"*|*"not supported"*) echo "no: $out" ;;
  *) echo yes ;;
esac
