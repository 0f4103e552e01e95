//! The end-of-run summary for the terminal, and the plain-text anomaly details
//! shared with `junit.xml`.

use std::fmt::Write;
use std::path::Path;

use splitbrain_checkers::Verdict;

use crate::results::{CheckerOutcome, Results};
use crate::views;

/// What ran, the verdicts, and where to look:
///
/// ```text
/// stale-register 20261125T053253.462Z  →  INVALID
///   memory-stale client, register workload, 4 workers, seed 3, no faults; 2.0 s
///   ops: 1547 invoked, 1119 ok, 428 fail, 0 info
///   linearizable  invalid  not linearizable: key 3: ...
///                          read of key 3 returned 4 after a write of 3 had completed
///   stats         valid    1547 ops: 1119 ok, 428 fail, 0 info
///   stored in store/stale-register/20261125T053253.462Z
///   report: store/stale-register/20261125T053253.462Z/report.html
/// ```
pub fn render_summary(r: &Results, dir: &Path, report: Option<&Path>) -> String {
    let mut s = String::new();
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{} {}  →  {}",
        r.test,
        r.run,
        r.verdict.as_str().to_uppercase()
    );
    let what = what_ran(r);
    if !what.is_empty() {
        let _ = writeln!(s, "  {what}");
    }
    let _ = writeln!(
        s,
        "  ops: {} invoked, {} ok, {} fail, {} info",
        r.ops.invoke, r.ops.ok, r.ops.fail, r.ops.info
    );
    for c in &r.checkers {
        let _ = writeln!(
            s,
            "  {:<13} {:<8} {}",
            c.name,
            c.verdict.as_str(),
            c.summary
        );
        if c.verdict == Verdict::Invalid
            && let Some(sentence) = views::view(&c.name).and_then(|v| v.sentence(c))
        {
            let _ = writeln!(s, "  {:<13} {:<8} {sentence}", "", "");
        }
    }
    for n in &r.notes {
        let _ = writeln!(s, "  note: {n}");
    }
    let _ = writeln!(s, "  stored in {}", dir.display());
    if let Some(p) = report {
        let _ = writeln!(s, "  report: {}", p.display());
    }
    s
}

/// "etcd, register workload, 10 workers, seed 42, faults: partition ×2; 15.2 s"
pub fn what_ran(r: &Results) -> String {
    let c = &r.config;
    let mut parts = Vec::new();
    match (&c.db, &c.client) {
        (Some(db), _) => parts.push(db.clone()),
        (None, Some(client)) => parts.push(format!("{client} client")),
        _ => {}
    }
    if let Some(w) = &c.workload {
        parts.push(format!("{w} workload"));
    }
    if !c.nodes.is_empty() {
        parts.push(format!("{} nodes", c.nodes.len()));
    }
    if let Some(n) = c.concurrency {
        parts.push(format!("{n} worker{}", if n == 1 { "" } else { "s" }));
    }
    if let Some(seed) = c.seed {
        parts.push(format!("seed {seed}"));
    }
    if !r.faults.is_empty() {
        let f: Vec<String> = r
            .faults
            .iter()
            .map(|f| format!("{} ×{}", f.fault, f.count))
            .collect();
        parts.push(format!("faults: {}", f.join(", ")));
    } else if !c.nemesis.is_empty() {
        parts.push(format!(
            "faults enabled: {} (none took effect)",
            c.nemesis.join(", ")
        ));
    } else if !parts.is_empty() {
        parts.push("no faults".into());
    }
    let mut s = parts.join(", ");
    if let Some(d) = r.duration_s {
        if !s.is_empty() {
            s.push_str("; ");
        }
        s.push_str(&crate::text::seconds(d));
    }
    s
}

/// The anomaly a checker found, as plain text (several lines), for JUnit and logs;
/// empty when there is nothing more to say than the summary (or no view knows the
/// checker).
pub fn anomaly_detail(c: &CheckerOutcome) -> String {
    views::view(&c.name)
        .map(|v| v.text(c))
        .unwrap_or_default()
        .trim_end()
        .to_string()
}
