//! How fast the runner records: in-process clients (no network), every op
//! streamed as JSON Lines to a real file, as in a test. The harness must never
//! be the bottleneck: the goal is at least 100,000 ops/s on a 2-core machine.
//!
//!     cargo bench --bench runner

use std::sync::Arc;
use std::time::Duration;

use splitbrain::runner::{self, Phase, Recorder, Worker};
use splitbrain_workloads::memory::MemoryClientFactory;
use splitbrain_workloads::{GeneratorConfig, Target, Workload};
use tokio_util::sync::CancellationToken;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    for (workload, concurrency) in [
        (Workload::Register, 10),
        (Workload::Register, 50),
        (Workload::Set, 10),
        (Workload::Counter, 10),
    ] {
        let path = tmp.path().join(format!("{workload}-{concurrency}.jsonl"));
        let rec = Recorder::to_file(&path).unwrap();
        let limit = Duration::from_secs(3);
        let elapsed = rt.block_on(async {
            let config = GeneratorConfig::new(workload, 1, concurrency, 5);
            let workers = config
                .workers()
                .unwrap()
                .into_iter()
                .enumerate()
                .map(|(i, g)| {
                    let t = Target::new(&format!("n{}", i % 5 + 1), "127.0.0.1");
                    (Worker::new(i, concurrency, t), g)
                })
                .collect();
            let stop = CancellationToken::new();
            let flusher = rec.spawn_flusher(Duration::from_millis(500), stop.clone());
            let started = std::time::Instant::now();
            runner::run_main_phase(
                workers,
                Arc::new(MemoryClientFactory::linearizable(workload)),
                rec.clone(),
                Phase {
                    time_limit: Some(limit),
                    op_timeout: Duration::from_secs(1),
                },
                CancellationToken::new(),
            )
            .await;
            let elapsed = started.elapsed();
            stop.cancel();
            flusher.await.unwrap();
            elapsed
        });
        rec.flush().unwrap();
        let (invoked, ok, ..) = rec.counts.snapshot();
        let bytes = std::fs::metadata(&path).unwrap().len();
        println!(
            "runner/{workload}/{concurrency} workers: {:>9.0} ops/s ({invoked} ops, {ok} ok, {:.1} s, {:.0} MB of history)",
            invoked as f64 / elapsed.as_secs_f64(),
            elapsed.as_secs_f64(),
            bytes as f64 / 1e6
        );
    }
}
