//! `stats`: ops by function and outcome, shown with the test's configuration.

use splitbrain_checkers::stats::{Counts, StatsResult};

use super::{Detail, Page, View, with_reason};
use crate::results::CheckerOutcome;
use crate::text::thousands;

pub(super) struct Stats;

pub(crate) struct StatsRow {
    pub f: String,
    pub count: String,
    pub ok: String,
    pub fail: String,
    pub info: String,
    pub bad: bool,
}

pub(crate) struct StatsView {
    pub rows: Vec<StatsRow>,
}

impl View for Stats {
    /// No section of its own: the table goes with the configuration, and a bad
    /// verdict's summary says what never succeeded.
    fn page(&self, c: &CheckerOutcome, page: &mut Page<'_>) -> Option<Detail> {
        page.stats = c.finding::<StatsResult>().map(|s| stats_view(&s));
        None
    }

    fn text(&self, c: &CheckerOutcome) -> String {
        let reason = c.finding::<StatsResult>().and_then(|s| s.reason.clone());
        with_reason(String::new(), reason.as_deref())
    }
}

fn stats_view(s: &StatsResult) -> StatsView {
    let row = |f: &str, c: &Counts| StatsRow {
        f: f.to_string(),
        count: thousands(c.count),
        ok: thousands(c.ok_count),
        fail: thousands(c.fail_count),
        info: thousands(c.info_count),
        bad: c.count > 0 && c.ok_count == 0,
    };
    let mut rows: Vec<StatsRow> = s.by_f.iter().map(|(f, c)| row(f, c)).collect();
    rows.push(row("all", &s.total));
    StatsView { rows }
}
