//! [`Workload`]: what the clients do, and which checkers judge it; the workloads, in
//! ONE table ([`WORKLOADS`]).
//!
//! A workload is a value, not a variant: one module under `workloads/` implementing
//! [`Workload`], plus one line in [`WORKLOADS`]. Names in errors and help texts
//! ("expected one of …") come from that table.

use std::fmt;
use std::str::FromStr;

use splitbrain_checkers::registry::CheckerParams;
use splitbrain_history::Value;

use crate::Request;
use crate::workloads::{counter, register, set, unique_ids};

/// A workload, after Jepsen's: the functions its clients understand, how the
/// generator fills in their values, its final phase and the checkers that judge it.
pub trait Workload: Send + Sync + fmt::Debug {
    /// The name test definitions use: `register`, `set`, ...
    fn name(&self) -> &'static str;

    /// One line for help texts.
    fn about(&self) -> &'static str;

    /// The functions its clients understand.
    fn functions(&self) -> &'static [&'static str];

    /// The main phase's default mix of functions and their weights.
    fn default_mix(&self) -> &'static [(&'static str, u32)];

    /// Whether it runs over independent keys (Jepsen's `independent`): only when
    /// its checkers split a history by key.
    fn independent_keys(&self) -> bool {
        false
    }

    /// The values of worker `worker` (of `concurrency`): asked by the generator for
    /// each request, after it chose the function.
    fn values(&self, worker: usize, concurrency: usize) -> Box<dyn Values>;

    /// The final phase: requests *each worker* issues once, in order, after the main
    /// phase (and after the nemesis healed), e.g. Jepsen's `each-thread (once {:f :read})`.
    fn final_requests(&self) -> Vec<Request> {
        Vec::new()
    }

    /// The checkers that judge its histories by default: names in the checkers'
    /// registry, with what they need to know of this workload (e.g. its model).
    fn default_checkers(&self) -> Vec<(&'static str, CheckerParams)>;
}

/// A worker's source of request values: the register's random values, the set's
/// next element, ... Each draws only from `rng` (the worker's own, seeded from
/// `(seed, worker)`) and its own state, so a worker's sequence is reproducible.
pub trait Values: Send + fmt::Debug {
    /// The value of the next request of function `f`.
    fn value(&mut self, f: &str, rng: &mut fastrand::Rng) -> Value;
}

/// Values that are always nil (reads, `generate`).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoValues;

impl Values for NoValues {
    fn value(&mut self, _: &str, _: &mut fastrand::Rng) -> Value {
        Value::Nil
    }
}

/// Every workload, in the order help texts list them.
pub static WORKLOADS: &[&dyn Workload] = &[
    &register::Register,
    &set::Set,
    &counter::Counter,
    &unique_ids::UniqueIds,
];

/// Every workload's name, in table order.
pub fn names() -> Vec<&'static str> {
    WORKLOADS.iter().map(|w| w.name()).collect()
}

/// The workload named `name`.
pub fn find(name: &str) -> Result<&'static dyn Workload, UnknownWorkload> {
    WORKLOADS
        .iter()
        .copied()
        .find(|w| w.name() == name)
        .ok_or_else(|| UnknownWorkload(name.to_owned()))
}

/// `"register".parse::<&dyn Workload>()`.
impl FromStr for &'static dyn Workload {
    type Err = UnknownWorkload;

    fn from_str(s: &str) -> Result<&'static dyn Workload, UnknownWorkload> {
        find(s)
    }
}

impl fmt::Display for dyn Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Workloads are equal when their names are: the table holds each name once.
impl PartialEq for dyn Workload {
    fn eq(&self, other: &dyn Workload) -> bool {
        self.name() == other.name()
    }
}

/// An unknown workload name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown workload `{0}`; expected one of: {names}", names = names().join(", "))]
pub struct UnknownWorkload(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_rejects_others() {
        for (i, w) in WORKLOADS.iter().enumerate() {
            let parsed: &dyn Workload = w.name().parse().unwrap();
            assert_eq!(parsed, *w);
            assert!(
                WORKLOADS[..i].iter().all(|o| o.name() != w.name()),
                "{w} twice"
            );
        }
        let e = "bank".parse::<&dyn Workload>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown workload `bank`; expected one of: register, set, counter, unique-ids"
        );
    }

    #[test]
    fn default_mix_and_final_phase_use_known_functions() {
        for w in WORKLOADS {
            assert!(!w.default_mix().is_empty(), "{w}");
            for (f, _) in w.default_mix() {
                assert!(w.functions().contains(f), "{w}: {f}");
            }
            for r in w.final_requests() {
                assert!(w.functions().contains(&&*r.f), "{w}: {}", r.f);
            }
        }
    }

    #[test]
    fn default_checkers_are_in_the_checkers_registry() {
        for w in WORKLOADS {
            let checkers = w.default_checkers();
            assert!(!checkers.is_empty(), "{w}");
            for (name, params) in checkers {
                let c = splitbrain_checkers::registry::build(name, &params).unwrap();
                assert_eq!(c.name(), name);
            }
        }
    }

    #[test]
    fn checkers_and_final_phase() {
        let set = find("set").unwrap();
        assert_eq!(set.default_checkers()[0].0, "set");
        assert_eq!(set.final_requests()[0].f.as_ref(), "read");
        let register = find("register").unwrap();
        let (name, params) = &register.default_checkers()[0];
        assert_eq!(*name, "linearizable");
        let model = params.model.as_ref().unwrap();
        assert_eq!(model.kind, splitbrain_checkers::ModelKind::CasRegister);
        assert!(model.independent);
        assert!(register.final_requests().is_empty());
        assert!(register.independent_keys());
        assert!(!set.independent_keys());
        let ids = find("unique-ids").unwrap();
        assert_eq!(ids.default_checkers()[0].0, "unique-ids");
        assert_eq!(ids.functions(), ["generate"]);
    }
}
