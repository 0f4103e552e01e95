//! Bounds on a check: time, memory, threads, and which engine runs.
//!
//! The engines poll a [`Control`] every few thousand steps: it knows the
//! deadline, the shared memory budget and a cancellation flag (set when a
//! competing engine has already answered). Past any bound the answer is
//! `unknown`, never `valid`.
//!
//! Memory is the live heap of the whole process when the program installed
//! [`CountingAlloc`](crate::heap::CountingAlloc) (the `splitbrain` binary
//! does); otherwise the engines' own estimates of their tables. Either way an
//! engine asks for [`Control::room`] before a table doubles, so one growth
//! step cannot jump far past the limit between two polls.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::heap;

/// Which search engine checks each key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineChoice {
    /// Race both engines when there are idle cores; otherwise try WGL with a
    /// small step budget and switch to JIT when it runs over.
    #[default]
    Auto,
    /// Wing–Gong–Lowe depth-first search only (no shortcut before it).
    Wgl,
    /// Lowe's just-in-time sweep only (no shortcut before it).
    Jit,
    /// Both engines on every key, on separate threads; the first definite answer wins.
    Race,
}

impl FromStr for EngineChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(EngineChoice::Auto),
            "wgl" => Ok(EngineChoice::Wgl),
            "jit" => Ok(EngineChoice::Jit),
            "race" => Ok(EngineChoice::Race),
            _ => Err(format!(
                "unknown engine `{s}`; expected auto, wgl, jit or race"
            )),
        }
    }
}

impl fmt::Display for EngineChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EngineChoice::Auto => "auto",
            EngineChoice::Wgl => "wgl",
            EngineChoice::Jit => "jit",
            EngineChoice::Race => "race",
        })
    }
}

/// Bounds on one call of [`check_linearizable`](crate::check_linearizable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock limit for the whole check; `None`: no limit.
    pub time: Option<Duration>,
    /// Memory the check may use; `None`: no limit. With the counting allocator
    /// installed, the live heap of the whole process (history included); else
    /// what the engines hold in memo tables and configuration sets, summed over
    /// all threads.
    pub memory_bytes: Option<u64>,
    pub engine: EngineChoice,
    /// Worker threads; `None`: one per core.
    pub threads: Option<usize>,
}

impl Default for Limits {
    /// No time limit, 1 GiB of memory, automatic engine choice, every core.
    fn default() -> Limits {
        Limits {
            time: None,
            memory_bytes: Some(1 << 30),
            engine: EngineChoice::Auto,
            threads: None,
        }
    }
}

/// Why an engine stopped without an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Halt {
    Time,
    Memory,
    /// Another engine answered first, or the caller gave up.
    Cancelled,
    /// The engine's own step budget (used by the automatic engine choice).
    Steps,
    /// More operations pending at once than the engine's representation holds.
    TooConcurrent,
}

impl Halt {
    pub(crate) fn reason(self, limits: &Limits) -> String {
        match self {
            Halt::Time => format!(
                "time limit of {} reached",
                limits.time.map_or("?".into(), |t| format!("{:?}", t))
            ),
            Halt::Memory => format!(
                "memory limit of {} MiB reached",
                limits.memory_bytes.map_or(0, |b| b >> 20)
            ),
            Halt::Cancelled => "cancelled".into(),
            Halt::Steps => "step budget exhausted".into(),
            Halt::TooConcurrent => "too many operations pending at once for the JIT engine".into(),
        }
    }

    pub(crate) fn cause(self) -> crate::UnknownCause {
        use crate::UnknownCause as C;
        match self {
            Halt::Time => C::Time,
            Halt::Memory => C::Memory,
            Halt::TooConcurrent => C::TooConcurrent,
            Halt::Cancelled | Halt::Steps => C::Cancelled,
        }
    }

    /// Which halts say something about the history's difficulty (and so are
    /// worth reporting) rather than about the race.
    pub(crate) fn rank(self) -> u8 {
        match self {
            Halt::Cancelled => 0,
            Halt::Steps => 1,
            Halt::TooConcurrent => 2,
            Halt::Time => 3,
            Halt::Memory => 4,
        }
    }
}

/// Shared by every engine of one check.
pub(crate) struct Budget {
    pub start: Instant,
    deadline: Option<Instant>,
    memory_limit: u64,
    used: AtomicU64,
    peak: AtomicU64,
    configurations: AtomicU64,
}

impl Budget {
    pub fn new(limits: &Limits) -> Budget {
        let start = Instant::now();
        Budget {
            start,
            deadline: limits.time.map(|t| start + t),
            memory_limit: limits.memory_bytes.unwrap_or(u64::MAX),
            used: AtomicU64::new(0),
            peak: AtomicU64::new(0),
            configurations: AtomicU64::new(0),
        }
    }

    pub fn peak_bytes(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }

    pub fn configurations(&self) -> u64 {
        self.configurations.load(Ordering::Relaxed)
    }
}

/// One engine's handle on the budget: polls time and cancellation, and
/// reports its memory so the sum over all threads stays within the budget.
pub(crate) struct Control<'a> {
    budget: &'a Budget,
    cancel: &'a AtomicBool,
    held: u64,
    /// This engine's own cap, below the shared budget.
    cap: u64,
    configurations: u64,
}

impl<'a> Control<'a> {
    pub fn new(budget: &'a Budget, cancel: &'a AtomicBool) -> Control<'a> {
        Control {
            budget,
            cancel,
            held: 0,
            cap: u64::MAX,
            configurations: 0,
        }
    }

    /// Limits this engine to `1/parts` of the shared budget, so that a racing
    /// engine whose tables explode cannot starve the other.
    pub fn share(mut self, parts: u64) -> Control<'a> {
        self.cap = self.budget.memory_limit / parts.max(1);
        self
    }

    /// Time, cancellation and the real heap. Cheap enough for every few
    /// thousand steps.
    pub fn poll(&self) -> Result<(), Halt> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(Halt::Cancelled);
        }
        if let Some(d) = self.budget.deadline
            && Instant::now() >= d
        {
            return Err(Halt::Time);
        }
        self.room(0)
    }

    /// Whether the live heap has room for `extra` more bytes: asked before a
    /// table grows (the new table is allocated while the old one is live).
    /// Without the counting allocator, always: the estimates of
    /// [`Control::hold`] already include the growth.
    #[inline]
    pub fn room(&self, extra: u64) -> Result<(), Halt> {
        match heap::live() {
            Some(live) if (live as u64).saturating_add(extra) >= self.budget.memory_limit => {
                Err(Halt::Memory)
            }
            _ => Ok(()),
        }
    }

    /// Bytes the live heap may still grow by; `None` without the counting allocator.
    pub fn headroom(&self) -> Option<u64> {
        heap::live().map(|live| self.budget.memory_limit.saturating_sub(live as u64))
    }

    /// Reports that this engine now holds `bytes`; fails past the shared budget.
    pub fn hold(&mut self, bytes: u64) -> Result<(), Halt> {
        let used = if bytes >= self.held {
            self.budget
                .used
                .fetch_add(bytes - self.held, Ordering::Relaxed)
                + (bytes - self.held)
        } else {
            self.budget
                .used
                .fetch_sub(self.held - bytes, Ordering::Relaxed)
                - (self.held - bytes)
        };
        self.held = bytes;
        self.budget.peak.fetch_max(used, Ordering::Relaxed);
        if used > self.budget.memory_limit || bytes > self.cap {
            Err(Halt::Memory)
        } else {
            Ok(())
        }
    }

    pub fn count_configurations(&mut self, n: u64) {
        self.configurations += n;
    }
}

impl Drop for Control<'_> {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.held, Ordering::Relaxed);
        self.budget
            .configurations
            .fetch_add(self.configurations, Ordering::Relaxed);
    }
}
