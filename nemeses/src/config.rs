//! Nemesis settings: the `nemesis:` section of a test definition and the `--nemesis` flags.
//!
//! ```yaml
//! nemesis:
//!   faults: [partition, kill, pause, clock, packet]   # or [all]
//!   interval: 10s              # between a fault's start and its stop, and between faults
//!   partition:
//!     topologies: [primaries, majorities-ring]      # default: every topology but `grudge`
//!     grudge: {n1: [n2, n3]}   # node -> nodes it drops; enables the `grudge` topology
//!   kill:  {targets: [one, minority, primaries]}    # or nodes: [n2]
//!   pause: {targets: [majority]}
//!   clock: {modes: [bump, strobe], max-offset: 30s, strobe-period: 200ms, max-drift: 0.1}
//!   packet: {behaviors: [delay, loss], delay: 50ms, jitter: 10ms, loss: 20, peers: [n1]}
//! ```
//!
//! Durations use the project's one grammar ([`splitbrain_history::duration`]: `500ms`, `10s`,
//! `1m30s` or a number of seconds, at most 7d). Numbers are checked as they are read, so an
//! error names its line: percentages are 0 to 100, `max-drift` lies strictly between 0 and 1,
//! `interval` is at least 100ms and `strobe-period` at least 10ms.
//!
//! Every field is optional; unknown ones are rejected. What is left out gets the defaults
//! below, decided once by [`NemesisConfig::resolved`] so that the stored `test.yaml`
//! records exactly what ran.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};
use splitbrain_history::duration;

/// Time between a fault's start and stop, and between faults, unless told otherwise.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);
pub const DEFAULT_MAX_OFFSET: Duration = Duration::from_secs(30);
pub const DEFAULT_STROBE_PERIOD: Duration = Duration::from_millis(200);
pub const DEFAULT_MAX_DRIFT: f64 = 0.1;
// Jepsen's packet defaults.
pub const DEFAULT_DELAY: Duration = Duration::from_millis(50);
pub const DEFAULT_JITTER: Duration = Duration::from_millis(10);
pub const DEFAULT_LOSS_PCT: f64 = 20.0;
pub const DEFAULT_DUPLICATE_PCT: f64 = 20.0;
pub const DEFAULT_REORDER_PCT: f64 = 20.0;
/// Shorter intervals leave no time for a fault to take effect before it is healed.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);
/// Shorter strobe periods flip the clock faster than the loop on the node can.
pub const MIN_STROBE_PERIOD: Duration = Duration::from_millis(10);

/// A kind of fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// iptables DROP rules in a chain of ours.
    Partition,
    /// SIGKILL the database, restart it on stop.
    Kill,
    /// SIGSTOP the database, SIGCONT on stop.
    Pause,
    /// Skew the database's clock through libfaketime.
    Clock,
    /// Delay, lose, duplicate or reorder packets (tc netem).
    Packet,
}

impl Fault {
    pub const ALL: [Fault; 5] = [
        Fault::Partition,
        Fault::Kill,
        Fault::Pause,
        Fault::Clock,
        Fault::Packet,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::Partition => "partition",
            Fault::Kill => "kill",
            Fault::Pause => "pause",
            Fault::Clock => "clock",
            Fault::Packet => "packet",
        }
    }

    /// The history's `f` when the fault takes effect: `start-partition`, ...
    pub fn start_f(self) -> String {
        format!("start-{}", self.name())
    }

    /// The history's `f` when the fault is healed: `stop-partition`, ...
    pub fn stop_f(self) -> String {
        format!("stop-{}", self.name())
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A fault as written in YAML or `--nemesis`: one fault, or `all` of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultSpec {
    Partition,
    Kill,
    Pause,
    Clock,
    Packet,
    All,
}

impl FaultSpec {
    fn faults(self) -> Vec<Fault> {
        match self {
            FaultSpec::Partition => vec![Fault::Partition],
            FaultSpec::Kill => vec![Fault::Kill],
            FaultSpec::Pause => vec![Fault::Pause],
            FaultSpec::Clock => vec![Fault::Clock],
            FaultSpec::Packet => vec![Fault::Packet],
            FaultSpec::All => Fault::ALL.to_vec(),
        }
    }
}

impl From<Fault> for FaultSpec {
    fn from(f: Fault) -> FaultSpec {
        match f {
            Fault::Partition => FaultSpec::Partition,
            Fault::Kill => FaultSpec::Kill,
            Fault::Pause => FaultSpec::Pause,
            Fault::Clock => FaultSpec::Clock,
            Fault::Packet => FaultSpec::Packet,
        }
    }
}

impl FromStr for FaultSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<FaultSpec, String> {
        Ok(match s.trim() {
            "partition" => FaultSpec::Partition,
            "kill" => FaultSpec::Kill,
            "pause" => FaultSpec::Pause,
            "clock" => FaultSpec::Clock,
            "packet" => FaultSpec::Packet,
            "all" => FaultSpec::All,
            other => {
                return Err(format!(
                    "unknown fault `{other}`; expected partition, kill, pause, clock, packet or all (comma-separated), or none"
                ));
            }
        })
    }
}

/// Parses `--nemesis`: a comma list of faults, `all`, or `none` (no nemesis).
pub fn parse_fault_list(s: &str) -> Result<Vec<FaultSpec>, String> {
    if s.trim() == "none" {
        return Ok(Vec::new());
    }
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(FaultSpec::from_str)
        .collect()
}

/// How a partition splits the nodes (Jepsen's `jepsen.nemesis` grudges).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Topology {
    /// The node list cut in two: the first ⌊n/2⌋ nodes against the rest.
    Halves,
    /// Two halves of a shuffled node list.
    RandomHalves,
    /// One random node isolated from all others.
    One,
    /// Every node sees a majority, but no two nodes see the same majority.
    MajoritiesRing,
    /// Two halves joined by one node that sees both.
    Bridge,
    /// The leader(s) isolated, found with the database definition's leader query.
    Primaries,
    /// The explicit grudge of the configuration.
    Grudge,
}

impl Topology {
    /// The topologies used when none are configured (`grudge` only when one is given).
    pub const DEFAULTS: [Topology; 6] = [
        Topology::Halves,
        Topology::RandomHalves,
        Topology::One,
        Topology::MajoritiesRing,
        Topology::Bridge,
        Topology::Primaries,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Topology::Halves => "halves",
            Topology::RandomHalves => "random-halves",
            Topology::One => "one",
            Topology::MajoritiesRing => "majorities-ring",
            Topology::Bridge => "bridge",
            Topology::Primaries => "primaries",
            Topology::Grudge => "grudge",
        }
    }
}

/// Which nodes a kill, pause, clock or packet fault hits (Jepsen's `db-nemesis` targets).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// One random node.
    One,
    /// A random minority: ⌊(n-1)/2⌋ nodes (at least one).
    Minority,
    /// A random majority: ⌊n/2⌋+1 nodes.
    Majority,
    /// Every node.
    All,
    /// The leader(s), found with the database definition's leader query.
    Primaries,
    /// The `nodes` listed in the configuration.
    Nodes,
}

impl Target {
    pub const DEFAULTS: [Target; 5] = [
        Target::One,
        Target::Minority,
        Target::Majority,
        Target::All,
        Target::Primaries,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Target::One => "one",
            Target::Minority => "minority",
            Target::Majority => "majority",
            Target::All => "all",
            Target::Primaries => "primaries",
            Target::Nodes => "nodes",
        }
    }
}

/// How a clock fault moves the clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClockMode {
    /// Jump by a random offset, forwards or backwards.
    Bump,
    /// Flip between an offset and none, every strobe period, for the interval.
    Strobe,
    /// Run fast or slow at a random rate.
    Drift,
}

impl ClockMode {
    pub const ALL: [ClockMode; 3] = [ClockMode::Bump, ClockMode::Strobe, ClockMode::Drift];
}

/// What a packet fault does to packets (tc netem).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PacketBehavior {
    Delay,
    Loss,
    Duplicate,
    Reorder,
}

impl PacketBehavior {
    pub const ALL: [PacketBehavior; 4] = [
        PacketBehavior::Delay,
        PacketBehavior::Loss,
        PacketBehavior::Duplicate,
        PacketBehavior::Reorder,
    ];
}

/// The `nemesis:` section of a test definition.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NemesisConfig {
    /// Faults to inject: partition, kill, pause, clock, packet, or all.
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
    /// Between a fault's start and its stop, and between faults (default 10s, at least 100ms).
    #[serde(
        default,
        serialize_with = "duration::option::serialize",
        deserialize_with = "interval",
        skip_serializing_if = "Option::is_none"
    )]
    pub interval: Option<Duration>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub partition: PartitionOptions,
    #[serde(default, skip_serializing_if = "is_default")]
    pub kill: ProcessOptions,
    #[serde(default, skip_serializing_if = "is_default")]
    pub pause: ProcessOptions,
    #[serde(default, skip_serializing_if = "is_default")]
    pub clock: ClockOptions,
    #[serde(default, skip_serializing_if = "is_default")]
    pub packet: PacketOptions,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PartitionOptions {
    /// Topologies to draw from; default: all but `grudge` (plus `grudge` when one is given).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topologies: Vec<Topology>,
    /// An explicit grudge: node -> the nodes whose packets it drops.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub grudge: BTreeMap<String, Vec<String>>,
}

/// Targets of kill and pause.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ProcessOptions {
    /// Default: one, minority, majority, all, primaries (or `nodes` when nodes are given).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Target>,
    /// Explicit nodes, for the `nodes` target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ClockOptions {
    /// bump, strobe, drift; default all three.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modes: Vec<ClockMode>,
    /// Default: one, minority, majority, all (or `nodes` when nodes are given).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Target>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
    /// Bump and strobe offsets are drawn up to this, either way (default 30s).
    #[serde(
        default,
        with = "duration::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_offset: Option<Duration>,
    /// How often a strobe flips the clock (default 200ms, at least 10ms).
    #[serde(
        default,
        serialize_with = "duration::option::serialize",
        deserialize_with = "strobe_period",
        skip_serializing_if = "Option::is_none"
    )]
    pub strobe_period: Option<Duration>,
    /// Drift rates are drawn between 1-max and 1+max (default 0.1: ±10%); strictly between 0 and 1.
    #[serde(
        default,
        deserialize_with = "fraction",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_drift: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PacketOptions {
    /// delay, loss, duplicate, reorder: each fault uses a random non-empty subset (default all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub behaviors: Vec<PacketBehavior>,
    /// Default: one, minority, majority, all (or `nodes` when nodes are given).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Target>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
    /// Only packets towards these nodes are affected (default: all packets on the interface).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<String>,
    #[serde(
        default,
        with = "duration::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub delay: Option<Duration>,
    #[serde(
        default,
        with = "duration::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub jitter: Option<Duration>,
    /// Percent of packets lost (0 to 100).
    #[serde(
        default,
        deserialize_with = "percent",
        skip_serializing_if = "Option::is_none"
    )]
    pub loss: Option<f64>,
    /// Percent of packets duplicated (0 to 100).
    #[serde(
        default,
        deserialize_with = "percent",
        skip_serializing_if = "Option::is_none"
    )]
    pub duplicate: Option<f64>,
    /// Percent of packets sent at once, ahead of the delayed ones (0 to 100).
    #[serde(
        default,
        deserialize_with = "percent",
        skip_serializing_if = "Option::is_none"
    )]
    pub reorder: Option<f64>,
}

fn is_default<T: Default + PartialEq>(t: &T) -> bool {
    *t == T::default()
}

impl NemesisConfig {
    /// A configuration for these faults with every other setting at its default.
    pub fn with_faults(faults: &[Fault]) -> NemesisConfig {
        NemesisConfig {
            faults: faults.iter().map(|&f| f.into()).collect(),
            ..NemesisConfig::default()
        }
    }

    /// The faults, with `all` expanded and duplicates removed, in a fixed order.
    pub fn fault_list(&self) -> Vec<Fault> {
        let mut out: Vec<Fault> = self.faults.iter().flat_map(|f| f.faults()).collect();
        out.sort();
        out.dedup();
        out
    }

    pub fn interval(&self) -> Duration {
        self.interval.unwrap_or(DEFAULT_INTERVAL)
    }

    /// Checks values that serde cannot (ranges, node names against `nodes`).
    pub fn validate(&self, nodes: &[String]) -> Result<(), String> {
        let known = |what: &str, list: &[String]| -> Result<(), String> {
            match list.iter().find(|n| !nodes.contains(n)) {
                Some(n) => Err(format!(
                    "nemesis.{what}: unknown node `{n}`; the nodes are {}",
                    nodes.join(", ")
                )),
                None => Ok(()),
            }
        };
        self.validate_values()?;
        for (n, drops) in &self.partition.grudge {
            known("partition.grudge", std::slice::from_ref(n))?;
            known("partition.grudge", drops)?;
        }
        if self.partition.topologies.contains(&Topology::Grudge) && self.partition.grudge.is_empty()
        {
            return Err(
                "nemesis.partition: the `grudge` topology needs a grudge, e.g. grudge: {n1: [n2, n3]}"
                    .into(),
            );
        }
        for (what, targets, list) in [
            ("kill", &self.kill.targets, &self.kill.nodes),
            ("pause", &self.pause.targets, &self.pause.nodes),
            ("clock", &self.clock.targets, &self.clock.nodes),
            ("packet", &self.packet.targets, &self.packet.nodes),
        ] {
            known(&format!("{what}.nodes"), list)?;
            if targets.contains(&Target::Nodes) && list.is_empty() {
                return Err(format!(
                    "nemesis.{what}: the `nodes` target needs nodes, e.g. nodes: [n1]"
                ));
            }
        }
        known("packet.peers", &self.packet.peers)?;
        Ok(())
    }

    /// Checks the numbers: ranges that do not depend on the nodes. The YAML reader
    /// checks them as it reads; a configuration built in code (or changed by flags)
    /// is checked here.
    pub fn validate_values(&self) -> Result<(), String> {
        check_interval(self.interval()).map_err(|e| format!("nemesis.interval: {e}"))?;
        for (what, v) in [
            ("loss", self.packet.loss),
            ("duplicate", self.packet.duplicate),
            ("reorder", self.packet.reorder),
        ] {
            if let Some(p) = v {
                check_percent(p).map_err(|e| format!("nemesis.packet.{what}: {e}"))?;
            }
        }
        if let Some(d) = self.clock.max_drift {
            check_fraction(d).map_err(|e| format!("nemesis.clock.max-drift: {e}"))?;
        }
        if let Some(p) = self.clock.strobe_period {
            check_strobe_period(p).map_err(|e| format!("nemesis.clock.strobe-period: {e}"))?;
        }
        // The durations without a range of their own (`check_interval` and
        // `check_strobe_period` bound theirs).
        for (what, d) in [
            ("clock.max-offset", self.clock.max_offset),
            ("packet.delay", self.packet.delay),
            ("packet.jitter", self.packet.jitter),
        ] {
            if let Some(d) = d {
                duration::check(d).map_err(|e| format!("nemesis.{what}: {e}"))?;
            }
        }
        Ok(())
    }

    /// The configuration with every default decided (for `test.yaml`).
    pub fn resolved(&self, has_leader: bool) -> NemesisConfig {
        let mut c = self.clone();
        c.faults = c.fault_list().into_iter().map(FaultSpec::from).collect();
        c.interval = Some(self.interval());
        if c.partition.topologies.is_empty() {
            c.partition.topologies = Topology::DEFAULTS
                .iter()
                .copied()
                .filter(|t| has_leader || *t != Topology::Primaries)
                .collect();
            if !c.partition.grudge.is_empty() {
                c.partition.topologies.push(Topology::Grudge);
            }
        }
        let targets = |o: &[Target], nodes: &[String], with_primaries: bool| -> Vec<Target> {
            if !o.is_empty() {
                return o.to_vec();
            }
            if !nodes.is_empty() {
                return vec![Target::Nodes];
            }
            Target::DEFAULTS
                .iter()
                .copied()
                .filter(|t| *t != Target::Primaries || (has_leader && with_primaries))
                .collect()
        };
        c.kill.targets = targets(&c.kill.targets, &c.kill.nodes, true);
        c.pause.targets = targets(&c.pause.targets, &c.pause.nodes, true);
        c.clock.targets = targets(&c.clock.targets, &c.clock.nodes, false);
        c.packet.targets = targets(&c.packet.targets, &c.packet.nodes, false);
        if c.clock.modes.is_empty() {
            c.clock.modes = ClockMode::ALL.to_vec();
        }
        c.clock.max_offset.get_or_insert(DEFAULT_MAX_OFFSET);
        c.clock.strobe_period.get_or_insert(DEFAULT_STROBE_PERIOD);
        c.clock.max_drift.get_or_insert(DEFAULT_MAX_DRIFT);
        if c.packet.behaviors.is_empty() {
            c.packet.behaviors = PacketBehavior::ALL.to_vec();
        }
        c.packet.delay.get_or_insert(DEFAULT_DELAY);
        c.packet.jitter.get_or_insert(DEFAULT_JITTER);
        c.packet.loss.get_or_insert(DEFAULT_LOSS_PCT);
        c.packet.duplicate.get_or_insert(DEFAULT_DUPLICATE_PCT);
        c.packet.reorder.get_or_insert(DEFAULT_REORDER_PCT);
        c
    }
}

/// `interval`: a duration of at least [`MIN_INTERVAL`] (and at most 7d, as every duration).
pub fn check_interval(d: Duration) -> Result<(), String> {
    duration::check(d).map_err(|e| e.to_string())?;
    if d < MIN_INTERVAL {
        return Err(format!("use at least 100ms, got {}", duration::format(d)));
    }
    Ok(())
}

fn check_strobe_period(d: Duration) -> Result<(), String> {
    duration::check(d).map_err(|e| e.to_string())?;
    if d < MIN_STROBE_PERIOD {
        return Err(format!("use at least 10ms, got {}", duration::format(d)));
    }
    Ok(())
}

fn check_percent(p: f64) -> Result<(), String> {
    if !(0.0..=100.0).contains(&p) {
        return Err(format!("a percentage from 0 to 100, got {p}"));
    }
    Ok(())
}

fn check_fraction(d: f64) -> Result<(), String> {
    if !(d > 0.0 && d < 1.0) {
        return Err(format!(
            "a fraction strictly between 0 and 1 (0.1 = ±10%), got {d}"
        ));
    }
    Ok(())
}

// Checked while reading, so that serde-saphyr puts the line and column on the error.
fn interval<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    checked(duration::option::deserialize(d)?, |v| {
        check_interval(v).map_err(|e| format!("interval: {e}"))
    })
}

fn strobe_period<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    checked(duration::option::deserialize(d)?, |v| {
        check_strobe_period(v).map_err(|e| format!("strobe-period: {e}"))
    })
}

fn percent<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    checked(Option::<f64>::deserialize(d)?, check_percent)
}

fn fraction<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    checked(Option::<f64>::deserialize(d)?, |v| {
        check_fraction(v).map_err(|e| format!("max-drift: {e}"))
    })
}

fn checked<T: Copy, E: serde::de::Error>(
    v: Option<T>,
    check: impl Fn(T) -> Result<(), String>,
) -> Result<Option<T>, E> {
    if let Some(v) = v {
        check(v).map_err(E::custom)?;
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<NemesisConfig, String> {
        serde_saphyr::from_str(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn parses_the_documented_example() {
        let c = parse(
            "faults: [partition, kill, pause, clock, packet]\ninterval: 5s\npartition:\n  topologies: [primaries, majorities-ring]\n  grudge: {n1: [n2, n3]}\nkill: {targets: [one, minority]}\npause: {nodes: [n2]}\nclock: {modes: [bump, strobe], max-offset: 30s, strobe-period: 200ms, max-drift: 0.1}\npacket: {behaviors: [delay, loss], delay: 50ms, jitter: 10ms, loss: 20, peers: [n1]}\n",
        )
        .unwrap();
        assert_eq!(c.interval, Some(Duration::from_secs(5)));
        assert_eq!(c.fault_list(), Fault::ALL.to_vec());
        assert_eq!(c.partition.grudge["n1"], vec!["n2", "n3"]);
        assert_eq!(c.packet.loss, Some(20.0));
        let nodes: Vec<String> = ["n1", "n2", "n3"].map(String::from).to_vec();
        c.validate(&nodes).unwrap();
        let r = c.resolved(true);
        assert_eq!(r.pause.targets, vec![Target::Nodes]);
        assert_eq!(
            r.clock.targets,
            vec![Target::One, Target::Minority, Target::Majority, Target::All]
        );
        // The resolved form round-trips through YAML.
        let text = serde_saphyr::to_string(&r).unwrap();
        assert_eq!(parse(&text).unwrap(), r, "{text}");
    }

    #[test]
    fn bad_names_are_rejected_with_the_valid_ones() {
        let err = parse("faults: [partiton]\n").unwrap_err();
        assert!(
            err.contains("partiton") && err.contains("partition"),
            "{err}"
        );
        let err = parse("faults: [all]\nintervall: 5s\n").unwrap_err();
        assert!(
            err.contains("intervall") && err.contains("interval"),
            "{err}"
        );
        let err = parse("partition: {topologies: [ring]}\n").unwrap_err();
        assert!(err.contains("majorities-ring"), "{err}");
        let nodes: Vec<String> = ["n1", "n2"].map(String::from).to_vec();
        let err = parse("kill: {nodes: [n9]}\n")
            .unwrap()
            .validate(&nodes)
            .unwrap_err();
        assert!(err.contains("n9") && err.contains("n1, n2"), "{err}");
    }

    #[test]
    fn hostile_numbers_are_errors_with_their_line() {
        for (yaml, want) in [
            ("interval: 1e300\n", "longer than the maximum 7d"),
            (
                "interval: '1e300'\n",
                "duration `1e300` is longer than the maximum 7d",
            ),
            (
                "interval: 99999999999999999999s\n",
                "longer than the maximum 7d",
            ),
            // serde-saphyr refuses `.nan` for a duration itself ("non-finite float").
            ("interval: .nan\n", "finite"),
            ("interval: nan\n", "not a finite number"),
            ("interval: -1\n", "negative"),
            ("interval: 50ms\n", "interval: use at least 100ms"),
            ("clock: {max-offset: 1e20}\n", "duration `1e20` is longer"),
            (
                "clock: {strobe-period: 1ms}\n",
                "strobe-period: use at least 10ms",
            ),
            (
                "clock: {max-drift: .nan}\n",
                "max-drift: a fraction strictly between 0 and 1",
            ),
            ("clock: {max-drift: 1.5}\n", "max-drift: a fraction"),
            ("clock: {max-drift: 0}\n", "max-drift: a fraction"),
            (
                "packet: {loss: .nan}\n",
                "a percentage from 0 to 100, got NaN",
            ),
            (
                "packet: {duplicate: 101}\n",
                "a percentage from 0 to 100, got 101",
            ),
            (
                "packet: {reorder: -1}\n",
                "a percentage from 0 to 100, got -1",
            ),
            ("packet: {loss: .inf}\n", "a percentage from 0 to 100"),
            ("packet: {delay: 1e300}\n", "longer than the maximum 7d"),
            ("packet: {jitter: 8d}\n", "longer than the maximum 7d"),
        ] {
            let err = parse(&format!("faults: [all]\n{yaml}")).unwrap_err();
            assert!(err.contains(want), "{yaml}: {err}");
            assert!(err.contains("line 2"), "{yaml}: line missing: {err}");
        }
        // The edges are allowed.
        let c = parse("interval: 100ms\nclock: {strobe-period: 10ms, max-drift: 0.999}\npacket: {loss: 0, duplicate: 100}\n").unwrap();
        c.validate(&[]).unwrap();
    }

    #[test]
    fn validate_checks_what_code_and_flags_set() {
        let mut c = NemesisConfig::with_faults(&[Fault::Packet]);
        c.interval = Some(Duration::from_millis(10));
        assert!(
            c.validate(&[])
                .unwrap_err()
                .contains("nemesis.interval: use at least 100ms")
        );
        c.interval = None;
        c.packet.loss = Some(f64::NAN);
        assert!(c.validate(&[]).unwrap_err().contains("nemesis.packet.loss"));
        c.packet.loss = None;
        c.clock.strobe_period = Some(Duration::from_secs(u64::MAX));
        let err = c.validate(&[]).unwrap_err();
        assert!(
            err.contains("nemesis.clock.strobe-period") && err.contains("maximum 7d"),
            "{err}"
        );
        c.clock.strobe_period = None;
        c.clock.max_offset = Some(Duration::from_secs(u64::MAX));
        assert!(
            c.validate(&[])
                .unwrap_err()
                .contains("nemesis.clock.max-offset")
        );
    }

    #[test]
    fn fault_lists() {
        assert_eq!(parse_fault_list("none").unwrap(), vec![]);
        let all = NemesisConfig {
            faults: parse_fault_list("partition,all").unwrap(),
            ..Default::default()
        };
        assert_eq!(all.fault_list(), Fault::ALL.to_vec());
        assert!(
            parse_fault_list("partition,nope")
                .unwrap_err()
                .contains("nope")
        );
        // Without a leader query there is no `primaries` default.
        let r = NemesisConfig::with_faults(&[Fault::Kill]).resolved(false);
        assert!(!r.kill.targets.contains(&Target::Primaries));
        assert!(!r.partition.topologies.contains(&Topology::Primaries));
    }
}
