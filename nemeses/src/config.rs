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
//! decided once by [`NemesisConfig::resolved`], so that the stored `test.yaml` records
//! exactly what ran. Each fault's section is its module's type ([`Section`]): its options,
//! defaults and checks live with the fault ([`crate::faults`]).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use splitbrain_history::duration;

use crate::faults::{FAULTS, FaultKind};
use crate::schedule::ScheduleDef;

/// Time between a fault's start and stop, and between faults, unless told otherwise.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);
/// Shorter intervals leave no time for a fault to take effect before it is healed.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// A fault as written in YAML or `--nemesis`: one fault, or `all` of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultSpec {
    One(FaultKind),
    All,
}

/// Every name a [`FaultSpec`] can take: the faults of the table, then `all`.
const SPEC_NAMES: [&str; FAULTS.len() + 1] = {
    let mut names = ["all"; FAULTS.len() + 1];
    let mut i = 0;
    while i < FAULTS.len() {
        names[i] = FAULTS[i].name;
        i += 1;
    }
    names
};

impl FaultSpec {
    pub fn name(self) -> &'static str {
        match self {
            FaultSpec::One(k) => k.name(),
            FaultSpec::All => "all",
        }
    }

    fn faults(self) -> Vec<FaultKind> {
        match self {
            FaultSpec::One(k) => vec![k],
            FaultSpec::All => FaultKind::ALL.to_vec(),
        }
    }

    fn named(s: &str) -> Option<FaultSpec> {
        match s {
            "all" => Some(FaultSpec::All),
            s => FaultKind::named(s).map(FaultSpec::One),
        }
    }
}

impl From<FaultKind> for FaultSpec {
    fn from(f: FaultKind) -> FaultSpec {
        FaultSpec::One(f)
    }
}

impl fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FaultSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<FaultSpec, String> {
        FaultSpec::named(s.trim()).ok_or_else(|| {
            let (last, rest) = SPEC_NAMES.split_last().unwrap_or((&"all", &[]));
            format!(
                "unknown fault `{}`; expected {} or {last} (comma-separated), or none",
                s.trim(),
                rest.join(", ")
            )
        })
    }
}

impl Serialize for FaultSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for FaultSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<FaultSpec, D::Error> {
        struct Name;
        impl serde::de::Visitor<'_> for Name {
            type Value = FaultSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "one of {}", SPEC_NAMES.join(", "))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<FaultSpec, E> {
                FaultSpec::named(s).ok_or_else(|| E::unknown_variant(s, &SPEC_NAMES))
            }
        }
        d.deserialize_str(Name)
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

/// `--nemesis`'s help, from the table's names.
pub fn fault_list_help() -> String {
    format!(
        "Faults to inject, comma-separated: {}, or all; `none` turns off the definition's nemesis.",
        crate::faults::names().join(", ")
    )
}

/// A fault's `nemesis.<name>` section: checked and completed through the table
/// ([`crate::faults::FaultEntry::section`]), so that [`NemesisConfig`] checks every fault's.
pub trait Section: SectionDefault {
    /// Ranges that do not depend on the nodes; `name` is the section's, for the errors.
    fn check_values(&self, _name: &str) -> Result<(), String> {
        Ok(())
    }

    /// Node names against the cluster's `nodes`.
    fn check_nodes(&self, _name: &str, _nodes: &[String]) -> Result<(), String> {
        Ok(())
    }

    /// Every default decided; `has_leader`: the database definition has a leader query.
    fn resolve(&mut self, has_leader: bool);
}

/// Whether a section is left at its default (a schedule's `start:` names the one fault
/// whose options it gives). Every section is `Default + PartialEq`, so this is free.
pub trait SectionDefault {
    fn is_default(&self) -> bool;
}

impl<T: Default + PartialEq> SectionDefault for T {
    fn is_default(&self) -> bool {
        *self == T::default()
    }
}

macro_rules! nemesis_config {
    ($($kind:ident $name:literal $module:ident: $settings:ty,)*) => {
        /// The `nemesis:` section of a test definition: the faults, the interval, the
        /// schedule, and one `nemesis.<name>` section per fault of the table
        /// (`fault_table!` in faults/mod.rs), its module's settings type.
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "kebab-case")]
        pub struct NemesisConfig {
            /// Faults to inject: the table's, or all. The faults a `schedule` starts are
            /// injected too.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub faults: Vec<FaultSpec>,
            /// Between a fault's start and its stop, and between faults (default 10s, at
            /// least 100ms).
            #[serde(
                default,
                serialize_with = "duration::option::serialize",
                deserialize_with = "interval",
                skip_serializing_if = "Option::is_none"
            )]
            pub interval: Option<Duration>,
            $(
                #[doc = concat!("`nemesis.", $name, "`.")]
                #[serde(default, rename = $name, skip_serializing_if = "is_default")]
                pub $module: $settings,
            )*
            /// When and which faults: a generator of fault steps ([`crate::schedule`]);
            /// none is today's random schedule (a random enabled fault every `interval`).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub schedule: Option<ScheduleDef>,
        }
    };
}
crate::faults::fault_table!(nemesis_config);

pub(crate) fn is_default<T: Default + PartialEq>(t: &T) -> bool {
    *t == T::default()
}

impl NemesisConfig {
    /// A configuration for these faults with every other setting at its default.
    pub fn with_faults(faults: &[FaultKind]) -> NemesisConfig {
        NemesisConfig {
            faults: faults.iter().map(|&f| f.into()).collect(),
            ..NemesisConfig::default()
        }
    }

    /// The faults, with `all` expanded, the schedule's added and duplicates removed, in
    /// table order.
    pub fn fault_list(&self) -> Vec<FaultKind> {
        let mut out: Vec<FaultKind> = self.faults.iter().flat_map(|f| f.faults()).collect();
        if let Some(s) = &self.schedule {
            out.extend(s.faults());
        }
        out.sort();
        out.dedup();
        out
    }

    pub fn interval(&self) -> Duration {
        self.interval.unwrap_or(DEFAULT_INTERVAL)
    }

    /// Checks values that serde cannot (ranges, node names against `nodes`).
    pub fn validate(&self, nodes: &[String]) -> Result<(), String> {
        self.validate_values()?;
        for e in &FAULTS {
            (e.section)(self).check_nodes(e.name, nodes)?;
        }
        if let Some(s) = &self.schedule {
            for o in s.start_options() {
                for e in &FAULTS {
                    (e.section)(o)
                        .check_nodes(e.name, nodes)
                        .map_err(|m| format!("schedule: start: {m}"))?;
                }
            }
        }
        Ok(())
    }

    /// Checks the numbers: ranges that do not depend on the nodes. The YAML reader
    /// checks them as it reads; a configuration built in code (or changed by flags)
    /// is checked here.
    pub fn validate_values(&self) -> Result<(), String> {
        check_interval(self.interval()).map_err(|e| format!("nemesis.interval: {e}"))?;
        for e in &FAULTS {
            (e.section)(self).check_values(e.name)?;
        }
        if let Some(s) = &self.schedule {
            s.compile().map_err(|e| format!("nemesis.{e}"))?;
            for o in s.start_options() {
                for e in &FAULTS {
                    (e.section)(o)
                        .check_values(e.name)
                        .map_err(|m| format!("nemesis.schedule: start: {m}"))?;
                }
            }
        }
        Ok(())
    }

    /// The configuration with every default decided (for `test.yaml`).
    pub fn resolved(&self, has_leader: bool) -> NemesisConfig {
        let mut c = self.clone();
        c.faults = c.fault_list().into_iter().map(FaultSpec::from).collect();
        c.interval = Some(self.interval());
        for e in &FAULTS {
            (e.section_mut)(&mut c).resolve(has_leader);
        }
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

/// Every node of `list` is one of `nodes`.
pub(crate) fn known_nodes(what: &str, list: &[String], nodes: &[String]) -> Result<(), String> {
    match list.iter().find(|n| !nodes.contains(n)) {
        Some(n) => Err(format!(
            "nemesis.{what}: unknown node `{n}`; the nodes are {}",
            nodes.join(", ")
        )),
        None => Ok(()),
    }
}

/// A duration setting without a range of its own: at most 7d.
pub(crate) fn check_duration(what: &str, d: Option<Duration>) -> Result<(), String> {
    match d {
        Some(d) => duration::check(d)
            .map(|_| ())
            .map_err(|e| format!("nemesis.{what}: {e}")),
        None => Ok(()),
    }
}

pub(crate) fn check_percent(p: f64) -> Result<(), String> {
    if !(0.0..=100.0).contains(&p) {
        return Err(format!("a percentage from 0 to 100, got {p}"));
    }
    Ok(())
}

pub(crate) fn pick<T: Copy>(rng: &mut fastrand::Rng, xs: &[T]) -> Option<T> {
    (!xs.is_empty()).then(|| xs[rng.usize(..xs.len())])
}

// Checked while reading, so that serde-saphyr puts the line and column on the error.
fn interval<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    checked(duration::option::deserialize(d)?, |v| {
        check_interval(v).map_err(|e| format!("interval: {e}"))
    })
}

pub(crate) fn percent<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    checked(Option::<f64>::deserialize(d)?, check_percent)
}

pub(crate) fn checked<T: Copy, E: serde::de::Error>(
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
    use crate::faults::partition::Topology;
    use crate::target::Target;

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
        assert_eq!(c.fault_list(), FaultKind::ALL.to_vec());
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
        let mut c = NemesisConfig::with_faults(&[FaultKind::Packet]);
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
    fn the_flag_help_is_todays() {
        assert_eq!(
            fault_list_help(),
            "Faults to inject, comma-separated: partition, kill, pause, clock, packet, or all; `none` turns off the definition's nemesis."
        );
    }

    #[test]
    fn fault_lists() {
        assert_eq!(parse_fault_list("none").unwrap(), vec![]);
        let all = NemesisConfig {
            faults: parse_fault_list("partition,all").unwrap(),
            ..Default::default()
        };
        assert_eq!(all.fault_list(), FaultKind::ALL.to_vec());
        assert!(
            parse_fault_list("partition,nope")
                .unwrap_err()
                .contains("nope")
        );
        // Without a leader query there is no `primaries` default.
        let r = NemesisConfig::with_faults(&[FaultKind::Kill]).resolved(false);
        assert!(!r.kill.targets.contains(&Target::Primaries));
        assert!(!r.partition.topologies.contains(&Topology::Primaries));
    }
}
