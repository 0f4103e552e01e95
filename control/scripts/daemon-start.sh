#!/bin/sh
# Starts the daemon detached (setsid, nohup), output appended to its log file, pid in its
# pid file; does nothing if it already runs. $1: pid file; $2: log file; $3: working
# directory (may be empty); $4: libfaketime clock file, created at +0 if missing (may be
# empty); $5...: the command (env, its variables, the program, its arguments). Needs pid.sh.
pid_file=$1; log_file=$2; cwd=$3; clock=$4; shift 4
if p=$(pid_of "$pid_file"); then echo "already running as $p"; exit 0; fi
mkdir -p -- "$(dirname -- "$pid_file")" "$(dirname -- "$log_file")"
if [ -n "$clock" ] && [ ! -f "$clock" ]; then mkdir -p -- "$(dirname -- "$clock")"; echo +0 > "$clock"; fi
if [ -n "$cwd" ]; then mkdir -p -- "$cwd"; cd "$cwd" || exit 1; fi
setsid nohup "$@" >> "$log_file" 2>&1 < /dev/null &
echo $! > "$pid_file"
