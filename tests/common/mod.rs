//! Shared by the binary's integration tests: running the built `splitbrain`, and labs
//! brought up through it, with the lab kit every crate uses
//! ([`splitbrain_control::testing::lab`]) deciding whether they can run here and checking
//! that nothing is left.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use splitbrain_control::testing::lab as lab_kit;

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

/// True when tests needing root, the lab and etcd can run: the lab kit's rule (under
/// CI=true a missing prerequisite fails the test; elsewhere it is skipped, saying why).
pub fn lab_available(test: &str) -> bool {
    lab_kit::available(test, lab_kit::ETCD)
}

/// A lab of the test's own (name, subnet 10.77.<octet>.0/24, dir), torn down on drop.
pub struct Lab {
    pub name: String,
    pub dir: PathBuf,
    pub subnet: String,
    /// The same lab as the kit sees it, for its checks.
    cfg: splitbrain_control::lab::LabConfig,
}

impl Lab {
    pub fn up(name: &str, octet: u8, nodes: usize) -> Lab {
        // The kit's naming, so that its checks find everything of this lab.
        let cfg = lab_kit::config(name, octet, nodes);
        let lab = Lab {
            name: cfg.name.clone(),
            dir: cfg.dir.clone(),
            subnet: cfg.subnet.clone(),
            cfg,
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

    /// `splitbrain test <def> --lab-dir <this lab> --store <store> <extra…>`, from the
    /// repository (`def` relative to it, e.g. `tests/etcd-register.yaml`).
    pub fn test(&self, def: &str, store: &Path, extra: &[&str]) -> Output {
        let def = repo().join(def);
        let mut args = vec![
            "test",
            def.to_str().unwrap(),
            "--lab-dir",
            self.dir_arg(),
            "--store",
            store.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        run(&repo(), &args)
    }

    /// Nothing of the lab is left: no namespace, link, chain, route, mount, file or process
    /// ([`lab_kit::assert_clean`]). Call it after [`Lab::down`].
    pub fn assert_gone(&self) {
        tokio::runtime::Runtime::new()
            .expect("a runtime")
            .block_on(lab_kit::assert_clean(&self.cfg));
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
