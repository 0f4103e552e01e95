//! `counter`: `add` of positive increments and `read`s of one counter; every read
//! must lie within what the acknowledged and possible increments allow.

use splitbrain_checkers::registry::CheckerParams;
use splitbrain_history::Value;

use crate::Request;
use crate::workload::{Values, Workload};

#[derive(Debug, Clone, Copy)]
pub struct Counter;

impl Workload for Counter {
    fn name(&self) -> &'static str {
        "counter"
    }

    fn about(&self) -> &'static str {
        "add 1 and read one counter; reads within the possible increments"
    }

    fn functions(&self) -> &'static [&'static str] {
        &["add", "read"]
    }

    fn default_mix(&self) -> &'static [(&'static str, u32)] {
        &[("add", 1), ("read", 1)]
    }

    fn values(&self, _: usize, _: usize) -> Box<dyn Values> {
        Box::new(Increments)
    }

    fn final_requests(&self) -> Vec<Request> {
        vec![Request::new("read", Value::Nil)]
    }

    fn default_checkers(&self) -> Vec<(&'static str, CheckerParams)> {
        vec![
            (splitbrain_checkers::counter::NAME, CheckerParams::default()),
            (splitbrain_checkers::stats::NAME, CheckerParams::default()),
        ]
    }
}

/// Every add is `1`.
#[derive(Debug, Clone, Copy)]
struct Increments;

impl Values for Increments {
    fn value(&mut self, f: &str, _: &mut fastrand::Rng) -> Value {
        match f {
            "add" => Value::Int(1),
            _ => Value::Nil,
        }
    }
}
