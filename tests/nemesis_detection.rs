//! Detection: etcd with serializable reads under the partition nemesis is found
//! non-linearizable. `tests/etcd-serializable-reads.yaml` is run as shipped, ten times on a
//! 3-node lab (fixed seeds 1..=10, so that a miss can be replayed), and must be caught in at
//! least 9 of the 10 runs. The detection rate is printed.
//! Needs root (runs under CI=true; skips elsewhere with the reason).

mod common;
mod nemesis_common;

use std::time::Instant;

use common::{Lab, lab_available, read_json};
use nemesis_common::{check_nemesis_ops, history, leftovers};

const RUNS: u64 = 10;
const REQUIRED: usize = 9;

#[test]
fn etcd_serializable_reads_are_caught_under_partitions() {
    if !lab_available("etcd_serializable_reads_are_caught_under_partitions") {
        return;
    }
    detect("ndet", 86, "etcd-serializable-reads");
}

/// Runs `tests/<test>.yaml` [`RUNS`] times on a lab of its own and asserts that at least
/// [`REQUIRED`] runs come out invalid, each with a partition in its history.
pub fn detect(lab_name: &str, octet: u8, test: &str) {
    let lab = Lab::up(lab_name, octet, 3);
    let store = tempfile::tempdir().unwrap();
    let def = format!("tests/{test}.yaml");
    let mut caught = Vec::new();
    let mut missed = Vec::new();
    let started = Instant::now();
    for seed in 1..=RUNS {
        let t = Instant::now();
        let out = lab.test(&def, store.path(), &["--seed", &seed.to_string()]);
        let dir = std::fs::canonicalize(store.path().join(test).join("latest")).unwrap();
        let results = read_json(&dir.join("results.json"));
        let fs = check_nemesis_ops(&history(&dir));
        assert!(
            fs.iter().any(|f| f == "start-partition"),
            "seed {seed}: no partition: {fs:?}"
        );
        match out.status.code() {
            Some(1) => {
                assert_eq!(results["verdict"], "invalid");
                caught.push(seed);
            }
            Some(0) | Some(2) => missed.push(seed),
            other => panic!("seed {seed}: the run failed ({other:?})"),
        }
        eprintln!(
            "seed {seed}: exit {:?} in {:.0?}",
            out.status.code(),
            t.elapsed()
        );
    }
    eprintln!(
        "DETECTION RATE: {} of {RUNS} runs found {test} non-linearizable (caught: {caught:?}, missed: {missed:?}) in {:.0?}",
        caught.len(),
        started.elapsed()
    );
    let left = leftovers(&lab.dir);
    assert!(left.is_empty(), "{left:#?}");
    lab.down();
    lab.assert_gone();
    assert!(
        caught.len() >= REQUIRED,
        "{test}: only {} of {RUNS} runs caught the stale reads (missed seeds {missed:?})",
        caught.len()
    );
}
