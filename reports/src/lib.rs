//! # splitbrain-reports
//!
//! What a run looks like to the people who read it and to the CI that gates
//! on it. A checked run is [`Results`] (its `results.json`) plus the
//! [`History`](splitbrain_history::History) they are about; this crate turns
//! them into:
//!
//! | output | what | module |
//! | --- | --- | --- |
//! | `results.json` | the machine-readable record, schema `splitbrain-results/1` | [`results`] |
//! | `report.html` | one self-contained page: verdicts, configuration, the counterexample drawn, set/counter anomalies, charts with faults shaded, a per-process timeline, links to the run's files | [`RunReport`] |
//! | `junit.xml` | one test case per checker; a failure carries the anomaly | [`junit`] |
//! | `store/index.html` | every run in the store, newest first | [`index`] |
//! | terminal summary | what ran, the verdicts, where the report is | [`summary`] |
//!
//! ```no_run
//! # fn demo(results: splitbrain_reports::Results, history: splitbrain_history::History) -> Result<(), splitbrain_reports::ReportError> {
//! let dir = std::path::Path::new("store/etcd-register/20261125T101500.000Z");
//! let colours = splitbrain_reports::FaultColours::default();
//! let written = splitbrain_reports::write_run(dir, &results, &history, Some("../../index.html"), &colours)?;
//! println!("{}", splitbrain_reports::summary::render_summary(&results, dir, Some(&written.report)));
//! # Ok(()) }
//! ```
//!
//! ## The page
//!
//! The report opens from disk: CSS and SVG are inline, there is no script and
//! nothing is fetched (a Content-Security-Policy says so to the browser).
//! Every string that came from the database or the history goes through
//! askama's HTML escaping, or plotters' SVG escaping for chart labels.
//!
//! Each checker is drawn by its view, picked by checker name from one table
//! (`views`), from the checker's own typed result: as it is when the check ran in
//! this process ([`CheckerOutcome::finding`]), read back from `results.json`
//! otherwise. A checker without a view gets its summary line.
//!
//! A linearizability counterexample is drawn after Knossos and Porcupine: the
//! ops involved as bars per process, the longest linearizable prefix numbered
//! in its linearization order with the model state after each op, the op that
//! cannot be placed, and one sentence ([`explain::sentence`]) — "read of key 3
//! returned 1 after a write of 2 had completed".
//!
//! Nemesis ops (process `nemesis`, `start-<fault>` / `stop-<fault>`,
//! `clock-offsets`: the names of `splitbrain_history::fault_op`) become shaded,
//! labelled intervals on every chart, a column of the timeline, a table of
//! faults, and a chart of node clock offsets, each fault in the colour the
//! caller's [`FaultColours`] gives it.
//!
//! Modules do not import each other in a circle: small text helpers and colours
//! live below what draws (`text`, [`style`]), views below the page
//! (`tests/layering.rs` keeps it so).
//!
//! Large histories stay quick and small: the latency scatter is sampled (rare
//! outcomes kept), line charts are bucketed, and the timeline shows at most
//! [`timeline::MAX_OPS`] entries around the first anomaly — saying so.

pub mod charts;
mod digest;
pub mod explain;
mod html;
pub mod index;
pub mod junit;
pub mod results;
pub mod style;
pub mod summary;
mod text;
pub mod timeline;
mod views;

use std::path::{Path, PathBuf};

pub use digest::FaultInterval;
pub use html::RunReport;
pub use results::{CheckerOutcome, FaultCount, OpCounts, Results, RunConfig, SCHEMA};
pub use style::FaultColours;

/// The report's file name in a run directory.
pub const REPORT_FILE: &str = "report.html";
/// The JUnit file's name in a run directory.
pub const JUNIT_FILE: &str = "junit.xml";
/// The store index's file name, at the root of the store.
pub const INDEX_FILE: &str = "index.html";

pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What went wrong writing a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a results file: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("cannot render the report: {0}")]
    Render(String),
}

impl ReportError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> ReportError {
        ReportError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The files [`write_run`] wrote.
#[derive(Debug, Clone)]
pub struct Written {
    pub report: PathBuf,
    pub junit: PathBuf,
}

/// Writes `report.html` and `junit.xml` into the run directory `dir`. `index_href`
/// is the store index relative to `dir` (`../../index.html`), when the run is in a store;
/// `colours` gives each fault its colour ([`FaultColours::default`]: splitbrain's own).
pub fn write_run(
    dir: &Path,
    results: &Results,
    history: &splitbrain_history::History,
    index_href: Option<&str>,
    colours: &FaultColours,
) -> Result<Written, ReportError> {
    let junit = junit::write_junit(dir, results)?;
    let mut report = RunReport::for_dir(results, history, dir);
    report.index_href = index_href.map(str::to_string);
    report.fault_colours = colours.clone();
    let html = report.render()?;
    let report = dir.join(REPORT_FILE);
    write_atomically(&report, html.as_bytes())?;
    Ok(Written { report, junit })
}

/// Writes to a temporary file and renames it over `path`, so that a reader
/// (a browser refreshing, `splitbrain serve`) never sees half a page.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| ReportError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| ReportError::io(path, e))
}
