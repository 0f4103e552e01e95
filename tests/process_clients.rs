//! Clients in other languages, through the JSON-lines client protocol (`client.type:
//! process`, docs/client-protocol.md), against etcd on the lab:
//!
//! - clients/etcd_gateway.py (Python) with linearizable reads under partitions, kills and
//!   pauses comes out valid in 5 of 5 runs (tests/etcd-register-python.yaml);
//! - the same client with serializable reads is found invalid (in CI: one of at most 3
//!   runs; `SPLITBRAIN_DETECTION=measure`: at least 9 of 10 runs),
//!   the power of the built-in client (tests/etcd-serializable-reads-python.yaml);
//! - clients/etcd_register.sh (sh over etcdctl) comes out valid on a healthy cluster
//!   (tests/etcd-register-shell.yaml).
//!
//! Needs root and the lab (runs under CI=true; skips elsewhere with the reason).

mod common;
mod nemesis_common;

use common::{Lab, lab_available, read_json};
use nemesis_common::{check_nemesis_ops, detect, history, leftovers};

/// One lab at a time: the detection runs measure power, which a second lab loading the two
/// cores at the same time would blur.
static ONE_LAB: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_lab() -> std::sync::MutexGuard<'static, ()> {
    ONE_LAB.lock().unwrap_or_else(|e| e.into_inner())
}

/// The run's client stderr files, one per client OS process.
fn stderr_files(run_dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let dir = run_dir.join("clients");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".stderr"))
        .collect();
    files.sort();
    files
}

#[test]
fn the_python_client_on_linearizable_etcd_is_valid_in_5_of_5_runs() {
    if !lab_available("the_python_client_on_linearizable_etcd_is_valid_in_5_of_5_runs") {
        return;
    }
    let _one = one_lab();
    let lab = Lab::up("npy", 88, 3);
    let store = tempfile::tempdir().unwrap();
    for seed in 1..=5u64 {
        let out = lab.test(
            "tests/etcd-register-python.yaml",
            store.path(),
            &["--seed", &seed.to_string()],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "seed {seed}: linearizable etcd through the Python client must come out valid"
        );
        let dir = std::fs::canonicalize(store.path().join("etcd-register-python/latest")).unwrap();
        assert_eq!(read_json(&dir.join("results.json"))["verdict"], "valid");
        let ops = history(&dir);
        let faults = check_nemesis_ops(&ops);
        assert!(
            faults.iter().any(|f| f.starts_with("start-")),
            "seed {seed}: no fault was injected: {faults:?}"
        );
        let ok = ops
            .iter()
            .filter(|o| o["type"] == "ok" && o["process"] != "nemesis")
            .count();
        assert!(ok > 100, "seed {seed}: only {ok} ok ops");
        // One stderr file per client OS process, in the run's store.
        assert!(
            !stderr_files(&dir).is_empty(),
            "seed {seed}: no stderr files"
        );
    }
    let left = leftovers(&lab.dir);
    assert!(left.is_empty(), "{left:#?}");
    lab.down();
    lab.assert_gone();
}

#[test]
fn the_python_client_with_serializable_reads_is_caught_as_often_as_the_native_one() {
    if !lab_available(
        "the_python_client_with_serializable_reads_is_caught_as_often_as_the_native_one",
    ) {
        return;
    }
    let _one = one_lab();
    detect("npydet", 89, "etcd-serializable-reads-python");
}

#[test]
fn the_shell_client_on_a_healthy_cluster_is_valid() {
    if !lab_available("the_shell_client_on_a_healthy_cluster_is_valid") {
        return;
    }
    let _one = one_lab();
    let lab = Lab::up("nsh", 90, 3);
    let store = tempfile::tempdir().unwrap();
    let out = lab.test(
        "tests/etcd-register-shell.yaml",
        store.path(),
        &["--seed", "1"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "the shell client must come out valid"
    );
    let dir = std::fs::canonicalize(store.path().join("etcd-register-shell/latest")).unwrap();
    let results = read_json(&dir.join("results.json"));
    assert_eq!(results["verdict"], "valid");
    let ops = history(&dir);
    for f in ["read", "write", "cas"] {
        assert!(
            ops.iter().any(|o| o["type"] == "ok" && o["f"] == f),
            "no ok {f} through the shell client"
        );
    }
    lab.down();
    lab.assert_gone();
}
