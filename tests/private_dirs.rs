//! A lab whose nodes would share a database's directories is refused by `db up` and by
//! `test`, before any SSH connection, naming the directory and the fix. No lab is needed:
//! the inventory of a lab made without etcd's private_dirs is written by hand, with node
//! addresses nothing answers on.

mod common;

use std::path::Path;

use common::run;

fn fake_lab(dir: &Path) {
    let inventory = serde_json::json!({
        "nodes": [
            {"name": "n1", "host": "10.77.250.1", "port": 22},
            {"name": "n2", "host": "10.77.250.2", "port": 22},
        ],
        "user": "root",
        "lab": {
            "name": "lab",
            "dir": dir,
            "subnet": "10.77.250.0/24",
            "private_dirs": ["/opt", "/run", "/tmp", "/var/log"],
        },
    });
    std::fs::write(dir.join("inventory.json"), inventory.to_string()).unwrap();
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn db_up_and_test_refuse_a_lab_that_shares_the_data_directory() {
    let lab = tempfile::tempdir().unwrap();
    fake_lab(lab.path());
    let lab_dir = lab.path().to_str().unwrap();
    let fix = format!(
        "`splitbrain lab down --lab-dir {lab_dir} && splitbrain lab up --lab-dir {lab_dir} --private-dir /var/lib/etcd`"
    );

    let out = run(
        &common::repo(),
        &["db", "up", "dbs/etcd.yaml", "--lab-dir", lab_dir],
    );
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(
        err.contains("dbs/etcd.yaml: private_dirs /var/lib/etcd is not private to each lab node")
            && err.contains(&fix)
            && err.contains("--db FILE")
            && err.contains("run on nodes where it is private"),
        "{err}"
    );

    // The built-in test, through the harness: the same check, before connecting (a
    // connection attempt would fail with another message).
    let store = tempfile::tempdir().unwrap();
    let out = run(
        &common::repo(),
        &[
            "test",
            "--lab-dir",
            lab_dir,
            "--store",
            store.path().to_str().unwrap(),
            "--time-limit",
            "1s",
        ],
    );
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(
        err.contains(
            "built-in dbs/etcd.yaml: private_dirs /var/lib/etcd is not private to each lab node"
        ) && err.contains(&fix),
        "{err}"
    );
}

#[test]
fn lab_up_help_names_the_built_in_databases_private_dirs() {
    let out = run(&common::repo(), &["lab", "up", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("Always private: /opt, /run, /tmp, /var/log, /var/lib/etcd"),
        "{help}"
    );
    assert!(help.contains("--db <FILE>"), "{help}");
}
