//! `unique-ids`, Jepsen's: every `generate` (invoked with no value) returns an id in
//! its `ok` completion; no two successful generates may return the same id.

use splitbrain_checkers::registry::CheckerParams;

use crate::workload::{NoValues, Values, Workload};

/// The function, as the checker knows it.
pub const GENERATE: &str = splitbrain_checkers::unique_ids::GENERATE;

#[derive(Debug, Clone, Copy)]
pub struct UniqueIds;

impl Workload for UniqueIds {
    fn name(&self) -> &'static str {
        "unique-ids"
    }

    fn about(&self) -> &'static str {
        "generate ids; no id may be returned twice"
    }

    fn functions(&self) -> &'static [&'static str] {
        &[GENERATE]
    }

    fn default_mix(&self) -> &'static [(&'static str, u32)] {
        &[(GENERATE, 1)]
    }

    fn values(&self, _: usize, _: usize) -> Box<dyn Values> {
        Box::new(NoValues)
    }

    fn default_checkers(&self) -> Vec<(&'static str, CheckerParams)> {
        vec![
            (
                splitbrain_checkers::unique_ids::NAME,
                CheckerParams::default(),
            ),
            (splitbrain_checkers::stats::NAME, CheckerParams::default()),
        ]
    }
}
