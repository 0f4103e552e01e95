//! In-process databases: a correct linearizable store, and a deliberately wrong one.
//!
//! One store per workload, each its own module ([`register`], [`set`], [`counter`],
//! [`unique_ids`]) implementing [`Store`]; [`MemoryFactory`] serves any of them from
//! one `Arc<Mutex<..>>`. Each operation takes effect atomically while the lock is
//! held, so every history the correct store produces is linearizable and every
//! checker must accept it. No sleeping, no I/O: it measures the runner and checkers
//! themselves (the throughput benchmark).
//!
//! The stale store ([`MemoryFactory::stale`], client type `memory-stale`) is the
//! same, except that the one function its workload can get wrong
//! ([`Store::STALE`]) does, with the given probability: a read returns the state
//! as it was *before the latest write* (an overwritten register value, the set
//! without its newest element, the counter before its latest increment), a
//! `generate` hands out the previous id again. Writes stay correct. It exists to
//! prove that the pipeline can fail: its histories must be found invalid.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::{Deserialize, Deserializer};

use crate::clients::{ClientContext, ClientType, Opener};
use crate::generator::derive_seed;
use crate::{Client, ClientFactory, Outcome, Request, Target};

pub mod counter;
pub mod register;
pub mod set;
pub mod unique_ids;

/// The state of one workload's in-process database.
pub trait Store: Default + Send + 'static {
    /// The function the stale store gets wrong (with its probability).
    const STALE: &'static str;

    /// Applies `req` atomically; `stale` asks for the wrong answer.
    fn apply(&mut self, req: &Request, stale: bool) -> Outcome;
}

/// Opens clients of one shared in-process store.
#[derive(Debug)]
pub struct MemoryFactory<S> {
    store: Arc<Mutex<S>>,
    stale: Option<Staleness>,
}

impl<S> Clone for MemoryFactory<S> {
    fn clone(&self) -> MemoryFactory<S> {
        MemoryFactory {
            store: Arc::clone(&self.store),
            stale: self.stale,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Staleness {
    probability: f64,
    seed: u64,
}

impl<S: Store> MemoryFactory<S> {
    /// A correct store: all its histories are linearizable.
    pub fn linearizable() -> MemoryFactory<S> {
        MemoryFactory {
            store: Arc::default(),
            stale: None,
        }
    }

    /// A wrong store that gets [`Store::STALE`] wrong with `probability` (0 to 1,
    /// clamped: the options parser rejects anything else). Each client draws from
    /// its own random stream, derived from `(seed, process)`.
    pub fn stale(probability: f64, seed: u64) -> MemoryFactory<S> {
        MemoryFactory {
            store: Arc::default(),
            stale: Some(Staleness {
                probability: if probability.is_nan() {
                    0.0
                } else {
                    probability.clamp(0.0, 1.0)
                },
                seed,
            }),
        }
    }

    /// A client without the async `open`, for benchmarks and tests.
    pub fn client(&self, process: u64) -> MemoryClient<S> {
        MemoryClient {
            store: Arc::clone(&self.store),
            stale: self.stale.map(|s| {
                (
                    s.probability,
                    fastrand::Rng::with_seed(derive_seed(s.seed, process, 3)),
                )
            }),
        }
    }
}

#[async_trait]
impl<S: Store> ClientFactory for MemoryFactory<S> {
    async fn open(&self, _target: &Target, process: u64) -> anyhow::Result<Box<dyn Client>> {
        Ok(Box::new(self.client(process)))
    }
}

/// A client of an in-process store.
#[derive(Debug)]
pub struct MemoryClient<S> {
    store: Arc<Mutex<S>>,
    stale: Option<(f64, fastrand::Rng)>,
}

impl<S: Store> MemoryClient<S> {
    /// Invokes `req` synchronously; [`Client::invoke`] is this.
    pub fn invoke_now(&mut self, req: &Request) -> Outcome {
        let stale = match &mut self.stale {
            Some((p, rng)) if req.f.as_ref() == S::STALE => rng.f64() < *p,
            _ => false,
        };
        // A panic elsewhere while holding the lock leaves consistent data (every
        // update is a single assignment), so a poisoned lock is still usable.
        let mut store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        store.apply(req, stale)
    }
}

#[async_trait]
impl<S: Store> Client for MemoryClient<S> {
    async fn invoke(&mut self, req: &Request) -> Outcome {
        self.invoke_now(req)
    }
}

/// A value and the one it overwrote (what a stale read returns).
#[derive(Debug, Default)]
pub(crate) struct Cell<T> {
    pub(crate) current: T,
    previous: T,
}

impl<T: Clone> Cell<T> {
    pub(crate) fn set(&mut self, v: T) {
        self.previous = std::mem::replace(&mut self.current, v);
    }

    pub(crate) fn read(&self, stale: bool) -> T {
        if stale {
            self.previous.clone()
        } else {
            self.current.clone()
        }
    }
}

/// What a store answers to a function its workload does not have.
pub(crate) fn no_function(workload: &str, f: &str) -> Outcome {
    Outcome::fail(format!("the {workload} workload has no function `{f}`"))
}

/// `memory`: no options.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryOptions {}

/// `memory-stale`'s options.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StaleOptions {
    /// The probability (0 to 1) that the store gets its stale function wrong.
    #[serde(default = "default_probability", deserialize_with = "probability")]
    pub stale_probability: f64,
}

impl Default for StaleOptions {
    fn default() -> StaleOptions {
        StaleOptions {
            stale_probability: default_probability(),
        }
    }
}

fn default_probability() -> f64 {
    0.05
}

/// The one check of `stale-probability`.
pub fn check_probability(p: f64) -> Result<(), String> {
    if !(0.0..=1.0).contains(&p) {
        return Err(format!(
            "stale-probability: a probability from 0 to 1, got {p}"
        ));
    }
    Ok(())
}

fn probability<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let p = f64::deserialize(d)?;
    check_probability(p).map_err(serde::de::Error::custom)?;
    Ok(p)
}

/// A correct store of `S`, for the registry.
fn correct<S: Store>(_: &MemoryOptions, _: &ClientContext) -> Arc<dyn ClientFactory> {
    Arc::new(MemoryFactory::<S>::linearizable())
}

/// A stale store of `S`, for the registry.
fn stale<S: Store>(o: &StaleOptions, c: &ClientContext) -> Arc<dyn ClientFactory> {
    Arc::new(MemoryFactory::<S>::stale(o.stale_probability, c.seed))
}

/// `client.type: memory`.
pub static MEMORY: ClientType<MemoryOptions> = ClientType {
    name: "memory",
    about: "an in-process linearizable store (tests splitbrain itself; no nodes)",
    needs_nodes: false,
    workloads: &[
        ("register", correct::<register::Registers> as Opener<_>),
        ("set", correct::<set::Elements>),
        ("counter", correct::<counter::Count>),
        ("unique-ids", correct::<unique_ids::Ids>),
    ],
    describe: |_| None,
};

/// `client.type: memory-stale`.
pub static MEMORY_STALE: ClientType<StaleOptions> = ClientType {
    name: "memory-stale",
    about: "the in-process store, wrong with `stale-probability` (default 0.05): stale reads, duplicate ids",
    needs_nodes: false,
    workloads: &[
        ("register", stale::<register::Registers> as Opener<_>),
        ("set", stale::<set::Elements>),
        ("counter", stale::<counter::Count>),
        ("unique-ids", stale::<unique_ids::Ids>),
    ],
    // Named as before (`memory-stale`); its probability is in the run's test.yaml.
    describe: |_| None,
};

#[cfg(test)]
pub(crate) fn req(f: &str, v: splitbrain_history::Value) -> Request {
    Request::new(f, v)
}
