#!/bin/sh
# $1: state dir; $2: a pid we paused. Recorded so that heal resumes it without the
# database definition.
mkdir -p -- "$1" && echo "$2" >> "$1/paused"
