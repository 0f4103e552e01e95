//! # splitbrain-checkers
//!
//! Pure analysis of histories: given what the clients saw, could the system
//! have behaved like a single copy of the object? No I/O, no async: a
//! [`History`](splitbrain_history::History) goes in, a verdict comes out —
//! `valid`, `invalid`, or `unknown` when the time or memory budget ran out
//! or there was too little to judge (never `valid`): a checker with no
//! evidence (no client op, none `ok`) answers unknown, and every checker
//! counts what it left out, and why ([`LeftOut`]).
//!
//! Memory is measured, not estimated, when the program installs
//! [`heap::CountingAlloc`] as its global allocator; values compare within
//! their type, and explanations say so when that decides a verdict
//! ([`equality`]).
//!
//! ## Checkers
//!
//! A checker is a [`Checker`]: a name and `check(&History, &Limits)`, answering a
//! [`Checked`] (verdict, one-line summary, and its own typed result, a
//! [`Finding`]), as Jepsen's checker protocol. One module each —
//! [`linearizable`], [`set`], [`counter`], [`stats`], [`unique_ids`] — listed once in
//! the [`registry`], which test definitions name them through; [`compose`] runs
//! several over one history.
//!
//! ## The story of a check
//!
//! [`check_linearizable`] takes a history, a [`ModelSpec`] and [`Limits`]:
//!
//! 1. **Split** (`problem`). Each key of a multi-key history is an independent
//!    object (P-compositionality: a history is linearizable iff each object's
//!    sub-history is), and a model may split further — a multi-register's
//!    disjoint registers. The parts are checked in parallel on every core.
//! 2. **Compile** (`model`). Each call becomes a compact op of a [`Model`]:
//!    values are interned to small integers, so a register's state is a `u32`.
//!    `fail` calls are dropped (they did not happen), so are `info` reads
//!    (they constrain nothing); other `info` calls and calls the history never
//!    completed are optional: they may take effect at any time after their
//!    invocation, or never.
//!
//!    For registers, reads impossible by themselves are looked for first, in
//!    O(n log n) (`impossible`): a read of a value whose every writer was
//!    overwritten before the read began, or that nothing wrote. One found is
//!    the counterexample, and no search runs (unless an engine is pinned).
//! 3. **Search** (`wgl`, `jit`). Two engines, each complete and sound:
//!    - *WGL*, Wing–Gong–Lowe depth-first search with a memo of configurations
//!      and incremental (Zobrist) hashing: a few nanoseconds a step, fast on
//!      valid histories;
//!    - *JIT*, Lowe's just-in-time sweep: reads the history once in time
//!      order, keeping every configuration the object can be in, and finds
//!      the op where every linearization dies without exhausting an
//!      exponential tree — where depth-first search is at its worst.
//!
//!    With idle cores they race on each part and the first definite answer
//!    wins; otherwise WGL runs with a step budget and hands over to JIT.
//!    Both commit read-only ops greedily and try only the earliest-returning
//!    of identical pending ops (see the engines' docs for why that is sound).
//!    With `info` ops, JIT first sweeps a relaxation in which each info op
//!    may take effect any number of times: it only adds behaviours, so if
//!    even that dies the history is invalid, at the cost of a history
//!    without info ops.
//! 4. **Explain** (`counterexample`). For an invalid history, a
//!    [`Counterexample`]: the op no linearization can fit, the longest
//!    linearizable prefixes with the states they reach, the ops that could not
//!    be placed next and why, and one sentence. Its size is bounded by small
//!    constants, not by the history.
//!
//! ## Where it is slow
//!
//! Linearizability checking is NP-complete; what is hard here:
//! - *valid* histories with many `info` ops and high concurrency (5% info,
//!   10+ processes): configurations that used different info ops cannot be
//!   merged, so JIT's set grows, and WGL may backtrack far;
//! - queues after many concurrent enqueues: every order of them is a
//!   distinct state for JIT (WGL, which needs only one order, is fine when
//!   the history is valid).
//!
//! There the answer is `unknown` at the time or memory limit.
//!
//! ```
//! use splitbrain_checkers::{check_linearizable, Limits, ModelKind, ModelSpec, Verdict};
//! use splitbrain_history::{History, Op, OpType, Process, Value};
//!
//! let op = |p, kind, f: &str, v: Value| Op::new(Process::Client(p), kind, f, v);
//! let history = History::new(vec![
//!     op(0, OpType::Invoke, "write", Value::Int(1)),
//!     op(0, OpType::Ok, "write", Value::Int(1)),
//!     op(1, OpType::Invoke, "read", Value::Nil),
//!     op(1, OpType::Ok, "read", Value::Int(2)), // nobody wrote 2
//! ])
//! .unwrap();
//! let result = check_linearizable(&history, &ModelSpec::new(ModelKind::Register), &Limits::default())
//!     .unwrap();
//! assert_eq!(result.verdict, Verdict::Invalid);
//! println!("{}", result.counterexample.unwrap().message);
//! ```

mod checker;
pub mod compose;
mod counterexample;
mod engine;
pub mod equality;
mod hash;
pub mod heap;
mod impossible;
mod jit;
mod limits;
pub mod linearizable;
pub mod model;
mod problem;
pub mod registry;
mod result;
mod wgl;

// The checkers besides linearizability, one module each.
pub mod counter;
pub mod set;
pub mod stats;
#[doc(hidden)]
pub mod testing;
pub mod unique_ids;

pub use checker::{Checked, Checker, Finding, thousands};
pub use compose::Compose;
pub use equality::TypeClash;
pub use limits::{EngineChoice, Limits};
pub use linearizable::{LinearizableChecker, check_linearizable, check_with_model};
pub use model::{Model, ModelKind, ModelSpec};
pub use problem::CheckError;
pub use result::{
    Counterexample, Engine, KeyResult, LeftOut, LeftOutReason, LinearizabilityResult, LinearizedOp,
    OpRef, Prefix, Stats, UnknownCause, Unplaceable, Verdict,
};
