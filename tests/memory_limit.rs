//! `splitbrain check --memory-limit` covers the whole command and is honoured:
//! the built binary runs on a pathological history (and on a history too big
//! to read within the limit), and its peak RSS, taken from the kernel's
//! accounting of that one child (`wait4`'s `ru_maxrss`), stays within the
//! limit plus the overhead the README states, with verdict unknown (exit 2).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};

const MIB: u64 = 1 << 20;

/// What README and `--help` promise: peak RSS ≤ limit + this.
const STATED_OVERHEAD: u64 = 16 * MIB;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    peak_rss: u64,
}

/// Runs the binary and reaps it with `wait4`, which reports the peak RSS of
/// exactly this child.
fn check_measured(dir: &Path, args: &[&str]) -> Run {
    let out = dir.join("stdout");
    let err = dir.join("stderr");
    let child = Command::new(env!("CARGO_BIN_EXE_splitbrain"))
        .arg("check")
        .args(args)
        .stdout(Stdio::from(File::create(&out).unwrap()))
        .stderr(Stdio::from(File::create(&err).unwrap()))
        .spawn()
        .expect("the splitbrain binary runs");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data, filled in by the kernel.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child; `child` is not waited on again.
    let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(got, pid, "wait4: {}", std::io::Error::last_os_error());
    std::mem::forget(child);
    assert!(libc::WIFEXITED(status), "killed by a signal: {status}");
    let run = Run {
        code: libc::WEXITSTATUS(status),
        stdout: std::fs::read_to_string(&out).unwrap(),
        stderr: std::fs::read_to_string(&err).unwrap(),
        // Linux reports kilobytes.
        peak_rss: usage.ru_maxrss as u64 * 1024,
    };
    eprintln!(
        "$ splitbrain check {}\nexit {}, peak RSS {:.1} MiB\n{}{}",
        args.join(" "),
        run.code,
        run.peak_rss as f64 / MIB as f64,
        run.stdout,
        run.stderr
    );
    run
}

/// `n` writes of distinct values by `n` processes, all concurrent (60 lines
/// for n = 30): before each return, every subset of the other writes may
/// already have taken effect, so the JIT engine's frontier holds 2^n
/// configurations.
fn write_pathological(path: &Path, n: u64) {
    let mut f = BufWriter::new(File::create(path).unwrap());
    let mut i = 0;
    for kind in ["invoke", "ok"] {
        for p in 0..n {
            writeln!(
                f,
                "{{\"index\":{i},\"process\":{p},\"type\":\"{kind}\",\"f\":\"write\",\"value\":{p}}}"
            )
            .unwrap();
            i += 1;
        }
    }
}

fn mib(b: u64) -> f64 {
    b as f64 / MIB as f64
}

#[test]
fn the_jit_engine_stays_within_the_memory_limit_on_a_pathological_history() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("concurrent-writes.jsonl");
    write_pathological(&file, 30);
    // The release binary gets the 400 MiB; a debug one, 10 times
    // slower, a smaller limit with the same promise.
    let limit = if cfg!(debug_assertions) {
        96 * MIB
    } else {
        400 * MIB
    };
    let limit_arg = format!("{}MiB", limit / MIB);
    let path = file.to_str().unwrap();
    let run = check_measured(
        dir.path(),
        &[
            path,
            "--model",
            "register",
            "--engine",
            "jit",
            "--memory-limit",
            &limit_arg,
        ],
    );
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains(&format!("memory limit of {} MiB reached", limit / MIB)),
        "{}",
        run.stdout
    );
    // The hint names the other engine, not the one that just ran out.
    assert!(!run.stdout.contains("--engine jit"), "{}", run.stdout);
    assert!(run.stdout.contains("--engine wgl"), "{}", run.stdout);
    assert!(
        run.peak_rss <= limit + STATED_OVERHEAD,
        "peak RSS {:.1} MiB with --memory-limit {limit_arg} (stated overhead {} MiB)",
        mib(run.peak_rss),
        STATED_OVERHEAD / MIB
    );
    // The history really drives memory up: the search filled its budget.
    assert!(
        run.peak_rss >= limit * 3 / 4,
        "peak RSS only {:.1} MiB: the history is not pathological",
        mib(run.peak_rss)
    );
}

#[test]
fn reading_a_history_larger_than_the_limit_is_unknown_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("large.jsonl");
    // 300,000 ops (600,000 lines): about 150 MiB of heap once read.
    {
        let mut f = BufWriter::new(File::create(&file).unwrap());
        for i in 0..600_000u64 {
            let (p, kind) = ((i / 2) % 8, if i % 2 == 0 { "invoke" } else { "ok" });
            writeln!(
                f,
                "{{\"index\":{i},\"process\":{p},\"type\":\"{kind}\",\"f\":\"write\",\"value\":{}}}",
                (i / 2) % 5
            )
            .unwrap();
        }
    }
    let path = file.to_str().unwrap();
    let run = check_measured(
        dir.path(),
        &[path, "--model", "register", "--memory-limit", "40MiB"],
    );
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(&format!(
            "unknown: memory limit of 40 MiB reached while reading {path}"
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.peak_rss <= 40 * MIB + STATED_OVERHEAD,
        "peak RSS {:.1} MiB with --memory-limit 40MiB",
        mib(run.peak_rss)
    );
    // The same with --json: still JSON on stdout, saying unknown.
    let run = check_measured(
        dir.path(),
        &[
            path,
            "--model",
            "register",
            "--memory-limit",
            "40MiB",
            "--json",
        ],
    );
    assert_eq!(run.code, 2);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON on stdout");
    assert_eq!(json["verdict"], "unknown");
    assert!(
        json["files"][0]["error"]
            .as_str()
            .unwrap()
            .contains("while reading"),
        "{json}"
    );
    // Within a limit that fits, the same file is checked.
    let run = check_measured(
        dir.path(),
        &[path, "--model", "register", "--memory-limit", "1GiB"],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}
