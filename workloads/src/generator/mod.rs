//! Generators: which requests each worker issues, and when.
//!
//! A [`GeneratorConfig`] describes the main phase of a test: a weighted mix of
//! functions, an optional global rate, and (for workloads that run over them,
//! such as the register) independent keys. [`GeneratorConfig::workers`] turns
//! it into one [`WorkerGenerator`] per worker. Each worker's generator owns
//! random number generators derived from `(seed, worker index)` alone, so the
//! same seed gives every worker the same
//! sequence of requests and delays, however the workers interleave at run
//! time. Requests and delays come from separate streams: turning the rate on or
//! off does not change which requests are made.
//!
//! The generator picks each request's function; the workload fills in its value
//! ([`crate::Workload::values`]: the register's random values, the set's next
//! element, ...), so the generator holds no workload's state.
//!
//! The time limit and the final phase ([`crate::Workload::final_requests`]) are
//! the runner's: a worker draws requests until time is up.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use splitbrain_history::{Value, duration};

use crate::Request;
use crate::workload::{Values, Workload};

pub mod combinators;

/// Independent keys, as Jepsen's `independent/concurrent-generator`: workers
/// are split into groups of `group_size` (the last group may be smaller); each
/// group works through its own keys, never reused by any group, and moves on
/// to a fresh key after `ops_per_key` operations on it.
///
/// The `ops_per_key` operations of a key are shared evenly among the group's
/// workers and each worker moves on once it did its share, without waiting for
/// the others: a key never has more than `group_size` concurrent workers, nor
/// more than `ops_per_key` operations, and each worker's sequence stays
/// reproducible on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Independent {
    /// Workers per key; Jepsen's default is the number of nodes.
    pub group_size: usize,
    /// Operations per key, all workers of the group together.
    pub ops_per_key: u64,
}

impl Independent {
    /// The default for a cluster of `nodes`: groups of `nodes` workers, 100 ops per key.
    pub fn for_nodes(nodes: usize) -> Independent {
        Independent {
            group_size: nodes.max(1),
            ops_per_key: 100,
        }
    }
}

/// The main phase of a test, for all workers.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratorConfig {
    pub workload: &'static dyn Workload,
    /// Everything random derives from it (the `--seed` flag).
    pub seed: u64,
    /// Number of workers (Jepsen's `--concurrency`); worker `i` talks to node `i mod n`.
    pub concurrency: usize,
    /// Functions and their relative weights, e.g. `[("read", 1), ("write", 1), ("cas", 1)]`.
    pub mix: Vec<(Box<str>, u32)>,
    /// Target operations per second, all workers together; `None` for as fast as possible.
    pub rate: Option<f64>,
    /// Independent keys ([`Workload::independent_keys`]); `None` for a single key.
    pub independent: Option<Independent>,
}

/// A [`GeneratorConfig`] that cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeneratorError {
    #[error("concurrency must be at least 1")]
    NoWorkers,
    #[error("the operation mix is empty; give at least one function with a positive weight")]
    EmptyMix,
    #[error("the operation mix weighs {0} in all; keep the weights' sum at most {max}", max = u32::MAX)]
    MixTooHeavy(u64),
    #[error("the {workload} workload has no function `{f}`; expected one of: {expected}")]
    UnknownFunction {
        workload: &'static str,
        f: Box<str>,
        expected: String,
    },
    #[error("the rate must be a positive number of operations per second, got {0}")]
    BadRate(f64),
    #[error(
        "the {0} workload does not run over independent keys (its checkers judge the history as one object); those that do: {those}",
        those = independent_workloads().join(", ")
    )]
    NoIndependentKeys(&'static str),
    #[error("independent keys: the group size must be at least 1")]
    EmptyGroup,
    #[error(
        "independent keys: ops per key ({ops_per_key}) must be at least the group size ({group_size}), so that every worker of a group gets an operation on each key"
    )]
    TooFewOpsPerKey { ops_per_key: u64, group_size: usize },
}

/// The names of the workloads that run over independent keys, from the table.
fn independent_workloads() -> Vec<&'static str> {
    crate::workload::WORKLOADS
        .iter()
        .filter(|w| w.independent_keys())
        .map(|w| w.name())
        .collect()
}

impl GeneratorConfig {
    /// The workload's defaults: its default mix, no rate limit, and for a workload
    /// over independent keys groups of `nodes` workers.
    pub fn new(
        workload: &'static dyn Workload,
        seed: u64,
        concurrency: usize,
        nodes: usize,
    ) -> GeneratorConfig {
        GeneratorConfig {
            workload,
            seed,
            concurrency,
            mix: workload
                .default_mix()
                .iter()
                .map(|&(f, w)| (f.into(), w))
                .collect(),
            rate: None,
            independent: workload
                .independent_keys()
                .then(|| Independent::for_nodes(nodes)),
        }
    }

    pub fn validate(&self) -> Result<(), GeneratorError> {
        if self.concurrency == 0 {
            return Err(GeneratorError::NoWorkers);
        }
        let functions = self.workload.functions();
        for (f, _) in &self.mix {
            if !functions.contains(&&**f) {
                return Err(GeneratorError::UnknownFunction {
                    workload: self.workload.name(),
                    f: f.clone(),
                    expected: functions.join(", "),
                });
            }
        }
        let total: u64 = self.mix.iter().map(|&(_, w)| u64::from(w)).sum();
        if total == 0 {
            return Err(GeneratorError::EmptyMix);
        }
        if total > u64::from(u32::MAX) {
            return Err(GeneratorError::MixTooHeavy(total));
        }
        if let Some(rate) = self.rate
            && !(rate.is_finite() && rate > 0.0)
        {
            return Err(GeneratorError::BadRate(rate));
        }
        if let Some(ind) = self.independent {
            if !self.workload.independent_keys() {
                return Err(GeneratorError::NoIndependentKeys(self.workload.name()));
            }
            if ind.group_size == 0 {
                return Err(GeneratorError::EmptyGroup);
            }
            let group_size = ind.group_size.min(self.concurrency);
            if ind.ops_per_key < group_size as u64 {
                return Err(GeneratorError::TooFewOpsPerKey {
                    ops_per_key: ind.ops_per_key,
                    group_size,
                });
            }
        }
        Ok(())
    }

    /// One generator per worker, `0..concurrency`.
    pub fn workers(&self) -> Result<Vec<WorkerGenerator>, GeneratorError> {
        self.validate()?;
        Ok((0..self.concurrency)
            .map(|w| self.worker_unchecked(w))
            .collect())
    }

    /// The generator of worker `index` (`< concurrency`).
    pub fn worker(&self, index: usize) -> Result<WorkerGenerator, GeneratorError> {
        self.validate()?;
        assert!(
            index < self.concurrency,
            "worker {index} of {}",
            self.concurrency
        );
        Ok(self.worker_unchecked(index))
    }

    fn worker_unchecked(&self, worker: usize) -> WorkerGenerator {
        let mut cumulative = Vec::with_capacity(self.mix.len());
        let mut functions = Vec::with_capacity(self.mix.len());
        let mut total = 0u32;
        for (f, w) in &self.mix {
            if *w > 0 {
                total += w;
                cumulative.push(total);
                functions.push(f.clone());
            }
        }
        let keys = self
            .independent
            .map(|ind| KeyCursor::of(ind, worker, self.concurrency));
        WorkerGenerator {
            worker,
            values: self.workload.values(worker, self.concurrency),
            ops: fastrand::Rng::with_seed(derive_seed(self.seed, worker as u64, STREAM_OPS)),
            timing: fastrand::Rng::with_seed(derive_seed(self.seed, worker as u64, STREAM_TIMING)),
            functions,
            cumulative,
            total,
            max_gap_secs: self.rate.map(|r| 2.0 * self.concurrency as f64 / r),
            keys,
        }
    }
}

const STREAM_OPS: u64 = 1;
const STREAM_TIMING: u64 = 2;

/// SplitMix64's finalizer: spreads nearby inputs (worker 0, 1, 2, ...) over the seed space.
fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_4761_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of one random stream of one worker (or client), from the test's seed.
pub(crate) fn derive_seed(seed: u64, who: u64, stream: u64) -> u64 {
    mix64(mix64(seed ^ mix64(who)) ^ stream)
}

#[derive(Debug, Clone)]
struct KeyCursor {
    group: u64,
    groups: u64,
    /// How many keys this worker has finished.
    round: u64,
    /// This worker's share of each key's operations.
    quota: u64,
    used: u64,
}

impl KeyCursor {
    /// Worker `worker`'s keys, of `concurrency` workers in groups.
    fn of(ind: Independent, worker: usize, concurrency: usize) -> KeyCursor {
        let size = ind.group_size.min(concurrency).max(1);
        let group = worker / size;
        let member = worker % size;
        let groups = concurrency.div_ceil(size);
        let this_group_size = size.min(concurrency.saturating_sub(group * size)).max(1) as u64;
        let quota = ind.ops_per_key / this_group_size
            + u64::from((member as u64) < ind.ops_per_key % this_group_size);
        KeyCursor {
            group: group as u64,
            groups: groups as u64,
            round: 0,
            quota,
            used: 0,
        }
    }

    fn next_key(&mut self) -> Value {
        if self.used == self.quota {
            self.round += 1;
            self.used = 0;
        }
        self.used += 1;
        // Group g uses keys g, g + groups, g + 2 groups, ...: disjoint across groups.
        Value::Int((self.group + self.round * self.groups) as i64)
    }
}

/// The requests and delays of one worker: an endless, reproducible sequence.
#[derive(Debug)]
pub struct WorkerGenerator {
    worker: usize,
    /// The workload's values for this worker; they draw from `ops`.
    values: Box<dyn Values>,
    ops: fastrand::Rng,
    timing: fastrand::Rng,
    functions: Vec<Box<str>>,
    cumulative: Vec<u32>,
    total: u32,
    /// Upper end of the stagger interval, in seconds: `2 * concurrency / rate`.
    max_gap_secs: Option<f64>,
    keys: Option<KeyCursor>,
}

impl WorkerGenerator {
    pub fn worker(&self) -> usize {
        self.worker
    }

    /// The next request of this worker: a function drawn from the mix, the value
    /// the workload gives it (drawn from the same stream, right after), and the key.
    pub fn next_request(&mut self) -> Request {
        let x = self.ops.u32(0..self.total);
        let i = self.cumulative.partition_point(|&c| c <= x);
        let f = self.functions[i].clone();
        let value = self.values.value(&f, &mut self.ops);
        let key = self.keys.as_mut().map(KeyCursor::next_key);
        Request { f, value, key }
    }

    /// How long to wait before the next request: Jepsen's stagger, uniformly
    /// random in `[0, 2 * concurrency / rate)` so that all workers together
    /// average `rate` operations per second; zero without a rate.
    ///
    /// To hold the rate when operations take time, the runner schedules each
    /// request at the previous request's *start* plus this delay, and starts it
    /// at once when that moment has passed (as Jepsen does).
    pub fn delay(&mut self) -> Duration {
        match self.max_gap_secs {
            // A tiny rate makes the gap huge (or infinite): cap it at the longest
            // duration there is, so that `started + delay` cannot overflow.
            Some(max) => Duration::try_from_secs_f64(self.timing.f64() * max)
                .unwrap_or(duration::MAX)
                .min(duration::MAX),
            None => Duration::ZERO,
        }
    }
}

/// An endless iterator of [`WorkerGenerator::next_request`].
impl Iterator for WorkerGenerator {
    type Item = Request;

    fn next(&mut self) -> Option<Request> {
        Some(self.next_request())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;
    use crate::workloads::{counter::Counter, register::Register, set::Set, unique_ids::UniqueIds};

    const REGISTER: &dyn Workload = &Register;
    const SET: &dyn Workload = &Set;
    const COUNTER: &dyn Workload = &Counter;

    fn take(g: &mut WorkerGenerator, n: usize) -> Vec<Request> {
        (0..n).map(|_| g.next_request()).collect()
    }

    #[test]
    fn same_seed_same_sequence_other_seed_other_sequence() {
        let cfg = GeneratorConfig::new(REGISTER, 42, 4, 2);
        let a: Vec<_> = cfg
            .workers()
            .unwrap()
            .iter_mut()
            .map(|g| take(g, 200))
            .collect();
        let b: Vec<_> = cfg
            .workers()
            .unwrap()
            .iter_mut()
            .map(|g| take(g, 200))
            .collect();
        assert_eq!(a, b);
        // Workers differ from each other.
        assert_ne!(a[0], a[1]);
        let other = GeneratorConfig { seed: 43, ..cfg };
        let c: Vec<_> = other
            .workers()
            .unwrap()
            .iter_mut()
            .map(|g| take(g, 200))
            .collect();
        assert_ne!(a, c);
    }

    #[test]
    fn a_worker_does_not_depend_on_the_others_or_the_rate() {
        let cfg = GeneratorConfig::new(REGISTER, 7, 4, 2);
        let alone = take(&mut cfg.worker(3).unwrap(), 100);
        let mut all = cfg.workers().unwrap();
        take(&mut all[0], 50);
        assert_eq!(take(&mut all[3], 100), alone);
        let rated = GeneratorConfig {
            rate: Some(10.0),
            ..cfg.clone()
        };
        let mut g = rated.worker(3).unwrap();
        let with_delays: Vec<_> = (0..100)
            .map(|_| {
                g.delay();
                g.next_request()
            })
            .collect();
        assert_eq!(with_delays, alone);
    }

    /// The sequences of today's register, set and counter, fingerprinted when the
    /// generator still matched on a closed enum of workloads: moving the values into
    /// the workloads changed none of them.
    #[test]
    fn same_values_as_before_workloads_became_values() {
        fn fnv(h: &mut u64, s: &str) {
            for b in s.bytes() {
                *h ^= u64::from(b);
                *h = h.wrapping_mul(0x100_0000_01b3);
            }
        }
        for (name, seed, concurrency, nodes, fingerprint, first) in [
            (
                "register",
                42,
                4,
                2,
                0x78f3b0accf807942u64,
                [
                    ":read [0 nil]",
                    ":write [0 0]",
                    ":write [0 4]",
                    ":cas [0 [0 4]]",
                ],
            ),
            (
                "register",
                7,
                10,
                5,
                0x42820e2773500238,
                [
                    ":cas [0 [2 2]]",
                    ":cas [0 [2 1]]",
                    ":cas [0 [3 1]]",
                    ":write [0 4]",
                ],
            ),
            (
                "set",
                42,
                4,
                2,
                0x41640b9e2c7fc393,
                [":add 1", ":add 5", ":add 9", ":add 13"],
            ),
            (
                "set",
                7,
                10,
                5,
                0xa2d18423eb804f4f,
                [":add 1", ":add 11", ":add 21", ":add 31"],
            ),
            (
                "counter",
                42,
                4,
                2,
                0x630ad4c3fb4f143e,
                [":add 1", ":read nil", ":read nil", ":read nil"],
            ),
            (
                "counter",
                7,
                10,
                5,
                0xf08d1c4d85636c9c,
                [":read nil", ":read nil", ":add 1", ":read nil"],
            ),
        ] {
            let workload = crate::workload::find(name).unwrap();
            let mut cfg = GeneratorConfig::new(workload, seed, concurrency, nodes);
            cfg.rate = Some(100.0);
            let mut h = 0xcbf2_9ce4_8422_2325u64;
            for mut g in cfg.workers().unwrap() {
                for _ in 0..1000 {
                    let d = g.delay();
                    let r = g.next_request();
                    fnv(&mut h, &format!("{}|{}|{:?}|{:?};", r.f, r.value, r.key, d));
                }
            }
            assert_eq!(h, fingerprint, "{name} seed {seed}");
            let mut g = cfg.worker(1).unwrap();
            let got: Vec<String> = (0..4).map(|_| g.next_request().to_string()).collect();
            assert_eq!(got, first, "{name} seed {seed}");
        }
    }

    #[test]
    fn unique_ids_generate_with_nil() {
        let cfg = GeneratorConfig::new(&UniqueIds, 5, 3, 3);
        assert_eq!(cfg.independent, None);
        for mut g in cfg.workers().unwrap() {
            for r in take(&mut g, 20) {
                assert_eq!((&*r.f, &r.value, &r.key), ("generate", &Value::Nil, &None));
            }
        }
    }

    #[test]
    fn mix_follows_weights() {
        let mut cfg = GeneratorConfig::new(REGISTER, 1, 1, 1);
        cfg.mix = vec![("read".into(), 3), ("write".into(), 1), ("cas".into(), 0)];
        cfg.independent = None;
        let mut g = cfg.worker(0).unwrap();
        let mut counts: HashMap<Box<str>, usize> = HashMap::new();
        for r in take(&mut g, 40_000) {
            assert_eq!(r.key, None);
            match &*r.f {
                "read" => assert_eq!(r.value, Value::Nil),
                "write" => assert!((0..5).contains(&r.value.as_int().unwrap())),
                other => panic!("unexpected function {other}"),
            }
            *counts.entry(r.f).or_default() += 1;
        }
        let reads = counts["read"] as f64 / 40_000.0;
        assert!((0.72..0.78).contains(&reads), "read share {reads}");
    }

    #[test]
    fn cas_values_are_pairs_in_range() {
        let mut cfg = GeneratorConfig::new(REGISTER, 9, 1, 1);
        cfg.mix = vec![("cas".into(), 1)];
        for r in take(&mut cfg.worker(0).unwrap(), 100) {
            let pair = r.value.as_list().unwrap();
            assert_eq!(pair.len(), 2);
            assert!(pair.iter().all(|v| (0..5).contains(&v.as_int().unwrap())));
        }
    }

    #[test]
    fn set_elements_are_unique_across_workers_and_increasing() {
        let cfg = GeneratorConfig::new(SET, 5, 3, 3);
        let mut seen = HashSet::new();
        for mut g in cfg.workers().unwrap() {
            let mut last = -1;
            for r in take(&mut g, 50) {
                assert_eq!(&*r.f, "add");
                let e = r.value.as_int().unwrap();
                assert!(e > last);
                last = e;
                assert!(seen.insert(e), "element {e} added twice");
            }
        }
        assert_eq!(seen.len(), 150);
        assert!((0..150).all(|e| seen.contains(&e)));
    }

    #[test]
    fn counter_adds_one() {
        let cfg = GeneratorConfig::new(COUNTER, 5, 2, 2);
        let reqs = take(&mut cfg.worker(1).unwrap(), 100);
        assert!(reqs.iter().any(|r| &*r.f == "read"));
        for r in reqs.iter().filter(|r| &*r.f == "add") {
            assert_eq!(r.value, Value::Int(1));
            assert_eq!(r.key, None);
        }
    }

    #[test]
    fn independent_keys_per_group_never_reused() {
        // 5 workers in groups of 2: groups {0,1}, {2,3}, {4}; 10 ops per key.
        let mut cfg = GeneratorConfig::new(REGISTER, 3, 5, 2);
        cfg.independent = Some(Independent {
            group_size: 2,
            ops_per_key: 10,
        });
        let mut ops_per_key: HashMap<i64, usize> = HashMap::new();
        let mut workers_per_key: HashMap<i64, HashSet<usize>> = HashMap::new();
        for mut g in cfg.workers().unwrap() {
            let keys: Vec<i64> = take(&mut g, 30)
                .into_iter()
                .map(|r| r.key.unwrap().as_int().unwrap())
                .collect();
            // A worker moves to a fresh key and never returns.
            assert!(keys.windows(2).all(|w| w[0] <= w[1]), "{keys:?}");
            for k in keys {
                *ops_per_key.entry(k).or_default() += 1;
                workers_per_key.entry(k).or_default().insert(g.worker());
            }
        }
        // Group 0 uses keys 0, 3, 6; group 1: 1, 4, 7; group 2 (one worker): 2, 5, 8.
        for k in 0..9 {
            assert_eq!(ops_per_key[&k], 10, "key {k}");
            let expected: HashSet<usize> = match k % 3 {
                0 => [0, 1].into(),
                1 => [2, 3].into(),
                _ => [4].into(),
            };
            assert_eq!(workers_per_key[&k], expected, "key {k}");
        }
    }

    #[test]
    fn delays_average_the_rate() {
        let mut cfg = GeneratorConfig::new(COUNTER, 11, 4, 2);
        cfg.rate = Some(100.0);
        let mut total = Duration::ZERO;
        let mut max = Duration::ZERO;
        let mut gens = cfg.workers().unwrap();
        for g in &mut gens {
            for _ in 0..5_000 {
                let d = g.delay();
                total += d;
                max = max.max(d);
            }
        }
        // Per worker the mean gap is concurrency / rate = 40 ms; the maximum below 80 ms.
        let mean = total.as_secs_f64() / 20_000.0;
        assert!((0.038..0.042).contains(&mean), "mean gap {mean}");
        assert!(max < Duration::from_millis(80));
        assert_eq!(
            GeneratorConfig::new(COUNTER, 1, 1, 1)
                .worker(0)
                .unwrap()
                .delay(),
            Duration::ZERO
        );
    }

    #[test]
    fn a_tiny_rate_gives_long_delays_not_a_panic() {
        for rate in [1e-300, f64::MIN_POSITIVE, 5e-324] {
            let mut cfg = GeneratorConfig::new(COUNTER, 11, 4, 2);
            cfg.rate = Some(rate);
            let mut g = cfg.worker(0).unwrap();
            for _ in 0..100 {
                assert!(g.delay() <= duration::MAX, "rate {rate}");
            }
        }
    }

    #[test]
    fn invalid_configs_say_what_is_wrong() {
        let base = GeneratorConfig::new(SET, 1, 2, 3);
        let e = GeneratorConfig {
            mix: vec![("cas".into(), 1)],
            ..base.clone()
        }
        .validate()
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the set workload has no function `cas`; expected one of: add, read"
        );
        let e = GeneratorConfig {
            mix: vec![("add".into(), 0)],
            ..base.clone()
        }
        .validate()
        .unwrap_err();
        assert_eq!(e, GeneratorError::EmptyMix);
        // Weights that add up past u32 are too heavy, not "empty".
        let e = GeneratorConfig {
            mix: vec![("add".into(), u32::MAX), ("read".into(), 1)],
            ..base.clone()
        }
        .validate()
        .unwrap_err();
        assert_eq!(e, GeneratorError::MixTooHeavy(u64::from(u32::MAX) + 1));
        let e = GeneratorConfig {
            rate: Some(0.0),
            ..base.clone()
        }
        .validate()
        .unwrap_err();
        assert_eq!(e, GeneratorError::BadRate(0.0));
        let e = GeneratorConfig {
            independent: Some(Independent::for_nodes(3)),
            ..base.clone()
        }
        .validate()
        .unwrap_err();
        assert_eq!(e, GeneratorError::NoIndependentKeys("set"));
        assert_eq!(
            e.to_string(),
            "the set workload does not run over independent keys (its checkers judge the history as one object); those that do: register"
        );
        let mut reg = GeneratorConfig::new(REGISTER, 1, 6, 3);
        reg.independent = Some(Independent {
            group_size: 3,
            ops_per_key: 2,
        });
        assert!(matches!(
            reg.validate(),
            Err(GeneratorError::TooFewOpsPerKey { .. })
        ));
        assert_eq!(
            GeneratorConfig::new(SET, 1, 0, 3).validate(),
            Err(GeneratorError::NoWorkers)
        );
    }
}
