#!/bin/sh
# PID 1 of a lab node, run by `splitbrain lab up` inside the node's new mount, PID and UTS
# namespaces. $1: the node's hostname; $2: its sshd_config; then pairs of a directory
# and the path it is bind-mounted over (the node's private directories, parents first).
# Ends as sshd, so that killing sshd ends the node.
set -e
hostname "$1"; config=$2; shift 2
while [ $# -ge 2 ]; do mount --bind "$1" "$2"; shift 2; done
mkdir -p /run/sshd
chmod 0755 /run/sshd
exec /usr/sbin/sshd -D -e -f "$config"
