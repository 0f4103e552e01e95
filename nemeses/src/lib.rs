//! # splitbrain-nemeses: faults that find real bugs, and always heal
//!
//! The nemesis breaks a cluster on purpose while the clients work, so that the checker can
//! tell whether the database keeps its promises anyway. Everything goes through the
//! control crate's SSH sessions ([`splitbrain_control::Cluster`]) and database definitions
//! ([`splitbrain_control::db::Db`]); nothing here knows about the lab.
//!
//! ## The faults ([`Fault`], [`faults`])
//!
//! | fault | how | healed by |
//! |---|---|---|
//! | `partition` | iptables DROP rules on the receiving side, in our own chain `splitbrain-partition` (jumped to from INPUT); topologies from Jepsen: halves, random halves, one node, majorities ring, bridge, primaries (the leader alone), an explicit grudge ([`grudge`]) | deleting our chain and its jump, never the user's rules |
//! | `kill` | SIGKILL through the database definition (one, minority, majority, all, primaries, or named nodes) | starting it again |
//! | `pause` | SIGSTOP | SIGCONT |
//! | `clock` | libfaketime: the daemon runs with it preloaded, reading a per-node file, so writing an offset moves its clock while it runs: bump, strobe, drift | offset back to 0 |
//! | `packet` | tc netem delay, loss, duplication, reordering on the node's interface, optionally only towards chosen peers (loss with iptables when the kernel has no netem) | deleting our qdisc, tolerating its absence |
//!
//! Each fault is one module of [`faults`] implementing the [`Fault`] trait — its settings
//! (the `nemesis.<name>` section), [`Fault::probe`], [`Fault::plan`], start, stop, the
//! values of its ops, its part of healing — and one line of the fault table
//! (`fault_table!` in faults/mod.rs), from which [`FaultKind`], [`faults::FAULTS`], the
//! `nemesis.<name>` sections of [`NemesisConfig`], names, help texts, `--nemesis` parsing
//! and [`fault_colours`] are generated.
//!
//! A fault that cannot take effect is left out with a plain note instead of being pretended:
//! clock faults on a Go program such as etcd (it ignores libfaketime), packet delays on a
//! kernel without netem.
//!
//! ## The history
//!
//! Every fault is recorded twice through the [`Record`] closure the harness passes in (a
//! wrapper around its recorder): an `info` op of process `nemesis` with `f` =
//! `start-<fault>` once it took effect, and `stop-<fault>` once healed (the names are the
//! history crate's [`splitbrain_history::FaultOp`]); `value` is a map
//! with `nodes` and the details (`grudge`, `signal`, `offset_ms`, `delay_ms`, ...). After
//! every clock change an op `clock-offsets` holds each node's offset as the database sees
//! it, measured in milliseconds.
//!
//! ## The schedule ([`Nemesis::run`], [`schedule`])
//!
//! By default as Jepsen's: wait an interval, start a random enabled fault, wait an
//! interval, stop it; until the main phase ends. The seed decides every choice. A
//! definition may write its own (`nemesis: schedule:`, [`schedule::ScheduleDef`]): a
//! generator of fault steps — sequences, `cycle`, `flip-flop`, `sleep`, `start` (a fault,
//! optionally with its own settings, e.g. `{partition: {topologies: [primaries]}}`),
//! `stop`, and `random` (today's); grammar in docs/generators.md. A
//! [`schedule::Schedule`] is a stream of steps, so other schedules plug in with
//! [`Nemesis::run_schedule`].
//!
//! ## Healing ([`heal_all`])
//!
//! Finds and removes every trace of every fault on every node, idempotently, in one script
//! per node made of each fault's section; run at the end of every test, on error, on
//! Ctrl-C, and by `splitbrain heal`.
//!
//! ```no_run
//! # async fn demo(cluster: splitbrain_control::Cluster, db: splitbrain_control::db::Db) -> Result<(), splitbrain_nemeses::NemesisError> {
//! use std::sync::Arc;
//! use splitbrain_nemeses::{FaultKind, HealOptions, Nemesis, NemesisConfig};
//! let config = NemesisConfig::with_faults(&[FaultKind::Partition, FaultKind::Kill]);
//! let record = Arc::new(|op: splitbrain_history::Op| println!("{op}"));
//! let mut nemesis = Nemesis::setup(&cluster, Some(&db), &config, 42, record).await?;
//! let stop = tokio_util::sync::CancellationToken::new();
//! nemesis.run(stop).await; // until cancelled
//! nemesis.heal(HealOptions { restart: true }).await;
//! # Ok(()) }
//! ```

pub mod config;
mod fault;
pub mod faults;
pub mod grudge;
pub mod heal;
mod nemesis;
pub mod schedule;
pub mod scripts;
pub mod target;

pub use config::{FaultSpec, NemesisConfig, Section, parse_fault_list};
pub use fault::{Action, AnyFault, Context, Fault, Plan, Probe};
pub use faults::clock::{Clock, ClockChange, ClockFault, ClockMode, ClockSupport};
pub use faults::kill::{Kill, KillFault};
pub use faults::packet::{Netem, Packet, PacketBehavior, PacketFault, PacketSupport};
pub use faults::partition::{Partition, PartitionFault, Topology};
pub use faults::pause::{Pause, PauseFault};
pub use faults::{FaultEntry, FaultKind, fault_colours};
pub use grudge::Grudge;
pub use heal::{HealOptions, HealReport, HealSection, HealStage, NodeHeal, heal_all};
pub use nemesis::{Nemesis, NemesisError, Record};
pub use target::Target;
