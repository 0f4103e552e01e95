//! Reads that are impossible by themselves, found in O(n log n) before any
//! search (register and cas-register models only).
//!
//! A register read returns what the last state-changing op linearized before
//! it left (a write, or a cas that took effect), or the initial value when
//! there is none. An `ok` read `R` of `v` is impossible when no such op can
//! be a writer of `v`:
//!
//! - no `info` (or never-completed) write of `v` / cas to `v` was invoked
//!   before `R` completed: such an op may take effect at any moment after its
//!   invocation, right before `R`, so it always makes `R` possible;
//! - there is an `ok` write or cas `W*` that completed before `R` was invoked,
//!   and every `ok` writer `X` of `v` invoked before `R` completed, completed
//!   before `W*` was invoked (`ret[X] < call[W*]`). Real time then orders
//!   `X < W* < R` in every linearization, so `X` is never the last
//!   state-changing op before `R`. The initial value counts as a writer that
//!   completed before everything; it too is overwritten by `W*`;
//! - or there is no writer of `v` at all and the register does not start at
//!   `v` (a "garbage" read): then `W*` is not needed.
//!
//! Writers of `v` invoked after `R` completed cannot precede `R`. Taking as
//! `W*` the ok write/cas with the latest invocation among those that
//! completed before `R` began is enough: if any dominating op exists, that
//! one dominates too, and it cannot itself write `v` (it would be a writer of
//! `v` that nothing dominates). Real time is history position, exactly as the
//! engines read it (`a` precedes `b` iff `ret[a] < call[b]`); values compare
//! by their interned ids, as the model's `step` does. `fail` ops were dropped
//! before (they did not happen), so a failed cas is no writer; an ok cas
//! always took effect.
//!
//! The shortcut only ever answers `invalid`; when it finds nothing the search
//! runs as before.

use splitbrain_history::{History, Value};

use crate::counterexample::MAX_PREFIXES;
use crate::model::{Model, Register, RegisterOp};
use crate::problem::{NEVER, Problem};
use crate::result::{Counterexample, LinearizedOp, OpRef, Prefix, Unplaceable};

/// Why a read is impossible by itself. Op ids are the problem's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Impossible {
    /// Nothing ever writes the value read (before it ended), and the register
    /// does not start there. `overwriter`: the op shown as what the register
    /// held instead (as `Overwritten`'s), if any completed before the read.
    Garbage { read: u32, overwriter: Option<u32> },
    /// Every writer of the value read (and the initial value, if it is that
    /// value) completed before `overwriter` began, which completed before the
    /// read began.
    Overwritten {
        read: u32,
        /// The ok writer of the value that completed last, if any (else only
        /// the initial value held it).
        last_writer: Option<u32>,
        /// Ok writers of the value invoked before the read completed.
        writers: usize,
        /// Whether the initial value is the value read.
        initial: bool,
        overwriter: u32,
    },
}

impl Impossible {
    pub fn read(&self) -> u32 {
        match *self {
            Impossible::Garbage { read, .. } | Impossible::Overwritten { read, .. } => read,
        }
    }
}

/// The value a write or cas leaves, if it takes effect.
fn written(op: RegisterOp) -> Option<u32> {
    match op {
        RegisterOp::Write(v) | RegisterOp::Cas(_, v) => Some(v),
        RegisterOp::Read(_) => None,
    }
}

/// The impossible read that completes first, if there is one.
pub(crate) fn find(p: &Problem<Register>) -> Option<Impossible> {
    let n = p.len();
    let init = p.model.clone().init();
    let values = p
        .ops
        .iter()
        .map(|&op| match op {
            RegisterOp::Read(v) | RegisterOp::Write(v) => v,
            RegisterOp::Cas(a, b) => a.max(b),
        })
        .chain([init])
        .max()
        .map_or(0, |m| m as usize + 1);

    // Ok writes and cas ops by completion, with the running maximum of their
    // invocations: the latest-invoked op completed before a given position.
    let mut changers: Vec<u32> = (0..n as u32)
        .filter(|&i| p.ret[i as usize] != NEVER && written(p.ops[i as usize]).is_some())
        .collect();
    changers.sort_unstable_by_key(|&i| p.ret[i as usize]);
    let changer_ret: Vec<u32> = changers.iter().map(|&i| p.ret[i as usize]).collect();
    let mut latest_call: Vec<u32> = Vec::with_capacity(changers.len());
    for (k, &i) in changers.iter().enumerate() {
        let best = match k {
            0 => i,
            _ => {
                let prev = latest_call[k - 1];
                if p.call[i as usize] > p.call[prev as usize] {
                    i
                } else {
                    prev
                }
            }
        };
        latest_call.push(best);
    }

    // Per value: ok writers by invocation, with the running latest completion;
    // and the earliest invocation of an info writer.
    let mut ok_writers: Vec<Vec<u32>> = vec![Vec::new(); values];
    let mut info_first_call: Vec<u32> = vec![NEVER; values];
    for i in 0..n {
        let Some(v) = written(p.ops[i]) else { continue };
        if p.ret[i] == NEVER {
            let c = &mut info_first_call[v as usize];
            *c = (*c).min(p.call[i]);
        } else {
            ok_writers[v as usize].push(i as u32);
        }
    }
    // Ops are in invocation order already; keep the running argmax of ret.
    let latest_ret: Vec<Vec<u32>> = ok_writers
        .iter()
        .map(|ws| {
            let mut best: Vec<u32> = Vec::with_capacity(ws.len());
            for (k, &i) in ws.iter().enumerate() {
                let b = match k {
                    0 => i,
                    _ => {
                        let prev = best[k - 1];
                        if p.ret[i as usize] > p.ret[prev as usize] {
                            i
                        } else {
                            prev
                        }
                    }
                };
                best.push(b);
            }
            best
        })
        .collect();

    let mut found: Option<Impossible> = None;
    for r in 0..n {
        let RegisterOp::Read(v) = p.ops[r] else {
            continue;
        };
        let (call, ret) = (p.call[r], p.ret[r]);
        if ret == NEVER
            || found
                .as_ref()
                .is_some_and(|f| p.ret[f.read() as usize] < ret)
        {
            continue;
        }
        // An info writer that may land right before the read.
        if info_first_call[v as usize] < ret {
            continue;
        }
        let ws = &ok_writers[v as usize];
        let candidates = ws.partition_point(|&w| p.call[w as usize] < ret);
        let last_writer = candidates.checked_sub(1).map(|k| latest_ret[v as usize][k]);
        let initial = init == v;
        let read = r as u32;
        let before = changer_ret.partition_point(|&c| c < call);
        let overwriter = before.checked_sub(1).map(|k| latest_call[k]);
        if last_writer.is_none() && !initial {
            // No op could leave v before the read (writers of v, if any,
            // begin after it ended).
            found = Some(Impossible::Garbage { read, overwriter });
            continue;
        }
        let Some(w) = overwriter else {
            continue;
        };
        let dominated = last_writer.is_none_or(|x| p.ret[x as usize] < p.call[w as usize]);
        // The argument above shows the overwriter cannot leave v when every
        // writer is dominated; checked anyway, as a false invalid is the
        // worst bug a checker can have.
        if dominated && written(p.ops[w as usize]) != Some(v) {
            found = Some(Impossible::Overwritten {
                read,
                last_writer,
                writers: candidates,
                initial,
                overwriter: w,
            });
        }
    }
    found
}

/// The counterexample for an impossible read, in the shape the engines' take.
///
/// For an overwritten value, the one prefix holds just the ops that prove
/// it, in the order real time forces: the last writer of the value read,
/// then the op that overwrote it.
pub(crate) fn counterexample(
    history: &History,
    p: &Problem<Register>,
    key: Option<&Value>,
    found: &Impossible,
) -> Counterexample {
    let mut model = p.model.clone();
    let init = model.init();
    let op_ref = |o: u32| OpRef::from_history(history, p.call[o as usize] as usize);
    let read = found.read();
    let RegisterOp::Read(v) = p.ops[read as usize] else {
        unreachable!("an impossible read is a read")
    };
    let failed_op = op_ref(read);
    let mut message = key.map(|k| format!("key {k}: ")).unwrap_or_default();
    message += &format!("{failed_op} cannot be linearized: ");
    let shown = model.show_state(v);
    let cas = p.ops.iter().any(|o| matches!(o, RegisterOp::Cas(..)));
    let what_writes = if cas { "write or cas" } else { "write" };
    // The ops of the one prefix, and the state it leaves.
    let mut ops = Vec::new();
    let mut held = init;
    let mut show_overwriter = |w: Option<u32>, ops: &mut Vec<LinearizedOp>| {
        if let Some(w) = w {
            held = written(p.ops[w as usize]).expect("the overwriter writes");
            ops.push(LinearizedOp {
                op: op_ref(w),
                state_after: model.show_state(held),
            });
        }
    };
    let type_clash = match *found {
        Impossible::Garbage { overwriter, .. } => {
            message += &format!(
                "nothing could have left {shown} in the register: no {what_writes} of {shown} that could precede it, and the register starts at {}",
                model.show_state(init)
            );
            show_overwriter(overwriter, &mut ops);
            // A writer of a value that prints alike but differs in type.
            p.ops
                .iter()
                .filter_map(|&o| written(o))
                .chain([init])
                .find_map(|u| model.type_clash(u, RegisterOp::Read(v)))
        }
        Impossible::Overwritten {
            last_writer,
            writers,
            initial,
            overwriter,
            ..
        } => {
            let w = op_ref(overwriter);
            let also_initial = if initial {
                "the initial value and "
            } else {
                ""
            };
            message += &match last_writer {
                None => format!(
                    "the register started at {shown}, but {w} completed before the read began"
                ),
                Some(x) if writers == 1 => format!(
                    "{also_initial}the only {what_writes} of {shown} that could precede it, {}, had been overwritten before it began: {w} began after it completed, and completed before the read began",
                    op_ref(x)
                ),
                Some(x) => format!(
                    "{also_initial}every {what_writes} of {shown} that could precede it ({writers} ops) had been overwritten before it began: {w} began after the last of them, {}, completed, and completed before the read began",
                    op_ref(x)
                ),
            };
            if let Some(x) = last_writer {
                ops.push(LinearizedOp {
                    op: op_ref(x),
                    state_after: shown.clone(),
                });
            }
            show_overwriter(Some(overwriter), &mut ops);
            model.type_clash(held, RegisterOp::Read(v))
        }
    };
    let reason = model.explain(held, RegisterOp::Read(v));
    message += &format!(" ({reason}");
    // A garbage read of a value that prints like one written: say so even
    // when the register is shown holding another.
    if let Some(c) = &type_clash
        && c.held != model.show_state(held)
    {
        message += &format!(
            "; {} is not {}{}",
            c.found_typed(),
            c.held_typed(),
            c.tail()
        );
    }
    message.push(')');
    let mut prefixes = vec![Prefix {
        ops,
        state: model.show_state(held),
    }];
    let mut unplaceable = vec![Unplaceable {
        op: failed_op.clone(),
        prefix: 0,
        reason,
    }];
    // A garbage read may meet other values too (writes running with it, info
    // writes): the states shown are read as "every order leaves one of
    // these", so list each value a writer that may be last before the read
    // leaves (the latest such writer per value), as the engines list
    // theirs, up to as many.
    if let Impossible::Garbage { overwriter, .. } = *found {
        let ret_r = p.ret[read as usize];
        let after = overwriter.map_or(0, |w| p.call[w as usize]);
        let mut seen = vec![held];
        let mut shown_writers: Vec<u32> = Vec::new();
        for x in (0..p.len() as u32).rev() {
            let Some(u) = written(p.ops[x as usize]) else {
                continue;
            };
            let (c, r) = (p.call[x as usize], p.ret[x as usize]);
            // Invoked before the read ended, and not certainly overwritten.
            if c < ret_r && (r == NEVER || r > after) && !seen.contains(&u) {
                seen.push(u);
                shown_writers.push(x);
            }
        }
        for x in shown_writers.into_iter().take(MAX_PREFIXES - 1) {
            let u = written(p.ops[x as usize]).expect("a writer");
            unplaceable.push(Unplaceable {
                op: failed_op.clone(),
                prefix: prefixes.len(),
                reason: model.explain(u, RegisterOp::Read(v)),
            });
            prefixes.push(Prefix {
                ops: vec![LinearizedOp {
                    op: op_ref(x),
                    state_after: model.show_state(u),
                }],
                state: model.show_state(u),
            });
        }
    }
    Counterexample {
        key: key.cloned(),
        failed_op,
        prefixes,
        unplaceable,
        message,
        type_clash,
    }
}

#[cfg(test)]
mod tests {
    use splitbrain_history::{History, Op, OpType, Process, Value};

    use super::*;
    use crate::problem::{compile, group_by_key};
    use crate::result::LeftOutTally;
    use crate::testing::history;
    use crate::{EngineChoice, Limits, ModelKind, ModelSpec, Verdict, check_linearizable};

    use OpType::{Fail, Info, Invoke, Ok};

    fn int(i: i64) -> Value {
        Value::Int(i)
    }

    fn cas(a: Value, b: Value) -> Value {
        Value::from(vec![a, b])
    }

    /// What the shortcut finds on a single-key history.
    fn find_in(h: &History, cas: bool) -> Option<Impossible> {
        let mut left_out = LeftOutTally::default();
        let (groups, _, _) = group_by_key(h, true, &mut left_out);
        let (parts, _) = compile(h, &groups[0], Register::new(Value::Nil, cas)).unwrap();
        find(&parts[0])
    }

    fn check(h: &History, kind: ModelKind, engine: EngineChoice) -> crate::LinearizabilityResult {
        let limits = Limits {
            engine,
            threads: Some(1),
            ..Limits::default()
        };
        check_linearizable(h, &ModelSpec::new(kind), &limits).unwrap()
    }

    /// The verdict of the automatic choice (which runs the shortcut) and of
    /// each engine alone (which does not) must be the same.
    fn verdict(h: &History, kind: ModelKind) -> Verdict {
        let auto = check(h, kind, EngineChoice::Auto).verdict;
        for e in [EngineChoice::Wgl, EngineChoice::Jit] {
            assert_eq!(check(h, kind, e).verdict, auto, "{e} disagrees with auto");
        }
        auto
    }

    #[test]
    fn planted_stale_read_is_reported_with_its_overwriter() {
        let h = history(&[
            (0, Invoke, "write", int(1)),
            (0, Ok, "write", int(1)),
            (0, Invoke, "write", int(2)),
            (0, Ok, "write", int(2)),
            (1, Invoke, "read", Value::Nil),
            (1, Ok, "read", int(1)),
        ]);
        assert_eq!(
            find_in(&h, false),
            Some(Impossible::Overwritten {
                read: 2,
                last_writer: Some(0),
                writers: 1,
                initial: false,
                overwriter: 1
            })
        );
        let r = check(&h, ModelKind::Register, EngineChoice::Auto);
        assert_eq!(r.verdict, Verdict::Invalid);
        assert_eq!(r.keys[0].engine, None, "decided before the search");
        let cx = r.counterexample.unwrap();
        assert_eq!(cx.failed_op.index, 4);
        assert!(
            cx.message.contains("the only write of 1 that could precede it, process 0's write 1 (op 0), had been overwritten before it began: process 0's write 2 (op 2) began after it completed"),
            "{}",
            cx.message
        );
        let prefix: Vec<(u64, &str)> = cx.prefixes[0]
            .ops
            .iter()
            .map(|o| (o.op.index, o.state_after.as_str()))
            .collect();
        assert_eq!(prefix, [(0, "1"), (2, "2")]);
        assert_eq!(
            cx.unplaceable[0].reason,
            "can't read 1 from a register holding 2"
        );
        assert_eq!(verdict(&h, ModelKind::Register), Verdict::Invalid);
    }

    #[test]
    fn an_info_write_of_the_value_makes_the_read_possible() {
        // The info write of 1 may land after the write of 2, right before the read.
        let h = history(&[
            (2, Invoke, "write", int(1)),
            (0, Invoke, "write", int(1)),
            (0, Ok, "write", int(1)),
            (0, Invoke, "write", int(2)),
            (0, Ok, "write", int(2)),
            (1, Invoke, "read", Value::Nil),
            (2, Info, "write", int(1)),
            (1, Ok, "read", int(1)),
        ]);
        assert_eq!(find_in(&h, false), None);
        assert_eq!(verdict(&h, ModelKind::Register), Verdict::Valid);
        // Invoked during the read, it still may land first: possible.
        let h = history(&[
            (0, Invoke, "write", int(1)),
            (0, Ok, "write", int(1)),
            (0, Invoke, "write", int(2)),
            (0, Ok, "write", int(2)),
            (1, Invoke, "read", Value::Nil),
            (2, Invoke, "write", int(1)),
            (1, Ok, "read", int(1)),
        ]);
        assert_eq!(find_in(&h, false), None);
        assert_eq!(verdict(&h, ModelKind::Register), Verdict::Valid);
        // Invoked only after the read completed, it cannot precede it.
        let h = history(&[
            (0, Invoke, "write", int(1)),
            (0, Ok, "write", int(1)),
            (0, Invoke, "write", int(2)),
            (0, Ok, "write", int(2)),
            (1, Invoke, "read", Value::Nil),
            (1, Ok, "read", int(1)),
            (2, Invoke, "write", int(1)),
        ]);
        assert!(find_in(&h, false).is_some());
        assert_eq!(verdict(&h, ModelKind::Register), Verdict::Invalid);
    }

    #[test]
    fn a_concurrent_overwrite_is_not_reported() {
        // The write of 2 is still running when the read begins.
        let h = history(&[
            (0, Invoke, "write", int(1)),
            (0, Ok, "write", int(1)),
            (0, Invoke, "write", int(2)),
            (1, Invoke, "read", Value::Nil),
            (0, Ok, "write", int(2)),
            (1, Ok, "read", int(1)),
        ]);
        assert_eq!(find_in(&h, false), None);
        assert_eq!(verdict(&h, ModelKind::Register), Verdict::Valid);
        // The write of 1 overlaps the write of 2: 2 may land first.
        let h = history(&[
            (0, Invoke, "write", int(1)),
            (2, Invoke, "write", int(2)),
            (0, Ok, "write", int(1)),
            (2, Ok, "write", int(2)),
            (1, Invoke, "read", Value::Nil),
            (1, Ok, "read", int(1)),
        ]);
        assert_eq!(find_in(&h, false), None);
        assert_eq!(verdict(&h, ModelKind::Register), Verdict::Valid);
        // A later write of 1 runs with the read.
        let h = history(&[
            (0, Invoke, "write", int(1)),
            (0, Ok, "write", int(1)),
            (0, Invoke, "write", int(2)),
            (0, Ok, "write", int(2)),
            (1, Invoke, "read", Value::Nil),
            (0, Invoke, "write", int(1)),
            (0, Ok, "write", int(1)),
            (1, Ok, "read", int(1)),
        ]);
        assert_eq!(find_in(&h, false), None);
        assert_eq!(verdict(&h, ModelKind::Register), Verdict::Valid);
    }

    #[test]
    fn a_garbage_read_is_reported() {
        let h = history(&[
            (0, Invoke, "write", int(1)),
            (1, Invoke, "read", Value::Nil),
            (0, Ok, "write", int(1)),
            (1, Ok, "read", int(3)),
        ]);
        assert_eq!(
            find_in(&h, false),
            Some(Impossible::Garbage {
                read: 1,
                overwriter: None
            })
        );
        let r = check(&h, ModelKind::Register, EngineChoice::Auto);
        let cx = r.counterexample.unwrap();
        assert!(
            cx.message.ends_with("nothing could have left 3 in the register: no write of 3 that could precede it, and the register starts at nil (can't read 3 from a register holding nil)"),
            "{}",
            cx.message
        );
        assert_eq!(cx.prefixes[0].state, "nil");
        assert_eq!(
            cx.unplaceable[0].reason,
            "can't read 3 from a register holding nil"
        );
        assert_eq!(verdict(&h, ModelKind::Register), Verdict::Invalid);
        // A write of 3 invoked only after the read completed does not help.
        let h = history(&[
            (1, Invoke, "read", Value::Nil),
            (1, Ok, "read", int(3)),
            (0, Invoke, "write", int(3)),
            (0, Ok, "write", int(3)),
        ]);
        assert_eq!(
            find_in(&h, false),
            Some(Impossible::Garbage {
                read: 0,
                overwriter: None
            })
        );
        assert_eq!(verdict(&h, ModelKind::Register), Verdict::Invalid);
        // A float 1.0 is not the integer 1: the clash is named.
        let h = history(&[
            (0, Invoke, "write", int(1)),
            (0, Ok, "write", int(1)),
            (1, Invoke, "read", Value::Nil),
            (1, Ok, "read", Value::Float(1.0)),
        ]);
        let cx = check(&h, ModelKind::Register, EngineChoice::Auto)
            .counterexample
            .unwrap();
        assert!(cx.type_clash.is_some(), "{}", cx.message);
    }

    #[test]
    fn the_initial_value_is_a_writer_that_completed_first() {
        // Reading nil after a write completed: stale.
        let h = history(&[
            (0, Invoke, "write", int(1)),
            (0, Ok, "write", int(1)),
            (1, Invoke, "read", Value::Nil),
            (1, Ok, "read", Value::Nil),
        ]);
        assert!(matches!(
            find_in(&h, false),
            Some(Impossible::Overwritten {
                initial: true,
                last_writer: None,
                ..
            })
        ));
        assert_eq!(verdict(&h, ModelKind::Register), Verdict::Invalid);
        // Reading nil while the first write runs: fine.
        let h = history(&[
            (0, Invoke, "write", int(1)),
            (1, Invoke, "read", Value::Nil),
            (0, Ok, "write", int(1)),
            (1, Ok, "read", Value::Nil),
        ]);
        assert_eq!(find_in(&h, false), None);
        assert_eq!(verdict(&h, ModelKind::Register), Verdict::Valid);
        // A model starting at 0: a read of 0 before any write is fine.
        let h = history(&[
            (1, Invoke, "read", Value::Nil),
            (1, Ok, "read", int(0)),
            (0, Invoke, "write", int(1)),
            (0, Ok, "write", int(1)),
        ]);
        let spec = ModelSpec::new(ModelKind::Register).with_initial(int(0));
        let r = check_linearizable(&h, &spec, &Limits::default()).unwrap();
        assert_eq!(r.verdict, Verdict::Valid);
    }

    #[test]
    fn cas_overwrites_when_ok_and_not_when_failed() {
        let ok_cas = history(&[
            (0, Invoke, "write", int(1)),
            (0, Ok, "write", int(1)),
            (0, Invoke, "cas", cas(int(1), int(2))),
            (0, Ok, "cas", cas(int(1), int(2))),
            (1, Invoke, "read", Value::Nil),
            (1, Ok, "read", int(1)),
        ]);
        assert!(find_in(&ok_cas, true).is_some());
        assert_eq!(verdict(&ok_cas, ModelKind::CasRegister), Verdict::Invalid);
        // A failed cas did not happen.
        let failed_cas = history(&[
            (0, Invoke, "write", int(1)),
            (0, Ok, "write", int(1)),
            (0, Invoke, "cas", cas(int(3), int(2))),
            (0, Fail, "cas", cas(int(3), int(2))),
            (1, Invoke, "read", Value::Nil),
            (1, Ok, "read", int(1)),
        ]);
        assert_eq!(find_in(&failed_cas, true), None);
        assert_eq!(verdict(&failed_cas, ModelKind::CasRegister), Verdict::Valid);
        // A cas to the value read is one of its writers, and an info cas to it
        // may land late.
        let info_cas = history(&[
            (0, Invoke, "write", int(2)),
            (0, Ok, "write", int(2)),
            (2, Invoke, "cas", cas(int(2), int(1))),
            (0, Invoke, "write", int(3)),
            (0, Ok, "write", int(3)),
            (0, Invoke, "write", int(2)),
            (0, Ok, "write", int(2)),
            (1, Invoke, "read", Value::Nil),
            (1, Ok, "read", int(1)),
        ]);
        assert_eq!(find_in(&info_cas, true), None);
        assert_eq!(verdict(&info_cas, ModelKind::CasRegister), Verdict::Valid);
    }

    #[test]
    fn every_writer_of_the_value_must_be_overwritten() {
        // Two concurrent writes of 3, both completed before the write of 1.
        let h = history(&[
            (0, Invoke, "write", int(3)),
            (1, Invoke, "write", int(3)),
            (0, Ok, "write", int(3)),
            (1, Ok, "write", int(3)),
            (2, Invoke, "write", int(1)),
            (2, Ok, "write", int(1)),
            (3, Invoke, "read", Value::Nil),
            (3, Ok, "read", int(3)),
        ]);
        let cx = check(&h, ModelKind::Register, EngineChoice::Auto)
            .counterexample
            .unwrap();
        assert!(
            cx.message.contains("every write of 3 that could precede it (2 ops) had been overwritten before it began: process 2's write 1 (op 4) began after the last of them, process 1's write 3 (op 1), completed"),
            "{}",
            cx.message
        );
        assert_eq!(verdict(&h, ModelKind::Register), Verdict::Invalid);
        // One of them overlaps the write of 1: possible.
        let h = history(&[
            (0, Invoke, "write", int(3)),
            (0, Ok, "write", int(3)),
            (2, Invoke, "write", int(1)),
            (1, Invoke, "write", int(3)),
            (2, Ok, "write", int(1)),
            (1, Ok, "write", int(3)),
            (3, Invoke, "read", Value::Nil),
            (3, Ok, "read", int(3)),
        ]);
        assert_eq!(find_in(&h, false), None);
        assert_eq!(verdict(&h, ModelKind::Register), Verdict::Valid);
    }

    #[test]
    fn keys_are_judged_apart() {
        let op = |p, kind, f: &str, v: Value, key: &str| {
            let mut o = Op::new(Process::Client(p), kind, f, v);
            o.key = Some(Value::str(key));
            o
        };
        let mut ops = vec![
            op(0, Invoke, "write", int(1), "a"),
            op(0, Ok, "write", int(1), "a"),
            op(1, Invoke, "read", Value::Nil, "b"),
            op(1, Ok, "read", int(1), "b"),
        ];
        for (i, o) in ops.iter_mut().enumerate() {
            o.index = i as u64;
        }
        let h = History::new(ops).unwrap();
        let r = check(&h, ModelKind::Register, EngineChoice::Auto);
        assert_eq!(r.verdict, Verdict::Invalid);
        let cx = r.counterexample.unwrap();
        assert_eq!(cx.key, Some(Value::str("b")));
        assert!(cx.message.starts_with("key \"b\": "), "{}", cx.message);
        // As one object, the read of 1 is fine.
        let spec = ModelSpec::new(ModelKind::Register).with_independent(false);
        let r = check_linearizable(&h, &spec, &Limits::default()).unwrap();
        assert_eq!(r.verdict, Verdict::Valid);
    }
}
