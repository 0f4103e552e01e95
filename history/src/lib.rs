//! # splitbrain-history
//!
//! The contract every other splitbrain crate speaks: what an operation is
//! ([`Op`]), what a history is ([`History`]), and how histories are read and
//! written.
//!
//! A history is the record of a test, in the order things happened. Each client
//! operation appears as an *invocation* and later a *completion*:
//! `ok` (it took effect), `fail` (it certainly did not) or `info` (unknown: it
//! may take effect at any point after its invocation, or never). The nemesis
//! records its faults in the same stream, under the process `nemesis`.
//!
//! [`History::new`] pairs invocations with completions and rejects sequences
//! that cannot have happened (a completion without invocation, two open
//! invocations on one process, a process reused after `info`), naming the
//! offending line.
//!
//! Codecs (module `codec`): JSON Lines is the native, streamable format;
//! Jepsen EDN and Jepsen log lines are imported.

pub mod codec;
mod history;
mod op;
mod value;

pub use history::{Call, History, ValidationError};
pub use op::{Op, OpType, Process};
pub use value::Value;
