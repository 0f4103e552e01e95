//! Shared by the nemeses' lab tests: the lab kit every crate uses
//! ([`splitbrain_control::testing::lab`]: skip or fail on missing prerequisites, a lab of the
//! test's own that is always taken down) and the probe "database".
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use splitbrain_control::db::{Db, DbDef};
use splitbrain_control::testing::lab::{FAKETIME, TC, available};
pub use splitbrain_control::testing::lab::{config, connect, with_lab};
use splitbrain_control::{Cluster, Cmd};
use splitbrain_history::Op;
use splitbrain_nemeses::Record;

pub const FAKETIME_LIB: &str = splitbrain_control::db::def::FAKETIME_LIBRARY;

/// True when the nemeses' lab tests can run: the lab, tc and libfaketime (the kit's rule:
/// under CI=true a missing one fails the test, elsewhere it is skipped, saying why).
pub fn lab_available(test: &str) -> bool {
    available(test, &[FAKETIME, TC])
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
