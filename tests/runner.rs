//! The runner end to end with in-process clients (no lab needed): a correct
//! store comes out valid, a deliberately wrong one invalid, and a controller
//! killed mid-run leaves a history that `analyze` accepts.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{bin, read_json, run};

fn write_test(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, format!("name: {name}\n{body}")).unwrap();
    path
}

fn latest(store: &Path, name: &str) -> std::path::PathBuf {
    std::fs::canonicalize(store.join(name).join("latest")).unwrap()
}

#[test]
fn a_correct_in_process_store_is_valid_and_the_store_holds_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let def = write_test(
        tmp.path(),
        "memory-register",
        "client: {type: memory}\nworkload: {type: register}\nconcurrency: 6\nrate: 2000\ntime-limit: 2s\nseed: 7\n",
    );
    let out = run(tmp.path(), &["test", def.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a linearizable store must be valid"
    );
    let dir = latest(&tmp.path().join("store"), "memory-register");
    for f in [
        "test.yaml",
        "history.jsonl",
        "results.json",
        "controller.log",
    ] {
        assert!(dir.join(f).exists(), "{f} missing from {}", dir.display());
    }
    assert!(tmp.path().join("store/latest").exists());
    let results = read_json(&dir.join("results.json"));
    assert_eq!(results["verdict"], "valid");
    assert_eq!(results["schema"], "splitbrain-results/1");
    let names: Vec<_> = results["checkers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["linearizable", "stats"]);
    assert!(results["ops"]["ok"].as_u64().unwrap() > 1000, "{results}");
    // The effective configuration records the seed so that the run can be repeated.
    let yaml = std::fs::read_to_string(dir.join("test.yaml")).unwrap();
    assert!(yaml.contains("seed: 7"), "{yaml}");
}

#[test]
fn a_store_that_serves_stale_reads_is_caught() {
    let tmp = tempfile::tempdir().unwrap();
    for (workload, checker) in [
        ("register", "linearizable"),
        ("set", "set"),
        ("counter", "counter"),
    ] {
        let name = format!("stale-{workload}");
        let def = write_test(
            tmp.path(),
            &name,
            &format!(
                "client: {{type: memory-stale, stale-probability: 0.2}}\nworkload: {{type: {workload}}}\nconcurrency: 4\nrate: 1000\ntime-limit: 2s\nseed: 3\n"
            ),
        );
        let out = run(tmp.path(), &["test", def.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{workload}: stale reads must make the run invalid"
        );
        let results = read_json(&latest(&tmp.path().join("store"), &name).join("results.json"));
        assert_eq!(results["verdict"], "invalid");
        let c = results["checkers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == checker)
            .unwrap();
        assert_eq!(c["verdict"], "invalid", "{workload}: {c}");
    }
}

#[test]
fn a_killed_controller_leaves_a_history_that_analyze_accepts() {
    let tmp = tempfile::tempdir().unwrap();
    let def = write_test(
        tmp.path(),
        "killed",
        "client: {type: memory}\nworkload: {type: register}\nconcurrency: 4\nrate: 5000\ntime-limit: 60s\n",
    );
    let mut child = bin()
        .args(["test", def.to_str().unwrap()])
        .current_dir(tmp.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the history to have content, then SIGKILL the controller mid-run.
    let store = tmp.path().join("store");
    let deadline = Instant::now() + Duration::from_secs(30);
    let history = loop {
        if let Ok(dir) = std::fs::canonicalize(store.join("killed/latest")) {
            let h = dir.join("history.jsonl");
            if std::fs::metadata(&h)
                .map(|m| m.len() > 50_000)
                .unwrap_or(false)
            {
                break h;
            }
        }
        assert!(Instant::now() < deadline, "no history appeared");
        std::thread::sleep(Duration::from_millis(100));
    };
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let dir = history.parent().unwrap().to_path_buf();
    assert!(
        !dir.join("results.json").exists(),
        "the run was not cut short"
    );
    let lines = std::fs::read_to_string(&history).unwrap().lines().count();
    assert!(
        lines > 100,
        "only {lines} lines were streamed before the kill"
    );

    let out = run(tmp.path(), &["analyze"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the partial history of a correct store is valid"
    );
    let results = read_json(&dir.join("results.json"));
    assert_eq!(results["verdict"], "valid");
    assert!(results["ops"]["invoke"].as_u64().unwrap() > 50);
    // Also by explicit directory.
    let out = run(tmp.path(), &["analyze", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn bad_test_definitions_name_the_file_line_and_valid_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let def = write_test(
        tmp.path(),
        "typo",
        "client: {type: memory}\ntime-limt: 2s\n",
    );
    let out = run(tmp.path(), &["test", def.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("typo.yaml"), "{err}");
    assert!(err.contains("time-limt"), "{err}");
    assert!(err.contains("time-limit"), "valid names missing: {err}");
}

#[test]
fn a_bad_client_setting_fails_before_the_run_starts() {
    let tmp = tempfile::tempdir().unwrap();
    let def = write_test(
        tmp.path(),
        "bad-client",
        "client: {type: etcd, read-consistency: serialisable}\nworkload: {type: register}\ntime-limit: 2s\n",
    );
    // Loopback only: validation must stop the run before any connection is tried.
    let out = run(
        tmp.path(),
        &["test", def.to_str().unwrap(), "--nodes", "127.0.0.1"],
    );
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("read consistency"), "{err}");
    assert!(
        !tmp.path().join("store").exists(),
        "a run was started (store created) before the client setting was checked"
    );
}

#[test]
fn unique_ids_in_process_are_valid_and_a_store_that_repeats_ids_is_caught() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, client, code, verdict) in [
        ("ids", "{type: memory}", 0, "valid"),
        (
            "stale-ids",
            "{type: memory-stale, options: {stale-probability: 0.05}}",
            1,
            "invalid",
        ),
    ] {
        let def = write_test(
            tmp.path(),
            name,
            &format!(
                "client: {client}\nworkload: {{type: unique-ids}}\nconcurrency: 4\nrate: 1000\ntime-limit: 1s\nseed: 5\n"
            ),
        );
        let out = run(tmp.path(), &["test", def.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let dir = latest(&tmp.path().join("store"), name);
        let results = read_json(&dir.join("results.json"));
        let checkers = results["checkers"].as_array().unwrap();
        assert_eq!(checkers[0]["name"], "unique-ids", "{results}");
        assert_eq!(checkers[0]["verdict"], verdict, "{results}");
        assert_eq!(checkers[1]["name"], "stats");
        // What ran, as the stored test.yaml says it, runs again the same: `analyze` reads it.
        let yaml = std::fs::read_to_string(dir.join("test.yaml")).unwrap();
        assert!(yaml.contains("unique-ids"), "{yaml}");
        let again = run(tmp.path(), &["analyze", dir.to_str().unwrap()]);
        assert_eq!(again.status.code(), Some(code));
    }
}

#[test]
fn a_client_option_of_another_client_is_rejected_with_its_place() {
    let tmp = tempfile::tempdir().unwrap();
    let def = write_test(
        tmp.path(),
        "wrong-option",
        "client:\n  type: memory\n  options:\n    read-consistency: serializable\n",
    );
    let out = run(tmp.path(), &["test", def.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("wrong-option.yaml:5:5")
            && err.contains("client `memory`")
            && err.contains("unknown field `read-consistency`"),
        "{err}"
    );
    assert!(!tmp.path().join("store").exists());
}
