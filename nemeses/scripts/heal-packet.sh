#!/bin/sh
# Heal section of packet faults, and the end of one: our qdisc and our loss chain go,
# "nothing there" is fine. $1: our qdisc handle; $2: our loss chain. Takes its parameters
# off the list. Needs lib.sh.
packet_clear "$1" "$2"; shift 2
