//! `set`: `add` of unique integers, then a final `read` of the whole set by every
//! worker; checked for lost and unexpected elements (Jepsen's set checker).

use splitbrain_checkers::registry::CheckerParams;
use splitbrain_history::Value;

use crate::Request;
use crate::workload::{Values, Workload};

#[derive(Debug, Clone, Copy)]
pub struct Set;

impl Workload for Set {
    fn name(&self) -> &'static str {
        "set"
    }

    fn about(&self) -> &'static str {
        "add unique integers, then every worker reads the whole set"
    }

    fn functions(&self) -> &'static [&'static str] {
        &["add", "read"]
    }

    /// Only adds during the main phase (its reads come in the final phase), as
    /// Jepsen's set workload.
    fn default_mix(&self) -> &'static [(&'static str, u32)] {
        &[("add", 1)]
    }

    fn values(&self, worker: usize, concurrency: usize) -> Box<dyn Values> {
        Box::new(Elements {
            next: worker as i64,
            step: concurrency as i64,
        })
    }

    fn final_requests(&self) -> Vec<Request> {
        vec![Request::new("read", Value::Nil)]
    }

    fn default_checkers(&self) -> Vec<(&'static str, CheckerParams)> {
        vec![
            (splitbrain_checkers::set::NAME, CheckerParams::default()),
            (splitbrain_checkers::stats::NAME, CheckerParams::default()),
        ]
    }
}

/// Worker `w` of `c` adds `w`, `w + c`, `w + 2c`, ...: unique across workers and increasing.
#[derive(Debug, Clone, Copy)]
struct Elements {
    next: i64,
    step: i64,
}

impl Values for Elements {
    fn value(&mut self, f: &str, _: &mut fastrand::Rng) -> Value {
        if f != "add" {
            return Value::Nil;
        }
        let e = self.next;
        self.next += self.step;
        Value::Int(e)
    }
}
