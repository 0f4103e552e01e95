//! Differential test: thousands of small random histories for every model,
//! checked by WGL alone and by JIT alone (and, for registers, by the
//! automatic choice, which first looks for reads impossible by themselves),
//! against a brute-force oracle that knows nothing of the engines'
//! representation or pruning.
//!
//! Histories come from simulating the model with random concurrent clients
//! (ops take effect at a random point between invocation and completion; some
//! end `info` — taken effect or not — some `fail`, some never complete), and a
//! share get one result corrupted so that they are (usually) not linearizable.
//!
//! Three mixes per model: the usual one (0–15% info), info-heavy (30–60%
//! info: the relaxations and optional ops engines find hardest) and
//! fail-heavy (30% fail, some of them lies: an op that took effect reported
//! as `fail`, which no engine may count). A disagreement panics with the
//! history minimized to the fewest calls that still disagree, as JSON Lines,
//! ready to keep as a fixed regression case (none found so far).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use splitbrain_checkers::testing::Rng;
use splitbrain_checkers::{
    EngineChoice, Limits, ModelKind, ModelSpec, UnknownCause, Verdict, check_linearizable,
};
use splitbrain_history::{History, Op, OpType, Process, Value};

// ---------------------------------------------------------------------------
// Reference semantics, written on plain values, independently of the crate.

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
enum RefState {
    Reg(Value),
    Lock(bool),
    Multi(BTreeMap<String, Value>),
    Set(BTreeSet<i64>),
    Queue(Vec<i64>),
}

/// One call as the oracle sees it.
#[derive(Clone, Debug)]
struct Call {
    f: String,
    /// Invocation value (what writes wrote, what cas compared).
    arg: Value,
    /// Completion value for ok calls.
    result: Option<Value>,
    call: usize,
    /// `None`: info or never completed.
    ret: Option<usize>,
}

fn ref_init(kind: ModelKind) -> RefState {
    match kind {
        ModelKind::Register | ModelKind::CasRegister => RefState::Reg(Value::Nil),
        ModelKind::Mutex => RefState::Lock(false),
        ModelKind::MultiRegister => RefState::Multi(BTreeMap::new()),
        ModelKind::Set => RefState::Set(BTreeSet::new()),
        ModelKind::FifoQueue => RefState::Queue(Vec::new()),
    }
}

fn ref_step(s: &RefState, c: &Call) -> Option<RefState> {
    let ok = c.result.is_some();
    match (s, c.f.as_str()) {
        (RefState::Reg(v), "read") => match &c.result {
            None => Some(s.clone()),
            Some(r) => (r == v).then(|| s.clone()),
        },
        (RefState::Reg(_), "write") => Some(RefState::Reg(c.arg.clone())),
        (RefState::Reg(v), "cas") => {
            let l = c.arg.as_list().unwrap();
            (&l[0] == v).then(|| RefState::Reg(l[1].clone()))
        }
        (RefState::Lock(h), "acquire") => (!h).then_some(RefState::Lock(true)),
        (RefState::Lock(h), "release") => h.then_some(RefState::Lock(false)),
        (RefState::Multi(m), "txn") => {
            let mut m = m.clone();
            let micro = c
                .result
                .as_ref()
                .unwrap_or(&c.arg)
                .as_list()
                .unwrap()
                .to_vec();
            for op in micro {
                let op = op.as_list().unwrap();
                let k = op[1].as_str().unwrap().to_string();
                if op[0].as_str() == Some("write") {
                    m.insert(k, op[2].clone());
                } else if ok {
                    let cur = m.get(&k).cloned().unwrap_or(Value::Nil);
                    if cur != op[2] {
                        return None;
                    }
                }
            }
            Some(RefState::Multi(m))
        }
        (RefState::Set(set), "add") => {
            let mut set = set.clone();
            set.insert(c.arg.as_int().unwrap());
            Some(RefState::Set(set))
        }
        (RefState::Set(set), "read") => match &c.result {
            None => Some(s.clone()),
            Some(r) => {
                let seen: BTreeSet<i64> = r
                    .as_list()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_int().unwrap())
                    .collect();
                (&seen == set).then(|| s.clone())
            }
        },
        (RefState::Queue(q), "enqueue") => {
            let mut q = q.clone();
            q.push(c.arg.as_int().unwrap());
            Some(RefState::Queue(q))
        }
        (RefState::Queue(q), "dequeue") => match &c.result {
            // Info: it took the head, whatever it was (or found none).
            None => Some(RefState::Queue(q.iter().skip(1).copied().collect())),
            Some(Value::Nil) => q.is_empty().then(|| s.clone()),
            Some(v) => (q.first() == v.as_int().as_ref()).then(|| RefState::Queue(q[1..].to_vec())),
        },
        _ => panic!("oracle: unexpected {} in {s:?}", c.f),
    }
}

/// Configurations the oracle may memoize before it gives up on a history:
/// info-heavy queues can reach more states than fit in memory.
const ORACLE_BUDGET: usize = 1 << 20;

/// Tries every order consistent with real time, with each info call taken or
/// not; memoizes (placed set, state) so it finishes on 40 calls. `None`: the
/// search outgrew [`ORACLE_BUDGET`] (the history is skipped, and counted).
fn oracle(kind: ModelKind, calls: &[Call]) -> Option<bool> {
    assert!(calls.len() <= 64);
    let must: u64 = calls
        .iter()
        .enumerate()
        .filter(|(_, c)| c.ret.is_some())
        .fold(0, |m, (i, _)| m | 1 << i);
    let mut seen: HashSet<(u64, RefState)> = HashSet::new();
    /// `Err(())`: over budget.
    fn go(
        calls: &[Call],
        must: u64,
        done: u64,
        s: RefState,
        seen: &mut HashSet<(u64, RefState)>,
    ) -> Result<bool, ()> {
        if done & must == must {
            return Ok(true);
        }
        if seen.len() >= ORACLE_BUDGET {
            return Err(());
        }
        if !seen.insert((done, s.clone())) {
            return Ok(false);
        }
        for (i, c) in calls.iter().enumerate() {
            if done & (1 << i) != 0 {
                continue;
            }
            // Every ok call that returned before this one was invoked goes first.
            let blocked = calls
                .iter()
                .enumerate()
                .any(|(j, d)| done & (1 << j) == 0 && d.ret.is_some_and(|r| r < c.call));
            if blocked {
                continue;
            }
            if let Some(s2) = ref_step(&s, c)
                && go(calls, must, done | 1 << i, s2, seen)?
            {
                return Ok(true);
            }
        }
        Ok(false)
    }
    go(calls, must, 0, ref_init(kind), &mut seen).ok()
}

fn oracle_calls(h: &History) -> Vec<Call> {
    h.calls()
        .filter(|c| c.outcome() != OpType::Fail)
        .map(|c| Call {
            f: c.invoke.f.to_string(),
            arg: c.invoke.value.clone(),
            result: c
                .complete
                .filter(|o| o.kind == OpType::Ok)
                .map(|o| o.value.clone()),
            call: c.invoke_pos,
            ret: c.complete_pos.filter(|_| c.outcome() == OpType::Ok),
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Simulation.

struct Pending {
    process: u64,
    f: &'static str,
    arg: Value,
    /// The result, once the op took effect; `Err(())` once it certainly failed.
    effect: Option<Result<Value, ()>>,
}

fn random_invocation(kind: ModelKind, rng: &mut Rng, counter: &mut i64) -> (&'static str, Value) {
    let v = |rng: &mut Rng| Value::Int(rng.below(4) as i64);
    match kind {
        ModelKind::Register => {
            if rng.chance(50) {
                ("read", Value::Nil)
            } else {
                ("write", v(rng))
            }
        }
        ModelKind::CasRegister => match rng.below(3) {
            0 => ("read", Value::Nil),
            1 => ("write", v(rng)),
            _ => ("cas", Value::from(vec![v(rng), v(rng)])),
        },
        ModelKind::Mutex => {
            if rng.chance(50) {
                ("acquire", Value::Nil)
            } else {
                ("release", Value::Nil)
            }
        }
        ModelKind::MultiRegister => {
            let n = 1 + rng.below(3);
            let micro: Vec<Value> = (0..n)
                .map(|_| {
                    let k = Value::str(["x", "y", "z"][rng.below(3) as usize]);
                    if rng.chance(50) {
                        Value::from(vec![Value::str("read"), k, Value::Nil])
                    } else {
                        Value::from(vec![Value::str("write"), k, v(rng)])
                    }
                })
                .collect();
            ("txn", Value::List(micro))
        }
        ModelKind::Set => {
            if rng.chance(40) {
                ("read", Value::Nil)
            } else {
                *counter += 1;
                ("add", Value::Int(*counter % 9))
            }
        }
        ModelKind::FifoQueue => {
            if rng.chance(50) {
                *counter += 1;
                ("enqueue", Value::Int(*counter))
            } else {
                ("dequeue", Value::Nil)
            }
        }
    }
}

/// Applies an op to the true state; `Err` when it cannot take effect now.
fn apply(s: &mut RefState, f: &str, arg: &Value) -> Result<Value, ()> {
    match (s, f) {
        (RefState::Reg(v), "read") => Ok(v.clone()),
        (RefState::Reg(v), "write") => {
            *v = arg.clone();
            Ok(arg.clone())
        }
        (RefState::Reg(v), "cas") => {
            let l = arg.as_list().unwrap();
            if *v == l[0] {
                *v = l[1].clone();
                Ok(arg.clone())
            } else {
                Err(())
            }
        }
        (RefState::Lock(h), "acquire") => {
            if *h {
                Err(())
            } else {
                *h = true;
                Ok(Value::Nil)
            }
        }
        (RefState::Lock(h), "release") => {
            if *h {
                *h = false;
                Ok(Value::Nil)
            } else {
                Err(())
            }
        }
        (RefState::Multi(m), "txn") => {
            let mut out = Vec::new();
            for op in arg.as_list().unwrap() {
                let op = op.as_list().unwrap();
                let k = op[1].as_str().unwrap().to_string();
                if op[0].as_str() == Some("write") {
                    m.insert(k, op[2].clone());
                    out.push(Value::List(op.to_vec()));
                } else {
                    let cur = m.get(&k).cloned().unwrap_or(Value::Nil);
                    out.push(Value::from(vec![op[0].clone(), op[1].clone(), cur]));
                }
            }
            Ok(Value::List(out))
        }
        (RefState::Set(set), "add") => {
            set.insert(arg.as_int().unwrap());
            Ok(arg.clone())
        }
        (RefState::Set(set), "read") => {
            Ok(Value::List(set.iter().map(|&x| Value::Int(x)).collect()))
        }
        (RefState::Queue(q), "enqueue") => {
            q.push(arg.as_int().unwrap());
            Ok(arg.clone())
        }
        (RefState::Queue(q), "dequeue") => {
            if q.is_empty() {
                Ok(Value::Nil)
            } else {
                Ok(Value::Int(q.remove(0)))
            }
        }
        (s, f) => panic!("simulation: {f} on {s:?}"),
    }
}

/// Replaces an ok op's observed value with a plausible wrong one.
fn corrupt(kind: ModelKind, op: &mut Op, rng: &mut Rng) {
    match (kind, &*op.f) {
        (ModelKind::Register | ModelKind::CasRegister, "read") => {
            op.value = if rng.chance(20) {
                Value::Nil
            } else {
                Value::Int(rng.below(4) as i64)
            }
        }
        (ModelKind::MultiRegister, "txn") => {
            if let Value::List(micro) = &mut op.value {
                for m in micro {
                    if let Value::List(m) = m
                        && m[0].as_str() == Some("read")
                    {
                        m[2] = Value::Int(rng.below(4) as i64);
                        break;
                    }
                }
            }
        }
        (ModelKind::Set, "read") => {
            if let Value::List(l) = &mut op.value {
                if !l.is_empty() && rng.chance(50) {
                    l.remove(rng.below(l.len() as u64) as usize);
                } else {
                    l.push(Value::Int(rng.below(9) as i64));
                }
            }
        }
        (ModelKind::FifoQueue, "dequeue") => {
            op.value = if rng.chance(20) {
                Value::Nil
            } else {
                Value::Int(1 + rng.below(6) as i64)
            }
        }
        _ => {}
    }
}

/// How ops end, beyond what the model forces (a cas that cannot apply fails).
#[derive(Debug, Clone, Copy)]
struct Mix {
    /// Percent of completions reported `info` (one picked per history).
    info: &'static [u64],
    /// Percent of ops doomed at invocation: they never take effect, and end
    /// `fail` (or `info`, which is also true).
    fail: u64,
    /// Percent of histories where one op that took effect is reported `fail`
    /// (a lie: such histories are usually not linearizable).
    lie: u64,
    max_calls: usize,
    /// Engine runs per thousand histories that may run out of memory (see
    /// `limits`): on the queue, and on the other models.
    queue_slow_per_mille: usize,
    slow_per_mille: usize,
}

const USUAL: Mix = Mix {
    info: &[0, 5, 15],
    fail: 0,
    lie: 0,
    max_calls: 40,
    queue_slow_per_mille: 20,
    slow_per_mille: 0,
};

/// Info-heavy histories have few constraints and many optional ops: the
/// oracle's search over which info ops happened grows as 2^info, so they
/// are shorter.
const INFO_HEAVY: Mix = Mix {
    info: &[30, 45, 60],
    fail: 0,
    lie: 0,
    max_calls: 24,
    // Many info ops at high concurrency are where both engines are slow
    // (see the crate doc); a queue's states multiply with every info enqueue.
    queue_slow_per_mille: 50,
    slow_per_mille: 5,
};

const FAIL_HEAVY: Mix = Mix {
    info: &[0, 5, 15],
    fail: 30,
    lie: 20,
    max_calls: 40,
    queue_slow_per_mille: 20,
    slow_per_mille: 0,
};

/// Ops that change the object when they take effect: the ones a lying `fail`
/// hides.
fn mutates(f: &str, invoke: &Value) -> bool {
    match f {
        "read" | "dequeue" => false,
        "txn" => invoke
            .as_list()
            .unwrap()
            .iter()
            .any(|m| m.as_list().unwrap()[0].as_str() == Some("write")),
        _ => true,
    }
}

fn simulate(kind: ModelKind, rng: &mut Rng, mix: Mix) -> History {
    let max_calls = mix.max_calls;
    let workers = 1 + rng.below(8) as usize;
    let calls = 1 + rng.below(max_calls as u64) as usize;
    let mut state = ref_init(kind);
    let mut next_process = workers as u64;
    let mut slots: Vec<Option<Pending>> = (0..workers).map(|_| None).collect();
    let mut procs: Vec<u64> = (0..workers as u64).collect();
    let mut ops: Vec<Op> = Vec::new();
    let mut invoked = 0;
    let mut counter = 0i64;
    let info_rate = mix.info[rng.below(mix.info.len() as u64) as usize];
    // Sometimes the history ends with ops still open (they count as info).
    let hang = rng.chance(30);
    let mut guard = 0;
    while (invoked < calls || slots.iter().any(|s| s.is_some())) && guard < 10_000 {
        guard += 1;
        if invoked >= calls && hang {
            break;
        }
        let w = rng.below(workers as u64) as usize;
        match &mut slots[w] {
            None => {
                if invoked >= calls {
                    continue;
                }
                let (f, arg) = random_invocation(kind, rng, &mut counter);
                ops.push(Op::new(
                    Process::Client(procs[w]),
                    OpType::Invoke,
                    f,
                    arg.clone(),
                ));
                slots[w] = Some(Pending {
                    process: procs[w],
                    f,
                    arg,
                    // Doomed ops certainly fail: they never take effect.
                    effect: (mix.fail > 0 && rng.chance(mix.fail)).then_some(Err(())),
                });
                invoked += 1;
            }
            Some(p) if p.effect.is_none() && rng.chance(60) => {
                p.effect = Some(apply(&mut state, p.f, &p.arg));
            }
            Some(_) => {
                let p = slots[w].take().unwrap();
                let effect = p.effect.unwrap_or_else(|| {
                    if rng.chance(info_rate) {
                        Err(()) // completes as info without having happened
                    } else {
                        apply(&mut state, p.f, &p.arg)
                    }
                });
                let (kind_out, value) = if rng.chance(info_rate) {
                    (OpType::Info, p.arg.clone())
                } else {
                    match effect {
                        Ok(v) => (OpType::Ok, v),
                        Err(()) => (OpType::Fail, p.arg.clone()),
                    }
                };
                ops.push(Op::new(Process::Client(p.process), kind_out, p.f, value));
                if kind_out == OpType::Info {
                    procs[w] = next_process;
                    next_process += 1;
                }
            }
        }
    }
    if rng.chance(35) {
        let oks: Vec<usize> = (0..ops.len())
            .filter(|&i| ops[i].kind == OpType::Ok)
            .collect();
        if !oks.is_empty() {
            let i = oks[rng.below(oks.len() as u64) as usize];
            corrupt(kind, &mut ops[i], rng);
        }
    }
    // (Zero rates draw nothing, so the usual mix makes the histories it
    // always made.)
    if mix.lie > 0 && rng.chance(mix.lie) {
        // Report an op that took effect as failed.
        let oks: Vec<usize> = (0..ops.len())
            .filter(|&i| ops[i].kind == OpType::Ok)
            .filter(|&i| {
                let inv = ops[..i]
                    .iter()
                    .rev()
                    .find(|o| o.process == ops[i].process)
                    .unwrap();
                mutates(&ops[i].f, &inv.value)
            })
            .collect();
        if !oks.is_empty() {
            let i = oks[rng.below(oks.len() as u64) as usize];
            ops[i].kind = OpType::Fail;
        }
    }
    if kind == ModelKind::Mutex && rng.chance(20) {
        // Claim a failed op succeeded.
        if let Some(op) = ops.iter_mut().find(|o| o.kind == OpType::Fail) {
            op.kind = OpType::Ok;
        }
    }
    for (i, op) in ops.iter_mut().enumerate() {
        op.index = i as u64;
    }
    History::new(ops).expect("the simulation writes valid histories")
}

fn limits(engine: EngineChoice) -> Limits {
    Limits {
        engine,
        threads: Some(1),
        // JIT keeps every state the object can be in; for a queue after many
        // concurrent enqueues that is every order of them, which can exceed
        // any budget. Such a run must say unknown, and is counted. The bound
        // is memory (the engines' own, deterministic estimates: no counting
        // allocator here) rather than time, so that the count does not
        // depend on how loaded the machine is; time is only a backstop.
        memory_bytes: Some(64 << 20),
        time: Some(std::time::Duration::from_secs(20)),
    }
}

const ENGINES: [EngineChoice; 2] = [EngineChoice::Wgl, EngineChoice::Jit];

/// The engines alone, and for registers also the automatic choice: it first
/// looks for reads impossible by themselves (no search), which the pinned
/// engines skip.
fn engines(kind: ModelKind) -> Vec<EngineChoice> {
    let mut e = ENGINES.to_vec();
    if matches!(kind, ModelKind::Register | ModelKind::CasRegister) {
        e.push(EngineChoice::Auto);
    }
    e
}

fn want(valid: bool) -> Verdict {
    if valid {
        Verdict::Valid
    } else {
        Verdict::Invalid
    }
}

/// How an engine contradicts the oracle on `h`, if one does (unknown is no
/// contradiction).
fn disagreement(kind: ModelKind, h: &History) -> Option<String> {
    let expected = want(oracle(kind, &oracle_calls(h))?);
    engines(kind).into_iter().find_map(|engine| {
        let r = check_linearizable(h, &ModelSpec::new(kind), &limits(engine)).unwrap();
        (r.verdict != Verdict::Unknown && r.verdict != expected)
            .then(|| format!("oracle says {expected}, {engine} says {}", r.verdict))
    })
}

/// Drops whole calls (invocation and completion) while `bad` still holds
/// (an engine disagreeing with the oracle): the smallest case to report and
/// keep.
fn minimize(h: &History, bad: impl Fn(&History) -> bool) -> History {
    let mut h = h.clone();
    'shrink: loop {
        let calls: Vec<(usize, Option<usize>)> =
            h.calls().map(|c| (c.invoke_pos, c.complete_pos)).collect();
        for (inv, comp) in calls {
            let mut ops: Vec<Op> = (0..h.len())
                .filter(|&j| j != inv && Some(j) != comp)
                .map(|j| h.ops()[j].clone())
                .collect();
            for (i, op) in ops.iter_mut().enumerate() {
                op.index = i as u64;
            }
            // Dropping a whole call keeps a history valid.
            let smaller = History::new(ops).unwrap();
            if bad(&smaller) {
                h = smaller;
                continue 'shrink;
            }
        }
        return h;
    }
}

fn jsonl(h: &History) -> String {
    h.ops()
        .iter()
        .map(|o| serde_json::to_string(o).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

fn run_model(kind: ModelKind, seed: u64, histories: usize, mix: Mix) {
    let mut rng = Rng(seed);
    let spec = ModelSpec::new(kind);
    let (mut valid, mut invalid, mut unknown, mut no_evidence) = (0, 0, 0, 0);
    // Invalid verdicts of the automatic choice decided before any search.
    let mut shortcut = 0;
    let mut unknown_reasons = std::collections::BTreeSet::new();
    let mut oracle_gave_up = 0;
    // The shortest history an engine ran out of time on, to show.
    let mut slowest: Option<History> = None;
    // Client completions by type, and calls the history never completed.
    let (mut oks, mut infos, mut fails, mut open) = (0usize, 0usize, 0usize, 0usize);
    for n in 0..histories {
        let h = simulate(kind, &mut rng, mix);
        for c in h.calls() {
            match c.complete.map(|o| o.kind) {
                Some(OpType::Ok) => oks += 1,
                Some(OpType::Info) => infos += 1,
                Some(_) => fails += 1,
                None => open += 1,
            }
        }
        let Some(expected) = oracle(kind, &oracle_calls(&h)) else {
            oracle_gave_up += 1;
            continue;
        };
        let mut failing = Vec::new();
        for engine in engines(kind) {
            let r = check_linearizable(&h, &spec, &limits(engine)).unwrap();
            if r.unknown_cause == Some(UnknownCause::NoEvidence) {
                // Too little to judge is an answer only for a history
                // without a single ok call (any such history is trivially
                // linearizable, so "valid" would pass a run that checked
                // nothing).
                assert!(
                    h.calls().all(|c| c.outcome() != OpType::Ok),
                    "{kind} history #{n}: {engine} found no evidence in a history with ok calls\n{}",
                    jsonl(&h)
                );
                no_evidence += 1;
                continue;
            }
            if r.verdict == Verdict::Unknown {
                unknown += 1;
                if slowest.as_ref().is_none_or(|s: &History| h.len() < s.len()) {
                    slowest = Some(h.clone());
                }
                unknown_reasons.insert(format!(
                    "{engine}: {}",
                    r.unknown_reason.unwrap_or_default()
                ));
                continue;
            }
            if r.verdict != want(expected) {
                let small = minimize(&h, |h| disagreement(kind, h).is_some());
                panic!(
                    "{kind} history #{n} (seed {seed:#x}, {mix:?}): oracle says {}, {engine} says {}\n{}\nminimized to {} ops ({}):\n{}",
                    want(expected),
                    r.verdict,
                    jsonl(&h),
                    small.len(),
                    disagreement(kind, &small).unwrap_or_default(),
                    jsonl(&small),
                );
            }
            if engine == EngineChoice::Auto {
                if r.verdict == Verdict::Invalid && r.keys.iter().all(|k| k.engine.is_none()) {
                    shortcut += 1;
                }
                continue;
            }
            if let Some(cx) = r.counterexample {
                assert_eq!(
                    cx.failed_op.outcome,
                    OpType::Ok,
                    "{kind} #{n}: {}",
                    cx.message
                );
                failing.push(cx.failed_op.complete_index.unwrap());
            }
        }
        // WGL names the first completion no linearization survives. So does
        // JIT without info ops; with them its relaxed pass (info ops reusable)
        // may only die later.
        if let [wgl, jit] = failing[..] {
            let has_info = h.calls().any(|c| c.outcome() == OpType::Info);
            if has_info {
                assert!(jit >= wgl, "{kind} history #{n}: JIT failed before WGL");
            } else {
                assert_eq!(
                    wgl, jit,
                    "{kind} history #{n}: WGL and JIT disagree on the failing op"
                );
            }
        }
        if expected { valid += 1 } else { invalid += 1 }
    }
    let register = matches!(kind, ModelKind::Register | ModelKind::CasRegister);
    let decided = if register {
        format!(" ({shortcut} of them decided by a read impossible by itself, before the search)")
    } else {
        String::new()
    };
    let completions = (oks + infos + fails).max(1);
    let pct = |x: usize| 100 * x / completions;
    println!(
        "{kind} ({mix:?}): {histories} histories, {valid} valid, {invalid} invalid{decided}, 0 disagreements, {unknown} engine runs out of memory, {no_evidence} without evidence, {oracle_gave_up} too big for the oracle; completions {}% ok, {}% info, {}% fail, {open} calls open",
        pct(oks),
        pct(infos),
        pct(fails)
    );
    // The shortcut must be exercised where it applies.
    if register {
        assert!(
            shortcut > invalid / 10,
            "{kind}: the shortcut decided {shortcut} of {invalid} invalid histories"
        );
    }
    // The mix must be what its name says, or the test tests less than it claims.
    let min_info = mix.info.iter().sum::<u64>() as usize / mix.info.len() / 2;
    assert!(pct(infos) >= min_info, "{kind}: only {}% info", pct(infos));
    assert!(
        pct(fails) >= mix.fail as usize / 2,
        "{kind}: only {}% fail",
        pct(fails)
    );
    assert!(
        oracle_gave_up <= histories / 100,
        "{kind}: the oracle gave up on {oracle_gave_up} histories"
    );
    // Mostly the queue runs out of memory (see `limits`), and rarely.
    let allowed = histories
        * if kind == ModelKind::FifoQueue {
            mix.queue_slow_per_mille
        } else {
            mix.slow_per_mille
        }
        / 1000;
    assert!(
        unknown <= allowed,
        "{kind}: {unknown} runs out of memory or time: {unknown_reasons:?}; the shortest:\n{}",
        slowest.as_ref().map(jsonl).unwrap_or_default()
    );
    // A generator that makes only one kind of history tests little.
    assert!(
        valid > histories / 10 && invalid > histories / 20,
        "{kind}: {valid} valid, {invalid} invalid"
    );
}

const HISTORIES: usize = 2000;

#[test]
fn register_agrees_with_oracle() {
    run_model(ModelKind::Register, 0x1111, HISTORIES, USUAL);
}

#[test]
fn cas_register_agrees_with_oracle() {
    run_model(ModelKind::CasRegister, 0x2222, HISTORIES, USUAL);
}

#[test]
fn mutex_agrees_with_oracle() {
    run_model(ModelKind::Mutex, 0x3333, HISTORIES, USUAL);
}

#[test]
fn multi_register_agrees_with_oracle() {
    run_model(ModelKind::MultiRegister, 0x4444, HISTORIES, USUAL);
}

#[test]
fn set_agrees_with_oracle() {
    run_model(ModelKind::Set, 0x5555, HISTORIES, USUAL);
}

#[test]
fn fifo_queue_agrees_with_oracle() {
    run_model(ModelKind::FifoQueue, 0x6666, HISTORIES, USUAL);
}

#[test]
fn info_heavy_histories_agree_with_oracle() {
    for (i, kind) in ModelKind::ALL.into_iter().enumerate() {
        run_model(kind, 0x1f0 + i as u64, HISTORIES / 2, INFO_HEAVY);
    }
}

#[test]
fn fail_heavy_histories_agree_with_oracle() {
    for (i, kind) in ModelKind::ALL.into_iter().enumerate() {
        run_model(kind, 0xfa1 + i as u64, HISTORIES / 2, FAIL_HEAVY);
    }
}

/// The minimizer, on a planted "bug": a read that returns 3 after a write
/// of 3 completed. It must keep exactly those two calls (and still hold a
/// valid history: process ids and pairing intact).
#[test]
fn minimize_keeps_only_what_the_failure_needs() {
    let mut rng = Rng(0x3333);
    let bad = |h: &History| {
        let calls: Vec<_> = h.calls().collect();
        calls.iter().any(|w| {
            w.invoke.f.as_ref() == "write"
                && w.invoke.value == Value::Int(3)
                && w.outcome() == OpType::Ok
                && calls.iter().any(|r| {
                    r.invoke.f.as_ref() == "read"
                        && r.complete.is_some_and(|c| c.value == Value::Int(3))
                        && r.invoke_pos > w.complete_pos.unwrap()
                })
        })
    };
    let mut planted = 0;
    for _ in 0..300 {
        let h = simulate(ModelKind::Register, &mut rng, USUAL);
        if !bad(&h) {
            continue;
        }
        planted += 1;
        let small = minimize(&h, bad);
        assert!(bad(&small));
        assert_eq!(small.calls().count(), 2, "{}", jsonl(&small));
        History::new(small.ops().to_vec()).unwrap();
    }
    assert!(planted > 10, "only {planted} histories had the planted bug");
}

/// A longer run for when the engines change: `cargo test --release -- --ignored`.
/// Longer histories too, except info-heavy ones and queues (where the
/// oracle's and the engines' memory run out).
#[test]
#[ignore]
fn all_models_agree_with_oracle_long() {
    for (i, kind) in ModelKind::ALL.into_iter().enumerate() {
        for (j, (mix, longer)) in [(USUAL, 10), (FAIL_HEAVY, 10), (INFO_HEAVY, 0)]
            .into_iter()
            .enumerate()
        {
            let longer = if kind == ModelKind::FifoQueue {
                0
            } else {
                longer
            };
            let mix = Mix {
                max_calls: mix.max_calls + longer,
                ..mix
            };
            run_model(kind, 0xabcd + (10 * i + j) as u64, 20_000, mix);
        }
    }
}
