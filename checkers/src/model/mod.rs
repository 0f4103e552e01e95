//! Models: the sequential specifications histories are checked against.
//!
//! A [`Model`] turns each call of a history into a compact op once (values
//! interned to small integers), and then the engines only ever step compact
//! states with compact ops: a register's state is a `u32`, a set's is the id of
//! an interned set. States are `Copy`, hash and compare in a few instructions,
//! and stepping allocates nothing once a transition has been seen.
//!
//! Models are cloned per engine thread; interning tables travel with the clone,
//! so no locks are needed.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use splitbrain_history::Value;

use crate::equality::{TypeClash, shown};

mod multi_register;
mod mutex;
mod queue;
mod register;
mod set;

pub use multi_register::MultiRegister;
pub use mutex::Mutex;
pub use queue::FifoQueue;
pub use register::Register;
pub(crate) use register::RegisterOp;
pub use set::SetModel;

/// How a call ended, as far as a model cares (`fail` calls are dropped before).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The op took effect; its completion value is its result.
    Ok,
    /// Unknown: it may have taken effect at any time after its invocation, or never.
    Info,
}

/// One call of a history as a model sees it while compiling.
#[derive(Debug, Clone, Copy)]
pub struct CallView<'a> {
    pub f: &'a str,
    /// The invocation's value.
    pub invoke: &'a Value,
    /// The completion's value (`None` for info and never-completed calls).
    pub complete: Option<&'a Value>,
    pub outcome: Outcome,
}

impl<'a> CallView<'a> {
    /// The value an op acted with: the completion's for an ok op that echoes a
    /// value, else the invocation's. (Clients often echo writes as `ok` with the
    /// same value, sometimes with `nil`.)
    pub fn argument(&self) -> &'a Value {
        match self.complete {
            Some(v) if self.outcome == Outcome::Ok && !v.is_nil() => v,
            _ => self.invoke,
        }
    }
}

/// A sequential specification, compiled for fast search.
///
/// Soundness rests on three promises:
/// - `step` is deterministic;
/// - `is_read_only(op)` implies `step(s, op)` is `Some(s)` or `None` for every `s`
///   (the engines then commit the op greedily wherever it fits);
/// - two ops that compare equal behave identically (the engines try only the
///   earliest-returning of identical pending ops).
pub trait Model: Clone + Send + Sync + 'static {
    // 'static: a compiled problem can be downcast to a concrete model's
    // (the register-only shortcut before the search).
    type State: Copy + Eq + Hash + Send + Sync + fmt::Debug + 'static;
    type Op: Copy + Eq + Hash + Send + Sync + fmt::Debug + 'static;

    /// The object's name in messages: "register", "lock", ...
    fn object(&self) -> &'static str;

    /// Compiles one call. `Ok(None)`: the call constrains nothing (an `info`
    /// read) and is dropped. `Err`: the call does not fit the model; the
    /// message says what was expected.
    fn compile(&mut self, call: &CallView) -> Result<Option<Self::Op>, String>;

    /// The independent parts of the object an op touches (P-compositionality):
    /// ops touching disjoint parts are checked separately. Most models are one
    /// part; a multi-register's parts are its registers.
    fn parts(&self, _op: Self::Op, out: &mut Vec<u32>) {
        out.push(0);
    }

    fn init(&mut self) -> Self::State;

    /// The state after `op`, or `None` if `op` cannot happen in `state`.
    fn step(&mut self, state: Self::State, op: Self::Op) -> Option<Self::State>;

    fn is_read_only(&self, op: Self::Op) -> bool;

    /// A cheap hash of a state (states are small integers or interned ids).
    fn hash_state(&self, state: Self::State) -> u64;

    /// The state as users read it: `4`, `held`, `[1 2]`.
    fn show_state(&self, state: Self::State) -> String;

    /// Why `op` cannot happen in `state`, e.g. "can't read 3 from a register holding 4".
    fn explain(&mut self, state: Self::State, op: Self::Op) -> String;

    /// When `op` fails in `state` only because values that look the same
    /// differ in type (a read of `1.0` from a register holding `1`), that pair:
    /// explanations must then say which is which.
    fn type_clash(&mut self, _state: Self::State, _op: Self::Op) -> Option<TypeClash> {
        None
    }

    /// Whether the states reachable by any sequence of the compiled ops are
    /// finitely many (a register only ever holds values the history names; a
    /// queue can grow without end). Only then may the JIT engine try its
    /// relaxed pass, where each info op may take effect any number of times.
    fn finite_states(&self) -> bool {
        false
    }

    /// Bytes held by tables that grow during the search (interned states,
    /// memoized transitions), counted against the memory budget.
    fn memory_bytes(&self) -> u64 {
        0
    }
}

/// The models `splitbrain check --model` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// `read`, `write`.
    Register,
    /// `read`, `write`, `cas [old new]`.
    CasRegister,
    /// `acquire`, `release`.
    Mutex,
    /// `txn [[read k v] [write k v] ...]`.
    MultiRegister,
    /// `add x`, `read` returning the whole set.
    Set,
    /// `enqueue x`, `dequeue` returning x.
    FifoQueue,
}

impl ModelKind {
    pub const ALL: [ModelKind; 6] = [
        ModelKind::Register,
        ModelKind::CasRegister,
        ModelKind::Mutex,
        ModelKind::MultiRegister,
        ModelKind::Set,
        ModelKind::FifoQueue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::Register => "register",
            ModelKind::CasRegister => "cas-register",
            ModelKind::Mutex => "mutex",
            ModelKind::MultiRegister => "multi-register",
            ModelKind::Set => "set",
            ModelKind::FifoQueue => "fifo-queue",
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ModelKind {
    type Err = String;
    fn from_str(s: &str) -> Result<ModelKind, String> {
        match s {
            "register" => Ok(ModelKind::Register),
            "cas-register" | "cas" => Ok(ModelKind::CasRegister),
            "mutex" | "lock" => Ok(ModelKind::Mutex),
            "multi-register" => Ok(ModelKind::MultiRegister),
            "set" => Ok(ModelKind::Set),
            "fifo-queue" | "queue" => Ok(ModelKind::FifoQueue),
            _ => Err(format!(
                "unknown model `{s}`; expected one of register, cas-register, mutex, multi-register, set, fifo-queue"
            )),
        }
    }
}

/// A model and its initial state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSpec {
    pub kind: ModelKind,
    /// The initial value of a register, and of every register of a
    /// multi-register. `nil` by default (Knossos' multi-register histories
    /// assume 0). Other models start empty / free.
    pub initial: Value,
    /// Check each key of a multi-key history on its own (P-compositionality).
    /// When false, `Op::key` is ignored and the whole history is one object.
    pub independent: bool,
}

impl ModelSpec {
    pub fn new(kind: ModelKind) -> ModelSpec {
        ModelSpec {
            kind,
            initial: Value::Nil,
            independent: true,
        }
    }

    pub fn with_initial(mut self, initial: Value) -> ModelSpec {
        self.initial = initial;
        self
    }

    pub fn with_independent(mut self, independent: bool) -> ModelSpec {
        self.independent = independent;
        self
    }
}

/// Interns values to dense ids; cheap to clone (the values are shared).
#[derive(Clone, Default)]
pub(crate) struct Interner<T: Hash + Eq> {
    items: Vec<Arc<T>>,
    ids: HashMap<Arc<T>, u32>,
}

impl<T: Hash + Eq> Interner<T> {
    pub fn intern(&mut self, item: T) -> u32 {
        if let Some(&id) = self.ids.get(&item) {
            return id;
        }
        let id = self.items.len() as u32;
        let item = Arc::new(item);
        self.items.push(item.clone());
        self.ids.insert(item, id);
        id
    }

    pub fn get(&self, id: u32) -> &T {
        &self.items[id as usize]
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }
}

/// Renders a list of interned values EDN-style: `[1 2 3]`.
pub(crate) fn show_list(values: &Interner<Value>, ids: &[u32]) -> String {
    let mut s = String::from("[");
    for (i, &id) in ids.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(&shown(values.get(id)));
    }
    s.push(']');
    s
}

/// A cheap, well-spread hash of a small integer state.
#[inline]
pub(crate) fn mix32(x: u32) -> u64 {
    crate::hash::mix64(x as u64)
}
