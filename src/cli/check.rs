//! `splitbrain check`: verdicts on history files.
//!
//! Reads each file (format detected, or `--format`), checks it for
//! linearizability against `--model`, prints a short summary (or JSON with
//! `--json`) and exits with the worst verdict: 0 valid, 1 invalid, 2 unknown,
//! 3 when any file could not be read or does not fit the model.
//!
//! `--memory-limit` covers the whole command: the engines measure the
//! process's live heap (the binary's counting allocator) and stop with
//! unknown when it reaches the limit, and a watchdog thread ends the command
//! with unknown (exit 2) when a phase that does not poll, reading a file,
//! gets there first.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use splitbrain_checkers::{
    EngineChoice, LeftOut, Limits, LinearizabilityResult, ModelKind, ModelSpec, UnknownCause,
    Verdict, check_linearizable, heap,
};
use splitbrain_history::Value;
use splitbrain_history::codec::{Format, ReadOptions, load_path};

use crate::exit;

/// Check histories for linearizability against a model.
#[derive(clap::Args)]
#[command(after_help = "\
Exit codes: 0 valid, 1 invalid, 2 unknown (out of time or memory, or nothing to check: never \
reported as valid), 3 bad input (a file that cannot be read or does not fit the model) or usage.
With several files the worst verdict wins (invalid, then unknown, then valid); any error gives 3.
Values are equal only within a type: 1 and 1.0 differ (integers and floats never compare \
equal); :x and \"x\" are the same.

Examples:
  splitbrain check history.edn --model cas-register
  splitbrain check history.jsonl --model register --time-limit 30s --memory-limit 2GiB --json")]
pub struct CheckArgs {
    /// History files (JSON Lines, Jepsen EDN or Jepsen log lines).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// The model: register, cas-register, mutex, multi-register, set, fifo-queue (queue).
    #[arg(long, short, value_name = "MODEL", value_parser = parse_model)]
    pub model: ModelKind,

    /// File format: jsonl, edn or jepsen-log. Detected from the extension and content when omitted.
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    pub format: Option<Format>,

    /// Print the full result as JSON on stdout instead of a summary.
    #[arg(long)]
    pub json: bool,

    /// Give up (verdict unknown, exit 2) after this long, e.g. `500ms`, `30s`, `5m`.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub time_limit: Option<Duration>,

    /// Memory the whole command may use (its heap: the history being read and
    /// the search), e.g. `512MiB`, `2GiB`; past it the verdict is unknown (exit 2).
    /// Peak RSS stays within the limit + 16 MiB.
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes, default_value = "1GiB")]
    pub memory_limit: u64,

    /// Split the history by key (Jepsen independent `[key value]` tuples or a `key`
    /// field) and check each key on its own. Detected when neither flag is given.
    #[arg(long, overrides_with = "no_independent")]
    pub independent: bool,

    /// Treat the history as a single object even if its ops carry keys.
    #[arg(long, overrides_with = "independent")]
    pub no_independent: bool,

    /// Initial value of the register(s), as JSON (`0`, `"x"`, `null`) or `nil`. Default nil;
    /// Knossos' multi-register histories start at 0.
    #[arg(long, value_name = "VALUE", value_parser = parse_value)]
    pub initial_value: Option<Value>,

    /// Search engine: auto (race both when cores are idle), wgl, jit or race.
    #[arg(long, value_name = "ENGINE", default_value = "auto", value_parser = parse_engine)]
    pub engine: EngineChoice,

    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

fn parse_model(s: &str) -> Result<ModelKind, String> {
    s.parse()
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

fn parse_engine(s: &str) -> Result<EngineChoice, String> {
    s.parse()
}

/// The project's one duration grammar (`500ms`, `30s`, `1m30s`, or seconds; at most 7d).
fn parse_duration(s: &str) -> Result<Duration, String> {
    splitbrain_history::duration::parse(s).map_err(|e| e.to_string())
}

/// `1048576`, `512MiB`, `2GiB`, `100MB`, `64k`: binary and decimal units, case-insensitive.
fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size; expected e.g. 512MiB or 2GiB"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "kb" => 1_000,
        "m" | "mib" => 1 << 20,
        "mb" => 1_000_000,
        "g" | "gib" => 1 << 30,
        "gb" => 1_000_000_000,
        "t" | "tib" => 1 << 40,
        "tb" => 1_000_000_000_000,
        u => {
            return Err(format!(
                "unknown size unit `{u}` in `{s}`; expected B, KiB, MiB, GiB, TiB (or KB, MB, GB, TB)"
            ));
        }
    };
    Ok((n * mult as f64) as u64)
}

fn parse_value(s: &str) -> Result<Value, String> {
    if s == "nil" {
        return Ok(Value::Nil);
    }
    serde_json::from_str(s).map_err(|e| {
        format!("`{s}` is not a value ({e}); expected JSON such as 0, \"x\" or null, or nil")
    })
}

/// What `--json` prints: the overall verdict and one entry per file.
#[derive(Serialize)]
struct Report<'a> {
    verdict: Verdict,
    files: Vec<FileReport<'a>>,
}

#[derive(Serialize)]
struct FileReport<'a> {
    file: &'a Path,
    /// `null` when the file could not be checked; see `error`.
    verdict: Option<Verdict>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<LinearizabilityResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub fn run(args: CheckArgs) -> anyhow::Result<u8> {
    let independent = match (args.independent, args.no_independent) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    let read = ReadOptions {
        format: args.format,
        independent,
        ..ReadOptions::default()
    };
    let mut spec = ModelSpec::new(args.model).with_independent(independent != Some(false));
    if let Some(v) = &args.initial_value {
        spec = spec.with_initial(v.clone());
    }
    let limits = Limits {
        time: args.time_limit,
        memory_bytes: Some(args.memory_limit),
        engine: args.engine,
        threads: args.threads,
    };
    let watch = Watchdog::start(args.memory_limit, args.json);

    let mut overall = Verdict::Valid;
    let mut errors = 0;
    let mut reports = Vec::new();
    for file in &args.files {
        watch.set(Phase::Reading, file);
        let outcome = load_path(file, &read)
            .map_err(|e| e.to_string())
            .and_then(|loaded| {
                for w in &loaded.warnings {
                    eprintln!("warning: {w}");
                }
                watch.set(Phase::Checking, file);
                check_linearizable(&loaded.history, &spec, &limits)
                    .map_err(|e| format!("{}: {e}", file.display()))
            });
        watch.set(Phase::Output, file);
        match outcome {
            Ok(result) => {
                overall = overall.worst(result.verdict);
                if !args.json {
                    print_summary(file, &result, args.files.len() > 1, args.engine);
                }
                reports.push(FileReport {
                    file,
                    verdict: Some(result.verdict),
                    result: Some(result),
                    error: None,
                });
            }
            Err(message) => {
                errors += 1;
                eprintln!("error: {message}");
                reports.push(FileReport {
                    file,
                    verdict: None,
                    result: None,
                    error: Some(message),
                });
            }
        }
    }
    if args.json {
        let report = Report {
            verdict: overall,
            files: reports,
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if args.files.len() > 1 {
        println!(
            "overall: {}{}",
            overall,
            if errors > 0 {
                format!(" ({errors} file(s) could not be checked)")
            } else {
                String::new()
            }
        );
    }
    Ok(if errors > 0 {
        exit::ERROR
    } else {
        exit::of(overall)
    })
}

/// What the command is doing, for the watchdog's message and threshold.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Phase {
    Reading = 1,
    Checking = 2,
    Output = 3,
}

/// How far past the limit the live heap may go while a check runs before the
/// watchdog steps in: the engines stop themselves at the limit and free their
/// tables; this is only the backstop for a search that does not.
const CHECKING_GRACE: u64 = 8 << 20;

/// Ends the command with unknown (exit 2) when the live heap reaches the
/// memory limit in a phase that does not watch it itself (reading a file).
struct Watchdog {
    state: Option<Arc<WatchState>>,
}

struct WatchState {
    phase: AtomicU8,
    file: Mutex<PathBuf>,
}

impl Watchdog {
    /// Polls every 2 ms; does nothing without the counting allocator.
    fn start(limit: u64, json: bool) -> Watchdog {
        if heap::live().is_none() {
            return Watchdog { state: None };
        }
        let state = Arc::new(WatchState {
            phase: AtomicU8::new(0),
            file: Mutex::new(PathBuf::new()),
        });
        let shared = state.clone();
        let spawned = std::thread::Builder::new()
            .name("memory-watchdog".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_millis(2));
                    let live = heap::live().unwrap_or(0) as u64;
                    let phase = shared.phase.load(Ordering::Relaxed);
                    let threshold = if phase == Phase::Reading as u8 {
                        limit
                    } else {
                        limit.saturating_add(CHECKING_GRACE)
                    };
                    if live >= threshold {
                        let doing = match phase {
                            p if p == Phase::Reading as u8 => "reading",
                            p if p == Phase::Checking as u8 => "checking",
                            _ => "reporting on",
                        };
                        let file = shared
                            .file
                            .lock()
                            .map(|f| f.display().to_string())
                            .unwrap_or_default();
                        out_of_memory(limit, doing, &file, json);
                    }
                }
            });
        Watchdog {
            state: spawned.ok().map(|_| state),
        }
    }

    fn set(&self, phase: Phase, file: &Path) {
        if let Some(s) = &self.state {
            if let Ok(mut f) = s.file.lock() {
                f.clear();
                f.push(file);
            }
            s.phase.store(phase as u8, Ordering::Relaxed);
        }
    }
}

/// Says unknown and exits 2 at once. Writes straight to the file descriptors
/// and skips exit handlers: the main thread may hold the stdout lock.
fn out_of_memory(limit: u64, doing: &str, file: &str, json: bool) -> ! {
    let reason = format!(
        "memory limit of {} MiB reached while {doing} {file}",
        limit >> 20
    );
    let text = format!("unknown: {reason}; raise --memory-limit\n");
    let write = |fd: i32, s: &str| {
        // SAFETY: writing a valid buffer to a file descriptor we own.
        unsafe { libc::write(fd, s.as_ptr().cast(), s.len()) };
    };
    if json {
        let report = serde_json::json!({
            "verdict": "unknown",
            "files": [{ "file": file, "verdict": "unknown", "error": reason }],
        });
        write(1, &format!("{report:#}\n"));
        write(2, &text);
    } else {
        write(1, &text);
    }
    // SAFETY: ends the process; nothing is left half-written that exit handlers would finish.
    unsafe { libc::_exit(exit::UNKNOWN as i32) }
}

fn print_summary(file: &Path, r: &LinearizabilityResult, several: bool, engine: EngineChoice) {
    let s = &r.stats;
    let keys = if s.keys == 1 {
        String::new()
    } else {
        format!(", {} keys", s.keys)
    };
    println!(
        "{}: {} ({}, {} ops{keys}, checked in {})",
        file.display(),
        r.verdict,
        r.model,
        s.calls,
        human_ms(s.elapsed_ms)
    );
    let indent = if several { "  " } else { "" };
    if let Some(left_out) = LeftOut::summary(&r.left_out) {
        println!("{indent}  {left_out}");
    }
    match r.verdict {
        Verdict::Valid => {}
        Verdict::Unknown if r.unknown_cause == Some(UnknownCause::NoEvidence) => {
            println!(
                "{indent}  too little to judge: {}",
                r.unknown_reason.as_deref().unwrap_or_default()
            );
        }
        Verdict::Unknown => {
            let undecided = r
                .keys
                .iter()
                .filter(|k| k.verdict == Verdict::Unknown)
                .count();
            println!(
                "{indent}  undecided: {} ({undecided} of {} key(s)){}",
                r.unknown_reason
                    .as_deref()
                    .unwrap_or("the search did not finish"),
                r.keys.len(),
                hint(r.unknown_cause, engine)
            );
        }
        Verdict::Invalid => {
            if let Some(cx) = &r.counterexample {
                println!("{indent}  {}", cx.message);
                for (i, p) in cx.prefixes.iter().enumerate() {
                    let ops: Vec<String> = p
                        .ops
                        .iter()
                        .map(|o| format!("{} → {}", o.op.describe(), o.state_after))
                        .collect();
                    println!(
                        "{indent}  prefix {}: … {} ; then it fails",
                        i + 1,
                        if ops.is_empty() {
                            format!("(initial state {})", p.state)
                        } else {
                            ops.join(", ")
                        }
                    );
                }
                let invalid_keys = r
                    .keys
                    .iter()
                    .filter(|k| k.verdict == Verdict::Invalid)
                    .count();
                if invalid_keys > 1 {
                    println!("{indent}  ({invalid_keys} keys are invalid; --json lists them all)");
                }
            }
        }
    }
}

/// What to try next after an unknown verdict: it depends on what ran out and
/// on the engine that ran (suggesting the engine in use helps nobody).
fn hint(cause: Option<UnknownCause>, engine: EngineChoice) -> String {
    let other = match engine {
        EngineChoice::Wgl => ", or try --engine jit (better at finding a violation)",
        EngineChoice::Jit => ", or try --engine wgl (faster on valid histories)",
        // Both engines ran already.
        EngineChoice::Auto | EngineChoice::Race => "",
    };
    match cause {
        Some(UnknownCause::Time) => format!("; raise --time-limit{other}"),
        Some(UnknownCause::Memory) => format!("; raise --memory-limit{other}"),
        Some(UnknownCause::TooConcurrent) if engine == EngineChoice::Jit => {
            "; try --engine wgl".into()
        }
        _ => format!("; raise --time-limit or --memory-limit{other}"),
    }
}

fn human_ms(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("512MiB").unwrap(), 512 << 20);
        assert_eq!(parse_bytes("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_bytes("100MB").unwrap(), 100_000_000);
        assert_eq!(parse_bytes("4096").unwrap(), 4096);
        assert_eq!(parse_bytes("1.5gib").unwrap(), 3 << 29);
        assert!(
            parse_bytes("12 parsecs")
                .unwrap_err()
                .contains("unknown size unit")
        );
        assert!(parse_bytes("MiB").is_err());
    }

    #[test]
    fn durations_and_values() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_value("nil").unwrap(), Value::Nil);
        assert_eq!(parse_value("0").unwrap(), Value::Int(0));
        assert_eq!(parse_value("\"x\"").unwrap(), Value::str("x"));
        assert!(parse_value("x").is_err());
    }
}
