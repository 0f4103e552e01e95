//! The operator's path: `splitbrain lab up`, `db up dbs/etcd.yaml`, `db status`, `db down`,
//! `lab down`, as commands with exit codes and messages. Needs root and the lab's packages;
//! runs under CI=true, skips elsewhere.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::lab_available;

const BIN: &str = env!("CARGO_BIN_EXE_splitbrain");
const LAB_DIR: &str = "/var/cache/splitbrain/test-tcli";

fn splitbrain(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn lab_and_etcd_from_the_command_line() {
    if !lab_available("lab_and_etcd_from_the_command_line") {
        return;
    }
    let lab = ["--name", "tcli", "--lab-dir", LAB_DIR];
    let with = |args: &[&str]| -> Vec<String> {
        args.iter()
            .chain(lab.iter())
            .map(|s| s.to_string())
            .collect()
    };
    let run = |args: Vec<String>| splitbrain(&args.iter().map(String::as_str).collect::<Vec<_>>());
    run(with(&["lab", "down"]));

    let out = run(with(&[
        "lab",
        "up",
        "--nodes",
        "3",
        "--subnet",
        "10.77.61.0/24",
    ]));
    let result = std::panic::catch_unwind(|| {
        assert!(out.status.success(), "{}", text(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("n3     10.77.61.3") && stdout.contains("inventory:"),
            "{}",
            text(&out)
        );

        let out = run(with(&["lab", "status"]));
        assert!(out.status.success(), "{}", text(&out));

        // The db commands find the nodes through the lab's inventory.
        let db = |action: &str, extra: &[&str]| {
            let mut args = vec![
                "db".to_string(),
                action.to_string(),
                "dbs/etcd.yaml".into(),
                "--lab-dir".into(),
                LAB_DIR.into(),
            ];
            args.extend(extra.iter().map(|s| s.to_string()));
            run(args)
        };
        let out = db("up", &[]);
        assert!(out.status.success(), "{}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("leader: n"),
            "{}",
            text(&out)
        );
        let out = db("status", &[]);
        assert!(out.status.success(), "{}", text(&out));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout)
                .matches(" ready ")
                .count(),
            3,
            "{}",
            text(&out)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout)
                .matches("leader")
                .count(),
            1,
            "{}",
            text(&out)
        );

        // A misspelled definition: exit 3, file, line and the valid names.
        let bad = tempfile::tempdir().unwrap();
        let bad_file = bad.path().join("bad.yaml");
        std::fs::write(
            &bad_file,
            std::fs::read_to_string("dbs/etcd.yaml")
                .unwrap()
                .replace("  pid_file:", "  pidfile:"),
        )
        .unwrap();
        let out = run(vec![
            "db".into(),
            "up".into(),
            bad_file.display().to_string(),
            "--lab-dir".into(),
            LAB_DIR.into(),
        ]);
        assert_eq!(out.status.code(), Some(3), "{}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!(
                "{}:62:3: unknown field `pidfile`",
                bad_file.display()
            )) && stderr.contains("pid_file"),
            "{stderr}"
        );

        let logs = tempfile::tempdir().unwrap();
        let out = db("down", &["--logs", logs.path().to_str().unwrap()]);
        assert!(out.status.success(), "{}", text(&out));
        assert!(logs.path().join("n2/etcd.log").exists(), "{}", text(&out));
        let out = db("status", &[]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("not running"),
            "{}",
            text(&out)
        );
    });

    let out = run(with(&["lab", "down"]));
    assert!(out.status.success(), "{}", text(&out));
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("3 namespaces"),
        "{}",
        text(&out)
    );
    let again = run(with(&["lab", "down"]));
    assert!(
        again.status.success()
            && String::from_utf8_lossy(&again.stdout).contains("nothing to remove"),
        "{}",
        text(&again)
    );
    let status = run(with(&["lab", "status"]));
    assert_eq!(status.status.code(), Some(1), "{}", text(&status));
    let netns = String::from_utf8(
        Command::new("ip")
            .args(["netns", "list"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(!netns.contains("sb-tcli-"), "{netns}");
    assert!(!Path::new(LAB_DIR).exists());
}

#[test]
fn lab_up_explains_missing_prerequisites() {
    if !lab_available("lab_up_explains_missing_prerequisites") {
        return;
    }
    // As an unprivileged user, with no tools on PATH: the message says what to do.
    let out = Command::new("/usr/bin/setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            BIN,
            "lab",
            "up",
            "--nodes",
            "1",
            "--name",
            "tpre",
        ])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("must run as root"), "{stderr}");
    assert!(
        stderr.contains("apt-get install -y iproute2 iptables"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}
