//! `--fail-on`: which verdicts make `test` and `analyze` exit non-zero, so that
//! CI can gate on invalid histories alone or on anything short of valid.

use splitbrain_checkers::Verdict;

use crate::exit;

#[derive(clap::Args, Debug, Clone)]
pub struct GateArgs {
    /// What fails the command: `unknown` (the default: invalid exits 1, unknown 2) or
    /// `invalid` (only an invalid verdict fails; unknown exits 0).
    #[arg(long, value_enum, default_value_t = FailOn::Unknown, value_name = "VERDICT")]
    pub fail_on: FailOn,
}

/// The mildest verdict that fails the command.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    /// Fail on invalid only.
    Invalid,
    /// Fail on invalid or unknown.
    Unknown,
}

impl GateArgs {
    /// The exit code for a run's verdict: 0 valid, 1 invalid, 2 unknown — or 0 for
    /// unknown under `--fail-on invalid`.
    pub fn code(&self, v: Verdict) -> u8 {
        if v == Verdict::Unknown && self.fail_on == FailOn::Invalid {
            eprintln!(
                "note: the verdict is unknown, which does not fail the run under --fail-on invalid"
            );
            return exit::VALID;
        }
        exit::of(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_on_chooses_what_is_non_zero() {
        let strict = GateArgs {
            fail_on: FailOn::Unknown,
        };
        let lenient = GateArgs {
            fail_on: FailOn::Invalid,
        };
        assert_eq!(
            [Verdict::Valid, Verdict::Invalid, Verdict::Unknown].map(|v| strict.code(v)),
            [0, 1, 2]
        );
        assert_eq!(
            [Verdict::Valid, Verdict::Invalid, Verdict::Unknown].map(|v| lenient.code(v)),
            [0, 1, 0]
        );
    }
}
