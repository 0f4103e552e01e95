//! The unique-ids checker, after Jepsen's `checker/unique-ids`: did every
//! acknowledged `generate` return an id that no other returned?
//!
//! The history holds `generate` operations (invoked without a value); the value of
//! each `ok` completion is the id it returned. Valid iff no id was returned by two
//! `ok` generates. A `fail`ed generate returned nothing; an `info` one (or one that
//! never completed) may have taken an id nobody saw, which cannot make a seen id
//! appear twice: both are left out. Without an `ok` generate there is nothing to
//! judge: `Unknown`, with the reason.
//!
//! Ids compare as values do (within their type: `1` and `1.0` are different ids) and
//! regardless of the op's key: an id must be unique in the whole history.

use std::any::Any;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use splitbrain_history::{History, OpType, Value};

use crate::result::{LeftOut, LeftOutReason, LeftOutTally};
use crate::{Finding, Verdict, thousands};

/// The checker's name in test definitions and `results.json`.
pub const NAME: &str = "unique-ids";

/// The function whose `ok` values are ids.
pub const GENERATE: &str = "generate";

crate::checker::history_checker!(UniqueIdsChecker, NAME, check);

/// What the unique-ids checker found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UniqueIdsResult {
    pub verdict: Verdict,
    /// Why the verdict is `Unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `generate` calls invoked.
    pub attempted_count: usize,
    /// `generate` calls that completed `ok`: the ids returned, duplicates included.
    pub acknowledged_count: usize,
    /// Ids returned by more than one `ok` generate, in the order of their second return.
    pub duplicated: Vec<DuplicatedId>,
    /// History entries not judged, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<LeftOut>,
}

/// An id returned more than once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DuplicatedId {
    pub id: Value,
    /// How many `ok` generates returned it.
    pub count: usize,
    /// The `index` of the first two `ok` completions that returned it.
    pub ops: [u64; 2],
}

/// Checks a unique-ids history; see the module documentation.
pub fn check(history: &History) -> UniqueIdsResult {
    let mut left_out = LeftOutTally::default();
    left_out.non_clients(history);
    let (mut calls, mut attempted, mut failed, mut unsure) = (0usize, 0usize, 0u64, 0u64);
    // The ok completions, by position: ids in the order they were returned.
    let mut returned = Vec::new();
    for call in history.calls() {
        calls += 1;
        if &*call.invoke.f != GENERATE {
            left_out.add(LeftOutReason::NotInModel, Some(&call.invoke.f), 1);
            continue;
        }
        attempted += 1;
        match (call.outcome(), call.complete, call.complete_pos) {
            (OpType::Ok, Some(done), Some(pos)) => returned.push((pos, done)),
            (OpType::Fail, ..) => failed += 1,
            _ => unsure += 1,
        }
    }
    left_out.add(LeftOutReason::Failed, None, failed);
    left_out.add(LeftOutReason::UnknownOutcome, None, unsure);
    returned.sort_by_key(|(pos, _)| *pos);

    // Per id: how many returned it, the first two completions, and where it is in `duplicated`.
    let mut seen: HashMap<&Value, (usize, u64, Option<usize>)> = HashMap::new();
    let mut duplicated: Vec<DuplicatedId> = Vec::new();
    for (_, op) in &returned {
        let entry = seen.entry(&op.value).or_insert((0, op.index, None));
        entry.0 += 1;
        match entry.2 {
            Some(at) => duplicated[at].count = entry.0,
            None if entry.0 == 2 => {
                entry.2 = Some(duplicated.len());
                duplicated.push(DuplicatedId {
                    id: op.value.clone(),
                    count: 2,
                    ops: [entry.1, op.index],
                });
            }
            None => {}
        }
    }

    let reason = if calls == 0 {
        Some("no client operations to check".to_string())
    } else if attempted == 0 {
        Some(format!("no `{GENERATE}` operations to check"))
    } else if returned.is_empty() {
        Some(format!(
            "no `{GENERATE}` completed with ok ({failed} fail, {unsure} info): nothing to judge"
        ))
    } else {
        None
    };
    let verdict = match (&reason, duplicated.is_empty()) {
        (Some(_), _) => Verdict::Unknown,
        (None, true) => Verdict::Valid,
        (None, false) => Verdict::Invalid,
    };
    UniqueIdsResult {
        verdict,
        reason,
        attempted_count: attempted,
        acknowledged_count: returned.len(),
        duplicated,
        left_out: left_out.into_vec(),
    }
}

impl Finding for UniqueIdsResult {
    fn verdict(&self) -> Verdict {
        self.verdict
    }

    /// "1,000 ids generated, all unique", "3 duplicated ids among 1,000; first: 17
    /// generated 2 times (ops 12, 40)", or why there was nothing to judge.
    fn summary(&self) -> String {
        if let Some(reason) = &self.reason {
            return reason.clone();
        }
        let n = thousands(self.acknowledged_count as u64);
        match self.duplicated.first() {
            None if self.acknowledged_count == 1 => format!("{n} id generated, all unique"),
            None => format!("{n} ids generated, all unique"),
            Some(d) => format!(
                "{} duplicated id{} among {n}; first: {} generated {} times (ops {}, {})",
                thousands(self.duplicated.len() as u64),
                if self.duplicated.len() == 1 { "" } else { "s" },
                d.id,
                d.count,
                d.ops[0],
                d.ops[1]
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

#[cfg(test)]
mod tests {
    use splitbrain_history::{Op, Process};

    use super::*;
    use crate::Checked;
    use crate::testing::history;

    use OpType::{Fail, Info, Invoke, Ok};

    const NIL: Value = Value::Nil;

    /// Sequential generates by process 0 returning `ids`.
    fn generated(ids: &[Value]) -> History {
        let rows: Vec<_> = ids
            .iter()
            .flat_map(|id| [(0, Invoke, GENERATE, NIL), (0, Ok, GENERATE, id.clone())])
            .collect();
        history(&rows)
    }

    #[test]
    fn distinct_ids_are_valid() {
        let ids: Vec<Value> = (0..1000).map(Value::Int).collect();
        let r = check(&generated(&ids));
        assert_eq!(r.verdict, Verdict::Valid, "{r:?}");
        assert_eq!((r.attempted_count, r.acknowledged_count), (1000, 1000));
        assert!(r.duplicated.is_empty() && r.left_out.is_empty());
        assert_eq!(r.summary(), "1,000 ids generated, all unique");
        // Values compare within their type: 1 and 1.0 are different ids.
        let r = check(&generated(&[Value::Int(1), Value::Float(1.0)]));
        assert_eq!(r.verdict, Verdict::Valid, "{r:?}");
    }

    #[test]
    fn duplicates_are_invalid_with_counts_and_the_first_two_ops() {
        let mut ids: Vec<Value> = (0..1000).map(Value::Int).collect();
        // Op indexes: the k-th id is returned by op 2k+1.
        ids[6] = Value::Int(17);
        ids[20] = Value::Int(17);
        ids[30] = Value::Int(5);
        ids[40] = Value::Int(17);
        ids[50] = Value::Int(8);
        let r = check(&generated(&ids));
        assert_eq!(r.verdict, Verdict::Invalid);
        assert_eq!(r.acknowledged_count, 1000);
        // 17 is returned at k = 6, 17, 20, 40; 5 at k = 5, 30; 8 at k = 8, 50.
        assert_eq!(
            r.duplicated,
            vec![
                DuplicatedId {
                    id: Value::Int(17),
                    count: 4,
                    ops: [13, 35],
                },
                DuplicatedId {
                    id: Value::Int(5),
                    count: 2,
                    ops: [11, 61],
                },
                DuplicatedId {
                    id: Value::Int(8),
                    count: 2,
                    ops: [17, 101],
                },
            ]
        );
        assert_eq!(
            r.summary(),
            "3 duplicated ids among 1,000; first: 17 generated 4 times (ops 13, 35)"
        );
        let json = r.to_json().unwrap();
        assert_eq!(json["duplicated"][0]["ops"], serde_json::json!([13, 35]));
        let back: UniqueIdsResult = serde_json::from_value(json).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn duplicates_are_ordered_by_when_they_were_returned_not_invoked() {
        // Process 1 invokes first but returns last.
        let h = history(&[
            (1, Invoke, GENERATE, NIL),
            (0, Invoke, GENERATE, NIL),
            (0, Ok, GENERATE, Value::Int(7)),
            (2, Invoke, GENERATE, NIL),
            (2, Ok, GENERATE, Value::Int(7)),
            (1, Ok, GENERATE, Value::Int(7)),
        ]);
        let r = check(&h);
        assert_eq!(r.verdict, Verdict::Invalid);
        assert_eq!(r.duplicated[0].ops, [2, 4]);
        assert_eq!(r.duplicated[0].count, 3);
        assert_eq!(
            r.summary(),
            "1 duplicated id among 3; first: 7 generated 3 times (ops 2, 4)"
        );
    }

    #[test]
    fn an_empty_history_is_unknown() {
        let r = check(&History::default());
        assert_eq!(r.verdict, Verdict::Unknown);
        assert_eq!(r.reason.as_deref(), Some("no client operations to check"));
        // So is one without any generate.
        let r = check(&history(&[(0, Invoke, "read", NIL), (0, Ok, "read", NIL)]));
        assert_eq!(r.verdict, Verdict::Unknown);
        assert_eq!(r.left_out[0].reason, LeftOutReason::NotInModel);
    }

    #[test]
    fn info_and_fail_only_is_unknown_and_they_are_left_out() {
        let h = history(&[
            (0, Invoke, GENERATE, NIL),
            (0, Info, GENERATE, NIL),
            (1, Invoke, GENERATE, NIL),
            (1, Fail, GENERATE, NIL),
            (2, Invoke, GENERATE, NIL),
        ]);
        let r = check(&h);
        assert_eq!(r.verdict, Verdict::Unknown);
        assert_eq!(r.attempted_count, 3);
        assert_eq!(
            r.reason.as_deref(),
            Some("no `generate` completed with ok (1 fail, 2 info): nothing to judge")
        );
        let checked = Checked::new(NAME, r);
        assert!(
            checked
                .summary
                .ends_with("; 1 failed op and 2 ops with unknown outcome left out"),
            "{}",
            checked.summary
        );
    }

    #[test]
    fn nemesis_ops_and_keys_do_not_matter() {
        let mut ops = vec![Op::new(
            Process::Nemesis,
            Info,
            "start-partition",
            Value::Nil,
        )];
        for (p, key) in [(0, 1), (1, 2)] {
            let mut invoke = Op::new(Process::Client(p), Invoke, GENERATE, NIL);
            invoke.key = Some(Value::Int(key));
            let mut ok = Op::new(Process::Client(p), Ok, GENERATE, Value::Int(42));
            ok.key = Some(Value::Int(key));
            ops.extend([invoke, ok]);
        }
        for (i, op) in ops.iter_mut().enumerate() {
            op.index = i as u64;
        }
        let r = check(&History::new(ops).unwrap());
        assert_eq!(r.verdict, Verdict::Invalid, "an id is unique across keys");
        assert_eq!(r.left_out[0].reason, LeftOutReason::Nemesis);
    }
}
