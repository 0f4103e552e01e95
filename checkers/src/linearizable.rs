//! The linearizability check: split by key, compile, pick or race engines,
//! and gather the answers; [`LinearizableChecker`] is the same as a [`Checker`].

use std::any::Any;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::Instant;

use rayon::prelude::*;
use splitbrain_history::{History, Value};

use crate::engine::Answer;
use crate::limits::{Budget, Control, EngineChoice, Halt, Limits};
use crate::model::{
    FifoQueue, Model, ModelKind, ModelSpec, MultiRegister, Mutex, Register, SetModel,
};
use crate::problem::{self, CheckError, KeyCalls, Problem};
use crate::result::{
    Counterexample, Engine, KeyResult, LeftOutReason, LeftOutTally, LinearizabilityResult, Stats,
    UnknownCause, Verdict,
};
use crate::{Checked, Checker, Finding, counterexample, impossible, jit, wgl};

/// The checker's name in test definitions and `results.json`.
pub const NAME: &str = "linearizable";

/// Linearizability against one model, as a [`Checker`]; the limits it is given bound
/// the search.
#[derive(Debug, Clone)]
pub struct LinearizableChecker {
    model: ModelSpec,
}

impl LinearizableChecker {
    pub fn new(model: ModelSpec) -> LinearizableChecker {
        LinearizableChecker { model }
    }

    pub fn model(&self) -> &ModelSpec {
        &self.model
    }
}

impl Checker for LinearizableChecker {
    fn name(&self) -> &str {
        NAME
    }

    fn check(&self, history: &History, limits: &Limits) -> Result<Checked, CheckError> {
        let result = check_linearizable(history, &self.model, limits)?;
        Ok(Checked::new(NAME, result))
    }
}

impl Finding for LinearizabilityResult {
    fn verdict(&self) -> Verdict {
        self.verdict
    }

    /// "linearizable (3 keys, 1200 ops checked in 40 ms)", "not linearizable: " and
    /// the counterexample's message, or "unknown: " and what ran out.
    fn summary(&self) -> String {
        match self.verdict {
            Verdict::Valid => format!(
                "linearizable ({} keys, {} ops checked in {:.0} ms)",
                self.stats.keys, self.stats.calls, self.stats.elapsed_ms
            ),
            Verdict::Invalid => self
                .counterexample
                .as_ref()
                .map(|c| format!("not linearizable: {}", c.message))
                .unwrap_or_else(|| "not linearizable".into()),
            Verdict::Unknown => format!(
                "unknown: {}",
                self.unknown_reason
                    .as_deref()
                    .unwrap_or("search did not finish")
            ),
        }
    }

    fn left_out(&self) -> &[crate::LeftOut] {
        &self.left_out
    }

    fn to_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::to_value(self)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Checks that `history` is linearizable with respect to `model`.
///
/// Each key of a multi-key history (ops with `key` set) is an independent
/// object, checked on its own and in parallel (unless
/// [`ModelSpec::independent`] is false). `fail` ops are dropped; `info` ops
/// and calls that never completed may have taken effect at any point after
/// their invocation, or never.
///
/// Errors only on calls that do not fit the model (an unknown `f`, a cas
/// without a pair, ...), naming the op. Running out of time or memory is a
/// verdict, [`Verdict::Unknown`], never an error and never `Valid`.
pub fn check_linearizable(
    history: &History,
    model: &ModelSpec,
    limits: &Limits,
) -> Result<LinearizabilityResult, CheckError> {
    let init = model.initial.clone();
    let ind = model.independent;
    let mut result = match model.kind {
        ModelKind::Register => check_with_model(history, Register::new(init, false), ind, limits),
        ModelKind::CasRegister => check_with_model(history, Register::new(init, true), ind, limits),
        ModelKind::Mutex => check_with_model(history, Mutex, ind, limits),
        ModelKind::MultiRegister => {
            check_with_model(history, MultiRegister::new(init), ind, limits)
        }
        ModelKind::Set => check_with_model(history, SetModel::default(), ind, limits),
        ModelKind::FifoQueue => check_with_model(history, FifoQueue::default(), ind, limits),
    }?;
    result.model = model.kind.as_str().to_string();
    Ok(result)
}

/// [`check_linearizable`] with any [`Model`]; `model` is the fresh object
/// every key starts from.
pub fn check_with_model<M: Model>(
    history: &History,
    model: M,
    independent: bool,
    limits: &Limits,
) -> Result<LinearizabilityResult, CheckError> {
    // The peak heap of this check, not of whatever ran before it.
    crate::heap::reset_peak();
    let budget = Budget::new(limits);
    let mut left_out = LeftOutTally::default();
    let (groups, calls, failed) = problem::group_by_key(history, independent, &mut left_out);
    left_out.add(LeftOutReason::Failed, None, failed);
    let threads = limits
        .threads
        .unwrap_or_else(rayon::current_num_threads)
        .max(1);
    let race = match limits.engine {
        EngineChoice::Race => true,
        // Idle cores: let both engines compete on each key.
        EngineChoice::Auto => threads >= 2 && groups.len() < threads,
        _ => false,
    };
    let ctx = Ctx {
        history,
        limits,
        budget: &budget,
        race,
    };
    let run_key = |g: &KeyCalls| check_key(&ctx, g, model.clone());
    let outcomes: Vec<Result<KeyOutcome, CheckError>> = if groups.len() <= 1 || threads == 1 {
        groups.iter().map(run_key).collect()
    } else if limits.threads.is_none() {
        groups.par_iter().map(run_key).collect()
    } else {
        match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
            Ok(pool) => pool.install(|| groups.par_iter().map(run_key).collect()),
            Err(_) => groups.iter().map(run_key).collect(),
        }
    };

    let mut keys = Vec::with_capacity(outcomes.len());
    let mut verdict = Verdict::Valid;
    let mut counterexample = None;
    let mut unknown_reason = None;
    let mut unknown_cause = None;
    let (mut dropped, mut parts, mut evidence) = (failed, 0u64, 0u64);
    // Report the first bad op in history order, whichever thread met it.
    let mut first_error: Option<CheckError> = None;
    for o in outcomes {
        match o {
            Err(e) => {
                let pos = |e: &CheckError| match e {
                    CheckError::BadOp { position, .. } => *position,
                };
                if first_error.as_ref().is_none_or(|f| pos(&e) < pos(f)) {
                    first_error = Some(e);
                }
            }
            Ok(k) => {
                verdict = verdict.worst(k.result.verdict);
                if counterexample.is_none() {
                    counterexample = k.counterexample;
                }
                if unknown_reason.is_none() {
                    unknown_reason = k.result.unknown_reason.clone();
                    unknown_cause = k.result.unknown_cause;
                }
                dropped += k.dropped;
                evidence += k.ok_ops;
                left_out.add(LeftOutReason::UnknownRead, None, k.dropped);
                parts += k.result.parts as u64;
                keys.push(k.result);
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    // Too little to judge: with no ok op, any history is trivially
    // linearizable, and "valid" would pass a run that checked nothing.
    if evidence == 0 {
        let reason = no_evidence(calls);
        verdict = Verdict::Unknown;
        unknown_reason = Some(reason.clone());
        unknown_cause = Some(UnknownCause::NoEvidence);
        for k in &mut keys {
            k.verdict = Verdict::Unknown;
            k.unknown_reason = Some(reason.clone());
            k.unknown_cause = Some(UnknownCause::NoEvidence);
        }
    }
    let unknown = verdict == Verdict::Unknown;
    Ok(LinearizabilityResult {
        verdict,
        model: model_name::<M>(&model),
        counterexample,
        unknown_reason: unknown_reason.filter(|_| unknown),
        unknown_cause: unknown_cause.filter(|_| unknown),
        left_out: left_out.into_vec(),
        stats: Stats {
            elapsed_ms: budget.start.elapsed().as_secs_f64() * 1e3,
            calls,
            dropped,
            keys: keys.len() as u64,
            parts,
            configurations: budget.configurations(),
            peak_memory_bytes: budget.peak_bytes(),
            peak_heap_bytes: crate::heap::peak().map(|b| b as u64),
            threads: threads as u64,
        },
        keys,
    })
}

fn model_name<M: Model>(m: &M) -> String {
    m.object().to_string()
}

/// The reason of a check that had no `ok` op to judge.
pub(crate) fn no_evidence(calls: u64) -> String {
    match calls {
        0 => "no client operations to check".into(),
        n => format!(
            "no client operations to check: none of the {n} client operation{} completed with ok",
            if n == 1 { "" } else { "s" }
        ),
    }
}

struct Ctx<'a> {
    history: &'a History,
    limits: &'a Limits,
    budget: &'a Budget,
    race: bool,
}

struct KeyOutcome {
    result: KeyResult,
    counterexample: Option<Counterexample>,
    dropped: u64,
    /// Ops that completed ok.
    ok_ops: u64,
}

fn check_key<M: Model>(ctx: &Ctx, g: &KeyCalls, model: M) -> Result<KeyOutcome, CheckError> {
    let start = Instant::now();
    let (problems, dropped) = problem::compile(ctx.history, g, model)?;
    let mut result = KeyResult {
        key: g.key.clone(),
        verdict: Verdict::Valid,
        ops: problems.iter().map(|p| p.len() as u64).sum(),
        parts: problems.len() as u32,
        engine: None,
        elapsed_ms: 0.0,
        unknown_reason: None,
        unknown_cause: None,
    };
    let ok_ops = problems.iter().map(|p| p.ok_ops() as u64).sum();
    let mut counterexample = None;
    let mut halt: Option<Halt> = None;
    for p in problems.iter().filter(|p| p.len() > 0) {
        if let Some(cx) = impossible_read(ctx, p, g.key.as_ref()) {
            // Decided before any search: no engine answered.
            result.verdict = Verdict::Invalid;
            counterexample = Some(cx);
            break;
        }
        let (answer, engine) = solve(ctx, p);
        match answer {
            Answer::Valid => {
                result.engine.get_or_insert(engine);
            }
            Answer::Unknown(h) => {
                if halt.is_none_or(|old| h.rank() > old.rank()) {
                    halt = Some(h);
                }
            }
            Answer::Invalid {
                op,
                survivors,
                model,
            } => {
                result.engine = Some(engine);
                result.verdict = Verdict::Invalid;
                counterexample = Some(explain(ctx, p, g.key.as_ref(), op, survivors, model));
                break;
            }
        }
    }
    if result.verdict != Verdict::Invalid
        && let Some(h) = halt
    {
        result.verdict = Verdict::Unknown;
        result.unknown_reason = Some(h.reason(ctx.limits));
        result.unknown_cause = Some(h.cause());
        result.engine = None;
    }
    result.elapsed_ms = start.elapsed().as_secs_f64() * 1e3;
    Ok(KeyOutcome {
        result,
        counterexample,
        dropped,
        ok_ops,
    })
}

/// A register read that is impossible by itself (see [`impossible`]), as a
/// counterexample. Only under the automatic engine choice: a pinned engine
/// (`--engine wgl|jit`) answers alone.
fn impossible_read<M: Model>(
    ctx: &Ctx,
    p: &Problem<M>,
    key: Option<&Value>,
) -> Option<Counterexample> {
    if !matches!(ctx.limits.engine, EngineChoice::Auto | EngineChoice::Race) {
        return None;
    }
    let p = (p as &dyn Any).downcast_ref::<Problem<Register>>()?;
    let found = impossible::find(p)?;
    Some(impossible::counterexample(ctx.history, p, key, &found))
}

fn definite<M: Model>(a: &Answer<M>) -> bool {
    !matches!(a, Answer::Unknown(_))
}

/// Runs the engine(s) the limits ask for on one part.
fn solve<M: Model>(ctx: &Ctx, p: &Problem<M>) -> (Answer<M>, Engine) {
    let never = AtomicBool::new(false);
    match ctx.limits.engine {
        EngineChoice::Wgl => {
            let mut ctl = Control::new(ctx.budget, &never);
            (wgl::check(p, &mut ctl, u64::MAX), Engine::Wgl)
        }
        EngineChoice::Jit => {
            let mut ctl = Control::new(ctx.budget, &never);
            (jit::check(p, &mut ctl, false), Engine::Jit)
        }
        EngineChoice::Race | EngineChoice::Auto if ctx.race => race(ctx, p),
        _ => {
            // Sequential rule: depth-first search walks straight through most
            // valid histories in a few steps per op; when it needs many more,
            // the history is likely invalid or highly concurrent, where the
            // sweep is the better engine.
            let budget = 16 * p.len() as u64 + 100_000;
            let mut ctl = Control::new(ctx.budget, &never);
            match wgl::check(p, &mut ctl, budget) {
                Answer::Unknown(Halt::Steps) => {
                    drop(ctl);
                    let mut ctl = Control::new(ctx.budget, &never);
                    (jit::check(p, &mut ctl, false), Engine::Jit)
                }
                a => (a, Engine::Wgl),
            }
        }
    }
}

/// Both engines at once; the first definite answer wins and stops the other.
fn race<M: Model>(ctx: &Ctx, p: &Problem<M>) -> (Answer<M>, Engine) {
    let cancel = AtomicBool::new(false);
    // 0: nobody yet, 1: WGL answered first, 2: JIT did.
    let first = AtomicU8::new(0);
    let finish = |a: &Answer<M>, me: u8| {
        if definite(a) {
            let _ = first.compare_exchange(0, me, Ordering::AcqRel, Ordering::Acquire);
            cancel.store(true, Ordering::Release);
        }
    };
    let (w, j) = std::thread::scope(|scope| {
        let jit = scope.spawn(|| {
            let mut ctl = Control::new(ctx.budget, &cancel);
            let a = jit::check(p, &mut ctl, false);
            finish(&a, 2);
            a
        });
        // WGL's memo is what explodes on invalid histories; JIT, which is
        // then the one that answers, keeps at least half the budget.
        let mut ctl = Control::new(ctx.budget, &cancel).share(2);
        let w = wgl::check(p, &mut ctl, u64::MAX);
        finish(&w, 1);
        drop(ctl);
        (w, jit.join().expect("the JIT engine panicked"))
    });
    match (first.load(Ordering::Acquire), w, j) {
        (1, w, _) => (w, Engine::Wgl),
        (2, _, j) => (j, Engine::Jit),
        // Neither answered: report the more telling reason.
        (_, Answer::Unknown(a), Answer::Unknown(b)) => (
            Answer::Unknown(if a.rank() >= b.rank() { a } else { b }),
            Engine::Jit,
        ),
        (_, w, _) => (w, Engine::Wgl),
    }
}

/// The counterexample for a failure at `op`. JIT does not carry trails while
/// racing (they cost time on every history); it is rerun with them here,
/// under the same limits, only for invalid histories.
fn explain<M: Model>(
    ctx: &Ctx,
    p: &Problem<M>,
    key: Option<&Value>,
    op: u32,
    survivors: Vec<crate::engine::Survivor<M::State>>,
    model: M,
) -> Counterexample {
    let (mut op, mut survivors, mut model) = (op, survivors, model);
    if survivors.is_empty() {
        let never = AtomicBool::new(false);
        let mut ctl = Control::new(ctx.budget, &never);
        if let Answer::Invalid {
            op: o,
            survivors: s,
            model: m,
        } = jit::check(p, &mut ctl, true)
        {
            (op, survivors, model) = (o, s, m);
        }
    }
    counterexample::build(ctx.history, p, model, key, op, &survivors)
}
