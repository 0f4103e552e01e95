//! `junit.xml`: a run as JUnit, for CI systems that show test results.
//!
//! One `<testsuite>` per run (named after the test), one `<testcase>` per
//! checker. An `invalid` checker is a `<failure>` whose message is the
//! checker's summary and whose body lists the anomaly; an `unknown` one is an
//! `<error>` (the check did not complete: not a pass, not a proven bug). The
//! run's configuration goes into `<properties>`.

use std::path::Path;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use splitbrain_checkers::Verdict;

use crate::results::Results;
use crate::summary::anomaly_detail;
use crate::{JUNIT_FILE, ReportError};

/// The JUnit report of a run.
pub fn junit_report(r: &Results) -> Report {
    let mut report = Report::new("splitbrain");
    let mut suite = TestSuite::new(r.test.as_str());
    if let Some(d) = r.duration_s {
        suite.set_time(Duration::from_secs_f64(d.max(0.0)));
    }
    let c = &r.config;
    let mut props: Vec<(&str, String)> =
        vec![("run", r.run.clone()), ("verdict", r.verdict.to_string())];
    if let Some(s) = &r.started {
        props.push(("started", s.clone()));
    }
    for (k, v) in [
        ("db", &c.db),
        ("client", &c.client),
        ("workload", &c.workload),
    ] {
        if let Some(v) = v {
            props.push((k, v.clone()));
        }
    }
    if let Some(s) = c.seed {
        props.push(("seed", s.to_string()));
    }
    props.push((
        "nemesis",
        if c.nemesis.is_empty() {
            "none".into()
        } else {
            c.nemesis.join(",")
        },
    ));
    if !c.nodes.is_empty() {
        props.push(("nodes", c.nodes.join(",")));
    }
    props.push((
        "ops",
        format!(
            "{} invoked, {} ok, {} fail, {} info",
            r.ops.invoke, r.ops.ok, r.ops.fail, r.ops.info
        ),
    ));
    for (k, v) in props {
        suite.add_property(Property::new(k, v));
    }
    for checker in &r.checkers {
        let status = match checker.verdict {
            Verdict::Valid => TestCaseStatus::success(),
            Verdict::Invalid | Verdict::Unknown => {
                let kind = if checker.verdict == Verdict::Invalid {
                    NonSuccessKind::Failure
                } else {
                    NonSuccessKind::Error
                };
                let mut s = TestCaseStatus::non_success(kind);
                s.set_message(checker.summary.as_str());
                s.set_type(checker.verdict.as_str());
                let detail = anomaly_detail(checker);
                if !detail.is_empty() {
                    s.set_description(detail);
                }
                s
            }
        };
        let mut case = TestCase::new(checker.name.as_str(), status);
        case.set_classname(format!("splitbrain.{}", r.test));
        if let Some(ms) = crate::views::view(&checker.name).and_then(|v| v.elapsed_ms(checker)) {
            case.set_time(Duration::from_secs_f64(ms.max(0.0) / 1000.0));
        }
        case.set_system_out(checker.summary.as_str());
        suite.add_test_case(case);
    }
    if !r.notes.is_empty() {
        suite.set_system_out(r.notes.join("\n"));
    }
    report.add_test_suite(suite);
    report
}

/// The JUnit XML text of a run.
pub fn render_junit(r: &Results) -> Result<String, ReportError> {
    junit_report(r)
        .to_string()
        .map_err(|e| ReportError::Render(e.to_string()))
}

/// Writes `<dir>/junit.xml`; returns its path.
pub fn write_junit(dir: &Path, r: &Results) -> Result<std::path::PathBuf, ReportError> {
    let path = dir.join(JUNIT_FILE);
    crate::write_atomically(&path, render_junit(r)?.as_bytes())?;
    Ok(path)
}
