//! Shared by the reports crate's tests and bench: corpus histories, synthetic
//! timed histories with nemesis ops, and results built the way the harness does.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use splitbrain_checkers::{Checker, Limits, LinearizableChecker, ModelKind, ModelSpec};
use splitbrain_history::fault_op::CLOCK_OFFSETS;
use splitbrain_history::{FaultOp, History, Op, OpType, Process, Value};
use splitbrain_reports::{CheckerOutcome, FaultColours, Results, RunConfig, RunReport};

/// The Knossos corpus beside the checkout; `None` (skip, saying why) when missing
/// outside CI, a failure under CI=true.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/knossos");
    if dir.is_dir() {
        return Some(dir);
    }
    let reason = format!("the Knossos corpus is missing at {}", dir.display());
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{reason}; CI must have it (shared/ beside the checkout)");
    }
    eprintln!("SKIPPED: {reason}");
    None
}

/// A linearizability outcome as the harness builds it: the typed result kept.
pub fn linearizable(history: &History, model: ModelKind) -> CheckerOutcome {
    let spec = if model == ModelKind::MultiRegister {
        ModelSpec::new(model).with_initial(Value::Int(0))
    } else {
        ModelSpec::new(model)
    };
    checked(&LinearizableChecker::new(spec), history)
}

/// What `checker` says about `history`, as the harness records it.
pub fn checked(checker: &dyn Checker, history: &History) -> CheckerOutcome {
    let c = checker
        .check(history, &Limits::default())
        .expect("the history fits the checker");
    CheckerOutcome::from_checked(c).unwrap()
}

/// `results` as `splitbrain analyze` or the report server reads them back from
/// `results.json`: without the typed results.
pub fn from_disk(results: &Results) -> Results {
    let back: Results = serde_json::from_str(&serde_json::to_string(results).unwrap()).unwrap();
    assert!(back.checkers.iter().all(|c| c.finding.is_none()));
    back
}

/// Results of `checkers` over `history`, as the harness builds them.
pub fn results(test: &str, history: &History, checkers: Vec<CheckerOutcome>) -> Results {
    let mut r = Results {
        test: test.into(),
        run: "20261125T101500.000Z".into(),
        started: Some("2026-11-25T10:15:00.000Z".into()),
        verdict: Results::overall(&checkers),
        checkers,
        config: RunConfig {
            db: Some("etcd".into()),
            client: Some("etcd".into()),
            workload: Some("register".into()),
            nemesis: vec!["partition".into(), "kill".into(), "clock".into()],
            nemesis_interval_s: Some(10.0),
            seed: Some(42),
            concurrency: Some(10),
            rate: Some(200.0),
            time_limit_s: Some(60.0),
            nodes: vec![
                "n1".into(),
                "n2".into(),
                "n3".into(),
                "n4".into(),
                "n5".into(),
            ],
        },
        ..Results::default()
    };
    r.describe_history(history);
    r
}

pub fn render(results: &Results, history: &History) -> String {
    RunReport {
        results,
        history,
        files: vec![
            "history.jsonl".into(),
            "results.json".into(),
            "nodes/n1/etcd.log".into(),
        ],
        index_href: None,
        fault_colours: FaultColours::default(),
    }
    .render()
    .expect("the report renders")
}

/// Where tests leave reports for people to look at.
pub fn out_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/report-samples");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// xorshift64*: deterministic and dependency-free.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A fault the synthetic history records: `(fault, start s, stop s or None for never)`.
pub type FaultSpan = (&'static str, f64, Option<f64>);

/// A linearizable multi-key cas-register history of about `calls` client calls
/// over `workers` workers, timed (nanoseconds), with `info` timeouts (and fresh
/// process ids after them), failed cas, and the nemesis's ops for `faults`
/// (clock faults followed by `clock-offsets` measurements).
pub fn synthetic(calls: usize, workers: u64, seed: u64, faults: &[FaultSpan]) -> History {
    struct Call {
        process: u64,
        key: i64,
        f: &'static str,
        arg: Value,
        inv: i64,
        lin: i64,
        comp: i64,
        info: bool,
        result: Value,
        ok: bool,
    }
    let mut rng = Rng::new(seed);
    let per_worker = calls.div_ceil(workers as usize);
    let mut all: Vec<Call> = Vec::with_capacity(calls);
    for w in 0..workers {
        let mut t: i64 = 1_000_000 + rng.below(500_000) as i64;
        let mut process = w;
        for i in 0..per_worker {
            let key = (i / 200) as i64;
            let (f, arg) = match rng.below(3) {
                0 => ("read", Value::Nil),
                1 => ("write", Value::Int(rng.below(5) as i64)),
                _ => (
                    "cas",
                    Value::from(vec![rng.below(5) as i64, rng.below(5) as i64]),
                ),
            };
            // Latency 0.2–3 ms, with a slow tail.
            let mut d = 200_000 + rng.below(2_800_000) as i64;
            if rng.below(50) == 0 {
                d *= 20;
            }
            let info = rng.below(200) == 0;
            let lin = t + (d as f64 * rng.unit()) as i64;
            all.push(Call {
                process,
                key,
                f,
                arg,
                inv: t,
                lin,
                comp: t + d,
                info,
                result: Value::Nil,
                ok: true,
            });
            if info {
                process += workers;
            }
            t += d + 100_000 + rng.below(900_000) as i64;
        }
    }
    // Apply every call at its linearization point, in that order.
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by_key(|&i| all[i].lin);
    let mut state: std::collections::HashMap<i64, Value> = std::collections::HashMap::new();
    for i in order {
        let c = &mut all[i];
        let s = state.entry(c.key).or_insert(Value::Nil);
        match c.f {
            "read" => c.result = s.clone(),
            "write" => *s = c.arg.clone(),
            _ => {
                let l = c.arg.as_list().unwrap();
                if *s == l[0] {
                    *s = l[1].clone();
                } else {
                    c.ok = false;
                }
            }
        }
        // An info op may or may not take effect: here it always does, which is allowed.
    }
    let mut events: Vec<(i64, Op)> = Vec::with_capacity(all.len() * 2 + 16);
    for c in &all {
        let mut inv = Op::new(
            Process::Client(c.process),
            OpType::Invoke,
            c.f,
            c.arg.clone(),
        );
        inv.key = Some(Value::Int(c.key));
        events.push((c.inv, inv));
        let (kind, value) = match (c.info, c.f, c.ok) {
            (true, _, _) => (OpType::Info, c.arg.clone()),
            (_, "read", _) => (OpType::Ok, c.result.clone()),
            (_, _, true) => (OpType::Ok, c.arg.clone()),
            _ => (OpType::Fail, c.arg.clone()),
        };
        let mut comp = Op::new(Process::Client(c.process), kind, c.f, value);
        comp.key = Some(Value::Int(c.key));
        if c.info {
            comp.error = Some(Value::str("timeout"));
        }
        events.push((c.comp, comp));
    }
    let nodes = ["n1", "n2", "n3", "n4", "n5"];
    for (k, &(fault, start, stop)) in faults.iter().enumerate() {
        let touched: Vec<Value> = nodes
            .iter()
            .skip(k % 3)
            .take(2)
            .map(|n| Value::str(*n))
            .collect();
        let value = |extra: Vec<(&str, Value)>| {
            let mut m = vec![(Value::str("nodes"), Value::List(touched.clone()))];
            m.extend(extra.into_iter().map(|(k, v)| (Value::str(k), v)));
            Value::Map(m)
        };
        let at = |s: f64| (s * 1e9) as i64;
        let start_value = match fault {
            "partition" => value(vec![("topology", Value::str("halves"))]),
            "clock" => value(vec![
                ("mode", Value::str("bump")),
                ("offset_ms", Value::Int(-2500)),
            ]),
            _ => value(vec![("signal", Value::str("KILL"))]),
        };
        events.push((
            at(start),
            Op::new(
                Process::Nemesis,
                OpType::Info,
                &FaultOp::start(fault).name(),
                start_value,
            ),
        ));
        if fault == "clock" {
            let offsets = Value::Map(
                nodes
                    .iter()
                    .enumerate()
                    .map(|(i, n)| {
                        (
                            Value::str(*n),
                            Value::Int(if i < 2 {
                                -2500 + i as i64 * 7
                            } else {
                                i as i64
                            }),
                        )
                    })
                    .collect(),
            );
            events.push((
                at(start) + 1,
                Op::new(Process::Nemesis, OpType::Info, CLOCK_OFFSETS, offsets),
            ));
        }
        if let Some(stop) = stop {
            events.push((
                at(stop),
                Op::new(
                    Process::Nemesis,
                    OpType::Info,
                    &FaultOp::stop(fault).name(),
                    value(vec![]),
                ),
            ));
            if fault == "clock" {
                let zero = Value::Map(
                    nodes
                        .iter()
                        .map(|n| (Value::str(*n), Value::Int(0)))
                        .collect(),
                );
                events.push((
                    at(stop) + 1,
                    Op::new(Process::Nemesis, OpType::Info, CLOCK_OFFSETS, zero),
                ));
            }
        }
    }
    events.sort_by_key(|e| e.0);
    let ops = events
        .into_iter()
        .enumerate()
        .map(|(i, (t, mut op))| {
            op.index = i as u64;
            op.time = Some(t);
            op
        })
        .collect();
    History::new(ops).expect("a valid history")
}

/// Reads a corpus history (EDN).
pub fn read(path: &Path) -> History {
    splitbrain_history::codec::read_path(path, &Default::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
