//! The runner: concurrent workers drive clients, and every op is recorded as it happens.
//!
//! Each of `concurrency` workers owns a client talking to node `worker mod n`
//! and loops: wait its stagger, ask its generator for a request, record the
//! invocation, invoke with the per-op timeout, record the completion. The
//! outcome rules are the ones every result depends on:
//!
//! - `ok` and `fail` come from the client (`fail` only when the op certainly
//!   did not take effect);
//! - a timeout, or any ambiguous error, is `info`; the worker then closes its
//!   client and continues under a fresh process id (`process + concurrency`, as
//!   Jepsen does), so no process is ever reused after `info`.
//!
//! The [`Recorder`] assigns indexes and monotonic timestamps under one lock
//! and streams every op to `history.jsonl`, flushed at least every 500 ms, so a
//! controller killed mid-test leaves a checkable prefix on disk.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use splitbrain_history::codec::JsonlWriter;
use splitbrain_history::{Op, OpType, Process, Value};
use splitbrain_workloads::{Client, ClientFactory, Outcome, Request, Target, WorkerGenerator};
use tokio_util::sync::CancellationToken;

/// Live counts for the progress bar and the summary.
#[derive(Debug, Default)]
pub struct Counts {
    pub invoked: AtomicU64,
    pub ok: AtomicU64,
    pub fail: AtomicU64,
    pub info: AtomicU64,
}

impl Counts {
    pub fn snapshot(&self) -> (u64, u64, u64, u64) {
        (
            self.invoked.load(Ordering::Relaxed),
            self.ok.load(Ordering::Relaxed),
            self.fail.load(Ordering::Relaxed),
            self.info.load(Ordering::Relaxed),
        )
    }
}

struct Sink {
    next_index: u64,
    out: JsonlWriter<Box<dyn Write + Send>>,
    /// The first write error; recording stops being possible and the run fails.
    error: Option<std::io::Error>,
}

/// Records ops in the order they happen and streams them to disk.
///
/// Cloning is cheap; every clone writes to the same history.
#[derive(Clone)]
pub struct Recorder {
    start: Instant,
    sink: Arc<Mutex<Sink>>,
    pub counts: Arc<Counts>,
}

impl Recorder {
    /// A recorder writing JSON Lines to `path` (created or truncated).
    pub fn to_file(path: &Path) -> Result<Recorder> {
        let file = File::create(path)
            .with_context(|| format!("cannot create the history file {}", path.display()))?;
        Ok(Recorder::to_writer(Box::new(BufWriter::with_capacity(
            1 << 16,
            file,
        ))))
    }

    pub fn to_writer(out: Box<dyn Write + Send>) -> Recorder {
        Recorder {
            start: Instant::now(),
            sink: Arc::new(Mutex::new(Sink {
                next_index: 0,
                out: JsonlWriter::new(out),
                error: None,
            })),
            counts: Arc::default(),
        }
    }

    /// Nanoseconds since the recorder was created: the test's clock.
    pub fn now_ns(&self) -> i64 {
        self.start.elapsed().as_nanos() as i64
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Records `op`, assigning its index and time. Index order, time order and
    /// file order agree because all three are decided under the same lock.
    pub fn record(&self, mut op: Op) {
        match op.kind {
            OpType::Invoke => &self.counts.invoked,
            OpType::Ok => &self.counts.ok,
            OpType::Fail => &self.counts.fail,
            OpType::Info => &self.counts.info,
        }
        .fetch_add(u64::from(op.is_client()), Ordering::Relaxed);
        let mut sink = self.sink.lock().unwrap_or_else(|p| p.into_inner());
        op.index = sink.next_index;
        sink.next_index += 1;
        op.time = Some(self.now_ns());
        if sink.error.is_none()
            && let Err(e) = sink.out.write(&op)
        {
            sink.error = Some(e);
        }
    }

    /// Pushes buffered ops to the file. Called every 500 ms while a test runs and at its end.
    pub fn flush(&self) -> Result<()> {
        let mut sink = self.sink.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = sink.error.take() {
            return Err(e).context("writing the history failed");
        }
        sink.out.flush().context("flushing the history failed")
    }

    /// Flushes every `period` until `stop` is cancelled, then once more.
    pub fn spawn_flusher(
        &self,
        period: Duration,
        stop: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let rec = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(period) => {}
                    _ = stop.cancelled() => break,
                }
                if let Err(e) = rec.flush() {
                    tracing::error!("{e:#}");
                }
            }
            let _ = rec.flush();
        })
    }
}

/// What the workers run: one phase of the test.
pub struct Phase {
    /// Wall-clock limit; `None` runs until `requests` are exhausted.
    pub time_limit: Option<Duration>,
    pub op_timeout: Duration,
}

/// A worker's state across phases: its index, current process and client.
pub struct Worker {
    pub index: usize,
    pub process: u64,
    pub concurrency: usize,
    pub target: Target,
    client: Option<Box<dyn Client>>,
}

impl Worker {
    pub fn new(index: usize, concurrency: usize, target: Target) -> Worker {
        Worker {
            index,
            process: index as u64,
            concurrency,
            target,
            client: None,
        }
    }

    async fn client(&mut self, factory: &dyn ClientFactory) -> Result<&mut Box<dyn Client>> {
        if self.client.is_none() {
            let c = factory
                .open(&self.target, self.process)
                .await
                .with_context(|| {
                    format!(
                        "worker {} could not open a client to {}",
                        self.index, self.target.name
                    )
                })?;
            self.client = Some(c);
        }
        Ok(self.client.as_mut().expect("just opened"))
    }

    /// Invokes one request and records both halves. Returns the completion type.
    pub async fn invoke(
        &mut self,
        req: Request,
        factory: &dyn ClientFactory,
        rec: &Recorder,
        op_timeout: Duration,
    ) -> OpType {
        let mut invoke = Op::new(
            Process::Client(self.process),
            OpType::Invoke,
            &req.f,
            req.value.clone(),
        );
        invoke.key = req.key.clone();
        invoke.node = Some(Value::str(&*self.target.name));
        let client = match self.client(factory).await {
            Ok(c) => c,
            Err(e) => {
                // Nothing was sent: record the attempt as a certain failure so the
                // history shows the node was unreachable, and retry the open next time.
                rec.record(invoke.clone());
                let mut fail = invoke;
                fail.kind = OpType::Fail;
                fail.error = Some(Value::str(format!("{e:#}")));
                rec.record(fail);
                return OpType::Fail;
            }
        };
        rec.record(invoke.clone());
        let outcome = match tokio::time::timeout(op_timeout, client.invoke(&req)).await {
            Ok(outcome) => outcome,
            Err(_) => Outcome::info(format!("timeout after {op_timeout:?}")),
        };
        let mut done = invoke;
        done.kind = outcome.op_type();
        match outcome {
            Outcome::Ok(v) => done.value = v,
            Outcome::Fail(e) | Outcome::Info(e) => done.error = Some(e),
        }
        let kind = done.kind;
        rec.record(done);
        if kind == OpType::Info {
            // The op may still take effect: this process is finished. The worker
            // goes on as a new process with a new client, as in Jepsen.
            if let Some(mut c) = self.client.take() {
                c.close().await;
            }
            self.process += self.concurrency as u64;
        }
        kind
    }

    pub async fn close(&mut self) {
        if let Some(mut c) = self.client.take() {
            c.close().await;
        }
    }
}

/// Runs the main phase: every worker loops over its generator until the time
/// limit passes or `stop` is cancelled.
pub async fn run_main_phase(
    workers: Vec<(Worker, WorkerGenerator)>,
    factory: Arc<dyn ClientFactory>,
    rec: Recorder,
    phase: Phase,
    stop: CancellationToken,
) -> Vec<Worker> {
    let deadline = phase.time_limit.map(|l| tokio::time::Instant::now() + l);
    let mut tasks = Vec::with_capacity(workers.len());
    for (mut worker, mut generator) in workers {
        let factory = factory.clone();
        let rec = rec.clone();
        let stop = stop.clone();
        let op_timeout = phase.op_timeout;
        tasks.push(tokio::spawn(async move {
            // Jepsen's stagger: the next op is due at the previous op's start plus a
            // random delay, so slow ops do not lower the rate below the target.
            let mut next_at = tokio::time::Instant::now() + generator.delay();
            loop {
                if stop.is_cancelled() || deadline.is_some_and(|d| next_at >= d) {
                    break;
                }
                if next_at > tokio::time::Instant::now() {
                    tokio::select! {
                        _ = tokio::time::sleep_until(next_at) => {}
                        _ = stop.cancelled() => break,
                    }
                }
                let started = tokio::time::Instant::now();
                let req = generator.next_request();
                worker.invoke(req, factory.as_ref(), &rec, op_timeout).await;
                let delay = generator.delay();
                next_at = started + delay;
                if delay.is_zero() {
                    // Without a rate, yield so that one worker cannot starve the others
                    // (in-process clients complete without ever awaiting).
                    tokio::task::yield_now().await;
                }
            }
            worker
        }));
    }
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        match t.await {
            Ok(w) => out.push(w),
            Err(e) => tracing::error!("a worker task failed: {e}"),
        }
    }
    out
}

/// Runs the final phase: each worker invokes the given requests once, in order
/// (e.g. the set workload's final read), bounded by the op timeout.
pub async fn run_final_phase(
    workers: Vec<Worker>,
    requests: Vec<Request>,
    factory: Arc<dyn ClientFactory>,
    rec: Recorder,
    op_timeout: Duration,
) -> Vec<Worker> {
    if requests.is_empty() {
        return workers;
    }
    let mut tasks = Vec::new();
    for mut worker in workers {
        let factory = factory.clone();
        let rec = rec.clone();
        let requests = requests.clone();
        tasks.push(tokio::spawn(async move {
            for req in requests {
                worker.invoke(req, factory.as_ref(), &rec, op_timeout).await;
            }
            worker
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        if let Ok(w) = t.await {
            out.push(w);
        }
    }
    out
}
