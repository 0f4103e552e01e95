//! How long the report of a large history takes to render, and how big it is.
//!
//! `cargo bench -p splitbrain-reports` renders a synthetic 100k-op history
//! (50k calls on 10 workers, two faults) a few times and prints the time per
//! render and the page size. Goal: a few seconds at most, a page of a few MB.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use splitbrain_checkers::ModelKind;

fn main() {
    let history = common::synthetic(
        50_000,
        10,
        11,
        &[("partition", 5.0, Some(9.0)), ("kill", 20.0, Some(24.0))],
    );
    let outcome = common::linearizable(&history, ModelKind::CasRegister);
    let results = common::results("bench", &history, vec![outcome]);
    let mut best = f64::MAX;
    let mut size = 0;
    for _ in 0..5 {
        let start = Instant::now();
        let html = common::render(&results, &history);
        best = best.min(start.elapsed().as_secs_f64());
        size = html.len();
    }
    let start = Instant::now();
    let xml = splitbrain_reports::junit::render_junit(&results).unwrap();
    let junit = start.elapsed();
    println!(
        "report of {} history entries: {:.0} ms (best of 5), {:.2} MiB; junit.xml in {:?} ({} bytes)",
        history.len(),
        best * 1000.0,
        size as f64 / (1 << 20) as f64,
        junit,
        xml.len()
    );
}
