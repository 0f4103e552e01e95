//! [`Checker`]: the one extension surface for analysis, as Jepsen's `Checker` protocol.
//!
//! A checker has a name (the one test definitions and `results.json` use) and a `check`
//! that reads a history within [`Limits`] and returns a [`Checked`]: its verdict, a
//! one-line summary and its own typed result (a [`Finding`]). The typed result travels
//! as it is to whoever draws it (the reports crate downcasts to the types it has views
//! for, [`Checked::finding`]) and is serialized only for `results.json`
//! ([`Finding::to_json`]).
//!
//! Adding a checker is one module implementing [`Checker`] (its result implementing
//! [`Finding`]) plus one line in the [registry](crate::registry) table.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use splitbrain_history::History;

use crate::{CheckError, LeftOut, Limits, Verdict};

/// Judges a history.
pub trait Checker: Send + Sync + fmt::Debug {
    /// The checker's name: `linearizable`, `set`, `counter`, `stats`, ...
    fn name(&self) -> &str;

    /// Checks `history`. Past a limit the verdict is unknown, never valid; so is a
    /// history with nothing to judge. An error means the history does not fit the
    /// checker at all (e.g. a value a model cannot hold).
    fn check(&self, history: &History, limits: &Limits) -> Result<Checked, CheckError>;
}

/// A checker's own typed result.
pub trait Finding: Any + Send + Sync + fmt::Debug {
    fn verdict(&self) -> Verdict;

    /// One line saying what was found, without the left-out tally ([`Checked::new`]
    /// appends it).
    fn summary(&self) -> String;

    /// The ops this checker did not judge, by reason.
    fn left_out(&self) -> &[LeftOut] {
        &[]
    }

    /// The result as `results.json` records it under the checker's `result`.
    fn to_json(&self) -> Result<serde_json::Value, serde_json::Error>;

    fn as_any(&self) -> &dyn Any;
}

/// What one checker said about one history.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The checker's name.
    pub name: String,
    pub verdict: Verdict,
    /// The finding's summary, then what was left out ("…; 12 nemesis ops left out").
    pub summary: String,
    /// The typed result.
    pub finding: Arc<dyn Finding>,
}

impl Checked {
    pub fn new(name: &str, finding: impl Finding) -> Checked {
        let summary = match LeftOut::summary(finding.left_out()) {
            Some(l) => format!("{}; {l}", finding.summary()),
            None => finding.summary(),
        };
        Checked {
            name: name.to_string(),
            verdict: finding.verdict(),
            summary,
            finding: Arc::new(finding),
        }
    }

    /// The typed result, if it is a `T`.
    pub fn finding<T: Finding>(&self) -> Option<&T> {
        self.finding.as_any().downcast_ref::<T>()
    }
}

/// `1,234,567`: counts in summaries, the same in every checker and report.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Declares `$ty`, a [`Checker`] named `$name` that needs only the history: its
/// `check` is `$check(history)` (the set, counter, stats and unique-ids checkers).
macro_rules! history_checker {
    ($ty:ident, $name:expr, $check:path) => {
        #[doc = concat!("[`", stringify!($check), "`] as a [`Checker`](crate::Checker).")]
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $ty;

        impl $crate::Checker for $ty {
            fn name(&self) -> &str {
                $name
            }

            fn check(
                &self,
                history: &splitbrain_history::History,
                _: &$crate::Limits,
            ) -> Result<$crate::Checked, $crate::CheckError> {
                Ok($crate::Checked::new($name, $check(history)))
            }
        }
    };
}
pub(crate) use history_checker;
