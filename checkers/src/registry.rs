//! Every checker a test definition can name, in ONE table: the names in help texts
//! and in "expected one of" errors come from [`CHECKERS`], never from a hand-typed
//! list.
//!
//! ```
//! use splitbrain_checkers::registry::{CheckerParams, build};
//!
//! let stats = build("stats", &CheckerParams::default()).unwrap();
//! assert_eq!(stats.name(), "stats");
//! assert!(build("bank", &CheckerParams::default()).is_err());
//! ```

use crate::counter::CounterChecker;
use crate::set::SetChecker;
use crate::stats::StatsChecker;
use crate::unique_ids::UniqueIdsChecker;
use crate::{Checker, LinearizableChecker, ModelKind, ModelSpec, counter, set, stats, unique_ids};

/// One checker: its name, a line for help texts, and how to build it.
#[derive(Debug, Clone, Copy)]
pub struct CheckerEntry {
    pub name: &'static str,
    pub about: &'static str,
    pub build: fn(&CheckerParams) -> Box<dyn Checker>,
}

/// What building a checker may need from the workload it judges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckerParams {
    /// The model `linearizable` checks against; `None`: a compare-and-set register
    /// per key.
    pub model: Option<ModelSpec>,
}

/// The checkers, by name.
pub const CHECKERS: &[CheckerEntry] = &[
    CheckerEntry {
        name: crate::linearizable::NAME,
        about: "linearizability against the workload's model (Knossos, Porcupine)",
        build: |p| {
            let model = p
                .model
                .clone()
                .unwrap_or_else(|| ModelSpec::new(ModelKind::CasRegister));
            Box::new(LinearizableChecker::new(model))
        },
    },
    CheckerEntry {
        name: set::NAME,
        about: "every acknowledged add survives into the final reads, nothing appears from nowhere",
        build: |_| Box::new(SetChecker),
    },
    CheckerEntry {
        name: counter::NAME,
        about: "every read lies within what the increments allow",
        build: |_| Box::new(CounterChecker),
    },
    CheckerEntry {
        name: stats::NAME,
        about: "ok/fail/info counts per function; a function that never succeeded fails",
        build: |_| Box::new(StatsChecker),
    },
    CheckerEntry {
        name: unique_ids::NAME,
        about: "no id returned by two successful generates",
        build: |_| Box::new(UniqueIdsChecker),
    },
];

/// A name that is not in [`CHECKERS`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown checker `{name}`; expected one of: {}", names().join(", "))]
pub struct UnknownChecker {
    pub name: String,
}

/// The entry named `name`.
pub fn find(name: &str) -> Option<&'static CheckerEntry> {
    CHECKERS.iter().find(|e| e.name == name)
}

/// Builds the checker named `name`.
pub fn build(name: &str, params: &CheckerParams) -> Result<Box<dyn Checker>, UnknownChecker> {
    find(name)
        .map(|e| (e.build)(params))
        .ok_or_else(|| UnknownChecker {
            name: name.to_string(),
        })
}

/// Every checker's name, in table order.
pub fn names() -> Vec<&'static str> {
    CHECKERS.iter().map(|e| e.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_builds_the_checker_it_names_once() {
        for (i, e) in CHECKERS.iter().enumerate() {
            assert_eq!((e.build)(&CheckerParams::default()).name(), e.name);
            assert!(
                CHECKERS[..i].iter().all(|o| o.name != e.name),
                "{} twice",
                e.name
            );
        }
    }

    #[test]
    fn an_unknown_name_lists_the_table() {
        let e = build("bank", &CheckerParams::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown checker `bank`; expected one of: linearizable, set, counter, stats, unique-ids"
        );
    }

    #[test]
    fn linearizable_takes_the_workload_model_or_a_cas_register_per_key() {
        let dflt = build("linearizable", &CheckerParams::default()).unwrap();
        assert!(format!("{dflt:?}").contains("CasRegister"), "{dflt:?}");
        let params = CheckerParams {
            model: Some(ModelSpec::new(ModelKind::FifoQueue).with_independent(false)),
        };
        let queue = build("linearizable", &params).unwrap();
        let debug = format!("{queue:?}");
        assert!(
            debug.contains("FifoQueue") && debug.contains("independent: false"),
            "{debug}"
        );
    }
}
