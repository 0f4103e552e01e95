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
//! ## Reading and writing histories: [`codec`]
//! | format | role |
//! | --- | --- |
//! | JSON Lines | native: one op object per line, streamed to disk by [`codec::JsonlWriter`] as a test runs, so a crashed controller still leaves a checkable history |
//! | Jepsen EDN | imported: `history.edn` and Knossos histories — a vector or list of op maps, or one map per line, tagged records such as `#jepsen.history.Op{...}` |
//! | Jepsen log lines | imported: the op lines of `jepsen.log` (and `history.txt`) |
//!
//! ```no_run
//! use splitbrain_history::codec::{self, ReadOptions};
//!
//! // Format detected from the extension, then the content; `--format` overrides.
//! let history = codec::read_path("store/latest/history.edn".as_ref(), &ReadOptions::default())?;
//! for call in history.calls() {
//!     println!("{} -> {:?}", call.invoke, call.outcome());
//! }
//! # Ok::<(), codec::ReadError>(())
//! ```
//!
//! Reading parses, splits Jepsen independent `[key value]` tuples into
//! [`Op::key`] (detected from the client invocations, or forced either way),
//! then pairs and validates with [`History::with_lines`]. Every failure is a
//! [`codec::ReadError`] that names the file, the line and what was expected;
//! bad input never panics, and reading stops at explicit limits (line length,
//! nesting, op count, file size: [`codec::ReadOptions`]). A JSON Lines
//! history cut off mid-line by a crash is refused unless
//! [`codec::ReadOptions::allow_truncated_tail`] is set, which drops the cut
//! line with a warning.
//!
//! Values read exactly as written in every format: integers beyond 64 bits
//! are [`Value::BigInt`], decimals and numbers with more digits than a float
//! keeps are [`Value::Decimal`], so no two different numbers compare equal.
//! A client process is an integer; only the nemesis may be named.
//!
//! Histories of a million ops are the normal case: files are read in chunks
//! (never whole into memory), and EDN goes through a hand-written reader for
//! the flat op-map shape Jepsen writes, handing only a few rare atoms
//! (characters, ratios, radix numbers) to clojure-reader, token by token.

pub mod codec;
pub mod duration;
pub mod fault_op;
mod history;
mod number;
mod op;
mod value;

pub use fault_op::{FaultEdge, FaultOp};
pub use history::{Call, History, ValidationError};
pub use op::{Op, OpType, Process};
pub use value::Value;
