//! Loading big histories: `cargo bench -p splitbrain-history --bench read_history`.
//!
//! Generates a Jepsen-style independent register history — 1,000,000 ops over
//! 1,000 keys by 100 worker processes (a process that gets `info` is replaced
//! by a fresh one), `:value [key value]` tuples, `:time` and `:index` — as EDN
//! (a vector of maps, and the `#jepsen.history.Op{...}` record form) and as
//! JSON Lines, then reads each with `read_path` in a fresh process, so each
//! peak RSS (VmHWM) is that read's own. Also times clojure-reader on the EDN,
//! the reason the fast EDN path exists.
//!
//! Goal (with checking, which lives in `checkers/`): 1M ops / ~110 MB loaded
//! and checked in under 2 s and 500 MiB.
//!
//! `-- --keep` keeps the generated files in the temp dir for reuse.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use splitbrain_history::codec::{ReadOptions, load_path, write_jsonl};

const OPS: u64 = 1_000_000;
const KEYS: u64 = 1_000;
const WORKERS: usize = 100;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--measure") {
        measure(Path::new(&args[i + 1]), args.get(i + 2).map(String::as_str));
        return;
    }
    let keep = args.iter().any(|a| a == "--keep");
    let dir = std::env::temp_dir().join("splitbrain-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let edn = dir.join("1m-independent.edn");
    let records = dir.join("1m-independent-records.edn");
    let jsonl = dir.join("1m-independent.jsonl");
    if !edn.exists() || !records.exists() {
        generate(&edn, false);
        generate(&records, true);
    }
    if !jsonl.exists() {
        // The same ops, written by the native writer.
        let loaded = load_path(&edn, &ReadOptions::default()).unwrap();
        let f = std::fs::File::create(&jsonl).unwrap();
        write_jsonl(loaded.history.ops(), BufWriter::new(f)).unwrap();
    }
    let me = std::env::current_exe().unwrap();
    for path in [&edn, &records, &jsonl] {
        run(&me, path, None);
    }
    run(&me, &edn, Some("clojure-reader"));
    if !keep {
        for path in [&edn, &records, &jsonl] {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn run(me: &Path, path: &Path, mode: Option<&str>) {
    let mut cmd = Command::new(me);
    cmd.arg("--measure").arg(path);
    if let Some(m) = mode {
        cmd.arg(m);
    }
    let status = cmd.status().unwrap();
    assert!(status.success());
}

fn measure(path: &Path, mode: Option<&str>) {
    let size = std::fs::metadata(path).unwrap().len();
    let name = path.file_name().unwrap().to_string_lossy();
    let cpu_before = cpu_seconds();
    let start = Instant::now();
    // Timed up to the loaded value; dropping it is timed apart.
    let (ops, secs, cpu, drop_secs);
    if mode == Some("clojure-reader") {
        let text = std::fs::read_to_string(path).unwrap();
        let edn = clojure_reader::edn::read_string(&text).unwrap();
        (secs, cpu) = (start.elapsed().as_secs_f64(), cpu_seconds() - cpu_before);
        ops = match edn {
            clojure_reader::edn::Edn::Vector(ref v) => v.len(),
            _ => 0,
        };
        let dropping = Instant::now();
        drop(edn);
        drop_secs = dropping.elapsed().as_secs_f64();
    } else {
        let loaded = load_path(path, &ReadOptions::default()).unwrap();
        (secs, cpu) = (start.elapsed().as_secs_f64(), cpu_seconds() - cpu_before);
        assert!(loaded.history.ops()[0].key.is_some(), "keys split or given");
        ops = loaded.history.len();
        let dropping = Instant::now();
        drop(loaded);
        drop_secs = dropping.elapsed().as_secs_f64();
    }
    assert_eq!(ops as u64, OPS);
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .unwrap_or(0);
    println!(
        "{:<30} {:>4} MB  {:>7} ops  wall {:6.3} s  cpu {:6.3} s  {:4.0} MB/s  peak RSS {:4} MiB  (drop {:.3} s; {})",
        name,
        size / 1_000_000,
        ops,
        secs,
        cpu,
        size as f64 / 1e6 / secs,
        hwm / 1024,
        drop_secs,
        mode.unwrap_or("read_path: parse, split keys, pair, validate"),
    );
}

/// User + system CPU time of this process so far (wall time suffers when
/// other builds share the machine; CPU time much less).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesized command name; utime and stime are 14 and 15.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// A deterministic history: workers pick a random key and a read, write or
/// cas, complete it ok (70%), fail (20%) or info (10%, then the worker gets a
/// fresh process id, as Jepsen does).
fn generate(path: &PathBuf, records: bool) {
    let mut w = BufWriter::new(std::fs::File::create(path).unwrap());
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut open: Vec<Option<(u64, &str, String)>> = vec![None; WORKERS];
    let mut process: Vec<u64> = (0..WORKERS as u64).collect();
    let mut time = 1_000_000_000u64;
    let prefix = if records { "#jepsen.history.Op" } else { "" };
    w.write_all(b"[").unwrap();
    for index in 0..OPS {
        time += 100_000 + next() % 400_000;
        let worker = (next() % WORKERS as u64) as usize;
        let p = process[worker];
        let (kind, f, key, value, error) = match open[worker].take() {
            None => {
                let key = next() % KEYS;
                let (f, value) = match next() % 3 {
                    0 => ("read", "nil".to_string()),
                    1 => ("write", (next() % 5).to_string()),
                    _ => ("cas", format!("[{} {}]", next() % 5, next() % 5)),
                };
                open[worker] = Some((key, f, value.clone()));
                ("invoke", f, key, value, "")
            }
            Some((key, f, value)) => {
                let (kind, error) = match next() % 10 {
                    0..=6 => ("ok", ""),
                    7 | 8 => (
                        "fail",
                        if f == "cas" {
                            ""
                        } else {
                            ", :error :not-found"
                        },
                    ),
                    _ => ("info", ", :error :timeout"),
                };
                if kind == "info" {
                    process[worker] += WORKERS as u64;
                }
                let value = if f == "read" && kind == "ok" {
                    (next() % 5).to_string()
                } else {
                    value
                };
                (kind, f, key, value, error)
            }
        };
        if index > 0 {
            w.write_all(b"\n ").unwrap();
        }
        write!(
            w,
            "{prefix}{{:type :{kind}, :f :{f}, :value [{key} {value}], :time {time}, :process {p}, :index {index}{error}}}"
        )
        .unwrap();
    }
    w.write_all(b"]\n").unwrap();
}
