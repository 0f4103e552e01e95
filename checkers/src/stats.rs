//! The stats checker, after Jepsen's `checker/stats`: how many operations of
//! each function ended `ok`, `fail` and `info`.
//!
//! Only client operations count (the nemesis is not a client). An operation
//! that never completed counts as `info`, as the history's meaning has it.
//!
//! Valid iff every function has at least one `ok`: a function that never once
//! succeeded usually means the test exercised nothing (a broken client, a
//! cluster down for the whole run), and a test that did nothing must not
//! pass. A history without client operations, or in which none succeeded, is
//! too little to judge: `Unknown`, with the reason.

use std::any::Any;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use splitbrain_history::{History, OpType};

use crate::result::{LeftOut, LeftOutTally};
use crate::{Finding, Verdict};

/// The checker's name in test definitions and `results.json`.
pub const NAME: &str = "stats";

crate::checker::history_checker!(StatsChecker, NAME, check);

impl Finding for StatsResult {
    fn verdict(&self) -> Verdict {
        self.verdict
    }

    /// "1200 ops: 1100 ok, 20 fail, 80 info", or why the verdict is not valid.
    fn summary(&self) -> String {
        self.reason.clone().unwrap_or_else(|| {
            format!(
                "{} ops: {} ok, {} fail, {} info",
                self.total.count, self.total.ok_count, self.total.fail_count, self.total.info_count
            )
        })
    }

    fn left_out(&self) -> &[LeftOut] {
        &self.left_out
    }

    fn to_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::to_value(self)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Outcome counts of a group of operations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub count: u64,
    pub ok_count: u64,
    pub fail_count: u64,
    pub info_count: u64,
}

impl Counts {
    fn add(&mut self, outcome: OpType) {
        self.count += 1;
        match outcome {
            OpType::Ok => self.ok_count += 1,
            OpType::Fail => self.fail_count += 1,
            _ => self.info_count += 1,
        }
    }
}

/// What the stats checker found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsResult {
    pub verdict: Verdict,
    /// Why the verdict is not `Valid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// All client operations.
    #[serde(flatten)]
    pub total: Counts,
    /// Per function, by name.
    pub by_f: BTreeMap<Box<str>, Counts>,
    /// History entries not counted (the nemesis's and other processes' ops).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<LeftOut>,
}

/// Counts a history's client operations; see the module documentation.
pub fn check(history: &History) -> StatsResult {
    let mut total = Counts::default();
    let mut by_f: BTreeMap<Box<str>, Counts> = BTreeMap::new();
    for call in history.calls() {
        let outcome = call.outcome();
        total.add(outcome);
        match by_f.get_mut(&call.invoke.f) {
            Some(c) => c.add(outcome),
            None => {
                let mut c = Counts::default();
                c.add(outcome);
                by_f.insert(call.invoke.f.clone(), c);
            }
        }
    }
    let never_ok: Vec<&str> = by_f
        .iter()
        .filter(|(_, c)| c.ok_count == 0)
        .map(|(f, _)| f.as_ref())
        .collect();
    let (verdict, reason) = if total.count == 0 {
        (
            Verdict::Unknown,
            Some("no client operations to check".to_string()),
        )
    } else if total.ok_count == 0 {
        (
            Verdict::Unknown,
            Some(format!(
                "no client operation succeeded ({} fail, {} info): too little to judge",
                total.fail_count, total.info_count
            )),
        )
    } else if never_ok.is_empty() {
        (Verdict::Valid, None)
    } else {
        (
            Verdict::Invalid,
            Some(format!("never succeeded: {}", never_ok.join(", "))),
        )
    };
    let mut left_out = LeftOutTally::default();
    left_out.non_clients(history);
    StatsResult {
        verdict,
        reason,
        total,
        by_f,
        left_out: left_out.into_vec(),
    }
}

#[cfg(test)]
mod tests {
    use splitbrain_history::{Op, Process, Value};

    use super::*;

    use OpType::{Fail, Info, Invoke, Ok};

    fn op(p: Process, kind: OpType, f: &str) -> Op {
        Op::new(p, kind, f, Value::Nil)
    }

    #[test]
    fn counts_per_function_and_in_total() {
        let c = Process::Client;
        let h = History::new(vec![
            op(c(0), Invoke, "read"),
            op(c(0), Ok, "read"),
            op(c(1), Invoke, "write"),
            op(c(1), Info, "write"),
            op(Process::Nemesis, Info, "start-partition"),
            op(c(0), Invoke, "write"),
            op(c(0), Ok, "write"),
            op(c(2), Invoke, "read"),
            op(c(2), Fail, "read"),
            op(c(3), Invoke, "read"),
        ])
        .unwrap();
        let r = check(&h);
        assert_eq!(r.verdict, Verdict::Valid);
        assert_eq!(
            r.total,
            Counts {
                count: 5,
                ok_count: 2,
                fail_count: 1,
                info_count: 2
            }
        );
        assert_eq!(
            r.by_f["read"],
            Counts {
                count: 3,
                ok_count: 1,
                fail_count: 1,
                info_count: 1
            }
        );
        assert!(!r.by_f.contains_key("start-partition"));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["count"], 5);
        assert_eq!(json["by_f"]["write"]["info_count"], 1);
    }

    #[test]
    fn a_function_that_never_succeeded_is_invalid() {
        let c = Process::Client;
        let h = History::new(vec![
            op(c(0), Invoke, "read"),
            op(c(0), Ok, "read"),
            op(c(0), Invoke, "cas"),
            op(c(0), Fail, "cas"),
        ])
        .unwrap();
        let r = check(&h);
        assert_eq!(r.verdict, Verdict::Invalid);
        assert_eq!(r.reason.as_deref(), Some("never succeeded: cas"));
    }

    #[test]
    fn empty_history_is_unknown() {
        assert_eq!(check(&History::default()).verdict, Verdict::Unknown);
    }
}
