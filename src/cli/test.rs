//! `splitbrain test [FILE]`: run a test definition against the nodes, check it, store it.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use splitbrain::config::{Concurrency, TestDef, numbers};
use splitbrain::harness::{self, Environment, RunOutcome};
use splitbrain::store::Store;
use splitbrain_history::duration;
use splitbrain_nemeses::{FaultSpec, parse_fault_list};
use tokio_util::sync::CancellationToken;

use crate::cli::nodes::NodeArgs;
use crate::exit;

/// Run a test: bring the database up on the nodes, drive a concurrent workload,
/// record the history, check it, and store everything under store/<test>/<time>/.
///
/// Without FILE, runs the built-in default (tests/etcd-register.yaml: etcd with
/// a register workload) on the lab's nodes.
///
/// Durations: `500ms`, `15s`, `1m30s`, `2h`, or a number of seconds; at most 7d.
/// The definition and every flag are checked before anything is created.
#[derive(clap::Args, Debug)]
pub struct TestArgs {
    /// Test definition (YAML), e.g. tests/etcd-register.yaml.
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub nodes: NodeArgs,
    /// Workers: a number, or `2n` for twice the node count (1 to 10000 workers in all).
    #[arg(long, value_parser = |s: &str| s.parse::<Concurrency>())]
    pub concurrency: Option<Concurrency>,
    /// How long the main phase runs: `60s`, `1m30s`, `2h`, or seconds (more than 0, at most 7d).
    #[arg(long, value_name = "DURATION", value_parser = parse_time_limit)]
    pub time_limit: Option<Duration>,
    /// Target ops per second over all workers, a positive number (default: as fast as possible).
    #[arg(long, value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// How long an op may take before it is recorded as `info`: `2s`, `500ms`, ... (1ms to 7d).
    #[arg(long, value_name = "DURATION", value_parser = parse_op_timeout)]
    pub op_timeout: Option<Duration>,
    /// Run the test this many times (1 to 10000); stop at the first run that is not valid.
    #[arg(long, default_value_t = 1, value_parser = parse_test_count)]
    pub test_count: usize,
    /// Leave the database running afterwards (to poke at it by hand).
    #[arg(long)]
    pub leave_db_running: bool,
    /// Seed for the generators (a run's seed is in its test.yaml).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override the workload (and use its default checkers).
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(splitbrain_workloads::workload::names()))]
    pub workload: Option<String>,
    #[arg(long, value_name = "FAULTS", help = splitbrain_nemeses::config::fault_list_help(), value_parser = |s: &str| parse_fault_list(s).map(FaultList))]
    pub nemesis: Option<FaultList>,
    /// Time between a fault's start and its stop, and between faults: `5s`, `1m30s`, ...
    /// (default 10s; 100ms to 7d).
    #[arg(long, value_parser = parse_nemesis_interval, value_name = "DURATION")]
    pub nemesis_interval: Option<Duration>,
    /// Store directory.
    #[arg(long, default_value = "store")]
    pub store: PathBuf,
    #[command(flatten)]
    pub gate: crate::cli::gate::GateArgs,
    /// Bring up a local lab of this many nodes (1 to 253) for the run and take it
    /// down afterwards, whatever happens (needs root; see `splitbrain lab`).
    #[arg(long, value_name = "NODES", value_parser = parse_lab_nodes)]
    pub lab: Option<usize>,
}

/// The most runs `--test-count` asks for: each one creates a run directory.
pub const MAX_TEST_COUNT: usize = 10_000;
/// `--lab`'s nodes live in the default /24 subnet: 254 addresses, one for the host.
const MAX_LAB_NODES: usize = 253;

/// A duration flag: the one grammar, then the field's own range check.
fn duration_flag(s: &str, check: fn(Duration) -> Result<(), String>) -> Result<Duration, String> {
    let d = duration::parse(s).map_err(|e| e.to_string())?;
    check(d)?;
    Ok(d)
}

pub(crate) fn parse_time_limit(s: &str) -> Result<Duration, String> {
    duration_flag(s, numbers::check_time_limit)
}

pub(crate) fn parse_op_timeout(s: &str) -> Result<Duration, String> {
    duration_flag(s, numbers::check_op_timeout)
}

fn parse_nemesis_interval(s: &str) -> Result<Duration, String> {
    duration_flag(s, splitbrain_nemeses::config::check_interval)
}

pub(crate) fn parse_rate(s: &str) -> Result<f64, String> {
    let r: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("expected a number of operations per second like 100, got `{s}`"))?;
    numbers::check_rate(r)?;
    Ok(r)
}

/// A whole number from 1 to `max`; `what` names it in the error.
fn bounded(s: &str, max: usize, what: &str) -> Result<usize, String> {
    let t = s.trim();
    let bad = || format!("expected {what} from 1 to {max}, got `{s}`");
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match t.parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(bad()),
    }
}

fn parse_test_count(s: &str) -> Result<usize, String> {
    bounded(s, MAX_TEST_COUNT, "a number of runs")
}

fn parse_lab_nodes(s: &str) -> Result<usize, String> {
    bounded(s, MAX_LAB_NODES, "a number of lab nodes")
}

/// `--nemesis partition,kill`: one flag value holding the whole list.
#[derive(Clone, Debug)]
pub struct FaultList(pub Vec<FaultSpec>);

pub fn run(args: TestArgs) -> Result<u8> {
    // The definition and the flags are checked before a lab, a run directory or an
    // SSH connection exists: bad input costs nothing to undo.
    let def = load_definition(&args)?;
    let rt = crate::cli::runtime()?;
    let Some(n) = args.lab else {
        return run_on_nodes(&args, &def, &rt);
    };
    if !args.nodes.nodes.is_empty()
        || !args.nodes.node.is_empty()
        || args.nodes.nodes_file.is_some()
    {
        anyhow::bail!(
            "--lab brings up its own nodes: drop --nodes/--node/--nodes-file, or drop --lab"
        );
    }
    // The built-in databases' private directories and the test's own database's.
    let db = def
        .db
        .as_deref()
        .map(splitbrain::builtin::load_db)
        .transpose()?;
    let mut cfg = splitbrain::builtin::lab_config(n, db.as_slice())?;
    cfg.dir = args.nodes.lab_dir.clone();
    if cfg.dir.join("inventory.json").exists() {
        anyhow::bail!(
            "a lab is already up in {}: run without --lab to use it, or `splitbrain lab down` first",
            cfg.dir.display()
        );
    }
    let up = rt.block_on(splitbrain_control::lab::up(&cfg));
    let result = match up {
        Ok(inv) => {
            eprintln!("lab up: {} nodes", inv.nodes.len());
            run_on_nodes(&args, &def, &rt)
        }
        Err(e) => Err(anyhow::anyhow!("lab up: {e}")),
    };
    // Always take the lab down, whatever happened above.
    match rt.block_on(splitbrain_control::lab::down(&cfg.dir, &cfg.name)) {
        Ok(report) => eprintln!("{report}"),
        Err(e) => eprintln!("error: lab down: {e} (run `splitbrain lab down`)"),
    }
    result
}

/// The test definition with the flags applied, checked.
fn load_definition(args: &TestArgs) -> Result<TestDef> {
    let mut def = match &args.file {
        Some(path) => TestDef::load(path)?,
        None => splitbrain::builtin::default_test()?,
    };
    apply_flags(&mut def, args);
    let source = match &args.file {
        Some(path) => path.display().to_string(),
        None => "the built-in test".into(),
    };
    def.validate()
        .map_err(|e| anyhow::anyhow!("{source} with the flags given: {e}"))?;
    // The database definition too (the run reads it again when it plans).
    if let Some(db) = &def.db {
        splitbrain::builtin::load_db(db)?;
    }
    Ok(def)
}

fn run_on_nodes(args: &TestArgs, def: &TestDef, rt: &tokio::runtime::Runtime) -> Result<u8> {
    splitbrain::logging::init();
    let uses_nodes = def.db.is_some() || def.client.needs_nodes();
    let env = if uses_nodes {
        let resolved = args.nodes.resolve()?;
        Environment {
            nodes: resolved.nodes,
            ssh: Some(resolved.ssh),
            lab: resolved.inventory.and_then(|i| i.lab),
        }
    } else {
        Environment::default()
    };
    let store = Store::new(&args.store);
    rt.block_on(async {
        let stop = CancellationToken::new();
        spawn_ctrl_c(stop.clone());
        let mut code = exit::VALID;
        for i in 0..args.test_count {
            if args.test_count > 1 {
                eprintln!("run {} of {}", i + 1, args.test_count);
            }
            let outcome = harness::run_test(def, &env, &store, stop.clone()).await?;
            print_summary(&outcome);
            code = args.gate.code(outcome.results.verdict);
            if code != exit::VALID || stop.is_cancelled() {
                break;
            }
        }
        Ok(code)
    })
}

/// The first Ctrl-C stops the workload and lets cleanup run (heal, logs,
/// teardown, check); a second one aborts at once.
fn spawn_ctrl_c(stop: CancellationToken) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "\ninterrupted: stopping the workload, healing and cleaning up (Ctrl-C again to abort)"
            );
            stop.cancel();
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!(
                    "aborted: faults may be left on the nodes; remove them with `splitbrain heal` (add --db FILE to resume the database)"
                );
                std::process::exit(exit::ERROR as i32);
            }
        }
    });
}

fn apply_flags(def: &mut TestDef, a: &TestArgs) {
    if a.concurrency.is_some() {
        def.concurrency = a.concurrency;
    }
    if a.time_limit.is_some() {
        def.time_limit = a.time_limit;
    }
    if a.rate.is_some() {
        def.rate = a.rate;
    }
    if a.op_timeout.is_some() {
        def.op_timeout = a.op_timeout;
    }
    if a.seed.is_some() {
        def.seed = a.seed;
    }
    if let Some(w) = &a.workload {
        def.workload.kind = w.clone();
        def.workload.mix = None;
        def.checkers.clear();
    }
    if a.leave_db_running {
        def.leave_db_running = true;
    }
    if let Some(FaultList(faults)) = &a.nemesis {
        let nemesis = def.nemesis.get_or_insert_default();
        nemesis.faults = faults.clone();
        if faults.is_empty() {
            // `--nemesis none` turns every fault off, a written schedule's too.
            nemesis.schedule = None;
        }
    }
    if let Some(i) = a.nemesis_interval {
        def.nemesis.get_or_insert_default().interval = Some(i);
    }
}

/// What ran, the verdicts, and where the report is.
pub fn print_summary(outcome: &RunOutcome) {
    let report = outcome.dir.join(splitbrain_reports::REPORT_FILE);
    let report = report.exists().then_some(report);
    print!(
        "{}",
        splitbrain_reports::summary::render_summary(
            &outcome.results,
            &outcome.dir,
            report.as_deref()
        )
    );
}

/// Re-run the checkers on a stored run (default: the latest). A history cut
/// short by a killed controller is accepted: its incomplete last line is dropped.
#[derive(clap::Args, Debug)]
pub struct AnalyzeArgs {
    /// A run directory (store/<test>/<time>), a test name, or nothing for the latest run.
    pub run: Option<PathBuf>,
    /// Store directory.
    #[arg(long, default_value = "store")]
    pub store: PathBuf,
    #[command(flatten)]
    pub gate: crate::cli::gate::GateArgs,
}

pub fn analyze(args: AnalyzeArgs) -> Result<u8> {
    splitbrain::logging::init();
    let store = Store::new(&args.store);
    let dir = store.resolve(args.run.as_deref())?;
    let run = splitbrain::store::RunDir::open(&dir)?;
    let def = TestDef::load(&run.file(splitbrain::store::TEST_FILE))?;
    let workload: &dyn splitbrain_workloads::Workload = def.workload.kind.parse()?;
    let checkers = splitbrain::analysis::checkers(workload, &def.checkers)?;
    let outcome = harness::check_run(&run, &def, &checkers, Vec::new(), true)?;
    print_summary(&outcome);
    Ok(args.gate.code(outcome.results.verdict))
}
