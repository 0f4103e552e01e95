//! End to end on a real 3-node lab with etcd, no faults: the register, set,
//! counter and unique-ids workloads all come out valid and the store holds every file.
//! Needs root (runs under CI=true; skips elsewhere with the reason).

mod common;

use common::{Lab, lab_available, read_json, repo, run};

#[test]
fn etcd_register_set_and_counter_are_valid_on_a_three_node_lab() {
    if !lab_available("etcd_register_set_and_counter_are_valid_on_a_three_node_lab") {
        return;
    }
    let lab = Lab::up("e2e", 60, 3);
    let store = tempfile::tempdir().unwrap();
    for test in [
        "etcd-register",
        "etcd-set",
        "etcd-counter",
        "etcd-unique-ids",
    ] {
        let def = repo().join(format!("tests/{test}.yaml"));
        let out = run(
            &repo(),
            &[
                "test",
                def.to_str().unwrap(),
                "--lab-dir",
                lab.dir_arg(),
                "--time-limit",
                "12s",
                "--store",
                store.path().to_str().unwrap(),
            ],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{test} should be valid on a healthy cluster"
        );
        let dir = std::fs::canonicalize(store.path().join(test).join("latest")).unwrap();
        for f in [
            "test.yaml",
            "history.jsonl",
            "results.json",
            "controller.log",
        ] {
            assert!(dir.join(f).exists(), "{test}: {f} missing");
        }
        for n in ["n1", "n2", "n3"] {
            let log = dir.join("nodes").join(n).join("etcd.log");
            assert!(log.exists(), "{test}: node log {} missing", log.display());
        }
        let results = read_json(&dir.join("results.json"));
        assert_eq!(results["verdict"], "valid", "{results}");
        assert!(
            results["ops"]["ok"].as_u64().unwrap() > 100,
            "{test}: too few ops: {results}"
        );
    }
    lab.down();
    lab.assert_gone();
}
