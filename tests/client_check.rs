//! `splitbrain client-check`: a conformance run of a client program against the
//! in-process reference store. A correct client passes; one that answers `fail` when a
//! reply was lost (the op took effect) is caught by the checkers; one that answers with
//! wrong ids is caught as protocol violations. Real Python programs
//! (tests/clients/reference_client.py), real processes, loopback only.

mod common;

use common::{repo, run};

fn client_check(store: &std::path::Path, extra: &[&str], flags: &[&str]) -> (i32, String) {
    let mut args = vec![
        "client-check",
        "--store",
        store.to_str().unwrap(),
        "--time-limit",
        "2s",
        "--seed",
        "7",
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", "python3", "tests/clients/reference_client.py"]);
    args.extend_from_slice(flags);
    let out = run(&repo(), &args);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn a_correct_client_is_conformant() {
    let store = tempfile::tempdir().unwrap();
    let (code, out) = client_check(store.path(), &[], &[]);
    assert_eq!(code, 0, "{out}");
    for w in ["register", "set", "counter"] {
        assert!(out.contains(&format!("{w}: valid")), "{out}");
    }
    assert!(
        out.contains("client-check: conformant (3 workloads"),
        "{out}"
    );
    // Every workload's run is kept, with the program's stderr.
    let runs = std::fs::read_dir(store.path().join("client-check-set"))
        .unwrap()
        .count();
    assert!(runs >= 2, "a run and `latest`");
    let latest = store.path().join("client-check-set/latest");
    assert!(latest.join("clients/process-0.stderr").exists());
    assert!(latest.join("results.json").exists());
    // The report links them.
    let report = std::fs::read_to_string(latest.join("report.html")).unwrap();
    assert!(report.contains("clients/process-0.stderr"));
}

#[test]
fn a_client_that_says_fail_for_a_lost_reply_gives_wrong_answers() {
    let store = tempfile::tempdir().unwrap();
    let (code, out) = client_check(
        store.path(),
        &["--workload", "counter", "--lost-replies", "0.1"],
        &["--fail-on-timeout"],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("counter: invalid"), "{out}");
    assert!(out.contains("wrong answers in: counter"), "{out}");
    assert!(out.contains("0 protocol violation(s)"), "{out}");
}

#[test]
fn a_client_that_answers_with_wrong_ids_breaks_the_protocol() {
    let store = tempfile::tempdir().unwrap();
    let (code, out) = client_check(store.path(), &["--workload", "set"], &["--wrong-id"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "protocol: client program `python3 tests/clients/reference_client.py --wrong-id`"
        ) && out.contains("a reply with id 4 while op 3 was waiting"),
        "{out}"
    );
    assert!(!out.contains("0 protocol violation(s)"), "{out}");
}

#[test]
fn bad_flags_are_usage_errors() {
    let store = tempfile::tempdir().unwrap();
    let s = store.path().to_str().unwrap();
    for (args, want) in [
        (vec!["client-check", "--store", s], "COMMAND"),
        (
            vec!["client-check", "--lost-replies", "1.5", "--", "true"],
            "a fraction from 0 to 1",
        ),
        (
            vec!["client-check", "--workload", "bank", "--", "true"],
            "register",
        ),
        (
            vec!["client-check", "--option", "=1", "--", "true"],
            "KEY=VALUE",
        ),
    ] {
        let out = run(&repo(), &args);
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

#[test]
fn the_shipped_python_client_is_conformant_in_reference_mode() {
    let store = tempfile::tempdir().unwrap();
    let out = run(
        &repo(),
        &[
            "client-check",
            "--store",
            store.path().to_str().unwrap(),
            "--time-limit",
            "2s",
            "--seed",
            "3",
            "--",
            "python3",
            "clients/etcd_gateway.py",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("client-check: conformant (3 workloads"),
        "{stdout}"
    );
}
