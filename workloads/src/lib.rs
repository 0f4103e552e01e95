//! # splitbrain-workloads
//!
//! What the clients of a test do, and how they talk to the database.
//!
//! A test's client side has three parts, each a module here:
//!
//! - **The workload** ([`Workload`], one module each under [`workloads`], listed
//!   once in [`workload::WORKLOADS`]): register, set, counter, unique-ids. It
//!   names the functions its clients understand, the default mix of the main
//!   phase, the values of each request ([`Workload::values`]), the requests of
//!   the final phase ([`Workload::final_requests`]) and the checkers that judge
//!   its histories ([`Workload::default_checkers`], names in the checkers'
//!   registry).
//! - **Generators** ([`generator`]): Jepsen's combinators as values ([`Gen`]: mix,
//!   rate/stagger, limit, time-limit, phases, once, sleep, each-worker, each-key;
//!   docs/generators.md), compiled against the workload into a [`Program`] whose
//!   per-worker [`Cursor`]s draw requests and delays from `(seed, worker)` only: the
//!   same `--seed` gives the same sequence per worker. [`Gen::main`] and
//!   [`Gen::finals`] are the default phases; [`GeneratorConfig`] checks a mix and
//!   independent keys (and its [`WorkerGenerator`] is the fixed generator the
//!   default phases reproduce).
//! - **Clients** ([`Client`], opened per process by a [`ClientFactory`]), with
//!   Jepsen's lifecycle: open, setup, invoke, teardown, close. A client is
//!   written for one (database, workload) pair: [`etcd`] has `etcd/register`,
//!   `etcd/set`, ... over one connection type; [`memory`] is an in-process
//!   store per workload, correct or deliberately stale, for benchmarks and for
//!   proving that the checkers catch a wrong database. [`clients::CLIENTS`]
//!   lists every `client.type` once, with its workloads, whether it needs nodes,
//!   and its own `options:` block ([`options`]). [`process`] is the client that
//!   is an external program in any language, speaking JSON lines
//!   ([`process::protocol`], docs/client-protocol.md), one OS process per process.
//!
//! The runner (in the `splitbrain` binary) ties them together: it calls
//! [`Client::setup`] once, then for worker `i` opens a client on node `i mod n`,
//! waits until its cursor's next request is due, records the invocation, awaits
//! [`Client::invoke`] under the op timeout (a timeout is `info`), records the
//! completion, and after an `info` opens a fresh client under a fresh process
//! id; after the final phase it calls [`Client::teardown`] once.
//!
//! The outcome rule every client follows: `fail` only when the operation
//! certainly did not take effect; when in doubt, `info`.
//!
//! ## Adding a workload
//!
//! One module under `workloads/` implementing [`Workload`], one line in
//! [`workload::WORKLOADS`], and for each client that speaks it one module
//! (`etcd/<workload>.rs`, `memory/<workload>.rs`) plus one line in that client's
//! `workloads` list. `unique-ids` was added this way.
//!
//! ## Adding a client
//!
//! One module with a [`clients::ClientType`] (its options type, its workloads'
//! constructors) and one line in [`clients::CLIENTS`].

pub mod client;
pub mod clients;
pub mod etcd;
pub mod generator;
pub mod memory;
pub mod options;
pub mod process;
pub mod workload;
pub mod workloads;

/// The macro [`Client`] and [`ClientFactory`] are written with, for clients written
/// outside this crate.
pub use async_trait::async_trait;
pub use client::{Client, ClientFactory, Outcome, Request, Target};
pub use clients::{ClientContext, ClientError, ClientKind, ClientType};
pub use generator::combinators::{Clock, Cursor, Gen, GenError, Next, Program};
pub use generator::{GeneratorConfig, GeneratorError, Independent, WorkerGenerator};
pub use options::{Options, OptionsError};
pub use workload::{UnknownWorkload, Values, Workload};
