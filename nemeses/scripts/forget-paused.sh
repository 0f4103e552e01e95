#!/bin/sh
# $1: state dir. The paused pids were resumed.
rm -f -- "$1/paused"
