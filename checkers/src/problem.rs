//! From a [`History`] to search problems: one per key and independent part,
//! with every call compiled to the model's compact op.
//!
//! Dropped on the way, because they cannot constrain anything: `fail` calls
//! (they certainly did not happen) and calls the model compiles to nothing
//! (`info` reads). Calls that never completed are `info`.

use std::collections::HashMap;

use splitbrain_history::{History, OpType, Process, Value};

use crate::model::{CallView, Model, Outcome};
use crate::result::LeftOutTally;

/// "Never returns": the return position of an `info` op.
pub(crate) const NEVER: u32 = u32::MAX;

/// A call that does not fit the model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    #[error("op {index} (process {process}, {f}): {message}")]
    BadOp {
        /// The invocation's `index` field.
        index: u64,
        /// Its position in the history (to map back to a source line).
        position: usize,
        process: Process,
        f: String,
        message: String,
    },
}

/// One independent object's calls, compiled, in invocation order.
///
/// Op ids are dense (0..n) and ordered by invocation; real time is history
/// position: `a` precedes `b` iff `ret[a] < call[b]`.
pub(crate) struct Problem<M: Model> {
    pub model: M,
    pub ops: Vec<M::Op>,
    /// Identical ops (same f, input and output) share a class.
    pub class: Vec<u32>,
    pub classes: usize,
    pub read_only: Vec<bool>,
    /// Invocation position in the history.
    pub call: Vec<u32>,
    /// Completion position, or [`NEVER`] for `info` ops.
    pub ret: Vec<u32>,
}

impl<M: Model> Problem<M> {
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_info(&self, op: u32) -> bool {
        self.ret[op as usize] == NEVER
    }

    /// Ops that completed `ok`: the evidence (info ops alone constrain nothing).
    pub fn ok_ops(&self) -> usize {
        self.ret.iter().filter(|&&r| r != NEVER).count()
    }
}

/// A key's calls (history positions of their invocations), before compiling.
pub(crate) struct KeyCalls {
    pub key: Option<Value>,
    pub invocations: Vec<u32>,
}

/// Groups client calls by key (or all into one group), in order of first
/// appearance; `fail` calls are left out and counted, and so are the ops of
/// the nemesis and other non-client processes (in `left_out`).
pub(crate) fn group_by_key(
    history: &History,
    independent: bool,
    left_out: &mut LeftOutTally,
) -> (Vec<KeyCalls>, u64, u64) {
    let ops = history.ops();
    let mut groups: Vec<KeyCalls> = Vec::new();
    let mut index: HashMap<&Value, usize> = HashMap::new();
    let mut unkeyed: Option<usize> = None;
    let (mut calls, mut failed) = (0u64, 0u64);
    for (pos, op) in ops.iter().enumerate() {
        if !op.is_client() {
            left_out.non_client();
            continue;
        }
        if op.kind != OpType::Invoke {
            continue;
        }
        calls += 1;
        if let Some(c) = history.completion(pos)
            && ops[c].kind == OpType::Fail
        {
            failed += 1;
            continue;
        }
        let key = if independent { op.key.as_ref() } else { None };
        let g = match key {
            None => *unkeyed.get_or_insert_with(|| {
                groups.push(KeyCalls {
                    key: None,
                    invocations: Vec::new(),
                });
                groups.len() - 1
            }),
            Some(k) => *index.entry(k).or_insert_with(|| {
                groups.push(KeyCalls {
                    key: Some(k.clone()),
                    invocations: Vec::new(),
                });
                groups.len() - 1
            }),
        };
        groups[g].invocations.push(pos as u32);
    }
    (groups, calls, failed)
}

/// Compiles one key's calls and splits them into independent parts.
/// Returns the parts and the number of calls the model dropped.
pub(crate) fn compile<M: Model>(
    history: &History,
    calls: &KeyCalls,
    mut model: M,
) -> Result<(Vec<Problem<M>>, u64), CheckError> {
    let hops = history.ops();
    let mut compiled: Vec<(M::Op, u32, u32)> = Vec::with_capacity(calls.invocations.len());
    let mut dropped = 0u64;
    for &pos in &calls.invocations {
        let inv = &hops[pos as usize];
        let comp = history.completion(pos as usize);
        let ok = comp.filter(|&c| hops[c].kind == OpType::Ok);
        let view = CallView {
            f: &inv.f,
            invoke: &inv.value,
            complete: ok.map(|c| &hops[c].value),
            outcome: if ok.is_some() {
                Outcome::Ok
            } else {
                Outcome::Info
            },
        };
        match model.compile(&view) {
            Err(message) => {
                return Err(CheckError::BadOp {
                    index: inv.index,
                    position: pos as usize,
                    process: inv.process.clone(),
                    f: inv.f.to_string(),
                    message,
                });
            }
            Ok(None) => dropped += 1,
            Ok(Some(op)) => {
                let ret = ok.map_or(NEVER, |c| c as u32);
                compiled.push((op, pos, ret));
            }
        }
    }

    // P-compositionality inside a key: union the parts each op touches.
    let mut touched = Vec::new();
    let mut parent: HashMap<u32, u32> = HashMap::new();
    fn find(parent: &mut HashMap<u32, u32>, x: u32) -> u32 {
        let p = *parent.entry(x).or_insert(x);
        if p == x {
            return x;
        }
        let r = find(parent, p);
        parent.insert(x, r);
        r
    }
    let mut op_part: Vec<Option<u32>> = Vec::with_capacity(compiled.len());
    let mut single = true;
    for &(op, _, _) in &compiled {
        touched.clear();
        model.parts(op, &mut touched);
        if touched.iter().any(|&p| p != 0) {
            single = false;
        }
        let first = touched.first().map(|&p| find(&mut parent, p));
        if let Some(r0) = first {
            for &p in &touched[1..] {
                let r = find(&mut parent, p);
                if r != r0 {
                    parent.insert(r, r0);
                }
            }
        }
        op_part.push(first);
    }
    let mut parts: Vec<Vec<usize>> = Vec::new();
    if single {
        parts.push((0..compiled.len()).collect());
    } else {
        let mut part_of_root: HashMap<u32, usize> = HashMap::new();
        for (i, p) in op_part.iter().enumerate() {
            // An op touching no part (an empty txn) constrains nothing.
            let Some(p) = *p else { continue };
            let root = find(&mut parent, p);
            let idx = *part_of_root.entry(root).or_insert_with(|| {
                parts.push(Vec::new());
                parts.len() - 1
            });
            parts[idx].push(i);
        }
    }

    let problems = parts
        .into_iter()
        .map(|members| {
            let mut classes: HashMap<M::Op, u32> = HashMap::new();
            let n = members.len();
            let mut p = Problem {
                model: model.clone(),
                ops: Vec::with_capacity(n),
                class: Vec::with_capacity(n),
                classes: 0,
                read_only: Vec::with_capacity(n),
                call: Vec::with_capacity(n),
                ret: Vec::with_capacity(n),
            };
            for i in members {
                let (op, pos, ret) = compiled[i];
                let next = classes.len() as u32;
                p.class.push(*classes.entry(op).or_insert(next));
                p.read_only.push(model.is_read_only(op));
                p.ops.push(op);
                p.call.push(pos);
                p.ret.push(ret);
            }
            p.classes = classes.len();
            p
        })
        .collect();
    Ok((problems, dropped))
}
