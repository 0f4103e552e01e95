//! What both runner benchmarks do: today's main phase of a workload, compiled, run by
//! `concurrency` workers through the real runner with every op streamed to a history
//! file, timed.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use splitbrain::runner::{self, Recorder, Worker};
use splitbrain_workloads::{ClientFactory, Gen, GeneratorConfig, Target, Workload};
use tokio_util::sync::CancellationToken;

/// Runs the main phase for `limit` and closes every worker's client; the time the phase
/// took and the recorder (its counts). Worker `i` is pointed at node `n{i mod 5 + 1}`.
pub fn run_main_phase(
    rt: &tokio::runtime::Runtime,
    factory: Arc<dyn ClientFactory>,
    workload: &'static dyn Workload,
    concurrency: usize,
    limit: Duration,
    history: &Path,
) -> (Duration, Recorder) {
    let rec = Recorder::to_file(history).unwrap();
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
        let mut workers = runner::run_program(
            workers,
            &program,
            factory,
            rec.clone(),
            Duration::from_secs(5),
            CancellationToken::new(),
        )
        .await;
        let elapsed = started.elapsed();
        for w in &mut workers {
            w.close().await;
        }
        stop.cancel();
        flusher.await.unwrap();
        elapsed
    });
    rec.flush().unwrap();
    (elapsed, rec)
}
