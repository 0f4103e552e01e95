//! `results.json`: the machine-readable record of a run, schema `splitbrain-results/1`.
//!
//! Written next to the history at the end of `splitbrain test` and by
//! `splitbrain analyze`; read back by the report, the store index and whatever
//! CI scripts people write. The schema is documented field by field in
//! `docs/results-schema.md`; the Rust types below are its definition.
//!
//! Compatibility: within `splitbrain-results/1`, fields are only ever added
//! (readers must ignore fields they do not know), never removed or changed in
//! meaning. Optional fields are left out when unknown, so a reader must treat a
//! missing optional field as "not recorded".
//!
//! ```json
//! { "schema": "splitbrain-results/1",
//!   "test": "etcd-register", "run": "20261125T101500.000Z",
//!   "started": "2026-11-25T10:15:00.000Z", "duration_s": 15.2,
//!   "verdict": "invalid",
//!   "ops": { "invoke": 1200, "ok": 1100, "fail": 20, "info": 80 },
//!   "truncated": false,
//!   "config": { "db": "etcd", "workload": "register", "nemesis": ["partition"], "seed": 42, "nodes": ["n1", "n2", "n3"] },
//!   "faults": [ { "fault": "partition", "count": 2 } ],
//!   "checkers": [ { "name": "linearizable", "verdict": "invalid", "summary": "not linearizable: ...", "result": { } } ],
//!   "notes": [] }
//! ```

use std::borrow::Cow;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use splitbrain_checkers::{Checked, Finding, Verdict};
use splitbrain_history::{FaultEdge, FaultOp, History, OpType, Process};

/// The value of the `schema` field.
pub const SCHEMA: &str = "splitbrain-results/1";

/// The file name of the results, in a run directory.
pub const RESULTS_FILE: &str = "results.json";

/// What `results.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The test's name (the store folder `store/<test>/`).
    pub test: String,
    /// The run's name (its folder `store/<test>/<run>/`, the UTC start time).
    pub run: String,
    /// When the run started, RFC 3339 UTC (`2026-11-25T10:15:00.000Z`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    /// Seconds from the start of the workload to the last op of the history
    /// (main phase with its faults, healing, final phase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
    /// The worst verdict of the checkers: invalid, else unknown, else valid.
    pub verdict: Verdict,
    /// Client ops by type.
    pub ops: OpCounts,
    /// True when the history's last line was cut (a killed controller) and dropped.
    #[serde(default)]
    pub truncated: bool,
    /// What ran: the effective test configuration.
    #[serde(default, skip_serializing_if = "RunConfig::is_empty")]
    pub config: RunConfig,
    /// Faults injected during the run (`start-<fault>` ops of the nemesis), by kind.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultCount>,
    /// One entry per checker, in the order they ran.
    pub checkers: Vec<CheckerOutcome>,
    /// Notes the runner wants in the record (e.g. a fault that had no effect).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Default for Results {
    /// Empty results: no checkers, verdict `unknown` (nothing was judged).
    fn default() -> Results {
        Results {
            schema: SCHEMA.into(),
            test: String::new(),
            run: String::new(),
            started: None,
            duration_s: None,
            verdict: Verdict::Unknown,
            ops: OpCounts::default(),
            truncated: false,
            config: RunConfig::default(),
            faults: Vec::new(),
            checkers: Vec::new(),
            notes: Vec::new(),
        }
    }
}

impl Results {
    /// The worst verdict of `checkers` (invalid > unknown > valid); `valid` for none.
    pub fn overall(checkers: &[CheckerOutcome]) -> Verdict {
        checkers
            .iter()
            .fold(Verdict::Valid, |v, c| v.worst(c.verdict))
    }

    /// Reads and parses a `results.json` file.
    pub fn load(path: &std::path::Path) -> Result<Results, crate::ReportError> {
        let text = std::fs::read_to_string(path).map_err(|e| crate::ReportError::io(path, e))?;
        serde_json::from_str(&text).map_err(|e| crate::ReportError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// Fills in what the history itself tells: `ops`, `duration_s` and `faults`.
    pub fn describe_history(&mut self, history: &History) {
        self.ops = OpCounts::of(history);
        self.duration_s = history
            .ops()
            .iter()
            .filter_map(|o| o.time)
            .max()
            .map(|ns| ns as f64 / 1e9);
        self.faults = FaultCount::of(history);
    }
}

/// One checker's verdict, a one-line summary, and its full result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckerOutcome {
    /// The checker's name in `splitbrain_checkers::registry` (`linearizable`, `set`, ...).
    pub name: String,
    pub verdict: Verdict,
    /// One line for humans: what was found.
    pub summary: String,
    /// The checker's own result, as it serializes it (for `linearizable`,
    /// `splitbrain_checkers::LinearizabilityResult`, with its counterexample).
    pub result: serde_json::Value,
    /// The same result, typed, when the check ran in this process: the report reads
    /// it as it is. Never written; a `results.json` read back has none, and
    /// [`CheckerOutcome::finding`] reads `result` instead.
    #[serde(skip)]
    pub finding: Option<Arc<dyn Finding>>,
}

impl CheckerOutcome {
    /// A checker's answer as `results.json` records it, its typed result kept.
    pub fn from_checked(c: Checked) -> Result<CheckerOutcome, serde_json::Error> {
        Ok(CheckerOutcome {
            result: c.finding.to_json()?,
            name: c.name,
            verdict: c.verdict,
            summary: c.summary,
            finding: Some(c.finding),
        })
    }

    /// The checker's result as a `T`: the typed finding itself when there is one of
    /// that type, else `result` read as a `T`; `None` when it is neither (another
    /// checker's result, or another version's).
    pub fn finding<T: Finding + Clone + DeserializeOwned>(&self) -> Option<Cow<'_, T>> {
        if let Some(t) = self
            .finding
            .as_deref()
            .and_then(|f| f.as_any().downcast_ref::<T>())
        {
            return Some(Cow::Borrowed(t));
        }
        T::deserialize(&self.result).ok().map(Cow::Owned)
    }
}

/// Counts of ops by type (client ops only; the nemesis is not counted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpCounts {
    pub invoke: u64,
    pub ok: u64,
    pub fail: u64,
    pub info: u64,
}

impl OpCounts {
    pub fn of(history: &History) -> OpCounts {
        let mut c = OpCounts::default();
        for op in history.ops().iter().filter(|o| o.is_client()) {
            match op.kind {
                OpType::Invoke => c.invoke += 1,
                OpType::Ok => c.ok += 1,
                OpType::Fail => c.fail += 1,
                OpType::Info => c.info += 1,
            }
        }
        c
    }
}

/// The effective configuration of a run, as far as it is known (every field optional).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// The database definition's name (`etcd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db: Option<String>,
    /// The client (`etcd`, `etcd (serializable reads)`, `memory-stale`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// The workload (`register`, `set`, `counter`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
    /// The faults enabled (`partition`, `kill`, `pause`, `clock`, `packet`); empty for none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nemesis: Vec<String>,
    /// Seconds between a fault's start and its stop, and between faults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nemesis_interval_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Workers (client threads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u64>,
    /// Target ops per second over all workers; absent when unthrottled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// The main phase's time limit, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_limit_s: Option<f64>,
    /// The nodes the run used; empty for in-process clients.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
}

impl RunConfig {
    pub fn is_empty(&self) -> bool {
        *self == RunConfig::default()
    }
}

/// How many times a fault took effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultCount {
    /// `partition`, `kill`, ... (the `<fault>` of `start-<fault>`).
    pub fault: String,
    pub count: u64,
}

impl FaultCount {
    /// Counts the nemesis's `start-<fault>` ops, in order of first appearance.
    pub fn of(history: &History) -> Vec<FaultCount> {
        let mut out: Vec<FaultCount> = Vec::new();
        for op in history.ops() {
            if op.process != Process::Nemesis {
                continue;
            }
            let Some(FaultOp {
                edge: FaultEdge::Start,
                fault,
            }) = FaultOp::parse(&op.f)
            else {
                continue;
            };
            match out.iter_mut().find(|c| c.fault == fault) {
                Some(c) => c.count += 1,
                None => out.push(FaultCount {
                    fault: fault.to_string(),
                    count: 1,
                }),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use splitbrain_checkers::stats::{StatsChecker, StatsResult};
    use splitbrain_checkers::unique_ids::UniqueIdsResult;
    use splitbrain_checkers::{Checker, Limits};

    use super::*;

    #[test]
    fn a_finding_is_the_typed_result_else_the_json_read_back() {
        let history = splitbrain_checkers::testing::history(&[
            (0, OpType::Invoke, "read", splitbrain_history::Value::Nil),
            (0, OpType::Ok, "read", splitbrain_history::Value::Int(1)),
        ]);
        let checked = StatsChecker.check(&history, &Limits::default()).unwrap();
        let outcome = CheckerOutcome::from_checked(checked).unwrap();
        assert!(matches!(
            outcome.finding::<StatsResult>(),
            Some(Cow::Borrowed(_))
        ));
        // Written and read back: the same result, from the JSON.
        let back: CheckerOutcome =
            serde_json::from_str(&serde_json::to_string(&outcome).unwrap()).unwrap();
        assert!(back.finding.is_none());
        let read = back.finding::<StatsResult>().unwrap();
        assert!(matches!(read, Cow::Owned(_)));
        assert_eq!(*read, *outcome.finding::<StatsResult>().unwrap());
        // Another checker's type is neither.
        assert!(outcome.finding::<UniqueIdsResult>().is_none());
        assert!(back.finding::<UniqueIdsResult>().is_none());
    }

    #[test]
    fn old_results_without_the_new_fields_still_parse() {
        let text = r#"{"schema":"splitbrain-results/1","test":"t","run":"r","verdict":"valid",
            "ops":{"invoke":1,"ok":1,"fail":0,"info":0},"checkers":[],"future_field":1}"#;
        let r: Results = serde_json::from_str(text).unwrap();
        assert_eq!(r.verdict, Verdict::Valid);
        assert!(r.config.is_empty() && r.started.is_none());
        // Unknown optional fields are left out, not written as null.
        let back = serde_json::to_value(&r).unwrap();
        assert!(back.get("config").is_none() && back.get("started").is_none());
    }
}
