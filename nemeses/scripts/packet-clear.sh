#!/bin/sh
# Ends a packet fault. $1: our qdisc handle; $2: our loss chain. Needs lib.sh.
packet_clear "$1" "$2"
