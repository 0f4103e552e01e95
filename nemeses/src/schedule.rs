//! What the nemesis does next: a [`Schedule`] yields [`Step`]s, drawing on the nemesis's
//! seeded random stream, and [`crate::Nemesis::run_schedule`] carries them out.
//!
//! Two schedules: Jepsen's default ([`Alternate`]: wait an interval, a random enabled fault
//! for an interval, forever), and a schedule written in the test definition
//! ([`ScheduleDef`], `nemesis: schedule:`), a generator of fault steps made of combinators:
//!
//! ```yaml
//! nemesis:
//!   schedule:
//!     - start: {partition: {topologies: [primaries]}}   # a fault with its own options
//!     - sleep: 5s
//!     - stop: partition
//!     - start: {kill: {targets: [majority]}}
//!     - sleep: 5s
//!     - stop: kill
//! ```
//!
//! A list is a sequence; `cycle: [...]` repeats one forever; `flip-flop: [a, b]` alternates
//! two; `random` is today's schedule (forever). The grammar and its limits
//! ([`MAX_DEPTH`], [`MAX_STEPS`]) are in docs/generators.md. A schedule compiles to a flat
//! [`Program`] (jumps for the repetitions), which is what runs and what tests inspect.

use std::cell::Cell;
use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, MapAccess, SeqAccess};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use splitbrain_history::duration;

use crate::config::NemesisConfig;
use crate::faults::{FAULTS, FaultKind};

/// How deeply schedule combinators may nest.
pub const MAX_DEPTH: usize = 32;
/// How many steps (sleeps, starts, stops, `random`s) a schedule may hold in all.
pub const MAX_STEPS: usize = 1_000;

/// One step of a schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Wait.
    Sleep(Duration),
    /// Plan a fault of this kind, start it, hold it this long, stop it.
    Fault { kind: FaultKind, hold: Duration },
    /// Plan a fault of this kind and start it; it stays until a [`Step::Stop`] of its kind
    /// (or the end of the main phase). `variant` is the index of the `start` step's own
    /// options in [`Program::variants`]; `None` plans with the `nemesis.<fault>` section.
    Start {
        kind: FaultKind,
        variant: Option<usize>,
    },
    /// Stop the active fault of this kind.
    Stop(FaultKind),
}

pub trait Schedule: Send {
    /// The next step, or `None` when the schedule is over. `faults` are those that can take
    /// effect here; `rng` is the nemesis's seeded stream, shared with the faults' plans.
    fn next(&mut self, rng: &mut fastrand::Rng, faults: &[FaultKind]) -> Option<Step>;
}

/// Jepsen's default: wait an interval, a random fault for an interval, and again, forever.
pub struct Alternate {
    interval: Duration,
    waited: bool,
}

impl Alternate {
    pub fn new(interval: Duration) -> Alternate {
        Alternate {
            interval,
            waited: false,
        }
    }
}

impl Schedule for Alternate {
    fn next(&mut self, rng: &mut fastrand::Rng, faults: &[FaultKind]) -> Option<Step> {
        if faults.is_empty() {
            return None;
        }
        self.waited = !self.waited;
        Some(if self.waited {
            Step::Sleep(self.interval)
        } else {
            Step::Fault {
                kind: faults[rng.usize(..faults.len())],
                hold: self.interval,
            }
        })
    }
}

// ------------------------------------------------------------------ the YAML schedule

/// `start:`'s fault: its kind, and its own settings when given (`{partition: {...}}`).
#[derive(Clone, Debug, PartialEq)]
pub struct StartDef {
    pub kind: FaultKind,
    /// A configuration whose only non-default section is this fault's.
    pub options: Option<Box<NemesisConfig>>,
}

/// A schedule as written in `nemesis: schedule:`.
#[derive(Clone, Debug, PartialEq)]
pub enum ScheduleDef {
    /// Today's schedule, forever: wait `interval`, a random enabled fault for `interval`.
    Random,
    Sleep(Duration),
    Start(StartDef),
    Stop(FaultKind),
    /// In order.
    Seq(Vec<ScheduleDef>),
    /// In order, again and again.
    Cycle(Vec<ScheduleDef>),
    /// `a`, `b`, `a`, `b`, ... forever.
    FlipFlop(Box<ScheduleDef>, Box<ScheduleDef>),
}

/// A schedule that cannot run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error(
        "schedule: a repetition ({0}) must wait somewhere (a sleep or random), or it would spin"
    )]
    Spins(&'static str),
    #[error("schedule: more than {MAX_STEPS} steps")]
    TooLong,
}

impl ScheduleDef {
    /// The faults its `start`s name, in table order.
    pub fn faults(&self) -> Vec<FaultKind> {
        let mut out = Vec::new();
        self.walk(&mut |d| {
            if let ScheduleDef::Start(s) = d {
                out.push(s.kind);
            }
        });
        out.sort();
        out.dedup();
        out
    }

    /// The `start` steps with their own settings, in order.
    pub fn start_options(&self) -> Vec<&NemesisConfig> {
        let mut out = Vec::new();
        self.walk_ref(&mut |d| {
            if let ScheduleDef::Start(StartDef {
                options: Some(o), ..
            }) = d
            {
                out.push(&**o);
            }
        });
        out
    }

    fn walk(&self, f: &mut dyn FnMut(&ScheduleDef)) {
        self.walk_ref(f)
    }

    fn walk_ref<'a>(&'a self, f: &mut dyn FnMut(&'a ScheduleDef)) {
        f(self);
        match self {
            ScheduleDef::Seq(xs) | ScheduleDef::Cycle(xs) => xs.iter().for_each(|x| x.walk_ref(f)),
            ScheduleDef::FlipFlop(a, b) => {
                a.walk_ref(f);
                b.walk_ref(f);
            }
            _ => {}
        }
    }

    /// Whether running it once takes time (it sleeps, or holds `random`).
    fn waits(&self) -> bool {
        match self {
            ScheduleDef::Random => true,
            ScheduleDef::Sleep(d) => !d.is_zero(),
            ScheduleDef::Start(_) | ScheduleDef::Stop(_) => false,
            ScheduleDef::Seq(xs) | ScheduleDef::Cycle(xs) => xs.iter().any(ScheduleDef::waits),
            ScheduleDef::FlipFlop(a, b) => a.waits() || b.waits(),
        }
    }

    /// The flat program that runs it.
    pub fn compile(&self) -> Result<Program, ScheduleError> {
        let mut p = Program {
            code: Vec::new(),
            variants: Vec::new(),
        };
        self.emit(&mut p)?;
        Ok(p)
    }

    fn emit(&self, p: &mut Program) -> Result<(), ScheduleError> {
        if p.code.len() > 4 * MAX_STEPS {
            return Err(ScheduleError::TooLong);
        }
        match self {
            ScheduleDef::Random => p.code.push(Instr::Random),
            ScheduleDef::Sleep(d) => p.code.push(Instr::Step(Step::Sleep(*d))),
            ScheduleDef::Stop(k) => p.code.push(Instr::Step(Step::Stop(*k))),
            ScheduleDef::Start(s) => {
                let variant = s.options.as_ref().map(|o| {
                    p.variants.push((**o).clone());
                    p.variants.len() - 1
                });
                p.code.push(Instr::Step(Step::Start {
                    kind: s.kind,
                    variant,
                }));
            }
            ScheduleDef::Seq(xs) => {
                for x in xs {
                    x.emit(p)?;
                }
            }
            ScheduleDef::Cycle(xs) => {
                if !self.waits() {
                    return Err(ScheduleError::Spins("cycle"));
                }
                let top = p.code.len();
                for x in xs {
                    x.emit(p)?;
                }
                p.code.push(Instr::Jump(top));
            }
            ScheduleDef::FlipFlop(a, b) => {
                if !self.waits() {
                    return Err(ScheduleError::Spins("flip-flop"));
                }
                let top = p.code.len();
                a.emit(p)?;
                b.emit(p)?;
                p.code.push(Instr::Jump(top));
            }
        }
        Ok(())
    }
}

/// One instruction of a compiled schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Instr {
    Step(Step),
    /// Today's schedule, forever (nothing after it runs).
    Random,
    /// Go on at this instruction.
    Jump(usize),
}

/// A compiled [`ScheduleDef`]: what runs. It is also a [`Schedule`], given `interval` for
/// its `random` steps: see [`Program::runner`].
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    pub code: Vec<Instr>,
    /// The `start` steps' own settings, indexed by [`Step::Start`]'s `variant`.
    pub variants: Vec<NemesisConfig>,
}

impl Program {
    /// The schedule that runs this program; `random` steps wait `interval`.
    pub fn runner(&self, interval: Duration) -> Running {
        Running {
            code: self.code.clone(),
            pc: 0,
            random: Alternate::new(interval),
        }
    }
}

/// A [`Program`] being run.
pub struct Running {
    code: Vec<Instr>,
    pc: usize,
    random: Alternate,
}

impl Schedule for Running {
    fn next(&mut self, rng: &mut fastrand::Rng, faults: &[FaultKind]) -> Option<Step> {
        // Jumps only go back to a loop whose body waits (checked when compiling), so this
        // finds a step within one pass over the code.
        for _ in 0..=self.code.len() {
            match *self.code.get(self.pc)? {
                Instr::Step(s) => {
                    self.pc += 1;
                    return Some(s);
                }
                Instr::Random => return self.random.next(rng, faults),
                Instr::Jump(to) => self.pc = to,
            }
        }
        None
    }
}

// ------------------------------------------------------------------ YAML

thread_local! {
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    static STEPS: Cell<usize> = const { Cell::new(0) };
}

/// Counts nesting while a schedule is read, so that the limits are errors at their line.
struct Nested;

impl Nested {
    fn enter<E: de::Error>() -> Result<Nested, E> {
        let d = DEPTH.with(|c| {
            c.set(c.get() + 1);
            c.get()
        });
        if d == 1 {
            STEPS.with(|c| c.set(0));
        }
        if d > MAX_DEPTH {
            DEPTH.with(|c| c.set(c.get() - 1));
            return Err(E::custom(format!(
                "schedule: nested deeper than {MAX_DEPTH} levels"
            )));
        }
        Ok(Nested)
    }
}

impl Drop for Nested {
    fn drop(&mut self) {
        DEPTH.with(|c| c.set(c.get().saturating_sub(1)));
    }
}

fn count_step<E: de::Error>() -> Result<(), E> {
    let n = STEPS.with(|c| {
        c.set(c.get() + 1);
        c.get()
    });
    if n > MAX_STEPS {
        return Err(E::custom(format!("schedule: more than {MAX_STEPS} steps")));
    }
    Ok(())
}

const KEYS: &[&str] = &["sleep", "start", "stop", "cycle", "flip-flop", "random"];

impl<'de> Deserialize<'de> for ScheduleDef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ScheduleDef, D::Error> {
        let _depth = Nested::enter()?;
        d.deserialize_any(DefVisitor)
    }
}

struct DefVisitor;

impl<'de> de::Visitor<'de> for DefVisitor {
    type Value = ScheduleDef;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "a schedule: `random`, a list of steps, or one of {}",
            KEYS.join(", ")
        )
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<ScheduleDef, E> {
        match s {
            "random" => {
                count_step()?;
                Ok(ScheduleDef::Random)
            }
            _ => Err(E::custom(format!(
                "unknown schedule step `{s}`; expected `random`, a list of steps, or a mapping with one of {}",
                KEYS.join(", ")
            ))),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<ScheduleDef, A::Error> {
        Ok(ScheduleDef::Seq(steps(seq)?))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ScheduleDef, A::Error> {
        let Some(key) = map.next_key::<String>()? else {
            return Err(de::Error::custom(format!(
                "an empty schedule step; expected one of {}",
                KEYS.join(", ")
            )));
        };
        let def = match key.as_str() {
            "sleep" => {
                count_step()?;
                let d: Sleep = map.next_value()?;
                ScheduleDef::Sleep(d.0)
            }
            "start" => {
                count_step()?;
                ScheduleDef::Start(map.next_value::<StartDef>()?)
            }
            "stop" => {
                count_step()?;
                ScheduleDef::Stop(map.next_value::<Kind>()?.0)
            }
            "random" => {
                count_step()?;
                map.next_value::<de::IgnoredAny>()?;
                ScheduleDef::Random
            }
            "cycle" => ScheduleDef::Cycle(map.next_value::<Steps>()?.0),
            "flip-flop" => {
                let Steps(mut xs) = map.next_value()?;
                if xs.len() != 2 {
                    return Err(de::Error::custom(format!(
                        "flip-flop: exactly two schedules to alternate, got {}",
                        xs.len()
                    )));
                }
                let b = xs.pop().expect("two");
                let a = xs.pop().expect("two");
                ScheduleDef::FlipFlop(Box::new(a), Box::new(b))
            }
            other => return Err(de::Error::unknown_field(other, KEYS)),
        };
        if let Some(extra) = map.next_key::<String>()? {
            return Err(de::Error::custom(format!(
                "one step per list item: `{key}` and `{extra}` are in the same mapping; write each as its own `- ` item"
            )));
        }
        Ok(def)
    }
}

fn steps<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Vec<ScheduleDef>, A::Error> {
    let mut out = Vec::new();
    while let Some(x) = seq.next_element::<ScheduleDef>()? {
        out.push(x);
    }
    Ok(out)
}

struct Steps(Vec<ScheduleDef>);

impl<'de> Deserialize<'de> for Steps {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Steps, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Steps;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of schedule steps")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Steps, A::Error> {
                steps(seq).map(Steps)
            }
        }
        d.deserialize_seq(V)
    }
}

/// `sleep:`: a duration of the one grammar, more than zero.
struct Sleep(Duration);

impl<'de> Deserialize<'de> for Sleep {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Sleep, D::Error> {
        let d = duration::required::deserialize(d)?;
        if d.is_zero() {
            return Err(de::Error::custom("sleep: more than 0s, e.g. 5s"));
        }
        Ok(Sleep(d))
    }
}

/// A fault's name.
struct Kind(FaultKind);

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Kind, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map(Kind).map_err(de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for StartDef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<StartDef, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = StartDef;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a fault's name, or `{<fault>: {<its options>}}`")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<StartDef, E> {
                Ok(StartDef {
                    kind: s.parse().map_err(E::custom)?,
                    options: None,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<StartDef, A::Error> {
                let c = NemesisConfig::deserialize(de::value::MapAccessDeserializer::new(map))?;
                if !c.faults.is_empty() || c.interval.is_some() || c.schedule.is_some() {
                    return Err(de::Error::custom(
                        "start: only one fault's options, e.g. {partition: {topologies: [primaries]}}",
                    ));
                }
                let given: Vec<FaultKind> = FAULTS
                    .iter()
                    .filter(|e| !(e.section)(&c).is_default())
                    .map(|e| e.kind)
                    .collect();
                match given[..] {
                    [kind] => Ok(StartDef {
                        kind,
                        options: Some(Box::new(c)),
                    }),
                    [] => Err(de::Error::custom(
                        "start: no options given; write the fault's name alone, e.g. `start: kill`",
                    )),
                    _ => Err(de::Error::custom(
                        "start: one fault per step; start each in its own step",
                    )),
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for ScheduleDef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ScheduleDef::Random => s.serialize_str("random"),
            ScheduleDef::Sleep(d) => one(s, "sleep", &duration::format(*d)),
            ScheduleDef::Stop(k) => one(s, "stop", k.name()),
            ScheduleDef::Start(StartDef {
                kind,
                options: None,
            }) => one(s, "start", kind.name()),
            ScheduleDef::Start(StartDef {
                options: Some(o), ..
            }) => one(s, "start", &**o),
            ScheduleDef::Seq(xs) => xs.serialize(s),
            ScheduleDef::Cycle(xs) => one(s, "cycle", xs),
            ScheduleDef::FlipFlop(a, b) => one(s, "flip-flop", &[&**a, &**b]),
        }
    }
}

/// A mapping of one entry: how every step but `random` and a list is written.
fn one<S: Serializer, T: Serialize + ?Sized>(
    s: S,
    key: &str,
    value: &T,
) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(1))?;
    m.serialize_entry(key, value)?;
    m.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternate_waits_then_faults_drawing_one_number_per_fault() {
        let mut s = Alternate::new(Duration::from_secs(2));
        let mut rng = fastrand::Rng::with_seed(1);
        let mut copy = rng.clone();
        let faults = [FaultKind::Partition, FaultKind::Kill, FaultKind::Clock];
        let steps: Vec<Step> = (0..6).map(|_| s.next(&mut rng, &faults).unwrap()).collect();
        for (i, step) in steps.iter().enumerate() {
            match step {
                Step::Sleep(d) => assert!(i % 2 == 0 && *d == Duration::from_secs(2)),
                Step::Fault { kind, hold } => {
                    assert!(i % 2 == 1 && *hold == Duration::from_secs(2));
                    assert_eq!(*kind, faults[copy.usize(..faults.len())]);
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(s.next(&mut rng, &[]), None);
    }

    fn parse(yaml: &str) -> Result<ScheduleDef, String> {
        serde_saphyr::from_str(yaml).map_err(|e| e.to_string())
    }

    fn run(def: &ScheduleDef, n: usize) -> Vec<Step> {
        let p = def.compile().unwrap();
        let mut r = p.runner(Duration::from_secs(1));
        let mut rng = fastrand::Rng::with_seed(3);
        std::iter::from_fn(|| r.next(&mut rng, &[FaultKind::Partition, FaultKind::Kill]))
            .take(n)
            .collect()
    }

    const S5: Duration = Duration::from_secs(5);

    #[test]
    fn a_sequence_runs_once_in_order_with_its_options() {
        let d = parse(
            "- start: {partition: {topologies: [primaries]}}\n- sleep: 5s\n- stop: partition\n- start: kill\n- sleep: 5s\n- stop: kill\n",
        )
        .unwrap();
        assert_eq!(d.faults(), [FaultKind::Partition, FaultKind::Kill]);
        let p = d.compile().unwrap();
        assert_eq!(p.variants.len(), 1);
        assert_eq!(
            p.variants[0].partition.topologies,
            [crate::Topology::Primaries]
        );
        assert_eq!(
            run(&d, 100),
            [
                Step::Start {
                    kind: FaultKind::Partition,
                    variant: Some(0)
                },
                Step::Sleep(S5),
                Step::Stop(FaultKind::Partition),
                Step::Start {
                    kind: FaultKind::Kill,
                    variant: None
                },
                Step::Sleep(S5),
                Step::Stop(FaultKind::Kill),
            ]
        );
        // Written back, it reads the same.
        let text = serde_saphyr::to_string(&d).unwrap();
        assert_eq!(parse(&text).unwrap(), d, "{text}");
    }

    #[test]
    fn cycle_and_flip_flop_repeat() {
        let d = parse("cycle: [{start: kill}, {sleep: 5s}, {stop: kill}]\n").unwrap();
        let steps = run(&d, 7);
        assert_eq!(steps[0], steps[3]);
        assert_eq!(steps[6], steps[0]);
        assert_eq!(steps[2], Step::Stop(FaultKind::Kill));
        let d = parse(
            "flip-flop: [{sleep: 1s}, [{start: partition}, {sleep: 2s}, {stop: partition}]]\n",
        )
        .unwrap();
        let steps = run(&d, 8);
        assert_eq!(steps[0], Step::Sleep(Duration::from_secs(1)));
        assert_eq!(steps[4], Step::Sleep(Duration::from_secs(1)));
        assert_eq!(steps[7], Step::Stop(FaultKind::Partition));
        let text = serde_saphyr::to_string(&d).unwrap();
        assert_eq!(parse(&text).unwrap(), d, "{text}");
    }

    #[test]
    fn random_is_todays_schedule_with_the_same_draws() {
        let d = parse("random\n").unwrap();
        let mut ours = d.compile().unwrap().runner(Duration::from_secs(2));
        let mut today = Alternate::new(Duration::from_secs(2));
        let faults = [FaultKind::Partition, FaultKind::Kill, FaultKind::Pause];
        let (mut a, mut b) = (fastrand::Rng::with_seed(9), fastrand::Rng::with_seed(9));
        for _ in 0..50 {
            assert_eq!(ours.next(&mut a, &faults), today.next(&mut b, &faults));
        }
        // After a prefix, forever.
        let d = parse("[{sleep: 1s}, random]\n").unwrap();
        assert_eq!(run(&d, 20).len(), 20);
    }

    #[test]
    fn a_loop_that_never_waits_is_refused() {
        let d = parse("cycle: [{start: kill}, {stop: kill}]\n").unwrap();
        assert_eq!(d.compile(), Err(ScheduleError::Spins("cycle")));
        let d = parse("flip-flop: [{start: kill}, {stop: kill}]\n").unwrap();
        assert_eq!(d.compile(), Err(ScheduleError::Spins("flip-flop")));
    }

    #[test]
    fn errors_name_their_line() {
        for (yaml, want, line) in [
            (
                "- sleep: 5s\n- stop: partiton\n",
                "unknown fault `partiton`",
                2,
            ),
            ("- sleep: 5s\n- sleep: 0s\n", "sleep: more than 0s", 2),
            ("- sleep: 5s\n- slep: 1s\n", "slep", 2),
            (
                "- start: {partition: {topologies: [ring]}}\n",
                "majorities-ring",
                1,
            ),
            (
                "- sleep: 1s\n- start: {kill: {}}\n",
                "write the fault's name alone",
                2,
            ),
            (
                "- start: {kill: {targets: [one]}, pause: {targets: [one]}}\n",
                "one fault per step",
                1,
            ),
            ("- {sleep: 1s, stop: kill}\n", "one step per list item", 1),
            (
                "- sleep: 1s\n- flip-flop: [{sleep: 1s}]\n",
                "exactly two",
                2,
            ),
            (
                "- sleep: 1s\n- nonsense\n",
                "unknown schedule step `nonsense`",
                2,
            ),
            ("- sleep: 9d\n", "maximum 7d", 1),
        ] {
            let e = parse(yaml).unwrap_err();
            assert!(e.contains(want), "{yaml}: {e}");
            assert!(e.contains(&format!("line {line}")), "{yaml}: {e}");
        }
    }

    #[test]
    fn depth_and_size_are_limited() {
        // Lists in lists: one YAML level per schedule level (below the reader's own budget).
        let deep = format!("{}{}{}", "[".repeat(40), "{sleep: 1s}", "]".repeat(40));
        let e = parse(&deep).unwrap_err();
        assert!(e.contains("nested deeper than 32 levels"), "{e}");
        let ok = format!("{}{}{}", "[".repeat(31), "{sleep: 1s}", "]".repeat(31));
        parse(&ok).unwrap();
        let long = format!("[{}]\n", vec!["{sleep: 1s}"; MAX_STEPS + 1].join(", "));
        assert!(parse(&long).unwrap_err().contains("more than 1000 steps"));
        let fits = format!("[{}]\n", vec!["{sleep: 1s}"; MAX_STEPS].join(", "));
        parse(&fits).unwrap();
        // A failed read leaves no depth behind for the next one.
        parse("sleep: 1s\n").unwrap();
    }
}
