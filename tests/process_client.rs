//! The process client (`client.type: process`) against real child programs
//! (workloads/tests/clients/), driven by the real runner as a test run drives it
//! (src/harness.rs): setup once ([`runner::client_once`]), the main phase and then the
//! final phase through [`runner::run_program`] (a timeout or a broken protocol is `info`,
//! and the worker goes on as a fresh process, `process + concurrency`), every worker's
//! client closed, teardown once. The [`Recorder`] streams the history to a file, which is
//! read back with the history crate's JSON Lines reader and judged by the workload's own
//! checkers.
//!
//! The misbehaving programs break the protocol on the third op of every OS process,
//! after the op took effect: recording anything but `info` for it would make the
//! checkers find the history invalid.
//!
//! No lab, no root: the programs keep their state in a file of a temporary directory.

#[path = "../workloads/tests/process_kit/mod.rs"]
mod process_kit;

use std::sync::Arc;
use std::time::Duration;

use process_kit::{Scratch, assert_gone_soon, factory, nodes, program};
use splitbrain::runner::{self, Once, Recorder, Worker};
use splitbrain_checkers::{Limits, Verdict, registry};
use splitbrain_history::codec::{self, Format, ReadOptions};
use splitbrain_history::{History, OpType, Process, Value};
use splitbrain_workloads::{ClientFactory, Gen, GeneratorConfig, Workload, workload};
use tokio_util::sync::CancellationToken;

const CONCURRENCY: usize = 2;
const SEED: u64 = 7;
/// Requests per worker of the well-behaved program's runs.
const OPS: u64 = 100;

/// Setup, `ops` requests of the workload's mix per worker, the final phase, teardown:
/// the history as read back from `history`.
async fn drive(
    factory: Arc<dyn ClientFactory>,
    workload: &'static dyn Workload,
    ops: u64,
    op_timeout: Duration,
    history: &std::path::Path,
) -> History {
    let targets = nodes();
    let stop = CancellationToken::new();
    runner::client_once(Once::Setup, factory.as_ref(), &targets[0], &stop)
        .await
        .unwrap();
    // Each worker its own count (not a shared limit): the misbehaviour cases rely on
    // every worker making exactly `ops` requests. Independent keys as the harness has them.
    let config = GeneratorConfig::new(workload, SEED, CONCURRENCY, targets.len());
    let mut mix = Gen::Mix(None);
    if let Some(ind) = config.independent {
        mix = Gen::EachKey(Some(ind), Box::new(mix));
    }
    let compile = |g: Gen| {
        g.compile(workload, None, SEED, CONCURRENCY, targets.len())
            .unwrap()
    };
    let main = compile(Gen::EachWorker(Box::new(Gen::Limit(ops, Box::new(mix)))));
    let finals = compile(Gen::finals(workload.final_requests()));

    let rec = Recorder::to_file(history).unwrap();
    let workers = (0..CONCURRENCY)
        .map(|i| Worker::new(i, CONCURRENCY, targets[i % targets.len()].clone()))
        .collect();
    let workers = runner::run_program(
        workers,
        &main,
        factory.clone(),
        rec.clone(),
        op_timeout,
        stop.clone(),
    )
    .await;
    let mut workers = runner::run_program(
        workers,
        &finals,
        factory.clone(),
        rec.clone(),
        op_timeout,
        stop.clone(),
    )
    .await;
    // run_program only logs a worker task that panicked: count them.
    assert_eq!(workers.len(), CONCURRENCY, "a worker task failed");
    for w in &mut workers {
        w.close().await;
    }
    runner::client_once(Once::Teardown, factory.as_ref(), &targets[0], &stop)
        .await
        .unwrap();
    rec.flush().unwrap();
    let opts = ReadOptions {
        format: Some(Format::Jsonl),
        ..ReadOptions::default()
    };
    codec::read_path(history, &opts).unwrap_or_else(|e| panic!("{e}"))
}

/// Every default checker of the workload says valid.
fn assert_valid(h: &History, workload: &dyn Workload, what: &str) {
    for (name, params) in workload.default_checkers() {
        let checker = registry::build(name, &params).unwrap();
        let r = checker.check(h, &Limits::default()).unwrap();
        assert_eq!(
            r.verdict,
            Verdict::Valid,
            "{what}: {name} on {}: {}",
            workload.name(),
            r.summary
        );
    }
}

/// Completions by process, in order: `(process, type, error)`.
fn completions(h: &History) -> Vec<(u64, OpType, String)> {
    h.ops()
        .iter()
        .filter(|op| op.kind != OpType::Invoke)
        .map(|op| {
            let Process::Client(p) = op.process else {
                panic!("{op:?}")
            };
            let e = match &op.error {
                Some(Value::Str(e)) => e.to_string(),
                Some(e) => e.to_string(),
                None => String::new(),
            };
            (p, op.kind, e)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_well_behaved_program_serves_every_workload_with_valid_histories() {
    for w in workload::WORKLOADS {
        let scratch = Scratch::new();
        let f = factory(&["python3", &program("file_store.py")], &scratch, *w, &[]);
        // Enough ops that every function succeeds at least once whatever the interleaving
        // (the stats checker wants each to): with 20, a register's cas (1 in 5 compares
        // match) never succeeded in about 1 run in 20 on a loaded machine.
        let h = drive(f, *w, OPS, Duration::from_secs(5), &scratch.history).await;
        let done = completions(&h);
        assert!(
            done.iter().all(|(_, t, _)| *t != OpType::Info),
            "{w}: {done:?}"
        );
        assert!(done.len() >= 2 * OPS as usize, "{w}: {}", done.len());
        assert_valid(&h, *w, "file_store.py");
        // No process was replaced; each wrote its own stderr file, opened with what it
        // must know.
        assert!(done.iter().all(|(p, _, _)| *p < CONCURRENCY as u64));
        let open = scratch.stderr(1);
        for wants in [
            r#"{"type":"open","process":1,"#,
            r#""node":{"name":"n2","host":"127.0.0.1","ports":{"client":2379}}"#,
            r#""nodes":[{"name":"n1","#,
            &format!(
                r#""test":{{"name":"process-test","workload":"{}"}}"#,
                w.name()
            ),
            r#""options":{"store":"#,
        ] {
            assert!(open.contains(wants), "{wants}: {open}");
        }
        assert!(open.trim_end().ends_with("bye"), "closed politely: {open}");
        let once =
            std::fs::read_to_string(scratch.run.join("clients/setup-teardown.stderr")).unwrap();
        assert!(
            once.contains(r#""process":null"#)
                && once.contains("setup")
                && once.contains("teardown"),
            "{once}"
        );
        assert_gone_soon(&scratch.pids());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_that_breaks_the_protocol_gets_info_and_is_replaced() {
    let timeout = Duration::from_millis(400);
    let cases: &[(&[&str], &[&str])] = &[
        (&["hangs.py"], &["timeout after 400ms"]),
        (
            &["garbage.py", "text"],
            &[
                "malformed reply to op 3 (expected value at line 1 column 1)",
                r#""hello, this is not JSON""#,
            ],
        ),
        (
            &["garbage.py", "long"],
            &["wrote a line longer than 1 MiB while op 3 (`"],
        ),
        (&["garbage.py", "binary"], &["malformed reply to op 3 ("]),
        (
            &["garbage.py", "type"],
            &[r#"a `open_ok` reply to op 3; expected ok, fail or info: "{\"type\":\"open_ok\"}""#],
        ),
        (
            &["garbage.py", "noid"],
            &["an `ok` reply without `id` to op 3"],
        ),
        (
            &["wrong_id.py"],
            &["a reply with id 1003 while op 3 was waiting"],
        ),
        (
            &["exits.py"],
            &[
                "it closed its stdout before answering op 3",
                "it exited with status 3",
                r#"its stderr ends: ""#,
                "exiting mid-op on purpose",
            ],
        ),
    ];
    let set = workload::find("set").unwrap();
    for (args, wants) in cases {
        let scratch = Scratch::new();
        let mut command = vec!["python3".to_string(), program(args[0])];
        command.extend(args[1..].iter().map(|a| a.to_string()));
        let command: Vec<&str> = command.iter().map(String::as_str).collect();
        let f = factory(&command, &scratch, set, &[]);
        // 6 ops: every OS process answers two and breaks on the third, so each worker
        // runs under three processes (the third serves the final read).
        let h = drive(f, set, 6, timeout, &scratch.history).await;
        let what = args.join(" ");
        for w in 0..CONCURRENCY as u64 {
            let mine: Vec<_> = completions(&h)
                .into_iter()
                .filter(|(p, _, _)| *p % CONCURRENCY as u64 == w)
                .collect();
            let shape: Vec<(u64, OpType)> = mine.iter().map(|(p, t, _)| (*p, *t)).collect();
            let c = CONCURRENCY as u64;
            assert_eq!(
                shape,
                [
                    (w, OpType::Ok),
                    (w, OpType::Ok),
                    (w, OpType::Info),
                    (w + c, OpType::Ok),
                    (w + c, OpType::Ok),
                    (w + c, OpType::Info),
                    (w + 2 * c, OpType::Ok),
                ],
                "{what}: {mine:?}"
            );
            for (_, _, error) in mine.iter().filter(|(_, t, _)| *t == OpType::Info) {
                for wants in *wants {
                    assert!(error.contains(wants), "{what}: {wants:?} not in {error}");
                }
                assert!(error.len() < 1500, "{what}: a bounded error: {error}");
            }
        }
        // The history is checkable, and right: the broken ops took effect, as `info` allows.
        assert_valid(&h, set, &what);
        assert_gone_soon(&scratch.pids());
    }
}
