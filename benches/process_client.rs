//! The client protocol's overhead: ops/s through the runner with a trivial echo program
//! (benches/echo_client.py, one OS process per worker, JSON lines over pipes) against the
//! in-process client, over 10 and 50 workers, every op recorded to a real history file.
//! Target: at least 20,000 ops/s with 10 workers on a 2-core machine.
//!
//!     cargo bench --bench process_client

use std::sync::Arc;
use std::time::Duration;

use splitbrain::config::TestDef;
use splitbrain_workloads::clients::ClientContext;
use splitbrain_workloads::{ClientFactory, Options, workload};

mod common;

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
            let (elapsed, rec) = common::run_main_phase(
                &rt,
                factory,
                register,
                concurrency,
                Duration::from_secs(5),
                &path,
            );
            let (invoked, ok, ..) = rec.counts.snapshot();
            println!(
                "protocol/{client}/{concurrency} workers: {:>9.0} ops/s ({invoked} ops, {ok} ok, {:.1} s)",
                invoked as f64 / elapsed.as_secs_f64(),
                elapsed.as_secs_f64(),
            );
        }
    }
}
