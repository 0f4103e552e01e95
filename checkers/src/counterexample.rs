//! From an engine's failure to a [`Counterexample`] people can read.
//!
//! The engines hand over the configurations alive just before the failing
//! op's completion (their state, their last few linearized ops, the ops still
//! pending). From each, this module also places one or two pending ops to show
//! the other states the object could reach, and checks the failing op against
//! every state: it fits none. All of it is bounded by small constants, so the
//! counterexample's size does not grow with the history.

use splitbrain_history::{History, Value};

use crate::engine::Survivor;
use crate::model::Model;
use crate::problem::Problem;
use crate::result::{Counterexample, LinearizedOp, OpRef, Prefix, Unplaceable};

/// Prefixes a counterexample shows at most (the engines' and the impossible-read shortcut's).
pub(crate) const MAX_PREFIXES: usize = 6;
const MAX_UNPLACEABLE: usize = 32;
/// Survivors looked at, and pending ops placed after each.
const MAX_SURVIVORS: usize = 8;
const EXTEND_DEPTH: usize = 2;

struct Candidate<S> {
    ops: Vec<(u32, S)>,
    state: S,
    pending: Vec<u32>,
}

pub(crate) fn build<M: Model>(
    history: &History,
    p: &Problem<M>,
    mut model: M,
    key: Option<&Value>,
    x: u32,
    survivors: &[Survivor<M::State>],
) -> Counterexample {
    let xop = p.ops[x as usize];
    let op_ref = |o: u32| OpRef::from_history(history, p.call[o as usize] as usize);

    // Each survivor as it is, then extended by placing pending ops.
    let mut found: Vec<Candidate<M::State>> = Vec::new();
    let mut seen_states: Vec<M::State> = Vec::new();
    for s in survivors.iter().take(MAX_SURVIVORS) {
        if found.len() >= MAX_PREFIXES || seen_states.contains(&s.state) {
            continue;
        }
        seen_states.push(s.state);
        found.push(Candidate {
            ops: s.trail.clone(),
            state: s.state,
            pending: s.pending.clone(),
        });
    }
    let mut frontier: Vec<usize> = (0..found.len()).collect();
    for _ in 0..EXTEND_DEPTH {
        let mut grown = Vec::new();
        for &ci in &frontier {
            let pending = found[ci].pending.clone();
            for &y in &pending {
                if found.len() >= MAX_PREFIXES {
                    break;
                }
                if y == x || p.read_only[y as usize] {
                    continue;
                }
                let Some(s2) = model.step(found[ci].state, p.ops[y as usize]) else {
                    continue;
                };
                if seen_states.contains(&s2) || model.step(s2, xop).is_some() {
                    continue;
                }
                seen_states.push(s2);
                let mut ops = found[ci].ops.clone();
                ops.push((y, s2));
                let rest = found[ci]
                    .pending
                    .iter()
                    .copied()
                    .filter(|&z| z != y)
                    .collect();
                found.push(Candidate {
                    ops,
                    state: s2,
                    pending: rest,
                });
                grown.push(found.len() - 1);
            }
        }
        frontier = grown;
    }

    let mut prefixes = Vec::new();
    let mut unplaceable = Vec::new();
    for (i, c) in found.iter().enumerate() {
        prefixes.push(Prefix {
            ops: c
                .ops
                .iter()
                .map(|&(o, s)| LinearizedOp {
                    op: op_ref(o),
                    state_after: model.show_state(s),
                })
                .collect(),
            state: model.show_state(c.state),
        });
        if unplaceable.len() < MAX_UNPLACEABLE {
            unplaceable.push(Unplaceable {
                op: op_ref(x),
                prefix: i,
                reason: model.explain(c.state, xop),
            });
        }
        for &y in &c.pending {
            if unplaceable.len() >= MAX_UNPLACEABLE {
                break;
            }
            if y != x && model.step(c.state, p.ops[y as usize]).is_none() {
                unplaceable.push(Unplaceable {
                    op: op_ref(y),
                    prefix: i,
                    reason: model.explain(c.state, p.ops[y as usize]),
                });
            }
        }
    }

    let failed_op = op_ref(x);
    let states: Vec<String> = found.iter().map(|c| model.show_state(c.state)).collect();
    let mut message = String::new();
    if let Some(k) = key {
        message += &format!("key {k}: ");
    }
    message += &format!("{failed_op} cannot be linearized");
    if !states.is_empty() {
        message += &format!(
            ": every order of the operations before its completion leaves the {} in state {} ({})",
            model.object(),
            join_or(&states),
            model.explain(found[0].state, xop)
        );
    }
    let type_clash = found.first().and_then(|c| model.type_clash(c.state, xop));
    Counterexample {
        key: key.cloned(),
        failed_op,
        prefixes,
        unplaceable,
        message,
        type_clash,
    }
}

/// `a`, `a or b`, `a, b or c`.
fn join_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [a] => a.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}
