#!/bin/sh
# Functions shared by the nemesis scripts: prepended to the scripts that call them
# (see nemeses/src/scripts.rs), so each script sent to a node is whole.

# packet_clear HANDLE CHAIN: removes our root qdisc (handle HANDLE) from every interface and
# our loss chain CHAIN with its jump, tolerating their absence ("no qdisc" is not an error
# when healing).
packet_clear() {
  if command -v tc >/dev/null 2>&1; then
    for dev in $(tc qdisc show 2>/dev/null | awk -v h="$1" '$3 == h && $4 == "dev" && $6 == "root" { print $5 }'); do
      if tc qdisc del dev "$dev" root 2>/dev/null; then echo "removed netem qdisc on $dev"; fi
    done
  fi
  if command -v iptables >/dev/null 2>&1 && iptables -w -S "$2" >/dev/null 2>&1; then
    while iptables -w -D OUTPUT -j "$2" 2>/dev/null; do :; done
    iptables -w -F "$2"; iptables -w -X "$2"
    echo "removed iptables chain $2"
  fi
  return 0
}

# stop_loop STATE_DIR LOOP_NAME: stops a running clock loop (strobe, drift), after checking
# that the recorded pid still is that loop.
stop_loop() {
  pf="$1/clock-loop.pid"
  [ -f "$pf" ] || return 0
  p=$(cat "$pf"); rm -f "$pf"
  if [ -n "$p" ] && grep -q -a -- "$2" "/proc/$p/cmdline" 2>/dev/null; then
    kill "$p" 2>/dev/null && echo "stopped the clock loop (pid $p)"
  fi
  return 0
}

# set_offset FILE TEXT: writes a libfaketime offset atomically (a reader never sees an
# empty file).
set_offset() { printf '%s\n' "$2" > "$1.sb-tmp" && mv -f -- "$1.sb-tmp" "$1"; }
