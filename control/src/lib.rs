//! # splitbrain-control: reach nodes, run a local lab, drive a database
//!
//! Everything the harness does to machines goes through this crate, in three layers:
//!
//! 1. **Remote execution** ([`Session`], [`Cluster`], [`Cmd`]). One SSH master connection per
//!    node (the `openssh` crate's native multiplexing); each command is a new channel on it.
//!    Commands are built from words ([`Cmd::new`]`("etcd").arg(..).env(..).cwd(..).sudo(..)
//!    .timeout(..)`) and every word is shell-quoted ([`quote`]), so no node name or config
//!    value can become shell syntax. At most [`SshConfig::max_sessions`] commands (6, as in
//!    Jepsen) run at once per node, because sshd refuses more than `MaxSessions` (10) channels
//!    per connection with an unhelpful error. Connection errors are retried with backoff;
//!    a command that ran and failed never is. Errors ([`RemoteError`]) are one line naming the
//!    node, the command, the exit status and the remote stderr. [`Cluster::on_all`] runs
//!    something on every node in parallel and returns one result per node.
//!
//! 2. **The lab** ([`lab`]). Nodes made of Linux namespaces on this machine, each with its own
//!    address, sshd, hostname, process table and private `/opt`, `/run`, `/tmp`, `/var/log` and
//!    database directories (each definition's `private_dirs`). [`lab::up`] writes an
//!    [`Inventory`] that every other command uses by default; [`lab::down`] removes everything,
//!    even after a crash. With the `testing` feature, `testing::lab` is the one kit every
//!    crate's lab tests use.
//!
//! 3. **Databases** ([`db`]). A YAML definition ([`db::DbDef`], e.g. `dbs/etcd.yaml`) says how
//!    to install, configure, start, probe, kill, pause, find the leader of and tear down a
//!    database, and what the harness needs: the client port and the directories each lab node
//!    must have to itself; [`db::Db`] carries that out on a [`Cluster`], exposes each node's
//!    values typed ([`db::Db::node_ip`], [`db::Db::data_dir`], ...) and refuses a lab whose
//!    nodes would share them ([`db::Db::check_private`]).
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use splitbrain_control::{lab, db, Cluster, Cmd};
//! let def = db::DbDef::load("dbs/etcd.yaml".as_ref())?;
//! let mut cfg = lab::LabConfig::new(3);
//! cfg.make_private(def.private_dirs()); // /var/lib/etcd: one per node
//! let inventory = lab::up(&cfg).await?;
//! let cluster = Cluster::connect(&inventory.nodes, &inventory.ssh_config()).await?;
//! let hostnames = cluster.exec_all(&Cmd::new("hostname")).await.into_result()?;
//! let etcd = db::Db::new(def, &cluster)?;
//! etcd.check_private(inventory.lab.as_ref())?;
//! etcd.setup(&cluster).await?;
//! etcd.kill(&cluster.sessions()[1]).await?;
//! etcd.teardown_all(&cluster).await?;
//! lab::down(&inventory.lab.unwrap().dir, lab::DEFAULT_NAME).await?;
//! # Ok(()) }
//! ```

pub mod cluster;
pub mod cmd;
pub mod db;
pub mod error;
pub mod inventory;
pub mod lab;
pub mod node;
pub mod quote;
pub mod ssh;
#[cfg(feature = "testing")]
pub mod testing;

pub use cluster::{Cluster, NodeErrors, NodeResults};
pub use cmd::{Cmd, CmdError};
pub use error::RemoteError;
pub use inventory::{Inventory, LabInfo};
pub use node::Node;
pub use quote::{quote, quote_words};
pub use ssh::{Output, Session, SshConfig};
