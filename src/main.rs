//! `splitbrain`: the command-line front of the harness.
//!
//! Each subcommand lives in its own module under `src/cli/`; this file only
//! parses flags and maps outcomes to exit codes:
//! 0 valid, 1 invalid, 2 unknown, 3 bad input, usage or another error.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

/// Counts the live heap so that `--memory-limit` is measured, not estimated
/// (see `splitbrain_checkers::heap`).
#[global_allocator]
static ALLOC: splitbrain_checkers::heap::CountingAlloc = splitbrain_checkers::heap::CountingAlloc;

/// Exit codes shared by every subcommand that reaches a verdict.
pub mod exit {
    pub const VALID: u8 = 0;
    pub const INVALID: u8 = 1;
    pub const UNKNOWN: u8 = 2;
    pub const ERROR: u8 = 3;

    /// The exit code of a verdict.
    pub fn of(v: splitbrain_checkers::Verdict) -> u8 {
        match v {
            splitbrain_checkers::Verdict::Valid => VALID,
            splitbrain_checkers::Verdict::Invalid => INVALID,
            splitbrain_checkers::Verdict::Unknown => UNKNOWN,
        }
    }
}

#[derive(Parser)]
#[command(
    name = "splitbrain",
    version,
    about = "Jepsen-style fault-injection testing: lab nodes, faults, workloads, and a fast linearizability checker",
    after_help = "Exit codes: 0 valid, 1 invalid, 2 unknown (the checker ran out of time or memory), 3 bad input, usage or another error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Check(cli::check::CheckArgs),
    Lab(cli::lab::LabArgs),
    Db(cli::db::DbArgs),
    Test(cli::test::TestArgs),
    Analyze(cli::test::AnalyzeArgs),
    Heal(cli::heal::HealArgs),
    Serve(cli::serve::ServeArgs),
    ClientCheck(cli::client_check::ClientCheckArgs),
}

fn main() -> ExitCode {
    // Large blocks straight from and back to the kernel: by default glibc
    // raises its mmap threshold as large blocks are freed and then keeps up
    // to 32 MiB of freed blocks per arena resident, memory that the heap count
    // behind --memory-limit cannot see.
    // SAFETY: a malloc tunable, set before any thread is started.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 << 10);
    }
    // Behave like other Unix tools when the reader of our output goes away
    // (`splitbrain ... | head`): end quietly instead of panicking on a broken pipe.
    // SAFETY: resetting a signal disposition before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version are not errors; everything else is a usage error (3).
            let code = if e.use_stderr() { exit::ERROR } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Check(args) => cli::check::run(args),
        Command::Lab(args) => cli::lab::run(args),
        Command::Db(args) => cli::db::run(args),
        Command::Test(args) => cli::test::run(args),
        Command::Analyze(args) => cli::test::analyze(args),
        Command::Heal(args) => cli::heal::run(args),
        Command::Serve(args) => cli::serve::run(args),
        Command::ClientCheck(args) => cli::client_check::run(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::ERROR)
        }
    }
}
