//! Hostile node names and hosts, through the real binary: every way of giving nodes
//! (`--nodes`, `--node`, `--nodes-file`, the lab inventory) refuses anything but host names
//! and IP addresses before any node is contacted, naming the flag or the file and line,
//! and saying what was expected.

mod common;

use common::run;

const EVIL: &str = ";touch /tmp/pwned;'";

fn refused(cwd: &std::path::Path, args: &[&str], source: &str) {
    let out = run(cwd, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{args:?}: {stderr}");
    assert!(
        stderr.contains(source) && stderr.contains("expected a host name"),
        "{args:?}: the error should name {source:?} and what is expected: {stderr}"
    );
}

#[test]
fn hostile_node_names_are_refused_naming_their_source() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let nodes = format!("n1,{EVIL}");
    refused(dir, &["heal", "--nodes", &nodes], "--nodes: node");
    refused(
        dir,
        &["heal", "--node", &format!("db1={EVIL}")],
        "--node: node",
    );
    refused(dir, &["heal", "--node", "$(id)=10.77.0.2"], "--node: node");
    refused(dir, &["heal", "--node=-oProxyCommand=id"], "--node: node");

    let file = dir.join("nodes.txt");
    std::fs::write(&file, format!("# the cluster\nn1\n{EVIL}\n")).unwrap();
    refused(
        dir,
        &["heal", "--nodes-file", file.to_str().unwrap()],
        &format!("{}:3: ", file.display()),
    );

    let lab = dir.join("lab");
    std::fs::create_dir(&lab).unwrap();
    let inventory = lab.join("inventory.json");
    std::fs::write(
        &inventory,
        format!(
            "{{\n  \"nodes\": [\n    {{\"name\": {}, \"host\": \"10.77.0.2\", \"port\": 22}}\n  ],\n  \"user\": \"root\"\n}}\n",
            serde_json::to_string(EVIL).unwrap()
        ),
    )
    .unwrap();
    refused(
        dir,
        &["heal", "--lab-dir", lab.to_str().unwrap()],
        &format!("{}:3:", inventory.display()),
    );
    assert!(
        !std::path::Path::new("/tmp/pwned").exists(),
        "a node name ran as a command"
    );
}
