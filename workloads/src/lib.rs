//! # splitbrain-workloads
//!
//! What the clients of a test do, and how they talk to the database.
//!
//! A test's client side has three parts, each a module here:
//!
//! - **The workload** ([`Workload`]): register, set or counter. It names the
//!   functions its clients understand, the default mix of the main phase, the
//!   requests of the final phase (a final read for the set and the counter:
//!   [`Workload::final_requests`]) and the checkers that judge its histories
//!   ([`Workload::default_checkers`]).
//! - **Generators** ([`generator`]): a [`GeneratorConfig`] (weighted mix,
//!   global rate with Jepsen's stagger, independent keys) becomes one
//!   [`WorkerGenerator`] per worker, whose requests and delays derive from
//!   `(seed, worker)` only: the same `--seed` gives the same sequence per worker.
//! - **Clients** ([`Client`], opened per process by a [`ClientFactory`]): turn
//!   a [`Request`] into an [`Outcome`]. [`etcd`] speaks to etcd over its JSON
//!   gateway; [`memory`] is an in-process store, correct or deliberately stale,
//!   for benchmarks and for proving that the checkers catch a wrong database.
//!
//! The runner (in the `splitbrain` binary) ties them together: for worker `i`
//! it opens a client on node `i mod n`, waits [`WorkerGenerator::delay`],
//! records the invocation, awaits [`Client::invoke`] under the op timeout
//! (a timeout is `info`), records the completion, and after an `info` opens a
//! fresh client under a fresh process id.
//!
//! The outcome rule every client follows: `fail` only when the operation
//! certainly did not take effect; when in doubt, `info`.

pub mod client;
pub mod etcd;
pub mod generator;
pub mod memory;
pub mod workload;

pub use client::{Client, ClientFactory, Outcome, Request, Target};
pub use generator::{GeneratorConfig, GeneratorError, Independent, WorkerGenerator};
pub use workload::{CheckerSpec, UnknownWorkload, Workload};
