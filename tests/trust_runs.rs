//! `splitbrain test` and `splitbrain analyze` never pass a run that gave the
//! checkers nothing to judge, and say what each checker left out — in the
//! terminal summary, `results.json`, `junit.xml` and the report. In-process
//! clients: no lab needed.

mod common;

use std::path::{Path, PathBuf};

use common::{read_json, run};

fn write_test(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, format!("name: {name}\n{body}")).unwrap();
    path
}

fn latest(dir: &Path, name: &str) -> PathBuf {
    std::fs::canonicalize(dir.join("store").join(name).join("latest")).unwrap()
}

/// A test so slow (one op per 1000 s) that its 1 s run records no op.
fn idle_run(dir: &Path, checkers: &str) -> PathBuf {
    let def = write_test(
        dir,
        "idle",
        &format!(
            "client: {{type: memory}}\nworkload: {{type: register}}\nconcurrency: 1\nrate: 0.001\ntime-limit: 1s\nseed: 1\n{checkers}"
        ),
    );
    let out = run(dir, &["test", def.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a run without ops is unknown (exit 2)"
    );
    latest(dir, "idle")
}

/// An idle run whose history is replaced by `history` (JSONL lines), then
/// `splitbrain analyze`d: its run directory and the command's output.
fn analyze_history(tmp: &Path, history: &[&str]) -> (PathBuf, std::process::Output) {
    let dir = idle_run(tmp, "");
    std::fs::write(dir.join("history.jsonl"), history.join("\n") + "\n").unwrap();
    let out = run(tmp, &["analyze", dir.to_str().unwrap()]);
    (dir, out)
}

#[test]
fn a_run_that_recorded_nothing_is_unknown_even_with_only_the_linearizability_checker() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = idle_run(tmp.path(), "checkers: [linearizable]\n");
    let results = read_json(&dir.join("results.json"));
    assert_eq!(results["verdict"], "unknown", "{results}");
    let c = &results["checkers"][0];
    assert_eq!(c["name"], "linearizable");
    assert_eq!(c["verdict"], "unknown");
    assert_eq!(c["summary"], "unknown: no client operations to check");
    assert_eq!(c["result"]["unknown_cause"], "no-evidence");
    // JUnit: an error (not decided), not a pass.
    let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&junit).unwrap();
    let error = doc
        .descendants()
        .find(|n| n.has_tag_name("error"))
        .expect("the unknown checker is a JUnit error");
    assert_eq!(error.attribute("type"), Some("unknown"));
    assert_eq!(
        error.attribute("message"),
        Some("unknown: no client operations to check")
    );
}

#[test]
fn analyze_of_a_run_whose_ops_all_failed_is_unknown_and_counts_what_it_left_out() {
    let tmp = tempfile::tempdir().unwrap();
    // The cluster was down: every op failed or timed out, faults came and went.
    let (dir, out) = analyze_history(
        tmp.path(),
        &[
            r#"{"index":0,"time":1000,"process":"nemesis","type":"info","f":"start-partition","value":null}"#,
            r#"{"index":1,"time":2000,"process":0,"type":"invoke","f":"write","value":1}"#,
            r#"{"index":2,"time":3000,"process":0,"type":"fail","f":"write","value":1}"#,
            r#"{"index":3,"time":4000,"process":0,"type":"invoke","f":"read","value":null}"#,
            r#"{"index":4,"time":5000,"process":0,"type":"info","f":"read","value":null}"#,
            r#"{"index":5,"time":6000,"process":"nemesis","type":"info","f":"stop-partition","value":null}"#,
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("→  UNKNOWN"), "{stdout}");
    let results = read_json(&dir.join("results.json"));
    assert_eq!(results["verdict"], "unknown");
    let lin = &results["checkers"][0];
    assert_eq!(lin["verdict"], "unknown");
    assert_eq!(
        lin["summary"],
        "unknown: no client operations to check: none of the 2 client operations completed with ok; \
         2 nemesis ops, 1 failed op and 1 info read left out"
    );
    let stats = &results["checkers"][1];
    assert_eq!(stats["name"], "stats");
    assert_eq!(stats["verdict"], "unknown");
    assert!(
        stats["summary"]
            .as_str()
            .unwrap()
            .starts_with("no client operation succeeded (1 fail, 1 info): too little to judge"),
        "{stats}"
    );
    // The terminal summary line says the same.
    assert!(
        stdout.contains("2 nemesis ops, 1 failed op and 1 info read left out"),
        "{stdout}"
    );
}

#[test]
fn analyze_reports_what_was_left_out_of_a_valid_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, out) = analyze_history(
        tmp.path(),
        &[
            r#"{"index":0,"time":1000,"process":"nemesis","type":"info","f":"start-kill","value":null}"#,
            r#"{"index":1,"time":2000,"process":0,"type":"invoke","f":"write","value":1}"#,
            r#"{"index":2,"time":3000,"process":0,"type":"ok","f":"write","value":1}"#,
            r#"{"index":3,"time":4000,"process":0,"type":"invoke","f":"read","value":null}"#,
            r#"{"index":4,"time":5000,"process":0,"type":"ok","f":"read","value":1}"#,
            r#"{"index":5,"time":6000,"process":"nemesis","type":"info","f":"stop-kill","value":null}"#,
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let results = read_json(&dir.join("results.json"));
    let lin = &results["checkers"][0];
    assert_eq!(lin["verdict"], "valid");
    assert!(
        lin["summary"]
            .as_str()
            .unwrap()
            .ends_with("; 2 nemesis ops left out"),
        "{lin}"
    );
    assert_eq!(lin["result"]["left_out"][0]["reason"], "nemesis");
    let report = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(report.contains("2 nemesis ops left out"));
}
