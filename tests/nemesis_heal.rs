//! Faults always heal, checked on the nodes with plain commands: after a normal run with
//! every fault, after a run interrupted with SIGINT while a fault is in place, and after
//! `splitbrain heal` on nodes left full of faults, no node has our iptables chains, a netem
//! qdisc, a stopped process or a clock offset. Uses the faketime probe (a C program under
//! libfaketime) as the database, so that clock faults take effect too.
//! Needs root (runs under CI=true; skips elsewhere with the reason).

mod common;
mod nemesis_common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{Lab, bin, lab_available, read_json, repo, run};
use nemesis_common::{check_nemesis_ops, history, leftovers};
use splitbrain_history::fault_op::CLOCK_OFFSETS;
use splitbrain_history::{FaultEdge, FaultOp};

fn probe_test() -> String {
    repo()
        .join("tests/fixtures/nemesis-probe.yaml")
        .display()
        .to_string()
}

fn probe_db() -> String {
    repo()
        .join("tests/fixtures/faketime-probe.yaml")
        .display()
        .to_string()
}

fn latest(store: &Path) -> std::path::PathBuf {
    std::fs::canonicalize(store.join("nemesis-probe").join("latest")).unwrap()
}

/// Waits until the run's history shows a fault in place (a start without its stop).
fn wait_for_active_fault(store: &Path, child: &mut Child, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    loop {
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        if let Ok(dir) = std::fs::canonicalize(store.join("nemesis-probe").join("latest"))
            && let Ok(text) = std::fs::read_to_string(dir.join("history.jsonl"))
        {
            let mut open = None;
            for l in text.lines() {
                if let Ok(op) = serde_json::from_str::<serde_json::Value>(l)
                    && op["process"] == "nemesis"
                {
                    let f = op["f"].as_str().unwrap_or("");
                    match FaultOp::parse(f).map(|o| o.edge) {
                        Some(FaultEdge::Start) => open = Some(f.to_string()),
                        Some(FaultEdge::Stop) => open = None,
                        None => {}
                    }
                }
            }
            if let Some(f) = open {
                return f;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no fault started within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn faults_heal_after_a_run_after_sigint_and_with_splitbrain_heal() {
    if !lab_available("faults_heal_after_a_run_after_sigint_and_with_splitbrain_heal") {
        return;
    }
    let lab = Lab::up("nheal", 82, 3);
    let store = tempfile::tempdir().unwrap();
    let store_arg = store.path().to_str().unwrap().to_string();

    // 1. A normal run with every fault.
    let out = run(
        &repo(),
        &[
            "test",
            &probe_test(),
            "--lab-dir",
            lab.dir_arg(),
            "--store",
            &store_arg,
            "--nemesis",
            "all",
            "--nemesis-interval",
            "1s",
            "--time-limit",
            "10s",
            "--seed",
            "3",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "the probe run should be valid");
    let dir = latest(store.path());
    let fs = check_nemesis_ops(&history(&dir));
    assert!(
        fs.iter().filter(|f| f.starts_with("start-")).count() >= 2,
        "{fs:?}"
    );
    let left = leftovers(&lab.dir);
    assert!(left.is_empty(), "after a normal run: {left:#?}");

    // 2. SIGINT while a fault is in place: the first Ctrl-C heals, keeps the logs, stops.
    let mut child = bin()
        .args([
            "test",
            &probe_test(),
            "--lab-dir",
            lab.dir_arg(),
            "--store",
            &store_arg,
            "--nemesis",
            "partition,pause,clock,packet",
            "--nemesis-interval",
            "3s",
            "--time-limit",
            "60s",
            "--seed",
            "4",
        ])
        .current_dir(repo())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let active = wait_for_active_fault(store.path(), &mut child, Duration::from_secs(40));
    let before = leftovers(&lab.dir);
    assert!(
        !before.is_empty(),
        "{active} is active, yet no fault is visible on the nodes"
    );
    // SAFETY: signalling the child we spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("--- interrupted run during {active}; faults then: {before:#?}\n{stdout}\n{stderr}");
    assert_eq!(
        out.status.code(),
        Some(0),
        "an interrupted valid run still exits 0"
    );
    assert!(stderr.contains("interrupted"), "{stderr}");
    let dir = latest(store.path());
    let results = read_json(&dir.join("results.json"));
    assert!(
        results["notes"].to_string().contains("interrupted"),
        "{results}"
    );
    assert!(
        dir.join("nodes/n1/faketime-probe.log").exists(),
        "logs not downloaded"
    );
    let fs = check_nemesis_ops(&history(&dir));
    assert_eq!(
        fs.iter().rev().find(|f| *f != CLOCK_OFFSETS).unwrap(),
        &FaultOp::stop(FaultOp::parse(&active).unwrap().fault).name()
    );
    let left = leftovers(&lab.dir);
    assert!(left.is_empty(), "after SIGINT: {left:#?}");

    // 3. Nodes full of faults (as a killed controller leaves them): every kind at once,
    //    injected through the library, then `splitbrain heal`.
    run(
        &repo(),
        &["db", "up", &probe_db(), "--lab-dir", lab.dir_arg()],
    );
    inject_everything(&lab.dir);
    let left = leftovers(&lab.dir);
    for what in [
        "iptables: -N splitbrain-partition",
        "stopped process",
        "clock",
    ] {
        assert!(
            left.iter().any(|l| l.contains(what)),
            "no {what} injected: {left:#?}"
        );
    }
    let out = run(
        &repo(),
        &[
            "heal",
            "--lab-dir",
            lab.dir_arg(),
            "--db",
            &probe_db(),
            "--restart",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("removed iptables chain splitbrain-partition"),
        "{text}"
    );
    assert!(text.contains("resumed"), "{text}");
    assert!(text.contains("reset the clock offset"), "{text}");
    assert!(text.contains("started faketime-probe"), "{text}");
    let left = leftovers(&lab.dir);
    assert!(left.is_empty(), "after splitbrain heal: {left:#?}");
    let status = run(
        &repo(),
        &["db", "status", &probe_db(), "--lab-dir", lab.dir_arg()],
    );
    assert_eq!(
        status.status.code(),
        Some(0),
        "heal --restart left a node down"
    );
    // Nothing left, so a second heal (without --db) has nothing to do.
    let out = run(&repo(), &["heal", "--lab-dir", lab.dir_arg()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing to heal"));
    run(
        &repo(),
        &["db", "down", &probe_db(), "--lab-dir", lab.dir_arg()],
    );

    lab.down();
    lab.assert_gone();
}

/// Partition (everyone isolated), a kill, a pause, a clock bump and a strobe loop, and a
/// packet fault, all at once, never stopped.
fn inject_everything(lab_dir: &Path) {
    use splitbrain_control::db::{Db, DbDef};
    use splitbrain_control::{Cluster, Inventory};
    use splitbrain_nemeses::*;
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let inv = Inventory::load(&lab_dir.join("inventory.json")).unwrap();
        let cluster = Cluster::connect(&inv.nodes, &inv.ssh_config())
            .await
            .unwrap();
        let db = Db::new(DbDef::load(Path::new(&probe_db())).unwrap(), &cluster).unwrap();
        let record: Record = std::sync::Arc::new(|_| {});
        let config = NemesisConfig::with_faults(&FaultKind::ALL);
        let nemesis = Nemesis::setup(&cluster, Some(&db), &config, 9, record)
            .await
            .unwrap();
        let names: Vec<String> = ["n1", "n2", "n3"].map(String::from).to_vec();
        let one = |n: &str| vec![n.to_string()];
        for action in [
            Action::from(Partition {
                topology: Topology::Grudge,
                grudge: grudge::complete(&[one("n1"), one("n2"), one("n3")]),
                note: None,
            }),
            Action::from(Kill {
                target: Target::Nodes,
                nodes: one("n1"),
                note: None,
            }),
            Action::from(Pause {
                target: Target::Nodes,
                nodes: one("n2"),
                note: None,
            }),
            Action::from(Clock {
                target: Target::Nodes,
                nodes: one("n3"),
                change: ClockChange::Bump { offset_ms: -9000 },
                note: None,
            }),
            Action::from(Clock {
                target: Target::Nodes,
                nodes: one("n2"),
                change: ClockChange::Strobe {
                    delta_ms: 5000,
                    period_ms: 100,
                    duration_ms: 60_000,
                },
                note: None,
            }),
            Action::from(Packet {
                target: Target::All,
                nodes: names.clone(),
                peers: vec![],
                netem: Netem {
                    delay_ms: Some(20),
                    loss_pct: Some(1.0),
                    ..Netem::default()
                },
                note: None,
            }),
        ] {
            nemesis
                .start(&action)
                .await
                .unwrap_or_else(|e| panic!("{action:?}: {e}"));
        }
    });
}
