//! `clock`: the database runs under libfaketime reading a per-node offset file
//! (`FAKETIME_TIMESTAMP_FILE` with `FAKETIME_NO_CACHE=1`), so writing an offset moves its
//! clock while it runs: a bump, a strobe (a loop on the node flipping it), a drift (a loop
//! moving it). After every change each node's offset, as the database sees it, is measured
//! and recorded as a `clock-offsets` op. Where libfaketime cannot move the database's clock
//! (a Go program, a static binary, no libfaketime, `clock.faketime: false`) the fault is
//! left out with a note saying which.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Deserializer, Serialize};
use splitbrain_control::cluster::on_sessions;
use splitbrain_control::db::{Db, Vars};
use splitbrain_history::fault_op::CLOCK_OFFSETS;
use splitbrain_history::{Op, OpType, Process, Value, duration};

use crate::config::{NemesisConfig, Section, check_duration, checked, pick};
use crate::fault::{AnyFault, Context, Fault, Plan, Probe, erase, target_value, timed};
use crate::faults::{FaultInfo, FaultKind};
use crate::heal::{HealSection, HealStage};
use crate::nemesis::{Nemesis, NemesisError};
use crate::scripts;
use crate::target::{self, Target};

pub const DEFAULT_MAX_OFFSET: Duration = Duration::from_secs(30);
pub const DEFAULT_STROBE_PERIOD: Duration = Duration::from_millis(200);
pub const DEFAULT_MAX_DRIFT: f64 = 0.1;
/// Shorter strobe periods flip the clock faster than the loop on the node can.
pub const MIN_STROBE_PERIOD: Duration = Duration::from_millis(10);

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

/// `nemesis.clock`.
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

impl Section for ClockOptions {
    fn check_values(&self, name: &str) -> Result<(), String> {
        if let Some(d) = self.max_drift {
            check_fraction(d).map_err(|e| format!("nemesis.{name}.max-drift: {e}"))?;
        }
        if let Some(p) = self.strobe_period {
            check_strobe_period(p).map_err(|e| format!("nemesis.{name}.strobe-period: {e}"))?;
        }
        check_duration(&format!("{name}.max-offset"), self.max_offset)
    }

    fn check_nodes(&self, name: &str, nodes: &[String]) -> Result<(), String> {
        target::check_nodes(name, &self.targets, &self.nodes, nodes)
    }

    fn resolve(&mut self, has_leader: bool) {
        self.targets = target::resolve(&self.targets, &self.nodes, has_leader, false);
        if self.modes.is_empty() {
            self.modes = ClockMode::ALL.to_vec();
        }
        self.max_offset.get_or_insert(DEFAULT_MAX_OFFSET);
        self.strobe_period.get_or_insert(DEFAULT_STROBE_PERIOD);
        self.max_drift.get_or_insert(DEFAULT_MAX_DRIFT);
    }
}

fn check_strobe_period(d: Duration) -> Result<(), String> {
    duration::check(d).map_err(|e| e.to_string())?;
    if d < MIN_STROBE_PERIOD {
        return Err(format!("use at least 10ms, got {}", duration::format(d)));
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
fn strobe_period<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    checked(duration::option::deserialize(d)?, |v| {
        check_strobe_period(v).map_err(|e| format!("strobe-period: {e}"))
    })
}

fn fraction<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    checked(Option::<f64>::deserialize(d)?, |v| {
        check_fraction(v).map_err(|e| format!("max-drift: {e}"))
    })
}

/// How a clock fault moves the clock.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ClockChange {
    /// Jump by this offset.
    Bump { offset_ms: i64 },
    /// Flip between `delta_ms` and zero every `period_ms`, for `duration_ms`.
    Strobe {
        delta_ms: i64,
        period_ms: u64,
        duration_ms: u64,
    },
    /// Run fast (positive) or slow (negative) by this many parts per million.
    Drift { ppm: i64 },
}

/// A clock fault, decided.
#[derive(Clone, Debug, PartialEq)]
pub struct Clock {
    pub target: Target,
    pub nodes: Vec<String>,
    pub change: ClockChange,
    /// How the target was resolved, when not as asked (e.g. no leader found).
    pub note: Option<String>,
}

impl Plan for Clock {
    fn kind(&self) -> FaultKind {
        FaultKind::Clock
    }

    fn nodes(&self) -> Vec<String> {
        self.nodes.clone()
    }

    fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }
}

/// Whether clock faults can move the database's clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClockSupport {
    /// The daemon runs under libfaketime (this library), reading the definition's clock file.
    Faketime { library: String },
    /// Clock faults would have no effect; the reason says why, plainly.
    Unsupported { reason: String },
}

/// The clock fault of a run.
pub struct ClockFault {
    options: ClockOptions,
    /// A strobe lasts an interval; a drift loop is bounded by a few.
    interval: Duration,
    /// Known once probed.
    support: Option<ClockSupport>,
}

/// Its line's details in the table ([`crate::faults::FAULTS`]).
pub(crate) const INFO: FaultInfo = FaultInfo {
    about: "the database's clock bumped, strobed or drifting (libfaketime)",
    colour: "#10b981",
    build,
    heal,
};

fn build(c: &NemesisConfig) -> Box<dyn AnyFault> {
    erase(ClockFault {
        options: c.clock.clone(),
        interval: c.interval(),
        support: None,
    })
}

/// Stops a clock loop and sets a skewed clock file back to zero: the definition's clock
/// file, or the default one without it.
fn heal(db: Option<&Db>, node: &str) -> Option<HealSection> {
    let file = match db {
        Some(db) => db.node_clock_file(node).unwrap_or_default(),
        None => default_clock_file(),
    };
    Some(HealSection::new(
        HealStage::Clock,
        scripts::heal_clock(&file),
    ))
}

/// The clock file of a definition that does not name one.
pub fn default_clock_file() -> String {
    splitbrain_control::db::def::Clock::default()
        .file
        .render(&Vars::new())
}

impl ClockFault {
    /// As if probed with this outcome (tests of planning, which touch no node).
    #[cfg(test)]
    pub(crate) fn probed(c: &NemesisConfig, support: ClockSupport) -> ClockFault {
        ClockFault {
            options: c.clock.clone(),
            interval: c.interval(),
            support: Some(support),
        }
    }

    /// Whether clock faults can move the clock here; `None` until probed.
    pub fn support(&self) -> Option<&ClockSupport> {
        self.support.as_ref()
    }

    fn library(&self) -> Result<&str, NemesisError> {
        match &self.support {
            Some(ClockSupport::Faketime { library }) => Ok(library),
            Some(ClockSupport::Unsupported { reason }) => {
                Err(NemesisError::Unsupported(reason.clone()))
            }
            None => Err(NemesisError::Config(
                "clock faults were not set up: enable the clock fault in the configuration".into(),
            )),
        }
    }

    /// Every node's clock offset as the database sees it: `date` run under the same
    /// libfaketime settings as the daemon, against the real clock read just before and
    /// after. Milliseconds; nodes that cannot be measured are left out (and logged).
    pub async fn offsets(&self, cx: &Context) -> Result<BTreeMap<String, i64>, NemesisError> {
        let db = cx.need_db()?;
        let library = self.library()?.to_string();
        let results = on_sessions(cx.cluster.sessions(), move |s| {
            let db = db.clone();
            let library = library.clone();
            async move {
                let file = db.clock_file(&s)?;
                let out = s
                    .exec(&timed(scripts::clock_measure(&library, &file)))
                    .await?;
                Ok(parse_measure(out.out()))
            }
        })
        .await;
        let mut offsets = BTreeMap::new();
        for (node, r) in results.0 {
            match r {
                Ok(Some(ms)) => {
                    offsets.insert(node.name, ms);
                }
                Ok(None) => tracing::warn!("nemesis: cannot read the clock of {}", node.name),
                Err(e) => tracing::warn!("nemesis: cannot measure the clock of {}: {e}", node.name),
            }
        }
        Ok(offsets)
    }

    async fn record_offsets(&self, cx: &Context) {
        match self.offsets(cx).await {
            Ok(offsets) => {
                let value = Value::Map(
                    offsets
                        .iter()
                        .map(|(n, ms)| (Value::str(n.as_str()), Value::Int(*ms)))
                        .collect(),
                );
                tracing::info!("nemesis: {CLOCK_OFFSETS} {value}");
                cx.record(Op::new(
                    Process::Nemesis,
                    OpType::Info,
                    CLOCK_OFFSETS,
                    value,
                ));
            }
            Err(e) => tracing::warn!("nemesis: cannot measure clocks: {e}"),
        }
    }

    async fn probe_support(&self, cx: &Context) -> Result<ClockSupport, NemesisError> {
        let db = cx.need_db()?;
        let def = db.def();
        let first = cx
            .cluster
            .sessions()
            .first()
            .cloned()
            .ok_or_else(|| NemesisError::Config("no nodes".into()))?;
        let program = db.command(&first)?.first().cloned().unwrap_or_default();
        let library = def.clock.library.clone();
        let probes = cx
            .cluster
            .exec_all(&timed(scripts::clock_probe(&program, &library)))
            .await
            .into_result()?;
        let name = &def.name;
        for (node, out) in &probes {
            let line = out.out().trim();
            let (kind, path) = line.split_once(' ').unwrap_or((line, ""));
            let reason = match kind {
                "go" => Some(format!(
                    "clock faults have no effect on {name}: {path} is a Go program, which reads the clock without libc and so ignores libfaketime; no clock fault was injected"
                )),
                "static" => Some(format!(
                    "clock faults have no effect on {name}: {path} is statically linked, so libfaketime cannot be preloaded into it; no clock fault was injected"
                )),
                "nolib" if def.clock.faketime => Some(format!(
                    "clock faults are off: libfaketime ({library}) is not installed on {} (apt-get install libfaketime); no clock fault was injected",
                    node.name
                )),
                _ => None,
            };
            if let Some(reason) = reason {
                return Ok(ClockSupport::Unsupported { reason });
            }
        }
        if !def.clock.faketime {
            return Ok(ClockSupport::Unsupported {
                reason: format!(
                    "clock faults are off for {name}: its definition ({}) has clock.faketime: false, so {name} does not run under libfaketime; no clock fault was injected",
                    def.source.display()
                ),
            });
        }
        Ok(ClockSupport::Faketime { library })
    }
}

#[async_trait]
impl Fault for ClockFault {
    type Plan = Clock;

    fn needs_db(&self) -> bool {
        true
    }

    fn uses_primaries(&self) -> bool {
        self.options.targets.contains(&Target::Primaries)
    }

    async fn probe(&mut self, cx: &Context) -> Result<Probe, NemesisError> {
        let support = self.probe_support(cx).await?;
        let probe = match &support {
            ClockSupport::Faketime { .. } => Probe::Ready,
            ClockSupport::Unsupported { reason } => Probe::LeftOut(reason.clone()),
        };
        self.support = Some(support);
        Ok(probe)
    }

    fn ready(&self, cx: &Context) -> Result<(), NemesisError> {
        cx.need_db()?;
        self.library().map(|_| ())
    }

    async fn plan(&self, cx: &Context, rng: &mut fastrand::Rng) -> Result<Clock, NemesisError> {
        if let Some(ClockSupport::Unsupported { reason }) = &self.support {
            return Err(NemesisError::Unsupported(reason.clone()));
        }
        let c = &self.options;
        let target = target::pick(rng, &c.targets);
        let (nodes, note) = target::nodes(cx, rng, target, &c.nodes).await;
        let max_ms = c
            .max_offset
            .unwrap_or(DEFAULT_MAX_OFFSET)
            .as_millis()
            .max(1) as i64;
        let offset = |rng: &mut fastrand::Rng| {
            let low = (max_ms / 10).clamp(1, 100.min(max_ms));
            let ms = rng.i64(low..=max_ms);
            if rng.bool() { ms } else { -ms }
        };
        let change = match pick(rng, &c.modes).unwrap_or(ClockMode::Bump) {
            ClockMode::Bump => ClockChange::Bump {
                offset_ms: offset(rng),
            },
            ClockMode::Strobe => ClockChange::Strobe {
                delta_ms: offset(rng),
                period_ms: c.strobe_period.unwrap_or(DEFAULT_STROBE_PERIOD).as_millis() as u64,
                duration_ms: self.interval.as_millis() as u64,
            },
            ClockMode::Drift => {
                let max_ppm = (c.max_drift.unwrap_or(DEFAULT_MAX_DRIFT) * 1e6) as i64;
                let ppm = rng.i64((max_ppm / 10).max(1)..=max_ppm.max(1));
                ClockChange::Drift {
                    ppm: if rng.bool() { ppm } else { -ppm },
                }
            }
        };
        Ok(Clock {
            target,
            nodes,
            change,
            note,
        })
    }

    async fn start(&self, cx: &Context, c: &Clock) -> Result<(), NemesisError> {
        let db = cx.need_db()?;
        self.library()?;
        let change = c.change;
        let interval = self.interval;
        cx.on_nodes(&c.nodes, move |_, s| {
            let db = db.clone();
            async move {
                let file = db.clock_file(&s)?;
                s.exec(&clock_cmd(&file, change, interval))
                    .await
                    .map(|_| ())
            }
        })
        .await
    }

    /// Every node back to zero: cheap, and nothing can stay skewed.
    async fn stop(&self, cx: &Context, _c: &Clock) -> Result<(), NemesisError> {
        let db = cx.need_db()?;
        self.library()?;
        cx.on_nodes(&cx.nodes, move |_, s| {
            let db = db.clone();
            async move {
                let file = db.clock_file(&s)?;
                s.exec(&timed(scripts::clock_set(&file, 0)))
                    .await
                    .map(|_| ())
            }
        })
        .await
    }

    fn start_value(&self, c: &Clock) -> Vec<(&'static str, Value)> {
        let mut m = vec![target_value(c.target)];
        match c.change {
            ClockChange::Bump { offset_ms } => {
                m.push(("mode", "bump".into()));
                m.push(("offset_ms", offset_ms.into()));
            }
            ClockChange::Strobe {
                delta_ms,
                period_ms,
                duration_ms,
            } => {
                m.push(("mode", "strobe".into()));
                m.push(("delta_ms", delta_ms.into()));
                m.push(("period_ms", (period_ms as i64).into()));
                m.push(("duration_ms", (duration_ms as i64).into()));
            }
            ClockChange::Drift { ppm } => {
                m.push(("mode", "drift".into()));
                m.push(("rate", Value::Float(1.0 + ppm as f64 / 1e6)));
                m.push(("ppm", ppm.into()));
            }
        }
        m
    }

    fn stop_value(&self, _c: &Clock) -> Vec<(&'static str, Value)> {
        vec![("mode", "reset".into()), ("offset_ms", 0.into())]
    }

    /// Records every node's measured offset, when clocks can move at all.
    async fn after(&self, cx: &Context) {
        if matches!(self.support, Some(ClockSupport::Faketime { .. })) {
            self.record_offsets(cx).await;
        }
    }
}

// What the clock adds to the nemesis, for tests and tools.
impl Nemesis {
    /// Whether clock faults can move the clock here; `None` when clock faults are not
    /// enabled.
    pub fn clock_support(&self) -> Option<&ClockSupport> {
        self.fault::<ClockFault>().and_then(ClockFault::support)
    }

    /// Every node's clock offset as the database sees it ([`ClockFault::offsets`]).
    pub async fn clock_offsets(&self) -> Result<BTreeMap<String, i64>, NemesisError> {
        match self.fault::<ClockFault>() {
            Some(c) => c.offsets(self.context()).await,
            None => Err(NemesisError::Config(
                "clock faults were not set up: enable the clock fault in the configuration".into(),
            )),
        }
    }
}

fn clock_cmd(file: &str, change: ClockChange, interval: Duration) -> splitbrain_control::Cmd {
    timed(clock_script(file, change, interval))
}

/// The script of `change`: a strobe flips for its duration, a drift is bounded.
fn clock_script(file: &str, change: ClockChange, interval: Duration) -> splitbrain_control::Cmd {
    match change {
        ClockChange::Bump { offset_ms } => scripts::clock_set(file, offset_ms),
        ClockChange::Strobe {
            delta_ms,
            period_ms,
            duration_ms,
        } => {
            let flips = (duration_ms / (2 * period_ms.max(1))).max(1);
            scripts::clock_strobe(file, delta_ms, Duration::from_millis(period_ms), flips)
        }
        ClockChange::Drift { ppm } => {
            // Bounded, in case nobody stops it: three intervals or a minute, whichever is longer.
            let step = Duration::from_millis(100);
            let bound = (interval * 3).max(Duration::from_secs(60));
            let steps = (bound.as_millis() / step.as_millis()) as u64;
            scripts::clock_drift(file, ppm, step, steps)
        }
    }
}

/// `before faked after` in ns → the faked clock's offset from the real one, in ms.
fn parse_measure(line: &str) -> Option<i64> {
    let v: Vec<i128> = line
        .split_whitespace()
        .map(|w| w.parse().ok())
        .collect::<Option<Vec<_>>>()?;
    let [a, f, b] = v[..] else { return None };
    let mid = (a + b) / 2;
    let ms = (f - mid) as f64 / 1e6;
    Some(ms.round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measurements() {
        assert_eq!(parse_measure("1000000000 1005000000 1002000000"), Some(4));
        assert_eq!(parse_measure("100 100"), None);
        assert_eq!(parse_measure("x y z"), None);
    }

    #[test]
    fn commands_bound_their_loops() {
        let params = |c| splitbrain_control::db::scripts::testing::params(c);
        let strobe = params(clock_script(
            "/run/c",
            ClockChange::Strobe {
                delta_ms: 500,
                period_ms: 200,
                duration_ms: 10_000,
            },
            Duration::from_secs(10),
        ));
        assert_eq!(strobe[4..], ["+0.500", "0.200", "25"]);
        let drift = params(clock_script(
            "/run/c",
            ClockChange::Drift { ppm: -5000 },
            Duration::from_secs(10),
        ));
        assert_eq!(drift[4..], ["-5000", "0.100", "600"]);
    }
}
