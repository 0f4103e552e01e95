//! Jepsen's generator combinators, as values: a [`Gen`] says which requests the workers
//! issue and when, [`Gen::compile`] checks it against the workload and makes a [`Program`],
//! and [`Program::workers`] gives each worker its [`Cursor`].
//!
//! | combinator | what it does |
//! |---|---|
//! | [`Gen::Mix`] | an endless stream of the workload's functions by weight (today's main phase) |
//! | [`Gen::Request`] | one request, once (Jepsen's `{:f :read}`) |
//! | [`Gen::Seq`] | one generator after another, each worker on its own (a Jepsen vector) |
//! | [`Gen::Phases`] | one after another with a barrier: every worker finishes a phase before any starts the next |
//! | [`Gen::Stagger`] | Jepsen's stagger: requests `dt` apart on average, all workers together (`rate` is `1 / dt`) |
//! | [`Gen::Limit`] | at most `n` requests, all workers together |
//! | [`Gen::TimeLimit`] | until `limit` after the first worker got here |
//! | [`Gen::Once`] | the first request only, all workers together |
//! | [`Gen::Sleep`] | every worker waits |
//! | [`Gen::EachWorker`] | every worker runs its own copy (Jepsen's `each-thread`), e.g. the final read |
//! | [`Gen::EachKey`] | independent keys (Jepsen's `independent/concurrent-generator`) |
//!
//! What stays as fast and reproducible as before: a worker's requests and delays derive from
//! `(seed, worker)` only (two streams, as [`super::WorkerGenerator`]'s), and a worker asks
//! its cursor for the next step without a lock: the shared state of `limit`, `once`,
//! `time-limit` is one atomic each, and a barrier is the runner's. [`Gen::main`] and
//! [`Gen::finals`] are today's phases, drawing exactly what [`super::WorkerGenerator`] draws.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use splitbrain_history::duration;

use super::{Independent, KeyCursor, STREAM_OPS, STREAM_TIMING, derive_seed};
use crate::Request;
use crate::options::Location;
use crate::workload::{Values, Workload};

/// How deeply combinators may nest.
pub const MAX_DEPTH: usize = 32;
/// How many combinators a generator may hold in all.
pub const MAX_NODES: usize = 1_000;

/// A generator of client requests, as a value.
#[derive(Clone, Debug, PartialEq)]
pub enum Gen {
    /// Functions by weight, endless; `None`: the workload's mix (or the definition's
    /// `workload.mix`, given to [`Gen::compile`]).
    Mix(Option<Vec<(Box<str>, u32)>>),
    /// This request, once.
    Request(Request),
    Seq(Vec<Gen>),
    Phases(Vec<Gen>),
    /// Requests `dt` apart on average over all workers: each worker waits a uniformly
    /// random `[0, 2 · workers · dt)` after the start of its previous request.
    Stagger(Duration, Box<Gen>),
    /// Jepsen's stagger by rate: `rate` requests per second over all workers (today's
    /// `rate:`), each worker waiting a uniformly random `[0, 2 · workers / rate)`.
    Rate(f64, Box<Gen>),
    Limit(u64, Box<Gen>),
    TimeLimit(Duration, Box<Gen>),
    Once(Box<Gen>),
    Sleep(Duration),
    EachWorker(Box<Gen>),
    /// `None`: groups of the node count, 100 ops per key.
    EachKey(Option<Independent>, Box<Gen>),
    /// Where the generator inside was written (a definition's line and column): errors in
    /// it say so. Changes nothing else.
    At(Location, Box<Gen>),
}

/// A generator that cannot run.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum GenError {
    #[error(transparent)]
    Generator(#[from] super::GeneratorError),
    #[error("generator: nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("generator: more than {MAX_NODES} combinators")]
    TooLarge,
    #[error(
        "generator: `phases` cannot be inside {0} (a worker leaving it early would keep the others waiting at the barrier); put the phases outside"
    )]
    PhasesInside(&'static str),
    #[error("generator: {0}")]
    Bad(String),
    /// An error in a generator written at `at`.
    #[error("{error}")]
    At { at: Location, error: Box<GenError> },
}

impl GenError {
    /// Where the generator with the error was written, if it was.
    pub fn location(&self) -> Option<Location> {
        match self {
            GenError::At { at, .. } => Some(*at),
            _ => None,
        }
    }

    /// The error without its location.
    pub fn inner(&self) -> &GenError {
        match self {
            GenError::At { error, .. } => error.inner(),
            e => e,
        }
    }

    fn at(self, at: Location) -> GenError {
        match self {
            e @ GenError::At { .. } => e,
            e => GenError::At {
                at,
                error: Box::new(e),
            },
        }
    }
}

impl Gen {
    /// Today's main phase: the mix, at `rate` (Jepsen's stagger), over independent keys
    /// when the workload has them, until `time_limit`.
    pub fn main(rate: Option<f64>, independent: Option<Independent>, time_limit: Duration) -> Gen {
        let mut g = Gen::Mix(None);
        if let Some(ind) = independent {
            g = Gen::EachKey(Some(ind), Box::new(g));
        }
        if let Some(r) = rate {
            g = Gen::Rate(r, Box::new(g));
        }
        Gen::TimeLimit(time_limit, Box::new(g))
    }

    /// Today's final phase: every worker issues `requests` once, in order.
    pub fn finals(requests: Vec<Request>) -> Gen {
        Gen::EachWorker(Box::new(Gen::Seq(
            requests.into_iter().map(Gen::Request).collect(),
        )))
    }

    fn children(&self) -> Vec<&Gen> {
        match self {
            Gen::Mix(_) | Gen::Request(_) | Gen::Sleep(_) => Vec::new(),
            Gen::Seq(xs) | Gen::Phases(xs) => xs.iter().collect(),
            Gen::Stagger(_, g)
            | Gen::Rate(_, g)
            | Gen::Limit(_, g)
            | Gen::TimeLimit(_, g)
            | Gen::Once(g)
            | Gen::EachWorker(g)
            | Gen::EachKey(_, g)
            | Gen::At(_, g) => vec![g],
        }
    }

    /// Checks the shape: depth, size, where phases may be.
    fn check_shape(
        &self,
        depth: usize,
        count: &mut usize,
        inside: Option<&'static str>,
    ) -> Result<(), GenError> {
        if let Gen::At(at, g) = self {
            return g.check_shape(depth, count, inside).map_err(|e| e.at(*at));
        }
        if depth > MAX_DEPTH {
            return Err(GenError::TooDeep);
        }
        *count += 1;
        if *count > MAX_NODES {
            return Err(GenError::TooLarge);
        }
        let here = match self {
            Gen::Phases(_) => {
                if let Some(w) = inside {
                    return Err(GenError::PhasesInside(w));
                }
                None
            }
            // A worker's own copy has no one to wait for: its phases have no barrier.
            Gen::EachWorker(g) => return g.check_shape(depth + 1, count, None),
            Gen::Stagger(..) => Some("stagger"),
            Gen::Rate(..) => Some("rate"),
            Gen::Limit(..) => Some("limit"),
            Gen::TimeLimit(..) => Some("time-limit"),
            Gen::Once(_) => Some("once"),
            Gen::EachKey(..) => Some("each-key"),
            Gen::Seq(_) | Gen::Mix(_) | Gen::Request(_) | Gen::Sleep(_) | Gen::At(..) => inside,
        };
        for c in self.children() {
            c.check_shape(depth + 1, count, here)?;
        }
        Ok(())
    }

    /// Checks it against the workload and the test and compiles it. `mix`: the
    /// definition's `workload.mix` (the default of `Mix(None)`), `nodes`: for `each-key`'s
    /// default groups.
    pub fn compile(
        &self,
        workload: &'static dyn Workload,
        mix: Option<&[(Box<str>, u32)]>,
        seed: u64,
        concurrency: usize,
        nodes: usize,
    ) -> Result<Program, GenError> {
        self.check_shape(1, &mut 0, None)?;
        let mut barriers = 0;
        let cx = Compile {
            workload,
            mix,
            seed,
            concurrency,
            nodes,
        };
        let root = cx.node(self, &mut barriers)?;
        Ok(Program {
            root: Arc::new(root),
            workload,
            seed,
            concurrency,
            barriers,
        })
    }
}

struct Compile<'a> {
    workload: &'static dyn Workload,
    mix: Option<&'a [(Box<str>, u32)]>,
    seed: u64,
    concurrency: usize,
    nodes: usize,
}

impl Compile<'_> {
    /// The generator config that checks a mix (and independent keys) today.
    fn config(&self) -> super::GeneratorConfig {
        let mut c =
            super::GeneratorConfig::new(self.workload, self.seed, self.concurrency, self.nodes);
        if let Some(m) = self.mix {
            c.mix = m.to_vec();
        }
        c.independent = None;
        c
    }

    fn node(&self, g: &Gen, barriers: &mut usize) -> Result<Node, GenError> {
        let mut child = |g: &Gen| self.node(g, barriers).map(Box::new);
        Ok(match g {
            Gen::Mix(m) => {
                let mut c = self.config();
                if let Some(m) = m {
                    c.mix = m.clone();
                }
                c.validate()?;
                Node::Mix(Arc::new(MixTable::of(&c.mix)))
            }
            Gen::Request(r) => {
                if !self.workload.functions().contains(&&*r.f) {
                    return Err(super::GeneratorError::UnknownFunction {
                        workload: self.workload.name(),
                        f: r.f.clone(),
                        expected: self.workload.functions().join(", "),
                    }
                    .into());
                }
                Node::Request(r.clone())
            }
            Gen::Seq(xs) => Node::Seq(
                xs.iter()
                    .map(|x| self.node(x, barriers))
                    .collect::<Result<_, _>>()?,
            ),
            Gen::Phases(xs) => {
                let first = *barriers;
                *barriers += xs.len().saturating_sub(1);
                Node::Phases(
                    xs.iter()
                        .map(|x| self.node(x, barriers))
                        .collect::<Result<_, _>>()?,
                    first,
                )
            }
            Gen::Stagger(dt, g) => {
                duration::check(*dt).map_err(|e| GenError::Bad(format!("stagger: {e}")))?;
                Node::Stagger(Pace::Every(dt.as_secs_f64()), child(g)?)
            }
            Gen::Rate(r, g) => {
                if !(r.is_finite() && *r > 0.0) {
                    return Err(super::GeneratorError::BadRate(*r).into());
                }
                Node::Stagger(Pace::Rate(*r), child(g)?)
            }
            Gen::Limit(n, g) => Node::Limit(*n, child(g)?),
            Gen::TimeLimit(d, g) => {
                duration::check(*d).map_err(|e| GenError::Bad(format!("time-limit: {e}")))?;
                Node::TimeLimit(*d, child(g)?)
            }
            Gen::Once(g) => Node::Once(child(g)?),
            Gen::Sleep(d) => {
                duration::check(*d).map_err(|e| GenError::Bad(format!("sleep: {e}")))?;
                Node::Sleep(*d)
            }
            Gen::EachWorker(g) => Node::EachWorker(child(g)?),
            Gen::At(at, g) => return self.node(g, barriers).map_err(|e| e.at(*at)),
            Gen::EachKey(ind, g) => {
                let ind = ind.unwrap_or_else(|| Independent::for_nodes(self.nodes));
                let mut c = self.config();
                c.independent = Some(ind);
                c.validate()?;
                Node::EachKey(ind, child(g)?)
            }
        })
    }
}

/// The weighted functions of a mix, as the worker generator draws them.
#[derive(Debug)]
struct MixTable {
    functions: Vec<Box<str>>,
    cumulative: Vec<u32>,
    total: u32,
}

impl MixTable {
    fn of(mix: &[(Box<str>, u32)]) -> MixTable {
        let mut t = MixTable {
            functions: Vec::new(),
            cumulative: Vec::new(),
            total: 0,
        };
        for (f, w) in mix {
            if *w > 0 {
                t.total += w;
                t.cumulative.push(t.total);
                t.functions.push(f.clone());
            }
        }
        t
    }
}

/// A compiled generator, shared by every worker.
#[derive(Debug)]
enum Node {
    Mix(Arc<MixTable>),
    Request(Request),
    Seq(Vec<Node>),
    /// The phases, and the index of the barrier after the first.
    Phases(Vec<Node>, usize),
    Stagger(Pace, Box<Node>),
    Limit(u64, Box<Node>),
    TimeLimit(Duration, Box<Node>),
    Once(Box<Node>),
    Sleep(Duration),
    EachWorker(Box<Node>),
    EachKey(Independent, Box<Node>),
}

/// How a stagger is paced, as written: kept apart so that a rate's gaps are computed
/// exactly as [`super::WorkerGenerator`] computes them (`2 · workers / rate`).
#[derive(Debug, Clone, Copy)]
enum Pace {
    Rate(f64),
    /// Seconds between requests, all workers together.
    Every(f64),
}

/// A compiled [`Gen`]: every worker's cursor comes from it.
#[derive(Debug, Clone)]
pub struct Program {
    root: Arc<Node>,
    workload: &'static dyn Workload,
    seed: u64,
    concurrency: usize,
    barriers: usize,
}

impl Program {
    /// How many barriers the runner must hold (one between each two phases); each is for
    /// every worker.
    pub fn barriers(&self) -> usize {
        self.barriers
    }

    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// Every worker's cursor, `0..concurrency`: the shared state (limits, once, time
    /// limits) is shared among these cursors only.
    pub fn workers(&self) -> Vec<Cursor> {
        let shared = Shared::new(&self.root);
        (0..self.concurrency)
            .map(|w| self.cursor(w, &shared))
            .collect()
    }

    fn cursor(&self, worker: usize, shared: &Shared) -> Cursor {
        Cursor {
            state: WorkerState {
                worker,
                values: self.workload.values(worker, self.concurrency),
                ops: fastrand::Rng::with_seed(derive_seed(self.seed, worker as u64, STREAM_OPS)),
                timing: fastrand::Rng::with_seed(derive_seed(
                    self.seed,
                    worker as u64,
                    STREAM_TIMING,
                )),
            },
            root: State::of(&self.root, Some(shared), worker, self.concurrency),
        }
    }
}

/// The state every worker shares for one node (and its children), built once per program
/// run: `limit`'s count, `once`'s flag, `time-limit`'s deadline.
#[derive(Debug, Clone)]
struct Shared {
    this: SharedCell,
    children: Vec<Shared>,
}

#[derive(Debug, Clone)]
enum SharedCell {
    None,
    Count(Arc<AtomicU64>),
    Flag(Arc<AtomicBool>),
    /// Nanoseconds since the phase's start; `u64::MAX` until the first worker arrives.
    Deadline(Arc<AtomicU64>),
}

impl Shared {
    fn new(n: &Node) -> Shared {
        let this = match n {
            Node::Limit(k, _) => SharedCell::Count(Arc::new(AtomicU64::new(*k))),
            Node::Once(_) | Node::Request(_) => SharedCell::Flag(Arc::default()),
            Node::TimeLimit(..) => SharedCell::Deadline(Arc::new(AtomicU64::new(u64::MAX))),
            _ => SharedCell::None,
        };
        Shared {
            this,
            children: n.children().into_iter().map(Shared::new).collect(),
        }
    }
}

impl Node {
    fn children(&self) -> Vec<&Node> {
        match self {
            Node::Mix(_) | Node::Request(_) | Node::Sleep(_) => Vec::new(),
            Node::Seq(xs) | Node::Phases(xs, _) => xs.iter().collect(),
            Node::Stagger(_, g)
            | Node::Limit(_, g)
            | Node::TimeLimit(_, g)
            | Node::Once(g)
            | Node::EachWorker(g)
            | Node::EachKey(_, g) => vec![g],
        }
    }
}

/// What a worker does next.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Issue `req` at `due` (time since the phase started; at once if past). `delay` is
    /// the stagger drawn for it (zero without one: the runner then yields after it).
    Op {
        req: Request,
        due: Duration,
        delay: Duration,
    },
    /// Wait until then.
    Pause(Duration),
    /// Wait at this barrier (of [`Program::barriers`]) for every worker.
    Barrier(usize),
    /// This worker is done.
    Done,
}

/// The clock as the cursor sees it: times since the phase started.
#[derive(Debug, Clone, Copy, Default)]
pub struct Clock {
    pub now: Duration,
    /// When this worker's previous request started (the phase's start before the first).
    pub last_start: Duration,
}

/// One worker's part of a program: its random streams, its values, its place.
#[derive(Debug)]
pub struct Cursor {
    state: WorkerState,
    root: State,
}

#[derive(Debug)]
struct WorkerState {
    worker: usize,
    values: Box<dyn Values>,
    ops: fastrand::Rng,
    timing: fastrand::Rng,
}

impl Cursor {
    pub fn worker(&self) -> usize {
        self.state.worker
    }

    /// The next step of this worker.
    pub fn next(&mut self, clock: Clock) -> Next {
        self.root.next(&mut self.state, clock)
    }
}

/// A node's per-worker state.
#[derive(Debug)]
enum State {
    Mix(Arc<MixTable>),
    Request {
        req: Request,
        taken: Arc<AtomicBool>,
        done: bool,
    },
    Seq {
        items: Vec<State>,
        at: usize,
    },
    Phases {
        items: Vec<State>,
        at: usize,
        first_barrier: Option<usize>,
        waited: bool,
    },
    Stagger {
        max_gap_secs: f64,
        child: Box<State>,
    },
    Limit {
        left: Arc<AtomicU64>,
        child: Box<State>,
        done: bool,
    },
    TimeLimit {
        limit: Duration,
        deadline: Arc<AtomicU64>,
        /// The deadline, once this worker read it.
        end: Option<Duration>,
        child: Box<State>,
        done: bool,
    },
    Once {
        taken: Arc<AtomicBool>,
        child: Box<State>,
        done: bool,
    },
    Sleep {
        d: Duration,
        done: bool,
    },
    EachKey {
        keys: KeyCursor,
        child: Box<State>,
    },
}

impl State {
    /// `shared`: the program's shared state for this node, or `None` inside `each-worker`,
    /// where the worker's copy has its own.
    fn of(n: &Node, shared: Option<&Shared>, worker: usize, concurrency: usize) -> State {
        let own = || Shared::new(n);
        let owned;
        let sh = match shared {
            Some(s) => s,
            None => {
                owned = own();
                &owned
            }
        };
        let local = shared.is_none();
        let kid = |i: usize, c: &Node| -> State {
            State::of(c, (!local).then(|| &sh.children[i]), worker, concurrency)
        };
        let kids = |xs: &[Node]| xs.iter().enumerate().map(|(i, c)| kid(i, c)).collect();
        let flag = || match &sh.this {
            SharedCell::Flag(f) => f.clone(),
            _ => Arc::default(),
        };
        match n {
            Node::Mix(t) => State::Mix(t.clone()),
            Node::Request(r) => State::Request {
                req: r.clone(),
                taken: flag(),
                done: false,
            },
            Node::Seq(xs) => State::Seq {
                items: kids(xs),
                at: 0,
            },
            Node::Phases(xs, first) => State::Phases {
                items: kids(xs),
                at: 0,
                first_barrier: (!local).then_some(*first),
                waited: false,
            },
            Node::Stagger(pace, c) => {
                // Over all workers sharing it: each waits `workers` times longer.
                let workers = if local { 1 } else { concurrency } as f64;
                State::Stagger {
                    max_gap_secs: match pace {
                        Pace::Rate(r) => 2.0 * workers / r,
                        Pace::Every(dt) => 2.0 * workers * dt,
                    },
                    child: Box::new(kid(0, c)),
                }
            }
            Node::Limit(k, c) => State::Limit {
                left: match &sh.this {
                    SharedCell::Count(x) => x.clone(),
                    _ => Arc::new(AtomicU64::new(*k)),
                },
                child: Box::new(kid(0, c)),
                done: false,
            },
            Node::TimeLimit(d, c) => State::TimeLimit {
                limit: *d,
                deadline: match &sh.this {
                    SharedCell::Deadline(x) => x.clone(),
                    _ => Arc::new(AtomicU64::new(u64::MAX)),
                },
                end: None,
                child: Box::new(kid(0, c)),
                done: false,
            },
            Node::Once(c) => State::Once {
                taken: flag(),
                child: Box::new(kid(0, c)),
                done: false,
            },
            Node::Sleep(d) => State::Sleep { d: *d, done: false },
            // Its own copy: nothing below is shared with the other workers.
            Node::EachWorker(c) => State::of(c, None, worker, concurrency),
            Node::EachKey(ind, c) => State::EachKey {
                keys: KeyCursor::of(*ind, worker, concurrency),
                child: Box::new(kid(0, c)),
            },
        }
    }

    fn next(&mut self, st: &mut WorkerState, clock: Clock) -> Next {
        match self {
            State::Mix(t) => {
                let x = st.ops.u32(0..t.total);
                let i = t.cumulative.partition_point(|&c| c <= x);
                let f = t.functions[i].clone();
                let value = st.values.value(&f, &mut st.ops);
                Next::Op {
                    req: Request {
                        f,
                        value,
                        key: None,
                    },
                    due: clock.last_start,
                    delay: Duration::ZERO,
                }
            }
            State::Request { req, taken, done } => {
                if *done || taken.swap(true, Ordering::AcqRel) {
                    *done = true;
                    return Next::Done;
                }
                *done = true;
                Next::Op {
                    req: req.clone(),
                    due: clock.last_start,
                    delay: Duration::ZERO,
                }
            }
            State::Seq { items, at } => {
                while let Some(item) = items.get_mut(*at) {
                    match item.next(st, clock) {
                        Next::Done => *at += 1,
                        n => return n,
                    }
                }
                Next::Done
            }
            State::Phases {
                items,
                at,
                first_barrier,
                waited,
            } => {
                while let Some(item) = items.get_mut(*at) {
                    match item.next(st, clock) {
                        Next::Done => {
                            let last = *at + 1 == items.len();
                            if let (Some(b), false, false) = (*first_barrier, last, *waited) {
                                *waited = true;
                                return Next::Barrier(b + *at);
                            }
                            *waited = false;
                            *at += 1;
                        }
                        n => return n,
                    }
                }
                Next::Done
            }
            State::Stagger {
                max_gap_secs,
                child,
            } => {
                // Drawn before the request, as today: the time limit may refuse it.
                let delay = Duration::try_from_secs_f64(st.timing.f64() * *max_gap_secs)
                    .unwrap_or(duration::MAX)
                    .min(duration::MAX);
                match child.next(st, clock) {
                    Next::Op { req, due, .. } => Next::Op {
                        req,
                        due: due.max(clock.last_start.saturating_add(delay)),
                        delay,
                    },
                    n => n,
                }
            }
            State::Limit { left, child, done } => {
                if *done {
                    return Next::Done;
                }
                match child.next(st, clock) {
                    Next::Op { req, due, delay } => {
                        let claimed = left
                            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
                            .is_ok();
                        if claimed {
                            return Next::Op { req, due, delay };
                        }
                        *done = true;
                        Next::Done
                    }
                    Next::Done => {
                        *done = true;
                        Next::Done
                    }
                    n => n,
                }
            }
            State::TimeLimit {
                limit,
                deadline,
                end,
                child,
                done,
            } => {
                if *done {
                    return Next::Done;
                }
                // The shared deadline once per worker: no shared cache line per request.
                let end = *end.get_or_insert_with(|| {
                    let now = clock.now.as_nanos().min(u128::from(u64::MAX - 1)) as u64;
                    let mine = now
                        .saturating_add(limit.as_nanos().min(u128::from(u64::MAX)) as u64)
                        .min(u64::MAX - 1);
                    let set = deadline
                        .compare_exchange(u64::MAX, mine, Ordering::AcqRel, Ordering::Acquire)
                        .unwrap_or_else(|set| set);
                    Duration::from_nanos(if set == u64::MAX { mine } else { set })
                });
                let n = match child.next(st, clock) {
                    Next::Op { due, .. } if due >= end => Next::Done,
                    Next::Pause(until) if until >= end => {
                        *done = true;
                        return Next::Pause(end);
                    }
                    n => n,
                };
                if n == Next::Done {
                    *done = true;
                }
                n
            }
            State::Once { taken, child, done } => {
                if *done || taken.load(Ordering::Acquire) {
                    *done = true;
                    return Next::Done;
                }
                match child.next(st, clock) {
                    Next::Op { req, due, delay } => {
                        *done = true;
                        if taken.swap(true, Ordering::AcqRel) {
                            Next::Done
                        } else {
                            Next::Op { req, due, delay }
                        }
                    }
                    Next::Done => {
                        *done = true;
                        Next::Done
                    }
                    n => n,
                }
            }
            State::Sleep { d, done } => {
                if *done {
                    return Next::Done;
                }
                *done = true;
                Next::Pause(clock.now.saturating_add(*d))
            }
            State::EachKey { keys, child } => match child.next(st, clock) {
                Next::Op {
                    mut req,
                    due,
                    delay,
                } => {
                    req.key = Some(keys.next_key());
                    Next::Op { req, due, delay }
                }
                n => n,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator::GeneratorConfig;
    use crate::workload::find;
    use splitbrain_history::Value;

    const SEC: Duration = Duration::from_secs(1);

    fn program(g: &Gen, workload: &str, concurrency: usize) -> Program {
        g.compile(find(workload).unwrap(), None, 42, concurrency, 3)
            .unwrap()
    }

    /// Runs one worker alone on a simulated clock (ops take no time) until it is done or
    /// has made `max` steps; barriers are passed at once.
    fn steps(c: &mut Cursor, max: usize) -> Vec<Next> {
        let mut clock = Clock::default();
        let mut out = Vec::new();
        while out.len() < max {
            let n = c.next(clock);
            match &n {
                Next::Op { due, .. } => {
                    clock.now = clock.now.max(*due);
                    clock.last_start = clock.now;
                }
                Next::Pause(until) => {
                    clock.now = clock.now.max(*until);
                    clock.last_start = clock.now;
                }
                Next::Barrier(_) => {}
                Next::Done => break,
            }
            out.push(n);
        }
        out
    }

    fn ops(steps: &[Next]) -> Vec<Request> {
        steps
            .iter()
            .filter_map(|n| match n {
                Next::Op { req, .. } => Some(req.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_default_main_phase_draws_what_the_worker_generator_draws() {
        for (name, rate) in [
            ("register", Some(100.0)),
            ("set", None),
            ("counter", Some(7.0)),
            ("unique-ids", Some(1e6)),
        ] {
            let workload = find(name).unwrap();
            let mut cfg = GeneratorConfig::new(workload, 42, 4, 3);
            cfg.rate = rate;
            let g = Gen::main(cfg.rate, cfg.independent, duration::MAX);
            let p = program(&g, name, 4);
            for (mut cursor, mut today) in p.workers().into_iter().zip(cfg.workers().unwrap()) {
                let mut last_start = Duration::ZERO;
                for i in 0..2_000 {
                    let d = today.delay();
                    let r = today.next_request();
                    let Next::Op { req, due, delay } = cursor.next(Clock {
                        now: last_start,
                        last_start,
                    }) else {
                        panic!("{name}: op {i} missing");
                    };
                    assert_eq!(
                        (&req, delay),
                        (&r, d),
                        "{name} worker {} op {i}",
                        cursor.worker()
                    );
                    assert_eq!(due, last_start + d);
                    last_start = due;
                }
            }
        }
    }

    #[test]
    fn the_default_final_phase_is_each_workers_requests_once() {
        let reads = vec![Request::new("read", Value::Nil)];
        let p = program(&Gen::finals(reads.clone()), "set", 3);
        for mut c in p.workers() {
            assert_eq!(ops(&steps(&mut c, 10)), reads);
        }
        let p = program(&Gen::finals(Vec::new()), "set", 3);
        assert_eq!(p.workers()[0].next(Clock::default()), Next::Done);
    }

    #[test]
    fn same_seed_same_requests_whatever_the_other_workers_do() {
        let g = Gen::main(
            Some(50.0),
            Some(Independent {
                group_size: 2,
                ops_per_key: 10,
            }),
            60 * SEC,
        );
        let a: Vec<_> = program(&g, "register", 4)
            .workers()
            .iter_mut()
            .map(|c| steps(c, 300))
            .collect();
        let mut ws = program(&g, "register", 4).workers();
        let b3 = steps(&mut ws[3], 300);
        assert_eq!(a[3], b3, "worker 3 alone");
        let b0 = steps(&mut ws[0], 300);
        assert_eq!(a[0], b0);
        assert_ne!(a[0], a[1]);
        let other = g
            .compile(find("register").unwrap(), None, 43, 4, 3)
            .unwrap();
        assert_ne!(steps(&mut other.workers()[0], 300), a[0]);
    }

    #[test]
    fn time_limit_stops_at_the_deadline_shared_from_the_first_arrival() {
        // 10 ops/s for one worker, 2 s: about 20 ops, none due at or after 2 s.
        let g = Gen::TimeLimit(
            2 * SEC,
            Box::new(Gen::Stagger(
                Duration::from_millis(100),
                Box::new(Gen::Mix(None)),
            )),
        );
        let p = program(&g, "counter", 1);
        let s = steps(&mut p.workers().remove(0), 1000);
        assert!((10..=40).contains(&s.len()), "{}", s.len());
        assert!(
            s.iter()
                .all(|n| matches!(n, Next::Op { due, .. } if *due < 2 * SEC))
        );
        // The second worker arriving later shares the first one's deadline.
        let p = program(&Gen::TimeLimit(SEC, Box::new(Gen::Mix(None))), "counter", 2);
        let mut ws = p.workers();
        assert!(matches!(ws[0].next(Clock::default()), Next::Op { .. }));
        let late = Clock {
            now: SEC,
            last_start: SEC,
        };
        assert_eq!(ws[1].next(late), Next::Done);
        // A sleep past the deadline ends at it.
        let p = program(
            &Gen::TimeLimit(SEC, Box::new(Gen::Sleep(5 * SEC))),
            "counter",
            1,
        );
        let mut c = p.workers().remove(0);
        assert_eq!(c.next(Clock::default()), Next::Pause(SEC));
        assert_eq!(
            c.next(Clock {
                now: SEC,
                last_start: SEC
            }),
            Next::Done
        );
    }

    #[test]
    fn limit_counts_all_workers_together_and_each_worker_its_own() {
        let g = Gen::Limit(10, Box::new(Gen::Mix(None)));
        let p = program(&g, "counter", 3);
        let total: usize = p
            .workers()
            .iter_mut()
            .map(|c| ops(&steps(c, 100)).len())
            .sum();
        assert_eq!(total, 10);
        let g = Gen::EachWorker(Box::new(g));
        let p = program(&g, "counter", 3);
        for mut c in p.workers() {
            assert_eq!(ops(&steps(&mut c, 100)).len(), 10);
        }
    }

    #[test]
    fn once_is_one_request_in_all_unless_each_worker_has_its_own() {
        let g = Gen::Once(Box::new(Gen::Mix(None)));
        let p = program(&g, "register", 3);
        let counts: Vec<usize> = p
            .workers()
            .iter_mut()
            .map(|c| ops(&steps(c, 10)).len())
            .collect();
        assert_eq!(counts, [1, 0, 0]);
        let p = program(&Gen::EachWorker(Box::new(g)), "register", 3);
        let counts: Vec<usize> = p
            .workers()
            .iter_mut()
            .map(|c| ops(&steps(c, 10)).len())
            .collect();
        assert_eq!(counts, [1, 1, 1]);
        // A request is once too.
        let p = program(
            &Gen::Request(Request::new("read", Value::Nil)),
            "register",
            2,
        );
        let counts: Vec<usize> = p
            .workers()
            .iter_mut()
            .map(|c| ops(&steps(c, 10)).len())
            .collect();
        assert_eq!(counts, [1, 0]);
    }

    #[test]
    fn phases_wait_at_a_barrier_and_each_worker_phases_do_not() {
        let g = Gen::Phases(vec![
            Gen::Limit(4, Box::new(Gen::Mix(None))),
            Gen::Sleep(SEC),
            Gen::EachWorker(Box::new(Gen::Request(Request::new("read", Value::Nil)))),
        ]);
        let p = program(&g, "counter", 2);
        assert_eq!(p.barriers(), 2);
        let mut ws = p.workers();
        // Worker 0 takes every op of the first phase, then must wait.
        let mut clock = Clock::default();
        let mut first = Vec::new();
        loop {
            match ws[0].next(clock) {
                Next::Barrier(b) => {
                    assert_eq!(b, 0);
                    break;
                }
                Next::Op { req, .. } => first.push(req),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(first.len(), 4);
        // Worker 1 finds the phase used up and waits at the same barrier.
        assert_eq!(ws[1].next(clock), Next::Barrier(0));
        // Past the barrier: both sleep, wait again, then read once each.
        for w in &mut ws {
            assert_eq!(w.next(clock), Next::Pause(SEC));
        }
        clock.now = SEC;
        for w in &mut ws {
            assert_eq!(w.next(clock), Next::Barrier(1));
            assert!(matches!(w.next(clock), Next::Op { req, .. } if &*req.f == "read"));
            assert_eq!(w.next(clock), Next::Done);
        }
        // Inside each-worker there is no one to wait for.
        let p = program(&Gen::EachWorker(Box::new(g)), "counter", 2);
        assert_eq!(p.barriers(), 2);
        let s = steps(&mut p.workers().remove(0), 100);
        assert!(!s.iter().any(|n| matches!(n, Next::Barrier(_))), "{s:?}");
        assert_eq!(ops(&s).len(), 5);
    }

    #[test]
    fn each_key_gives_todays_keys() {
        let ind = Independent {
            group_size: 2,
            ops_per_key: 10,
        };
        let g = Gen::EachKey(Some(ind), Box::new(Gen::Mix(None)));
        let p = program(&g, "register", 5);
        let mut cfg = GeneratorConfig::new(find("register").unwrap(), 42, 5, 3);
        cfg.independent = Some(ind);
        for (mut c, mut today) in p.workers().into_iter().zip(cfg.workers().unwrap()) {
            let want: Vec<Request> = (0..50).map(|_| today.next_request()).collect();
            assert_eq!(ops(&steps(&mut c, 50)), want);
        }
    }

    #[test]
    fn seq_runs_one_after_another_per_worker() {
        let g = Gen::Seq(vec![
            Gen::EachWorker(Box::new(Gen::Limit(
                2,
                Box::new(Gen::Mix(Some(vec![("add".into(), 1)]))),
            ))),
            Gen::EachWorker(Box::new(Gen::Request(Request::new("read", Value::Nil)))),
        ]);
        let p = program(&g, "counter", 2);
        for mut c in p.workers() {
            let fs: Vec<Box<str>> = ops(&steps(&mut c, 10)).into_iter().map(|r| r.f).collect();
            assert_eq!(
                fs,
                ["add".into(), "add".into(), "read".into()] as [Box<str>; 3]
            );
        }
    }

    #[test]
    fn bad_generators_say_what_is_wrong() {
        let w = find("set").unwrap();
        let compile = |g: &Gen| g.compile(w, None, 1, 2, 3).unwrap_err().to_string();
        assert_eq!(
            compile(&Gen::Mix(Some(vec![("cas".into(), 1)]))),
            "the set workload has no function `cas`; expected one of: add, read"
        );
        assert!(
            compile(&Gen::Request(Request::new("cas", Value::Nil))).contains("no function `cas`")
        );
        assert!(
            compile(&Gen::EachKey(None, Box::new(Gen::Mix(None))))
                .contains("does not run over independent keys")
        );
        let e = compile(&Gen::TimeLimit(
            SEC,
            Box::new(Gen::Phases(vec![Gen::Mix(None)])),
        ));
        assert!(e.contains("`phases` cannot be inside time-limit"), "{e}");
        // Inside each-worker, phases are the worker's own.
        Gen::TimeLimit(
            SEC,
            Box::new(Gen::EachWorker(Box::new(Gen::Phases(vec![Gen::Mix(None)])))),
        )
        .compile(w, None, 1, 2, 3)
        .unwrap();
        let mut deep = Gen::Mix(None);
        for _ in 0..MAX_DEPTH {
            deep = Gen::Once(Box::new(deep));
        }
        assert_eq!(compile(&deep), GenError::TooDeep.to_string());
        let wide = Gen::Seq(vec![Gen::Sleep(SEC); MAX_NODES]);
        assert_eq!(compile(&wide), GenError::TooLarge.to_string());
        // The definition's workload.mix is the default of `mix`.
        let p = Gen::Mix(None)
            .compile(
                find("register").unwrap(),
                Some(&[("read".into(), 1)]),
                1,
                1,
                1,
            )
            .unwrap();
        assert!(
            ops(&steps(&mut p.workers().remove(0), 20))
                .iter()
                .all(|r| &*r.f == "read")
        );
    }
}
