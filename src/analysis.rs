//! Analysis: run a test's checkers over its history and write `results.json`.
//!
//! Used at the end of `splitbrain test` and by `splitbrain analyze`, which
//! re-reads a stored run (a partial history from a killed controller included).
//!
//! What `results.json` holds is defined by `splitbrain_reports::results` and
//! documented in `docs/results-schema.md`; each checker's `result` is its own
//! serialized result (for `linearizable`, the
//! `splitbrain_checkers::LinearizabilityResult` with its counterexample).

use std::time::Duration;

use anyhow::{Context, Result, bail};
use splitbrain_checkers::{LeftOut, Limits, ModelKind, ModelSpec, Verdict};
use splitbrain_history::History;
use splitbrain_workloads::{CheckerSpec, Workload};

// The `results.json` types live in the reports crate (which draws them); re-exported
// here so that the harness and the CLI keep one name for them.
pub use splitbrain_reports::results::{CheckerOutcome, OpCounts, Results, RunConfig, SCHEMA};

/// Resolves checker names from a test definition (or the workload's defaults).
pub fn checker_specs(workload: Workload, names: &[String]) -> Result<Vec<CheckerSpec>> {
    if names.is_empty() {
        return Ok(workload.default_checkers().to_vec());
    }
    let defaults = workload.default_checkers();
    names
        .iter()
        .map(|n| match n.as_str() {
            "linearizable" => Ok(defaults
                .iter()
                .find(|c| matches!(c, CheckerSpec::Linearizable { .. }))
                .copied()
                .unwrap_or(CheckerSpec::Linearizable {
                    model: "cas-register",
                    per_key: true,
                })),
            "set" => Ok(CheckerSpec::Set),
            "counter" => Ok(CheckerSpec::Counter),
            "stats" => Ok(CheckerSpec::Stats),
            other => bail!(
                "unknown checker `{other}`; expected one of: linearizable, set, counter, stats"
            ),
        })
        .collect()
}

/// Runs `specs` over `history`. `time_limit` bounds the linearizability search
/// (past it the answer is unknown).
///
/// Every checker answers unknown when it has nothing to judge (no client
/// operation, none that succeeded, no final read), so a run that recorded no
/// `ok` client op is never valid. Each summary ends with what the checker
/// left out, and why ("12 nemesis ops and 3 failed ops left out").
pub fn analyze(
    history: &History,
    specs: &[CheckerSpec],
    time_limit: Option<Duration>,
) -> Result<Vec<CheckerOutcome>> {
    let mut out = Vec::new();
    for spec in specs {
        let outcome = match *spec {
            CheckerSpec::Linearizable { model, per_key } => {
                let kind: ModelKind = model
                    .parse()
                    .map_err(|e| anyhow::anyhow!("checker model: {e}"))?;
                let spec = ModelSpec::new(kind).with_independent(per_key);
                let limits = Limits {
                    time: time_limit,
                    ..Limits::default()
                };
                let r = splitbrain_checkers::check_linearizable(history, &spec, &limits)
                    .context("the history does not fit the linearizability model")?;
                let summary = match r.verdict {
                    Verdict::Valid => format!(
                        "linearizable ({} keys, {} ops checked in {:.0} ms)",
                        r.stats.keys, r.stats.calls, r.stats.elapsed_ms
                    ),
                    Verdict::Invalid => r
                        .counterexample
                        .as_ref()
                        .map(|c| format!("not linearizable: {}", c.message))
                        .unwrap_or_else(|| "not linearizable".into()),
                    Verdict::Unknown => format!(
                        "unknown: {}",
                        r.unknown_reason
                            .as_deref()
                            .unwrap_or("search did not finish")
                    ),
                };
                CheckerOutcome {
                    name: "linearizable".into(),
                    verdict: r.verdict,
                    summary: with_left_out(summary, &r.left_out),
                    result: serde_json::to_value(&r)?,
                }
            }
            CheckerSpec::Set => {
                let r = splitbrain_checkers::set::check(history);
                let summary = match &r.reason {
                    Some(reason) => reason.clone(),
                    None => format!(
                        "{} of {} acknowledged elements read; {} lost, {} unexpected, {} recovered",
                        r.ok_count,
                        r.acknowledged_count,
                        r.lost.len(),
                        r.unexpected.len(),
                        r.recovered.len()
                    ),
                };
                CheckerOutcome {
                    name: "set".into(),
                    verdict: r.verdict,
                    summary: with_left_out(summary, &r.left_out),
                    result: serde_json::to_value(&r)?,
                }
            }
            CheckerSpec::Counter => {
                let r = splitbrain_checkers::counter::check(history);
                let summary = match (&r.reason, r.errors.first()) {
                    (Some(reason), _) => reason.clone(),
                    (None, None) => format!("{} reads, all within bounds", r.read_count),
                    (None, Some(e)) => format!(
                        "{} of {} reads out of bounds; first: process {} read {} (bounds {}..={})",
                        r.errors.len(),
                        r.read_count,
                        e.process,
                        e.value,
                        e.lower,
                        e.upper
                    ),
                };
                CheckerOutcome {
                    name: "counter".into(),
                    verdict: r.verdict,
                    summary: with_left_out(summary, &r.left_out),
                    result: serde_json::to_value(&r)?,
                }
            }
            CheckerSpec::Stats => {
                let r = splitbrain_checkers::stats::check(history);
                let summary = r.reason.clone().unwrap_or_else(|| {
                    format!(
                        "{} ops: {} ok, {} fail, {} info",
                        r.total.count, r.total.ok_count, r.total.fail_count, r.total.info_count
                    )
                });
                CheckerOutcome {
                    name: "stats".into(),
                    verdict: r.verdict,
                    summary: with_left_out(summary, &r.left_out),
                    result: serde_json::to_value(&r)?,
                }
            }
        };
        out.push(outcome);
    }
    Ok(out)
}

/// "…; 12 nemesis ops and 3 failed ops left out", when anything was.
fn with_left_out(summary: String, left_out: &[LeftOut]) -> String {
    match LeftOut::summary(left_out) {
        Some(l) => format!("{summary}; {l}"),
        None => summary,
    }
}
