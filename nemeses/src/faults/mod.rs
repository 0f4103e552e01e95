//! The faults, one module each, and the one table that lists them ([`FAULTS`]).
//!
//! Everything that names the faults is derived from the table: [`FaultKind::ALL`], the
//! names `--nemesis` and `nemesis.faults` accept (and their "expected one of" lists),
//! [`help`], [`fault_colours`] for reports, the order in which faults are probed, and the
//! sections of the heal script. A fault's module holds the rest: its settings (the
//! `nemesis.<name>` section with its defaults and checks), its plan, how it starts and
//! stops on the nodes, the values of its ops, and its part of healing.
//!
//! Adding a fault: a module here implementing [`Fault`](crate::Fault) with its settings
//! type and an `INFO` ([`FaultInfo`]), and one line in the table (`fault_table!`, below).

use std::fmt;
use std::str::FromStr;

use splitbrain_control::db::Db;

use crate::NemesisConfig;
use crate::config::Section;
use crate::fault::AnyFault;
use crate::heal::HealSection;

/// The table: one line per fault, `Kind "name" module: Settings`. `Kind` is its
/// [`FaultKind`] variant; `name` its name in `--nemesis`, `nemesis.faults`, the op names
/// (`start-<name>`) and reports, and the key of its `nemesis.<name>` section; `module` the
/// module below that holds it (its [`FaultInfo`] is `module::INFO`), and also the field of
/// [`NemesisConfig`] that holds its `Settings`. The order is part of what a seed means (the
/// schedule draws from it): append, never insert.
///
/// Whatever lists the faults is generated from this one table by handing it to a macro:
/// the modules, [`FaultKind`] and [`FAULTS`] here, [`NemesisConfig`]'s sections in
/// [`crate::config`].
macro_rules! fault_table {
    ($then:ident) => {
        $then! {
            Partition "partition" partition: $crate::faults::partition::PartitionOptions,
            Kill "kill" kill: $crate::target::ProcessOptions,
            Pause "pause" pause: $crate::target::ProcessOptions,
            Clock "clock" clock: $crate::faults::clock::ClockOptions,
            Packet "packet" packet: $crate::faults::packet::PacketOptions,
        }
    };
}
pub(crate) use fault_table;

/// What a fault's module tells the table about itself (its `INFO`).
pub struct FaultInfo {
    /// What it does, in a few words (help texts).
    pub about: &'static str,
    /// Its shading in the report's charts and timeline: a CSS colour.
    pub colour: &'static str,
    /// The fault for one run, from the resolved configuration.
    pub build: fn(&NemesisConfig) -> Box<dyn AnyFault>,
    /// Its part of healing the named node, with or without the database definition: a
    /// section of the one heal script, or nothing when there is no trace of it a script can
    /// remove.
    pub heal: fn(Option<&Db>, &str) -> Option<HealSection>,
}

/// One line of the table: what the rest of splitbrain knows about a fault.
pub struct FaultEntry {
    pub kind: FaultKind,
    /// Its name in `--nemesis`, `nemesis.faults`, the op names (`start-<name>`) and reports.
    pub name: &'static str,
    pub info: FaultInfo,
    /// Its `nemesis.<name>` settings.
    pub section: fn(&NemesisConfig) -> &dyn Section,
    pub section_mut: fn(&mut NemesisConfig) -> &mut dyn Section,
}

macro_rules! kinds_and_entries {
    ($($kind:ident $name:literal $module:ident: $settings:ty,)*) => {
        $(pub mod $module;)*

        /// A kind of fault: the key of its line in [`FAULTS`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum FaultKind {
            $($kind,)*
        }

        impl FaultKind {
            /// Every kind, in table order.
            pub const ALL: [FaultKind; [$(FaultKind::$kind),*].len()] = [$(FaultKind::$kind),*];
        }

        /// Every fault, in the order of [`FaultKind`] (the schedule draws from this order,
        /// so it is part of what a seed means).
        pub const FAULTS: [FaultEntry; FaultKind::ALL.len()] = [
            $(FaultEntry {
                kind: FaultKind::$kind,
                name: $name,
                info: $module::INFO,
                section: |c| &c.$module,
                section_mut: |c| &mut c.$module,
            },)*
        ];
    };
}
fault_table!(kinds_and_entries);

impl FaultKind {
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
    FAULTS.iter().map(|e| (e.name, e.info.colour)).collect()
}

/// One line per fault, `name: what it does`, for help texts.
pub fn help() -> String {
    FAULTS
        .iter()
        .map(|e| format!("{}: {}", e.name, e.info.about))
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
