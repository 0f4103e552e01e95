//! Hostile numbers in test definitions, database definitions, flags and stored
//! `test.yaml` files: each is bad input (exit 3) with a message naming the file,
//! line and limit; never a panic (exit 101), and never after something was created
//! (no store directory). All runs use the in-process `memory` client: no lab needed.

mod common;

use std::path::Path;

use common::run;

const MEMORY: &str = "name: hostile\nclient: {type: memory}\n";

/// Runs `splitbrain args...` in `dir` and checks the outcome every hostile input must have.
fn rejected(dir: &Path, args: &[&str], wants: &[&str]) -> String {
    let out = run(dir, args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_ne!(out.status.code(), Some(101), "panicked: {err}");
    assert!(!err.contains("panicked"), "panicked: {err}");
    assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
    for w in wants {
        assert!(err.contains(w), "{args:?}: expected {w:?} in: {err}");
    }
    assert!(
        !dir.join("store").exists(),
        "{args:?}: a store directory was created before the input was checked"
    );
    err
}

fn definition(dir: &Path, body: &str) -> String {
    let path = dir.join("hostile.yaml");
    std::fs::write(&path, body).unwrap();
    "hostile.yaml".into()
}

#[test]
fn hostile_numbers_in_a_test_definition_name_the_file_line_and_limit() {
    for (line2, at, limit) in [
        (
            "time-limit: 1e300",
            "hostile.yaml:3:13",
            "duration `1e300` is longer than the maximum 7d",
        ),
        (
            "op-timeout: 1e20",
            "hostile.yaml:3:13",
            "duration `1e20` is longer than the maximum 7d",
        ),
        (
            "time-limit: 99999999999999999999s",
            "hostile.yaml:3:13",
            "longer than the maximum 7d",
        ),
        (
            "concurrency: 100000000n",
            "hostile.yaml:3:14",
            "more than the maximum of 10000 workers",
        ),
        (
            "rate: .nan",
            "hostile.yaml:3:7",
            "rate: a positive number of operations per second",
        ),
        (
            "workload: {type: register, ops-per-key: 0}",
            "hostile.yaml:3:",
            "ops-per-key: at least 1",
        ),
        (
            "nemesis: {faults: [kill], interval: 1e300}",
            "hostile.yaml:3:",
            "longer than the maximum 7d",
        ),
        (
            "nemesis: {packet: {loss: 250}}",
            "hostile.yaml:3:",
            "a percentage from 0 to 100, got 250",
        ),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let file = definition(tmp.path(), &format!("{MEMORY}{line2}\n"));
        rejected(tmp.path(), &["test", &file], &[at, limit]);
    }
}

#[test]
fn a_nan_stale_probability_is_rejected_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let file = definition(
        tmp.path(),
        "name: hostile\nclient: {type: memory-stale, stale-probability: .nan}\n",
    );
    rejected(
        tmp.path(),
        &["test", &file],
        &["hostile.yaml:2:", "a probability from 0 to 1, got NaN"],
    );
}

#[test]
fn a_hostile_database_definition_names_its_own_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("db.yaml"),
        "name: t\ndata_dir: /var/lib/t\ndaemon:\n  command: [sleep, '100']\n  pid_file: /run/t.pid\n  log_file: /var/log/t.log\nready:\n  tcp: 1234\n  timeout: 99999999999999999999s\n",
    )
    .unwrap();
    let file = definition(tmp.path(), &format!("{MEMORY}db: db.yaml\n"));
    // Loopback only, and the check comes before any connection is tried.
    rejected(
        tmp.path(),
        &["test", &file, "--nodes", "127.0.0.1"],
        &["db.yaml:9:12", "longer than the maximum 7d"],
    );
}

#[test]
fn hostile_flags_name_the_flag_and_limit() {
    for (flag, value, limit) in [
        (
            "--time-limit",
            "1e300",
            "duration `1e300` is longer than the maximum 7d",
        ),
        (
            "--nemesis-interval",
            "1e300",
            "duration `1e300` is longer than the maximum 7d",
        ),
        ("--nemesis-interval", "10ms", "use at least 100ms"),
        (
            "--op-timeout",
            "1e20",
            "duration `1e20` is longer than the maximum 7d",
        ),
        ("--time-limit", "-5s", "negative"),
        ("--time-limit", "0", "must be more than 0s"),
        (
            "--rate",
            "nan",
            "a positive number of operations per second",
        ),
        ("--rate", "0", "a positive number of operations per second"),
        (
            "--concurrency",
            "100000000n",
            "more than the maximum of 10000 workers",
        ),
        ("--test-count", "0", "a number of runs from 1 to 10000"),
        ("--test-count", "99999999999999999999999", "from 1 to 10000"),
        ("--lab", "100000000", "a number of lab nodes from 1 to 253"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let file = definition(tmp.path(), MEMORY);
        // `--flag=value`, so that clap does not read `-5s` as a flag of its own.
        let arg = format!("{flag}={value}");
        let err = rejected(tmp.path(), &["test", &file, &arg], &[limit]);
        assert!(err.contains(flag), "{flag} not named: {err}");
    }
}

#[test]
fn a_hostile_stored_test_yaml_is_bad_input_for_analyze() {
    let tmp = tempfile::tempdir().unwrap();
    // A run directory as `test` leaves it, with a hand-edited test.yaml.
    let run_dir = tmp.path().join("runs/hostile/20250101T000000.000");
    std::fs::create_dir_all(&run_dir).unwrap();
    std::fs::write(run_dir.join("history.jsonl"), "").unwrap();
    std::fs::write(
        run_dir.join("test.yaml"),
        "name: hostile\nclient:\n  type: memory\nworkload:\n  type: register\ntime-limit: 1e300\n",
    )
    .unwrap();
    let out = run(tmp.path(), &["analyze", run_dir.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(101), "panicked: {err}");
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("test.yaml:6:13") && err.contains("longer than the maximum 7d"),
        "{err}"
    );
    assert!(
        !run_dir.join("results.json").exists(),
        "analyze wrote results for a definition it could not read"
    );
}

#[test]
fn the_limits_are_in_the_help() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(tmp.path(), &["test", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for w in ["1m30s", "at most 7d", "1 to 10000", "100ms to 7d"] {
        assert!(help.contains(w), "{w:?} missing from --help:\n{help}");
    }
}

#[test]
fn a_hostile_definition_fails_before_a_lab_is_brought_up() {
    let tmp = tempfile::tempdir().unwrap();
    let file = definition(tmp.path(), &format!("{MEMORY}time-limit: 1e300\n"));
    let lab_dir = tmp.path().join("lab");
    rejected(
        tmp.path(),
        &[
            "test",
            &file,
            "--lab",
            "3",
            "--lab-dir",
            lab_dir.to_str().unwrap(),
        ],
        &["hostile.yaml:3:13", "longer than the maximum 7d"],
    );
    assert!(
        !lab_dir.exists(),
        "the lab was touched before the definition was checked"
    );
}
