//! The lab test kit, one for every crate: whether a lab test can run here, a lab of the
//! test's own, and the check that nothing of it is left behind.
//!
//! One rule for a missing prerequisite (not root, a lab tool, etcd, tc, libfaketime): under
//! `CI=true` the test fails, saying what is missing, because CI must run every test;
//! elsewhere it prints `SKIPPED <test>: <why>` and passes, so `cargo test` works on any
//! machine.
//!
//! ```no_run
//! use splitbrain_control::testing::lab;
//! # async fn demo() {
//! if !lab::available("etcd_on_three_nodes", lab::ETCD) {
//!     return;
//! }
//! lab::with_lab(lab::config("tetcd", 21, 3), |inv| async move {
//!     let cluster = lab::connect(&inv).await;
//!     // ...
//! })
//! .await;
//! # }
//! ```

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::db::DbDef;
use crate::lab::{self, LabConfig};
use crate::{Cluster, Inventory};

/// Something a test needs besides the lab itself (root and the lab's tools are always
/// checked): a program on PATH (or in an sbin directory), or a file.
#[derive(Clone, Copy, Debug)]
pub enum Need {
    Program {
        name: &'static str,
        package: &'static str,
    },
    File {
        path: &'static str,
        package: &'static str,
    },
}

impl Need {
    pub const fn program(name: &'static str, package: &'static str) -> Need {
        Need::Program { name, package }
    }

    pub const fn file(path: &'static str, package: &'static str) -> Need {
        Need::File { path, package }
    }

    /// Why this need is not met here, or `None`.
    pub fn missing(&self) -> Option<String> {
        let (what, package, found) = match *self {
            Need::Program { name, package } => (name, package, find_program(name).is_some()),
            Need::File { path, package } => (path, package, Path::new(path).exists()),
        };
        (!found).then(|| {
            format!("{what} is not installed (Debian package {package}; run scripts/install-deps)")
        })
    }
}

/// etcd's server and client, for tests that run etcd on the lab.
pub const ETCD: &[Need] = &[
    Need::program("etcd", "etcd-server"),
    Need::program("etcdctl", "etcd-client"),
];

/// libfaketime, for clock faults and the `clock:` section.
pub const FAKETIME: Need = Need::file(crate::db::def::FAKETIME_LIBRARY, "libfaketime");

/// tc, for packet faults.
pub const TC: Need = Need::program("tc", "iproute2");

/// Directories searched besides PATH: sbin is not on every user's PATH.
const SYSTEM_DIRS: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(SYSTEM_DIRS.iter().map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| lab::is_executable(p))
}

/// The one rule: true when nothing is `missing`; otherwise false with `SKIPPED test: why`
/// printed, or, under `CI=true`, a panic naming the test and what is missing.
pub fn runnable(test: &str, missing: Option<String>) -> bool {
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

/// Whether a lab test can run: root, the lab's tools ([`lab::check_prerequisites`]) and
/// `needs`. See [`runnable`] for what happens when one is missing.
pub fn available(test: &str, needs: &[Need]) -> bool {
    let missing = match lab::check_prerequisites() {
        Err(e) => Some(e.to_string()),
        Ok(()) => needs.iter().find_map(Need::missing),
    };
    runnable(test, missing)
}

/// [`available`] with nothing beyond the lab.
pub fn lab_available(test: &str) -> bool {
    available(test, &[])
}

/// A lab of the test's own: name `name` (its namespaces, links and chain are `sb-<name>-*`),
/// subnet 10.77.<octet>.0/24, directory `/var/cache/splitbrain/test-<name>`, and the private
/// directories `splitbrain lab up` gives: the generic ones plus those of every definition
/// in the repository's `dbs/` (the built-in databases).
pub fn config(name: &str, octet: u8, nodes: usize) -> LabConfig {
    let mut cfg = LabConfig::new(nodes);
    cfg.name = name.into();
    cfg.subnet = format!("10.77.{octet}.0/24");
    cfg.dir = PathBuf::from(format!("/var/cache/splitbrain/test-{name}"));
    for def in repository_dbs() {
        cfg.make_private(def.private_dirs());
    }
    cfg
}

/// The definitions in the repository's `dbs/`, in file name order.
pub fn repository_dbs() -> Vec<DbDef> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dbs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| DbDef::load(f).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

/// Brings the lab up (after clearing what an earlier crashed run left), runs `body`, always
/// takes the lab down, then asserts nothing is left ([`assert_clean`]). A panic of `body`
/// is raised again after the cleanup.
pub async fn with_lab<F, Fut>(cfg: LabConfig, body: F)
where
    F: FnOnce(Inventory) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    lab::down(&cfg.dir, &cfg.name)
        .await
        .expect("clearing an earlier run");
    let inv = lab::up(&cfg)
        .await
        .unwrap_or_else(|e| panic!("lab up: {e}"));
    let outcome = tokio::spawn(body(inv)).await;
    let report = lab::down(&cfg.dir, &cfg.name).await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
    report.unwrap_or_else(|e| panic!("lab down: {e}"));
    assert_clean(&cfg).await;
}

/// One SSH connection per node of the inventory.
pub async fn connect(inv: &Inventory) -> Cluster {
    Cluster::connect(&inv.nodes, &inv.ssh_config())
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"))
}

fn sh(cmd: &str) -> String {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .unwrap_or_else(|e| panic!("sh -c {cmd}: {e}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// No namespace, process, link, chain, route, mount, `/etc/netns` entry or file of the lab.
pub async fn assert_clean(cfg: &LabConfig) {
    let prefix = format!("sb-{}-", cfg.name);
    let found = lab::discover(&cfg.name).await.unwrap();
    assert!(found.is_empty(), "left behind: {found:?}");
    assert!(!sh("ip netns list").contains(&prefix), "namespace left");
    assert!(!sh("ip -o link show").contains(&prefix), "link left");
    let subnet_prefix = cfg.subnet.rsplit_once(".0/").unwrap().0; // "10.77.N"
    let routes = sh("ip -4 route show");
    assert!(
        !routes.contains(&format!("{subnet_prefix}.")),
        "route left: {routes}"
    );
    // The /16 guard goes with the last lab inside it.
    let other_labs = sh("ip -4 -o addr show")
        .lines()
        .any(|l| l.contains("sb-") && l.contains(" inet 10.77."));
    if !other_labs {
        assert!(
            !routes.contains("unreachable 10.77.0.0/16"),
            "guard route left: {routes}"
        );
    }
    assert!(
        !sh("iptables -w -S").contains(&prefix),
        "iptables rule left"
    );
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&prefix), "netns mount left");
    let dir = cfg.dir.to_str().unwrap();
    assert!(!mounts.contains(dir), "mount under the lab dir left");
    assert!(!cfg.dir.exists(), "lab dir {dir} left");
    assert!(
        !Path::new("/etc/netns")
            .read_dir()
            .map(|d| d
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with(&prefix)))
            .unwrap_or(false),
        "/etc/netns/{prefix}* left"
    );
    // Processes: nothing alive in a lab namespace, and no sshd of this lab. Zombies are
    // reaped by the init process within a few seconds (60 s on a loaded CI machine).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ps = sh("ps -eo stat=,args=");
        let lab_procs: Vec<&str> = ps
            .lines()
            .filter(|l| l.contains(dir) || l.contains(&prefix))
            .collect();
        if lab_procs.is_empty() {
            break;
        }
        let live: Vec<&&str> = lab_procs
            .iter()
            .filter(|l| !l.trim_start().starts_with('Z'))
            .collect();
        assert!(live.is_empty(), "lab processes left: {live:?}");
        assert!(
            Instant::now() < deadline,
            "zombies not reaped: {lab_procs:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_need_says_what_and_which_package() {
        let why = Need::program("no-such-program-splitbrain", "pkg")
            .missing()
            .unwrap();
        assert_eq!(
            why,
            "no-such-program-splitbrain is not installed (Debian package pkg; run scripts/install-deps)"
        );
        assert!(Need::program("sh", "dash").missing().is_none());
        assert!(Need::file("/", "base-files").missing().is_none());
        assert!(
            Need::file("/no/such/file", "x")
                .missing()
                .unwrap()
                .starts_with("/no/such/file is not installed")
        );
    }

    #[test]
    fn nothing_missing_runs_and_a_missing_need_skips_or_fails_under_ci() {
        assert!(runnable("t", None));
        let ci = std::env::var("CI").as_deref() == Ok("true");
        let skipped = std::panic::catch_unwind(|| runnable("t", Some("x is missing".into())));
        match skipped {
            Ok(run) => assert!(!ci && !run),
            Err(e) => {
                let msg = e.downcast_ref::<String>().cloned().unwrap_or_default();
                assert!(ci && msg == "t: CI=true but x is missing", "{msg}");
            }
        }
    }

    #[test]
    fn a_test_lab_has_the_private_dirs_of_lab_up() {
        let cfg = config("tcfg", 99, 2);
        assert_eq!(cfg.subnet, "10.77.99.0/24");
        assert_eq!(cfg.dir, Path::new("/var/cache/splitbrain/test-tcfg"));
        assert!(
            cfg.private_dirs.iter().any(|d| d == "/var/lib/etcd"),
            "{:?}",
            cfg.private_dirs
        );
        assert!(cfg.private_dirs.iter().any(|d| d == "/tmp"));
        cfg.validate().unwrap();
    }
}
