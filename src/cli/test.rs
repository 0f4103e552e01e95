//! `splitbrain test [FILE]`: run a test definition against the nodes, check it, store it.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use splitbrain::config::{Concurrency, TestDef, parse_duration};
use splitbrain::harness::{self, Environment, RunOutcome};
use splitbrain::store::Store;
use splitbrain_nemeses::{FaultSpec, parse_fault_list};
use tokio_util::sync::CancellationToken;

use crate::cli::nodes::NodeArgs;
use crate::exit;

/// Run a test: bring the database up on the nodes, drive a concurrent workload,
/// record the history, check it, and store everything under store/<test>/<time>/.
///
/// Without FILE, runs the built-in default (tests/etcd-register.yaml: etcd with
/// a register workload) on the lab's nodes.
#[derive(clap::Args, Debug)]
pub struct TestArgs {
    /// Test definition (YAML), e.g. tests/etcd-register.yaml.
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub nodes: NodeArgs,
    /// Workers: a number, or `2n` for twice the node count.
    #[arg(long, value_parser = |s: &str| s.parse::<Concurrency>())]
    pub concurrency: Option<Concurrency>,
    /// How long the main phase runs: `60s`, `2m`, or seconds.
    #[arg(long, value_parser = parse_duration)]
    pub time_limit: Option<Duration>,
    /// Target ops per second over all workers (default: as fast as possible).
    #[arg(long)]
    pub rate: Option<f64>,
    /// How long an op may take before it is recorded as `info`.
    #[arg(long, value_parser = parse_duration)]
    pub op_timeout: Option<Duration>,
    /// Run the test this many times; stop at the first run that is not valid.
    #[arg(long, default_value_t = 1)]
    pub test_count: usize,
    /// Leave the database running afterwards (to poke at it by hand).
    #[arg(long)]
    pub leave_db_running: bool,
    /// Seed for the generators (a run's seed is in its test.yaml).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override the workload: register, set or counter.
    #[arg(long)]
    pub workload: Option<String>,
    /// Faults to inject, comma-separated: partition, kill, pause, clock, packet, or all;
    /// `none` turns off the definition's nemesis.
    #[arg(long, value_name = "FAULTS", value_parser = |s: &str| parse_fault_list(s).map(FaultList))]
    pub nemesis: Option<FaultList>,
    /// Time between a fault's start and its stop, and between faults (default 10s).
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub nemesis_interval: Option<Duration>,
    /// Store directory.
    #[arg(long, default_value = "store")]
    pub store: PathBuf,
    #[command(flatten)]
    pub gate: crate::cli::gate::GateArgs,
    /// Bring up a local lab of this many nodes for the run and take it down
    /// afterwards, whatever happens (needs root; see `splitbrain lab`).
    #[arg(long, value_name = "NODES")]
    pub lab: Option<usize>,
}

/// `--nemesis partition,kill`: one flag value holding the whole list.
#[derive(Clone, Debug)]
pub struct FaultList(pub Vec<FaultSpec>);

pub fn run(args: TestArgs) -> Result<u8> {
    let rt = crate::cli::runtime()?;
    let Some(n) = args.lab else {
        return run_on_nodes(&args, &rt);
    };
    if !args.nodes.nodes.is_empty()
        || !args.nodes.node.is_empty()
        || args.nodes.nodes_file.is_some()
    {
        anyhow::bail!(
            "--lab brings up its own nodes: drop --nodes/--node/--nodes-file, or drop --lab"
        );
    }
    let mut cfg = splitbrain_control::lab::LabConfig::new(n);
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
            run_on_nodes(&args, &rt)
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

fn run_on_nodes(args: &TestArgs, rt: &tokio::runtime::Runtime) -> Result<u8> {
    splitbrain::logging::init();
    let mut def = match &args.file {
        Some(path) => TestDef::load(path)?,
        None => splitbrain::builtin::default_test()?,
    };
    apply_flags(&mut def, args);
    let uses_nodes = def.db.is_some() || def.client.kind == "etcd";
    let env = if uses_nodes {
        let resolved = args.nodes.resolve()?;
        Environment {
            nodes: resolved.nodes,
            ssh: Some(resolved.ssh),
        }
    } else {
        Environment::default()
    };
    let store = Store::new(&args.store);
    rt.block_on(async {
        let stop = CancellationToken::new();
        spawn_ctrl_c(stop.clone());
        let mut code = exit::VALID;
        for i in 0..args.test_count.max(1) {
            if args.test_count > 1 {
                eprintln!("run {} of {}", i + 1, args.test_count);
            }
            let outcome = harness::run_test(&def, &env, &store, stop.clone()).await?;
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
        def.nemesis.get_or_insert_default().faults = faults.clone();
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
    let workload = def.workload.kind.parse()?;
    let specs = splitbrain::analysis::checker_specs(workload, &def.checkers)?;
    let outcome = harness::check_run(&run, &def, &specs, Vec::new(), true)?;
    print_summary(&outcome);
    Ok(args.gate.code(outcome.results.verdict))
}
