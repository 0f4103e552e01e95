//! How fast the runner records: in-process clients (no network), every op
//! streamed as JSON Lines to a real file, as in a test. The harness must never
//! be the bottleneck: the goal is at least 100,000 ops/s on a 2-core machine.
//!
//!     cargo bench --bench runner

use std::time::Duration;

use splitbrain::runner::{self, Recorder, Worker};
use splitbrain_workloads::clients::{self, ClientContext};
use splitbrain_workloads::{Gen, GeneratorConfig, Options, Target, workload};
use tokio_util::sync::CancellationToken;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let memory = clients::find("memory").unwrap();
    for (name, concurrency) in [
        ("register", 10),
        ("register", 50),
        ("set", 10),
        ("counter", 10),
        ("unique-ids", 10),
    ] {
        let workload = workload::find(name).unwrap();
        let path = tmp.path().join(format!("{workload}-{concurrency}.jsonl"));
        let rec = Recorder::to_file(&path).unwrap();
        let limit = Duration::from_secs(3);
        let elapsed = rt.block_on(async {
            // What the harness runs: today's main phase as a compiled generator.
            let config = GeneratorConfig::new(workload, 1, concurrency, 5);
            let program = Gen::main(config.rate, config.independent, limit)
                .compile(workload, None, 1, concurrency, 5)
                .unwrap();
            let workers = (0..concurrency)
                .map(|i| {
                    let t = Target::new(&format!("n{}", i % 5 + 1), "127.0.0.1");
                    Worker::new(i, concurrency, t)
                })
                .collect();
            let stop = CancellationToken::new();
            let flusher = rec.spawn_flusher(Duration::from_millis(500), stop.clone());
            let started = std::time::Instant::now();
            runner::run_program(
                workers,
                &program,
                memory
                    .open(workload, &Options::default(), &ClientContext::new(1))
                    .unwrap(),
                rec.clone(),
                Duration::from_secs(1),
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
