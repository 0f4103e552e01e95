//! # splitbrain-nemeses: faults that find real bugs, and always heal
//!
//! The nemesis breaks a cluster on purpose while the clients work, so that the checker can
//! tell whether the database keeps its promises anyway. Everything goes through the
//! control crate's SSH sessions ([`splitbrain_control::Cluster`]) and database definitions
//! ([`splitbrain_control::db::Db`]); nothing here knows about the lab.
//!
//! ## The faults ([`Fault`])
//!
//! | fault | how | healed by |
//! |---|---|---|
//! | `partition` | iptables DROP rules on the receiving side, in our own chain `splitbrain-partition` (jumped to from INPUT); topologies from Jepsen: halves, random halves, one node, majorities ring, bridge, primaries (the leader alone), an explicit grudge ([`grudge`]) | deleting our chain and its jump, never the user's rules |
//! | `kill` | SIGKILL through the database definition (one, minority, majority, all, primaries, or named nodes) | starting it again |
//! | `pause` | SIGSTOP | SIGCONT |
//! | `clock` | libfaketime: the daemon runs with it preloaded, reading a per-node file, so writing an offset moves its clock while it runs: bump, strobe, drift | offset back to 0 |
//! | `packet` | tc netem delay, loss, duplication, reordering on the node's interface, optionally only towards chosen peers (loss with iptables when the kernel has no netem) | deleting our qdisc, tolerating its absence |
//!
//! A fault that cannot take effect is left out with a plain note instead of being pretended:
//! clock faults on a Go program such as etcd (it ignores libfaketime), packet delays on a
//! kernel without netem.
//!
//! ## The history
//!
//! Every fault is recorded twice through the [`Record`] closure the harness passes in (a
//! wrapper around its recorder): an `info` op of process `nemesis` with `f` =
//! `start-<fault>` once it took effect, and `stop-<fault>` once healed; `value` is a map
//! with `nodes` and the details (`grudge`, `signal`, `offset_ms`, `delay_ms`, ...). After
//! every clock change an op `clock-offsets` holds each node's offset as the database sees
//! it, measured in milliseconds.
//!
//! ## The schedule ([`Nemesis::run`])
//!
//! As Jepsen's: wait an interval, start a random enabled fault, wait an interval, stop it;
//! until the main phase ends. The seed decides every choice.
//!
//! ## Healing ([`heal_all`])
//!
//! Finds and removes every trace of every fault on every node, idempotently; run at the end
//! of every test, on error, on Ctrl-C, and by `splitbrain heal`.
//!
//! ```no_run
//! # async fn demo(cluster: splitbrain_control::Cluster, db: splitbrain_control::db::Db) -> Result<(), splitbrain_nemeses::NemesisError> {
//! use std::sync::Arc;
//! use splitbrain_nemeses::{Fault, HealOptions, Nemesis, NemesisConfig};
//! let config = NemesisConfig::with_faults(&[Fault::Partition, Fault::Kill]);
//! let record = Arc::new(|op: splitbrain_history::Op| println!("{op}"));
//! let mut nemesis = Nemesis::setup(&cluster, Some(&db), &config, 42, record).await?;
//! let stop = tokio_util::sync::CancellationToken::new();
//! nemesis.run(stop).await; // until cancelled
//! nemesis.heal(HealOptions { restart: true }).await;
//! # Ok(()) }
//! ```

pub mod config;
pub mod grudge;
pub mod heal;
mod nemesis;
pub mod scripts;

pub use config::{
    ClockMode, Fault, FaultSpec, NemesisConfig, PacketBehavior, Target, Topology, parse_fault_list,
};
pub use grudge::Grudge;
pub use heal::{HealOptions, HealReport, NodeHeal, heal_all};
pub use nemesis::{
    Action, ClockChange, ClockSupport, Nemesis, NemesisError, Netem, PacketSupport, Record,
};
