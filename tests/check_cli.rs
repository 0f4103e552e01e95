//! `splitbrain check` as users run it: the built binary on real history files,
//! asserting exit codes (0 valid, 1 invalid, 2 unknown, 3 bad input) and what
//! it prints.
//!
//! Knossos corpus files come from `../shared/corpus/knossos`; without the
//! corpus those cases skip with a printed reason, except under `CI=true`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn splitbrain(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_splitbrain"))
        .args(args)
        .output()
        .expect("the splitbrain binary runs")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited normally")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/knossos");
    if dir.is_dir() {
        return Some(dir);
    }
    let reason = format!("the Knossos corpus is missing at {}", dir.display());
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{reason}; CI must have it");
    }
    eprintln!("skipping: {reason}");
    None
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn good_corpus_file_is_valid_and_exits_0() {
    let Some(dir) = corpus() else { return };
    let file = dir.join("cas-register/good/memstress3-4.edn");
    let o = splitbrain(&["check", path(&file), "--model", "cas-register"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("memstress3-4.edn: valid (cas-register"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn bad_corpus_file_is_invalid_exits_1_and_explains() {
    let Some(dir) = corpus() else { return };
    let file = dir.join("cas-register/bad/rethink-fail-minimal.edn");
    let o = splitbrain(&["check", path(&file), "--model", "cas-register"]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("rethink-fail-minimal.edn: invalid"), "{out}");
    assert!(
        out.contains("process 1's read 3 (op 2) cannot be linearized"),
        "{out}"
    );
    assert!(out.contains("write 4 → 4"), "{out}");

    // The same as JSON: the result and its counterexample.
    let o = splitbrain(&["check", path(&file), "--model", "cas-register", "--json"]);
    assert_eq!(code(&o), 1);
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("--json prints JSON");
    assert_eq!(json["verdict"], "invalid");
    let cx = &json["files"][0]["result"]["counterexample"];
    assert_eq!(cx["failed_op"]["f"], "read");
    assert_eq!(cx["failed_op"]["value"], 3);
}

#[test]
fn multi_register_needs_its_initial_value() {
    let Some(dir) = corpus() else { return };
    let file = dir.join("multi-register/good/multi-register.edn");
    let with_zero = splitbrain(&[
        "check",
        path(&file),
        "--model",
        "multi-register",
        "--initial-value",
        "0",
        "--time-limit",
        "30s",
        "--memory-limit",
        "512MiB",
    ]);
    assert_eq!(
        code(&with_zero),
        0,
        "{}{}",
        stdout(&with_zero),
        stderr(&with_zero)
    );
    // Registers starting at nil cannot be read as 0 before any write.
    let with_nil = splitbrain(&["check", path(&file), "--model", "multi-register"]);
    assert_eq!(code(&with_nil), 1, "{}", stdout(&with_nil));
}

#[test]
fn malformed_file_exits_3_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cut.jsonl");
    std::fs::write(
        &file,
        "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\n",
    )
    .unwrap();
    let o = splitbrain(&["check", path(&file), "--model", "register"]);
    assert_eq!(code(&o), 3, "{}{}", stdout(&o), stderr(&o));
    let err = stderr(&o);
    assert!(err.contains(&format!("{}:2:", file.display())), "{err}");
    assert!(err.contains("expected"), "{err}");
}

#[test]
fn op_not_fitting_the_model_exits_3_naming_the_op() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("h.jsonl");
    std::fs::write(
        &file,
        "{\"index\":0,\"process\":0,\"type\":\"invoke\",\"f\":\"cas\",\"value\":7}\n{\"index\":1,\"process\":0,\"type\":\"ok\",\"f\":\"cas\",\"value\":7}\n",
    )
    .unwrap();
    let o = splitbrain(&["check", path(&file), "--model", "cas-register"]);
    assert_eq!(code(&o), 3);
    let err = stderr(&o);
    assert!(err.contains("h.jsonl: op 0"), "{err}");
    assert!(err.contains("pair [old new]"), "{err}");
}

#[test]
fn several_files_worst_verdict_wins() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ok = root.join("examples/register-ok.jsonl");
    let stale = root.join("examples/stale-read.edn");
    let o = splitbrain(&["check", path(&ok), "--model", "cas-register"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let o = splitbrain(&["check", path(&ok), path(&stale), "--model", "cas-register"]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("overall: invalid"), "{}", stdout(&o));
    let missing = root.join("examples/no-such-history.edn");
    let o = splitbrain(&[
        "check",
        path(&ok),
        path(&missing),
        "--model",
        "cas-register",
    ]);
    assert_eq!(code(&o), 3);
    assert!(stderr(&o).contains("no-such-history.edn"), "{}", stderr(&o));
}

#[test]
fn usage_errors_exit_3_and_help_lists_exit_codes() {
    let o = splitbrain(&["check", "x.edn", "--model", "stack"]);
    assert_eq!(code(&o), 3);
    assert!(
        stderr(&o).contains("expected one of register, cas-register"),
        "{}",
        stderr(&o)
    );
    let o = splitbrain(&[
        "check",
        "x.edn",
        "--model",
        "register",
        "--memory-limit",
        "lots",
    ]);
    assert_eq!(code(&o), 3);
    let o = splitbrain(&["check", "--help"]);
    assert_eq!(code(&o), 0);
    assert!(
        stdout(&o).contains("0 valid, 1 invalid, 2 unknown"),
        "{}",
        stdout(&o)
    );
}

/// Writes `lines` (JSON objects, one per line) to `name` in `dir`.
fn write_jsonl(dir: &Path, name: &str, lines: &[&str]) -> PathBuf {
    let file = dir.join(name);
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    file
}

#[test]
fn empty_evidence_is_unknown_exit_2_never_valid() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let no_ops = dir.path().join("run.log");
    std::fs::write(
        &no_ops,
        "INFO  jepsen.core - Running test\nINFO  jepsen.core - Analysis complete\n",
    )
    .unwrap();
    let only_nemesis = dir.path().join("nemesis.edn");
    std::fs::write(
        &only_nemesis,
        "{:process :nemesis, :type :info, :f :start, :value nil}\n\
         {:process :nemesis, :type :info, :f :start, :value \"cut\"}\n",
    )
    .unwrap();
    let only_failed = write_jsonl(
        dir.path(),
        "failed.jsonl",
        &[
            r#"{"process":0,"type":"invoke","f":"write","value":1}"#,
            r#"{"process":0,"type":"fail","f":"write","value":1}"#,
        ],
    );
    for file in [&empty, &no_ops, &only_nemesis, &only_failed] {
        let o = splitbrain(&["check", path(file), "--model", "cas-register"]);
        assert_eq!(
            code(&o),
            2,
            "{}: {}{}",
            file.display(),
            stdout(&o),
            stderr(&o)
        );
        let out = stdout(&o);
        assert!(out.contains(": unknown ("), "{out}");
        assert!(
            out.contains("too little to judge: no client operations to check"),
            "{out}"
        );
        // Raising a limit would not help: no such hint.
        assert!(!out.contains("raise --"), "{out}");
    }
    let o = splitbrain(&["check", path(&only_nemesis), "--model", "register"]);
    assert!(
        stdout(&o).contains("2 nemesis ops left out"),
        "{}",
        stdout(&o)
    );
    let o = splitbrain(&["check", path(&only_failed), "--model", "register", "--json"]);
    assert_eq!(code(&o), 2);
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let r = &json["files"][0]["result"];
    assert_eq!(r["verdict"], "unknown");
    assert_eq!(r["unknown_cause"], "no-evidence");
    assert_eq!(r["left_out"][0]["reason"], "failed");
    // Among several files, an empty one makes the whole check unknown.
    let ok = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/register-ok.jsonl");
    let o = splitbrain(&["check", path(&ok), path(&empty), "--model", "cas-register"]);
    assert_eq!(code(&o), 2, "{}", stdout(&o));
    assert!(stdout(&o).contains("overall: unknown"), "{}", stdout(&o));
}

#[test]
fn the_summary_says_what_was_left_out_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_jsonl(
        dir.path(),
        "h.jsonl",
        &[
            r#"{"process":"nemesis","type":"info","f":"start-partition","value":null}"#,
            r#"{"process":0,"type":"invoke","f":"write","value":1}"#,
            r#"{"process":0,"type":"ok","f":"write","value":1}"#,
            r#"{"process":1,"type":"invoke","f":"write","value":2}"#,
            r#"{"process":1,"type":"fail","f":"write","value":2}"#,
            r#"{"process":2,"type":"invoke","f":"read","value":null}"#,
            r#"{"process":2,"type":"info","f":"read","value":null}"#,
            r#"{"process":"nemesis","type":"info","f":"stop-partition","value":null}"#,
            r#"{"process":3,"type":"invoke","f":"read","value":null}"#,
            r#"{"process":3,"type":"ok","f":"read","value":1}"#,
        ],
    );
    let o = splitbrain(&["check", path(&file), "--model", "register"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("2 nemesis ops, 1 failed op and 1 info read left out"),
        "{}",
        stdout(&o)
    );
    let o = splitbrain(&["check", path(&file), "--model", "register", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let left_out = &json["files"][0]["result"]["left_out"];
    assert_eq!(
        left_out,
        &serde_json::json!([
            { "reason": "nemesis", "count": 2 },
            { "reason": "failed", "count": 1 },
            { "reason": "unknown-read", "count": 1 },
        ])
    );
}

#[test]
fn a_float_read_from_an_integer_register_is_explained_with_both_types() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_jsonl(
        dir.path(),
        "clash.jsonl",
        &[
            r#"{"process":0,"type":"invoke","f":"write","value":1}"#,
            r#"{"process":0,"type":"ok","f":"write","value":1}"#,
            r#"{"process":1,"type":"invoke","f":"read","value":null}"#,
            r#"{"process":1,"type":"ok","f":"read","value":1.0}"#,
        ],
    );
    let o = splitbrain(&["check", path(&file), "--model", "register"]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("can't read 1.0 (a float) from a register holding 1 (an integer): integers and floats never compare equal"),
        "{out}"
    );
    assert!(out.contains("process 1's read 1.0 (op 2)"), "{out}");
    let o = splitbrain(&["check", path(&file), "--model", "register", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let clash = &json["files"][0]["result"]["counterexample"]["type_clash"];
    assert_eq!(clash["found_kind"], "a float");
    assert_eq!(clash["held_kind"], "an integer");
}

#[test]
fn the_unknown_hint_depends_on_the_engine_that_ran() {
    let dir = tempfile::tempdir().unwrap();
    // 24 concurrent writes, then a read of a value nobody wrote: depth-first
    // search must try every order of the writes before it can say invalid.
    let mut lines: Vec<String> = Vec::new();
    for kind in ["invoke", "ok"] {
        for p in 0..24 {
            lines.push(format!(
                r#"{{"process":{p},"type":"{kind}","f":"write","value":{p}}}"#
            ));
        }
    }
    lines.push(r#"{"process":99,"type":"invoke","f":"read","value":null}"#.into());
    lines.push(r#"{"process":99,"type":"ok","f":"read","value":-1}"#.into());
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let file = write_jsonl(dir.path(), "writes.jsonl", &refs);
    let o = splitbrain(&[
        "check",
        path(&file),
        "--model",
        "register",
        "--engine",
        "wgl",
        "--memory-limit",
        "24MiB",
    ]);
    assert_eq!(code(&o), 2, "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("memory limit of 24 MiB reached"), "{out}");
    assert!(
        out.contains("raise --memory-limit, or try --engine jit"),
        "{out}"
    );
    assert!(!out.contains("--engine wgl"), "{out}");
}
