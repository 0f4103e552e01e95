//! One test run, start to verdict, as Jepsen's `jepsen.core/run!`:
//!
//! 1. validate the definition (before anything touches a node);
//! 2. create `store/<test>/<time>/`, write the effective `test.yaml`, log to `controller.log`;
//! 3. connect to the nodes, tear down leftovers, install, configure and start the database, wait until ready;
//! 4. set the client up (once: [`Client::setup`](splitbrain_workloads::Client::setup)),
//!    run the main phase (concurrent workers, time limit) with the nemesis injecting faults
//!    alongside, then heal every fault, wait until the database is ready again, run the
//!    final phase (e.g. final reads) and tear the client down (once);
//! 5. always — on success, error or Ctrl-C — heal every fault, download node logs and tear
//!    the database down (unless `leave-db-running`);
//! 6. read `history.jsonl` back from disk and check it, writing `results.json`,
//!    `report.html`, `junit.xml` and the store's `index.html`.
//!
//! The history is checked from the file, not from memory: what the verdict is
//! about is exactly what the store keeps.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use splitbrain_checkers::Checker;
use splitbrain_control::db::{Db, DbDef};
use splitbrain_control::{Cluster, LabInfo, Node, SshConfig};
use splitbrain_history::codec::{self, ReadOptions};
use splitbrain_nemeses::{HealOptions, Nemesis, NemesisConfig, heal_all};
use splitbrain_workloads::{
    ClientContext, ClientFactory, Gen, GeneratorConfig, Independent, Program, Target, Workload,
};
use tokio_util::sync::CancellationToken;

use crate::analysis::{self, Results};
use crate::config::{Concurrency, TestDef};
use crate::logging;
use crate::runner::{self, Recorder, Worker};
use crate::store::{RunDir, Store, TEST_FILE};

/// Where the test runs: the nodes and how to reach them over SSH.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    pub nodes: Vec<Node>,
    pub ssh: Option<SshConfig>,
    /// Set when the nodes are a local lab: what each node has to itself.
    pub lab: Option<LabInfo>,
}

/// A finished run: its directory and its results.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub dir: PathBuf,
    pub results: Results,
}

pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(60);
pub const DEFAULT_OP_TIMEOUT: Duration = Duration::from_secs(5);

/// A test definition checked and resolved against an environment: every
/// default decided, so `test.yaml` records exactly what ran.
pub struct Plan {
    pub def: TestDef,
    pub name: String,
    pub workload: &'static dyn Workload,
    pub concurrency: usize,
    pub seed: u64,
    pub time_limit: Duration,
    pub op_timeout: Duration,
    pub generator: GeneratorConfig,
    /// The main phase, compiled: the definition's `generator.main`, or today's (the mix
    /// at `rate` over independent keys, for `time_limit`).
    pub main: Program,
    /// Whether the main phase is the definition's own (then `time_limit` bounds it from
    /// outside: its phases may not sit inside a time limit).
    pub main_written: bool,
    /// The final phase, compiled: `generator.final`, or every worker's final requests once.
    pub finals: Program,
    pub checkers: Vec<Box<dyn Checker>>,
    pub db: Option<DbDef>,
    /// Opens the workers' clients.
    pub client: Arc<dyn ClientFactory>,
    /// What `client` was opened with; [`run_test`] opens it again with the run's
    /// directory once that exists.
    pub client_context: ClientContext,
    /// The nemesis with every default decided; `None` when no fault is enabled.
    pub nemesis: Option<NemesisConfig>,
}

impl Plan {
    pub fn new(def: &TestDef, env: &Environment) -> Result<Plan> {
        let mut def = def.clone();
        let name = def.name.clone().unwrap_or_else(|| "test".into());
        // Again here: a definition built in code has not been through the CLI's checks.
        def.validate().map_err(|e| anyhow!("{name}: {e}"))?;
        let workload: &'static dyn Workload = def.workload.kind.parse()?;
        let node_count = env.nodes.len().max(1);
        let concurrency = def
            .concurrency
            .unwrap_or(Concurrency::PerNode(1))
            .checked(node_count)
            .map_err(|e| anyhow!("{name}: {e}"))?;
        let seed = def.seed.unwrap_or_else(fastrand_seed);
        def.seed = Some(seed);
        let time_limit = def.time_limit.unwrap_or(DEFAULT_TIME_LIMIT);
        def.time_limit = Some(time_limit);
        let op_timeout = def.op_timeout.unwrap_or(DEFAULT_OP_TIMEOUT);
        def.op_timeout = Some(op_timeout);
        if def.nodes.is_empty() {
            def.nodes = env.nodes.iter().map(|n| n.name.clone()).collect();
        }

        let mut generator = GeneratorConfig::new(workload, seed, concurrency, node_count);
        if let Some(mix) = &def.workload.mix {
            generator.mix = mix.iter().map(|(f, w)| (f.as_str().into(), *w)).collect();
        }
        generator.rate = def.rate;
        if def.workload.group_size.is_some() || def.workload.ops_per_key.is_some() {
            let d = Independent::for_nodes(node_count);
            generator.independent = Some(Independent {
                group_size: def.workload.group_size.unwrap_or(d.group_size),
                ops_per_key: def.workload.ops_per_key.unwrap_or(d.ops_per_key),
            });
        }
        generator
            .validate()
            .map_err(|e| anyhow!("{name}: workload: {e}"))?;
        let checkers = analysis::checkers(workload, &def.checkers)?;
        let compile = |part: &str, g: &Gen| {
            def.compile_generator(g, seed, concurrency, node_count)
                .map_err(|e| match e.location() {
                    Some(l) => anyhow!(
                        "{name}: generator.{part} (line {}, column {}): {}",
                        l.line,
                        l.column,
                        e.inner()
                    ),
                    None => anyhow!("{name}: generator.{part}: {e}"),
                })
        };
        let written = def.generator.as_ref();
        let main_written = written.is_some_and(|g| g.main.is_some());
        let main = match written.and_then(|g| g.main.as_ref()) {
            Some(g) => compile("main", &g.0)?,
            None => compile(
                "main",
                &Gen::main(generator.rate, generator.independent, time_limit),
            )?,
        };
        let finals = match written.and_then(|g| g.finals.as_ref()) {
            Some(g) => compile("final", &g.0)?,
            None => compile("final", &Gen::finals(workload.final_requests()))?,
        };

        let db = match &def.db {
            Some(path) => Some(crate::builtin::load_db(path)?),
            None => None,
        };
        // Built here, not when the workload starts: a bad client setting must fail
        // before anything touches a node.
        let bound = db
            .as_ref()
            .and_then(|d| Db::for_nodes(d.clone(), &env.nodes).ok());
        let port = def
            .client
            .port
            .or_else(|| db.as_ref().and_then(|d| d.client_port()));
        let client_context = ClientContext {
            test: name.clone(),
            nodes: client_targets(env, bound.as_ref(), port),
            ..ClientContext::new(seed)
        };
        let client =
            open_client(&def, workload, &client_context).map_err(|e| anyhow!("{name}: {e}"))?;
        if def.client.needs_nodes() && env.nodes.is_empty() {
            bail!(
                "{name}: the {} client needs nodes: pass --nodes, or start the lab with `splitbrain lab up`",
                def.client.kind
            );
        }
        if db.is_some() && env.ssh.is_none() {
            bail!(
                "{name}: the database must be installed over SSH, but no SSH settings were given"
            );
        }
        let nemesis = match &def.nemesis {
            Some(n) if !n.fault_list().is_empty() => {
                if db.is_none() || env.nodes.is_empty() {
                    bail!(
                        "{name}: the nemesis needs nodes and a database definition (db:) to inject faults into; add `db:` or drop the nemesis (--nemesis none)"
                    );
                }
                let nodes: Vec<String> = env.nodes.iter().map(|n| n.name.clone()).collect();
                n.validate(&nodes).map_err(|e| anyhow!("{name}: {e}"))?;
                let has_leader = db.as_ref().is_some_and(|d| d.leader.is_some());
                let resolved = n.resolved(has_leader);
                def.nemesis = Some(resolved.clone());
                Some(resolved)
            }
            _ => None,
        };
        Ok(Plan {
            def,
            name,
            workload,
            concurrency,
            seed,
            time_limit,
            op_timeout,
            generator,
            main,
            main_written,
            finals,
            checkers,
            db,
            client,
            client_context,
            nemesis,
        })
    }
}

/// The definition's client, for `workload`, with `context`.
fn open_client(
    def: &TestDef,
    workload: &'static dyn Workload,
    context: &ClientContext,
) -> Result<Arc<dyn ClientFactory>, splitbrain_workloads::ClientError> {
    def.client
        .client_type()
        .and_then(|c| c.open(workload, &def.client.options, context))
}

/// The nodes the workers' clients talk to: each node at the address the database
/// listens on, with the client port; one `local` node at 127.0.0.1 without nodes.
fn client_targets(env: &Environment, db: Option<&Db>, port: Option<u16>) -> Vec<Target> {
    if env.nodes.is_empty() {
        return vec![Target::new("local", "127.0.0.1")];
    }
    env.nodes
        .iter()
        .map(|n| {
            // Clients connect to the address the database listens on ({{ip}}).
            let ip = db.and_then(|d| d.node_ip(&n.name)).unwrap_or(&n.host);
            let t = Target::new(&n.name, ip);
            match port {
                Some(p) => t.with_port(p),
                None => t,
            }
        })
        .collect()
}

fn fastrand_seed() -> u64 {
    // A fresh seed per run; recorded in test.yaml so the run can be repeated with --seed.
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64 ^ (std::process::id() as u64).rotate_left(32))
        .unwrap_or(42)
}

/// Runs one test, start to verdict. `stop` is cancelled on Ctrl-C: the run
/// then skips to cleanup and still checks what it recorded.
pub async fn run_test(
    def: &TestDef,
    env: &Environment,
    store: &Store,
    stop: CancellationToken,
) -> Result<RunOutcome> {
    let mut plan = Plan::new(def, env)?;
    let run = store.create_run(&plan.name)?;
    // Clients that keep files in the run (a process client's stderr) learn its directory,
    // which exists only now.
    plan.client_context.run_dir = Some(run.path.clone());
    plan.client = open_client(&plan.def, plan.workload, &plan.client_context)
        .map_err(|e| anyhow!("{}: {e}", plan.name))?;
    std::fs::write(run.file(TEST_FILE), plan.def.to_yaml()?)
        .with_context(|| format!("cannot write {}", run.file(TEST_FILE).display()))?;
    logging::log_run_to(&run.file(crate::store::LOG_FILE))
        .context("cannot create the controller log")?;
    tracing::info!(
        "run {} of {}: {} workers, seed {}, time limit {}",
        run.timestamp,
        plan.name,
        plan.concurrency,
        plan.seed,
        humantime::format_duration(plan.time_limit)
    );
    let result = run_in(&plan, env, &run, stop).await;
    let outcome = match result {
        Ok(notes) => check_run(&run, &plan.def, &plan.checkers, notes, false),
        Err(e) => {
            tracing::error!("{e:#}");
            logging::end_run_log();
            return Err(e.context(format!("run {} failed", run.path.display())));
        }
    };
    logging::end_run_log();
    outcome
}

/// Steps 3–5: everything that touches nodes, with cleanup that always runs.
async fn run_in(
    plan: &Plan,
    env: &Environment,
    run: &RunDir,
    stop: CancellationToken,
) -> Result<Vec<String>> {
    let mut notes = Vec::new();
    let (cluster, db) = match (&plan.db, &env.ssh) {
        (Some(def), Some(ssh)) => {
            // Bound before connecting: lab nodes sharing the data directory would be one
            // database, so such a lab is refused before anything reaches it.
            let db = Db::for_nodes(def.clone(), &env.nodes).map_err(|e| anyhow!("{e}"))?;
            db.check_private(env.lab.as_ref())?;
            tracing::info!("connecting to {} nodes over SSH", env.nodes.len());
            let cluster = Cluster::connect(&env.nodes, ssh)
                .await
                .map_err(|e| anyhow!("{e}"))?;
            (Some(cluster), Some(db))
        }
        _ => (None, None),
    };

    let result = async {
        if let (Some(cluster), Some(db)) = (&cluster, &db) {
            if plan.nemesis.is_some() {
                // A partition left by a killed controller would keep the database from forming.
                let report = heal_all(cluster, Some(db), HealOptions::default()).await;
                if report.healed_anything() {
                    tracing::warn!("healed faults left by an earlier run:\n{report}");
                }
            }
            tracing::info!("setting up {} on {} nodes", db.def().name, env.nodes.len());
            // Start from a clean slate, as Jepsen does: a previous run may have left data.
            db.teardown_all(cluster).await.map_err(|e| anyhow!("{e}"))?;
            db.setup(cluster).await.map_err(|e| anyhow!("{e}"))?;
            tracing::info!("{} is ready", db.def().name);
        }
        drive(
            plan,
            env,
            cluster.as_ref(),
            db.as_ref(),
            run,
            stop.clone(),
            &mut notes,
        )
        .await
    }
    .await;

    // Cleanup runs whatever happened above.
    if let (Some(cluster), Some(db)) = (&cluster, &db) {
        if plan.nemesis.is_some() {
            // Always heal: after an error or Ctrl-C a fault may still be in place.
            let report = heal_all(cluster, Some(db), HealOptions::default()).await;
            if report.healed_anything() {
                tracing::info!("healed:\n{report}");
            }
            for e in report.errors() {
                tracing::error!("could not heal {e}");
                notes.push(format!("not healed: {e} (run `splitbrain heal`)"));
            }
        }
        for s in cluster.sessions() {
            if let Err(e) = db
                .download_logs(s, &run.path.join(crate::store::NODES_DIR))
                .await
            {
                tracing::warn!("could not download logs: {e}");
                notes.push(format!("logs of {} missing: {e}", s.node().name));
            }
        }
        if plan.def.leave_db_running {
            tracing::info!("leaving {} running (leave-db-running)", db.def().name);
        } else if let Err(e) = db.teardown_all(cluster).await {
            tracing::warn!("teardown failed: {e}");
        }
    }
    drop(cluster);
    result?;
    if stop.is_cancelled() {
        notes.push("interrupted: the run was stopped early (Ctrl-C)".into());
    }
    Ok(notes)
}

/// The workload itself: main phase (with the nemesis), healing, final phase, history on disk.
async fn drive(
    plan: &Plan,
    env: &Environment,
    cluster: Option<&Cluster>,
    db: Option<&Db>,
    run: &RunDir,
    stop: CancellationToken,
    notes: &mut Vec<String>,
) -> Result<()> {
    let factory = plan.client.clone();
    // The test's own port, else the one the database definition declares, else the
    // client's default.
    let port = plan
        .def
        .client
        .port
        .or_else(|| db.and_then(|d| d.def().client_port()));
    let targets = client_targets(env, db, port);
    let workers: Vec<Worker> = (0..plan.concurrency)
        .map(|i| Worker::new(i, plan.concurrency, targets[i % targets.len()].clone()))
        .collect();

    let rec = Recorder::to_file(&run.history())?;
    let mut nemesis = match (&plan.nemesis, cluster) {
        (Some(config), Some(cluster)) => {
            let r = rec.clone();
            let record: splitbrain_nemeses::Record = Arc::new(move |op| r.record(op));
            let n = Nemesis::setup(cluster, db, config, plan.seed, record)
                .await
                .map_err(|e| anyhow!("nemesis: {e}"))?;
            notes.extend(n.notes().iter().cloned());
            Some(n)
        }
        _ => None,
    };
    // Once per test, before any operation: what the workload needs in the database.
    runner::client_once(runner::Once::Setup, factory.as_ref(), &targets[0], &stop).await?;
    let flush_stop = CancellationToken::new();
    let flusher = rec.spawn_flusher(Duration::from_millis(500), flush_stop.clone());
    let bar = progress_bar(plan.time_limit);
    logging::set_progress_bar(Some(bar.clone()));
    let ticker = spawn_ticker(
        bar.clone(),
        rec.clone(),
        plan.time_limit,
        flush_stop.clone(),
    );

    tracing::info!(
        "main phase: {} for {}",
        plan.workload,
        humantime::format_duration(plan.time_limit)
    );
    // The nemesis runs alongside the workers and stops (healing its current fault) with them.
    let nemesis_stop = stop.child_token();
    let main_phase = async {
        // A written main phase is bounded from outside (its phases may not sit inside a
        // time limit); today's carries its time limit inside.
        let main_stop = stop.child_token();
        let limit = plan.main_written.then(|| {
            let t = main_stop.clone();
            let limit = plan.time_limit;
            tokio::spawn(async move {
                tokio::time::sleep(limit).await;
                t.cancel();
            })
        });
        let workers = runner::run_program(
            workers,
            &plan.main,
            factory.clone(),
            rec.clone(),
            plan.op_timeout,
            main_stop,
        )
        .await;
        if let Some(l) = limit {
            l.abort();
        }
        nemesis_stop.cancel();
        workers
    };
    let faults = async {
        if let Some(n) = nemesis.as_mut() {
            n.run(nemesis_stop.clone()).await;
        }
    };
    let (workers, ()) = tokio::join!(main_phase, faults);
    if let Some(n) = &nemesis {
        // Before the final phase: every fault healed, every node running and ready again.
        // After Ctrl-C the cleanup heals; nothing needs to come back up.
        let recover = !stop.is_cancelled();
        if recover {
            let name = db.map(|d| d.def().name.as_str()).unwrap_or("the database");
            tracing::info!("healing every fault and waiting until {name} is ready");
        }
        let report = n.heal(HealOptions { restart: recover }).await;
        if report.healed_anything() {
            tracing::info!("healed:\n{report}");
        }
        for e in report.errors() {
            tracing::warn!("after healing: {e}");
            notes.push(format!("after healing: {e}"));
        }
    }
    let mut workers = if stop.is_cancelled() {
        workers
    } else {
        runner::run_program(
            workers,
            &plan.finals,
            factory.clone(),
            rec.clone(),
            plan.op_timeout,
            stop.clone(),
        )
        .await
    };
    for w in &mut workers {
        w.close().await;
    }
    // Once, after the final phase (and after Ctrl-C too: setup ran).
    if let Err(e) = runner::client_once(
        runner::Once::Teardown,
        factory.as_ref(),
        &targets[0],
        &CancellationToken::new(),
    )
    .await
    {
        tracing::warn!("{e:#}");
        notes.push(format!("{e:#}"));
    }
    flush_stop.cancel();
    let _ = flusher.await;
    let _ = ticker.await;
    bar.finish_and_clear();
    logging::set_progress_bar(None);
    rec.flush()?;
    let (invoked, ok, fail, info) = rec.counts.snapshot();
    tracing::info!(
        "recorded {invoked} ops in {:.1} s: {ok} ok, {fail} fail, {info} info",
        rec.elapsed().as_secs_f64()
    );
    Ok(())
}

fn progress_bar(limit: Duration) -> ProgressBar {
    let bar = ProgressBar::new(limit.as_millis() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {msg}")
            .expect("valid template"),
    );
    bar
}

/// Updates the bar (and, without a terminal, logs a line every 5 s) until `stop`.
fn spawn_ticker(
    bar: ProgressBar,
    rec: Recorder,
    limit: Duration,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_log = std::time::Instant::now();
        let mut last_count = 0;
        let mut last_t = std::time::Instant::now();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                _ = stop.cancelled() => break,
            }
            let (invoked, ok, fail, info) = rec.counts.snapshot();
            let now = std::time::Instant::now();
            let rate = (invoked - last_count) as f64 / now.duration_since(last_t).as_secs_f64();
            last_count = invoked;
            last_t = now;
            let elapsed = rec.elapsed();
            bar.set_position(elapsed.as_millis().min(limit.as_millis()) as u64);
            let msg = format!(
                "{}/{} · {rate:.0} ops/s · {ok} ok {fail} fail {info} info",
                humantime::format_duration(Duration::from_secs(elapsed.as_secs())),
                humantime::format_duration(limit),
            );
            if bar.is_hidden() && now.duration_since(last_log) >= Duration::from_secs(5) {
                tracing::info!("{msg}");
                last_log = now;
            }
            bar.set_message(msg);
        }
    })
}

/// Step 6: read the history back from disk, check it, write `results.json`.
pub fn check_run(
    run: &RunDir,
    def: &TestDef,
    checkers: &[Box<dyn Checker>],
    notes: Vec<String>,
    allow_truncated: bool,
) -> Result<RunOutcome> {
    let opts = ReadOptions {
        allow_truncated_tail: allow_truncated,
        ..ReadOptions::default()
    };
    let loaded = codec::load_path(&run.history(), &opts).map_err(|e| anyhow!("{e}"))?;
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    tracing::info!("checking {} history entries", loaded.history.len());
    let outcomes = analysis::analyze(&loaded.history, checkers, None)?;
    let mut results = Results {
        schema: analysis::SCHEMA.into(),
        test: run.test_name.clone(),
        run: run.timestamp.clone(),
        verdict: Results::overall(&outcomes),
        truncated: loaded.truncated_tail,
        checkers: outcomes,
        notes,
        ..Results::default()
    };
    // Op counts, configuration, start time, duration and faults; then report.html,
    // junit.xml, store index.
    crate::report::describe_run(&mut results, run, def, &loaded.history);
    write_results(&run.results(), &results)?;
    crate::report::write_reports(run, &results, &loaded.history);
    Ok(RunOutcome {
        dir: run.path.clone(),
        results,
    })
}

pub fn write_results(path: &Path, results: &Results) -> Result<()> {
    let text = serde_json::to_string_pretty(results)?;
    std::fs::write(path, text + "\n").with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use splitbrain_workloads::{Client, Outcome, Request, async_trait};

    use super::*;

    /// A client that logs its lifecycle, in front of the in-process register.
    struct Logged {
        log: Arc<Mutex<Vec<String>>>,
        inner: Arc<dyn ClientFactory>,
        fail_setup: bool,
    }

    struct LoggedClient {
        log: Arc<Mutex<Vec<String>>>,
        inner: Box<dyn Client>,
        fail_setup: bool,
    }

    impl Logged {
        fn push(log: &Mutex<Vec<String>>, what: String) {
            log.lock().unwrap().push(what);
        }
    }

    #[async_trait]
    impl ClientFactory for Logged {
        async fn open(&self, target: &Target, process: u64) -> Result<Box<dyn Client>> {
            Logged::push(&self.log, format!("open {process}"));
            Ok(Box::new(LoggedClient {
                log: self.log.clone(),
                inner: self.inner.open(target, process).await?,
                fail_setup: self.fail_setup,
            }))
        }
    }

    #[async_trait]
    impl Client for LoggedClient {
        async fn setup(&mut self) -> Result<()> {
            Logged::push(&self.log, "setup".into());
            if self.fail_setup {
                bail!("no table");
            }
            Ok(())
        }

        async fn invoke(&mut self, req: &Request) -> Outcome {
            Logged::push(&self.log, "invoke".into());
            self.inner.invoke(req).await
        }

        async fn teardown(&mut self) -> Result<()> {
            Logged::push(&self.log, "teardown".into());
            Ok(())
        }

        async fn close(&mut self) {
            Logged::push(&self.log, "close".into());
        }
    }

    fn plan(fail_setup: bool) -> (Plan, Arc<Mutex<Vec<String>>>) {
        let def = TestDef::parse(
            "name: lifecycle\nclient: {type: memory}\nworkload: {type: set}\nconcurrency: 3\nrate: 300\ntime-limit: 300ms\nseed: 1\n",
            "lifecycle.yaml",
        )
        .unwrap();
        let mut plan = Plan::new(&def, &Environment::default()).unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        plan.client = Arc::new(Logged {
            log: log.clone(),
            inner: plan.client.clone(),
            fail_setup,
        });
        (plan, log)
    }

    #[tokio::test]
    async fn setup_and_teardown_run_once_around_every_operation() {
        let tmp = tempfile::tempdir().unwrap();
        let (plan, log) = plan(false);
        let run = Store::new(tmp.path()).create_run("lifecycle").unwrap();
        run_in(
            &plan,
            &Environment::default(),
            &run,
            CancellationToken::new(),
        )
        .await
        .unwrap();
        let log = log.lock().unwrap().clone();
        let count = |w: &str| log.iter().filter(|e| *e == w).count();
        assert_eq!((count("setup"), count("teardown")), (1, 1), "{log:?}");
        let once = format!("open {}", runner::ONCE_PROCESS);
        // Setup on its own client, opened first and closed before any operation.
        assert_eq!(
            log[..3],
            [once.clone(), "setup".into(), "close".into()],
            "{log:?}"
        );
        // Teardown last, on a client of its own, after every worker closed its client.
        let n = log.len();
        assert_eq!(
            log[n - 3..],
            [once, "teardown".into(), "close".into()],
            "{log:?}"
        );
        // Three workers: each opened a client, made operations (the final read among
        // them) and closed it.
        assert_eq!(count("close"), 3 + 2, "{log:?}");
        assert!(count("invoke") >= 3, "{log:?}");
    }

    /// The example schedule, planned without a lab: parsed, resolved against three nodes
    /// and etcd's definition, and its steps in order (the nemeses crate plans each step).
    #[test]
    fn the_example_schedule_plans_primaries_then_a_majority() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/etcd-primaries-then-majority.yaml");
        let def = TestDef::load(&path).unwrap();
        let env = Environment {
            nodes: (1..=3)
                .map(|i| Node::new(format!("n{i}"), format!("10.0.0.{i}"), 22))
                .collect(),
            ssh: Some(SshConfig::default()),
            lab: None,
        };
        let plan = Plan::new(&def, &env).unwrap();
        let nemesis = plan.nemesis.as_ref().unwrap();
        assert_eq!(
            nemesis.fault_list(),
            [
                splitbrain_nemeses::FaultKind::Partition,
                splitbrain_nemeses::FaultKind::Kill
            ]
        );
        let program = nemesis.schedule.as_ref().unwrap().compile().unwrap();
        use splitbrain_nemeses::schedule::{Instr, Step};
        let steps: Vec<String> = program
            .code
            .iter()
            .map(|i| match i {
                Instr::Step(Step::Sleep(d)) => format!("sleep {}", humantime::format_duration(*d)),
                Instr::Step(Step::Start { kind, .. }) => format!("start-{kind}"),
                Instr::Step(Step::Stop(kind)) => format!("stop-{kind}"),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            steps,
            [
                "sleep 3s",
                "start-partition",
                "sleep 5s",
                "stop-partition",
                "sleep 3s",
                "start-kill",
                "sleep 5s",
                "stop-kill"
            ]
        );
        assert_eq!(
            program.variants[0].partition.topologies,
            [splitbrain_nemeses::Topology::Primaries]
        );
        assert_eq!(
            program.variants[1].kill.targets,
            [splitbrain_nemeses::target::Target::Majority]
        );
        // The stored test.yaml keeps the schedule.
        let yaml = plan.def.to_yaml().unwrap();
        assert!(
            yaml.contains("schedule:") && yaml.contains("primaries"),
            "{yaml}"
        );
    }

    #[tokio::test]
    async fn a_written_generator_runs_its_phases_in_order() {
        let def = TestDef::parse(
            "name: phases\nclient: {type: memory}\nworkload: {type: counter}\nconcurrency: 3\ntime-limit: 10s\nseed: 1\ngenerator:\n  main:\n    phases:\n      - {limit: 30, gen: {mix: {add: 1}}}\n      - sleep: 100ms\n      - each-worker: {once: {mix: {read: 1}}}\n  final:\n    once: {f: read}\n",
            "phases.yaml",
        )
        .unwrap();
        let plan = Plan::new(&def, &Environment::default()).unwrap();
        assert!(plan.main_written);
        let tmp = tempfile::tempdir().unwrap();
        let run = Store::new(tmp.path()).create_run("phases").unwrap();
        let started = std::time::Instant::now();
        run_in(
            &plan,
            &Environment::default(),
            &run,
            CancellationToken::new(),
        )
        .await
        .unwrap();
        // The phases end the main phase long before the time limit.
        assert!(started.elapsed() < Duration::from_secs(5));
        let text = std::fs::read_to_string(run.history()).unwrap();
        let invokes: Vec<(u64, String)> = text
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|o| o["type"] == "invoke")
            .map(|o| {
                (
                    o["process"].as_u64().unwrap(),
                    o["f"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let fs: Vec<&str> = invokes.iter().map(|(_, f)| f.as_str()).collect();
        // 30 adds among all workers (a barrier), then one read per worker, then one final read.
        assert_eq!(fs.len(), 30 + 3 + 1, "{fs:?}");
        assert!(fs[..30].iter().all(|f| *f == "add"), "{fs:?}");
        assert!(fs[30..].iter().all(|f| *f == "read"), "{fs:?}");
        let mut readers: Vec<u64> = invokes[30..33].iter().map(|(p, _)| *p).collect();
        readers.sort();
        assert_eq!(readers, [0, 1, 2]);
    }

    /// The process client through the real runner: a Python program per process, its
    /// stderr in the run's `clients/`, the history checked. With a program that never
    /// answers its third op, each such op is `info` and the worker goes on under a new
    /// process (a new program).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_process_client_runs_through_the_runner_with_its_stderr_in_the_run() {
        use splitbrain_checkers::Verdict;
        let programs = Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads/tests/clients");
        for program in ["file_store.py", "hangs.py"] {
            let tmp = tempfile::tempdir().unwrap();
            let text = format!(
                "name: process\nclient:\n  type: process\n  command: [python3, {}]\n  kill-grace: 300ms\n  options: {{store: {}}}\nworkload: {{type: set}}\nconcurrency: 2\nrate: 40\ntime-limit: 1s\nop-timeout: 300ms\nseed: 1\n",
                programs.join(program).display(),
                tmp.path().join("store.json").display()
            );
            let def = TestDef::parse(&text, "process.yaml").unwrap();
            let out = run_test(
                &def,
                &Environment::default(),
                &Store::new(tmp.path().join("store")),
                CancellationToken::new(),
            )
            .await
            .unwrap();
            let clients = out.dir.join("clients");
            let history =
                std::fs::read_to_string(out.dir.join(crate::store::HISTORY_FILE)).unwrap();
            let infos: Vec<serde_json::Value> = history
                .lines()
                .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
                .filter(|o| o["type"] == "info")
                .collect();
            for f in [
                "process-0.stderr",
                "process-1.stderr",
                "setup-teardown.stderr",
            ] {
                let text = std::fs::read_to_string(clients.join(f)).unwrap_or_default();
                assert!(text.starts_with("pid "), "{program}: {f}: {text}");
            }
            if program == "file_store.py" {
                assert_eq!(out.results.verdict, Verdict::Valid, "{:?}", out.results);
                assert!(infos.is_empty(), "{infos:?}");
            } else {
                assert!(!infos.is_empty(), "{program}: it hangs on every third op");
                for i in &infos {
                    assert_eq!(i["error"], "timeout after 300ms", "{i}");
                }
                // The replacements ran as processes 2, 3, ... with files of their own.
                assert!(clients.join("process-2.stderr").exists());
                // Infos may leave the final read out (unknown); never a wrong verdict.
                assert_ne!(out.results.verdict, Verdict::Invalid, "{:?}", out.results);
            }
        }
    }

    #[tokio::test]
    async fn a_failed_setup_stops_the_run_before_any_operation() {
        let tmp = tempfile::tempdir().unwrap();
        let (plan, log) = plan(true);
        let run = Store::new(tmp.path()).create_run("lifecycle").unwrap();
        let e = run_in(
            &plan,
            &Environment::default(),
            &run,
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
        assert!(
            format!("{e:#}").contains("client setup on local: no table"),
            "{e:#}"
        );
        let log = log.lock().unwrap().clone();
        assert!(
            !log.iter().any(|e| e == "invoke" || e == "teardown"),
            "{log:?}"
        );
        let history = std::fs::read_to_string(run.history()).unwrap_or_default();
        assert!(history.is_empty(), "{history}");
    }
}
