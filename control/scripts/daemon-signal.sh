#!/bin/sh
# Sends a signal to the daemon, by pid file and by process name. $1: pid file; $2: process
# name (may be empty); $3: signal name (KILL, TERM, STOP, CONT). Needs pid.sh.
if p=$(pid_of "$1"); then kill -s "$3" "$p" 2>/dev/null || true; fi
if [ -n "$2" ]; then pkill -"$3" -x -- "$2" || true; fi
