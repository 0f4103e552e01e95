//! The process client against real child processes (the programs in tests/clients/),
//! through the registry and the `Client`/`ClientFactory` API alone: stopping a program
//! kills its process group (SIGTERM, then SIGKILL after the grace), dropping a client
//! kills its program, and a program that cannot open is an error of `open`, not an op.
//!
//! What needs a runner loop (info, then a fresh process; histories judged by the
//! workload's checkers) is tested with the real runner in the binary's
//! tests/process_client.rs, which shares process_kit/ with this file.

mod process_kit;

use std::time::{Duration, Instant};

use process_kit::{Scratch, assert_gone_soon, factory, gone, nodes, program};
use splitbrain_history::Value;
use splitbrain_workloads::options::Node;
use splitbrain_workloads::{Request, workload};

#[tokio::test]
async fn stopping_a_program_kills_its_process_group_term_then_kill() {
    let set = workload::find("set").unwrap();
    for (ignore_term, grace) in [(false, "5s"), (true, "500ms")] {
        let scratch = Scratch::new();
        let path = program("hangs.sh");
        let mut command = vec!["sh", path.as_str()];
        if ignore_term {
            command.push("ignore-term");
        }
        let f = factory(
            &command,
            &scratch,
            set,
            &[("kill-grace", Node::Str(grace.into()))],
        );
        let mut c = f.open(&nodes()[0], 4).await.unwrap();
        let hung = tokio::time::timeout(
            Duration::from_millis(300),
            c.invoke(&Request::new("add", Value::Int(1))),
        )
        .await;
        assert!(hung.is_err(), "it hangs");
        let pids = scratch.pids();
        assert_eq!(pids.len(), 2, "the shell and its sleep: {pids:?}");
        let started = Instant::now();
        c.close().await;
        let took = started.elapsed();
        // The shell (the first pid) is reaped when close returns; the child it started
        // was killed with its group, and init reaps it.
        assert!(
            gone(pids[0]),
            "ignore-term {ignore_term}: the shell survived close"
        );
        assert_gone_soon(&pids);
        if ignore_term {
            assert!(
                took >= Duration::from_millis(500),
                "SIGKILL after the grace: {took:?}"
            );
        } else {
            assert!(
                took < Duration::from_secs(5),
                "SIGTERM was enough: {took:?}"
            );
        }
    }
}

#[tokio::test]
async fn dropping_a_client_without_close_kills_its_program() {
    let scratch = Scratch::new();
    let set = workload::find("set").unwrap();
    let f = factory(&["sh", &program("hangs.sh")], &scratch, set, &[]);
    let mut c = f.open(&nodes()[0], 0).await.unwrap();
    let _ = tokio::time::timeout(
        Duration::from_millis(300),
        c.invoke(&Request::new("add", Value::Int(1))),
    )
    .await;
    let pids = scratch.pids();
    assert_eq!(pids.len(), 2, "{pids:?}");
    drop(c);
    assert_gone_soon(&pids);
}

#[tokio::test]
async fn open_failures_are_errors_of_open_not_ops() {
    let scratch = Scratch::new();
    let set = workload::find("set").unwrap();
    let py = |code: &str| vec!["python3".to_string(), "-c".into(), code.into()];
    // The open timeout stays far above a python3 start on a loaded machine (0.3 s seen
    // here under a parallel build), so that only the program that never answers runs
    // into it; the others must be told apart well before it (within 5 s of 10 s).
    let (ends, hangs) = ("10s", "2s");
    let cases: Vec<(Vec<String>, &str, Vec<&str>)> = vec![
        (
            vec!["/nonexistent/client".into()],
            ends,
            vec![
                "cannot start the client program `/nonexistent/client` for process 0 on n1",
                "No such file or directory",
            ],
        ),
        (
            py(
                "import sys; sys.stdin.readline(); print('{\"type\":\"error\",\"error\":\"no database here\"}', flush=True)",
            ),
            ends,
            vec![
                "could not open process 0 on n1: it answered `open` with an error: \"no database here\"",
            ],
        ),
        (
            py("import sys; print('cannot connect', file=sys.stderr); sys.exit(4)"),
            ends,
            vec![
                "it closed its stdout",
                "it exited with status 4",
                "its stderr ends: \"cannot connect\"",
                "process-0.stderr",
            ],
        ),
        (
            py("import sys; sys.stdin.readline(); print('ready!', flush=True); sys.stdin.read()"),
            ends,
            vec!["malformed reply to `open` (expected value at line 1 column 1): \"ready!\""],
        ),
        (
            py(
                "import os, sys, time; print('pid', os.getpid(), file=sys.stderr, flush=True); sys.stdin.readline(); time.sleep(60)",
            ),
            hangs,
            vec!["no reply to `open` within 2s"],
        ),
    ];
    for (command, open_timeout, wants) in cases {
        let args: Vec<&str> = command.iter().map(String::as_str).collect();
        let f = factory(
            &args,
            &scratch,
            set,
            &[("open-timeout", Node::Str(open_timeout.into()))],
        );
        let started = Instant::now();
        let e = match f.open(&nodes()[0], 0).await {
            Ok(_) => panic!("{command:?} opened"),
            Err(e) => format!("{e:#}"),
        };
        for w in wants {
            assert!(e.contains(w), "{command:?}: {w:?} not in {e}");
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{e}");
    }
    // The program that never answered was killed.
    let pids = scratch.pids();
    assert_eq!(pids.len(), 1, "{pids:?}");
    assert_gone_soon(&pids);
}
