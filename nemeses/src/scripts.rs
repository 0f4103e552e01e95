//! The shell scripts the nemeses run on nodes.
//!
//! Every script is fixed text; values (chain names, addresses, offsets, paths) reach it as
//! positional parameters (`"$1"`), quoted by [`splitbrain_control::Cmd`], never pasted in.
//! Each is idempotent where it heals, and tolerant of finding nothing to heal.

/// Our iptables chain for partitions, jumped to from INPUT. Healing removes exactly this
/// chain and its jump; the user's own rules are never flushed.
pub const PARTITION_CHAIN: &str = "splitbrain-partition";
/// Our iptables chain for packet loss when the kernel has no netem, jumped to from OUTPUT.
pub const PACKET_CHAIN: &str = "splitbrain-packet";
/// The handle of our root qdisc (`5b:`): heal deletes a root qdisc only when it is ours.
pub const QDISC_HANDLE: &str = "5b:";
/// Node-side state: pids we paused, the clock loop's pid.
pub const STATE_DIR: &str = "/run/splitbrain/nemesis";
/// The name a clock loop runs under (`$0` of its shell), checked before it is killed.
pub const CLOCK_LOOP_NAME: &str = "splitbrain-clock-loop";

/// $1 chain: create it and the jump from INPUT if missing (nemesis setup).
pub const PARTITION_SETUP: &str = r#"command -v iptables >/dev/null 2>&1 || { echo "iptables is not installed (apt-get install iptables)" >&2; exit 3; }
iptables -w -N "$1" 2>/dev/null || true
iptables -w -C INPUT -j "$1" 2>/dev/null || iptables -w -I INPUT 1 -j "$1""#;

/// $1 chain, $2... source addresses to drop. Replaces the chain's rules.
pub const PARTITION_APPLY: &str = r#"set -e
chain=$1; shift
iptables -w -N "$chain" 2>/dev/null || true
iptables -w -C INPUT -j "$chain" 2>/dev/null || iptables -w -I INPUT 1 -j "$chain"
iptables -w -F "$chain"
for ip in "$@"; do iptables -w -A "$chain" -s "$ip" -j DROP; done"#;

/// $1 chain: drop its rules (the chain and its jump stay until the final heal).
pub const PARTITION_CLEAR: &str = r#"iptables -w -F "$1" 2>/dev/null || true"#;

/// Does the kernel have netem? Tried on `lo` and undone at once. Prints yes or no.
pub const NETEM_PROBE: &str = r#"command -v tc >/dev/null 2>&1 || { echo "no: tc is not installed (apt-get install iproute2)"; exit 0; }
out=$(tc qdisc add dev lo root handle 5b: netem delay 0ms 2>&1)
if [ $? -eq 0 ]; then tc qdisc del dev lo root 2>/dev/null; echo yes; exit 0; fi
case "$out" in
  *unknown*|*"No such file"*|*"not supported"*) echo "no: $out" ;;
  *) echo yes ;;
esac"#;

/// $1 the node's address, $2 a peer's address: prints the interface carrying the node's
/// address, else the one routing to the peer.
pub const INTERFACE: &str = r#"dev=$(ip -o -4 addr show 2>/dev/null | awk -v ip="$1" '{ split($4, a, "/"); if (a[1] == ip) { print $2; exit } }')
if [ -z "$dev" ] && [ -n "$2" ]; then dev=$(ip -o -4 route get "$2" 2>/dev/null | sed -n 's/.* dev \([^ ]*\).*/\1/p' | head -n 1); fi
[ -n "$dev" ] && echo "$dev""#;

/// $1 interface, $2 handle, $3 number of peers, then the peers' addresses, then netem's
/// arguments. Without peers netem is the root qdisc; with peers a prio root sends only the
/// packets towards them through netem (band 4, which the default priomap never uses).
pub const NETEM_APPLY: &str = r#"dev=$1; h=$2; n=$3; shift 3
peers=""; i=0
while [ "$i" -lt "$n" ]; do peers="$peers $1"; shift; i=$((i+1)); done
if [ -z "$peers" ]; then exec tc qdisc add dev "$dev" root handle "$h" netem "$@"; fi
undo() { tc qdisc del dev "$dev" root 2>/dev/null; exit 1; }
tc qdisc add dev "$dev" root handle "$h" prio bands 4 || exit 1
tc qdisc add dev "$dev" parent "${h}4" handle 5c: netem "$@" || undo
for p in $peers; do
  tc filter add dev "$dev" parent "$h" protocol ip prio 1 u32 match ip dst "$p/32" flowid "${h}4" || undo
done"#;

/// $1 chain, $2 probability (0..1), $3... destination addresses (none: all but loopback).
/// Packet loss with iptables' statistic match, for kernels without netem.
pub const LOSS_APPLY: &str = r#"set -e
chain=$1; p=$2; shift 2
iptables -w -N "$chain" 2>/dev/null || true
iptables -w -C OUTPUT -j "$chain" 2>/dev/null || iptables -w -I OUTPUT 1 -j "$chain"
iptables -w -F "$chain"
if [ $# -eq 0 ]; then
  iptables -w -A "$chain" ! -o lo -m statistic --mode random --probability "$p" -j DROP
else
  for ip in "$@"; do iptables -w -A "$chain" -d "$ip" -m statistic --mode random --probability "$p" -j DROP; done
fi"#;

/// `packet_clear HANDLE CHAIN`: removes our root qdisc from every interface and our loss
/// chain, tolerating their absence ("no qdisc" is not an error when healing).
const PACKET_CLEAR_FN: &str = r#"packet_clear() {
  if command -v tc >/dev/null 2>&1; then
    for dev in $(tc qdisc show 2>/dev/null | awk -v h="$1" '$3 == h && $4 == "dev" && $6 == "root" { print $5 }'); do
      tc qdisc del dev "$dev" root 2>/dev/null && echo "removed netem qdisc on $dev" || true
    done
  fi
  if command -v iptables >/dev/null 2>&1 && iptables -w -S "$2" >/dev/null 2>&1; then
    while iptables -w -D OUTPUT -j "$2" 2>/dev/null; do :; done
    iptables -w -F "$2"; iptables -w -X "$2"
    echo "removed iptables chain $2"
  fi
  return 0
}
"#;

/// $1 handle, $2 loss chain: ends a packet fault (see `packet_clear`).
pub fn packet_clear() -> String {
    format!("{PACKET_CLEAR_FN}packet_clear \"$1\" \"$2\"")
}

/// $1 state dir, $2 loop name: stops a running clock loop (strobe, drift).
const STOP_CLOCK_LOOP: &str = r#"stop_loop() {
  pf="$1/clock-loop.pid"
  [ -f "$pf" ] || return 0
  p=$(cat "$pf"); rm -f "$pf"
  if [ -n "$p" ] && grep -q -a -- "$2" "/proc/$p/cmdline" 2>/dev/null; then
    kill "$p" 2>/dev/null && echo "stopped the clock loop (pid $p)"
  fi
  return 0
}
"#;

/// Writes an offset atomically (a reader never sees an empty file): `set_offset FILE TEXT`.
const SET_OFFSET_FN: &str = r#"set_offset() { printf '%s\n' "$2" > "$1.sb-tmp" && mv -f -- "$1.sb-tmp" "$1"; }
"#;

/// $1 state dir, $2 loop name, $3 clock file, $4 offset text (`+5.000`): stops any clock
/// loop, then sets the offset.
pub fn clock_set() -> String {
    format!(
        r#"{STOP_CLOCK_LOOP}{SET_OFFSET_FN}stop_loop "$1" "$2" >/dev/null
mkdir -p -- "$(dirname -- "$3")" && set_offset "$3" "$4""#
    )
}

/// The strobe loop, run detached: $1 clock file, $2 offset text, $3 period (seconds),
/// $4 number of flips. Ends at offset zero.
const STROBE_LOOP: &str = r#"i=0
while [ "$i" -lt "$4" ]; do
  set_offset "$1" "$2"; sleep "$3"
  set_offset "$1" +0; sleep "$3"
  i=$((i+1))
done"#;

/// The drift loop, run detached: $1 clock file, $2 rate in ppm (e.g. 50000 = 5% fast,
/// -50000 = 5% slow), $3 step (seconds), $4 number of steps at most. The offset grows by
/// rate × real time elapsed, measured with the real clock (this shell is not under
/// libfaketime).
const DRIFT_LOOP: &str = r#"t0=$(date +%s%N); i=0
while [ "$i" -lt "$4" ]; do
  now=$(date +%s%N)
  us=$(( (now - t0) / 1000 * $2 / 1000000 ))
  if [ "$us" -lt 0 ]; then s=-; us=$((0 - us)); else s=+; fi
  set_offset "$1" "$(printf '%s%d.%06d' "$s" $((us / 1000000)) $((us % 1000000)))"
  sleep "$3"; i=$((i+1))
done"#;

/// $1 state dir, $2 loop name, $3 clock file, $4 loop script, $5... its arguments after
/// the clock file: stops any clock loop and starts this one detached, its pid kept in the
/// state dir.
pub fn clock_loop_start() -> String {
    format!(
        r#"{STOP_CLOCK_LOOP}stop_loop "$1" "$2" >/dev/null
state=$1; name=$2; file=$3; script=$4; shift 4
mkdir -p -- "$state" "$(dirname -- "$file")"
setsid nohup sh -c "$script" "$name" "$file" "$@" >/dev/null 2>&1 < /dev/null &
echo $! > "$state/clock-loop.pid""#
    )
}

pub fn strobe_loop() -> String {
    format!("{SET_OFFSET_FN}{STROBE_LOOP}")
}

pub fn drift_loop() -> String {
    format!("{SET_OFFSET_FN}{DRIFT_LOOP}")
}

/// $1 libfaketime, $2 clock file: the real time before and after, and the time `date` sees
/// under libfaketime with the daemon's settings, in nanoseconds.
pub const CLOCK_MEASURE: &str = r#"a=$(date +%s%N)
f=$(env LD_PRELOAD="$1" FAKETIME_TIMESTAMP_FILE="$2" FAKETIME_NO_CACHE=1 date +%s%N)
b=$(date +%s%N)
echo "$a $f $b""#;

/// $1 program, $2 libfaketime: can libfaketime move this program's clock? Prints `ok PATH`,
/// `go PATH`, `static PATH`, `missing PROGRAM` or `nolib`.
pub const CLOCK_PROBE: &str = r#"p=$(command -v -- "$1" 2>/dev/null) || { echo "missing $1"; exit 0; }
[ -f "$2" ] || { echo nolib; exit 0; }
[ -f "$p" ] || { echo "ok $p"; exit 0; }
if [ "$(head -c 4 -- "$p" | tail -c 3)" != "ELF" ]; then echo "ok $p"; exit 0; fi
if grep -q -a 'Go buildinf:' -- "$p" 2>/dev/null; then echo "go $p"; exit 0; fi
if LC_ALL=C ldd -- "$p" 2>&1 | grep -q 'not a dynamic executable'; then echo "static $p"; exit 0; fi
echo "ok $p""#;

/// $1 state dir, $2 pid: remember a pid we paused, so that heal resumes it without the
/// database definition.
pub const REMEMBER_PAUSED: &str = r#"mkdir -p -- "$1" && echo "$2" >> "$1/paused""#;

/// $1 state dir: the paused pids were resumed.
pub const FORGET_PAUSED: &str = r#"rm -f -- "$1/paused""#;

/// Heals everything on a node, printing one line per thing it undid.
/// $1 partition chain, $2 loss chain, $3 qdisc handle, $4 state dir, $5 clock loop name,
/// $6 clock file (may be empty), $7 daemon pid file (may be empty), $8 daemon process name
/// (may be empty).
pub fn heal() -> String {
    format!(
        r#"{STOP_CLOCK_LOOP}{SET_OFFSET_FN}{PACKET_CLEAR_FN}chain=$1; lchain=$2; handle=$3; state=$4; loop=$5; clock=$6; pidfile=$7; proc=$8
if command -v iptables >/dev/null 2>&1 && iptables -w -S "$chain" >/dev/null 2>&1; then
  n=$(iptables -w -S "$chain" | grep -c -- '^-A' || true)
  while iptables -w -D INPUT -j "$chain" 2>/dev/null; do :; done
  iptables -w -F "$chain"; iptables -w -X "$chain"
  echo "removed iptables chain $chain ($n rules)"
fi
packet_clear "$handle" "$lchain"
stop_loop "$state" "$loop"
if [ -n "$clock" ] && [ -f "$clock" ]; then
  was=$(cat -- "$clock" 2>/dev/null)
  case "$was" in
    +0|0|+0.000|-0.000|"") ;;
    *) set_offset "$clock" +0 && echo "reset the clock offset to 0 (was $was)" ;;
  esac
fi
resume() {{
  st=$(ps -o stat= -p "$1" 2>/dev/null) || return 0
  case "$st" in T*) kill -CONT "$1" 2>/dev/null && echo "resumed paused pid $1 ($2)";; esac
  return 0
}}
if [ -f "$state/paused" ]; then
  for p in $(cat -- "$state/paused"); do resume "$p" "paused by splitbrain"; done
  rm -f -- "$state/paused"
fi
if [ -n "$pidfile" ] && [ -f "$pidfile" ]; then p=$(cat -- "$pidfile"); [ -n "$p" ] && resume "$p" "$proc"; fi
if [ -n "$proc" ] && command -v pgrep >/dev/null 2>&1; then
  for p in $(pgrep -x -- "$proc"); do resume "$p" "$proc"; done
fi
exit 0"#
    )
}

/// `+5.000`, `-0.250`: a libfaketime offset in seconds from milliseconds.
pub fn offset_text(ms: i64) -> String {
    let sign = if ms < 0 { '-' } else { '+' };
    let a = ms.unsigned_abs();
    format!("{sign}{}.{:03}", a / 1000, a % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn sh(script: &str, args: &[&str]) -> (i32, String, String) {
        let out = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("sh")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    #[test]
    fn offsets_are_libfaketime_seconds() {
        assert_eq!(offset_text(5000), "+5.000");
        assert_eq!(offset_text(-250), "-0.250");
        assert_eq!(offset_text(0), "+0.000");
        assert_eq!(offset_text(-61_001), "-61.001");
    }

    #[test]
    fn heal_script_is_valid_shell_and_heals_a_clock_file_and_a_loop() {
        // Syntax of every script.
        for s in [
            PARTITION_SETUP.to_string(),
            PARTITION_APPLY.into(),
            NETEM_PROBE.into(),
            INTERFACE.into(),
            NETEM_APPLY.into(),
            LOSS_APPLY.into(),
            packet_clear(),
            clock_set(),
            clock_loop_start(),
            strobe_loop(),
            drift_loop(),
            CLOCK_MEASURE.into(),
            CLOCK_PROBE.into(),
            heal(),
        ] {
            let (code, _, err) = sh(&format!("exit 0\n{s}"), &[]);
            assert_eq!(code, 0, "{err}\n{s}");
            let out = Command::new("sh")
                .arg("-n")
                .arg("-c")
                .arg(&s)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}\n{s}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // A drift loop and a skewed clock file in a scratch state dir, healed without iptables
        // or tc being touched (chain and handle names that cannot exist).
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let clock = dir.path().join("clock").join("faketime");
        let (code, _, err) = sh(
            &clock_loop_start(),
            &[
                state.to_str().unwrap(),
                CLOCK_LOOP_NAME,
                clock.to_str().unwrap(),
                &drift_loop(),
                "500000",
                "0.05",
                "1000",
            ],
        );
        assert_eq!(code, 0, "{err}");
        std::thread::sleep(std::time::Duration::from_millis(400));
        let skew = std::fs::read_to_string(&clock).unwrap();
        assert!(
            skew.starts_with('+') && skew.trim() != "+0.000000",
            "{skew}"
        );
        let pid = std::fs::read_to_string(state.join("clock-loop.pid")).unwrap();
        let (code, out, err) = sh(
            &heal(),
            &[
                "sb-no-such-chain",
                "sb-no-such-chain2",
                "ff:",
                state.to_str().unwrap(),
                CLOCK_LOOP_NAME,
                clock.to_str().unwrap(),
                "",
                "",
            ],
        );
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("stopped the clock loop"), "{out}");
        assert!(out.contains("reset the clock offset to 0"), "{out}");
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert_eq!(std::fs::read_to_string(&clock).unwrap(), "+0\n");
        assert!(
            !std::path::Path::new(&format!("/proc/{}", pid.trim()))
                .join("cmdline")
                .exists()
                || !std::fs::read_to_string(format!("/proc/{}/cmdline", pid.trim()))
                    .unwrap_or_default()
                    .contains(CLOCK_LOOP_NAME)
        );
        // Healing again finds nothing.
        let (_, out, _) = sh(
            &heal(),
            &[
                "sb-x",
                "sb-y",
                "ff:",
                state.to_str().unwrap(),
                CLOCK_LOOP_NAME,
                clock.to_str().unwrap(),
                "",
                "",
            ],
        );
        assert_eq!(out, "");
    }
}
