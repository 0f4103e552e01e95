//! [`Workload`]: what the clients do, and which checkers judge it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use splitbrain_history::Value;

use crate::Request;

/// The kinds of workload splitbrain drives, after Jepsen's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// `read`, `write` and `cas` on registers over independent keys; checked
    /// for linearizability key by key against a compare-and-set register.
    Register,
    /// `add` of unique integers, then a final `read` of the whole set; checked
    /// for lost and unexpected elements (Jepsen's set checker).
    Set,
    /// `add` of positive increments and `read`s of a counter; every read must
    /// lie within what the acknowledged and possible increments allow.
    Counter,
}

/// A checker a workload asks for, by name; the runner builds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "checker", rename_all = "lowercase")]
pub enum CheckerSpec {
    /// Linearizability against `model` (e.g. `cas-register`), of each key's
    /// sub-history separately when `per_key`.
    Linearizable { model: &'static str, per_key: bool },
    /// `checkers::set`.
    Set,
    /// `checkers::counter`.
    Counter,
    /// `checkers::stats`: ok/fail/info counts per function.
    Stats,
}

impl CheckerSpec {
    pub fn name(&self) -> &'static str {
        match self {
            CheckerSpec::Linearizable { .. } => "linearizable",
            CheckerSpec::Set => "set",
            CheckerSpec::Counter => "counter",
            CheckerSpec::Stats => "stats",
        }
    }
}

impl Workload {
    pub const ALL: [Workload; 3] = [Workload::Register, Workload::Set, Workload::Counter];

    pub fn name(self) -> &'static str {
        match self {
            Workload::Register => "register",
            Workload::Set => "set",
            Workload::Counter => "counter",
        }
    }

    /// The functions the workload's clients understand.
    pub fn functions(self) -> &'static [&'static str] {
        match self {
            Workload::Register => &["read", "write", "cas"],
            Workload::Set => &["add", "read"],
            Workload::Counter => &["add", "read"],
        }
    }

    /// The main phase's default mix of functions and their weights.
    ///
    /// The set workload only adds during the main phase (its reads come in the
    /// final phase), as Jepsen's set workload does.
    pub fn default_mix(self) -> Vec<(Box<str>, u32)> {
        let mix: &[(&str, u32)] = match self {
            Workload::Register => &[("read", 1), ("write", 1), ("cas", 1)],
            Workload::Set => &[("add", 1)],
            Workload::Counter => &[("add", 1), ("read", 1)],
        };
        mix.iter().map(|&(f, w)| (f.into(), w)).collect()
    }

    /// Whether the workload runs over independent keys (only the register's
    /// checkers split a history by key).
    pub fn supports_independent_keys(self) -> bool {
        self == Workload::Register
    }

    /// The checkers that judge this workload's histories by default.
    pub fn default_checkers(self) -> &'static [CheckerSpec] {
        match self {
            Workload::Register => &[
                CheckerSpec::Linearizable {
                    model: "cas-register",
                    per_key: true,
                },
                CheckerSpec::Stats,
            ],
            Workload::Set => &[CheckerSpec::Set, CheckerSpec::Stats],
            Workload::Counter => &[CheckerSpec::Counter, CheckerSpec::Stats],
        }
    }

    /// The final phase: requests *each worker* issues once, in order, after the
    /// main phase (and after the nemesis healed): a final read for the set and
    /// the counter (Jepsen's `each-thread (once {:f :read})`), none for the register.
    pub fn final_requests(self) -> Vec<Request> {
        match self {
            Workload::Register => Vec::new(),
            Workload::Set | Workload::Counter => vec![Request::new("read", Value::Nil)],
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown workload name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown workload `{0}`; expected one of: register, set, counter")]
pub struct UnknownWorkload(pub String);

impl FromStr for Workload {
    type Err = UnknownWorkload;

    fn from_str(s: &str) -> Result<Workload, UnknownWorkload> {
        Workload::ALL
            .into_iter()
            .find(|w| w.name() == s)
            .ok_or_else(|| UnknownWorkload(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_rejects_others() {
        for w in Workload::ALL {
            assert_eq!(w.name().parse::<Workload>().unwrap(), w);
        }
        let e = "bank".parse::<Workload>().unwrap_err();
        assert!(e.to_string().contains("register, set, counter"), "{e}");
    }

    #[test]
    fn default_mix_uses_known_functions() {
        for w in Workload::ALL {
            for (f, _) in w.default_mix() {
                assert!(w.functions().contains(&&*f), "{w}: {f}");
            }
        }
    }

    #[test]
    fn checkers_and_final_phase() {
        assert_eq!(Workload::Set.default_checkers()[0].name(), "set");
        assert_eq!(
            Workload::Register.default_checkers()[0],
            CheckerSpec::Linearizable {
                model: "cas-register",
                per_key: true
            }
        );
        assert!(Workload::Register.final_requests().is_empty());
        assert_eq!(Workload::Set.final_requests()[0].f.as_ref(), "read");
    }
}
