//! What a check answers: verdicts, per-key results and counterexamples.
//!
//! Everything here is serde-serializable: it is what `results.json` holds and
//! what the HTML report draws. Ops are referred to by their history `index`
//! plus enough of the op (process, f, value, times) to draw it without the
//! history at hand.

use std::fmt;

use serde::{Deserialize, Serialize};
use splitbrain_history::{History, OpType, Process, Value};

use crate::equality::TypeClash;

/// The answer of a checker.
///
/// `Unknown` means the checker ran out of time or memory (or was asked to
/// stop) before it could decide; it is never a disguised `Valid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Valid,
    Invalid,
    Unknown,
}

impl Verdict {
    /// The worse of two verdicts: invalid beats unknown beats valid. Combines
    /// the answers for several keys or files.
    pub fn worst(self, other: Verdict) -> Verdict {
        fn rank(v: Verdict) -> u8 {
            match v {
                Verdict::Valid => 0,
                Verdict::Unknown => 1,
                Verdict::Invalid => 2,
            }
        }
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Invalid => "invalid",
            Verdict::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The search engine that reached an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// Wing–Gong–Lowe depth-first search with a memo.
    Wgl,
    /// Lowe's just-in-time sweep over configurations.
    Jit,
}

impl Engine {
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Wgl => "wgl",
            Engine::Jit => "jit",
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of [`check_linearizable`](crate::check_linearizable).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinearizabilityResult {
    /// The worst verdict over all keys.
    pub verdict: Verdict,
    /// The model checked against (`cas-register`, ...).
    pub model: String,
    /// One entry per key (a single entry with `key: null` for a single-object
    /// history), in order of first appearance in the history.
    pub keys: Vec<KeyResult>,
    /// For an invalid history: why, for the first invalid key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counterexample: Option<Counterexample>,
    /// For an unknown verdict: what ran out (time, memory, ...), or that there
    /// was nothing to check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown_reason: Option<String>,
    /// For an unknown verdict: the cause, for scripts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown_cause: Option<UnknownCause>,
    /// History entries the check left out, and why (nemesis ops, failed
    /// calls, info reads, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<LeftOut>,
    pub stats: Stats,
}

/// The answer for one key of a multi-key (independent) history.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyResult {
    pub key: Option<Value>,
    pub verdict: Verdict,
    /// Operations of this key that constrain the check (after dropping `fail`
    /// ops and `info` reads).
    pub ops: u64,
    /// Independent parts the key split into (e.g. disjoint registers of a
    /// multi-register); usually 1.
    pub parts: u32,
    /// The engine whose answer counted; `None` when there was nothing to search,
    /// or a read impossible by itself decided before any search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<Engine>,
    pub elapsed_ms: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown_cause: Option<UnknownCause>,
}

/// Counters for the curious and for tuning.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Stats {
    /// Wall-clock time of the whole check.
    pub elapsed_ms: f64,
    /// Client operations in the history (invocations).
    pub calls: u64,
    /// Of those, dropped before the search: `fail` ops and `info` reads.
    pub dropped: u64,
    pub keys: u64,
    pub parts: u64,
    /// Configurations the engines visited (memo entries, configuration-set entries).
    pub configurations: u64,
    /// The highest number of bytes the engines held in memo tables and
    /// configuration sets at once (an estimate, not including the history).
    pub peak_memory_bytes: u64,
    /// The most heap the whole process had live during the check (history
    /// included), measured by the counting allocator; absent without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_heap_bytes: Option<u64>,
    pub threads: u64,
}

/// Why a check answered unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnknownCause {
    /// The time limit.
    Time,
    /// The memory limit.
    Memory,
    /// More ops pending at once than the JIT engine can represent.
    TooConcurrent,
    /// Stopped before deciding (a step budget, or the caller gave up).
    Cancelled,
    /// Too little to judge: no client operation left to check.
    NoEvidence,
}

/// Why a checker left history entries out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LeftOutReason {
    /// Ops of the nemesis: faults, not client operations.
    Nemesis,
    /// Calls that failed: they certainly did not take effect.
    Failed,
    /// Calls whose result is unknown and that change nothing (`info` reads):
    /// they constrain nothing.
    UnknownRead,
    /// Calls of a function the checker does not know (`name`).
    NotInModel,
    /// Reads the checker does not judge: the set's reads before its last add.
    NotFinal,
    /// Calls whose outcome is unknown (`info`, or never completed) and that the
    /// checker cannot use: a unique-ids `generate` whose id nobody saw.
    UnknownOutcome,
}

/// How many history entries a checker left out for one reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftOut {
    pub reason: LeftOutReason,
    /// Client calls (an invocation and its completion count once); for the
    /// nemesis, history entries (Jepsen's ops: it writes some as two).
    pub count: u64,
    /// The function, for `not-in-model`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl LeftOut {
    /// `12 nemesis ops`, `3 ops with f=`generate` not in the model`.
    pub fn describe(&self) -> String {
        let n = self.count;
        let ops = if n == 1 { "op" } else { "ops" };
        let name = self.name.as_deref().unwrap_or("?");
        match self.reason {
            LeftOutReason::Nemesis => format!("{n} nemesis {ops}"),
            LeftOutReason::Failed => format!("{n} failed {ops}"),
            LeftOutReason::UnknownRead => {
                format!("{n} info read{}", if n == 1 { "" } else { "s" })
            }
            LeftOutReason::NotInModel => format!("{n} {ops} with f=`{name}` not in the model"),
            LeftOutReason::UnknownOutcome => format!("{n} {ops} with unknown outcome"),
            LeftOutReason::NotFinal => {
                format!(
                    "{n} read{} before the last add",
                    if n == 1 { "" } else { "s" }
                )
            }
        }
    }

    /// "12 nemesis ops and 3 ops with f=`generate` not in the model left out";
    /// `None` when nothing was.
    pub fn summary(left_out: &[LeftOut]) -> Option<String> {
        let parts: Vec<String> = left_out
            .iter()
            .filter(|l| l.count > 0)
            .map(LeftOut::describe)
            .collect();
        match parts.as_slice() {
            [] => None,
            [one] => Some(format!("{one} left out")),
            [rest @ .., last] => Some(format!("{} and {last} left out", rest.join(", "))),
        }
    }
}

/// Tallies left-out entries by reason and name, in a stable order.
#[derive(Debug, Default)]
pub(crate) struct LeftOutTally {
    counts: std::collections::BTreeMap<(LeftOutReason, Option<String>), u64>,
}

impl LeftOutTally {
    pub fn add(&mut self, reason: LeftOutReason, name: Option<&str>, n: u64) {
        if n > 0 {
            *self
                .counts
                .entry((reason, name.map(str::to_string)))
                .or_default() += n;
        }
    }

    /// A history entry of a process that is not a client: the nemesis.
    pub fn non_client(&mut self) {
        self.add(LeftOutReason::Nemesis, None, 1);
    }

    /// Every non-client entry of `history`.
    pub fn non_clients(&mut self, history: &History) {
        let n = history.ops().iter().filter(|o| !o.is_client()).count();
        self.add(LeftOutReason::Nemesis, None, n as u64);
    }

    pub fn into_vec(self) -> Vec<LeftOut> {
        self.counts
            .into_iter()
            .map(|((reason, name), count)| LeftOut {
                reason,
                count,
                name,
            })
            .collect()
    }
}

/// A reference to one operation, enough to draw it without the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpRef {
    /// The `index` of the invocation.
    pub index: u64,
    /// The `index` of the completion, if the op completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complete_index: Option<u64>,
    pub process: Process,
    pub f: String,
    /// What the op returned (ok), or what it was invoked with (info).
    pub value: Value,
    /// `ok` or `info` (`info` also for an op the history never completed).
    #[serde(rename = "type")]
    pub outcome: OpType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoke_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complete_time: Option<i64>,
}

impl OpRef {
    /// The op invoked at position `invoke_pos` of `history`.
    pub fn from_history(history: &History, invoke_pos: usize) -> OpRef {
        let ops = history.ops();
        let inv = &ops[invoke_pos];
        let comp = history.completion(invoke_pos).map(|c| &ops[c]);
        let outcome = comp.map_or(OpType::Info, |c| c.kind);
        let value = match comp {
            Some(c) if c.kind == OpType::Ok => c.value.clone(),
            _ => inv.value.clone(),
        };
        OpRef {
            index: inv.index,
            complete_index: comp.map(|c| c.index),
            process: inv.process.clone(),
            f: inv.f.to_string(),
            value,
            outcome,
            invoke_time: inv.time,
            complete_time: comp.and_then(|c| c.time),
        }
    }

    /// Jepsen-style short form: `read 3`, `cas [1 2]`, `write 4 (info)`,
    /// `acquire` (a nil value is left out, except where it is a result).
    pub fn describe(&self) -> String {
        let result_nil = matches!(self.f.as_str(), "read" | "dequeue");
        let mut s = if self.value.is_nil() && !result_nil {
            self.f.clone()
        } else {
            format!("{} {}", self.f, crate::equality::shown(&self.value))
        };
        if self.outcome == OpType::Info {
            s.push_str(" (info)");
        }
        s
    }
}

impl fmt::Display for OpRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "process {}'s {} (op {})",
            self.process,
            self.describe(),
            self.index
        )
    }
}

/// Why a history is not linearizable, small enough to print and draw.
///
/// Its size depends on the operations around the failure, never on the length
/// of the history: at most a few prefixes of bounded length and a bounded list
/// of unplaceable ops.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Counterexample {
    pub key: Option<Value>,
    /// The op that no linearization can fit: by its completion, every order of
    /// the operations before it has left the object in a state where it fails.
    pub failed_op: OpRef,
    /// The longest linearizable prefixes reached, each shown by its most recent
    /// ops (older ones are implied) and the state it leaves.
    pub prefixes: Vec<Prefix>,
    /// Ops that could not be placed next after a prefix, with the reason.
    pub unplaceable: Vec<Unplaceable>,
    /// One sentence for humans.
    pub message: String,
    /// When the failed op fits no state only because values that look the
    /// same differ in type (a read of `1.0`, a register holding `1`): which is which.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_clash: Option<TypeClash>,
}

/// A linearizable prefix: its last few ops in linearization order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Prefix {
    pub ops: Vec<LinearizedOp>,
    /// The model state after the prefix, as text.
    pub state: String,
}

/// One op of a prefix and the model state right after it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinearizedOp {
    pub op: OpRef,
    pub state_after: String,
}

/// An op that could not be placed after prefix number `prefix`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Unplaceable {
    pub op: OpRef,
    /// Index into [`Counterexample::prefixes`].
    pub prefix: usize,
    pub reason: String,
}
