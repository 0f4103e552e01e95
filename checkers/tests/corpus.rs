//! Known answers: every Knossos test history under `shared/corpus/knossos`
//! gets the verdict of its folder (`<model>/good` valid, `<model>/bad`
//! invalid), from each engine alone and from the default choice.
//!
//! The corpus lives outside the repository; without it the test skips with a
//! printed reason, except under CI (`CI=true`), where that is a failure.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use splitbrain_checkers::testing::{expected_verdict, knossos_cases, knossos_spec};
use splitbrain_checkers::{EngineChoice, Limits, ModelKind, Verdict, check_linearizable};
use splitbrain_history::Value;
use splitbrain_history::codec::{ReadOptions, read_path};

fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/knossos");
    if dir.is_dir() {
        return Some(dir);
    }
    let reason = format!("the Knossos corpus is missing at {}", dir.display());
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{reason}; CI must have it (shared/ beside the checkout)");
    }
    eprintln!("skipping: {reason}");
    None
}

#[test]
fn every_corpus_history_gets_its_folders_verdict() {
    let Some(dir) = corpus_dir() else { return };
    let cases = knossos_cases(&dir);
    assert!(
        cases.len() > 100,
        "expected the whole corpus, found {} files",
        cases.len()
    );
    let mut wrong = Vec::new();
    let start = Instant::now();
    for (path, model, expected) in &cases {
        let history = read_path(path, &ReadOptions::default())
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        // Histories without an ok client op are too little to judge: unknown.
        let expected = &expected_verdict(&history, *expected);
        for engine in [EngineChoice::Auto, EngineChoice::Wgl, EngineChoice::Jit] {
            let limits = Limits {
                engine,
                // Generous: a right answer is what is tested here, not speed.
                time: Some(Duration::from_secs(60)),
                ..Limits::default()
            };
            let r = check_linearizable(&history, &knossos_spec(*model), &limits).unwrap();
            if r.verdict != *expected
                || (r.verdict == Verdict::Unknown
                    && r.unknown_cause != Some(splitbrain_checkers::UnknownCause::NoEvidence))
            {
                wrong.push(format!(
                    "{} ({model}, {engine}): expected {expected}, got {} {}",
                    path.display(),
                    r.verdict,
                    r.unknown_reason.unwrap_or_default()
                ));
            }
            if r.verdict == Verdict::Invalid {
                let cx = r
                    .counterexample
                    .expect("an invalid verdict comes with a counterexample");
                assert!(!cx.message.is_empty());
                assert!(
                    !cx.prefixes.is_empty(),
                    "{}: no prefix in {cx:?}",
                    path.display()
                );
            }
        }
    }
    println!(
        "{} corpus histories x 3 engine choices in {:?}",
        cases.len(),
        start.elapsed()
    );
    assert!(
        wrong.is_empty(),
        "{} wrong verdicts:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn rethink_minimal_counterexample_names_the_read_of_3_and_the_write_of_4() {
    let Some(dir) = corpus_dir() else { return };
    let path = dir.join("cas-register/bad/rethink-fail-minimal.edn");
    let history = read_path(&path, &ReadOptions::default()).unwrap();
    for engine in [EngineChoice::Wgl, EngineChoice::Jit] {
        let limits = Limits {
            engine,
            ..Limits::default()
        };
        let r =
            check_linearizable(&history, &knossos_spec(ModelKind::CasRegister), &limits).unwrap();
        assert_eq!(r.verdict, Verdict::Invalid);
        let cx = r.counterexample.unwrap();
        assert_eq!(cx.failed_op.f, "read");
        assert_eq!(cx.failed_op.value, Value::Int(3));
        let write4 = cx
            .prefixes
            .iter()
            .flat_map(|p| &p.ops)
            .any(|o| o.op.f == "write" && o.op.value == Value::Int(4));
        assert!(write4, "{engine}: the write of 4 is missing from {cx:#?}");
        assert!(cx.message.contains("read 3"), "{}", cx.message);
        assert!(
            cx.message.contains("0 or 4") || cx.message.contains("4 or 0"),
            "{}",
            cx.message
        );
    }
}
