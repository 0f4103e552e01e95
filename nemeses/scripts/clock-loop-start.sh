#!/bin/sh
# Starts a clock loop detached. $1: state dir; $2: loop name (the loop's $0, checked before
# it is stopped); $3: clock file; $4: the loop's script; $5...: its arguments after the
# clock file. Stops any clock loop first; the new one's pid is kept in the state dir.
# Needs lib.sh.
stop_loop "$1" "$2" >/dev/null
state=$1; name=$2; file=$3; script=$4; shift 4
mkdir -p -- "$state" "$(dirname -- "$file")"
setsid nohup sh -c "$script" "$name" "$file" "$@" >/dev/null 2>&1 < /dev/null &
echo $! > "$state/clock-loop.pid"
