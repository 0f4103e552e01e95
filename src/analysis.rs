//! Analysis: run a test's checkers over its history and write `results.json`.
//!
//! Used at the end of `splitbrain test` and by `splitbrain analyze`, which
//! re-reads a stored run (a partial history from a killed controller included).
//!
//! The checkers come from `splitbrain_checkers::registry`, named by the test
//! definition or chosen by the workload. What `results.json` holds is defined by
//! `splitbrain_reports::results` and documented in `docs/results-schema.md`; each
//! checker's `result` is its own serialized result (for `linearizable`, the
//! `splitbrain_checkers::LinearizabilityResult` with its counterexample), and its
//! typed result goes on to the report as it is.

use std::time::Duration;

use anyhow::Result;
use splitbrain_checkers::registry::{self, CheckerParams};
use splitbrain_checkers::{Checker, Limits, compose};
use splitbrain_history::History;
use splitbrain_workloads::Workload;

// The `results.json` types live in the reports crate (which draws them); re-exported
// here so that the harness and the CLI keep one name for them.
pub use splitbrain_reports::results::{CheckerOutcome, OpCounts, Results, RunConfig, SCHEMA};

/// The checkers a test definition names (`checkers:`), or the workload's own when it
/// names none. Each is built from the registry with what the workload tells it (the
/// register's model for `linearizable`); a checker the workload does not list gets the
/// registry's defaults. An unknown name is an error listing the registry's names.
pub fn checkers(workload: &dyn Workload, names: &[String]) -> Result<Vec<Box<dyn Checker>>> {
    let defaults = workload.default_checkers();
    if names.is_empty() {
        return defaults
            .iter()
            .map(|(name, params)| Ok(registry::build(name, params)?))
            .collect();
    }
    names
        .iter()
        .map(|name| {
            let params = defaults
                .iter()
                .find(|(d, _)| d == name)
                .map(|(_, p)| p.clone())
                .unwrap_or_else(CheckerParams::default);
            Ok(registry::build(name, &params)?)
        })
        .collect()
}

/// Runs `checkers` over `history`, in order (Jepsen's compose). `time_limit` bounds
/// each check (past it the linearizability search answers unknown).
///
/// Every checker answers unknown when it has nothing to judge (no client
/// operation, none that succeeded, no final read), so a run that recorded no
/// `ok` client op is never valid. Each summary ends with what the checker
/// left out, and why ("12 nemesis ops and 3 failed ops left out").
pub fn analyze(
    history: &History,
    checkers: &[Box<dyn Checker>],
    time_limit: Option<Duration>,
) -> Result<Vec<CheckerOutcome>> {
    let limits = Limits {
        time: time_limit,
        ..Limits::default()
    };
    compose::check_each(checkers, history, &limits)?
        .into_iter()
        .map(|c| Ok(CheckerOutcome::from_checked(c)?))
        .collect()
}

#[cfg(test)]
mod tests {
    use splitbrain_checkers::testing::history;
    use splitbrain_checkers::{LinearizabilityResult, ModelKind, Verdict};
    use splitbrain_history::{OpType, Value};

    use super::*;

    fn workload(name: &str) -> &'static dyn Workload {
        name.parse().unwrap()
    }

    fn names(checkers: &[Box<dyn Checker>]) -> Vec<&str> {
        checkers.iter().map(|c| c.name()).collect()
    }

    #[test]
    fn a_definition_names_checkers_or_takes_the_workloads() {
        let register = workload("register");
        assert_eq!(
            names(&checkers(register, &[]).unwrap()),
            ["linearizable", "stats"]
        );
        let named = checkers(workload("set"), &["stats".into(), "linearizable".into()]).unwrap();
        assert_eq!(names(&named), ["stats", "linearizable"]);
        let e = checkers(register, &["bank".into()]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown checker `bank`; expected one of: linearizable, set, counter, stats, unique-ids"
        );
    }

    #[test]
    fn outcomes_keep_the_typed_result_and_record_the_same_json() {
        use OpType::{Invoke, Ok};
        let h = history(&[
            (0, Invoke, "write", Value::Int(1)),
            (0, Ok, "write", Value::Int(1)),
            (1, Invoke, "read", Value::Nil),
            (1, Ok, "read", Value::Int(2)),
        ]);
        let out = analyze(&h, &checkers(workload("register"), &[]).unwrap(), None).unwrap();
        assert_eq!(out[0].verdict, Verdict::Invalid);
        assert!(
            out[0].summary.starts_with("not linearizable: "),
            "{}",
            out[0].summary
        );
        let typed = out[0].finding::<LinearizabilityResult>().unwrap();
        assert!(
            matches!(typed, std::borrow::Cow::Borrowed(_)),
            "no round trip"
        );
        assert_eq!(typed.model, ModelKind::CasRegister.as_str());
        let json: LinearizabilityResult = serde_json::from_value(out[0].result.clone()).unwrap();
        assert_eq!(json.verdict, typed.verdict);
        assert_eq!(out[1].summary, "2 ops: 2 ok, 0 fail, 0 info");
    }

    #[test]
    fn a_history_that_does_not_fit_names_the_checker() {
        use OpType::{Invoke, Ok};
        let h = history(&[
            (0, Invoke, "cas", Value::Int(1)),
            (0, Ok, "cas", Value::Int(1)),
        ]);
        let e = analyze(&h, &checkers(workload("register"), &[]).unwrap(), None).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("the history does not fit the `linearizable` checker: op 0"),
            "{e}"
        );
    }
}
