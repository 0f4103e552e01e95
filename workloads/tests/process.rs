//! The process client against real child processes (the programs in tests/clients/),
//! driven through the registry and the `Client`/`ClientFactory` API by a loop that does
//! what the runner does: setup on a dedicated client, then per worker open, invoke under
//! the op timeout (a timeout is `info`), and after `info` close and go on as a fresh
//! process (`process + concurrency`); the final phase after every worker's main phase;
//! teardown. Each history is then judged by the workload's own checkers.
//!
//! The misbehaving programs break the protocol on the third op of every OS process,
//! after the op took effect: recording anything but `info` for it would make the
//! checkers find the history invalid.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use splitbrain_checkers::{Limits, Verdict, registry};
use splitbrain_history::{History, Op, OpType, Process, Value};
use splitbrain_workloads::options::{Node, Options, Spot};
use splitbrain_workloads::{
    Client, ClientContext, ClientFactory, GeneratorConfig, Outcome, Request, Target, Workload,
    clients, workload,
};

const CONCURRENCY: usize = 2;

fn program(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/clients")
        .join(name)
        .display()
        .to_string()
}

fn strings(items: &[&str]) -> Node {
    Node::List(
        items
            .iter()
            .map(|s| Spot::bare(Node::Str((*s).into())))
            .collect(),
    )
}

fn nodes() -> Vec<Target> {
    vec![
        Target::new("n1", "127.0.0.1").with_port(2379),
        Target::new("n2", "127.0.0.1").with_port(2379),
    ]
}

/// A scratch place: the store file the well-behaved programs share, and the run
/// directory the stderr files go to.
struct Scratch {
    _dir: tempfile::TempDir,
    store: PathBuf,
    run: PathBuf,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        Scratch {
            store: dir.path().join("store.json"),
            run: dir.path().join("run"),
            _dir: dir,
        }
    }

    fn stderr(&self, process: u64) -> String {
        let path = self.run.join(format!("clients/process-{process}.stderr"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The pids the programs printed (`pid N`, `child N`) in every stderr file.
    fn pids(&self) -> Vec<u32> {
        let mut pids = Vec::new();
        for entry in std::fs::read_dir(self.run.join("clients")).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for line in text.lines() {
                if let Some(n) = line
                    .strip_prefix("pid ")
                    .or_else(|| line.strip_prefix("child "))
                {
                    pids.push(n.trim().parse().unwrap());
                }
            }
        }
        pids
    }
}

/// The process client for `workload` through the registry, as a test definition names
/// it: `command`, `options: {store: ...}`, a short `kill-grace`, and `extra` settings.
fn factory(
    command: &[&str],
    scratch: &Scratch,
    workload: &'static dyn Workload,
    extra: &[(&str, Node)],
) -> Arc<dyn ClientFactory> {
    let mut o = Options::default();
    o.set("command", strings(command));
    o.set(
        "options",
        Node::Map(vec![(
            Spot::bare("store".into()),
            Spot::bare(Node::Str(scratch.store.display().to_string())),
        )]),
    );
    o.set("kill-grace", Node::Str("300ms".into()));
    for (k, v) in extra {
        o.set(k, v.clone());
    }
    let context = ClientContext {
        test: "process-test".into(),
        nodes: nodes(),
        run_dir: Some(scratch.run.clone()),
        ..ClientContext::new(1)
    };
    clients::find("process")
        .unwrap()
        .open(workload, &o, &context)
        .unwrap()
}

/// Records ops in order, as the runner's recorder does.
#[derive(Clone)]
struct Recorder {
    start: Instant,
    ops: Arc<Mutex<Vec<Op>>>,
}

impl Recorder {
    fn record(&self, mut op: Op) {
        let mut ops = self.ops.lock().unwrap();
        op.index = ops.len() as u64;
        op.time = Some(self.start.elapsed().as_nanos() as i64);
        ops.push(op);
    }
}

/// One worker, as the runner's `Worker`.
struct Worker {
    process: u64,
    target: Target,
    client: Option<Box<dyn Client>>,
}

impl Worker {
    async fn invoke(
        &mut self,
        req: Request,
        factory: &dyn ClientFactory,
        rec: &Recorder,
        op_timeout: Duration,
    ) {
        let mut invoke = Op::new(
            Process::Client(self.process),
            OpType::Invoke,
            &req.f,
            req.value.clone(),
        );
        invoke.key = req.key.clone();
        if self.client.is_none() {
            match factory.open(&self.target, self.process).await {
                Ok(c) => self.client = Some(c),
                Err(e) => {
                    rec.record(invoke.clone());
                    let mut fail = invoke;
                    fail.kind = OpType::Fail;
                    fail.error = Some(Value::str(format!("{e:#}")));
                    rec.record(fail);
                    return;
                }
            }
        }
        let client = self.client.as_mut().unwrap();
        rec.record(invoke.clone());
        let outcome = match tokio::time::timeout(op_timeout, client.invoke(&req)).await {
            Ok(o) => o,
            Err(_) => Outcome::info(format!("timeout after {op_timeout:?}")),
        };
        let mut done = invoke;
        done.kind = outcome.op_type();
        match outcome {
            Outcome::Ok(v) => done.value = v,
            Outcome::Fail(e) | Outcome::Info(e) => done.error = Some(e),
        }
        let info = done.kind == OpType::Info;
        rec.record(done);
        if info {
            if let Some(mut c) = self.client.take() {
                c.close().await;
            }
            self.process += CONCURRENCY as u64;
        }
    }
}

/// Setup, `ops` generated requests per worker, the final phase, teardown.
async fn drive(
    factory: Arc<dyn ClientFactory>,
    workload: &'static dyn Workload,
    ops: usize,
    op_timeout: Duration,
) -> History {
    let targets = nodes();
    let mut once = factory.open(&targets[0], u64::MAX).await.unwrap();
    once.setup().await.unwrap();
    once.close().await;
    let rec = Recorder {
        start: Instant::now(),
        ops: Arc::default(),
    };
    let generators = GeneratorConfig::new(workload, 7, CONCURRENCY, targets.len())
        .workers()
        .unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(CONCURRENCY));
    let mut tasks = Vec::new();
    for (i, mut generator) in generators.into_iter().enumerate() {
        let (factory, rec, barrier) = (factory.clone(), rec.clone(), barrier.clone());
        let target = targets[i % targets.len()].clone();
        tasks.push(tokio::spawn(async move {
            let mut w = Worker {
                process: i as u64,
                target,
                client: None,
            };
            for _ in 0..ops {
                let req = generator.next_request();
                w.invoke(req, factory.as_ref(), &rec, op_timeout).await;
            }
            barrier.wait().await;
            for req in workload.final_requests() {
                w.invoke(req, factory.as_ref(), &rec, op_timeout).await;
            }
            if let Some(mut c) = w.client.take() {
                c.close().await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut once = factory.open(&targets[0], u64::MAX).await.unwrap();
    once.teardown().await.unwrap();
    once.close().await;
    let ops = std::mem::take(&mut *rec.ops.lock().unwrap());
    History::new(ops).unwrap()
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

/// Whether `pid` is gone: no process, not even a zombie.
fn gone(pid: u32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
}

fn assert_gone_soon(pids: &[u32]) {
    let until = Instant::now() + Duration::from_secs(5);
    while !pids.iter().all(|p| gone(*p)) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    for p in pids {
        let state = std::fs::read_to_string(format!("/proc/{p}/status")).unwrap_or_default();
        assert!(gone(*p), "pid {p} is still there: {state}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_well_behaved_program_serves_every_workload_with_valid_histories() {
    for w in workload::WORKLOADS {
        let scratch = Scratch::new();
        let f = factory(&["python3", &program("file_store.py")], &scratch, *w, &[]);
        let h = drive(f, *w, 20, Duration::from_secs(5)).await;
        let done = completions(&h);
        assert!(
            done.iter().all(|(_, t, _)| *t != OpType::Info),
            "{w}: {done:?}"
        );
        assert!(done.len() >= 2 * 20, "{w}: {}", done.len());
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
        let h = drive(f, set, 6, timeout).await;
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
    let cases: Vec<(Vec<String>, Vec<&str>)> = vec![
        (
            vec!["/nonexistent/client".into()],
            vec![
                "cannot start the client program `/nonexistent/client` for process 0 on n1",
                "No such file or directory",
            ],
        ),
        (
            py(
                "import sys; sys.stdin.readline(); print('{\"type\":\"error\",\"error\":\"no database here\"}', flush=True)",
            ),
            vec![
                "could not open process 0 on n1: it answered `open` with an error: \"no database here\"",
            ],
        ),
        (
            py("import sys; print('cannot connect', file=sys.stderr); sys.exit(4)"),
            vec![
                "it closed its stdout",
                "it exited with status 4",
                "its stderr ends: \"cannot connect\"",
                "process-0.stderr",
            ],
        ),
        (
            py("import sys; sys.stdin.readline(); print('ready!', flush=True); sys.stdin.read()"),
            vec!["malformed reply to `open` (expected value at line 1 column 1): \"ready!\""],
        ),
        (
            py(
                "import os, sys, time; print('pid', os.getpid(), file=sys.stderr, flush=True); sys.stdin.readline(); time.sleep(60)",
            ),
            vec!["no reply to `open` within 300ms"],
        ),
    ];
    for (command, wants) in cases {
        let args: Vec<&str> = command.iter().map(String::as_str).collect();
        let f = factory(
            &args,
            &scratch,
            set,
            &[("open-timeout", Node::Str("300ms".into()))],
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
