#!/bin/sh
# Opens, then hangs on its first op in a child process (`sleep`), so that stopping it
# must reach the whole process group. With `ignore-term`, the shell and its child
# ignore SIGTERM: only SIGKILL ends them. Prints its pids on stderr.
[ "$1" = ignore-term ] && trap '' TERM
read -r open
echo '{"type":"open_ok"}'
echo "pid $$" >&2
read -r invoke
sleep 3600 &
echo "child $!" >&2
wait
