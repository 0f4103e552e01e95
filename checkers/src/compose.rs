//! [`Compose`]: several checkers as one, as Jepsen's `checker/compose`.
//!
//! Each checker judges the same history on its own; the composed verdict is the
//! worst of theirs (invalid beats unknown beats valid) and every answer is kept, as
//! its own [`Checked`], for whoever reports them one by one.

use std::any::Any;

use splitbrain_history::History;

use crate::{CheckError, Checked, Checker, Finding, Limits, Verdict};

/// The composed checker's name.
pub const NAME: &str = "compose";

/// Several checkers run in order over one history.
#[derive(Debug, Default)]
pub struct Compose {
    checkers: Vec<Box<dyn Checker>>,
}

impl Compose {
    pub fn new(checkers: Vec<Box<dyn Checker>>) -> Compose {
        Compose { checkers }
    }

    pub fn checkers(&self) -> &[Box<dyn Checker>] {
        &self.checkers
    }

    /// Each checker's answer, in order; see [`check_each`].
    pub fn check_each(
        &self,
        history: &History,
        limits: &Limits,
    ) -> Result<Vec<Checked>, ComposeError> {
        check_each(&self.checkers, history, limits)
    }
}

/// Runs `checkers` in order over `history`, each within `limits`. The first checker
/// the history does not fit stops the run, named in the error.
pub fn check_each(
    checkers: &[Box<dyn Checker>],
    history: &History,
    limits: &Limits,
) -> Result<Vec<Checked>, ComposeError> {
    checkers
        .iter()
        .map(|c| {
            c.check(history, limits).map_err(|source| ComposeError {
                checker: c.name().to_string(),
                source,
            })
        })
        .collect()
}

/// A checker of a composition did not accept the history.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the history does not fit the `{checker}` checker: {source}")]
pub struct ComposeError {
    pub checker: String,
    pub source: CheckError,
}

impl Checker for Compose {
    fn name(&self) -> &str {
        NAME
    }

    fn check(&self, history: &History, limits: &Limits) -> Result<Checked, CheckError> {
        let results = self.check_each(history, limits).map_err(|e| e.source)?;
        Ok(Checked::new(NAME, Composed { results }))
    }
}

/// What a composition found: every checker's own answer.
#[derive(Debug, Clone)]
pub struct Composed {
    pub results: Vec<Checked>,
}

impl Finding for Composed {
    /// The worst of the checkers' verdicts; valid for none, as [`Verdict::worst`] folds.
    fn verdict(&self) -> Verdict {
        self.results
            .iter()
            .fold(Verdict::Valid, |v, c| v.worst(c.verdict))
    }

    /// "linearizable invalid, stats valid".
    fn summary(&self) -> String {
        if self.results.is_empty() {
            return "no checkers".into();
        }
        self.results
            .iter()
            .map(|c| format!("{} {}", c.name, c.verdict))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `{"checkers": [{name, verdict, summary, result}, ...]}`, each entry shaped as
    /// in `results.json`.
    fn to_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        let checkers = self
            .results
            .iter()
            .map(|c| {
                Ok(serde_json::json!({
                    "name": c.name,
                    "verdict": c.verdict,
                    "summary": c.summary,
                    "result": c.finding.to_json()?,
                }))
            })
            .collect::<Result<Vec<_>, serde_json::Error>>()?;
        Ok(serde_json::json!({ "checkers": checkers }))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use splitbrain_history::{OpType, Value};

    use super::*;
    use crate::counter::CounterChecker;
    use crate::set::SetResult;
    use crate::stats::{StatsChecker, StatsResult};
    use crate::testing::history;
    use crate::{LinearizableChecker, ModelKind, ModelSpec};

    use OpType::{Invoke, Ok};

    #[test]
    fn every_checker_answers_and_the_worst_verdict_wins() {
        // A register read of a value never written: not linearizable; stats is fine.
        let h = history(&[
            (0, Invoke, "write", Value::Int(1)),
            (0, Ok, "write", Value::Int(1)),
            (1, Invoke, "read", Value::Nil),
            (1, Ok, "read", Value::Int(2)),
        ]);
        let compose = Compose::new(vec![
            Box::new(LinearizableChecker::new(ModelSpec::new(
                ModelKind::Register,
            ))),
            Box::new(StatsChecker),
        ]);
        let each = compose.check_each(&h, &Limits::default()).unwrap();
        assert_eq!(
            each.iter()
                .map(|c| (c.name.as_str(), c.verdict))
                .collect::<Vec<_>>(),
            [
                ("linearizable", Verdict::Invalid),
                ("stats", Verdict::Valid)
            ]
        );
        // The typed results come back as themselves.
        assert!(each[1].finding::<StatsResult>().is_some());
        assert!(each[1].finding::<SetResult>().is_none());

        let all = compose.check(&h, &Limits::default()).unwrap();
        assert_eq!(all.verdict, Verdict::Invalid);
        assert_eq!(all.summary, "linearizable invalid, stats valid");
        let json = all.finding.to_json().unwrap();
        assert_eq!(json["checkers"][0]["name"], "linearizable");
        assert_eq!(json["checkers"][1]["result"]["count"], 2);
    }

    #[test]
    fn a_history_that_does_not_fit_names_the_checker() {
        // A cas without a pair does not fit the cas-register model.
        let h = history(&[
            (0, Invoke, "cas", Value::Int(1)),
            (0, Ok, "cas", Value::Int(1)),
        ]);
        let compose = Compose::new(vec![
            Box::new(CounterChecker),
            Box::new(LinearizableChecker::new(ModelSpec::new(
                ModelKind::CasRegister,
            ))),
        ]);
        let e = compose.check_each(&h, &Limits::default()).unwrap_err();
        assert_eq!(e.checker, "linearizable");
        assert!(
            e.to_string()
                .starts_with("the history does not fit the `linearizable` checker: op 0"),
            "{e}"
        );
    }

    #[test]
    fn nothing_composed_is_valid_as_results_are() {
        let c = Compose::default()
            .check(&history(&[]), &Limits::default())
            .unwrap();
        assert_eq!(
            (c.verdict, c.summary.as_str()),
            (Verdict::Valid, "no checkers")
        );
    }
}
