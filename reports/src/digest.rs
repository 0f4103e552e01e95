//! What the report draws, read once from the history: client calls with their
//! times and outcomes, the nemesis's fault intervals and clock offsets.
//!
//! Times are seconds since the start of the test when every op has a `time`
//! (splitbrain's own histories); otherwise (many Knossos histories) the op's
//! position stands in for time, and charts that need real time are left out.

use std::collections::HashMap;

use splitbrain_history::fault_op::CLOCK_OFFSETS;
use splitbrain_history::{FaultEdge, FaultOp, History, Op, OpType, Process, Value};

use crate::text::value_text;

/// One client call: positions of its invocation and completion in the history.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallRec {
    pub inv: usize,
    pub comp: Option<usize>,
    pub outcome: OpType,
}

/// A fault from `start-<fault>` to the matching `stop-<fault>` (or the end of the history).
#[derive(Debug, Clone)]
pub struct FaultInterval {
    /// `partition`, `kill`, ...
    pub fault: String,
    /// Position of the `start-` op in the history.
    pub start_pos: usize,
    /// Position of the `stop-` op; `None` when the fault was never healed in the history.
    pub end_pos: Option<usize>,
    /// Nodes the fault touched.
    pub nodes: Vec<String>,
    /// The start op's value (topology, grudge, signal, offsets, ...), as text.
    pub detail: String,
    /// The start or stop op's error, when the fault failed part-way.
    pub error: Option<String>,
}

/// Every node's clock offset at one moment (`clock-offsets` op).
#[derive(Debug, Clone)]
pub(crate) struct ClockSample {
    pub pos: usize,
    pub offsets: Vec<(String, f64)>,
}

pub(crate) struct Digest<'h> {
    pub history: &'h History,
    /// Every client op (and nemesis op) has a time.
    pub timed: bool,
    /// Client calls in invocation order.
    pub calls: Vec<CallRec>,
    pub faults: Vec<FaultInterval>,
    pub clocks: Vec<ClockSample>,
    /// History `index` → position, when they differ.
    positions: Option<HashMap<u64, usize>>,
}

impl<'h> Digest<'h> {
    pub fn new(history: &'h History) -> Digest<'h> {
        let ops = history.ops();
        let timed = !ops.is_empty() && ops.iter().all(|o| o.time.is_some());
        let calls = history
            .calls()
            .map(|c| CallRec {
                inv: c.invoke_pos,
                comp: c.complete_pos,
                outcome: c.outcome(),
            })
            .collect();
        let identity = ops.iter().enumerate().all(|(i, o)| o.index == i as u64);
        let positions = (!identity).then(|| {
            ops.iter()
                .enumerate()
                .map(|(i, o)| (o.index, i))
                .collect::<HashMap<_, _>>()
        });
        let (faults, clocks) = nemesis(ops);
        Digest {
            history,
            timed,
            calls,
            faults,
            clocks,
            positions,
        }
    }

    pub fn ops(&self) -> &'h [Op] {
        self.history.ops()
    }

    /// The position in the history of the op whose `index` is `index`.
    pub fn position(&self, index: u64) -> Option<usize> {
        match &self.positions {
            None => ((index as usize) < self.ops().len()).then_some(index as usize),
            Some(m) => m.get(&index).copied(),
        }
    }

    /// Seconds since the start of the test of the op at `pos` (requires `timed`).
    pub fn secs(&self, pos: usize) -> f64 {
        self.ops()[pos].time.unwrap_or(0) as f64 / 1e9
    }

    /// Seconds at the end of the history.
    pub fn end_secs(&self) -> f64 {
        self.ops().iter().filter_map(|o| o.time).max().unwrap_or(0) as f64 / 1e9
    }

    /// Latency of a completed call in milliseconds (requires `timed`).
    pub fn latency_ms(&self, c: &CallRec) -> Option<f64> {
        let comp = c.comp?;
        let ops = self.ops();
        Some((ops[comp].time? - ops[c.inv].time?) as f64 / 1e6)
    }
}

/// Reads the nemesis's ops: fault intervals and clock offset samples.
fn nemesis(ops: &[Op]) -> (Vec<FaultInterval>, Vec<ClockSample>) {
    let mut faults: Vec<FaultInterval> = Vec::new();
    let mut clocks = Vec::new();
    for (pos, op) in ops.iter().enumerate() {
        if op.process != Process::Nemesis {
            continue;
        }
        if &*op.f == CLOCK_OFFSETS {
            if let Value::Map(entries) = &op.value {
                let offsets = entries
                    .iter()
                    .filter_map(|(k, v)| Some((value_text(k), number(v)?)))
                    .collect::<Vec<_>>();
                if !offsets.is_empty() {
                    clocks.push(ClockSample { pos, offsets });
                }
            }
            continue;
        }
        match FaultOp::parse(&op.f) {
            Some(FaultOp {
                edge: FaultEdge::Start,
                fault,
            }) => faults.push(FaultInterval {
                fault: fault.to_string(),
                start_pos: pos,
                end_pos: None,
                nodes: nodes_of(op),
                detail: detail_of(&op.value),
                error: op.error.as_ref().map(value_text),
            }),
            Some(FaultOp {
                edge: FaultEdge::Stop,
                fault,
            }) => {
                // Closes the oldest open interval of the same fault.
                if let Some(open) = faults
                    .iter_mut()
                    .find(|f| f.fault == fault && f.end_pos.is_none())
                {
                    open.end_pos = Some(pos);
                    if open.error.is_none() {
                        open.error = op.error.as_ref().map(value_text);
                    }
                }
            }
            None => {}
        }
    }
    (faults, clocks)
}

/// The nodes a nemesis op names: its value's `nodes`, else its `node` field.
fn nodes_of(op: &Op) -> Vec<String> {
    let list = op.value.get("nodes").or(op.node.as_ref()).map(|v| match v {
        Value::List(l) => l.iter().map(value_text).collect(),
        Value::Nil => Vec::new(),
        other => vec![value_text(other)],
    });
    list.unwrap_or_default()
}

/// A fault's details without the node list (shown on its own).
fn detail_of(v: &Value) -> String {
    match v {
        Value::Map(entries) => entries
            .iter()
            .filter(|(k, _)| k.as_str() != Some("nodes"))
            .map(|(k, v)| format!("{} {}", value_text(k), value_text(v)))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Nil => String::new(),
        other => other.to_string(),
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(x) if x.is_finite() => Some(*x),
        _ => None,
    }
}
