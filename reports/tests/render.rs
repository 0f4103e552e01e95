//! Reports rendered from known histories: the Knossos corpus (valid and
//! invalid, with the verdicts Knossos established), synthetic timed histories
//! with nemesis ops, hostile strings, and a 100k-op history. Each rendered page
//! is also left in target/report-samples/ for people to look at.

mod common;

use std::time::Instant;

use common::{
    FaultSpan, checked, corpus_dir, from_disk, linearizable, out_dir, read, render, results,
    synthetic,
};
use splitbrain_checkers::counter::CounterChecker;
use splitbrain_checkers::set::SetChecker;
use splitbrain_checkers::stats::StatsChecker;
use splitbrain_checkers::testing::history as rows;
use splitbrain_checkers::unique_ids::UniqueIdsChecker;
use splitbrain_checkers::{ModelKind, Verdict};
use splitbrain_history::fault_op::CLOCK_OFFSETS;
use splitbrain_history::{FaultOp, History, Op, OpType, Process, Value};
use splitbrain_reports::{CheckerOutcome, FaultColours, RunReport, junit, summary};

fn verdict_meta(html: &str) -> &str {
    let tag = "<meta name=\"splitbrain-verdict\" content=\"";
    let start = html.find(tag).expect("verdict meta tag") + tag.len();
    &html[start..start + html[start..].find('"').unwrap()]
}

/// The inner text of `<svg class="chart" ...>...</svg>` elements.
fn charts(html: &str) -> Vec<&str> {
    html.match_indices("<svg class=\"chart\"")
        .map(|(i, _)| &html[i..i + html[i..].find("</svg>").unwrap()])
        .collect()
}

#[test]
fn corpus_histories_render_with_their_verdicts_and_counterexamples() {
    let Some(dir) = corpus_dir() else { return };
    let cases: [(&str, ModelKind, Verdict); 8] = [
        (
            "cas-register/bad/bad-analysis.edn",
            ModelKind::CasRegister,
            Verdict::Invalid,
        ),
        (
            "cas-register/bad/cas-failure.edn",
            ModelKind::CasRegister,
            Verdict::Invalid,
        ),
        (
            "cas-register/bad/rethink-fail-minimal.edn",
            ModelKind::CasRegister,
            Verdict::Invalid,
        ),
        (
            "cas-register/bad/rethink-fail-smaller.edn",
            ModelKind::CasRegister,
            Verdict::Invalid,
        ),
        (
            "cas-register/bad/mongodb-v0-ack-rollback-6.edn",
            ModelKind::CasRegister,
            Verdict::Invalid,
        ),
        ("mutex/bad/etcd.edn", ModelKind::Mutex, Verdict::Invalid),
        (
            "cas-register/good/memstress3-0.edn",
            ModelKind::CasRegister,
            Verdict::Valid,
        ),
        (
            "multi-register/good/multi-register.edn",
            ModelKind::MultiRegister,
            Verdict::Valid,
        ),
    ];
    let mut rendered = 0;
    for (file, model, expected) in cases {
        let path = dir.join(file);
        let history = read(&path);
        let outcome = linearizable(&history, model);
        assert_eq!(outcome.verdict, expected, "{}", path.display());
        let r = results(
            file.split('/')
                .next_back()
                .unwrap()
                .trim_end_matches(".edn"),
            &history,
            vec![outcome],
        );
        let html = render(&r, &history);
        let name = file.replace('/', "-").replace(".edn", ".html");
        std::fs::write(out_dir().join(&name), &html).unwrap();

        assert_eq!(verdict_meta(&html), expected.as_str(), "{name}");
        assert!(
            html.contains("id=\"checker-linearizable\""),
            "{name}: no verdict card"
        );
        assert!(
            html.contains("id=\"config\"") && html.contains("seed"),
            "{name}: no configuration"
        );
        assert!(
            html.contains("href=\"history.jsonl\""),
            "{name}: no link to the history"
        );
        assert!(html.contains("<svg class=\"tl\""), "{name}: no timeline");
        if expected == Verdict::Invalid {
            assert!(
                html.contains("id=\"counterexample\""),
                "{name}: no counterexample sentence"
            );
            assert!(
                html.contains("<svg class=\"cx\""),
                "{name}: the counterexample is not drawn"
            );
            assert!(
                html.contains("cx-op failed"),
                "{name}: the failed op is not drawn"
            );
            assert!(
                html.contains("longest linearizable prefix"),
                "{name}: no prefix table"
            );
            // The op that cannot be placed is marked in the timeline too.
            assert!(
                html.contains("<g class=\"anomaly\" id=\"op-"),
                "{name}: anomaly not marked in the timeline"
            );
        } else {
            assert!(
                !html.contains("id=\"counterexample\""),
                "{name}: a valid history has no counterexample"
            );
        }
        // Knossos histories without :time cannot be charted, and the page says why.
        let timed = history.ops().iter().all(|o| o.time.is_some());
        if timed {
            assert!(charts(&html).len() >= 3, "{name}: charts missing");
        } else {
            assert!(
                html.contains("no timestamps"),
                "{name}: missing charts not explained"
            );
        }
        rendered += 1;
    }
    assert_eq!(rendered, 8);
}

#[test]
fn the_sentence_says_what_went_wrong() {
    // examples/stale-read.edn: process 2 reads 1 after the write of 2 completed.
    let history =
        read(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/stale-read.edn"));
    let outcome = linearizable(&history, ModelKind::CasRegister);
    let l: splitbrain_checkers::LinearizabilityResult =
        serde_json::from_value(outcome.result.clone()).unwrap();
    let sentence =
        splitbrain_reports::explain::sentence(&l.model, l.counterexample.as_ref().unwrap());
    assert_eq!(sentence, "read returned 1 after a write of 2 had completed");
    let r = results("stale-read", &history, vec![outcome]);
    let html = render(&r, &history);
    std::fs::write(out_dir().join("stale-read.html"), &html).unwrap();
    assert!(html.contains("Not linearizable: read returned 1 after a write of 2 had completed."));
    // The cas whose outcome is unknown is drawn open-ended.
    assert!(
        html.contains("class=\"open\""),
        "the info cas is not drawn as open"
    );
    // The terminal summary and JUnit carry the sentence too.
    let text = summary::render_summary(&r, std::path::Path::new("store/x"), None);
    assert!(
        text.contains("read returned 1 after a write of 2 had completed"),
        "{text}"
    );
    assert!(summary::anomaly_detail(&r.checkers[0]).contains("longest linearizable prefix"));
}

const FAULTS: &[FaultSpan] = &[
    ("partition", 0.3, Some(0.8)),
    ("clock", 1.0, Some(1.4)),
    ("kill", 1.8, None), // never healed: shaded to the end
];

#[test]
fn faults_are_shaded_and_labelled_and_clock_offsets_charted() {
    let history = synthetic(6_000, 8, 7, FAULTS);
    let outcome = linearizable(&history, ModelKind::CasRegister);
    assert_eq!(
        outcome.verdict,
        Verdict::Valid,
        "the synthetic history is linearizable by construction"
    );
    let r = results("faults", &history, vec![outcome]);
    assert_eq!(
        r.faults
            .iter()
            .map(|f| (f.fault.as_str(), f.count))
            .collect::<Vec<_>>(),
        [("partition", 1), ("clock", 1), ("kill", 1)]
    );
    let html = render(&r, &history);
    std::fs::write(out_dir().join("faults.html"), &html).unwrap();

    let charts = charts(&html);
    assert_eq!(
        charts.len(),
        4,
        "latency, quantiles, throughput and clock offsets"
    );
    assert!(html.contains("id=\"chart-clocks\""));
    for chart in &charts[..3] {
        // Each fault: a translucent band in its colour, and its name written at the top.
        for (fault, color) in [
            ("partition", "#8B5CF6"),
            ("clock", "#10B981"),
            ("kill", "#EF4444"),
        ] {
            assert!(
                chart.contains(&format!(">\n{fault}\n</text>")),
                "no {fault} label in a chart"
            );
            assert!(
                chart.contains(&format!("fill=\"{color}\" stroke=\"none\"/>"))
                    || chart.contains(&format!("fill=\"{color}\"")),
                "no {fault} band in a chart"
            );
        }
    }
    // The kill was never healed: it lasts to the end of the history.
    assert!(
        history.ops().last().unwrap().time.unwrap() > 2_000_000_000,
        "faults fall inside the history"
    );
    assert!(html.contains("never healed") && html.contains("(to the end)"));
    // Node names label the clock offsets chart's legend.
    let clocks = &html[html.find("id=\"chart-clocks\"").unwrap()..];
    for n in ["n1", "n5"] {
        assert!(clocks[..clocks.find("</div>\n<p class=\"caption\"").unwrap()].contains(n));
    }
    // The fault table and the timeline's nemesis column.
    assert!(html.contains("id=\"faults\"") && html.contains("topology halves"));
    assert!(html.contains(">nemesis</text>") && html.contains("<g class=\"fault\""));
}

#[test]
fn strings_from_the_history_are_escaped_everywhere() {
    let evil = "<script>alert(1)</script>";
    let op = |p: Process, kind, f: &str, v: Value, t: i64| {
        let mut o = Op::new(p, kind, f, v);
        o.time = Some(t * 1_000_000);
        o
    };
    let c = Process::Client;
    let mut ops = vec![
        op(c(0), OpType::Invoke, "write", Value::str(evil), 1),
        op(c(0), OpType::Ok, "write", Value::str(evil), 2),
        op(
            Process::Nemesis,
            OpType::Info,
            &FaultOp::start("<img src=x onerror=alert(2)>").name(),
            Value::Map(vec![(Value::str("nodes"), Value::from(vec!["<b>n1</b>"]))]),
            3,
        ),
        op(
            Process::Nemesis,
            OpType::Info,
            CLOCK_OFFSETS,
            Value::Map(vec![(Value::str("<svg onload=alert(3)>"), Value::Int(5))]),
            4,
        ),
        op(c(1), OpType::Invoke, "read", Value::Nil, 5),
        op(
            c(1),
            OpType::Ok,
            "read",
            Value::str("</text><script>alert(4)</script>"),
            6,
        ),
        op(c(2), OpType::Invoke, "<i>f</i>", Value::Nil, 7),
        op(c(2), OpType::Ok, "<i>f</i>", Value::str("&amp;\"'"), 8),
    ];
    for (i, o) in ops.iter_mut().enumerate() {
        o.index = i as u64;
    }
    let history = History::new(ops).unwrap();
    let lin = linearizable(
        &History::new(
            history
                .ops()
                .iter()
                .filter(|o| &*o.f != "<i>f</i>")
                .cloned()
                .collect(),
        )
        .unwrap(),
        ModelKind::Register,
    );
    assert_eq!(
        lin.verdict,
        Verdict::Invalid,
        "the read returns a value never written"
    );
    let set = CheckerOutcome {
        name: "set".into(),
        verdict: Verdict::Invalid,
        summary: format!("lost {evil}"),
        result: serde_json::json!({"verdict": "invalid", "attempt_count": 2, "acknowledged_count": 1, "final_read_count": 1, "ok_count": 0,
            "lost": [evil], "unexpected": ["<u>x</u>"], "recovered": [], "failed_present": []}),
        // As read back from results.json: drawn from the JSON.
        finding: None,
    };
    let mut r = results("xss", &history, vec![lin, set]);
    r.notes.push(format!("note {evil}"));
    let html = render(&r, &history);
    std::fs::write(out_dir().join("xss.html"), &html).unwrap();

    // The report has no script of its own, so any script tag is an injection.
    assert!(
        !html.to_lowercase().contains("<script"),
        "a script tag got through"
    );
    for raw in [
        "<img",
        "<b>n1",
        "<svg onload",
        "<i>f</i>",
        "<u>x</u>",
        "</text><script",
    ] {
        assert!(!html.contains(raw), "{raw} got through unescaped");
    }
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
            || html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "the value should appear, escaped"
    );
    // plotters escapes too: the fault label inside a chart.
    let chart = charts(&html).into_iter().next().expect("a chart");
    assert!(
        chart.contains("&lt;img src=x onerror=alert(2)&gt;"),
        "fault label not escaped in the SVG"
    );
    // And so does the JUnit XML.
    let xml = junit::render_junit(&r).unwrap();
    assert!(!xml.contains("<script>") && roxmltree::Document::parse(&xml).is_ok());
}

#[test]
fn junit_xml_parses_as_junit() {
    let history = synthetic(400, 4, 3, &[]);
    let valid = linearizable(&history, ModelKind::CasRegister);
    // 7 was acknowledged, then missing from the final read.
    let invalid = checked(&SetChecker, &lost_seven());
    // A counter never read.
    let unknown = checked(
        &CounterChecker,
        &rows(&[
            (0, OpType::Invoke, "add", Value::Int(1)),
            (0, OpType::Ok, "add", Value::Int(1)),
        ]),
    );
    let r = results("junit", &history, vec![valid, invalid, unknown]);
    let xml = junit::render_junit(&r).unwrap();
    std::fs::write(out_dir().join("junit.xml"), &xml).unwrap();
    // The same from results.json read back, without the typed results.
    assert_eq!(junit::render_junit(&from_disk(&r)).unwrap(), xml);
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 1);
    let suite = suites[0];
    assert_eq!(suite.attribute("name"), Some("junit"));
    assert_eq!(suite.attribute("tests"), Some("3"));
    assert_eq!(suite.attribute("failures"), Some("1"));
    assert_eq!(suite.attribute("errors"), Some("1"));
    let cases: Vec<_> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let names: Vec<_> = cases.iter().map(|c| c.attribute("name").unwrap()).collect();
    assert_eq!(names, ["linearizable", "set", "counter"]);
    assert!(
        cases[0]
            .children()
            .all(|n| !n.has_tag_name("failure") && !n.has_tag_name("error"))
    );
    let failure = cases[1]
        .children()
        .find(|n| n.has_tag_name("failure"))
        .expect("a failure");
    assert!(failure.attribute("message").unwrap().contains("1 lost"));
    assert_eq!(failure.attribute("type"), Some("invalid"));
    assert!(
        failure.text().unwrap_or_default().contains("lost (1): 7"),
        "the failure body lists the anomaly"
    );
    let error = cases[2]
        .children()
        .find(|n| n.has_tag_name("error"))
        .expect("unknown is an error");
    assert_eq!(error.attribute("type"), Some("unknown"));
    let props: Vec<_> = suite
        .descendants()
        .filter(|n| n.has_tag_name("property"))
        .map(|p| (p.attribute("name").unwrap(), p.attribute("value").unwrap()))
        .collect();
    assert!(
        props.contains(&("seed", "42")) && props.contains(&("db", "etcd")),
        "{props:?}"
    );
}

#[test]
fn a_100k_op_history_renders_bounded() {
    let history = synthetic(
        50_000,
        10,
        11,
        &[("partition", 5.0, Some(9.0)), ("kill", 20.0, Some(24.0))],
    );
    assert!(history.len() >= 100_000);
    let outcome = linearizable(&history, ModelKind::CasRegister);
    let r = results("big", &history, vec![outcome]);
    let start = Instant::now();
    let html = render(&r, &history);
    let took = start.elapsed();
    std::fs::write(out_dir().join("big.html"), &html).unwrap();
    println!(
        "{} ops rendered in {took:?}: {} KiB",
        history.len(),
        html.len() / 1024
    );
    // Bounded: a sampled scatter, a windowed timeline that says so, a page of a few MB at most.
    assert!(
        html.contains("Sampled:"),
        "the scatter chart should say it is sampled"
    );
    let points = charts(&html)[0].matches("<circle").count()
        + charts(&html)[0].matches("<polygon").count()
        + charts(&html)[0].matches("<rect").count();
    assert!(
        points <= splitbrain_reports::charts::MAX_POINTS + 200,
        "{points} points"
    );
    assert!(
        html.contains("the timeline shows entries"),
        "the timeline should say it is a window"
    );
    let bars = html.matches("<g class=\"ok\"").count()
        + html.matches("<g class=\"fail\"").count()
        + html.matches("<g class=\"info\"").count();
    assert!(
        bars <= splitbrain_reports::timeline::MAX_OPS,
        "{bars} timeline bars"
    );
    assert!(html.len() < 4 << 20, "the page is {} bytes", html.len());
}

#[test]
fn plotters_pulls_in_no_font_library() {
    // The SVG backend writes text as <text> elements; font-kit (plotters' `ttf`
    // feature) would drag in fontconfig and freetype for nothing.
    let lock = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock"),
    )
    .unwrap();
    assert!(
        lock.contains("name = \"plotters-svg\""),
        "plotters' SVG backend is in use"
    );
    for banned in [
        "font-kit",
        "plotters-bitmap",
        "freetype-sys",
        "yeslogic-fontconfig-sys",
    ] {
        assert!(
            !lock.contains(&format!("name = \"{banned}\"")),
            "{banned} is in Cargo.lock: keep plotters' default features off"
        );
    }
}

/// A set history whose acknowledged 7 is missing from the final read.
fn lost_seven() -> History {
    rows(&[
        (0, OpType::Invoke, "add", Value::Int(7)),
        (0, OpType::Ok, "add", Value::Int(7)),
        (0, OpType::Invoke, "read", Value::Nil),
        (0, OpType::Ok, "read", Value::from(Vec::<i64>::new())),
    ])
}

/// The page without its footer (it says when it was generated).
fn without_footer(html: &str) -> &str {
    &html[..html.find("Generated by splitbrain").expect("a footer")]
}

#[test]
fn typed_results_and_results_read_back_render_alike() {
    let history =
        read(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/stale-read.edn"));
    let r = results(
        "stale-read",
        &history,
        vec![
            linearizable(&history, ModelKind::CasRegister),
            checked(&StatsChecker, &history),
        ],
    );
    let back = from_disk(&r);
    assert_eq!(
        without_footer(&render(&r, &history)),
        without_footer(&render(&back, &history))
    );
    let dir = std::path::Path::new("store/x");
    assert_eq!(
        summary::render_summary(&r, dir, None),
        summary::render_summary(&back, dir, None)
    );
    for (typed, json) in r.checkers.iter().zip(&back.checkers) {
        assert_eq!(
            summary::anomaly_detail(typed),
            summary::anomaly_detail(json)
        );
    }
}

#[test]
fn a_typed_result_reaches_the_page_without_json() {
    let history = lost_seven();
    let mut set = checked(&SetChecker, &history);
    assert_eq!(set.verdict, Verdict::Invalid);
    // Nothing to read back: only the typed finding can tell what was lost.
    set.result = serde_json::Value::Null;
    let r = results("typed", &history, vec![set]);
    let html = render(&r, &history);
    assert!(html.contains("id=\"anomaly-set\""), "no set section");
    assert!(html.contains("Lost (1)") && html.contains("<code>7</code>"));
    assert!(html.contains("An acknowledged add was lost: 7."));
    assert_eq!(summary::anomaly_detail(&r.checkers[0]), "lost (1): 7");
}

#[test]
fn duplicated_ids_are_listed_and_marked_in_the_timeline() {
    let g = "generate";
    let history = rows(&[
        (0, OpType::Invoke, g, Value::Nil),
        (0, OpType::Ok, g, Value::Int(17)),
        (1, OpType::Invoke, g, Value::Nil),
        (1, OpType::Ok, g, Value::Int(18)),
        (2, OpType::Invoke, g, Value::Nil),
        (2, OpType::Ok, g, Value::Int(17)),
    ]);
    let ids = checked(&UniqueIdsChecker, &history);
    assert_eq!(ids.verdict, Verdict::Invalid);
    assert_eq!(
        ids.summary,
        "1 duplicated id among 3; first: 17 generated 2 times (ops 1, 5)"
    );
    let r = results("unique-ids", &history, vec![ids]);
    for r in [r.clone(), from_disk(&r)] {
        let html = render(&r, &history);
        assert!(html.contains("id=\"anomaly-unique-ids\""), "no section");
        assert!(html.contains("<code>17</code>"));
        // Each op links to its invocation in the timeline, which marks it.
        assert!(html.contains("<a href=\"#op-0\">1</a>, <a href=\"#op-4\">5</a>"));
        assert!(html.contains("<g class=\"anomaly\" id=\"op-4\""));
        assert_eq!(
            summary::anomaly_detail(&r.checkers[0]),
            "id 17 generated 2 times (ops 1, 5)"
        );
    }
}

#[test]
fn a_checker_without_a_view_gets_its_summary_line() {
    let history = lost_seven();
    let bank = CheckerOutcome {
        name: "bank".into(),
        verdict: Verdict::Invalid,
        summary: "a read saw a total of 90, not 100".into(),
        result: serde_json::json!({"whatever": true}),
        finding: None,
    };
    let r = results("bank", &history, vec![bank]);
    let html = render(&r, &history);
    let section = &html[html.find("id=\"anomaly-bank\"").expect("a section")..];
    assert!(
        section[..section.find("</section>").unwrap()]
            .contains("a read saw a total of 90, not 100")
    );
    assert!(html.contains("bank found an anomaly: a read saw a total of 90, not 100."));
    assert_eq!(summary::anomaly_detail(&r.checkers[0]), "");
    let xml = junit::render_junit(&r).unwrap();
    assert!(xml.contains("message=\"a read saw a total of 90, not 100\""));
}

#[test]
fn fault_colours_come_from_the_table_passed_in() {
    let history = synthetic(
        2_000,
        4,
        5,
        &[("partition", 0.2, Some(0.5)), ("bridge", 0.6, Some(0.9))],
    );
    let r = results(
        "colours",
        &history,
        vec![linearizable(&history, ModelKind::CasRegister)],
    );
    let page = |colours: FaultColours| {
        RunReport {
            results: &r,
            history: &history,
            files: Vec::new(),
            index_href: None,
            fault_colours: colours,
        }
        .render()
        .unwrap()
    };
    // The default: splitbrain's colour for partition; a fallback for a fault it does not know.
    let html = page(FaultColours::default());
    let bridge = FaultColours::default().colour("bridge").to_string();
    assert!(html.contains("background: #8b5cf622"), "partition's row");
    assert!(
        html.contains(&format!("background: {bridge}22")),
        "bridge's row"
    );
    assert!(
        charts(&html)[0].contains(&bridge.to_uppercase()),
        "bridge's band"
    );
    // A table passed in wins, in the fault table, the charts and the timeline.
    let html =
        page(FaultColours::from_pairs([("partition", "#123456"), ("bridge", "#abcdef")]).unwrap());
    assert!(html.contains("background: #12345622") && html.contains("background: #abcdef22"));
    assert!(!html.contains("#8b5cf6"));
    assert!(charts(&html)[0].contains("#123456") && charts(&html)[0].contains("#ABCDEF"));
    assert!(
        html.contains("fill=\"#123456\" opacity=\"0.09\""),
        "timeline shading"
    );
}
