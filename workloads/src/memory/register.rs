//! `memory/register`: registers by key; a stale read returns the value the latest
//! write overwrote.

use std::collections::HashMap;

use splitbrain_history::Value;

use super::{Cell, Store, no_function};
use crate::{Outcome, Request};

#[derive(Debug, Default)]
pub struct Registers {
    registers: HashMap<Value, Cell<Value>>,
}

impl Store for Registers {
    const STALE: &'static str = "read";

    fn apply(&mut self, req: &Request, stale: bool) -> Outcome {
        match req.f.as_ref() {
            "read" => {
                let key = req.key.clone().unwrap_or_default();
                Outcome::Ok(
                    self.registers
                        .get(&key)
                        .map(|c| c.read(stale))
                        .unwrap_or_default(),
                )
            }
            "write" => {
                let key = req.key.clone().unwrap_or_default();
                self.registers
                    .entry(key)
                    .or_default()
                    .set(req.value.clone());
                Outcome::Ok(req.value.clone())
            }
            "cas" => {
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
                let cell = self.registers.entry(key).or_default();
                if cell.current == *old {
                    cell.set(new.clone());
                    Outcome::Ok(req.value.clone())
                } else {
                    Outcome::fail("cas: value differs")
                }
            }
            f => no_function("register", f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{MemoryFactory, req};

    #[test]
    fn register_reads_writes_and_cas() {
        let factory = MemoryFactory::<Registers>::linearizable();
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

    /// Reads with `p` staleness after writes of 1 then 2: how many saw 1.
    fn stale_register_reads(seed: u64, p: f64) -> usize {
        let factory = MemoryFactory::<Registers>::stale(p, seed);
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
}
