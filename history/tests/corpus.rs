//! Every history of the Knossos test corpus loads with auto-detection.

mod common;

use splitbrain_history::codec::{Format, ReadOptions, load_path, read_path};
use splitbrain_history::{OpType, Process, Value};

#[test]
fn every_corpus_file_loads() {
    let Some(dir) = common::corpus() else { return };
    let files = common::files_under(&dir);
    assert!(
        files.len() >= 122,
        "expected the whole corpus, found {} files",
        files.len()
    );
    for f in &files {
        let loaded = load_path(f, &ReadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        let h = &loaded.history;
        assert_eq!(loaded.format, Format::Edn, "{}", f.display());
        assert!(
            !loaded.split_independent,
            "{}: not an independent history",
            f.display()
        );
        assert!(loaded.warnings.is_empty());
        let text = std::fs::read_to_string(f).unwrap();
        // Each op map has exactly one :type, so the count is a sane upper bound
        // that the reader must meet exactly.
        assert_eq!(h.len(), text.matches(":type").count(), "{}", f.display());
        assert!(h.len() >= 4, "{}: {} ops", f.display(), h.len());
        // Indexes: given ones are kept, missing ones are positions.
        if !text.contains(":index") {
            assert!(
                h.ops()
                    .iter()
                    .enumerate()
                    .all(|(i, op)| op.index == i as u64)
            );
        }
    }
}

#[test]
fn multi_register_txn_shape() {
    let Some(dir) = common::corpus() else { return };
    let h = read_path(
        &dir.join("multi-register/good/multi-register.edn"),
        &ReadOptions::default(),
    )
    .unwrap();
    let first = &h.ops()[0];
    assert_eq!(&*first.f, "txn");
    assert_eq!(first.kind, OpType::Invoke);
    assert_eq!(first.process, Process::Client(3));
    assert_eq!(first.time, Some(7686455705));
    assert_eq!(
        first.value,
        Value::List(vec![Value::List(vec![
            Value::str("read"),
            Value::str("x"),
            Value::Nil
        ])])
    );
    // The ok of process 3's read: [[:read :x 0]], paired with the invocation.
    let ok = h.completion(0).map(|i| &h.ops()[i]).unwrap();
    assert_eq!(ok.kind, OpType::Ok);
    assert_eq!(ok.value.to_string(), r#"[["read" "x" 0]]"#);
    assert!(
        h.ops()
            .iter()
            .any(|op| op.process == Process::Nemesis && op.value == Value::str("fully connected"))
    );
}

#[test]
fn mutex_errors_and_indexes() {
    let Some(dir) = common::corpus() else { return };
    let h = read_path(&dir.join("mutex/bad/etcd.edn"), &ReadOptions::default()).unwrap();
    let op = &h.ops()[1];
    assert_eq!(op.kind, OpType::Fail);
    assert_eq!(&*op.f, "release");
    assert_eq!(op.error, Some(Value::str("not-held")));
    assert_eq!(op.index, 1);
    assert_eq!(op.time, Some(342667129));
    assert_eq!(h.invocation(1), Some(0));
    // [:not-found "etcdserver: requested lease not found"]
    assert!(h.ops().iter().any(|op| op.error
        == Some(Value::from(vec![
            Value::str("not-found"),
            Value::str("etcdserver: requested lease not found")
        ]))));
    assert!(
        h.ops()
            .iter()
            .any(|op| op.process == Process::Nemesis && &*op.f == "start")
    );
}

#[test]
fn cas_register_lists_and_comments() {
    let Some(dir) = common::corpus() else { return };
    // A list `( ... )` with `;` comments between ops.
    let h = read_path(
        &dir.join("cas-register/bad/rethink-fail-minimal.edn"),
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(h.ops()[0].value, Value::Int(0));
    assert_eq!(h.ops()[2].f.as_ref(), "read");
    assert!(h.ops()[2].value.is_nil());
    // [:temporarily-unavailable nil]
    let h = read_path(
        &dir.join("cas-register/bad/immediate-failure.edn"),
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(
        h.ops()[2].error.as_ref().unwrap().to_string(),
        r#"["temporarily-unavailable" nil]"#
    );
    // cas values are [old new] pairs, not independent tuples.
    let h = read_path(
        &dir.join("cas-register/good/memstress3-4.edn"),
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(h.ops()[0].value, Value::from(vec![0i64, 2]));
    assert!(h.ops().iter().all(|op| op.key.is_none()));
}
