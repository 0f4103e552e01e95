//! The lab as a user sees it: isolated nodes reached over SSH, and a `down` that always
//! cleans up. Needs root; runs under CI=true, skips elsewhere.

mod common;

use std::time::{Duration, Instant};

use splitbrain_control::lab;
use splitbrain_control::{Cmd, Session};

use common::{config, connect, lab_available, with_lab};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lab_nodes_are_isolated_machines() {
    if !lab_available("lab_nodes_are_isolated_machines") {
        return;
    }
    let cfg = config("tiso", 11, 3);
    with_lab(cfg.clone(), |inv| async move {
        // While up: the guard route keeps the /16 from leaving the machine.
        let routes = String::from_utf8(std::process::Command::new("ip").args(["-4", "route"]).output().unwrap().stdout).unwrap();
        assert!(routes.contains("unreachable 10.77.0.0/16"), "{routes}");
        let cluster = connect(&inv).await;

        // Own hostname.
        let names = cluster.exec_all(&Cmd::new("hostname")).await.into_result().unwrap();
        for (node, out) in &names {
            assert_eq!(out.out(), node.name);
        }
        // Own process table: a daemon on n1 is invisible from n2, and pkill on n2 spares it.
        let n1 = cluster.session("n1").unwrap();
        let n2 = cluster.session("n2").unwrap();
        for s in [n1, n2] {
            s.exec(&Cmd::shell("setsid nohup sleep 1000 >/dev/null 2>&1 < /dev/null &")).await.unwrap();
        }
        async fn count(s: &Session) -> String {
            s.exec(&Cmd::shell("pgrep -c -x sleep || true")).await.unwrap().out().to_string()
        }
        assert_eq!(count(n1).await, "1");
        let n2_pkill = n2.output(&Cmd::new("pkill").arg("-9").arg("-x").arg("sleep")).await.unwrap();
        assert_eq!(n2_pkill.status, 0);
        assert_eq!(count(n1).await, "1", "pkill on n2 reached n1");
        let ps = n1.exec(&Cmd::new("ps").arg("-e").arg("-o").arg("pid=,comm=")).await.unwrap();
        assert!(ps.stdout.lines().count() < 10, "n1 sees foreign processes:\n{}", ps.stdout);
        assert!(ps.stdout.lines().any(|l| l.trim_start().starts_with("1 ") && l.contains("sshd")), "{}", ps.stdout);

        // Own /tmp, /var/log and /var/lib/etcd; shared /usr.
        for dir in ["/tmp", "/var/log", "/var/lib/etcd", "/opt", "/run"] {
            let file = format!("{dir}/splitbrain-isolation-test");
            n1.exec(&Cmd::new("touch").arg(&file)).await.unwrap();
            let seen = n2.output(&Cmd::new("test").arg("-e").arg(&file)).await.unwrap();
            assert_ne!(seen.status, 0, "{file} written on n1 is visible on n2");
            assert!(!std::path::Path::new(&file).exists(), "{file} written on n1 is visible on the host");
        }
        n2.exec(&Cmd::new("test").arg("-x").arg("/usr/bin/etcd").timeout(Duration::from_secs(5))).await.ok();

        // Nodes reach each other by name and address (TCP to each other's sshd).
        let probe = n1.exec(&Cmd::shell("getent hosts n3 && timeout 2 sh -c 'exec 3<>/dev/tcp/n3/22' 2>/dev/null || ssh-keyscan -T 2 n3 2>/dev/null | head -1")).await.unwrap();
        assert!(probe.stdout.contains("10.77.11.3"), "{}", probe.stdout);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_concurrent_commands_on_one_node_all_succeed() {
    if !lab_available("thirty_concurrent_commands_on_one_node_all_succeed") {
        return;
    }
    let mut cfg = config("tcon", 12, 1);
    // sshd's own default: 10 sessions per connection. The client-side bound (6) keeps us under it.
    cfg.max_sessions = 10;
    with_lab(cfg, |inv| async move {
        let cluster = connect(&inv).await;
        let s = cluster.sessions()[0].clone();
        assert_eq!(s.config().max_sessions, 6);
        let mut tasks = Vec::new();
        for i in 0..30 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let cmd = Cmd::shell(r#"date +%s.%N; sleep 0.3; echo "$1"; date +%s.%N"#)
                    .arg(i.to_string());
                s.exec(&cmd).await
            }));
        }
        let mut spans = Vec::new();
        for (i, t) in tasks.into_iter().enumerate() {
            let out = t
                .await
                .unwrap()
                .unwrap_or_else(|e| panic!("command {i}: {e}"));
            let lines: Vec<&str> = out.stdout.lines().collect();
            assert_eq!(lines[1], i.to_string());
            spans.push((
                lines[0].parse::<f64>().unwrap(),
                lines[2].parse::<f64>().unwrap(),
            ));
        }
        // At no instant did more than 6 run at once.
        let peak = spans
            .iter()
            .map(|(start, _)| {
                spans
                    .iter()
                    .filter(|(s2, e2)| s2 <= start && start < e2)
                    .count()
            })
            .max()
            .unwrap();
        assert!(peak <= 6, "{peak} commands ran at once");
        assert!(peak >= 2, "commands did not run concurrently at all");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn errors_name_the_node_the_command_the_status_and_stderr() {
    if !lab_available("errors_name_the_node_the_command_the_status_and_stderr") {
        return;
    }
    with_lab(config("terr", 13, 1), |inv| async move {
        let cluster = connect(&inv).await;
        let s = &cluster.sessions()[0];
        let err = s
            .exec(&Cmd::new("ls").arg("/nonexistent dir"))
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert_eq!(err.status(), Some(2));
        assert!(
            msg.starts_with("n1: `ls '/nonexistent dir'` exited with status 2: "),
            "{msg}"
        );
        assert!(
            msg.contains("No such file or directory") && !msg.contains('\n'),
            "{msg}"
        );

        let started = Instant::now();
        let err = s
            .exec(
                &Cmd::new("sleep")
                    .arg("30")
                    .timeout(Duration::from_millis(500)),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, splitbrain_control::RemoteError::Timeout { .. }),
            "{err}"
        );
        // Killed by the timeout, not finished: well under the 30 s, even on a loaded machine.
        assert!(started.elapsed() < Duration::from_secs(20));
        assert!(
            err.to_string()
                .starts_with("n1: `sleep 30` did not finish within 0.5s"),
            "{err}"
        );

        // A node that does not answer: one line naming it and the address.
        let mut dead = inv.nodes[0].clone();
        dead.name = "ghost".into();
        dead.host = "10.77.13.77".into();
        let mut ssh = inv.ssh_config();
        ssh.connect_timeout = Duration::from_secs(1);
        ssh.retries = 0;
        let err = Session::connect(dead, ssh.into()).await.unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("ghost: cannot reach 10.77.13.77:22 over SSH: "),
            "{msg}"
        );
        assert!(!msg.contains('\n'), "{msg}");

        // A command that ran and failed is never retried: it ran exactly once.
        let err = s
            .exec(&Cmd::shell("echo ran >> /tmp/runs; exit 1"))
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(1));
        assert_eq!(
            s.exec(&Cmd::new("wc").arg("-l").arg("/tmp/runs"))
                .await
                .unwrap()
                .out(),
            "1 /tmp/runs"
        );

        // The connection drops (its sshd process dies): the next command reconnects.
        let cut = s.exec(&Cmd::shell("pkill -KILL -f 'sshd: root@'")).await;
        assert!(
            matches!(cut, Err(splitbrain_control::RemoteError::Lost { .. })),
            "{cut:?}"
        );
        let out = s
            .exec(&Cmd::new("hostname"))
            .await
            .unwrap_or_else(|e| panic!("no reconnect: {e}"));
        assert_eq!(out.out(), "n1");

        // Upload and download round trip, binary-safe.
        let bytes: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
        s.upload(bytes.clone(), "/tmp/sb dir/blob", false)
            .await
            .unwrap();
        assert_eq!(
            s.download_bytes("/tmp/sb dir/blob", false).await.unwrap(),
            bytes
        );
        let local = tempfile::tempdir().unwrap();
        s.download("/tmp/sb dir/blob", &local.path().join("x/blob"), false)
            .await
            .unwrap();
        assert_eq!(std::fs::read(local.path().join("x/blob")).unwrap(), bytes);
        let err = s
            .download_bytes("/tmp/none", false)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("No such file"), "{err}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lab_up_refuses_a_lab_that_is_already_up_and_bad_node_names() {
    if !lab_available("lab_up_refuses_a_lab_that_is_already_up_and_bad_node_names") {
        return;
    }
    let mut bad = config("tbad", 14, 2);
    bad.nodes[1] = "n2$(touch /tmp/splitbrain-pwned)".into();
    let err = lab::up(&bad).await.unwrap_err().to_string();
    assert!(err.contains("not allowed in the lab"), "{err}");
    assert!(!bad.dir.exists(), "a refused lab must not leave files");

    let cfg = config("tdup", 15, 1);
    with_lab(cfg.clone(), |_inv| async move {
        let err = lab::up(&config("tdup", 15, 1))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("already up") && err.contains("splitbrain lab down --name tdup"),
            "{err}"
        );
        // Another lab over the same subnet is refused too.
        let err = lab::up(&config("tdup2", 15, 1))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("overlaps"), "{err}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_that_died_is_held_down_so_commands_to_it_fail_at_once() {
    if !lab_available("a_node_that_died_is_held_down_so_commands_to_it_fail_at_once") {
        return;
    }
    let cfg = config("tdown", 16, 2);
    let dir = cfg.dir.clone();
    with_lab(cfg, |inv| async move {
        let cluster = connect(&inv).await;
        let n1 = cluster.session("n1").unwrap();
        n1.exec(&Cmd::new("true")).await.unwrap();
        // The node dies with its PID 1 (its sshd); its network stays, so connecting is refused.
        let pid: i32 = std::fs::read_to_string(dir.join("nodes/n1/pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        unsafe { libc::kill(pid, libc::SIGKILL) };
        // The first commands find out: the master connection is gone (that may fail at
        // once), then every reconnect attempt fails (the slow way) and the node is held down.
        let first = Instant::now();
        for _ in 0..2 {
            assert!(n1.exec(&Cmd::new("true")).await.is_err());
        }
        eprintln!(
            "the first two commands to the dead node failed after {:?}",
            first.elapsed()
        );
        // The next ones fail at once instead of waiting out the same retries again
        // (cleanup runs a handful of commands per node: minutes, before).
        for _ in 0..3 {
            let t = Instant::now();
            let e = n1.exec(&Cmd::new("true")).await.unwrap_err();
            assert!(
                t.elapsed() < Duration::from_secs(2),
                "took {:?}: {e}",
                t.elapsed()
            );
        }
        // The other node is unaffected.
        cluster
            .session("n2")
            .unwrap()
            .exec(&Cmd::new("true"))
            .await
            .unwrap();
    })
    .await;
}
