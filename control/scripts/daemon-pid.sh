#!/bin/sh
# Prints the daemon's pid if it runs, nothing otherwise. $1: pid file. Needs pid.sh.
pid_of "$1" || true
