//! How fast the runner records: in-process clients (no network), every op
//! streamed as JSON Lines to a real file, as in a test. The harness must never
//! be the bottleneck: the goal is at least 100,000 ops/s on a 2-core machine.
//!
//!     cargo bench --bench runner

use std::time::Duration;

use splitbrain_workloads::clients::{self, ClientContext};
use splitbrain_workloads::{Options, workload};

mod common;

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
        let factory = memory
            .open(workload, &Options::default(), &ClientContext::new(1))
            .unwrap();
        let (elapsed, rec) = common::run_main_phase(
            &rt,
            factory,
            workload,
            concurrency,
            Duration::from_secs(3),
            &path,
        );
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
