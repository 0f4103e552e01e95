//! `register`: `read`, `write` and `cas` on registers over independent keys; checked
//! for linearizability key by key against a compare-and-set register.

use splitbrain_checkers::registry::CheckerParams;
use splitbrain_checkers::{ModelKind, ModelSpec};
use splitbrain_history::Value;

use crate::workload::{Values, Workload};

#[derive(Debug, Clone, Copy)]
pub struct Register;

impl Workload for Register {
    fn name(&self) -> &'static str {
        "register"
    }

    fn about(&self) -> &'static str {
        "read / write / cas per key, values 0..4; linearizable per key"
    }

    fn functions(&self) -> &'static [&'static str] {
        &["read", "write", "cas"]
    }

    fn default_mix(&self) -> &'static [(&'static str, u32)] {
        &[("read", 1), ("write", 1), ("cas", 1)]
    }

    fn independent_keys(&self) -> bool {
        true
    }

    fn values(&self, _: usize, _: usize) -> Box<dyn Values> {
        Box::new(RegisterValues)
    }

    fn default_checkers(&self) -> Vec<(&'static str, CheckerParams)> {
        let model = ModelSpec::new(ModelKind::CasRegister).with_independent(true);
        vec![
            (
                splitbrain_checkers::linearizable::NAME,
                CheckerParams { model: Some(model) },
            ),
            (splitbrain_checkers::stats::NAME, CheckerParams::default()),
        ]
    }
}

/// As Jepsen's: a write is a random integer in 0..5, a cas a random `[old new]` pair of such.
#[derive(Debug, Clone, Copy)]
struct RegisterValues;

impl Values for RegisterValues {
    fn value(&mut self, f: &str, rng: &mut fastrand::Rng) -> Value {
        match f {
            "write" => Value::Int(rng.i64(0..5)),
            "cas" => Value::List(vec![Value::Int(rng.i64(0..5)), Value::Int(rng.i64(0..5))]),
            _ => Value::Nil,
        }
    }
}
