//! `memory/set`: the elements in the order added; a stale read misses the newest.

use std::collections::HashSet;

use splitbrain_history::Value;

use super::{Store, no_function};
use crate::{Outcome, Request};

#[derive(Debug, Default)]
pub struct Elements {
    /// In the order they were added.
    set: Vec<Value>,
    members: HashSet<Value>,
}

impl Store for Elements {
    const STALE: &'static str = "read";

    fn apply(&mut self, req: &Request, stale: bool) -> Outcome {
        match req.f.as_ref() {
            "add" => {
                if self.members.insert(req.value.clone()) {
                    self.set.push(req.value.clone());
                }
                Outcome::Ok(req.value.clone())
            }
            "read" => {
                let n = self.set.len() - usize::from(stale && !self.set.is_empty());
                Outcome::Ok(Value::List(self.set[..n].to_vec()))
            }
            f => no_function("set", f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{MemoryFactory, req};

    #[test]
    fn adds_and_reads() {
        let mut c = MemoryFactory::<Elements>::linearizable().client(0);
        for e in [3, 1, 3, 2] {
            assert!(c.invoke_now(&req("add", Value::Int(e))).is_ok());
        }
        assert_eq!(
            c.invoke_now(&req("read", Value::Nil)),
            Outcome::Ok(Value::from(vec![3i64, 1, 2]))
        );
    }

    #[test]
    fn a_stale_read_misses_the_newest_element() {
        let mut c = MemoryFactory::<Elements>::stale(1.0, 1).client(0);
        c.invoke_now(&req("add", Value::Int(1)));
        c.invoke_now(&req("add", Value::Int(2)));
        assert_eq!(
            c.invoke_now(&req("read", Value::Nil)),
            Outcome::Ok(Value::from(vec![1i64]))
        );
    }
}
