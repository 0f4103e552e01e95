//! Linearizability checker benchmark: `cargo bench -p splitbrain-checkers`.
//!
//! Histories come from a simulated cas-register: processes invoke reads,
//! writes and cas ops of values 0..4 with random latencies, each op takes
//! effect at a random point of its interval, some end `info` (having taken
//! effect or not; the process is then replaced). "Stale" variants plant one
//! read in the middle that returns the initial `nil` although writes have
//! completed: invalid, and the worst case for depth-first search (the
//! automatic choice now finds such a read before searching; `BENCH_ENGINES=1`
//! still shows the engines on it).
//!
//! Prints one line per case: ops (calls), processes, info share, verdict, the
//! engine that answered, wall time and peak resident memory during the check.
//! Targets (2 cores): 10k ops with up to 30 processes and 5% info, valid or
//! stale, under 1 s; 100k ops with 50 processes and 1% info under 10 s;
//! 1M ops over 1000 keys under 2 s and 500 MiB; the Knossos corpus under 1 s.
//!
//! `BENCH_FILTER=substring` runs only matching cases; `BENCH_ENGINES=1` also
//! runs each engine alone.

use std::path::Path;
use std::time::{Duration, Instant};

use splitbrain_checkers::testing::{Rng, knossos_cases, knossos_spec};
use splitbrain_checkers::{
    EngineChoice, Limits, ModelKind, ModelSpec, Verdict, check_linearizable,
};
use splitbrain_history::{History, Op, OpType, Process, Value};

#[derive(Clone)]
struct SimOp {
    process: u64,
    key: Option<i64>,
    f: &'static str,
    arg: Value,
    invoke: f64,
    effect: f64,
    complete: f64,
    applied: bool,
    outcome: OpType,
    result: Value,
}

/// Simulates `calls` ops of `procs` concurrent processes on one register.
fn simulate(
    rng: &mut Rng,
    calls: usize,
    procs: usize,
    info: f64,
    key: Option<i64>,
    first_process: u64,
) -> Vec<SimOp> {
    let mut ops = Vec::with_capacity(calls);
    let mut clock = vec![0.0f64; procs];
    let mut ids: Vec<u64> = (0..procs as u64).map(|p| first_process + p).collect();
    let mut fresh = (1 << 40) + first_process * 1_000_000;
    for i in 0..calls {
        let w = i % procs;
        let invoke = clock[w] + rng.unit() * 2.0;
        let latency = 0.5 + rng.unit() * 4.0 * if rng.below(20) == 0 { 5.0 } else { 1.0 };
        let complete = invoke + latency;
        let (f, arg) = match rng.below(10) {
            0..=4 => ("read", Value::Nil),
            5..=7 => ("write", Value::Int(rng.below(5) as i64)),
            _ => (
                "cas",
                Value::from(vec![rng.below(5) as i64, rng.below(5) as i64]),
            ),
        };
        let is_info = rng.unit() < info;
        ops.push(SimOp {
            process: ids[w],
            key,
            f,
            arg,
            invoke,
            effect: invoke + rng.unit() * latency,
            complete,
            // An info op took effect or not, at random.
            applied: !is_info || rng.below(2) == 0,
            outcome: if is_info { OpType::Info } else { OpType::Ok },
            result: Value::Nil,
        });
        clock[w] = complete;
        if is_info {
            ids[w] = fresh;
            fresh += 1;
        }
    }
    // Apply in effect order to learn each op's result.
    let mut order: Vec<usize> = (0..ops.len()).collect();
    order.sort_by(|&a, &b| ops[a].effect.total_cmp(&ops[b].effect));
    let mut reg = Value::Nil;
    for i in order {
        let op = &mut ops[i];
        if !op.applied {
            continue;
        }
        match op.f {
            "read" => op.result = reg.clone(),
            "write" => {
                reg = op.arg.clone();
                op.result = op.arg.clone();
            }
            _ => {
                let l = op.arg.as_list().unwrap();
                if reg == l[0] {
                    reg = l[1].clone();
                    op.result = op.arg.clone();
                } else if op.outcome == OpType::Ok {
                    op.outcome = OpType::Fail;
                    op.result = op.arg.clone();
                }
            }
        }
    }
    ops
}

/// Makes the ok read nearest the middle return the initial nil.
fn plant_stale_read(ops: &mut [SimOp]) {
    let mid = ops.len() / 2;
    let r = (mid..ops.len())
        .find(|&i| ops[i].f == "read" && ops[i].outcome == OpType::Ok && !ops[i].result.is_nil())
        .expect("a read to corrupt");
    ops[r].result = Value::Nil;
}

fn to_history(ops: &[SimOp]) -> History {
    let mut events: Vec<(f64, usize, bool)> = Vec::with_capacity(2 * ops.len());
    for (i, op) in ops.iter().enumerate() {
        events.push((op.invoke, i, false));
        events.push((op.complete, i, true));
    }
    events.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out = Vec::with_capacity(events.len());
    for (n, &(t, i, done)) in events.iter().enumerate() {
        let s = &ops[i];
        let (kind, value) = if done {
            (
                s.outcome,
                if s.outcome == OpType::Info {
                    s.arg.clone()
                } else {
                    s.result.clone()
                },
            )
        } else {
            (OpType::Invoke, s.arg.clone())
        };
        let mut op = Op::new(Process::Client(s.process), kind, s.f, value);
        op.index = n as u64;
        op.time = Some((t * 1e6) as i64);
        op.key = s.key.map(Value::Int);
        out.push(op);
    }
    History::new(out).expect("simulated histories are well formed")
}

fn single(seed: u64, calls: usize, procs: usize, info: f64, stale: bool) -> History {
    let mut rng = Rng(seed);
    let mut ops = simulate(&mut rng, calls, procs, info, None, 0);
    if stale {
        plant_stale_read(&mut ops);
    }
    to_history(&ops)
}

fn multi_key(seed: u64, keys: usize, calls_per_key: usize, procs: usize, info: f64) -> History {
    let mut rng = Rng(seed);
    let mut all = Vec::with_capacity(keys * calls_per_key);
    for k in 0..keys {
        all.extend(simulate(
            &mut rng,
            calls_per_key,
            procs,
            info,
            Some(k as i64),
            (k * procs) as u64,
        ));
    }
    to_history(&all)
}

/// Peak resident memory since the last reset, in bytes (Linux).
fn peak_rss() -> u64 {
    proc_status_bytes("VmHWM:")
}

fn current_rss() -> u64 {
    proc_status_bytes("VmRSS:")
}

/// A `kB` field of `/proc/self/status`, in bytes; 0 if unreadable.
fn proc_status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn limits(engine: EngineChoice) -> Limits {
    Limits {
        time: Some(Duration::from_secs(30)),
        memory_bytes: Some(640 << 20),
        engine,
        threads: None,
    }
}

fn mib(b: u64) -> f64 {
    b as f64 / (1 << 20) as f64
}

fn run(name: &str, h: &History, engines: &[EngineChoice], expect: Option<Verdict>) {
    for &engine in engines {
        reset_peak();
        let base = current_rss();
        let start = Instant::now();
        let r = check_linearizable(h, &ModelSpec::new(ModelKind::CasRegister), &limits(engine))
            .expect("simulated histories fit the model");
        let took = start.elapsed();
        let peak = peak_rss();
        let answered: Vec<String> = {
            let mut e: Vec<String> = r
                .keys
                .iter()
                .map(|k| k.engine.map_or("-".into(), |e| e.to_string()))
                .collect();
            e.sort();
            e.dedup();
            e
        };
        println!(
            "{name:<44} {engine:<5} {:<8} by {:<8} {:>9.1} ms  peak RSS {:>7.1} MiB (history {:>6.1} MiB)  engines {:>7.1} MiB{}",
            r.verdict.as_str(),
            answered.join("+"),
            took.as_secs_f64() * 1e3,
            mib(peak),
            mib(base),
            mib(r.stats.peak_memory_bytes),
            r.unknown_reason
                .map(|u| format!("  ({u})"))
                .unwrap_or_default(),
        );
        if let Some(v) = expect
            && r.verdict != v
            && r.verdict != Verdict::Unknown
        {
            panic!("{name}: expected {v}, got {}", r.verdict);
        }
    }
}

fn corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/knossos");
    if !dir.is_dir() {
        println!("knossos corpus: missing at {}, skipped", dir.display());
        return;
    }
    let opts = splitbrain_history::codec::ReadOptions::default();
    let read_start = Instant::now();
    let histories: Vec<_> = knossos_cases(&dir)
        .into_iter()
        .map(|(p, k, _)| (splitbrain_history::codec::read_path(&p, &opts).unwrap(), k))
        .collect();
    let read = read_start.elapsed();
    let start = Instant::now();
    let mut counts = [0; 3];
    for (h, kind) in &histories {
        let r = check_linearizable(h, &knossos_spec(*kind), &limits(EngineChoice::Auto)).unwrap();
        counts[r.verdict as usize] += 1;
    }
    println!(
        "knossos corpus: {} histories checked in {:.1} ms ({} valid, {} invalid, {} unknown; reading them took {:.1} ms)",
        histories.len(),
        start.elapsed().as_secs_f64() * 1e3,
        counts[0],
        counts[1],
        counts[2],
        read.as_secs_f64() * 1e3
    );
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let filter = std::env::var("BENCH_FILTER").unwrap_or_default();
    let mut engines = vec![EngineChoice::Auto];
    if std::env::var("BENCH_ENGINES").is_ok() {
        engines.extend([EngineChoice::Wgl, EngineChoice::Jit]);
    }
    let want = |name: &str| filter.is_empty() || name.contains(&filter);
    println!(
        "threads: {}, size of a history op: {} bytes",
        rayon::current_num_threads(),
        std::mem::size_of::<Op>()
    );

    for procs in [5, 10, 20, 30] {
        for info in [0.0, 0.01, 0.05] {
            for stale in [false, true] {
                let name = format!(
                    "10k ops, {procs} procs, {}% info, {}",
                    info * 100.0,
                    if stale { "stale read" } else { "valid" }
                );
                if want(&name) {
                    let h = single(
                        procs as u64 * 7919 + (info * 1000.0) as u64,
                        10_000,
                        procs,
                        info,
                        stale,
                    );
                    run(
                        &name,
                        &h,
                        &engines,
                        Some(if stale {
                            Verdict::Invalid
                        } else {
                            Verdict::Valid
                        }),
                    );
                }
            }
        }
    }
    for stale in [false, true] {
        let name = format!(
            "100k ops, 50 procs, 1% info, {}",
            if stale { "stale read" } else { "valid" }
        );
        if want(&name) {
            let h = single(42, 100_000, 50, 0.01, stale);
            run(
                &name,
                &h,
                &engines,
                Some(if stale {
                    Verdict::Invalid
                } else {
                    Verdict::Valid
                }),
            );
        }
    }
    let name = "1M ops, 1000 keys, 5 procs per key, 1% info";
    if want(name) {
        let h = multi_key(7, 1000, 1000, 5, 0.01);
        run(name, &h, &engines, Some(Verdict::Valid));
    }
    if want("knossos") {
        corpus();
    }
}
