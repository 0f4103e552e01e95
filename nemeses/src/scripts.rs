//! The shell scripts the nemeses run on nodes.
//!
//! Each script is a file in `nemeses/scripts/` (shellchecked as sent by the tests below),
//! compiled in with `include_str!`, and reached through exactly one typed function here that returns
//! the [`Cmd`] to run: the function owns the order of the script's positional parameters
//! (`"$1"`, ...), and [`Cmd`] quotes every value, so nothing is ever pasted into script text.
//! Scripts that call the shared functions of `lib.sh` (`packet_clear`, `stop_loop`,
//! `set_offset`) get it prepended. Every script that heals is idempotent and tolerant of
//! finding nothing to heal. All run as root (iptables, tc, `/run`).
//!
//! Healing is one script per node made of every fault's section ([`ScriptSection`],
//! `heal-<fault>.sh`): each section takes its own parameters off the front of the list
//! (`shift`), so the sections, and their parameters, simply follow one another.

use std::time::Duration;

use splitbrain_control::Cmd;
use splitbrain_control::db::scripts::with_functions;

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

macro_rules! script_file {
    ($name:literal) => {
        include_str!(concat!("../scripts/", $name))
    };
}

const LIB: &str = script_file!("lib.sh");
const PARTITION_SETUP: &str = script_file!("partition-setup.sh");
const PARTITION_APPLY: &str = script_file!("partition-apply.sh");
const PARTITION_CLEAR: &str = script_file!("partition-clear.sh");
const NETEM_PROBE: &str = script_file!("netem-probe.sh");
const INTERFACE: &str = script_file!("interface.sh");
const NETEM_APPLY: &str = script_file!("netem-apply.sh");
const LOSS_APPLY: &str = script_file!("loss-apply.sh");
const CLOCK_SET: &str = script_file!("clock-set.sh");
const CLOCK_LOOP_START: &str = script_file!("clock-loop-start.sh");
const STROBE_LOOP: &str = script_file!("strobe-loop.sh");
const DRIFT_LOOP: &str = script_file!("drift-loop.sh");
const CLOCK_MEASURE: &str = script_file!("clock-measure.sh");
const CLOCK_PROBE: &str = script_file!("clock-probe.sh");
const REMEMBER_PAUSED: &str = script_file!("remember-paused.sh");
const FORGET_PAUSED: &str = script_file!("forget-paused.sh");
const HEAL: &str = script_file!("heal.sh");
const HEAL_PARTITION: &str = script_file!("heal-partition.sh");
const HEAL_PACKET: &str = script_file!("heal-packet.sh");
const HEAL_CLOCK: &str = script_file!("heal-clock.sh");
const HEAL_PAUSE: &str = script_file!("heal-pause.sh");

fn with_lib(script: &str) -> String {
    with_functions(script, LIB)
}

fn root(script: impl Into<String>) -> Cmd {
    Cmd::shell(script).sudo_root()
}

/// Names and places of splitbrain's traces on a node. [`Traces::NODE`] is what runs on nodes;
/// tests point the state at a scratch directory and the chains at names that cannot exist.
#[derive(Clone, Copy, Debug)]
struct Traces<'a> {
    partition_chain: &'a str,
    packet_chain: &'a str,
    qdisc_handle: &'a str,
    state_dir: &'a str,
    clock_loop_name: &'a str,
}

impl Traces<'static> {
    const NODE: Traces<'static> = Traces {
        partition_chain: PARTITION_CHAIN,
        packet_chain: PACKET_CHAIN,
        qdisc_handle: QDISC_HANDLE,
        state_dir: STATE_DIR,
        clock_loop_name: CLOCK_LOOP_NAME,
    };
}

// ------------------------------------------------------------------ partitions

/// Nemesis setup: our partition chain and its jump from INPUT, created if missing. Exits 3
/// with an install hint where iptables is missing.
pub fn partition_setup() -> Cmd {
    root(PARTITION_SETUP).arg(PARTITION_CHAIN)
}

/// This node drops everything from `sources` (replacing the partition chain's rules).
pub fn partition_apply(sources: impl IntoIterator<Item = String>) -> Cmd {
    root(PARTITION_APPLY).arg(PARTITION_CHAIN).args(sources)
}

/// Ends a partition: our chain's rules go; the chain and its jump stay until the final heal.
pub fn partition_clear() -> Cmd {
    root(PARTITION_CLEAR).arg(PARTITION_CHAIN)
}

// ------------------------------------------------------------------ packets

/// Prints `yes` if the kernel has netem (tried on `lo` and undone at once), else `no: WHY`.
pub fn netem_probe() -> Cmd {
    root(NETEM_PROBE)
}

/// Prints the interface carrying `node_ip`, else the one routing to `peer_ip`; fails if
/// neither is found.
pub fn interface(node_ip: &str, peer_ip: Option<&str>) -> Cmd {
    root(INTERFACE)
        .arg(node_ip)
        .arg(peer_ip.unwrap_or_default())
}

/// netem with `netem_args` (`delay 50ms loss 20%`) on `dev`, as our root qdisc; with `peers`,
/// only for packets towards them.
pub fn netem_apply(dev: &str, peers: &[String], netem_args: &[String]) -> Cmd {
    root(NETEM_APPLY)
        .arg(dev)
        .arg(QDISC_HANDLE)
        .arg(peers.len().to_string())
        .args(peers.iter().cloned())
        .args(netem_args.iter().cloned())
}

/// Packet loss with iptables (kernels without netem): each packet towards `peers` (none:
/// everything but loopback) is dropped with `probability` (0..1).
pub fn loss_apply(probability: f64, peers: &[String]) -> Cmd {
    root(LOSS_APPLY)
        .arg(PACKET_CHAIN)
        .arg(format!("{probability:.4}"))
        .args(peers.iter().cloned())
}

/// Ends a packet fault: our qdisc and our loss chain go, "nothing there" is fine. The
/// packet fault's heal section, alone.
pub fn packet_clear() -> Cmd {
    heal_packet().alone()
}

// ------------------------------------------------------------------ clocks

/// Stops any clock loop and sets the offset in `clock_file` to `offset_ms`. Zero is written
/// `+0`, as in a fresh clock file, so that a reset node reads as untouched.
pub fn clock_set(clock_file: &str, offset_ms: i64) -> Cmd {
    clock_set_at(&Traces::NODE, clock_file, offset_ms)
}

fn clock_set_at(t: &Traces, clock_file: &str, offset_ms: i64) -> Cmd {
    let offset = match offset_ms {
        0 => "+0".to_string(),
        ms => offset_text(ms),
    };
    root(with_lib(CLOCK_SET))
        .arg(t.state_dir)
        .arg(t.clock_loop_name)
        .arg(clock_file)
        .arg(offset)
}

/// Starts a detached loop flipping the offset in `clock_file` between `delta_ms` and zero
/// every `period`, `flips` times; it ends at zero.
pub fn clock_strobe(clock_file: &str, delta_ms: i64, period: Duration, flips: u64) -> Cmd {
    clock_loop_at(
        &Traces::NODE,
        clock_file,
        STROBE_LOOP,
        [offset_text(delta_ms), secs(period), flips.to_string()],
    )
}

/// Starts a detached loop moving the offset in `clock_file` by `ppm` parts per million of
/// real time elapsed, every `step`, `steps` times at most.
pub fn clock_drift(clock_file: &str, ppm: i64, step: Duration, steps: u64) -> Cmd {
    clock_drift_at(&Traces::NODE, clock_file, ppm, step, steps)
}

fn clock_drift_at(t: &Traces, clock_file: &str, ppm: i64, step: Duration, steps: u64) -> Cmd {
    clock_loop_at(
        t,
        clock_file,
        DRIFT_LOOP,
        [ppm.to_string(), secs(step), steps.to_string()],
    )
}

/// The loop's own arguments follow the clock file: `$2`, `$3`, `$4` of the loop script.
fn clock_loop_at(t: &Traces, clock_file: &str, body: &str, loop_args: [String; 3]) -> Cmd {
    root(with_lib(CLOCK_LOOP_START))
        .arg(t.state_dir)
        .arg(t.clock_loop_name)
        .arg(clock_file)
        .arg(with_lib(body))
        .args(loop_args)
}

/// Prints `BEFORE FAKED AFTER` in ns: the real clock around the time `date` sees under
/// `library` (libfaketime) with the daemon's settings and `clock_file`.
pub fn clock_measure(library: &str, clock_file: &str) -> Cmd {
    root(CLOCK_MEASURE).arg(library).arg(clock_file)
}

/// Can `library` (libfaketime) move `program`'s clock? Prints `ok PATH`, `go PATH`,
/// `static PATH`, `missing PROGRAM` or `nolib`.
pub fn clock_probe(program: &str, library: &str) -> Cmd {
    root(CLOCK_PROBE).arg(program).arg(library)
}

/// `+5.000`, `-0.250`: a libfaketime offset in seconds from milliseconds.
pub fn offset_text(ms: i64) -> String {
    let sign = if ms < 0 { '-' } else { '+' };
    let a = ms.unsigned_abs();
    format!("{sign}{}.{:03}", a / 1000, a % 1000)
}

/// Seconds for `sleep`, to the millisecond.
fn secs(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

// ------------------------------------------------------------------ pauses

/// Records `pid` as paused by us, so that heal resumes it without the database definition.
pub fn remember_paused(pid: u32) -> Cmd {
    remember_paused_at(&Traces::NODE, pid)
}

fn remember_paused_at(t: &Traces, pid: u32) -> Cmd {
    root(REMEMBER_PAUSED).arg(t.state_dir).arg(pid.to_string())
}

/// The paused pids were resumed.
pub fn forget_paused() -> Cmd {
    root(FORGET_PAUSED).arg(STATE_DIR)
}

// ------------------------------------------------------------------ healing

/// One fault's section of the heal script: its text (a `heal-<fault>.sh`) and its
/// parameters, which it takes off the front of the list.
#[derive(Clone, Debug)]
pub struct ScriptSection {
    text: &'static str,
    args: Vec<String>,
}

impl ScriptSection {
    /// The section as a script of its own.
    fn alone(&self) -> Cmd {
        root(with_lib(self.text)).args(self.args.iter().cloned())
    }
}

/// Heals everything on a node in one script: the sections in the order given, each
/// printing one line per thing it undid.
pub fn heal<'a>(sections: impl IntoIterator<Item = &'a ScriptSection>) -> Cmd {
    let sections: Vec<&ScriptSection> = sections.into_iter().collect();
    root(heal_text(&sections)).args(sections.iter().flat_map(|s| s.args.iter().cloned()))
}

/// heal.sh's header, the shared functions, the sections' bodies, heal.sh's end.
fn heal_text(sections: &[&ScriptSection]) -> String {
    let (header, end) = split_header(HEAL);
    let mut text = format!("{header}{}", split_header(LIB).1);
    for s in sections {
        text.push_str(split_header(s.text).1);
    }
    text.push_str(end);
    text
}

/// The leading comment lines (shebang included) and the rest.
fn split_header(script: &str) -> (&str, &str) {
    let end: usize = script
        .split_inclusive('\n')
        .take_while(|l| l.starts_with('#'))
        .map(str::len)
        .sum();
    script.split_at(end)
}

/// Partitions: our chain and its jump.
pub fn heal_partition() -> ScriptSection {
    heal_partition_at(&Traces::NODE)
}

fn heal_partition_at(t: &Traces) -> ScriptSection {
    section(HEAL_PARTITION, [t.partition_chain])
}

/// Packet faults: our qdisc and our loss chain.
pub fn heal_packet() -> ScriptSection {
    heal_packet_at(&Traces::NODE)
}

fn heal_packet_at(t: &Traces) -> ScriptSection {
    section(HEAL_PACKET, [t.qdisc_handle, t.packet_chain])
}

/// Clock faults: a clock loop, and an offset in `clock_file` (may be empty when unknown).
pub fn heal_clock(clock_file: &str) -> ScriptSection {
    heal_clock_at(&Traces::NODE, clock_file)
}

fn heal_clock_at(t: &Traces, clock_file: &str) -> ScriptSection {
    section(HEAL_CLOCK, [t.state_dir, t.clock_loop_name, clock_file])
}

/// Pauses: the pids we paused, and the daemon's stopped processes by its `pid_file` and
/// `process` name (either may be empty when unknown).
pub fn heal_pause(pid_file: &str, process: &str) -> ScriptSection {
    heal_pause_at(&Traces::NODE, pid_file, process)
}

fn heal_pause_at(t: &Traces, pid_file: &str, process: &str) -> ScriptSection {
    section(HEAL_PAUSE, [t.state_dir, pid_file, process])
}

fn section<const N: usize>(text: &'static str, args: [&str; N]) -> ScriptSection {
    ScriptSection {
        text,
        args: args.into_iter().map(String::from).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use splitbrain_control::db::scripts::testing::{self, params, run};

    /// Every script exactly as it is sent, by name.
    fn sent() -> Vec<(&'static str, String)> {
        vec![
            ("partition-setup.sh", PARTITION_SETUP.into()),
            ("partition-apply.sh", PARTITION_APPLY.into()),
            ("partition-clear.sh", PARTITION_CLEAR.into()),
            ("netem-probe.sh", NETEM_PROBE.into()),
            ("interface.sh", INTERFACE.into()),
            ("netem-apply.sh", NETEM_APPLY.into()),
            ("loss-apply.sh", LOSS_APPLY.into()),
            ("clock-set.sh", with_lib(CLOCK_SET)),
            ("clock-loop-start.sh", with_lib(CLOCK_LOOP_START)),
            ("strobe-loop.sh", with_lib(STROBE_LOOP)),
            ("drift-loop.sh", with_lib(DRIFT_LOOP)),
            ("clock-measure.sh", CLOCK_MEASURE.into()),
            ("clock-probe.sh", CLOCK_PROBE.into()),
            ("remember-paused.sh", REMEMBER_PAUSED.into()),
            ("forget-paused.sh", FORGET_PAUSED.into()),
            ("heal-partition.sh", with_lib(HEAL_PARTITION)),
            ("heal-packet.sh", with_lib(HEAL_PACKET)),
            ("heal-clock.sh", with_lib(HEAL_CLOCK)),
            ("heal-pause.sh", with_lib(HEAL_PAUSE)),
            // As healing composes it, from every fault's section.
            (
                "heal.sh",
                heal_text(&production().iter().collect::<Vec<_>>()),
            ),
        ]
    }

    /// The heal sections of a node without a database definition, as the faults give them.
    fn production() -> Vec<ScriptSection> {
        crate::heal::sections(None, "n1")
            .into_iter()
            .map(|h| h.script)
            .collect()
    }

    #[test]
    fn healing_runs_every_section_in_order() {
        // What the local tests below run is what the faults give, in the same order.
        let texts = |s: Vec<ScriptSection>| s.iter().map(|s| s.text).collect::<Vec<_>>();
        assert_eq!(
            texts(production()),
            texts(every_section(&Traces::NODE, "", "", ""))
        );
        assert_eq!(
            params(heal(&production())),
            [
                PARTITION_CHAIN,
                QDISC_HANDLE,
                PACKET_CHAIN,
                STATE_DIR,
                CLOCK_LOOP_NAME,
                "/run/splitbrain/faketime",
                STATE_DIR,
                "",
                ""
            ]
        );
    }

    /// Every heal section, in the order healing runs them.
    fn every_section(t: &Traces, clock: &str, pid_file: &str, process: &str) -> Vec<ScriptSection> {
        vec![
            heal_partition_at(t),
            heal_packet_at(t),
            heal_clock_at(t, clock),
            heal_pause_at(t, pid_file, process),
        ]
    }

    fn heal_at(t: &Traces, clock: &str, pid_file: &str, process: &str) -> Cmd {
        heal(&every_section(t, clock, pid_file, process))
    }

    #[test]
    fn offsets_are_libfaketime_seconds() {
        assert_eq!(offset_text(5000), "+5.000");
        assert_eq!(offset_text(-250), "-0.250");
        assert_eq!(offset_text(0), "+0.000");
        assert_eq!(offset_text(-61_001), "-61.001");
    }

    #[test]
    fn every_script_is_valid_shell_and_says_which_it_is() {
        testing::assert_valid_shell_with_header(&sent());
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts");
        testing::assert_every_file_is_sent(dir.as_ref(), &["lib.sh"], &sent());
        // lib.sh goes after the header, before the sections that call it; the sections
        // follow in order, without their own headers; heal.sh's end comes last.
        let sent = sent();
        let heal = &sent.last().unwrap().1;
        let lib_at = heal.find("packet_clear() {").unwrap();
        assert!(heal[..lib_at].contains("Heals everything on a node"));
        let at = |s: &str| {
            heal.find(s)
                .unwrap_or_else(|| panic!("{s} missing:\n{heal}"))
        };
        assert!(lib_at < at("chain=$1; shift"));
        assert!(at("chain=$1; shift") < at("packet_clear \"$1\" \"$2\"; shift 2"));
        assert!(at("shift 2") < at("clock=$3; shift 3"));
        assert!(at("clock=$3; shift 3") < at("state=$1; pidfile=$2"));
        assert!(heal.trim_end().ends_with("exit 0"));
        assert_eq!(heal.matches("#!/bin/sh").count(), 1, "{heal}");
    }

    #[test]
    fn scripts_as_sent_pass_shellcheck() {
        testing::assert_shellcheck_clean(&sent());
    }

    #[test]
    fn wrappers_put_each_value_in_its_place() {
        let peers = vec!["10.77.0.2".to_string(), "10.77.0.3".to_string()];
        assert_eq!(
            params(netem_apply(
                "eth0",
                &peers,
                &["delay".into(), "50ms".into()]
            )),
            [
                "eth0",
                "5b:",
                "2",
                "10.77.0.2",
                "10.77.0.3",
                "delay",
                "50ms"
            ]
        );
        assert_eq!(
            params(loss_apply(0.2, &peers)),
            ["splitbrain-packet", "0.2000", "10.77.0.2", "10.77.0.3"]
        );
        assert_eq!(
            params(partition_apply(peers.clone())),
            ["splitbrain-partition", "10.77.0.2", "10.77.0.3"]
        );
        assert_eq!(params(interface("10.77.0.1", None)), ["10.77.0.1", ""]);
        assert_eq!(
            params(heal_at(&Traces::NODE, "/run/c", "", "etcd")),
            [
                "splitbrain-partition",
                "5b:",
                "splitbrain-packet",
                STATE_DIR,
                CLOCK_LOOP_NAME,
                "/run/c",
                STATE_DIR,
                "",
                "etcd"
            ]
        );
        assert_eq!(params(packet_clear()), ["5b:", "splitbrain-packet"]);
        let strobe = params(clock_strobe("/run/c", -1500, Duration::from_millis(200), 7));
        assert_eq!(strobe[..3], [STATE_DIR, CLOCK_LOOP_NAME, "/run/c"]);
        assert!(strobe[3].contains("The strobe loop"), "{}", strobe[3]);
        assert_eq!(strobe[4..], ["-1.500", "0.200", "7"]);
        // A hostile value stays one argument.
        assert_eq!(
            params(clock_probe("$(touch /tmp/x); etcd", "/l")),
            ["$(touch /tmp/x); etcd", "/l"]
        );
    }

    #[test]
    fn clock_set_writes_the_offset_and_a_strobe_ends_at_zero() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let state = state.to_str().unwrap();
        let clock = dir.path().join("clock").join("faketime");
        let clock = clock.to_str().unwrap();
        let t = Traces {
            state_dir: state,
            ..Traces::NODE
        };
        let (code, _, err) = run(&clock_set_at(&t, clock, -2500));
        assert_eq!(code, 0, "{err}");
        assert_eq!(std::fs::read_to_string(clock).unwrap(), "-2.500\n");
        // A reset reads as a fresh file: heal and the leftover checks look for exactly +0.
        run(&clock_set_at(&t, clock, 0));
        assert_eq!(std::fs::read_to_string(clock).unwrap(), "+0\n");
        assert_eq!(params(clock_set(clock, 0))[3], "+0");
        run(&clock_set_at(&t, clock, -2500));
        // Two flips of 10 ms: the loop ends at zero by itself.
        let (code, _, err) = run(&clock_loop_at(
            &t,
            clock,
            STROBE_LOOP,
            [
                offset_text(700),
                secs(Duration::from_millis(10)),
                "2".into(),
            ],
        ));
        assert_eq!(code, 0, "{err}");
        let pid = std::fs::read_to_string(format!("{state}/clock-loop.pid")).unwrap();
        wait_gone(pid.trim());
        assert_eq!(std::fs::read_to_string(clock).unwrap(), "+0\n");
    }

    /// Polls until `pid` is gone (60 s at most: a loaded CI machine is slow, not broken).
    fn wait_gone(pid: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::path::Path::new(&format!("/proc/{pid}")).exists() {
            // A zombie is gone too: its parent (the sh we ran) exited, so init reaps it.
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            if stat
                .rsplit_once(')')
                .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
            {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "pid {pid} still runs");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn heal_script_resumes_what_was_paused() {
        // Two stopped processes of our own: one recorded as paused by us, one the "daemon"
        // of a pid file. Healed without iptables or tc being touched.
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        std::fs::create_dir_all(&state).unwrap();
        let t = Traces {
            partition_chain: "sb-no-such-chain",
            packet_chain: "sb-no-such-chain2",
            qdisc_handle: "ff:",
            state_dir: state.to_str().unwrap(),
            clock_loop_name: CLOCK_LOOP_NAME,
        };
        let mut ours = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        let mut daemon = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        let stopped = |pid: u32| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
            stat.rsplit_once(')')
                .unwrap()
                .1
                .trim_start()
                .starts_with('T')
        };
        for p in [ours.id(), daemon.id()] {
            std::process::Command::new("kill")
                .args(["-STOP", &p.to_string()])
                .status()
                .unwrap();
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            while !stopped(p) {
                assert!(std::time::Instant::now() < deadline, "{p} not stopped");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let (code, _, err) = run(&remember_paused_at(&t, ours.id()));
        assert_eq!(code, 0, "{err}");
        let pid_file = dir.path().join("daemon.pid");
        std::fs::write(&pid_file, format!("{}\n", daemon.id())).unwrap();
        let pid_file = pid_file.to_str().unwrap();
        let (code, out, err) = run(&heal_at(&t, "", pid_file, "sb-no-such-process"));
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            out,
            format!(
                "resumed paused pid {} (paused by splitbrain)\nresumed paused pid {} (sb-no-such-process)\n",
                ours.id(),
                daemon.id()
            )
        );
        assert!(!stopped(ours.id()) && !stopped(daemon.id()));
        assert!(!state.join("paused").exists());
        // Healing again finds nothing.
        let (_, out, _) = run(&heal_at(&t, "", pid_file, "sb-no-such-process"));
        assert_eq!(out, "");
        for c in [&mut ours, &mut daemon] {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    #[test]
    fn heal_script_heals_a_clock_file_and_a_loop() {
        // A drift loop and a skewed clock file in a scratch state dir, healed without iptables
        // or tc being touched (chain and handle names that cannot exist).
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let clock = dir.path().join("clock").join("faketime");
        let t = Traces {
            partition_chain: "sb-no-such-chain",
            packet_chain: "sb-no-such-chain2",
            qdisc_handle: "ff:",
            state_dir: state.to_str().unwrap(),
            clock_loop_name: CLOCK_LOOP_NAME,
        };
        let clock_s = clock.to_str().unwrap();
        let (code, _, err) = run(&clock_drift_at(
            &t,
            clock_s,
            500_000,
            Duration::from_millis(50),
            1000,
        ));
        assert_eq!(code, 0, "{err}");
        // Poll for the first non-zero offset rather than guessing how long the loop needs.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let skew = loop {
            let skew = std::fs::read_to_string(&clock).unwrap_or_default();
            if skew.starts_with('+') && skew.trim() != "+0.000000" {
                break skew;
            }
            assert!(std::time::Instant::now() < deadline, "no drift: {skew:?}");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(skew.trim_end().len() > 2, "{skew}");
        let pid = std::fs::read_to_string(state.join("clock-loop.pid")).unwrap();
        let (code, out, err) = run(&heal_at(&t, clock_s, "", ""));
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("stopped the clock loop"), "{out}");
        assert!(out.contains("reset the clock offset to 0"), "{out}");
        wait_gone(pid.trim());
        assert_eq!(std::fs::read_to_string(&clock).unwrap(), "+0\n");
        // Healing again finds nothing.
        let (_, out, _) = run(&heal_at(&t, clock_s, "", ""));
        assert_eq!(out, "");
    }
}
