//! etcd with linearizable reads under partitions, kills and pauses comes out valid; the
//! history holds the nemesis' start and stop ops, in time order with the client ops; the
//! clock fault is reported as having no effect on etcd (a Go program); and the nodes are
//! healed afterwards. Needs root (runs under CI=true; skips elsewhere with the reason).

mod common;
mod nemesis_common;

use common::{Lab, lab_available, read_json};
use nemesis_common::{check_nemesis_ops, history, leftovers};

#[test]
fn etcd_linearizable_reads_survive_partitions_kills_and_pauses() {
    if !lab_available("etcd_linearizable_reads_survive_partitions_kills_and_pauses") {
        return;
    }
    let lab = Lab::up("netcd", 83, 3);
    let store = tempfile::tempdir().unwrap();
    let out = lab.test(
        "tests/etcd-register.yaml",
        store.path(),
        &[
            "--nemesis",
            "partition,kill,pause,clock",
            "--nemesis-interval",
            "3s",
            "--time-limit",
            "30s",
            "--seed",
            "11",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "linearizable etcd must come out valid"
    );
    // Said plainly, in the output and in results.json.
    assert!(
        stdout.contains("note: clock faults have no effect on etcd")
            && stdout.contains("Go program"),
        "{stdout}"
    );
    let dir = std::fs::canonicalize(store.path().join("etcd-register/latest")).unwrap();
    let results = read_json(&dir.join("results.json"));
    assert_eq!(results["verdict"], "valid");
    assert!(
        results["notes"]
            .to_string()
            .contains("clock faults have no effect on etcd"),
        "{results}"
    );
    // The effective test.yaml records the resolved nemesis (reproducible with its seed).
    let test_yaml = std::fs::read_to_string(dir.join("test.yaml")).unwrap();
    assert!(
        test_yaml.contains("nemesis:") && test_yaml.contains("interval: 3s"),
        "{test_yaml}"
    );

    let ops = history(&dir);
    let fs = check_nemesis_ops(&ops);
    let starts: Vec<&String> = fs.iter().filter(|f| f.starts_with("start-")).collect();
    assert!(starts.len() >= 3, "too few faults in 30 s: {fs:?}");
    assert!(
        !fs.iter().any(|f| f.contains("clock")),
        "a clock fault was pretended: {fs:?}"
    );
    // Client ops happened while faults were in place: nemesis and client ops interleave.
    let first_start = ops
        .iter()
        .position(|o| o["f"].as_str().is_some_and(|f| f.starts_with("start-")))
        .unwrap();
    let first_stop = ops
        .iter()
        .position(|o| o["f"].as_str().is_some_and(|f| f.starts_with("stop-")))
        .unwrap();
    assert!(
        ops[first_start..first_stop]
            .iter()
            .any(|o| o["process"].is_u64()),
        "no client op during the first fault"
    );
    // Faults carry their details.
    for op in ops.iter().filter(|o| o["process"] == "nemesis") {
        match op["f"].as_str().unwrap() {
            "start-partition" => assert!(op["value"]["grudge"].is_object(), "{op}"),
            "start-kill" => assert_eq!(op["value"]["signal"], "KILL", "{op}"),
            "start-pause" => assert_eq!(op["value"]["signal"], "STOP", "{op}"),
            _ => {}
        }
    }
    let left = leftovers(&lab.dir);
    assert!(left.is_empty(), "after the etcd run: {left:#?}");
    lab.down();
    lab.assert_gone();
}
