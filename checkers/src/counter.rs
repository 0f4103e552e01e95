//! The counter checker, after Jepsen's `checker/counter`: does every read lie
//! within what the increments allow?
//!
//! The history holds `add` operations whose value is the (integer) increment
//! and `read`s whose value is the counter. Starting from 0, an `ok` read that
//! was invoked at `a` and completed at `b` must lie within
//!
//! - lower bound: the sum of the `ok` adds that completed before `a` (they
//!   certainly happened before the read);
//! - upper bound: the sum of every add invoked before `b` that did not `fail`
//!   (`ok`, `info`, or never completed: each may have happened before the read).
//!
//! A `fail`ed add certainly did not happen, so it never counts, even if the
//! read completed before the failure was known (Jepsen counts it until then; this
//! is stricter, and sound by the meaning of `fail`). Negative increments are
//! allowed: an uncertain decrement lowers the lower bound instead.
//!
//! Valid iff every `ok` read is within its bounds. Without any `ok` read there
//! is nothing to judge (`Unknown`); so is a history whose adds or reads carry
//! something other than integers.

use std::any::Any;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use splitbrain_history::{History, OpType, Process, Value};

use crate::result::{LeftOut, LeftOutReason, LeftOutTally};
use crate::{Finding, Verdict};

/// The checker's name in test definitions and `results.json`.
pub const NAME: &str = "counter";

crate::checker::history_checker!(CounterChecker, NAME, check);

impl Finding for CounterResult {
    fn verdict(&self) -> Verdict {
        self.verdict
    }

    /// "12 reads, all within bounds", or the first read out of bounds, or why there
    /// was nothing to judge.
    fn summary(&self) -> String {
        match (&self.reason, self.errors.first()) {
            (Some(reason), _) => reason.clone(),
            (None, None) => format!("{} reads, all within bounds", self.read_count),
            (None, Some(e)) => format!(
                "{} of {} reads out of bounds; first: process {} read {} (bounds {}..={})",
                self.errors.len(),
                self.read_count,
                e.process,
                e.value,
                e.lower,
                e.upper
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

/// What the counter checker found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CounterResult {
    pub verdict: Verdict,
    /// Why the verdict is `Unknown`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// How many `ok` reads were judged.
    pub read_count: usize,
    /// The reads outside their bounds, in history order.
    pub errors: Vec<CounterError>,
    /// History entries not judged, and why (failed adds never count).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<LeftOut>,
}

/// One read outside its bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CounterError {
    /// The `index` of the read's `ok` completion.
    pub index: u64,
    pub process: Process,
    /// The value read.
    pub value: Value,
    pub lower: i64,
    pub upper: i64,
}

/// Sums of the adds seen so far in the sweep.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    /// Completed `ok` adds: their sum, and the sums of their positive and negative parts.
    certain: i128,
    certain_pos: i128,
    certain_neg: i128,
    /// Invoked adds that did not fail: the sums of their positive and negative parts.
    possible_pos: i128,
    possible_neg: i128,
}

/// Checks a counter history; see the module documentation.
pub fn check(history: &History) -> CounterResult {
    let ops = history.ops();
    let mut sums = Sums::default();
    // Snapshots of `sums` taken when an ok read was invoked, by its completion's position.
    let mut at_invoke: HashMap<usize, Sums> = HashMap::new();
    let mut result = CounterResult {
        verdict: Verdict::Unknown,
        reason: None,
        read_count: 0,
        errors: Vec::new(),
        left_out: Vec::new(),
    };
    let mut left_out = LeftOutTally::default();
    let mut calls = 0;
    let increment = |pos: usize| -> Result<i128, String> {
        let op = &ops[pos];
        op.value.as_int().map(i128::from).ok_or_else(|| {
            format!(
                "the add at op {} has {} as its increment, not an integer",
                op.index,
                op.value.kind_name()
            )
        })
    };
    for (pos, op) in ops.iter().enumerate() {
        if !op.is_client() {
            left_out.non_client();
            continue;
        }
        let outcome = || {
            history
                .completion(pos)
                .map_or(OpType::Info, |c| ops[c].kind)
        };
        if op.kind == OpType::Invoke {
            calls += 1;
            match (op.f.as_ref(), outcome()) {
                ("add" | "read", OpType::Fail) => left_out.add(LeftOutReason::Failed, None, 1),
                ("read", OpType::Info) => left_out.add(LeftOutReason::UnknownRead, None, 1),
                ("add" | "read", _) => {}
                (f, _) => left_out.add(LeftOutReason::NotInModel, Some(f), 1),
            }
        }
        match (op.f.as_ref(), op.kind) {
            ("add", OpType::Invoke) => {
                let failed = outcome() == OpType::Fail;
                if !failed {
                    let v = match increment(pos) {
                        Ok(v) => v,
                        Err(e) => return unknown(result, e),
                    };
                    sums.possible_pos += v.max(0);
                    sums.possible_neg += v.min(0);
                }
            }
            ("add", OpType::Ok) => {
                // The increment is the invocation's value (a completion may omit it).
                let inv = history.invocation(pos).expect("validated history");
                let v = match increment(inv) {
                    Ok(v) => v,
                    Err(e) => return unknown(result, e),
                };
                sums.certain += v;
                sums.certain_pos += v.max(0);
                sums.certain_neg += v.min(0);
            }
            ("read", OpType::Invoke) => {
                if let Some(c) = history.completion(pos)
                    && ops[c].kind == OpType::Ok
                {
                    at_invoke.insert(c, sums);
                }
            }
            ("read", OpType::Ok) => {
                let Some(a) = at_invoke.remove(&pos) else {
                    continue;
                };
                result.read_count += 1;
                // Adds certain at `a` are among those possible at `b`: count them once.
                let lower = a.certain + (sums.possible_neg - a.certain_neg);
                let upper = a.certain + (sums.possible_pos - a.certain_pos);
                let within = op
                    .value
                    .as_int()
                    .is_some_and(|v| (lower..=upper).contains(&i128::from(v)));
                if !within {
                    result.errors.push(CounterError {
                        index: op.index,
                        process: op.process.clone(),
                        value: op.value.clone(),
                        lower: clamp(lower),
                        upper: clamp(upper),
                    });
                }
            }
            _ => {}
        }
    }
    result.left_out = left_out.into_vec();
    if calls == 0 {
        return unknown(result, "no client operations to check".into());
    }
    if result.read_count == 0 {
        return unknown(result, "no successful read: nothing to judge".into());
    }
    result.verdict = if result.errors.is_empty() {
        Verdict::Valid
    } else {
        Verdict::Invalid
    };
    result
}

fn unknown(mut result: CounterResult, reason: String) -> CounterResult {
    result.verdict = Verdict::Unknown;
    result.reason = Some(reason);
    result
}

fn clamp(x: i128) -> i64 {
    x.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::history;

    use OpType::{Fail, Info, Invoke, Ok};

    fn int(i: i64) -> Value {
        Value::Int(i)
    }

    const NIL: Value = Value::Nil;

    #[test]
    fn sequential_reads_match_exactly() {
        let h = history(&[
            (0, Invoke, "add", int(1)),
            (0, Ok, "add", int(1)),
            (0, Invoke, "read", NIL),
            (0, Ok, "read", int(1)),
            (0, Invoke, "add", int(2)),
            (0, Ok, "add", int(2)),
            (0, Invoke, "read", NIL),
            (0, Ok, "read", int(3)),
        ]);
        let r = check(&h);
        assert_eq!(r.verdict, Verdict::Valid, "{r:?}");
        assert_eq!(r.read_count, 2);
    }

    #[test]
    fn read_below_acknowledged_increments_is_invalid() {
        let h = history(&[
            (0, Invoke, "add", int(1)),
            (0, Ok, "add", int(1)),
            (0, Invoke, "add", int(1)),
            (0, Ok, "add", int(1)),
            (1, Invoke, "read", NIL),
            (1, Ok, "read", int(1)),
        ]);
        let r = check(&h);
        assert_eq!(r.verdict, Verdict::Invalid);
        assert_eq!(
            r.errors,
            vec![CounterError {
                index: 5,
                process: Process::Client(1),
                value: int(1),
                lower: 2,
                upper: 2,
            }]
        );
    }

    #[test]
    fn read_above_all_possible_increments_is_invalid() {
        let h = history(&[
            (0, Invoke, "add", int(1)),
            (1, Invoke, "read", NIL),
            (1, Ok, "read", int(2)),
            (0, Ok, "add", int(1)),
        ]);
        let r = check(&h);
        assert_eq!(r.verdict, Verdict::Invalid);
        assert_eq!((r.errors[0].lower, r.errors[0].upper), (0, 1));
    }

    #[test]
    fn info_and_pending_increments_widen_the_upper_bound() {
        let h = history(&[
            (0, Invoke, "add", int(1)),
            (0, Info, "add", int(1)),
            (1, Invoke, "add", int(5)),
            // Process 1 never completes.
            (2, Invoke, "read", NIL),
            (2, Ok, "read", int(6)),
            (3, Invoke, "read", NIL),
            (3, Ok, "read", int(0)),
        ]);
        let r = check(&h);
        assert_eq!(r.verdict, Verdict::Valid, "{r:?}");
        // The same reads with the adds acknowledged before them: 0 is too low.
        let h = history(&[
            (0, Invoke, "add", int(1)),
            (0, Ok, "add", int(1)),
            (3, Invoke, "read", NIL),
            (3, Ok, "read", int(0)),
        ]);
        assert_eq!(check(&h).verdict, Verdict::Invalid);
    }

    #[test]
    fn concurrent_ok_add_may_or_may_not_be_seen() {
        for seen in [0, 3] {
            let h = history(&[
                (1, Invoke, "read", NIL),
                (0, Invoke, "add", int(3)),
                (0, Ok, "add", int(3)),
                (1, Ok, "read", int(seen)),
            ]);
            assert_eq!(check(&h).verdict, Verdict::Valid, "read {seen}");
        }
    }

    #[test]
    fn failed_increments_never_count() {
        let h = history(&[
            (0, Invoke, "add", int(1)),
            (1, Invoke, "read", NIL),
            (1, Ok, "read", int(1)),
            (0, Fail, "add", int(1)),
        ]);
        let r = check(&h);
        assert_eq!(r.verdict, Verdict::Invalid);
        assert_eq!((r.errors[0].lower, r.errors[0].upper), (0, 0));
    }

    #[test]
    fn negative_increments_lower_the_lower_bound() {
        let h = history(&[
            (0, Invoke, "add", int(5)),
            (0, Ok, "add", int(5)),
            (0, Invoke, "add", int(-2)),
            (0, Info, "add", int(-2)),
            (1, Invoke, "read", NIL),
            (1, Ok, "read", int(3)),
        ]);
        assert_eq!(check(&h).verdict, Verdict::Valid);
    }

    #[test]
    fn non_integer_read_is_an_error_and_bad_increment_unknown() {
        let h = history(&[(0, Invoke, "read", NIL), (0, Ok, "read", Value::str("x"))]);
        assert_eq!(check(&h).verdict, Verdict::Invalid);
        let h = history(&[
            (0, Invoke, "add", Value::str("one")),
            (0, Ok, "add", Value::str("one")),
            (0, Invoke, "read", NIL),
            (0, Ok, "read", int(1)),
        ]);
        let r = check(&h);
        assert_eq!(r.verdict, Verdict::Unknown);
        assert!(r.reason.unwrap().contains("not an integer"));
    }

    #[test]
    fn no_reads_is_unknown() {
        let h = history(&[
            (0, Invoke, "add", int(1)),
            (0, Ok, "add", int(1)),
            (0, Invoke, "read", NIL),
            (0, Fail, "read", NIL),
        ]);
        let r = check(&h);
        assert_eq!(r.verdict, Verdict::Unknown);
        assert_eq!(r.read_count, 0);
    }
}
