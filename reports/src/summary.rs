//! The end-of-run summary for the terminal, and the plain-text anomaly details
//! shared with `junit.xml`.

use std::fmt::Write;
use std::path::Path;

use splitbrain_checkers::{LinearizabilityResult, Verdict};

use crate::explain;
use crate::results::{CheckerOutcome, Results};

/// How many values or errors the text lists before "and N more".
const TEXT_LIMIT: usize = 20;

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
            && let Some(sentence) = counterexample_sentence(c)
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
        s.push_str(&crate::charts::seconds(d));
    }
    s
}

fn counterexample_sentence(c: &CheckerOutcome) -> Option<String> {
    if c.name != "linearizable" {
        return None;
    }
    let l: LinearizabilityResult = serde_json::from_value(c.result.clone()).ok()?;
    l.counterexample
        .as_ref()
        .map(|cx| explain::sentence(&l.model, cx))
}

/// The anomaly a checker found, as plain text (several lines), for JUnit and logs;
/// empty when there is nothing more to say than the summary.
pub fn anomaly_detail(c: &CheckerOutcome) -> String {
    let mut s = String::new();
    let list = |s: &mut String, title: &str, v: Option<&serde_json::Value>| {
        let Some(items) = v.and_then(|v| v.as_array()) else {
            return;
        };
        if items.is_empty() {
            return;
        }
        let shown: Vec<String> = items
            .iter()
            .take(TEXT_LIMIT)
            .map(|x| x.to_string())
            .collect();
        let _ = write!(s, "{title} ({}): {}", items.len(), shown.join(", "));
        if items.len() > TEXT_LIMIT {
            let _ = write!(s, ", … and {} more", items.len() - TEXT_LIMIT);
        }
        s.push('\n');
    };
    match c.name.as_str() {
        "linearizable" => {
            let Ok(l) = serde_json::from_value::<LinearizabilityResult>(c.result.clone()) else {
                return s;
            };
            if let Some(cx) = &l.counterexample {
                let _ = writeln!(s, "{}", explain::sentence(&l.model, cx));
                let _ = writeln!(s, "{}", cx.message);
                for (i, p) in cx.prefixes.iter().enumerate() {
                    let _ = writeln!(
                        s,
                        "longest linearizable prefix {} (last ops, in order):",
                        i + 1
                    );
                    for (k, op) in p.ops.iter().enumerate() {
                        let _ = writeln!(
                            s,
                            "  {:>2}. process {} {} (op {}) => {}",
                            k + 1,
                            op.op.process,
                            op.op.describe(),
                            op.op.index,
                            op.state_after
                        );
                    }
                    for u in cx.unplaceable.iter().filter(|u| u.prefix == i) {
                        let _ = writeln!(
                            s,
                            "   ✗ process {} {} (op {}): {}",
                            u.op.process,
                            u.op.describe(),
                            u.op.index,
                            u.reason
                        );
                    }
                }
            }
            if let Some(u) = &l.unknown_reason {
                let _ = writeln!(s, "unknown: {u}");
            }
        }
        "set" => {
            list(&mut s, "lost", c.result.get("lost"));
            list(&mut s, "unexpected", c.result.get("unexpected"));
            list(&mut s, "failed yet present", c.result.get("failed_present"));
        }
        "counter" => {
            if let Some(errors) = c.result.get("errors").and_then(|e| e.as_array()) {
                for e in errors.iter().take(TEXT_LIMIT) {
                    let _ = writeln!(
                        s,
                        "op {}: process {} read {}, allowed {}..={}",
                        e["index"], e["process"], e["value"], e["lower"], e["upper"]
                    );
                }
                if errors.len() > TEXT_LIMIT {
                    let _ = writeln!(s, "… and {} more", errors.len() - TEXT_LIMIT);
                }
            }
        }
        _ => {}
    }
    if let Some(reason) = c.result.get("reason").and_then(|r| r.as_str())
        && !s.contains(reason)
    {
        let _ = writeln!(s, "{reason}");
    }
    s.trim_end().to_string()
}
