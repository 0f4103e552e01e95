//! `lab down` cleans whatever state the lab is in: half-built by a controller that was
//! killed, or fully up with its state files lost and a node dead. Needs root; runs under
//! CI=true, skips elsewhere.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use splitbrain_control::lab;

use common::{assert_clean, config, lab_available};

const CHILD_ENV: &str = "SPLITBRAIN_TEST_HALF_BUILT_CHILD";

/// Run by `lab_down_cleans_a_lab_whose_controller_was_killed_mid_up` in a child process,
/// which it kills with SIGKILL while this builds the lab.
#[tokio::test]
#[ignore = "helper: run by another test in a child process"]
async fn half_built_child() {
    if std::env::var(CHILD_ENV).is_err() {
        return;
    }
    let _ = lab::up(&config("thalf", 41, 12)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lab_down_cleans_a_lab_whose_controller_was_killed_mid_up() {
    if !lab_available("lab_down_cleans_a_lab_whose_controller_was_killed_mid_up") {
        return;
    }
    let cfg = config("thalf", 41, 12);
    lab::down(&cfg.dir, &cfg.name).await.unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "half_built_child", "--ignored", "--nocapture"])
        .env(CHILD_ENV, "1")
        .spawn()
        .unwrap();
    // Kill the controller as soon as the first node exists.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = lab::discover(&cfg.name).await.unwrap();
        if !found.namespaces.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the child never started building"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the child exited before building anything"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !cfg.dir.join("inventory.json").exists(),
        "the lab was finished before the kill: the test proves nothing"
    );
    let before = lab::discover(&cfg.name).await.unwrap();
    assert!(!before.is_empty());

    let st = lab::status(&cfg.dir, &cfg.name).await.unwrap();
    assert!(!st.healthy());
    let report = lab::down(&cfg.dir, &cfg.name).await.unwrap();
    assert!(!report.found.is_empty(), "{report}");
    assert_clean(&cfg).await;
    // Twice is fine.
    let again = lab::down(&cfg.dir, &cfg.name).await.unwrap();
    assert!(again.found.is_empty() && !again.files_removed, "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lab_down_cleans_from_the_system_when_state_files_are_lost_and_a_node_died() {
    if !lab_available("lab_down_cleans_from_the_system_when_state_files_are_lost_and_a_node_died") {
        return;
    }
    let cfg = config("tlost", 42, 3);
    lab::down(&cfg.dir, &cfg.name).await.unwrap();
    lab::up(&cfg).await.unwrap();
    // A node dies (its sshd is PID 1: the whole node goes), and the state files vanish.
    let pid: i32 = std::fs::read_to_string(cfg.dir.join("nodes/n2/pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    unsafe { libc_kill(pid) };
    std::fs::remove_file(cfg.dir.join("lab.json")).unwrap();
    std::fs::remove_file(cfg.dir.join("inventory.json")).unwrap();

    let report = lab::down(&cfg.dir, &cfg.name).await.unwrap();
    assert_eq!(report.found.namespaces.len(), 3, "{report}");
    // Without lab.json the subnet is unknown: the guard of the default subnet is the one
    // checked, and it is the same /16 here.
    assert_clean(&cfg).await;
}

unsafe fn libc_kill(pid: i32) {
    let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
}
