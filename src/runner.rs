//! The runner: concurrent workers drive clients, and every op is recorded as it happens.
//!
//! Each of `concurrency` workers owns a client talking to node `worker mod n`
//! and loops over its cursor of the phase's compiled generator ([`run_program`]):
//! wait until the request is due (the stagger), record the invocation, invoke
//! with the per-op timeout, record the completion; or pause, or wait at a
//! phase's barrier. The outcome rules are the ones every result depends on:
//!
//! - `ok` and `fail` come from the client (`fail` only when the op certainly
//!   did not take effect);
//! - a timeout, or any ambiguous error, is `info`; the worker then closes its
//!   client and continues under a fresh process id (`process + concurrency`, as
//!   Jepsen does), so no process is ever reused after `info`.
//!
//! Around the phases, the client's once-per-test steps ([`client_once`]): setup before
//! the main phase, teardown after the final phase, each on one client opened for it.
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
use splitbrain_workloads::{Client, ClientFactory, Clock, Next, Outcome, Program, Request, Target};
use tokio_util::sync::CancellationToken;

/// What the error of an op begins with when no client could be opened for it (the op is
/// `fail`: nothing was sent), as Jepsen's `:no-client`.
pub const NO_CLIENT: &str = "could not open a client";

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
                    format!("worker {} {NO_CLIENT} to {}", self.index, self.target.name)
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

/// Runs one phase from a compiled generator ([`Program`], Jepsen's combinators): worker
/// `i` follows its own cursor until it is done or `stop` is cancelled. A request is issued
/// when it is due (Jepsen's stagger: the previous request's start plus its delay), a pause
/// waits, a barrier waits for every worker (or `stop`).
pub async fn run_program(
    workers: Vec<Worker>,
    program: &Program,
    factory: Arc<dyn ClientFactory>,
    rec: Recorder,
    op_timeout: Duration,
    stop: CancellationToken,
) -> Vec<Worker> {
    let epoch = tokio::time::Instant::now();
    let barriers: Arc<Vec<tokio::sync::Barrier>> = Arc::new(
        (0..program.barriers())
            .map(|_| tokio::sync::Barrier::new(workers.len()))
            .collect(),
    );
    let mut tasks = Vec::with_capacity(workers.len());
    for (mut worker, mut cursor) in workers.into_iter().zip(program.workers()) {
        let factory = factory.clone();
        let rec = rec.clone();
        let stop = stop.clone();
        let barriers = barriers.clone();
        tasks.push(tokio::spawn(async move {
            let mut clock = Clock::default();
            loop {
                if stop.is_cancelled() {
                    break;
                }
                clock.now = epoch.elapsed();
                match cursor.next(clock) {
                    Next::Op { req, due, delay } => {
                        if due > clock.now {
                            tokio::select! {
                                _ = tokio::time::sleep_until(epoch + due) => {}
                                _ = stop.cancelled() => break,
                            }
                        }
                        clock.last_start = epoch.elapsed();
                        worker.invoke(req, factory.as_ref(), &rec, op_timeout).await;
                        if delay.is_zero() {
                            // Without a rate, yield so that one worker cannot starve the
                            // others (in-process clients complete without ever awaiting).
                            tokio::task::yield_now().await;
                        }
                    }
                    Next::Pause(until) => {
                        tokio::select! {
                            _ = tokio::time::sleep_until(epoch + until) => {}
                            _ = stop.cancelled() => break,
                        }
                        clock.last_start = epoch.elapsed();
                    }
                    Next::Barrier(b) => {
                        tokio::select! {
                            _ = barriers[b].wait() => {}
                            _ = stop.cancelled() => break,
                        }
                        clock.last_start = epoch.elapsed();
                    }
                    Next::Done => break,
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

/// A client's once-per-test step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Once {
    Setup,
    Teardown,
}

impl std::fmt::Display for Once {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Once::Setup => "setup",
            Once::Teardown => "teardown",
        })
    }
}

/// How long a setup or teardown may take: a few operations, given time for a
/// database that is slow to answer right after it started.
pub const ONCE_TIMEOUT: Duration = Duration::from_secs(60);

/// The process id of the client opened for setup and teardown: no worker's
/// (workers count up from 0), and never in the history.
pub const ONCE_PROCESS: u64 = u64::MAX;

/// Opens one client on `target`, runs `step` on it, and closes it (Jepsen's
/// `setup!` / `teardown!`), within [`ONCE_TIMEOUT`] or until `stop`.
pub async fn client_once(
    step: Once,
    factory: &dyn ClientFactory,
    target: &Target,
    stop: &CancellationToken,
) -> Result<()> {
    let run = async {
        let mut client = factory
            .open(target, ONCE_PROCESS)
            .await
            .with_context(|| format!("{NO_CLIENT} to {}", target.name))?;
        let result = match step {
            Once::Setup => client.setup().await,
            Once::Teardown => client.teardown().await,
        };
        client.close().await;
        result
    };
    let result = tokio::select! {
        // The step first: a step with nothing to do completes even after Ctrl-C.
        biased;
        r = tokio::time::timeout(ONCE_TIMEOUT, run) => match r {
            Ok(r) => r,
            Err(_) => Err(anyhow::anyhow!("timed out after {ONCE_TIMEOUT:?}")),
        },
        _ = stop.cancelled() => Err(anyhow::anyhow!("interrupted")),
    };
    result.with_context(|| format!("client {step} on {}", target.name))
}
