//! `splitbrain client-check -- COMMAND ARGS…`: a conformance run of a client program
//! (`client.type: process`) against the in-process reference store
//! ([`splitbrain::reference`]), before it is pointed at a cluster.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use splitbrain::harness::{self, Environment};
use splitbrain::reference::{Misbehaviour, ReferenceStore};
use splitbrain::runner;
use splitbrain::store::Store;
use splitbrain_checkers::Verdict;
use splitbrain_control::Node;
use splitbrain_history::duration;
use splitbrain_workloads::process;
use tokio_util::sync::CancellationToken;

use crate::cli::test::{parse_op_timeout, parse_rate, parse_time_limit};
use crate::exit;

/// The workloads a reference store serves, in the order they are checked by default.
const DEFAULT_WORKLOADS: [&str; 3] = ["register", "set", "counter"];
/// At most this many workers: enough to find races in a client, few enough for a laptop.
const MAX_CONCURRENCY: usize = 64;

/// Check a client program against an in-process reference store.
///
/// Drives the program through the JSON-lines protocol (docs/client-protocol.md) with a
/// short workload per data type, against a correct store on 127.0.0.1 that the program
/// is told to use: `"reference": true` in the `open` options, the store at `node.host`
/// and `node.ports.client` (`POST /invoke`). The store loses some replies (the op took
/// effect: the client must answer `info`) and refuses some ops (they did not: `fail`).
/// Reports protocol violations (bad lines, wrong ids, exits, `open` failures) and wrong
/// answers (the workload's checkers on the history). A program that hangs is not a
/// violation of its own: its ops time out as `info` (the counts show it) and a history
/// without `ok` ops is too little evidence. Each workload's run is kept in the store with
/// its report and the program's stderr.
///
/// Exit codes: 0 conformant, 1 violations or wrong answers, 2 too little evidence, 3 error.
#[derive(clap::Args, Debug)]
pub struct ClientCheckArgs {
    /// Workloads to drive, comma-separated (the program must implement each).
    #[arg(long, value_delimiter = ',', default_values = DEFAULT_WORKLOADS,
          value_parser = clap::builder::PossibleValuesParser::new(splitbrain_workloads::workload::names()))]
    pub workload: Vec<String>,
    /// Workers (1 to 64): each runs its own copy of the program.
    #[arg(long, default_value_t = 4, value_parser = parse_concurrency)]
    pub concurrency: usize,
    /// How long each workload runs.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_time_limit)]
    pub time_limit: Duration,
    /// Target ops per second over all workers.
    #[arg(long, default_value_t = 100.0, value_parser = parse_rate)]
    pub rate: f64,
    /// How long an op may take before it is `info` and the program is killed.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_op_timeout)]
    pub op_timeout: Duration,
    /// Fraction of ops whose reply the store never sends after applying them (0 to 1).
    #[arg(long, default_value_t = 0.03, value_parser = parse_fraction)]
    pub lost_replies: f64,
    /// Fraction of ops the store refuses without applying them, with HTTP 503 (0 to 1).
    #[arg(long, default_value_t = 0.03, value_parser = parse_fraction)]
    pub unavailable: f64,
    /// A client option `KEY=VALUE` for the `open` message (VALUE as JSON if it parses,
    /// else a string); repeatable. `reference` is always true.
    #[arg(long = "option", value_name = "KEY=VALUE", value_parser = parse_option)]
    pub options: Vec<(String, serde_json::Value)>,
    /// Seed for the workload and the store's misbehaviour.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Store directory (the runs are kept as `client-check-<workload>`).
    #[arg(long, default_value = "store")]
    pub store: PathBuf,
    /// The client program and its arguments (after `--`).
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

fn parse_concurrency(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_CONCURRENCY).contains(&n) => Ok(n),
        _ => Err(format!(
            "expected a number of workers from 1 to {MAX_CONCURRENCY}, got `{s}`"
        )),
    }
}

fn parse_fraction(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("expected a fraction from 0 to 1, got `{s}`")),
    }
}

fn parse_option(s: &str) -> Result<(String, serde_json::Value), String> {
    let Some((k, v)) = s.split_once('=') else {
        return Err(format!("expected KEY=VALUE, got `{s}`"));
    };
    if k.is_empty() {
        return Err(format!("expected KEY=VALUE with a key, got `{s}`"));
    }
    let v = serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.into()));
    Ok((k.to_string(), v))
}

/// What one workload's run showed.
struct Finding {
    workload: String,
    verdict: Verdict,
    violations: Vec<String>,
    line: String,
}

pub fn run(args: ClientCheckArgs) -> Result<u8> {
    if args.lost_replies + args.unavailable > 1.0 {
        bail!("--lost-replies and --unavailable add up to more than 1");
    }
    if args.command.first().is_none_or(|c| c.is_empty()) {
        bail!("give the client program after `--`, e.g. -- python3 clients/etcd_gateway.py");
    }
    splitbrain::logging::init();
    let seed = args.seed.unwrap_or_else(|| fastrand::u64(..));
    let rt = crate::cli::runtime()?;
    let store = Store::new(&args.store);
    let mut findings = Vec::new();
    for workload in &args.workload {
        let f = rt.block_on(check_one(&args, workload, seed, &store))?;
        println!("{}", f.line);
        for v in f.violations.iter().take(5) {
            println!("  protocol: {v}");
        }
        if f.violations.len() > 5 {
            println!("  … and {} more", f.violations.len() - 5);
        }
        findings.push(f);
    }
    let violations: usize = findings.iter().map(|f| f.violations.len()).sum();
    let wrong: Vec<&str> = findings
        .iter()
        .filter(|f| f.verdict == Verdict::Invalid)
        .map(|f| f.workload.as_str())
        .collect();
    let unknown = findings.iter().any(|f| f.verdict == Verdict::Unknown);
    if violations == 0 && wrong.is_empty() && !unknown {
        println!(
            "client-check: conformant ({} workloads, seed {seed})",
            findings.len()
        );
        return Ok(exit::VALID);
    }
    if violations > 0 || !wrong.is_empty() {
        println!(
            "client-check: NOT conformant: {violations} protocol violation(s); wrong answers in: {} (seed {seed})",
            if wrong.is_empty() {
                "none".to_string()
            } else {
                wrong.join(", ")
            }
        );
        return Ok(exit::INVALID);
    }
    println!("client-check: too little evidence to judge (seed {seed})");
    Ok(exit::UNKNOWN)
}

async fn check_one(
    args: &ClientCheckArgs,
    workload: &str,
    seed: u64,
    store: &Store,
) -> Result<Finding> {
    let w = splitbrain_workloads::workload::find(workload)?;
    let reference = ReferenceStore::start(
        w,
        Misbehaviour {
            lost_reply: args.lost_replies,
            unavailable: args.unavailable,
            seed,
        },
    )
    .await?;
    let mut options = serde_json::Map::new();
    for (k, v) in &args.options {
        options.insert(k.clone(), v.clone());
    }
    options.insert("reference".into(), serde_json::Value::Bool(true));
    // JSON is YAML: the definition is built as data, so no argument needs quoting.
    let def = serde_json::json!({
        "name": format!("client-check-{workload}"),
        "client": {
            "type": "process",
            "command": args.command,
            "port": reference.addr.port(),
            "options": options,
        },
        "workload": {"type": workload},
        "concurrency": args.concurrency,
        "rate": args.rate,
        "time-limit": duration::format(args.time_limit),
        "op-timeout": duration::format(args.op_timeout),
        "seed": seed,
    });
    let def = splitbrain::config::TestDef::parse(&def.to_string(), "client-check")
        .context("the client-check definition")?;
    let env = Environment {
        nodes: vec![Node {
            name: "ref".into(),
            host: "127.0.0.1".into(),
            port: 22,
        }],
        ssh: None,
        lab: None,
    };
    let outcome = harness::run_test(&def, &env, store, CancellationToken::new()).await?;
    let history = std::fs::read_to_string(outcome.dir.join(splitbrain::store::HISTORY_FILE))
        .with_context(|| format!("cannot read the history in {}", outcome.dir.display()))?;
    let violations = violations(&history);
    let counts = &reference.counts;
    let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    let ops = &outcome.results.ops;
    let line = format!(
        "{workload}: {} — {} ops ({} ok, {} fail, {} info); the store applied {}, lost {} replies, refused {}; {}",
        outcome.results.verdict,
        ops.ok + ops.fail + ops.info,
        ops.ok,
        ops.fail,
        ops.info,
        load(&counts.applied),
        load(&counts.lost),
        load(&counts.unavailable),
        outcome.dir.display()
    );
    Ok(Finding {
        workload: workload.to_string(),
        verdict: outcome.results.verdict,
        violations,
        line,
    })
}

/// The protocol violations a history records: ops the process client ended as `info`
/// because the program broke the protocol, and ops no program could be opened for.
fn violations(history: &str) -> Vec<String> {
    history
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|op| op["process"] != "nemesis")
        .filter_map(|op| {
            let error = op["error"].as_str()?;
            let broke = op["type"] == "info" && process::is_protocol_error(error);
            let no_client = op["type"] == "fail" && error.contains(runner::NO_CLIENT);
            (broke || no_client).then(|| error.to_string())
        })
        .collect()
}
