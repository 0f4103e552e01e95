//! The memory limit against the real heap: with the counting allocator
//! installed (as the `splitbrain` binary installs it), each engine stops with
//! unknown when the process's live heap reaches the limit, and the heap's
//! peak stays at it, not past it.
//!
//! One test function: the heap counter is global to this test binary, and
//! tests running in parallel would count each other's memory.

use splitbrain_checkers::heap::{self, CountingAlloc};
use splitbrain_checkers::{
    EngineChoice, Limits, ModelKind, ModelSpec, UnknownCause, Verdict, check_linearizable,
};
use splitbrain_history::{History, Op, OpType, Process, Value};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const MIB: u64 = 1 << 20;

/// `n` writes of distinct values, all concurrent, then (when `bad`) a read
/// of 0 followed by a read of 1: together impossible (the writes are all
/// over), each possible by itself, so that no shortcut before the search
/// decides it. Every subset of the writes may be linearized before each
/// return: the JIT engine's configurations (and, for the bad history, WGL's
/// memo) grow as 2^n.
fn concurrent_writes(n: u64, bad: bool) -> History {
    let mut ops = Vec::new();
    for p in 0..n {
        ops.push(Op::new(
            Process::Client(p),
            OpType::Invoke,
            "write",
            Value::Int(p as i64),
        ));
    }
    for p in 0..n {
        ops.push(Op::new(
            Process::Client(p),
            OpType::Ok,
            "write",
            Value::Int(p as i64),
        ));
    }
    if bad {
        for v in [0, 1] {
            ops.push(Op::new(
                Process::Client(n),
                OpType::Invoke,
                "read",
                Value::Nil,
            ));
            ops.push(Op::new(
                Process::Client(n),
                OpType::Ok,
                "read",
                Value::Int(v),
            ));
        }
    }
    for (i, o) in ops.iter_mut().enumerate() {
        o.index = i as u64;
    }
    History::new(ops).unwrap()
}

#[test]
fn every_engine_stops_at_the_live_heap_limit() {
    assert!(
        heap::live().is_some(),
        "the counting allocator is installed"
    );
    let limit = 48 * MIB;
    let cases = [
        (EngineChoice::Jit, false),
        (EngineChoice::Wgl, true),
        (EngineChoice::Race, true),
        (EngineChoice::Auto, true),
    ];
    for (engine, bad) in cases {
        let h = concurrent_writes(28, bad);
        let limits = Limits {
            memory_bytes: Some(limit),
            engine,
            ..Limits::default()
        };
        let r = check_linearizable(&h, &ModelSpec::new(ModelKind::Register), &limits).unwrap();
        assert_eq!(r.verdict, Verdict::Unknown, "{engine}: {r:?}");
        assert_eq!(r.unknown_cause, Some(UnknownCause::Memory), "{engine}");
        assert!(
            r.unknown_reason.as_deref() == Some("memory limit of 48 MiB reached"),
            "{engine}: {:?}",
            r.unknown_reason
        );
        let peak = r
            .stats
            .peak_heap_bytes
            .expect("measured with the allocator");
        // The engines ask before every table grows: at most a poll's worth past it.
        assert!(
            peak <= limit + MIB,
            "{engine}: the heap peaked at {:.1} MiB with a limit of 48 MiB",
            peak as f64 / MIB as f64
        );
        // And the history really drives memory up: the search used its budget.
        assert!(
            peak >= limit / 2,
            "{engine}: the heap peaked at only {:.1} MiB",
            peak as f64 / MIB as f64
        );
        // Everything was given back.
        assert!(heap::live().unwrap() < 8 * MIB as usize);
    }
}
