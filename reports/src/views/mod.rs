//! What the report shows of each checker, by checker name: ONE table, [`VIEWS`].
//!
//! A view reads the checker's typed result ([`CheckerOutcome::finding`]: the
//! checker's own type, as it is when the check ran in this process, read back from
//! `results.json` otherwise) and gives the page its section, JUnit and logs their
//! plain-text detail, the terminal its extra line. A checker without a view (or
//! whose result this version cannot read) still gets its summary line everywhere.
//! Adding a view is one module here and one line in the table.

mod counter;
mod linearizable;
mod set;
mod stats;
mod unique_ids;

use crate::digest::Digest;
use crate::results::CheckerOutcome;
use crate::timeline::Focus;

pub(crate) use counter::CounterView;
pub(crate) use linearizable::LinView;
pub(crate) use set::SetView;
pub(crate) use stats::StatsView;
pub(crate) use unique_ids::UniqueIdsView;

/// How many values or errors the plain text lists before "and N more".
const TEXT_LIMIT: usize = 20;
/// How many values of an anomaly, or counter errors, the page lists.
const LIST_LIMIT: usize = 200;

/// The views, by the name of the checker they draw.
const VIEWS: &[(&str, &dyn View)] = &[
    (
        splitbrain_checkers::linearizable::NAME,
        &linearizable::Linearizable,
    ),
    (splitbrain_checkers::set::NAME, &set::Set),
    (splitbrain_checkers::counter::NAME, &counter::Counter),
    (splitbrain_checkers::stats::NAME, &stats::Stats),
    (
        splitbrain_checkers::unique_ids::NAME,
        &unique_ids::UniqueIds,
    ),
];

/// The view of the checker named `name`, if there is one.
pub(crate) fn view(name: &str) -> Option<&'static dyn View> {
    VIEWS.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

/// How the report shows one checker's outcome. Every part is optional: the summary
/// line stands in for what a view does not say.
pub(crate) trait View {
    /// The checker's section on the page, when it has more to show than its summary
    /// (usually: when the verdict is not valid). May set what the page shows
    /// elsewhere: the headline, the timeline's focus, the table of ops by function.
    fn page(&self, _c: &CheckerOutcome, _page: &mut Page<'_>) -> Option<Detail> {
        None
    }

    /// The anomaly as plain text (several lines) for JUnit and logs; empty when the
    /// summary says it all.
    fn text(&self, _c: &CheckerOutcome) -> String {
        String::new()
    }

    /// One more line under an invalid verdict's summary in the terminal.
    fn sentence(&self, _c: &CheckerOutcome) -> Option<String> {
        None
    }

    /// How long the check took, in milliseconds, when the result says.
    fn elapsed_ms(&self, _c: &CheckerOutcome) -> Option<f64> {
        None
    }
}

/// What the views add to the page besides their sections, first come first served.
pub(crate) struct Page<'a> {
    pub digest: &'a Digest<'a>,
    /// Where the timeline of a large history is centred: the first anomaly.
    pub focus: Option<Focus>,
    /// The headline, when a view has a better one than the first bad summary.
    pub lead: Option<String>,
    /// Ops by function, shown with the test's configuration.
    pub stats: Option<StatsView>,
}

/// A checker's section on the page (drawn by `templates/report.html`).
pub(crate) enum Detail {
    Lin(Box<LinView>),
    Set(SetView),
    Counter(CounterView),
    UniqueIds(UniqueIdsView),
    Text(String),
}

/// `title (n): a, b, … and N more`, one line; nothing for no values.
fn text_list(s: &mut String, title: &str, values: &[impl std::fmt::Display]) {
    use std::fmt::Write;
    if values.is_empty() {
        return;
    }
    let shown: Vec<String> = values
        .iter()
        .take(TEXT_LIMIT)
        .map(|x| x.to_string())
        .collect();
    let _ = write!(s, "{title} ({}): {}", values.len(), shown.join(", "));
    if values.len() > TEXT_LIMIT {
        let _ = write!(s, ", … and {} more", values.len() - TEXT_LIMIT);
    }
    s.push('\n');
}

/// `reason` on a line of its own, unless the text already says it.
fn with_reason(mut s: String, reason: Option<&str>) -> String {
    if let Some(r) = reason
        && !s.contains(r)
    {
        s.push_str(r);
        s.push('\n');
    }
    s
}
