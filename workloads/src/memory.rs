//! In-process databases: a correct linearizable store, and a deliberately wrong one.
//!
//! [`MemoryClientFactory::linearizable`] serves every workload from one
//! `Arc<Mutex<..>>` state: each operation takes effect atomically while the
//! lock is held, so every history it produces is linearizable and every
//! checker must accept it. No sleeping, no I/O: it measures the runner and
//! checkers themselves (the throughput benchmark).
//!
//! [`MemoryClientFactory::stale`] is the same store, except that a read, with
//! the given probability, returns the state as it was *before the latest
//! write*: an overwritten register value, the set without its newest element,
//! the counter before its latest increment. Writes stay correct. It exists to
//! prove that the pipeline can fail: its histories must be found invalid.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use splitbrain_history::Value;

use crate::generator::derive_seed;
use crate::{Client, ClientFactory, Outcome, Request, Target, Workload};

/// Opens clients of one shared in-process store.
#[derive(Debug, Clone)]
pub struct MemoryClientFactory {
    workload: Workload,
    store: Arc<Mutex<Store>>,
    stale: Option<Staleness>,
}

#[derive(Debug, Clone, Copy)]
struct Staleness {
    probability: f64,
    seed: u64,
}

impl MemoryClientFactory {
    /// A correct store: all its histories are linearizable.
    pub fn linearizable(workload: Workload) -> MemoryClientFactory {
        MemoryClientFactory {
            workload,
            store: Arc::default(),
            stale: None,
        }
    }

    /// A wrong store whose reads return the state before the latest write with
    /// `probability` (0 to 1). Each client draws from its own random stream,
    /// derived from `(seed, process)`.
    pub fn stale(workload: Workload, probability: f64, seed: u64) -> MemoryClientFactory {
        assert!(
            (0.0..=1.0).contains(&probability),
            "probability {probability} outside 0..=1"
        );
        MemoryClientFactory {
            workload,
            store: Arc::default(),
            stale: Some(Staleness { probability, seed }),
        }
    }

    /// A client without the async `open`, for benchmarks and tests.
    pub fn client(&self, process: u64) -> MemoryClient {
        MemoryClient {
            workload: self.workload,
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
impl ClientFactory for MemoryClientFactory {
    async fn open(&self, _target: &Target, process: u64) -> anyhow::Result<Box<dyn Client>> {
        Ok(Box::new(self.client(process)))
    }
}

/// A register's value and the one it overwrote.
#[derive(Debug, Default)]
struct Cell<T> {
    current: T,
    previous: T,
}

impl<T: Clone> Cell<T> {
    fn set(&mut self, v: T) {
        self.previous = std::mem::replace(&mut self.current, v);
    }

    fn read(&self, stale: bool) -> T {
        if stale {
            self.previous.clone()
        } else {
            self.current.clone()
        }
    }
}

#[derive(Debug, Default)]
struct Store {
    registers: HashMap<Value, Cell<Value>>,
    /// Set elements in the order they were added.
    set: Vec<Value>,
    set_members: HashSet<Value>,
    counter: Cell<i64>,
}

/// A client of the in-process store.
#[derive(Debug)]
pub struct MemoryClient {
    workload: Workload,
    store: Arc<Mutex<Store>>,
    stale: Option<(f64, fastrand::Rng)>,
}

impl MemoryClient {
    /// Invokes `req` synchronously; [`Client::invoke`] is this.
    pub fn invoke_now(&mut self, req: &Request) -> Outcome {
        let stale = match &mut self.stale {
            Some((p, rng)) if req.f.as_ref() == "read" => rng.f64() < *p,
            _ => false,
        };
        // A panic elsewhere while holding the lock leaves consistent data (every
        // update is a single assignment), so a poisoned lock is still usable.
        let mut store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        match (self.workload, req.f.as_ref()) {
            (Workload::Register, "read") => {
                let key = req.key.clone().unwrap_or_default();
                Outcome::Ok(
                    store
                        .registers
                        .get(&key)
                        .map(|c| c.read(stale))
                        .unwrap_or_default(),
                )
            }
            (Workload::Register, "write") => {
                let key = req.key.clone().unwrap_or_default();
                store
                    .registers
                    .entry(key)
                    .or_default()
                    .set(req.value.clone());
                Outcome::Ok(req.value.clone())
            }
            (Workload::Register, "cas") => {
                let Some([old, new]) = req
                    .value
                    .as_list()
                    .and_then(|l| <&[Value; 2]>::try_from(l).ok())
                else {
                    return Outcome::fail(format!(
                        "cas needs an [old new] pair, got {}",
                        req.value
                    ));
                };
                let key = req.key.clone().unwrap_or_default();
                let cell = store.registers.entry(key).or_default();
                if cell.current == *old {
                    cell.set(new.clone());
                    Outcome::Ok(req.value.clone())
                } else {
                    Outcome::fail("cas: value differs")
                }
            }
            (Workload::Set, "add") => {
                if store.set_members.insert(req.value.clone()) {
                    store.set.push(req.value.clone());
                }
                Outcome::Ok(req.value.clone())
            }
            (Workload::Set, "read") => {
                let n = store.set.len() - usize::from(stale && !store.set.is_empty());
                Outcome::Ok(Value::List(store.set[..n].to_vec()))
            }
            (Workload::Counter, "add") => {
                let Some(delta) = req.value.as_int() else {
                    return Outcome::fail(format!("add needs an integer, got {}", req.value));
                };
                let now = store.counter.current.saturating_add(delta);
                store.counter.set(now);
                Outcome::Ok(req.value.clone())
            }
            (Workload::Counter, "read") => Outcome::Ok(Value::Int(store.counter.read(stale))),
            (w, f) => Outcome::fail(format!("the {w} workload has no function `{f}`")),
        }
    }
}

#[async_trait]
impl Client for MemoryClient {
    async fn invoke(&mut self, req: &Request) -> Outcome {
        self.invoke_now(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(f: &str, v: Value) -> Request {
        Request::new(f, v)
    }

    #[test]
    fn register_reads_writes_and_cas() {
        let factory = MemoryClientFactory::linearizable(Workload::Register);
        let mut a = factory.client(0);
        let mut b = factory.client(1);
        let k = |r: Request| r.with_key(Value::Int(7));
        assert_eq!(
            a.invoke_now(&k(req("read", Value::Nil))),
            Outcome::Ok(Value::Nil)
        );
        assert!(a.invoke_now(&k(req("write", Value::Int(3)))).is_ok());
        assert_eq!(
            b.invoke_now(&k(req("read", Value::Nil))),
            Outcome::Ok(Value::Int(3))
        );
        // Another key is independent.
        assert_eq!(
            b.invoke_now(&req("read", Value::Nil).with_key(Value::Int(8))),
            Outcome::Ok(Value::Nil)
        );
        let cas = |o: i64, n: i64| k(req("cas", Value::from(vec![o, n])));
        assert!(matches!(b.invoke_now(&cas(1, 2)), Outcome::Fail(_)));
        assert_eq!(
            b.invoke_now(&cas(3, 4)),
            Outcome::Ok(Value::from(vec![3i64, 4]))
        );
        assert_eq!(
            a.invoke_now(&k(req("read", Value::Nil))),
            Outcome::Ok(Value::Int(4))
        );
        assert!(matches!(
            a.invoke_now(&req("add", Value::Int(1))),
            Outcome::Fail(_)
        ));
    }

    #[test]
    fn set_and_counter() {
        let set = MemoryClientFactory::linearizable(Workload::Set);
        let mut c = set.client(0);
        for e in [3, 1, 3, 2] {
            assert!(c.invoke_now(&req("add", Value::Int(e))).is_ok());
        }
        assert_eq!(
            c.invoke_now(&req("read", Value::Nil)),
            Outcome::Ok(Value::from(vec![3i64, 1, 2]))
        );
        let counter = MemoryClientFactory::linearizable(Workload::Counter);
        let mut c = counter.client(0);
        for d in [1, 2, 5] {
            assert!(c.invoke_now(&req("add", Value::Int(d))).is_ok());
        }
        assert_eq!(
            c.invoke_now(&req("read", Value::Nil)),
            Outcome::Ok(Value::Int(8))
        );
    }

    /// Reads with `p` staleness after writes of 1 then 2: how many saw 1.
    fn stale_register_reads(seed: u64, p: f64) -> usize {
        let factory = MemoryClientFactory::stale(Workload::Register, p, seed);
        let mut c = factory.client(5);
        c.invoke_now(&req("write", Value::Int(1)));
        c.invoke_now(&req("write", Value::Int(2)));
        (0..1000)
            .filter(|_| {
                let Outcome::Ok(v) = c.invoke_now(&req("read", Value::Nil)) else {
                    panic!("read failed")
                };
                assert!(v == Value::Int(1) || v == Value::Int(2), "{v}");
                v == Value::Int(1)
            })
            .count()
    }

    #[test]
    fn stale_store_serves_stale_reads_sometimes_reproducibly() {
        let stale = stale_register_reads(99, 0.2);
        assert!((120..280).contains(&stale), "{stale} stale reads of 1000");
        assert_eq!(stale_register_reads(99, 0.2), stale);
        assert_eq!(stale_register_reads(99, 0.0), 0);
    }

    #[test]
    fn stale_set_and_counter_reads_miss_the_latest_write() {
        let set = MemoryClientFactory::stale(Workload::Set, 1.0, 1);
        let mut c = set.client(0);
        c.invoke_now(&req("add", Value::Int(1)));
        c.invoke_now(&req("add", Value::Int(2)));
        assert_eq!(
            c.invoke_now(&req("read", Value::Nil)),
            Outcome::Ok(Value::from(vec![1i64]))
        );
        let counter = MemoryClientFactory::stale(Workload::Counter, 1.0, 1);
        let mut c = counter.client(0);
        c.invoke_now(&req("add", Value::Int(1)));
        c.invoke_now(&req("add", Value::Int(1)));
        assert_eq!(
            c.invoke_now(&req("read", Value::Nil)),
            Outcome::Ok(Value::Int(1))
        );
    }
}
