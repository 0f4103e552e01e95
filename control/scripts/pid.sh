#!/bin/sh
# Functions shared by the daemon scripts: prepended to the scripts that call them (see
# control/src/db/scripts.rs), so each script sent to a node is whole.

# alive PID: a running, non-zombie process (a killed daemon stays a zombie until its
# parent reaps it).
alive() { st=$(ps -o stat= -p "$1" 2>/dev/null) && [ -n "$st" ] && [ "${st#Z}" = "$st" ]; }

# pid_of PID_FILE: prints the pid in PID_FILE if that process is alive; fails otherwise.
pid_of() { [ -f "$1" ] && p=$(cat "$1") && [ -n "$p" ] && alive "$p" && echo "$p"; }
