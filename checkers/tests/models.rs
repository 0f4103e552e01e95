//! Each model's semantics on small hand-written histories, the meaning of
//! `info` and `fail`, errors for ops that do not fit, limits, and the shape of
//! results — through the public API, with every engine.

use std::time::Duration;

use splitbrain_checkers::testing::history;
use splitbrain_checkers::{
    CheckError, EngineChoice, Limits, LinearizabilityResult, ModelKind, ModelSpec, Verdict,
    check_linearizable,
};
use splitbrain_history::{History, Op, OpType, Process, Value};

use OpType::{Fail, Info, Invoke, Ok as Done};

fn int(i: i64) -> Value {
    Value::Int(i)
}

fn list(items: &[Value]) -> Value {
    Value::List(items.to_vec())
}

fn txn(micro: &[(&str, &str, Value)]) -> Value {
    Value::List(
        micro
            .iter()
            .map(|(f, k, v)| list(&[Value::str(*f), Value::str(*k), v.clone()]))
            .collect(),
    )
}

/// Checks with every engine choice; they must agree. Returns one result.
fn check(h: &History, spec: ModelSpec) -> LinearizabilityResult {
    let mut first: Option<LinearizabilityResult> = None;
    for engine in [
        EngineChoice::Wgl,
        EngineChoice::Jit,
        EngineChoice::Race,
        EngineChoice::Auto,
    ] {
        let limits = Limits {
            engine,
            ..Limits::default()
        };
        let r = check_linearizable(h, &spec, &limits).unwrap();
        if let Some(f) = &first {
            assert_eq!(f.verdict, r.verdict, "{engine} disagrees");
        } else {
            first = Some(r);
        }
    }
    first.unwrap()
}

fn verdict(h: &History, kind: ModelKind) -> Verdict {
    check(h, ModelSpec::new(kind)).verdict
}

#[test]
fn register_reads_see_the_last_write() {
    let ok = history(&[
        (0, Invoke, "read", Value::Nil),
        (0, Done, "read", Value::Nil), // the initial nil
        (0, Invoke, "write", int(1)),
        (0, Done, "write", int(1)),
        (1, Invoke, "read", Value::Nil),
        (1, Done, "read", int(1)),
    ]);
    assert_eq!(verdict(&ok, ModelKind::Register), Verdict::Valid);
    let stale = history(&[
        (0, Invoke, "write", int(1)),
        (0, Done, "write", int(1)),
        (1, Invoke, "read", Value::Nil),
        (1, Done, "read", Value::Nil),
    ]);
    assert_eq!(verdict(&stale, ModelKind::Register), Verdict::Invalid);
}

#[test]
fn concurrent_ops_may_take_effect_in_either_order() {
    let h = history(&[
        (0, Invoke, "write", int(1)),
        (1, Invoke, "read", Value::Nil),
        (1, Done, "read", Value::Nil),
        (2, Invoke, "read", Value::Nil),
        (2, Done, "read", int(1)),
        (0, Done, "write", int(1)),
    ]);
    assert_eq!(verdict(&h, ModelKind::Register), Verdict::Valid);
    // But once read as 1, it cannot be read as nil again.
    let h = history(&[
        (0, Invoke, "write", int(1)),
        (2, Invoke, "read", Value::Nil),
        (2, Done, "read", int(1)),
        (1, Invoke, "read", Value::Nil),
        (1, Done, "read", Value::Nil),
        (0, Done, "write", int(1)),
    ]);
    assert_eq!(verdict(&h, ModelKind::Register), Verdict::Invalid);
}

#[test]
fn initial_value_is_configurable() {
    let h = history(&[(0, Invoke, "read", Value::Nil), (0, Done, "read", int(0))]);
    assert_eq!(verdict(&h, ModelKind::Register), Verdict::Invalid);
    let spec = ModelSpec::new(ModelKind::Register).with_initial(int(0));
    assert_eq!(check(&h, spec).verdict, Verdict::Valid);
}

#[test]
fn cas_register_compares_and_sets() {
    let h = history(&[
        (0, Invoke, "write", int(1)),
        (0, Done, "write", int(1)),
        (0, Invoke, "cas", list(&[int(1), int(2)])),
        (0, Done, "cas", list(&[int(1), int(2)])),
        (1, Invoke, "cas", list(&[int(1), int(3)])),
        (1, Fail, "cas", list(&[int(1), int(3)])), // did not happen: dropped
        (1, Invoke, "read", Value::Nil),
        (1, Done, "read", int(2)),
    ]);
    assert_eq!(verdict(&h, ModelKind::CasRegister), Verdict::Valid);
    let h = history(&[
        (0, Invoke, "write", int(1)),
        (0, Done, "write", int(1)),
        (0, Invoke, "cas", list(&[int(2), int(3)])),
        (0, Done, "cas", list(&[int(2), int(3)])),
    ]);
    assert_eq!(verdict(&h, ModelKind::CasRegister), Verdict::Invalid);
}

#[test]
fn info_ops_may_take_effect_late_or_never() {
    // The info write lands after the first read and before the second.
    let late = history(&[
        (0, Invoke, "write", int(1)),
        (0, Info, "write", int(1)),
        (1, Invoke, "read", Value::Nil),
        (1, Done, "read", Value::Nil),
        (1, Invoke, "read", Value::Nil),
        (1, Done, "read", int(1)),
    ]);
    assert_eq!(verdict(&late, ModelKind::Register), Verdict::Valid);
    let never = history(&[
        (0, Invoke, "write", int(1)),
        (0, Info, "write", int(1)),
        (1, Invoke, "read", Value::Nil),
        (1, Done, "read", Value::Nil),
    ]);
    assert_eq!(verdict(&never, ModelKind::Register), Verdict::Valid);
    // An info op takes effect at most once.
    let twice = history(&[
        (0, Invoke, "write", int(1)),
        (0, Info, "write", int(1)),
        (1, Invoke, "read", Value::Nil),
        (1, Done, "read", int(1)),
        (1, Invoke, "write", int(2)),
        (1, Done, "write", int(2)),
        (1, Invoke, "read", Value::Nil),
        (1, Done, "read", int(1)),
    ]);
    assert_eq!(verdict(&twice, ModelKind::Register), Verdict::Invalid);
    // A call the history never completed is like info, and so is an info read.
    let open = history(&[
        (0, Invoke, "write", int(1)),
        (2, Invoke, "read", Value::Nil),
        (2, Info, "read", Value::Nil),
        (1, Invoke, "read", Value::Nil),
        (1, Done, "read", int(1)),
    ]);
    let r = check(&open, ModelSpec::new(ModelKind::Register));
    assert_eq!(r.verdict, Verdict::Valid);
    assert_eq!(r.stats.dropped, 1, "the info read constrains nothing");
}

#[test]
fn mutex_acquire_and_release() {
    let ok = history(&[
        (0, Invoke, "acquire", Value::Nil),
        (0, Done, "acquire", Value::Nil),
        (1, Invoke, "release", Value::Nil),
        (1, Fail, "release", Value::Nil), // not held by 1: certainly did nothing
        (0, Invoke, "release", Value::Nil),
        (0, Done, "release", Value::Nil),
        (1, Invoke, "acquire", Value::Nil),
        (1, Done, "acquire", Value::Nil),
    ]);
    assert_eq!(verdict(&ok, ModelKind::Mutex), Verdict::Valid);
    let double = history(&[
        (0, Invoke, "acquire", Value::Nil),
        (0, Done, "acquire", Value::Nil),
        (1, Invoke, "acquire", Value::Nil),
        (1, Done, "acquire", Value::Nil),
    ]);
    assert_eq!(verdict(&double, ModelKind::Mutex), Verdict::Invalid);
    let unheld = history(&[
        (0, Invoke, "release", Value::Nil),
        (0, Done, "release", Value::Nil),
    ]);
    let r = check(&unheld, ModelSpec::new(ModelKind::Mutex));
    assert_eq!(r.verdict, Verdict::Invalid);
    let cx = r.counterexample.unwrap();
    assert!(cx.message.contains("release"), "{}", cx.message);
    assert!(cx.unplaceable[0].reason.contains("not held"), "{cx:?}");
}

#[test]
fn multi_register_txns_and_independent_registers() {
    let spec = ModelSpec::new(ModelKind::MultiRegister).with_initial(int(0));
    let h = history(&[
        (
            0,
            Invoke,
            "txn",
            txn(&[("write", "x", int(1)), ("read", "x", Value::Nil)]),
        ),
        (
            0,
            Done,
            "txn",
            txn(&[("write", "x", int(1)), ("read", "x", int(1))]),
        ),
        (1, Invoke, "txn", txn(&[("read", "y", Value::Nil)])),
        (1, Done, "txn", txn(&[("read", "y", int(0))])),
    ]);
    let r = check(&h, spec.clone());
    assert_eq!(r.verdict, Verdict::Valid);
    assert_eq!(r.keys[0].parts, 2, "x and y are never touched together");
    let h = history(&[
        (
            0,
            Invoke,
            "txn",
            txn(&[("write", "x", int(1)), ("write", "y", int(1))]),
        ),
        (
            0,
            Done,
            "txn",
            txn(&[("write", "x", int(1)), ("write", "y", int(1))]),
        ),
        (
            1,
            Invoke,
            "txn",
            txn(&[("read", "x", Value::Nil), ("read", "y", Value::Nil)]),
        ),
        (
            1,
            Done,
            "txn",
            txn(&[("read", "x", int(1)), ("read", "y", int(0))]),
        ),
    ]);
    let r = check(&h, spec);
    assert_eq!(r.verdict, Verdict::Invalid, "a torn read of an atomic txn");
    assert_eq!(r.keys[0].parts, 1);
}

#[test]
fn set_reads_see_exactly_the_added_elements() {
    let ok = history(&[
        (0, Invoke, "add", int(1)),
        (0, Done, "add", int(1)),
        (1, Invoke, "add", int(2)),
        (2, Invoke, "read", Value::Nil),
        (2, Done, "read", list(&[int(2), int(1)])),
        (1, Done, "add", int(2)),
    ]);
    assert_eq!(verdict(&ok, ModelKind::Set), Verdict::Valid);
    let lost = history(&[
        (0, Invoke, "add", int(1)),
        (0, Done, "add", int(1)),
        (2, Invoke, "read", Value::Nil),
        (2, Done, "read", list(&[])),
    ]);
    let r = check(&lost, ModelSpec::new(ModelKind::Set));
    assert_eq!(r.verdict, Verdict::Invalid);
    assert!(r.counterexample.unwrap().message.contains("missing [1]"));
}

#[test]
fn fifo_queue_order_and_empty_dequeues() {
    let ok = history(&[
        (0, Invoke, "enqueue", int(1)),
        (0, Done, "enqueue", int(1)),
        (0, Invoke, "enqueue", int(2)),
        (0, Done, "enqueue", int(2)),
        (1, Invoke, "dequeue", Value::Nil),
        (1, Done, "dequeue", int(1)),
        (1, Invoke, "dequeue", Value::Nil),
        (1, Done, "dequeue", int(2)),
        (1, Invoke, "dequeue", Value::Nil),
        (1, Done, "dequeue", Value::Nil), // empty
    ]);
    assert_eq!(verdict(&ok, ModelKind::FifoQueue), Verdict::Valid);
    let reordered = history(&[
        (0, Invoke, "enqueue", int(1)),
        (0, Done, "enqueue", int(1)),
        (0, Invoke, "enqueue", int(2)),
        (0, Done, "enqueue", int(2)),
        (1, Invoke, "dequeue", Value::Nil),
        (1, Done, "dequeue", int(2)),
    ]);
    assert_eq!(verdict(&reordered, ModelKind::FifoQueue), Verdict::Invalid);
    let not_empty = history(&[
        (0, Invoke, "enqueue", int(1)),
        (0, Done, "enqueue", int(1)),
        (1, Invoke, "dequeue", Value::Nil),
        (1, Done, "dequeue", Value::Nil),
    ]);
    assert_eq!(verdict(&not_empty, ModelKind::FifoQueue), Verdict::Invalid);
    // An info dequeue may have taken the head: then 2 comes out next.
    let info_took_head = history(&[
        (0, Invoke, "enqueue", int(1)),
        (0, Done, "enqueue", int(1)),
        (0, Invoke, "enqueue", int(2)),
        (0, Done, "enqueue", int(2)),
        (1, Invoke, "dequeue", Value::Nil),
        (1, Info, "dequeue", Value::Nil),
        (2, Invoke, "dequeue", Value::Nil),
        (2, Done, "dequeue", int(2)),
    ]);
    assert_eq!(
        verdict(&info_took_head, ModelKind::FifoQueue),
        Verdict::Valid
    );
}

#[test]
fn keys_are_checked_independently() {
    let mut ops = Vec::new();
    for (k, read) in [(1, 1), (2, 5)] {
        for (p, t, f, v) in [
            (k, Invoke, "write", int(1)),
            (k, Done, "write", int(1)),
            (k + 10, Invoke, "read", Value::Nil),
            (k + 10, Done, "read", int(read)),
        ] {
            let mut op = Op::new(Process::Client(p), t, f, v);
            op.key = Some(int(k as i64));
            op.index = ops.len() as u64;
            ops.push(op);
        }
    }
    let h = History::new(ops).unwrap();
    let r = check(&h, ModelSpec::new(ModelKind::Register));
    assert_eq!(r.verdict, Verdict::Invalid);
    let verdicts: Vec<_> = r.keys.iter().map(|k| (k.key.clone(), k.verdict)).collect();
    assert_eq!(
        verdicts,
        vec![
            (Some(int(1)), Verdict::Valid),
            (Some(int(2)), Verdict::Invalid)
        ]
    );
    let cx = r.counterexample.unwrap();
    assert_eq!(cx.key, Some(int(2)));
    assert!(cx.message.starts_with("key 2: "), "{}", cx.message);
    // Without independence both keys are one register: the second write of 1
    // and the read of 5 still clash, and so does everything else.
    let one = check(
        &h,
        ModelSpec::new(ModelKind::Register).with_independent(false),
    );
    assert_eq!(one.keys.len(), 1);
}

#[test]
fn ops_that_do_not_fit_the_model_are_errors_naming_the_op() {
    let h = history(&[
        (0, Invoke, "write", int(1)),
        (0, Done, "write", int(1)),
        (0, Invoke, "cas", int(3)),
        (0, Done, "cas", int(3)),
    ]);
    let e = check_linearizable(
        &h,
        &ModelSpec::new(ModelKind::CasRegister),
        &Limits::default(),
    )
    .unwrap_err();
    let CheckError::BadOp { index, .. } = &e;
    assert_eq!(*index, 2);
    assert!(e.to_string().contains("op 2"), "{e}");
    assert!(e.to_string().contains("pair [old new]"), "{e}");
    let e = check_linearizable(&h, &ModelSpec::new(ModelKind::Register), &Limits::default())
        .unwrap_err();
    assert!(e.to_string().contains("cas-register"), "{e}");
    let h = history(&[
        (0, Invoke, "frobnicate", Value::Nil),
        (0, Done, "frobnicate", Value::Nil),
    ]);
    let e =
        check_linearizable(&h, &ModelSpec::new(ModelKind::Mutex), &Limits::default()).unwrap_err();
    assert!(e.to_string().contains("expected acquire or release"), "{e}");
    let h = history(&[(0, Invoke, "txn", int(1)), (0, Done, "txn", int(1))]);
    let e = check_linearizable(
        &h,
        &ModelSpec::new(ModelKind::MultiRegister),
        &Limits::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("list of micro-ops"), "{e}");
}

/// Rounds of `procs` fully concurrent ops: writes of distinct values, and
/// reads returning the first write of their round. Valid, but every order of
/// a round's writes is a different configuration.
fn pathological(ops: usize, procs: u64) -> History {
    let mut rows = Vec::new();
    for round in 0..ops as u64 / procs {
        let first = (round * procs + 1) as i64;
        let is_read = |p: u64| p % 3 == 2;
        for p in 0..procs {
            let v = if is_read(p) {
                Value::Nil
            } else {
                int(round as i64 * procs as i64 + p as i64 + 1)
            };
            rows.push((p, Invoke, if is_read(p) { "read" } else { "write" }, v));
        }
        for p in 0..procs {
            let v = if is_read(p) {
                int(first)
            } else {
                int(round as i64 * procs as i64 + p as i64 + 1)
            };
            rows.push((p, Done, if is_read(p) { "read" } else { "write" }, v));
        }
    }
    history(&rows)
}

#[test]
fn out_of_time_is_unknown_never_valid() {
    let h = pathological(20_000, 40);
    for engine in [
        EngineChoice::Wgl,
        EngineChoice::Jit,
        EngineChoice::Race,
        EngineChoice::Auto,
    ] {
        let limits = Limits {
            engine,
            time: Some(Duration::from_millis(1)),
            ..Limits::default()
        };
        let r = check_linearizable(&h, &ModelSpec::new(ModelKind::Register), &limits).unwrap();
        assert_eq!(r.verdict, Verdict::Unknown, "{engine}");
        assert!(r.unknown_reason.unwrap().contains("time limit"), "{engine}");
    }
}

#[test]
fn out_of_memory_is_unknown() {
    let h = pathological(2_000, 20);
    for engine in [EngineChoice::Wgl, EngineChoice::Jit] {
        let limits = Limits {
            engine,
            memory_bytes: Some(1),
            ..Limits::default()
        };
        let r = check_linearizable(&h, &ModelSpec::new(ModelKind::Register), &limits).unwrap();
        assert_eq!(r.verdict, Verdict::Unknown, "{engine}");
        assert!(
            r.unknown_reason.unwrap().contains("memory limit"),
            "{engine}"
        );
        assert!(r.counterexample.is_none());
    }
}

#[test]
fn results_serialize_for_results_json() {
    let h = history(&[(0, Invoke, "read", Value::Nil), (0, Done, "read", int(3))]);
    let r = check(&h, ModelSpec::new(ModelKind::CasRegister));
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["verdict"], "invalid");
    assert_eq!(json["model"], "cas-register");
    assert_eq!(json["keys"][0]["verdict"], "invalid");
    assert_eq!(json["counterexample"]["failed_op"]["f"], "read");
    assert_eq!(json["counterexample"]["failed_op"]["type"], "ok");
    let back: LinearizabilityResult = serde_json::from_value(json).unwrap();
    assert_eq!(back.verdict, Verdict::Invalid);
    assert_eq!("queue".parse::<ModelKind>().unwrap(), ModelKind::FifoQueue);
    assert_eq!(
        "fifo-queue".parse::<ModelKind>().unwrap(),
        ModelKind::FifoQueue
    );
    assert!(
        "stack"
            .parse::<ModelKind>()
            .unwrap_err()
            .contains("cas-register")
    );
    assert_eq!("jit".parse::<EngineChoice>().unwrap(), EngineChoice::Jit);
}
