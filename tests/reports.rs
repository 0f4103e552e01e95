//! Reports and CI outputs of real runs (in-process clients, no lab needed): a
//! correct store and wrong ones (stale reads) produce report.html, junit.xml,
//! results.json with the run's configuration, and the store index; --fail-on
//! picks which verdicts fail the command; `serve` serves the store over HTTP.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use common::{bin, read_json, run};

fn write_test(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, format!("name: {name}\n{body}")).unwrap();
    path
}

fn latest(store: &Path, name: &str) -> PathBuf {
    std::fs::canonicalize(store.join(name).join("latest")).unwrap()
}

const STALE: &str = "client: {type: memory-stale, stale-probability: 0.2}\nconcurrency: 4\nrate: 800\ntime-limit: 1s\nseed: 3\n";

/// Runs the test definitions used by the tests below into `dir/store`: one valid, three invalid.
fn run_all(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut runs = Vec::new();
    let valid = write_test(
        dir,
        "memory-register",
        "client: {type: memory}\nworkload: {type: register}\nconcurrency: 4\nrate: 800\ntime-limit: 1s\nseed: 7\n",
    );
    assert_eq!(
        run(dir, &["test", valid.to_str().unwrap()]).status.code(),
        Some(0)
    );
    runs.push((
        "memory-register".to_string(),
        latest(&dir.join("store"), "memory-register"),
    ));
    for workload in ["register", "set", "counter"] {
        let name = format!("stale-{workload}");
        let def = write_test(
            dir,
            &name,
            &format!("workload: {{type: {workload}}}\n{STALE}"),
        );
        let out = run(dir, &["test", def.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{name} must be invalid");
        // The terminal summary says what ran and where the report is.
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("memory-stale client")
                && stdout.contains(&format!("{workload} workload")),
            "{stdout}"
        );
        assert!(
            stdout.contains("report: ") && stdout.contains("report.html"),
            "{stdout}"
        );
        runs.push((name.clone(), latest(&dir.join("store"), &name)));
    }
    runs
}

fn junit(dir: &Path) -> (usize, usize, usize) {
    let xml = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("junit.xml is XML");
    assert_eq!(doc.root_element().tag_name().name(), "testsuites");
    let suite = doc
        .root_element()
        .children()
        .find(|n| n.has_tag_name("testsuite"))
        .expect("a testsuite");
    let cases: Vec<_> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let failures = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .count();
    let errors = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("error")))
        .count();
    (cases.len(), failures, errors)
}

#[test]
fn runs_get_reports_junit_results_and_an_index() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = run_all(tmp.path());
    for (name, dir) in &runs {
        let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html written");
        let results = read_json(&dir.join("results.json"));
        let verdict = results["verdict"].as_str().unwrap();
        assert!(
            html.contains(&format!(
                "<meta name=\"splitbrain-verdict\" content=\"{verdict}\">"
            )),
            "{name}"
        );
        // The configuration made it into results.json and the report.
        assert_eq!(
            results["config"]["client"],
            if name == "memory-register" {
                "memory"
            } else {
                "memory-stale"
            }
        );
        assert_eq!(results["config"]["concurrency"], 4);
        assert!(
            results["started"].as_str().unwrap().starts_with("20"),
            "{results}"
        );
        assert!(results["duration_s"].as_f64().unwrap() > 0.5, "{results}");
        assert!(
            html.contains("<dt>seed</dt>") && html.contains("memory"),
            "{name}: configuration missing"
        );
        // Timed histories get every chart: latency, quantiles, throughput.
        for chart in ["chart-latency", "chart-quantiles", "chart-throughput"] {
            assert!(
                html.contains(&format!("id=\"{chart}\"")),
                "{name}: {chart} missing"
            );
        }
        assert!(html.contains("<svg class=\"tl\""), "{name}: no timeline");
        for link in [
            "history.jsonl",
            "results.json",
            "junit.xml",
            "controller.log",
        ] {
            assert!(
                html.contains(&format!("href=\"{link}\"")),
                "{name}: no link to {link}"
            );
        }
        let (cases, failures, errors) = junit(dir);
        assert_eq!(
            cases,
            results["checkers"].as_array().unwrap().len(),
            "{name}"
        );
        assert_eq!(
            (failures, errors),
            if verdict == "valid" { (0, 0) } else { (1, 0) },
            "{name}"
        );
    }
    let report = |n: &str| {
        std::fs::read_to_string(
            runs.iter()
                .find(|r| r.0 == n)
                .unwrap()
                .1
                .join("report.html"),
        )
        .unwrap()
    };
    assert!(
        !report("memory-register").contains("class=\"anomaly\""),
        "a valid run has no anomaly section"
    );
    let reg = report("stale-register");
    assert!(
        reg.contains("id=\"counterexample\"") && reg.contains("<svg class=\"cx\""),
        "no counterexample drawn"
    );
    assert!(
        reg.contains("had completed") || reg.contains("every order of the operations"),
        "no sentence"
    );
    let set = report("stale-set");
    assert!(
        set.contains("id=\"anomaly-set\"") && set.contains("Lost ("),
        "lost elements not listed"
    );
    let counter = report("stale-counter");
    assert!(
        counter.contains("id=\"anomaly-counter\"")
            && counter.contains("reads returned a value no order")
    );

    // The index lists every run, newest first, each linking to its report.
    let index = std::fs::read_to_string(tmp.path().join("store/index.html"))
        .expect("store/index.html written");
    let positions: Vec<usize> = runs
        .iter()
        .map(|(name, dir)| {
            let href = format!(
                "{name}/{}/report.html",
                dir.file_name().unwrap().to_string_lossy()
            );
            index
                .find(&format!("href=\"{href}\""))
                .unwrap_or_else(|| panic!("{href} not in the index"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] > w[1]),
        "newest first: {positions:?}"
    );
    assert!(index.contains("4 runs") && index.contains("3 invalid") && index.contains("1 valid"));
    // Reports link back to the index, the store's first run's too.
    for (name, _) in &runs {
        assert!(
            report(name).contains("href=\"../../index.html\""),
            "{name}: no link to the index"
        );
    }
}

#[test]
fn fail_on_chooses_which_verdicts_fail_the_command() {
    let tmp = tempfile::tempdir().unwrap();
    // The set checker cannot judge a register history: unknown.
    let def = write_test(
        tmp.path(),
        "unknown-verdict",
        "client: {type: memory}\nworkload: {type: register}\ncheckers: [set]\nconcurrency: 2\nrate: 200\ntime-limit: 500ms\n",
    );
    let out = run(tmp.path(), &["test", def.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "unknown fails by default");
    let dir = latest(&tmp.path().join("store"), "unknown-verdict");
    assert_eq!(read_json(&dir.join("results.json"))["verdict"], "unknown");
    assert_eq!(junit(&dir), (1, 0, 1), "unknown is a JUnit error");
    assert_eq!(
        run(tmp.path(), &["analyze", "--fail-on", "invalid"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        run(tmp.path(), &["analyze", "--fail-on", "unknown"])
            .status
            .code(),
        Some(2)
    );
    let out = run(
        tmp.path(),
        &["test", def.to_str().unwrap(), "--fail-on", "invalid"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "--fail-on invalid lets unknown pass"
    );
    // An invalid run fails either way.
    let stale = write_test(
        tmp.path(),
        "stale",
        &format!("workload: {{type: register}}\n{STALE}"),
    );
    let out = run(
        tmp.path(),
        &["test", stale.to_str().unwrap(), "--fail-on", "invalid"],
    );
    assert_eq!(out.status.code(), Some(1));
    let bad = run(tmp.path(), &["analyze", "--fail-on", "maybe"]);
    assert_eq!(
        bad.status.code(),
        Some(3),
        "a bad --fail-on value is a usage error"
    );
}

/// A `splitbrain serve` we started, killed (by its own pid) when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serve_serves_the_index_and_reports_on_loopback() {
    let tmp = tempfile::tempdir().unwrap();
    let def = write_test(
        tmp.path(),
        "served",
        "client: {type: memory}\nworkload: {type: register}\nconcurrency: 2\nrate: 200\ntime-limit: 500ms\n",
    );
    assert_eq!(
        run(tmp.path(), &["test", def.to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );
    let mut child = bin()
        .args(["serve", "--port", "0", "--store"])
        .arg(tmp.path().join("store"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let index = client.get(&url).send().unwrap();
    assert_eq!(index.status(), 200);
    assert!(
        index.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let body = index.text().unwrap();
    let href = body
        .split("href=\"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .find(|h| h.ends_with("report.html"))
        .expect("the index links to the report")
        .to_string();
    let report = client.get(format!("{url}{href}")).send().unwrap();
    assert_eq!(report.status(), 200);
    assert!(
        report
            .text()
            .unwrap()
            .contains("splitbrain-verdict\" content=\"valid\"")
    );
    let history = client
        .get(format!("{url}served/latest/history.jsonl"))
        .send()
        .unwrap();
    assert_eq!(
        history.status(),
        200,
        "files are served through the latest link too"
    );
    let missing = client
        .get(format!("{url}no/such/run/report.html"))
        .send()
        .unwrap();
    assert_eq!(missing.status(), 404);
    let escape = client
        .get(format!("{url}..%2F..%2Fetc%2Fpasswd"))
        .send()
        .unwrap();
    assert_ne!(escape.status(), 200, "nothing outside the store is served");
    drop(server);
}
