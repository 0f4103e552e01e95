//! The client protocol's overhead: ops/s through the runner with a trivial echo program
//! (benches/echo_client.py, one OS process per worker, JSON lines over pipes) against the
//! in-process client, over 10 and 50 workers, every op recorded to a real history file.
//! Target: at least 20,000 ops/s with 10 workers on a 2-core machine.
//!
//!     cargo bench --bench process_client

use std::sync::Arc;
use std::time::Duration;

use splitbrain::config::TestDef;
use splitbrain::runner::{self, Recorder, Worker};
use splitbrain_workloads::clients::ClientContext;
use splitbrain_workloads::{ClientFactory, Gen, GeneratorConfig, Options, Target, workload};
use tokio_util::sync::CancellationToken;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let echo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/echo_client.py");
    let def = TestDef::parse(
        &format!(
            "client:\n  type: process\n  command: [python3, '{}']\nworkload: {{type: register}}\n",
            echo.display()
        ),
        "bench.yaml",
    )
    .unwrap();
    let register = workload::find("register").unwrap();
    for concurrency in [10, 50] {
        for client in ["memory", "process"] {
            let factory: Arc<dyn ClientFactory> = if client == "memory" {
                splitbrain_workloads::clients::find("memory")
                    .unwrap()
                    .open(register, &Options::default(), &ClientContext::new(1))
                    .unwrap()
            } else {
                def.client
                    .client_type()
                    .unwrap()
                    .open(register, &def.client.options, &ClientContext::new(1))
                    .unwrap()
            };
            let path = tmp.path().join(format!("{client}-{concurrency}.jsonl"));
            let rec = Recorder::to_file(&path).unwrap();
            let limit = Duration::from_secs(5);
            let elapsed = rt.block_on(async {
                let config = GeneratorConfig::new(register, 1, concurrency, 5);
                let program = Gen::main(config.rate, config.independent, limit)
                    .compile(register, None, 1, concurrency, 5)
                    .unwrap();
                let workers = (0..concurrency)
                    .map(|i| Worker::new(i, concurrency, Target::new("n1", "127.0.0.1")))
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
            let (invoked, ok, ..) = rec.counts.snapshot();
            println!(
                "protocol/{client}/{concurrency} workers: {:>9.0} ops/s ({invoked} ops, {ok} ok, {:.1} s)",
                invoked as f64 / elapsed.as_secs_f64(),
                elapsed.as_secs_f64(),
            );
        }
    }
}
