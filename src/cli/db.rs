//! `splitbrain db up|down|status FILE`: a database on every node, from a YAML definition.

use std::path::PathBuf;
use std::time::Instant;

use splitbrain_control::Cluster;
use splitbrain_control::db::{Db, DbDef};

use super::nodes::NodeArgs;

/// Install, start, inspect or remove a database described by a YAML definition
/// (see dbs/README.md), on the lab's nodes or on --nodes over SSH.
#[derive(clap::Args, Debug)]
pub struct DbArgs {
    #[command(subcommand)]
    pub action: DbAction,
}

#[derive(clap::Subcommand, Debug)]
pub enum DbAction {
    /// Install, configure and start on every node, then wait until every node is ready.
    Up(DbTarget),
    /// Stop the database on every node and wipe its data (and download logs first with --logs).
    Down(DownArgs),
    /// Show, per node: running (pid), ready, leader. Exit 0 when every node is running and ready.
    Status(DbTarget),
}

#[derive(clap::Args, Debug)]
pub struct DbTarget {
    /// Database definition, e.g. dbs/etcd.yaml.
    pub file: PathBuf,
    #[command(flatten)]
    pub nodes: NodeArgs,
}

#[derive(clap::Args, Debug)]
pub struct DownArgs {
    #[command(flatten)]
    pub target: DbTarget,
    /// Download every node's log files into DIR/<node>/ before wiping.
    #[arg(long, value_name = "DIR")]
    pub logs: Option<PathBuf>,
}

pub fn run(args: DbArgs) -> anyhow::Result<u8> {
    let rt = crate::cli::runtime()?;
    rt.block_on(async move {
        match args.action {
            DbAction::Up(t) => up(t).await,
            DbAction::Down(d) => down(d).await,
            DbAction::Status(t) => status(t).await,
        }
    })
}

async fn connect(t: &DbTarget) -> anyhow::Result<(Db, Cluster)> {
    let def = DbDef::load(&t.file)?;
    let resolved = t.nodes.resolve()?;
    // Bound before connecting, so that a lab whose nodes would share the data directory is
    // refused before anything reaches them.
    let db = Db::for_nodes(def, &resolved.nodes)?;
    db.check_private(resolved.inventory.as_ref().and_then(|i| i.lab.as_ref()))?;
    let cluster = Cluster::connect(&resolved.nodes, &resolved.ssh).await?;
    Ok((db, cluster))
}

async fn up(t: DbTarget) -> anyhow::Result<u8> {
    let started = Instant::now();
    let (db, cluster) = connect(&t).await?;
    db.setup(&cluster).await?;
    let name = &db.def().name;
    println!(
        "{name} up on {} nodes in {:.2}s",
        cluster.sessions().len(),
        started.elapsed().as_secs_f64()
    );
    for s in cluster.sessions() {
        let pid = db
            .pid(s)
            .await?
            .map(|p| p.to_string())
            .unwrap_or_else(|| "?".into());
        println!("  {:<6} {:<15} pid {pid}", s.node().name, s.node().host);
    }
    if let Some(leaders) = db.leader(&cluster).await? {
        let names: Vec<String> = leaders.iter().map(|n| n.name.clone()).collect();
        println!(
            "leader: {}",
            if names.is_empty() {
                "none yet".into()
            } else {
                names.join(", ")
            }
        );
    }
    Ok(0)
}

async fn down(d: DownArgs) -> anyhow::Result<u8> {
    let started = Instant::now();
    let (db, cluster) = connect(&d.target).await?;
    if let Some(dir) = &d.logs {
        for s in cluster.sessions() {
            for f in db.download_logs(s, dir).await? {
                println!("  saved {}", f.display());
            }
        }
    }
    db.teardown_all(&cluster).await?;
    println!(
        "{} down on {} nodes in {:.2}s",
        db.def().name,
        cluster.sessions().len(),
        started.elapsed().as_secs_f64()
    );
    Ok(0)
}

async fn status(t: DbTarget) -> anyhow::Result<u8> {
    let (db, cluster) = connect(&t).await?;
    let mut healthy = true;
    for s in cluster.sessions() {
        let pid = db.pid(s).await?;
        let ready = pid.is_some() && db.is_ready(s).await?;
        let leader = if pid.is_some() {
            db.is_leader(s).await?
        } else {
            None
        };
        healthy &= ready;
        println!(
            "  {:<6} {:<15} {:<18} {:<9} {}",
            s.node().name,
            s.node().host,
            pid.map(|p| format!("running (pid {p})"))
                .unwrap_or_else(|| "not running".into()),
            if ready { "ready" } else { "not ready" },
            match leader {
                Some(true) => "leader",
                _ => "",
            }
        );
    }
    Ok(if healthy { 0 } else { 1 })
}
