//! # splitbrain
//!
//! The harness on top of the crates: a test definition ([`config`]) says what
//! to run; the [`runner`] drives concurrent clients and records the history as
//! it happens; the [`store`] keeps every run under `store/<test>/<time>/`.
//!
//! The crates below do the rest: `splitbrain-history` (ops and codecs),
//! `splitbrain-checkers` (verdicts), `splitbrain-workloads` (generators and
//! clients), `splitbrain-control` (SSH, the local lab, database lifecycle),
//! `splitbrain-reports` (report.html, junit.xml, the store index), which
//! [`report`] calls after every check.

pub mod analysis;
pub mod builtin;
pub mod config;
pub mod harness;
pub mod logging;
pub mod reference;
pub mod report;
pub mod runner;
pub mod store;
