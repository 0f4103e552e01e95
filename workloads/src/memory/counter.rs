//! `memory/counter`: one counter; a stale read misses the latest increment.

use splitbrain_history::Value;

use super::{Cell, Store, no_function};
use crate::{Outcome, Request};

#[derive(Debug, Default)]
pub struct Count {
    counter: Cell<i64>,
}

impl Store for Count {
    const STALE: &'static str = "read";

    fn apply(&mut self, req: &Request, stale: bool) -> Outcome {
        match req.f.as_ref() {
            "add" => {
                let Some(delta) = req.value.as_int() else {
                    return Outcome::fail(format!("add needs an integer, got {}", req.value));
                };
                let now = self.counter.current.saturating_add(delta);
                self.counter.set(now);
                Outcome::Ok(req.value.clone())
            }
            "read" => Outcome::Ok(Value::Int(self.counter.read(stale))),
            f => no_function("counter", f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{MemoryFactory, req};

    #[test]
    fn adds_and_reads() {
        let mut c = MemoryFactory::<Count>::linearizable().client(0);
        for d in [1, 2, 5] {
            assert!(c.invoke_now(&req("add", Value::Int(d))).is_ok());
        }
        assert_eq!(
            c.invoke_now(&req("read", Value::Nil)),
            Outcome::Ok(Value::Int(8))
        );
    }

    #[test]
    fn a_stale_read_misses_the_latest_increment() {
        let mut c = MemoryFactory::<Count>::stale(1.0, 1).client(0);
        c.invoke_now(&req("add", Value::Int(1)));
        c.invoke_now(&req("add", Value::Int(1)));
        assert_eq!(
            c.invoke_now(&req("read", Value::Nil)),
            Outcome::Ok(Value::Int(1))
        );
    }
}
