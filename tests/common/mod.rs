//! Shared by the binary's integration tests: running the built `splitbrain`,
//! and skipping (or, under CI=true, failing) when the lab cannot run here.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_splitbrain"))
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `splitbrain args...` in `cwd`, returning its output (stdout+stderr kept apart).
pub fn run(cwd: &Path, args: &[&str]) -> Output {
    let out = bin()
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("splitbrain runs");
    eprintln!(
        "$ splitbrain {}\n--- exit {:?}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// True when tests needing root, the lab and etcd can run. Under CI=true a
/// missing prerequisite fails the test; elsewhere it is skipped, saying why.
pub fn lab_available(test: &str) -> bool {
    let missing = if !is_root() {
        Some("not root".to_string())
    } else {
        [
            "ip",
            "iptables",
            "etcd",
            "etcdctl",
            "ssh",
            "ssh-keygen",
            "sshd",
        ]
        .iter()
        .find(|b| !has_binary(b))
        .map(|b| format!("{b} is not installed (run scripts/install-deps)"))
    };
    match missing {
        None => true,
        Some(why) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{test}: CI=true but {why}")
        }
        Some(why) => {
            eprintln!("SKIPPED {test}: {why}");
            false
        }
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn has_binary(name: &str) -> bool {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/bin"]
        .iter()
        .any(|d| Path::new(d).join(name).exists())
}

/// A lab of the test's own (name, subnet 10.77.<octet>.0/24, dir), torn down on drop.
pub struct Lab {
    pub name: String,
    pub dir: PathBuf,
    pub subnet: String,
}

impl Lab {
    pub fn up(name: &str, octet: u8, nodes: usize) -> Lab {
        let lab = Lab {
            name: name.into(),
            dir: PathBuf::from(format!("/var/cache/splitbrain/test-{name}")),
            subnet: format!("10.77.{octet}.0/24"),
        };
        lab.down();
        let n = nodes.to_string();
        let out = run(
            &repo(),
            &[
                "lab",
                "up",
                "--nodes",
                &n,
                "--subnet",
                &lab.subnet,
                "--name",
                &lab.name,
                "--lab-dir",
                lab.dir.to_str().unwrap(),
            ],
        );
        assert!(out.status.success(), "lab up failed");
        lab
    }

    pub fn down(&self) {
        let out = run(
            &repo(),
            &[
                "lab",
                "down",
                "--name",
                &self.name,
                "--lab-dir",
                self.dir.to_str().unwrap(),
            ],
        );
        assert!(out.status.success(), "lab down failed");
    }

    pub fn dir_arg(&self) -> &str {
        self.dir.to_str().unwrap()
    }

    /// Nothing of the lab is left: no namespace, no link, no process.
    pub fn assert_gone(&self) {
        let prefix = format!("sb-{}-", self.name);
        let sh = |c: &str| {
            String::from_utf8_lossy(&Command::new("sh").arg("-c").arg(c).output().unwrap().stdout)
                .into_owned()
        };
        assert!(!sh("ip netns list").contains(&prefix), "namespace left");
        assert!(!sh("ip -o link show").contains(&prefix), "link left");
        assert!(
            !sh("iptables -w -S").contains(&prefix),
            "iptables rule left"
        );
        let procs = sh("ps -eo args");
        assert!(
            !procs
                .lines()
                .any(|l| l.contains(self.dir.to_str().unwrap())),
            "lab process left: {procs}"
        );
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Best effort even while panicking: never leave a lab behind.
        let _ = bin()
            .args([
                "lab",
                "down",
                "--name",
                &self.name,
                "--lab-dir",
                self.dir.to_str().unwrap(),
            ])
            .output();
    }
}

pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
