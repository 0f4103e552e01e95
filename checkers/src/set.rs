//! The set checker, after Jepsen's `checker/set`: did every acknowledged
//! `add` survive into the final read, and did nothing appear from nowhere?
//!
//! The history holds `add` operations whose value is the element, and `read`s
//! whose value is the list of elements present. The *final reads* are the `ok`
//! reads invoked after the last `add` was invoked (the workload's final phase:
//! one read per worker, after the faults healed). Reads during the main phase
//! are not judged: adds were still in flight.
//!
//! Over the final reads:
//! - `lost`: acknowledged (`ok`) adds missing from at least one final read;
//! - `unexpected`: elements read that no `add` ever attempted;
//! - `recovered`: elements whose add was indeterminate (`info`, or never
//!   completed) yet appear: they did take effect, which is allowed;
//! - `failed_present`: elements whose add completed with `fail` yet appear. A
//!   `fail` promises the operation did not take effect, so unlike Jepsen (which
//!   counts these as recovered) this is a violation: a client that reports
//!   `fail` too eagerly hides real behaviour.
//!
//! Valid iff `lost`, `unexpected` and `failed_present` are empty. Without any
//! final read there is nothing to judge: `Unknown`, with the reason.

use std::any::Any;
use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use splitbrain_history::{History, OpType, Value};

use crate::result::{LeftOut, LeftOutReason, LeftOutTally};
use crate::{Finding, Verdict};

/// The checker's name in test definitions and `results.json`.
pub const NAME: &str = "set";

crate::checker::history_checker!(SetChecker, NAME, check);

impl Finding for SetResult {
    fn verdict(&self) -> Verdict {
        self.verdict
    }

    /// "2 of 3 acknowledged elements read; 1 lost, 0 unexpected, 0 recovered", or why
    /// there was nothing to judge.
    fn summary(&self) -> String {
        match &self.reason {
            Some(reason) => reason.clone(),
            None => format!(
                "{} of {} acknowledged elements read; {} lost, {} unexpected, {} recovered",
                self.ok_count,
                self.acknowledged_count,
                self.lost.len(),
                self.unexpected.len(),
                self.recovered.len()
            ),
        }
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

/// What the set checker found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetResult {
    pub verdict: Verdict,
    /// Why the verdict is `Unknown`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Distinct elements an `add` was invoked for.
    pub attempt_count: usize,
    /// Distinct elements with an `ok` add.
    pub acknowledged_count: usize,
    /// How many final reads were judged.
    pub final_read_count: usize,
    /// Acknowledged elements present in every final read.
    pub ok_count: usize,
    /// In the order the adds were invoked.
    pub lost: Vec<Value>,
    /// In the order they were read.
    pub unexpected: Vec<Value>,
    /// In the order the adds were invoked.
    pub recovered: Vec<Value>,
    /// In the order the adds were invoked.
    pub failed_present: Vec<Value>,
    /// History entries not judged, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<LeftOut>,
}

/// The known outcomes of the adds of one element.
#[derive(Debug, Clone, Copy, Default)]
struct Adds {
    ok: bool,
    /// Some add of the element ended with info or never completed.
    unknown: bool,
    fail: bool,
}

/// Checks a set history; see the module documentation.
pub fn check(history: &History) -> SetResult {
    // Elements in the order their first add was invoked, and what happened to their adds.
    let mut order: Vec<&Value> = Vec::new();
    let mut adds: HashMap<&Value, Adds> = HashMap::new();
    let mut last_add_invoke = None;
    let mut reads = Vec::new();
    let mut any_ok_read = false;
    let mut left_out = LeftOutTally::default();
    left_out.non_clients(history);
    let mut calls = 0;
    for call in history.calls() {
        calls += 1;
        match call.invoke.f.as_ref() {
            "add" => {
                last_add_invoke = Some(call.invoke_pos);
                let element = &call.invoke.value;
                let entry = adds.entry(element).or_insert_with(|| {
                    order.push(element);
                    Adds::default()
                });
                match call.outcome() {
                    OpType::Ok => entry.ok = true,
                    OpType::Fail => entry.fail = true,
                    _ => entry.unknown = true,
                }
            }
            "read" => match call.outcome() {
                OpType::Ok => {
                    any_ok_read = true;
                    reads.push(call);
                }
                OpType::Fail => left_out.add(LeftOutReason::Failed, None, 1),
                _ => left_out.add(LeftOutReason::UnknownRead, None, 1),
            },
            f => left_out.add(LeftOutReason::NotInModel, Some(f), 1),
        }
    }
    let acknowledged_count = adds.values().filter(|a| a.ok).count();
    let mut result = SetResult {
        verdict: Verdict::Unknown,
        reason: None,
        attempt_count: order.len(),
        acknowledged_count,
        final_read_count: 0,
        ok_count: 0,
        lost: Vec::new(),
        unexpected: Vec::new(),
        recovered: Vec::new(),
        failed_present: Vec::new(),
        left_out: Vec::new(),
    };
    let ok_reads = reads.len();
    let finals: Vec<_> = reads
        .into_iter()
        .filter(|r| last_add_invoke.is_none_or(|last| r.invoke_pos > last))
        .collect();
    left_out.add(
        LeftOutReason::NotFinal,
        None,
        (ok_reads - finals.len()) as u64,
    );
    result.left_out = left_out.into_vec();
    if finals.is_empty() {
        result.reason = Some(if calls == 0 {
            "no client operations to check".into()
        } else if any_ok_read {
            "no successful read after the last add: the final read is missing or failed, so survival of the adds cannot be judged".into()
        } else {
            "the set was never read successfully: nothing to judge".into()
        });
        return result;
    }
    // For each element: in how many final reads it appears.
    let mut seen: HashMap<&Value, usize> = HashMap::new();
    let mut unexpected_seen: HashSet<&Value> = HashSet::new();
    for read in &finals {
        let value = &read.complete.expect("ok read has a completion").value;
        let Some(elements) = value.as_list() else {
            result.reason = Some(format!(
                "the read at op {} returned {}, not a list of elements",
                read.complete.map_or(0, |c| c.index),
                value.kind_name()
            ));
            return result;
        };
        let mut in_this_read = HashSet::with_capacity(elements.len());
        for e in elements {
            if !in_this_read.insert(e) {
                continue;
            }
            *seen.entry(e).or_default() += 1;
            if !adds.contains_key(e) && unexpected_seen.insert(e) {
                result.unexpected.push(e.clone());
            }
        }
    }
    result.final_read_count = finals.len();
    for e in order {
        let a = adds[e];
        let count = seen.get(e).copied().unwrap_or(0);
        if a.ok {
            if count == finals.len() {
                result.ok_count += 1;
            } else {
                result.lost.push(e.clone());
            }
        } else if count > 0 {
            if a.fail && !a.unknown {
                result.failed_present.push(e.clone());
            } else {
                result.recovered.push(e.clone());
            }
        }
    }
    let clean =
        result.lost.is_empty() && result.unexpected.is_empty() && result.failed_present.is_empty();
    result.verdict = if clean {
        Verdict::Valid
    } else {
        Verdict::Invalid
    };
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::history;

    use OpType::{Fail, Info, Invoke, Ok};

    fn int(i: i64) -> Value {
        Value::Int(i)
    }

    fn list(v: &[i64]) -> Value {
        Value::from(v.to_vec())
    }

    #[test]
    fn all_acknowledged_elements_present_is_valid() {
        let h = history(&[
            (0, Invoke, "add", int(0)),
            (1, Invoke, "add", int(1)),
            (0, Ok, "add", int(0)),
            (1, Ok, "add", int(1)),
            (0, Invoke, "read", Value::Nil),
            (1, Invoke, "read", Value::Nil),
            (0, Ok, "read", list(&[1, 0])),
            (1, Ok, "read", list(&[0, 1])),
        ]);
        let r = check(&h);
        assert_eq!(r.verdict, Verdict::Valid, "{r:?}");
        assert_eq!(
            (r.attempt_count, r.acknowledged_count, r.ok_count),
            (2, 2, 2)
        );
        assert_eq!(r.final_read_count, 2);
        assert!(r.lost.is_empty() && r.unexpected.is_empty() && r.recovered.is_empty());
    }

    #[test]
    fn acknowledged_element_missing_is_lost() {
        let h = history(&[
            (0, Invoke, "add", int(0)),
            (0, Ok, "add", int(0)),
            (1, Invoke, "add", int(1)),
            (1, Ok, "add", int(1)),
            (0, Invoke, "read", Value::Nil),
            (0, Ok, "read", list(&[0])),
        ]);
        let r = check(&h);
        assert_eq!(r.verdict, Verdict::Invalid);
        assert_eq!(r.lost, vec![int(1)]);
        assert_eq!(r.ok_count, 1);
    }

    #[test]
    fn missing_from_one_of_several_final_reads_is_lost() {
        let h = history(&[
            (0, Invoke, "add", int(5)),
            (0, Ok, "add", int(5)),
            (0, Invoke, "read", Value::Nil),
            (0, Ok, "read", list(&[5])),
            (1, Invoke, "read", Value::Nil),
            (1, Ok, "read", list(&[])),
        ]);
        let r = check(&h);
        assert_eq!(r.verdict, Verdict::Invalid);
        assert_eq!(r.lost, vec![int(5)]);
    }

    #[test]
    fn element_never_attempted_is_unexpected() {
        let h = history(&[
            (0, Invoke, "add", int(0)),
            (0, Ok, "add", int(0)),
            (0, Invoke, "read", Value::Nil),
            (0, Ok, "read", list(&[0, 42, 42])),
        ]);
        let r = check(&h);
        assert_eq!(r.verdict, Verdict::Invalid);
        assert_eq!(r.unexpected, vec![int(42)]);
        assert!(r.lost.is_empty());
    }

    #[test]
    fn indeterminate_adds_may_appear_or_not() {
        let h = history(&[
            (0, Invoke, "add", int(0)),
            (0, Info, "add", int(0)),
            (1, Invoke, "add", int(1)),
            (1, Info, "add", int(1)),
            (2, Invoke, "add", int(2)),
            // Process 2 never completes its add.
            (3, Invoke, "read", Value::Nil),
            (3, Ok, "read", list(&[1, 2])),
        ]);
        let r = check(&h);
        assert_eq!(r.verdict, Verdict::Valid, "{r:?}");
        assert_eq!(r.recovered, vec![int(1), int(2)]);
        assert_eq!(r.acknowledged_count, 0);
    }

    #[test]
    fn failed_add_that_appears_is_a_violation() {
        let h = history(&[
            (0, Invoke, "add", int(7)),
            (0, Fail, "add", int(7)),
            (0, Invoke, "read", Value::Nil),
            (0, Ok, "read", list(&[7])),
        ]);
        let r = check(&h);
        assert_eq!(r.verdict, Verdict::Invalid);
        assert_eq!(r.failed_present, vec![int(7)]);
    }

    #[test]
    fn reads_during_the_adds_are_not_final() {
        let h = history(&[
            (0, Invoke, "add", int(0)),
            (0, Ok, "add", int(0)),
            (1, Invoke, "read", Value::Nil),
            (1, Ok, "read", list(&[0])),
            (0, Invoke, "add", int(1)),
            (0, Ok, "add", int(1)),
        ]);
        let r = check(&h);
        assert_eq!(r.verdict, Verdict::Unknown);
        assert!(r.reason.unwrap().contains("after the last add"));
    }

    #[test]
    fn never_read_is_unknown() {
        let h = history(&[
            (0, Invoke, "add", int(0)),
            (0, Ok, "add", int(0)),
            (0, Invoke, "read", Value::Nil),
            (0, Fail, "read", Value::Nil),
        ]);
        let r = check(&h);
        assert_eq!(r.verdict, Verdict::Unknown);
        assert!(r.reason.unwrap().contains("never read"));
        let json = serde_json::to_value(check(&History::default())).unwrap();
        assert_eq!(json["verdict"], "unknown");
    }

    #[test]
    fn a_read_that_is_not_a_list_is_unknown() {
        let h = history(&[
            (0, Invoke, "add", int(0)),
            (0, Ok, "add", int(0)),
            (0, Invoke, "read", Value::Nil),
            (0, Ok, "read", int(3)),
        ]);
        let r = check(&h);
        assert_eq!(r.verdict, Verdict::Unknown);
        assert!(r.reason.unwrap().contains("not a list"));
    }
}
