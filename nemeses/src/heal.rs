//! Healing: undo every fault splitbrain can cause, on every node, idempotently.
//!
//! [`heal_all`] needs no memory of what was done: it looks for our traces on each node and
//! removes them — the iptables chains `splitbrain-partition` and `splitbrain-packet` with
//! their jumps (never the user's own rules), our root qdisc (handle `5b:`, tolerating "no
//! qdisc"), a running clock loop, a non-zero offset in the clock file, processes we paused
//! (recorded on the node) or the database's own stopped processes — and, when asked,
//! starts the database where it is not running and waits until it is ready. It is what runs
//! at the end of every test, on error, on Ctrl-C, and behind `splitbrain heal`.
//!
//! Each fault heals its own traces: its `heal` function in [`crate::faults::FAULTS`] gives
//! a section of the heal script with its own parameters ([`HealSection`]). The sections
//! run as one script per node (one round trip), by [`HealStage`]: the network first, then
//! clocks, then processes, so that a resumed process wakes up to a healed cluster.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use splitbrain_control::db::Db;
use splitbrain_control::{Cluster, RemoteError, Session};

use crate::faults::FAULTS;
pub use crate::faults::clock::default_clock_file;
use crate::scripts::{self, ScriptSection};

/// When a fault's heal section runs; sections of one stage run in table order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum HealStage {
    /// Partitions and packet faults.
    Network,
    Clock,
    /// Paused processes: resumed last.
    Processes,
}

/// A fault's part of the heal script on one node.
#[derive(Clone, Debug)]
pub struct HealSection {
    pub stage: HealStage,
    pub script: ScriptSection,
}

impl HealSection {
    pub fn new(stage: HealStage, script: ScriptSection) -> HealSection {
        HealSection { stage, script }
    }
}

/// Every fault's heal section for node `node`, in the order they run.
pub fn sections(db: Option<&Db>, node: &str) -> Vec<HealSection> {
    let mut sections: Vec<HealSection> = FAULTS
        .iter()
        .filter_map(|e| (e.info.heal)(db, node))
        .collect();
    sections.sort_by_key(|h| h.stage);
    sections
}

/// What [`heal_all`] should do besides removing faults.
#[derive(Clone, Copy, Debug, Default)]
pub struct HealOptions {
    /// Start the database where it is not running (it was killed), and wait until every
    /// node is ready. Needs the database definition.
    pub restart: bool,
}

/// What healing did on one node.
#[derive(Clone, Debug, Default)]
pub struct NodeHeal {
    pub node: String,
    /// One line per fault undone ("removed iptables chain splitbrain-partition (2 rules)").
    pub actions: Vec<String>,
    /// What could not be healed; the node may still carry a fault.
    pub errors: Vec<String>,
}

/// What healing did on every node, in node order.
#[derive(Clone, Debug, Default)]
pub struct HealReport {
    pub nodes: Vec<NodeHeal>,
}

impl HealReport {
    /// True when every node was healed without error.
    pub fn is_ok(&self) -> bool {
        self.nodes.iter().all(|n| n.errors.is_empty())
    }

    /// True when something was left to heal.
    pub fn healed_anything(&self) -> bool {
        self.nodes.iter().any(|n| !n.actions.is_empty())
    }

    /// Every error, as `node: error`.
    pub fn errors(&self) -> Vec<String> {
        self.nodes
            .iter()
            .flat_map(|n| n.errors.iter().map(move |e| format!("{}: {e}", n.node)))
            .collect()
    }
}

impl fmt::Display for HealReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, n) in self.nodes.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            if n.actions.is_empty() && n.errors.is_empty() {
                write!(f, "{}: nothing to heal", n.node)?;
                continue;
            }
            let mut parts = n.actions.clone();
            parts.extend(n.errors.iter().map(|e| format!("NOT HEALED: {e}")));
            write!(f, "{}: {}", n.node, parts.join("; "))?;
        }
        Ok(())
    }
}

/// How long one node's heal script may take.
const HEAL_TIMEOUT: Duration = Duration::from_secs(60);

/// Heals every node of `cluster` (see the module documentation). With `db`, its clock file,
/// pid file and process name are used, and `restart` can start it again; without, the
/// default clock file (`/run/splitbrain/faketime`) and the pids splitbrain recorded as
/// paused. Never fails as a whole: each node's outcome is in the report.
pub async fn heal_all(cluster: &Cluster, db: Option<&Db>, options: HealOptions) -> HealReport {
    let db = db.cloned();
    let results = cluster
        .on_all(|s| {
            let db = db.clone();
            async move { Ok(heal_node(&s, db.as_ref(), options).await) }
        })
        .await;
    let mut report = HealReport::default();
    for (node, r) in results.0 {
        report
            .nodes
            .push(r.unwrap_or_else(|e: RemoteError| NodeHeal {
                node: node.name.clone(),
                actions: Vec::new(),
                errors: vec![e.to_string()],
            }));
    }
    if options.restart
        && let Some(db) = &db
    {
        let ready = db
            .each(cluster, |db, s| async move { db.await_ready(&s).await })
            .await;
        for ((_, r), n) in ready.0.into_iter().zip(&mut report.nodes) {
            if let Err(e) = r {
                n.errors.push(format!("not ready after healing: {e}"));
            }
        }
    }
    report
}

async fn heal_node(s: &Arc<Session>, db: Option<&Db>, options: HealOptions) -> NodeHeal {
    let mut out = NodeHeal {
        node: s.node().name.clone(),
        ..NodeHeal::default()
    };
    let sections = sections(db, &s.node().name);
    let cmd = scripts::heal(sections.iter().map(|h| &h.script)).timeout(HEAL_TIMEOUT);
    match s.exec(&cmd).await {
        Ok(o) => out.actions.extend(
            o.out()
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(String::from),
        ),
        Err(e) => out.errors.push(e.to_string()),
    }
    if options.restart
        && let Some(db) = db
    {
        match db.running(s).await {
            Ok(true) => {}
            Ok(false) => match db.start(s).await {
                Ok(()) => out.actions.push(format!("started {}", db.def().name)),
                Err(e) => out
                    .errors
                    .push(format!("cannot start {}: {e}", db.def().name)),
            },
            Err(e) => out.errors.push(e.to_string()),
        }
    }
    out
}
