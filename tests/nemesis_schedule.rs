//! A nemesis schedule written in YAML runs as written: tests/etcd-primaries-then-majority.yaml
//! partitions the primaries, heals, then kills a majority and heals, and the history's nemesis
//! ops come in exactly that order. Needs root and the lab (runs under CI=true; skips
//! elsewhere with the reason). The same schedule is checked without a lab, plan only, in the
//! nemeses crate (`the_example_schedule_partitions_the_primaries_then_kills_a_majority`).

mod common;
mod nemesis_common;

use common::{Lab, lab_available, read_json};
use nemesis_common::{check_nemesis_ops, history, leftovers};

#[test]
fn a_yaml_schedule_partitions_the_primaries_then_kills_a_majority() {
    if !lab_available("a_yaml_schedule_partitions_the_primaries_then_kills_a_majority") {
        return;
    }
    let lab = Lab::up("nsched", 87, 3);
    let store = tempfile::tempdir().unwrap();
    let out = lab.test(
        "tests/etcd-primaries-then-majority.yaml",
        store.path(),
        &["--seed", "3"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "linearizable etcd must come out valid\n{stdout}\n{stderr}"
    );
    let dir =
        std::fs::canonicalize(store.path().join("etcd-primaries-then-majority/latest")).unwrap();
    assert_eq!(read_json(&dir.join("results.json"))["verdict"], "valid");
    // The stored definition keeps the schedule as written.
    let test_yaml = std::fs::read_to_string(dir.join("test.yaml")).unwrap();
    assert!(test_yaml.contains("schedule:"), "{test_yaml}");

    let ops = history(&dir);
    let fs = check_nemesis_ops(&ops);
    assert_eq!(
        fs,
        [
            "start-partition",
            "stop-partition",
            "start-kill",
            "stop-kill"
        ],
        "the schedule's order"
    );
    let nemesis: Vec<&serde_json::Value> =
        ops.iter().filter(|o| o["process"] == "nemesis").collect();
    assert_eq!(
        nemesis[0]["value"]["topology"], "primaries",
        "{}",
        nemesis[0]
    );
    assert_eq!(nemesis[2]["value"]["target"], "majority", "{}", nemesis[2]);
    assert_eq!(
        nemesis[2]["value"]["nodes"].as_array().map(Vec::len),
        Some(2),
        "a majority of 3: {}",
        nemesis[2]
    );
    // About 5 s apart (the schedule's sleeps), in the test's nanoseconds.
    for (start, stop) in [(0, 1), (2, 3)] {
        let held =
            nemesis[stop]["time"].as_i64().unwrap() - nemesis[start]["time"].as_i64().unwrap();
        assert!(held >= 4_500_000_000, "held {held} ns: {}", nemesis[start]);
    }
    let left = leftovers(&lab.dir);
    assert!(left.is_empty(), "after the run: {left:#?}");
    lab.down();
    lab.assert_gone();
}
