//! Shared by the nemeses' lab tests: skip or fail on missing prerequisites, a lab of the
//! test's own that is always taken down, and the probe "database".
#![allow(dead_code)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use splitbrain_control::db::{Db, DbDef};
use splitbrain_control::lab::{self, LabConfig};
use splitbrain_control::{Cluster, Cmd, Inventory};
use splitbrain_history::Op;
use splitbrain_nemeses::Record;

pub const FAKETIME_LIB: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

/// True when lab tests can run (root, lab tools, tc, libfaketime). Under CI=true a missing
/// prerequisite fails the test; elsewhere the test is skipped with the reason printed.
pub fn lab_available(test: &str) -> bool {
    let missing = match lab::check_prerequisites() {
        Err(e) => Some(e.to_string()),
        Ok(()) if !Path::new(FAKETIME_LIB).exists() => Some(format!(
            "{FAKETIME_LIB} is missing (run scripts/install-deps)"
        )),
        Ok(()) if !Path::new("/usr/sbin/tc").exists() && !Path::new("/sbin/tc").exists() => {
            Some("tc is missing (run scripts/install-deps)".into())
        }
        Ok(()) => None,
    };
    match missing {
        None => true,
        Some(why) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{test}: CI=true but {why}")
        }
        Some(why) => {
            eprintln!("SKIPPED {test}: {why}");
            false
        }
    }
}

/// A lab of its own for one test: name `name`, subnet 10.77.<octet>.0/24.
pub fn config(name: &str, octet: u8, nodes: usize) -> LabConfig {
    let mut cfg = LabConfig::new(nodes);
    cfg.name = name.into();
    cfg.subnet = format!("10.77.{octet}.0/24");
    cfg.dir = PathBuf::from(format!("/var/cache/splitbrain/test-{name}"));
    cfg
}

/// Brings the lab up, runs `body`, always takes the lab down (re-raising a panic of
/// `body` afterwards) and checks that no namespace is left.
pub async fn with_lab<F, Fut>(cfg: LabConfig, body: F)
where
    F: FnOnce(Inventory) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    lab::down(&cfg.dir, &cfg.name)
        .await
        .expect("clearing an earlier run");
    let inv = lab::up(&cfg)
        .await
        .unwrap_or_else(|e| panic!("lab up: {e}"));
    let outcome = tokio::spawn(body(inv)).await;
    let report = lab::down(&cfg.dir, &cfg.name).await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
    report.unwrap_or_else(|e| panic!("lab down: {e}"));
    let netns = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&netns.stdout).contains(&format!("sb-{}-", cfg.name)),
        "namespace left"
    );
}

pub async fn connect(inv: &Inventory) -> Cluster {
    Cluster::connect(&inv.nodes, &inv.ssh_config())
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"))
}

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The faketime probe of `tests/fixtures/`, bound to the cluster.
pub fn probe(cluster: &Cluster) -> Db {
    let def = DbDef::load(&repo().join("tests/fixtures/faketime-probe.yaml"))
        .unwrap_or_else(|e| panic!("{e}"));
    Db::new(def, cluster).unwrap()
}

/// A record closure that keeps the ops in memory.
pub fn recorder() -> (Record, Arc<Mutex<Vec<Op>>>) {
    let ops = Arc::new(Mutex::new(Vec::new()));
    let sink = ops.clone();
    (Arc::new(move |op| sink.lock().unwrap().push(op)), ops)
}

/// Runs a shell command on one node as root; its standard output.
pub async fn sh(cluster: &Cluster, node: &str, script: &str) -> String {
    let s = cluster.session(node).unwrap();
    let out = s
        .output(&Cmd::shell(script).sudo_root())
        .await
        .unwrap_or_else(|e| panic!("{node}: {script}: {e}"));
    out.stdout
}
