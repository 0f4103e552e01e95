//! Shared by the lab tests: skip or fail on missing prerequisites, unique labs, and the
//! "nothing left behind" assertion.
#![allow(dead_code)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use splitbrain_control::lab::{self, LabConfig};
use splitbrain_control::{Cluster, Inventory};

/// True when lab tests can run. Under CI (CI=true) missing prerequisites fail the test;
/// elsewhere the test is skipped with the reason printed.
pub fn lab_available(test: &str) -> bool {
    match lab::check_prerequisites() {
        Ok(()) => true,
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => panic!("{test}: CI=true but {e}"),
        Err(e) => {
            eprintln!("SKIPPED {test}: {e}");
            false
        }
    }
}

/// A lab of its own for one test: name `name`, subnet 10.77.<octet>.0/24.
pub fn config(name: &str, octet: u8, nodes: usize) -> LabConfig {
    let mut cfg = LabConfig::new(nodes);
    cfg.name = name.into();
    cfg.subnet = format!("10.77.{octet}.0/24");
    cfg.dir = PathBuf::from(format!("/var/cache/splitbrain/test-{name}"));
    cfg
}

/// Brings the lab up (after clearing leftovers of an earlier crashed run), runs `body`,
/// always tears the lab down, then asserts nothing is left. Panics from `body` are re-raised
/// after the cleanup.
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
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// No namespace, process, link, chain, route, mount, /etc/netns entry or file of the lab.
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
    assert!(
        !mounts.contains(cfg.dir.to_str().unwrap()),
        "mount under the lab dir left"
    );
    assert!(!cfg.dir.exists(), "lab dir {} left", cfg.dir.display());
    assert!(
        !Path::new("/etc/netns")
            .read_dir()
            .map(|d| d
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with(&prefix)))
            .unwrap_or(false)
    );
    // Processes: nothing alive in a lab namespace, and no sshd of this lab. Zombies are
    // reaped by the init process within a few seconds (60 s on a loaded CI machine).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ps = sh("ps -eo stat=,args=");
        let lab_procs: Vec<&str> = ps
            .lines()
            .filter(|l| l.contains(cfg.dir.to_str().unwrap()) || l.contains(&prefix))
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
