//! The faults, one module each, and the one table that lists them ([`FAULTS`]).
//!
//! Everything that names the faults is derived from the table: [`FaultKind::ALL`], the
//! names `--nemesis` and `nemesis.faults` accept (and their "expected one of" lists),
//! [`help`], [`fault_colours`] for reports, the order in which faults are probed, and the
//! sections of the heal script. A fault's module holds the rest: its settings (the
//! `nemesis.<name>` section with its defaults and checks), its plan, how it starts and
//! stops on the nodes, the values of its ops, and its part of healing.
//!
//! Adding a fault: a module here implementing [`Fault`](crate::Fault), a variant of
//! [`FaultKind`], a line in [`FAULTS`], and its settings field in
//! [`NemesisConfig`] (the YAML section).

use std::fmt;
use std::str::FromStr;

use splitbrain_control::db::Db;

use crate::NemesisConfig;
use crate::config::Section;
use crate::fault::AnyFault;
use crate::heal::HealSection;

pub mod clock;
pub mod kill;
pub mod packet;
pub mod partition;
pub mod pause;

/// A kind of fault: the key of its line in [`FAULTS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    Partition,
    Kill,
    Pause,
    Clock,
    Packet,
}

/// One line of the table: what the rest of splitbrain knows about a fault.
pub struct FaultEntry {
    pub kind: FaultKind,
    /// Its name in `--nemesis`, `nemesis.faults`, the op names (`start-<name>`) and reports.
    pub name: &'static str,
    /// What it does, in a few words (help texts).
    pub about: &'static str,
    /// Its shading in the report's charts and timeline: a CSS colour.
    pub colour: &'static str,
    /// Its `nemesis.<name>` settings.
    pub section: fn(&NemesisConfig) -> &dyn Section,
    pub section_mut: fn(&mut NemesisConfig) -> &mut dyn Section,
    /// The fault for one run, from the resolved configuration.
    pub build: fn(&NemesisConfig) -> Box<dyn AnyFault>,
    /// Its part of healing the named node, with or without the database definition: a
    /// section of the one heal script, or nothing when there is no trace of it a script can
    /// remove.
    pub heal: fn(Option<&Db>, &str) -> Option<HealSection>,
}

/// Every fault, in the order of [`FaultKind`] (the schedule draws from this order, so it
/// is part of what a seed means; the check below keeps the two in step).
pub const FAULTS: [FaultEntry; 5] = [
    FaultEntry {
        kind: FaultKind::Partition,
        name: "partition",
        about: "iptables DROP rules between nodes (halves, one node, majorities ring, bridge, primaries, a grudge)",
        colour: "#8b5cf6",
        section: |c| &c.partition,
        section_mut: |c| &mut c.partition,
        build: partition::build,
        heal: partition::heal,
    },
    FaultEntry {
        kind: FaultKind::Kill,
        name: "kill",
        about: "SIGKILL of the database, started again when healed",
        colour: "#ef4444",
        section: |c| &c.kill,
        section_mut: |c| &mut c.kill,
        build: kill::build,
        heal: kill::heal,
    },
    FaultEntry {
        kind: FaultKind::Pause,
        name: "pause",
        about: "SIGSTOP of the database, SIGCONT when healed",
        colour: "#0ea5e9",
        section: |c| &c.pause,
        section_mut: |c| &mut c.pause,
        build: pause::build,
        heal: pause::heal,
    },
    FaultEntry {
        kind: FaultKind::Clock,
        name: "clock",
        about: "the database's clock bumped, strobed or drifting (libfaketime)",
        colour: "#10b981",
        section: |c| &c.clock,
        section_mut: |c| &mut c.clock,
        build: clock::build,
        heal: clock::heal,
    },
    FaultEntry {
        kind: FaultKind::Packet,
        name: "packet",
        about: "packets delayed, lost, duplicated or reordered (tc netem)",
        colour: "#a16207",
        section: |c| &c.packet,
        section_mut: |c| &mut c.packet,
        build: packet::build,
        heal: packet::heal,
    },
];

// The table is indexed by kind.
const _: () = {
    let mut i = 0;
    while i < FAULTS.len() {
        assert!(
            FAULTS[i].kind as usize == i,
            "FAULTS must follow FaultKind's order"
        );
        i += 1;
    }
};

impl FaultKind {
    /// Every kind, in table order.
    pub const ALL: [FaultKind; FAULTS.len()] = {
        let mut all = [FaultKind::Partition; FAULTS.len()];
        let mut i = 0;
        while i < FAULTS.len() {
            all[i] = FAULTS[i].kind;
            i += 1;
        }
        all
    };

    pub fn entry(self) -> &'static FaultEntry {
        &FAULTS[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.entry().name
    }

    /// The kind called `name`, if there is one.
    pub fn named(name: &str) -> Option<FaultKind> {
        FAULTS.iter().find(|e| e.name == name).map(|e| e.kind)
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FaultKind {
    type Err = String;
    fn from_str(s: &str) -> Result<FaultKind, String> {
        FaultKind::named(s.trim()).ok_or_else(|| {
            format!(
                "unknown fault `{}`; expected {}",
                s.trim(),
                names().join(", ")
            )
        })
    }
}

/// Every fault's name, in table order.
pub fn names() -> Vec<&'static str> {
    FAULTS.iter().map(|e| e.name).collect()
}

/// Fault name → CSS colour, for the report's shading of each fault.
pub fn fault_colours() -> Vec<(&'static str, &'static str)> {
    FAULTS.iter().map(|e| (e.name, e.colour)).collect()
}

/// One line per fault, `name: what it does`, for help texts.
pub fn help() -> String {
    FAULTS
        .iter()
        .map(|e| format!("{}: {}", e.name, e.about))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_names_every_kind_once() {
        assert_eq!(names(), ["partition", "kill", "pause", "clock", "packet"]);
        for k in FaultKind::ALL {
            assert_eq!(k.name().parse::<FaultKind>(), Ok(k));
            assert_eq!(k.to_string(), k.name());
        }
        let err = "partiton".parse::<FaultKind>().unwrap_err();
        assert_eq!(
            err,
            "unknown fault `partiton`; expected partition, kill, pause, clock, packet"
        );
        assert!(help().lines().count() == FAULTS.len() && help().contains("clock: "));
    }

    #[test]
    fn colours_are_todays() {
        assert_eq!(
            fault_colours(),
            [
                ("partition", "#8b5cf6"),
                ("kill", "#ef4444"),
                ("pause", "#0ea5e9"),
                ("clock", "#10b981"),
                ("packet", "#a16207"),
            ]
        );
    }
}
