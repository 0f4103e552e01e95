//! Verdicts that must not mislead (issue 11, "Trust"):
//! - no evidence is never a pass: every checker answers unknown with a reason
//!   when nothing is left to judge;
//! - what a checker left out is counted, by reason;
//! - when values that print alike differ in type and that decides the
//!   verdict, the explanation says which is which.

use splitbrain_checkers::testing::history;
use splitbrain_checkers::{
    LeftOut, LeftOutReason, Limits, ModelKind, ModelSpec, UnknownCause, Verdict,
    check_linearizable, counter, set, stats,
};
use splitbrain_history::codec::{ReadOptions, read_str};
use splitbrain_history::{History, Op, OpType, Process, Value};

use OpType::{Fail, Info, Invoke, Ok};

fn check(h: &History, kind: ModelKind) -> splitbrain_checkers::LinearizabilityResult {
    check_linearizable(h, &ModelSpec::new(kind), &Limits::default()).unwrap()
}

fn nemesis(kind: OpType, f: &str) -> Op {
    Op::new(Process::Nemesis, kind, f, Value::Nil)
}

/// Ops with their indexes set, as a history.
fn ops(list: Vec<Op>) -> History {
    let list = list
        .into_iter()
        .enumerate()
        .map(|(i, mut o)| {
            o.index = i as u64;
            o
        })
        .collect();
    History::new(list).unwrap()
}

fn client(p: u64, kind: OpType, f: &str, v: Value) -> Op {
    Op::new(Process::Client(p), kind, f, v)
}

#[test]
fn no_evidence_is_unknown_for_every_model_never_valid() {
    let empty = History::default();
    let only_nemesis = ops(vec![
        nemesis(Info, "start-partition"),
        nemesis(Info, "stop-partition"),
    ]);
    let only_failed = history(&[
        (0, Invoke, "write", Value::Int(1)),
        (0, Fail, "write", Value::Int(1)),
    ]);
    // Info ops may or may not have happened: alone they constrain nothing.
    let only_info = history(&[
        (0, Invoke, "write", Value::Int(1)),
        (0, Info, "write", Value::Int(1)),
        (1, Invoke, "read", Value::Nil),
    ]);
    let models = [
        ModelKind::Register,
        ModelKind::CasRegister,
        ModelKind::Set,
        ModelKind::FifoQueue,
        ModelKind::Mutex,
    ];
    for (name, h) in [
        ("empty", &empty),
        ("only nemesis", &only_nemesis),
        ("only failed", &only_failed),
        ("only info", &only_info),
    ] {
        for kind in models {
            // Ops that do not fit a model are errors, not evidence: skip those pairs.
            let Result::Ok(r) = check_linearizable(h, &ModelSpec::new(kind), &Limits::default())
            else {
                continue;
            };
            assert_eq!(r.verdict, Verdict::Unknown, "{name}, {kind}: {r:?}");
            assert_eq!(r.unknown_cause, Some(UnknownCause::NoEvidence), "{name}");
            let reason = r.unknown_reason.unwrap();
            assert!(
                reason.starts_with("no client operations to check"),
                "{name}: {reason}"
            );
            assert!(r.keys.iter().all(|k| k.verdict == Verdict::Unknown));
        }
    }
    assert_eq!(
        check(&empty, ModelKind::Register).unknown_reason.as_deref(),
        Some("no client operations to check")
    );
    assert!(
        check(&only_failed, ModelKind::Register)
            .unknown_reason
            .unwrap()
            .contains("none of the 1 client operation completed with ok")
    );
    // The multi-register too (its calls are txns).
    let txn_failed = history(&[
        (
            0,
            Invoke,
            "txn",
            Value::from(vec![Value::from(vec!["w", "x"])]),
        ),
        (0, Fail, "txn", Value::Nil),
    ]);
    assert_eq!(
        check(&txn_failed, ModelKind::MultiRegister).verdict,
        Verdict::Unknown
    );

    // One ok op is evidence: the same histories plus it are judged again.
    let mut with_ok = only_failed.ops().to_vec();
    with_ok.push(client(1, Invoke, "read", Value::Nil));
    with_ok.push(client(1, Ok, "read", Value::Nil));
    assert_eq!(
        check(&ops(with_ok), ModelKind::Register).verdict,
        Verdict::Valid
    );
}

#[test]
fn set_counter_and_stats_without_evidence_are_unknown() {
    for h in [
        History::default(),
        ops(vec![nemesis(Info, "kill"), nemesis(Info, "start")]),
    ] {
        let s = set::check(&h);
        assert_eq!(s.verdict, Verdict::Unknown);
        assert_eq!(s.reason.as_deref(), Some("no client operations to check"));
        let c = counter::check(&h);
        assert_eq!(c.verdict, Verdict::Unknown);
        assert_eq!(c.reason.as_deref(), Some("no client operations to check"));
        let st = stats::check(&h);
        assert_eq!(st.verdict, Verdict::Unknown);
        assert_eq!(st.reason.as_deref(), Some("no client operations to check"));
    }
    // Client ops, none of which succeeded: too little to judge, not a pass.
    let nothing_ok = history(&[
        (0, Invoke, "add", Value::Int(1)),
        (0, Fail, "add", Value::Int(1)),
        (1, Invoke, "read", Value::Nil),
        (1, Info, "read", Value::Nil),
    ]);
    let st = stats::check(&nothing_ok);
    assert_eq!(st.verdict, Verdict::Unknown, "{st:?}");
    assert!(
        st.reason
            .unwrap()
            .contains("no client operation succeeded (1 fail, 1 info)")
    );
    assert_eq!(set::check(&nothing_ok).verdict, Verdict::Unknown);
    assert_eq!(counter::check(&nothing_ok).verdict, Verdict::Unknown);
}

#[test]
fn what_the_linearizability_check_left_out_is_counted_by_reason() {
    let w = |v: i64| Value::Int(v);
    let mut list = vec![
        nemesis(Info, "start-partition"),
        nemesis(Info, "stop-partition"),
    ];
    for p in 0..3 {
        list.push(client(p, Invoke, "write", w(p as i64)));
        list.push(client(p, Fail, "write", w(p as i64)));
    }
    list.push(client(5, Invoke, "read", Value::Nil));
    list.push(client(5, Info, "read", Value::Nil));
    list.push(client(6, Invoke, "read", Value::Nil)); // never completed: info
    list.push(client(7, Invoke, "write", w(9)));
    list.push(client(7, Ok, "write", w(9)));
    let r = check(&ops(list), ModelKind::Register);
    assert_eq!(r.verdict, Verdict::Valid, "{r:?}");
    let found: Vec<(LeftOutReason, u64, Option<&str>)> = r
        .left_out
        .iter()
        .map(|l| (l.reason, l.count, l.name.as_deref()))
        .collect();
    assert_eq!(
        found,
        vec![
            (LeftOutReason::Nemesis, 2, None),
            (LeftOutReason::Failed, 3, None),
            (LeftOutReason::UnknownRead, 2, None),
        ]
    );
    assert_eq!(
        LeftOut::summary(&r.left_out).unwrap(),
        "2 nemesis ops, 3 failed ops and 2 info reads left out"
    );
    // The same numbers in results.json.
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["left_out"][0]["reason"], "nemesis");
    assert_eq!(json["left_out"][0]["count"], 2);
    assert_eq!(json["left_out"][1]["reason"], "failed");
    // Nothing left out: no field, no sentence.
    let clean = history(&[(0, Invoke, "read", Value::Nil), (0, Ok, "read", Value::Nil)]);
    let r = check(&clean, ModelKind::Register);
    assert!(r.left_out.is_empty() && LeftOut::summary(&r.left_out).is_none());
    assert!(serde_json::to_value(&r).unwrap().get("left_out").is_none());
}

#[test]
fn set_and_counter_count_functions_not_in_their_model() {
    let mut list = vec![nemesis(Info, "start-kill")];
    for p in 0..3 {
        list.push(client(p, Invoke, "generate", Value::Nil));
        list.push(client(p, Ok, "generate", Value::Nil));
    }
    list.push(client(3, Invoke, "add", Value::Int(1)));
    list.push(client(3, Ok, "add", Value::Int(1)));
    list.push(client(4, Invoke, "read", Value::Nil));
    list.push(client(4, Fail, "read", Value::Nil));
    list.push(client(5, Invoke, "read", Value::Nil));
    list.push(client(5, Ok, "read", Value::from(vec![1])));
    let h = ops(list);
    let s = set::check(&h);
    assert_eq!(s.verdict, Verdict::Valid, "{s:?}");
    assert_eq!(
        LeftOut::summary(&s.left_out).unwrap(),
        "1 nemesis op, 1 failed op and 3 ops with f=`generate` not in the model left out"
    );
    let c = counter::check(&h);
    assert!(
        c.left_out
            .iter()
            .any(|l| l.reason == LeftOutReason::NotInModel
                && l.name.as_deref() == Some("generate")
                && l.count == 3),
        "{c:?}"
    );
    // The stats checker counts every client op; only the nemesis is left out.
    let st = stats::check(&h);
    assert_eq!(
        LeftOut::summary(&st.left_out).unwrap(),
        "1 nemesis op left out"
    );

    // Reads the set checker does not judge: those before the last add.
    let h = history(&[
        (0, Invoke, "add", Value::Int(0)),
        (0, Ok, "add", Value::Int(0)),
        (1, Invoke, "read", Value::Nil),
        (1, Ok, "read", Value::from(vec![0])),
        (0, Invoke, "add", Value::Int(1)),
        (0, Ok, "add", Value::Int(1)),
        (1, Invoke, "read", Value::Nil),
        (1, Ok, "read", Value::from(vec![0, 1])),
    ]);
    let s = set::check(&h);
    assert_eq!(
        LeftOut::summary(&s.left_out).unwrap(),
        "1 read before the last add left out"
    );
}

#[test]
fn an_integer_and_a_float_that_print_alike_are_explained() {
    let h = history(&[
        (0, Invoke, "write", Value::Int(1)),
        (0, Ok, "write", Value::Int(1)),
        (1, Invoke, "read", Value::Nil),
        (1, Ok, "read", Value::Float(1.0)),
    ]);
    let r = check(&h, ModelKind::Register);
    assert_eq!(r.verdict, Verdict::Invalid);
    let cx = r.counterexample.unwrap();
    assert!(
        cx.message.contains(
            "can't read 1.0 (a float) from a register holding 1 (an integer): integers and floats never compare equal"
        ),
        "{}",
        cx.message
    );
    // The failed op shows its float as a float.
    assert!(
        cx.message.contains("process 1's read 1.0 (op 2)"),
        "{}",
        cx.message
    );
    let clash = cx.type_clash.expect("the clash is recorded");
    assert_eq!(clash.found_typed(), "1.0 (a float)");
    assert_eq!(clash.held_typed(), "1 (an integer)");

    // A cas whose expected value is a float, against an integer.
    let h = history(&[
        (0, Invoke, "write", Value::Int(1)),
        (0, Ok, "write", Value::Int(1)),
        (
            1,
            Invoke,
            "cas",
            Value::List(vec![Value::Float(1.0), Value::Int(2)]),
        ),
        (
            1,
            Ok,
            "cas",
            Value::List(vec![Value::Float(1.0), Value::Int(2)]),
        ),
    ]);
    let cx = check(&h, ModelKind::CasRegister).counterexample.unwrap();
    assert!(
        cx.message
            .contains("can't cas from 1.0 (a float) to 2: the register holds 1 (an integer)"),
        "{}",
        cx.message
    );

    // A queue, and a set.
    let h = history(&[
        (0, Invoke, "enqueue", Value::Int(3)),
        (0, Ok, "enqueue", Value::Int(3)),
        (1, Invoke, "dequeue", Value::Nil),
        (1, Ok, "dequeue", Value::Float(3.0)),
    ]);
    let cx = check(&h, ModelKind::FifoQueue).counterexample.unwrap();
    assert!(cx.message.contains("3.0 (a float)"), "{}", cx.message);
    assert!(cx.type_clash.is_some());
    let h = history(&[
        (0, Invoke, "add", Value::Int(3)),
        (0, Ok, "add", Value::Int(3)),
        (1, Invoke, "read", Value::Nil),
        (1, Ok, "read", Value::List(vec![Value::Float(3.0)])),
    ]);
    let cx = check(&h, ModelKind::Set).counterexample.unwrap();
    assert!(
        cx.message
            .contains("integers and floats never compare equal"),
        "{}",
        cx.message
    );

    // Values that differ in what they say get no type note.
    let h = history(&[
        (0, Invoke, "write", Value::Int(1)),
        (0, Ok, "write", Value::Int(1)),
        (1, Invoke, "read", Value::Nil),
        (1, Ok, "read", Value::Int(2)),
    ]);
    let cx = check(&h, ModelKind::Register).counterexample.unwrap();
    assert!(cx.type_clash.is_none());
    assert!(!cx.message.contains("compare equal"), "{}", cx.message);
}

#[test]
fn keywords_equal_strings_and_exact_numbers_compare_by_their_text() {
    let opts = ReadOptions::default();
    // `:x` in EDN is the string "x".
    let edn = "{:process 0, :type :invoke, :f :write, :value :x}\n\
               {:process 0, :type :ok, :f :write, :value :x}\n\
               {:process 1, :type :invoke, :f :read, :value nil}\n\
               {:process 1, :type :ok, :f :read, :value \"x\"}\n";
    let h = read_str(edn, "kw.edn", &opts).unwrap();
    assert_eq!(check(&h, ModelKind::Register).verdict, Verdict::Valid);
    // Big integers are equal when their digits are.
    let jsonl = "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":123456789012345678901234567890}\n\
                 {\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"value\":123456789012345678901234567890}\n\
                 {\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n\
                 {\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"value\":123456789012345678901234567890}\n";
    let h = read_str(jsonl, "big.jsonl", &opts).unwrap();
    assert_eq!(check(&h, ModelKind::Register).verdict, Verdict::Valid);
    // An EDN decimal is not the float that prints like it, and the message says so.
    let edn = "{:process 0, :type :invoke, :f :write, :value 1.5M}\n\
               {:process 0, :type :ok, :f :write, :value 1.5M}\n\
               {:process 1, :type :invoke, :f :read, :value nil}\n\
               {:process 1, :type :ok, :f :read, :value 1.5}\n";
    let h = read_str(edn, "dec.edn", &opts).unwrap();
    let r = check(&h, ModelKind::Register);
    assert_eq!(r.verdict, Verdict::Invalid);
    let clash = r.counterexample.unwrap().type_clash.unwrap();
    assert_eq!(clash.found_kind, "a float");
    assert_eq!(clash.held_kind, "a decimal");
    assert_eq!(clash.rule, "decimals and floats never compare equal");
}
