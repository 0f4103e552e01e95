//! `memory/unique-ids`: ids from one in-process sequence; the stale store hands out
//! the previous id again (a duplicate the checker must catch).

use splitbrain_history::Value;

use super::{Store, no_function};
use crate::workloads::unique_ids::GENERATE;
use crate::{Outcome, Request};

#[derive(Debug, Default)]
pub struct Ids {
    /// The last id handed out; ids start at 1.
    last: i64,
}

impl Store for Ids {
    const STALE: &'static str = GENERATE;

    fn apply(&mut self, req: &Request, stale: bool) -> Outcome {
        match req.f.as_ref() {
            // Before the first id there is nothing to repeat.
            GENERATE if stale && self.last > 0 => Outcome::Ok(Value::Int(self.last)),
            GENERATE => {
                self.last += 1;
                Outcome::Ok(Value::Int(self.last))
            }
            f => no_function("unique-ids", f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{MemoryFactory, req};

    #[test]
    fn ids_are_unique_across_clients() {
        let factory = MemoryFactory::<Ids>::linearizable();
        let (mut a, mut b) = (factory.client(0), factory.client(1));
        let ids: Vec<Outcome> = (0..3)
            .flat_map(|_| {
                [
                    a.invoke_now(&req(GENERATE, Value::Nil)),
                    b.invoke_now(&req(GENERATE, Value::Nil)),
                ]
            })
            .collect();
        let want: Vec<Outcome> = (1..=6).map(|i| Outcome::Ok(Value::Int(i))).collect();
        assert_eq!(ids, want);
        assert!(matches!(
            a.invoke_now(&req("read", Value::Nil)),
            Outcome::Fail(_)
        ));
    }

    #[test]
    fn the_stale_store_repeats_ids() {
        let mut c = MemoryFactory::<Ids>::stale(1.0, 1).client(0);
        let ids: Vec<Outcome> = (0..3)
            .map(|_| c.invoke_now(&req(GENERATE, Value::Nil)))
            .collect();
        assert_eq!(ids, vec![Outcome::Ok(Value::Int(1)); 3]);
        let mut c = MemoryFactory::<Ids>::stale(0.0, 1).client(0);
        c.invoke_now(&req(GENERATE, Value::Nil));
        assert_eq!(
            c.invoke_now(&req(GENERATE, Value::Nil)),
            Outcome::Ok(Value::Int(2))
        );
    }
}
