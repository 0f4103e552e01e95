//! [`History`]: a validated sequence of ops with each invocation paired to its completion.

use std::collections::HashMap;

use crate::{Op, OpType, Process};

/// What is wrong with a sequence of ops, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}op {index}: {problem}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct ValidationError {
    /// Position of the offending op in the sequence.
    pub index: usize,
    /// 1-based source line of the offending op, when the codec knows it.
    pub line: Option<usize>,
    pub problem: String,
}

/// A history: ops in the order they happened, each client invocation paired with
/// its completion (or with none, if the history ends first: such an op is
/// indeterminate, like `info`).
///
/// Invariants checked by [`History::new`]:
/// - a completion follows an open invocation on the same process, with the same `f`;
/// - a process has at most one open invocation;
/// - a process that completed with `info` never invokes again.
///
/// Nemesis ops are not paired: they are kept as they
/// are (Jepsen's nemesis writes `info` ops) and checkers skip them.
#[derive(Debug, Clone, Default)]
pub struct History {
    ops: Vec<Op>,
    /// For each op: the position of its partner (completion for an invoke,
    /// invocation for a completion), `u32::MAX` for none.
    partner: Vec<u32>,
}

const NONE: u32 = u32::MAX;

impl History {
    /// Validates and pairs `ops`. `lines[i]`, when given, is the source line of
    /// `ops[i]`, used in error messages.
    pub fn new(ops: Vec<Op>) -> Result<History, ValidationError> {
        History::with_lines(ops, None)
    }

    pub fn with_lines(ops: Vec<Op>, lines: Option<&[usize]>) -> Result<History, ValidationError> {
        if ops.len() >= NONE as usize {
            return Err(ValidationError {
                index: NONE as usize,
                line: None,
                problem: format!("a history holds at most {} ops", NONE - 1),
            });
        }
        let err = |i: usize, problem: String| ValidationError {
            index: i,
            line: lines.and_then(|l| l.get(i).copied()),
            problem,
        };
        // Where an earlier op is: its source line when known, else its position.
        let at = |j: usize| match lines.and_then(|l| l.get(j)) {
            Some(line) => format!("line {line}"),
            None => format!("op {j}"),
        };
        let mut partner = vec![NONE; ops.len()];
        // Open invocation per process; processes that crashed (info).
        let mut open: HashMap<u64, usize> = HashMap::new();
        let mut crashed: HashMap<u64, usize> = HashMap::new();
        for (i, op) in ops.iter().enumerate() {
            let Process::Client(p) = op.process else {
                continue;
            };
            match op.kind {
                OpType::Invoke => {
                    if let Some(&prev) = open.get(&p) {
                        return Err(err(
                            i,
                            format!(
                                "process {p} invokes {} while its {} invoked at {} is still open; a process runs one op at a time",
                                op.f,
                                ops[prev].f,
                                at(prev)
                            ),
                        ));
                    }
                    if let Some(&c) = crashed.get(&p) {
                        return Err(err(
                            i,
                            format!(
                                "process {p} invokes {} after its op at {} ended with info; a process whose outcome is unknown must not be reused (use a fresh process id)",
                                op.f,
                                at(c)
                            ),
                        ));
                    }
                    open.insert(p, i);
                }
                kind => {
                    let Some(inv) = open.remove(&p) else {
                        return Err(err(
                            i,
                            format!(
                                "{kind} of {} on process {p} has no open invocation; expected an invoke of {} on process {p} before it",
                                op.f, op.f
                            ),
                        ));
                    };
                    if ops[inv].f != op.f {
                        return Err(err(
                            i,
                            format!(
                                "{kind} of {} on process {p} completes an invocation of {} (at {}); expected the same function",
                                op.f,
                                ops[inv].f,
                                at(inv)
                            ),
                        ));
                    }
                    partner[i] = inv as u32;
                    partner[inv] = i as u32;
                    if kind == OpType::Info {
                        crashed.insert(p, i);
                    }
                }
            }
        }
        Ok(History { ops, partner })
    }

    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    pub fn into_ops(self) -> Vec<Op> {
        self.ops
    }

    /// The position of the completion of the invocation at `i`, if it completed.
    pub fn completion(&self, i: usize) -> Option<usize> {
        if self.ops[i].kind != OpType::Invoke {
            return None;
        }
        let p = self.partner[i];
        (p != NONE).then_some(p as usize)
    }

    /// The position of the invocation that the completion at `i` completes.
    pub fn invocation(&self, i: usize) -> Option<usize> {
        if self.ops[i].kind == OpType::Invoke {
            return None;
        }
        let p = self.partner[i];
        (p != NONE).then_some(p as usize)
    }

    /// Every client operation as an (invocation, completion) pair, in invocation order.
    pub fn calls(&self) -> impl Iterator<Item = Call<'_>> + '_ {
        self.ops
            .iter()
            .enumerate()
            .filter(|(_, op)| op.is_invoke() && op.is_client())
            .map(move |(i, op)| Call {
                invoke: op,
                complete: self.completion(i).map(|c| &self.ops[c]),
                invoke_pos: i,
                complete_pos: self.completion(i),
            })
    }
}

/// One client operation: its invocation and, unless the history ended first, its completion.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub invoke: &'a Op,
    pub complete: Option<&'a Op>,
    /// Positions of the two in [`History::ops`].
    pub invoke_pos: usize,
    pub complete_pos: Option<usize>,
}

impl Call<'_> {
    /// The outcome: `ok`, `fail`, or `info` (also for a call that never completed).
    pub fn outcome(&self) -> OpType {
        self.complete.map_or(OpType::Info, |c| c.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;

    fn op(p: u64, kind: OpType, f: &str, v: i64) -> Op {
        Op::new(Process::Client(p), kind, f, Value::Int(v))
    }

    #[test]
    fn pairs_invocations_with_completions() {
        let h = History::new(vec![
            op(0, OpType::Invoke, "write", 1),
            op(1, OpType::Invoke, "read", 0),
            op(0, OpType::Ok, "write", 1),
        ])
        .unwrap();
        assert_eq!(h.completion(0), Some(2));
        assert_eq!(h.invocation(2), Some(0));
        assert_eq!(h.completion(1), None);
        let outcomes: Vec<_> = h.calls().map(|c| c.outcome()).collect();
        assert_eq!(outcomes, vec![OpType::Ok, OpType::Info]);
    }

    #[test]
    fn rejects_completion_without_invocation() {
        let e = History::with_lines(vec![op(0, OpType::Ok, "write", 1)], Some(&[7])).unwrap_err();
        assert_eq!(e.line, Some(7));
        assert!(e.to_string().contains("no open invocation"), "{e}");
    }

    #[test]
    fn rejects_two_open_invocations() {
        let e = History::new(vec![
            op(0, OpType::Invoke, "write", 1),
            op(0, OpType::Invoke, "read", 0),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("still open"), "{e}");
    }

    #[test]
    fn rejects_reuse_after_info() {
        let e = History::new(vec![
            op(0, OpType::Invoke, "write", 1),
            op(0, OpType::Info, "write", 1),
            op(0, OpType::Invoke, "read", 0),
        ])
        .unwrap_err();
        assert_eq!(e.index, 2);
        assert!(e.to_string().contains("must not be reused"), "{e}");
    }
}
