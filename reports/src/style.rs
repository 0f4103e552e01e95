//! Colours: of op outcomes, of verdicts, and of faults ([`FaultColours`], a table the
//! caller passes in, so that each fault can bring its own).

use splitbrain_checkers::Verdict;
use splitbrain_history::OpType;

/// The CSS class of a verdict (`valid`, `invalid`, `unknown`).
pub(crate) fn verdict_class(v: Verdict) -> &'static str {
    v.as_str()
}

pub(crate) fn outcome_color(o: OpType) -> &'static str {
    match o {
        OpType::Ok => "#2563eb",
        OpType::Fail => "#db2777",
        _ => "#f59e0b",
    }
}

/// Distinct colours for lines that are not outcomes (clock offsets per node).
pub(crate) const PALETTE: [&str; 8] = [
    "#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be185d", "#4d7c0f",
];

/// The colours of the faults splitbrain injects, by name, as drawn before fault
/// colours became a table: the default.
const BUILT_IN: [(&str, &str); 5] = [
    ("partition", "#8b5cf6"),
    ("kill", "#ef4444"),
    ("pause", "#0ea5e9"),
    ("clock", "#10b981"),
    ("packet", "#a16207"),
];

/// For faults the table does not name (a Jepsen history's `start-bridge`): picked by
/// the name's hash, so one fault has one colour in every report.
const FALLBACK: [&str; 8] = [
    "#6b7280", "#d946ef", "#14b8a6", "#f97316", "#65a30d", "#6366f1", "#e11d48", "#78716c",
];

/// The colour of each fault's shading, legend, timeline bar and table row, by fault
/// name (`partition`, the `<fault>` of `start-<fault>`). Colours are `#rrggbb`: they
/// go into SVG and CSS attributes, and charts mix them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultColours {
    by_fault: Vec<(String, String)>,
}

/// A colour that is not `#rrggbb`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fault `{fault}`: colour `{colour}` is not #rrggbb")]
pub struct InvalidColour {
    pub fault: String,
    pub colour: String,
}

impl Default for FaultColours {
    /// The colours of splitbrain's own faults.
    fn default() -> FaultColours {
        let mut c = FaultColours::none();
        for (fault, colour) in BUILT_IN {
            c.by_fault.push((fault.into(), colour.into()));
        }
        c
    }
}

impl FaultColours {
    /// No fault named: every fault takes its fallback colour.
    pub fn none() -> FaultColours {
        FaultColours {
            by_fault: Vec::new(),
        }
    }

    /// A table of exactly these `(fault, colour)` pairs.
    pub fn from_pairs<F: AsRef<str>, C: AsRef<str>>(
        pairs: impl IntoIterator<Item = (F, C)>,
    ) -> Result<FaultColours, InvalidColour> {
        let mut c = FaultColours::none();
        for (fault, colour) in pairs {
            c.set(fault.as_ref(), colour.as_ref())?;
        }
        Ok(c)
    }

    /// Gives `fault` its colour, replacing any it had.
    pub fn set(&mut self, fault: &str, colour: &str) -> Result<(), InvalidColour> {
        let hex = colour.strip_prefix('#').unwrap_or_default();
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(InvalidColour {
                fault: fault.into(),
                colour: colour.into(),
            });
        }
        match self.by_fault.iter_mut().find(|(f, _)| f == fault) {
            Some((_, c)) => *c = colour.into(),
            None => self.by_fault.push((fault.into(), colour.into())),
        }
        Ok(())
    }

    /// The colour of `fault`: its own, or the fallback its name picks.
    pub fn colour(&self, fault: &str) -> &str {
        match self.by_fault.iter().find(|(f, _)| f == fault) {
            Some((_, c)) => c,
            None => FALLBACK[(fnv1a(fault) % FALLBACK.len() as u64) as usize],
        }
    }
}

/// FNV-1a: a hash that is the same in every build and on every machine (std's is not
/// promised to be).
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_the_colours_of_splitbrains_faults() {
        let c = FaultColours::default();
        assert_eq!(c.colour("partition"), "#8b5cf6");
        assert_eq!(c.colour("kill"), "#ef4444");
        assert_eq!(c.colour("pause"), "#0ea5e9");
        assert_eq!(c.colour("clock"), "#10b981");
        assert_eq!(c.colour("packet"), "#a16207");
    }

    #[test]
    fn unknown_faults_get_a_stable_fallback() {
        let c = FaultColours::default();
        let bridge = c.colour("bridge");
        assert!(FALLBACK.contains(&bridge));
        assert_eq!(FaultColours::none().colour("bridge"), bridge);
        // Not all unknown faults look alike.
        let names = [
            "bridge",
            "ring",
            "majorities-ring",
            "clock-strobe",
            "bump",
            "member",
        ];
        let mut seen: Vec<&str> = names.iter().map(|n| c.colour(n)).collect();
        seen.sort_unstable();
        seen.dedup();
        assert!(seen.len() > 1, "{seen:?}");
    }

    #[test]
    fn a_table_passed_in_wins_and_bad_colours_are_refused() {
        let c =
            FaultColours::from_pairs([("partition", "#000000"), ("bridge", "#123abc")]).unwrap();
        assert_eq!(c.colour("partition"), "#000000");
        assert_eq!(c.colour("bridge"), "#123abc");
        // Only what was passed in: kill falls back.
        assert!(FALLBACK.contains(&c.colour("kill")));
        for bad in ["red", "#12345", "#1234567", "#12345g", "\"><script>", ""] {
            let e = FaultColours::from_pairs([("kill", bad)]).unwrap_err();
            assert_eq!(e.colour, bad);
        }
    }
}
