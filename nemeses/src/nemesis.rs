//! The nemesis: what every fault has in common. It sets the faults up (checks, leftovers,
//! probes), runs the schedule, records every fault's start and stop with the history's
//! fault op names ([`FaultOp`]), and heals.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use splitbrain_control::db::Db;
use splitbrain_control::{Cluster, NodeErrors, RemoteError};
use splitbrain_history::{FaultEdge, FaultOp, Op, OpType, Process, Value};
use tokio_util::sync::CancellationToken;

use crate::config::NemesisConfig;
use crate::fault::{Action, AnyFault, Context, Fault, Probe, names};
use crate::faults::{FAULTS, FaultKind};
use crate::heal::{HealOptions, HealReport, heal_all};
use crate::schedule::{Alternate, Program, Schedule, Step};

/// Where the nemesis writes its ops: the harness passes a closure around
/// `Recorder::record`, which assigns the index and time.
pub type Record = Arc<dyn Fn(Op) + Send + Sync>;

/// Why the nemesis cannot be set up or a fault could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum NemesisError {
    /// The configuration asks for something impossible with these nodes or this database.
    #[error("{0}")]
    Config(String),
    /// The fault cannot be injected here (and is not pretended to be).
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Remote(#[from] RemoteError),
    #[error("{0}")]
    Nodes(#[from] NodeErrors),
}

/// Faults for one cluster: set up once, then [`Nemesis::run`] (the schedule), or
/// [`Nemesis::plan`] / [`Nemesis::start`] / [`Nemesis::stop`] one at a time.
pub struct Nemesis {
    cx: Context,
    config: NemesisConfig,
    /// Every fault of the table, in table order; only the enabled ones were probed.
    all: Vec<Box<dyn AnyFault>>,
    /// The faults the schedule draws from.
    enabled: Vec<FaultKind>,
    /// The schedule written in the definition, compiled; `None` for today's.
    program: Option<Program>,
    /// The faults the program's `start` steps plan with their own settings, by variant
    /// index ([`Step::Start`]); started and stopped by the fault of `all`.
    variants: Vec<Box<dyn AnyFault>>,
    rng: fastrand::Rng,
    notes: Vec<String>,
}

impl Nemesis {
    /// Checks the configuration against the nodes and the database, heals what an earlier
    /// run may have left, asks every enabled fault whether it can take effect here
    /// ([`Fault::probe`]) and leaves out, with a note, what would have no effect. The same
    /// `seed` plans the same faults.
    pub async fn setup(
        cluster: &Cluster,
        db: Option<&Db>,
        config: &NemesisConfig,
        seed: u64,
        record: Record,
    ) -> Result<Nemesis, NemesisError> {
        let nodes: Vec<String> = cluster.nodes().into_iter().map(|n| n.name).collect();
        config.validate(&nodes).map_err(NemesisError::Config)?;
        let has_leader = db.is_some_and(|d| d.def().leader.is_some());
        let config = config.resolved(has_leader);
        let asked = config.fault_list();
        // Every fault of the table, indexed by kind; only those asked for are checked.
        let mut all: Vec<Box<dyn AnyFault>> =
            FAULTS.iter().map(|e| (e.info.build)(&config)).collect();
        for &kind in &asked {
            if db.is_none() && all[kind as usize].needs_db() {
                return Err(NemesisError::Config(format!(
                    "the {kind} nemesis needs a database definition (db:) to know which process to fault"
                )));
            }
        }
        let program = match &config.schedule {
            Some(s) => Some(
                s.compile()
                    .map_err(|e| NemesisError::Config(e.to_string()))?,
            ),
            None => None,
        };
        let variants = variants(program.as_ref(), has_leader);
        if !has_leader
            && (asked.iter().any(|&k| all[k as usize].uses_primaries())
                || variants.iter().any(|v| v.uses_primaries()))
        {
            return Err(NemesisError::Config(
                "`primaries` needs the database definition's leader query (leader.command)".into(),
            ));
        }

        let ips = cluster
            .nodes()
            .into_iter()
            .map(|n| Ok((n.name.clone(), n.ip()?)))
            .collect::<Result<BTreeMap<_, _>, RemoteError>>()?;

        let leftovers = heal_all(cluster, db, HealOptions::default()).await;
        if !leftovers.is_ok() {
            return Err(NemesisError::Config(format!(
                "cannot heal the nodes before the test:\n{leftovers}"
            )));
        }
        let mut notes = Vec::new();
        if leftovers.healed_anything() {
            tracing::warn!("healed faults left by an earlier run:\n{leftovers}");
            notes.push(format!(
                "healed faults left by an earlier run before starting: {}",
                leftovers.to_string().replace('\n', "; ")
            ));
        }

        let cx = Context {
            cluster: cluster.clone(),
            db: db.cloned(),
            nodes,
            ips,
            record,
        };
        let mut enabled = Vec::new();
        for kind in asked {
            match all[kind as usize].probe(&cx).await? {
                Probe::Ready => enabled.push(kind),
                Probe::Limited(note) => {
                    note_down(&mut notes, note);
                    enabled.push(kind);
                }
                Probe::LeftOut(note) => note_down(&mut notes, note),
            }
        }
        Ok(Nemesis {
            cx,
            config,
            all,
            enabled,
            program,
            variants,
            rng: fastrand::Rng::with_seed(seed ^ 0x006e_656d_6573_6973),
            notes,
        })
    }

    /// What the run should know: faults left out and why, leftovers healed, fallbacks.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The faults the schedule draws from (those that can take effect here).
    pub fn faults(&self) -> &[FaultKind] {
        &self.enabled
    }

    /// The configuration with every default decided.
    pub fn config(&self) -> &NemesisConfig {
        &self.config
    }

    /// The nodes, the database and the recorder every fault works with.
    pub fn context(&self) -> &Context {
        &self.cx
    }

    /// This run's fault of type `F` (e.g. [`crate::faults::clock::ClockFault`]).
    pub fn fault<F: Fault>(&self) -> Option<&F> {
        self.all.iter().find_map(|f| f.as_any().downcast_ref())
    }

    /// This run's fault of kind `kind` (`all` follows the table, which follows the kinds).
    fn get(&self, kind: FaultKind) -> &dyn AnyFault {
        &*self.all[kind as usize]
    }

    // ------------------------------------------------------------------ schedule

    /// The schedule, until it ends or `stop` is cancelled: the definition's
    /// (`nemesis.schedule`), or Jepsen's: wait an interval, start a random fault, wait an
    /// interval, stop it; again ([`Alternate`]).
    pub async fn run(&mut self, stop: CancellationToken) {
        let interval = self.config.interval();
        if self.enabled.is_empty() {
            tracing::info!("nemesis: no fault can take effect here; none will be injected");
            return;
        }
        if let Some(p) = &self.program {
            tracing::info!(
                "nemesis: the definition's schedule ({} steps)",
                p.code.len()
            );
            let mut running = p.runner(interval);
            self.run_schedule(&mut running, stop).await;
            return;
        }
        tracing::info!(
            "nemesis: {} every {}",
            self.enabled
                .iter()
                .map(|f| f.name())
                .collect::<Vec<_>>()
                .join(", "),
            humantime::format_duration(interval)
        );
        self.run_schedule(&mut Alternate::new(interval), stop).await;
    }

    /// Runs `schedule` until it ends or `stop` is cancelled. A fault still active when
    /// `stop` comes (or when the schedule ends) is stopped before this returns. Errors are
    /// logged and recorded, never fatal: the next step comes anyway.
    pub async fn run_schedule(&mut self, schedule: &mut dyn Schedule, stop: CancellationToken) {
        // Faults started by a `start` step and not stopped yet, in start order.
        let mut active: Vec<Action> = Vec::new();
        while let Some(step) = schedule.next(&mut self.rng, &self.enabled) {
            if stop.is_cancelled() {
                break;
            }
            match step {
                Step::Start { kind, variant } => {
                    if !self.enabled.contains(&kind) {
                        tracing::warn!(
                            "nemesis: {kind} cannot take effect here; its start is skipped"
                        );
                        continue;
                    }
                    if active.iter().any(|a| a.kind() == kind) {
                        tracing::warn!("nemesis: {kind} is already started; stop it first");
                        continue;
                    }
                    let planned = match variant.and_then(|v| self.variants.get(v)) {
                        Some(f) => f.plan(&self.cx, &mut self.rng).await,
                        None => self.plan(kind).await,
                    };
                    let action = match planned {
                        Ok(a) => a,
                        Err(e) => {
                            tracing::warn!("nemesis: cannot plan a {kind} fault: {e}");
                            continue;
                        }
                    };
                    if let Err(e) = self.start(&action).await {
                        tracing::warn!("nemesis: {} failed: {e}", FaultOp::start(kind.name()));
                    }
                    active.push(action);
                }
                Step::Stop(kind) => match active.iter().position(|a| a.kind() == kind) {
                    Some(i) => {
                        let action = active.remove(i);
                        if let Err(e) = self.stop(&action).await {
                            tracing::warn!("nemesis: {} failed: {e}", FaultOp::stop(kind.name()));
                        }
                    }
                    None => tracing::warn!("nemesis: no {kind} fault is active to stop"),
                },
                Step::Sleep(d) => {
                    if sleep_or_stop(d, &stop).await {
                        break;
                    }
                }
                Step::Fault { kind, hold } => {
                    let action = match self.plan(kind).await {
                        Ok(a) => a,
                        Err(e) => {
                            tracing::warn!("nemesis: cannot plan a {kind} fault: {e}");
                            continue;
                        }
                    };
                    if let Err(e) = self.start(&action).await {
                        tracing::warn!("nemesis: {} failed: {e}", FaultOp::start(kind.name()));
                    }
                    sleep_or_stop(hold, &stop).await;
                    if let Err(e) = self.stop(&action).await {
                        tracing::warn!("nemesis: {} failed: {e}", FaultOp::stop(kind.name()));
                    }
                    if stop.is_cancelled() {
                        break;
                    }
                }
            }
        }
        // Latest first, as faults are undone.
        while let Some(action) = active.pop() {
            if let Err(e) = self.stop(&action).await {
                tracing::warn!(
                    "nemesis: {} failed: {e}",
                    FaultOp::stop(action.kind().name())
                );
            }
        }
    }

    // ------------------------------------------------------------------ one fault

    /// Decides a fault of kind `kind` from the seeded random stream ([`Fault::plan`]).
    pub async fn plan(&mut self, kind: FaultKind) -> Result<Action, NemesisError> {
        self.all[kind as usize].plan(&self.cx, &mut self.rng).await
    }

    /// Carries out `action` and records `start-<fault>` (with `error` if it failed part-way;
    /// [`Nemesis::stop`] undoes whatever was done). A fault that cannot take effect here
    /// is refused and not recorded at all.
    pub async fn start(&self, action: &Action) -> Result<(), NemesisError> {
        let fault = self.get(action.kind());
        fault.ready(&self.cx, action)?;
        let result = fault.start(&self.cx, action).await;
        self.record(self.op(FaultEdge::Start, action), &result);
        fault.after(&self.cx).await;
        result
    }

    /// Undoes `action` and records `stop-<fault>`. Safe to call when the start failed.
    pub async fn stop(&self, action: &Action) -> Result<(), NemesisError> {
        let fault = self.get(action.kind());
        fault.ready(&self.cx, action)?;
        let result = fault.stop(&self.cx, action).await;
        self.record(self.op(FaultEdge::Stop, action), &result);
        fault.after(&self.cx).await;
        result
    }

    /// The op of `action`'s start or stop: `value` holds `nodes`, the fault's details and,
    /// on a start, the plan's note.
    fn op(&self, edge: FaultEdge, action: &Action) -> Op {
        let fault = self.get(action.kind());
        let (f, mut details) = match edge {
            FaultEdge::Start => (
                FaultOp::start(action.kind().name()),
                fault.start_value(action),
            ),
            FaultEdge::Stop => (
                FaultOp::stop(action.kind().name()),
                fault.stop_value(action),
            ),
        };
        if edge == FaultEdge::Start
            && let Some(n) = action.note()
        {
            details.push(("note", n.into()));
        }
        let nodes = names(&action.nodes());
        let mut value = vec![(Value::str("nodes"), nodes.clone())];
        value.extend(details.into_iter().map(|(k, v)| (Value::str(k), v)));
        let mut op = Op::new(Process::Nemesis, OpType::Info, &f.name(), Value::Map(value));
        op.node = Some(nodes);
        op
    }

    fn record(&self, mut op: Op, result: &Result<(), NemesisError>) {
        match result {
            Ok(()) => tracing::info!("nemesis: {} {}", op.f, op.value),
            Err(e) => op.error = Some(Value::str(one_line(&e.to_string()))),
        }
        self.cx.record(op);
    }

    /// Heals every fault on every node ([`heal_all`]); then each fault may record what it
    /// measures afterwards (the clock's offsets).
    pub async fn heal(&self, options: HealOptions) -> HealReport {
        let report = heal_all(&self.cx.cluster, self.cx.db.as_ref(), options).await;
        for f in &self.all {
            f.after(&self.cx).await;
        }
        report
    }
}

/// The faults a program's `start` steps plan with: each built from its step's own settings
/// (the fault's whole section), every default decided.
fn variants(program: Option<&Program>, has_leader: bool) -> Vec<Box<dyn AnyFault>> {
    let Some(p) = program else {
        return Vec::new();
    };
    p.variants
        .iter()
        .map(|o| {
            let c = o.resolved(has_leader);
            let kind = FAULTS
                .iter()
                .find(|e| !(e.section)(o).is_default())
                .map(|e| e.kind)
                .unwrap_or(FaultKind::Partition);
            (kind.entry().info.build)(&c)
        })
        .collect()
}

fn note_down(notes: &mut Vec<String>, text: String) {
    tracing::warn!("nemesis: {text}");
    notes.push(text);
}

fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Sleeps `d`; true if `stop` came first.
async fn sleep_or_stop(d: Duration, stop: &CancellationToken) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => stop.is_cancelled(),
        _ = stop.cancelled() => true,
    }
}

#[cfg(test)]
mod pinned {
    //! The same seed gives the same faults: short seeded plan sequences and their ops'
    //! values, pinned in `testdata/pinned-plans.txt` (written by the code before the faults
    //! became modules, and unchanged since).
    use super::*;
    use crate::fault::erase;
    use crate::faults::clock::{ClockFault, ClockSupport};
    use crate::faults::packet::{PacketFault, PacketSupport};

    fn nemesis(
        config: &NemesisConfig,
        nodes: &[&str],
        seed: u64,
        packet: PacketSupport,
    ) -> Nemesis {
        let nodes: Vec<String> = nodes.iter().map(|n| n.to_string()).collect();
        let config = config.resolved(false);
        let mut all: Vec<Box<dyn AnyFault>> =
            FAULTS.iter().map(|e| (e.info.build)(&config)).collect();
        let clock = ClockSupport::Faketime {
            library: "/l".into(),
        };
        all[FaultKind::Clock as usize] = erase(ClockFault::probed(&config, clock));
        all[FaultKind::Packet as usize] = erase(PacketFault::probed(&config, packet));
        Nemesis {
            cx: Context {
                cluster: Cluster::from_sessions(Vec::new()),
                db: None,
                ips: nodes
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (n.clone(), format!("10.0.0.{}", i + 1)))
                    .collect(),
                nodes,
                record: Arc::new(|_| {}),
            },
            all,
            enabled: config.fault_list(),
            program: None,
            variants: Vec::new(),
            config,
            rng: fastrand::Rng::with_seed(seed ^ 0x006e_656d_6573_6973),
            notes: Vec::new(),
        }
    }

    /// As the schedule draws them: a fault, its plan, its start and stop values.
    fn sequence(mut n: Nemesis, steps: usize) -> Vec<String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut schedule = Alternate::new(n.config.interval());
        rt.block_on(async {
            let mut out = Vec::new();
            while out.len() < steps {
                let Some(Step::Fault { kind, .. }) = schedule.next(&mut n.rng, &n.enabled) else {
                    continue;
                };
                let a = n.plan(kind).await.unwrap();
                let start = n.op(FaultEdge::Start, &a);
                let stop = n.op(FaultEdge::Stop, &a);
                assert_eq!(
                    (&*start.f, &*stop.f),
                    (&*format!("start-{kind}"), &*format!("stop-{kind}"))
                );
                assert_eq!(start.node, start.value.get("nodes").cloned());
                out.push(format!("{} {} | {}", kind.name(), start.value, stop.value));
            }
            out
        })
    }

    /// The steps a compiled schedule plans, as `start-<fault> <value>` / `stop-<fault>` /
    /// `sleep <d>`, without touching a node: what the example definition's schedule does.
    pub(crate) fn planned_steps(config: &NemesisConfig, nodes: &[&str], seed: u64) -> Vec<String> {
        let mut n = nemesis(config, nodes, seed, PacketSupport::Netem);
        let program = config.schedule.as_ref().unwrap().compile().unwrap();
        n.variants = variants(Some(&program), false);
        let mut running = program.runner(n.config.interval());
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut out = Vec::new();
            while let Some(step) = running.next(&mut n.rng, &n.enabled) {
                match step {
                    Step::Sleep(d) => {
                        out.push(format!("sleep {}", splitbrain_history::duration::format(d)))
                    }
                    Step::Start { kind, variant } => {
                        let a = match variant {
                            Some(v) => n.variants[v].plan(&n.cx, &mut n.rng).await.unwrap(),
                            None => n.plan(kind).await.unwrap(),
                        };
                        out.push(format!(
                            "{} {}",
                            FaultOp::start(kind.name()).name(),
                            n.op(FaultEdge::Start, &a).value
                        ));
                    }
                    Step::Stop(kind) => out.push(FaultOp::stop(kind.name()).name().to_string()),
                    Step::Fault { .. } => out.push("random".into()),
                }
                if out.len() > 100 {
                    break;
                }
            }
            out
        })
    }

    #[test]
    fn the_example_schedule_partitions_the_primaries_then_kills_a_majority() {
        let text = include_str!("../../tests/etcd-primaries-then-majority.yaml");
        let nemesis_yaml: String = text
            .lines()
            .skip_while(|l| !l.starts_with("nemesis:"))
            .skip(1)
            .map(|l| format!("{}\n", l.strip_prefix("  ").unwrap_or(l)))
            .collect();
        let config: NemesisConfig = serde_saphyr::from_str(&nemesis_yaml).unwrap();
        let nodes: Vec<String> = ["n1", "n2", "n3"].map(String::from).to_vec();
        config.validate(&nodes).unwrap();
        assert_eq!(config.fault_list(), [FaultKind::Partition, FaultKind::Kill]);
        let steps = planned_steps(&config, &["n1", "n2", "n3"], 5);
        let shape: Vec<&str> = steps.iter().map(|s| s.split(' ').next().unwrap()).collect();
        assert_eq!(
            shape,
            [
                "sleep",
                "start-partition",
                "sleep",
                "stop-partition",
                "sleep",
                "start-kill",
                "sleep",
                "stop-kill"
            ],
            "{steps:#?}"
        );
        assert!(
            steps[1].contains(r#""topology" "primaries""#),
            "{}",
            steps[1]
        );
        // Without a leader query in this test, the primaries are one node, and said so.
        assert!(steps[1].contains("no database definition"), "{}", steps[1]);
        assert!(steps[5].contains(r#""target" "majority""#), "{}", steps[5]);
        let killed = ["\"n1\"", "\"n2\"", "\"n3\""]
            .iter()
            .filter(|n| steps[5].contains(*n))
            .count();
        assert_eq!(killed, 2, "a majority of 3: {}", steps[5]);
        // The same seed plans the same steps.
        assert_eq!(planned_steps(&config, &["n1", "n2", "n3"], 5), steps);
    }

    #[test]
    fn a_plan_of_another_fault_is_refused_not_panicked_on() {
        #[derive(Debug)]
        struct Stranger;
        impl crate::fault::Plan for Stranger {
            fn kind(&self) -> FaultKind {
                FaultKind::Partition
            }
            fn nodes(&self) -> Vec<String> {
                vec!["n1".into()]
            }
            fn note(&self) -> Option<&str> {
                None
            }
        }
        let n = nemesis(
            &NemesisConfig::with_faults(&[FaultKind::Partition]),
            &["n1"],
            1,
            PacketSupport::Netem,
        );
        let a = Action::new(Stranger);
        assert_eq!(
            n.op(FaultEdge::Start, &a).value.to_string(),
            r#"{"nodes" ["n1"]}"#
        );
        let recorded = Arc::new(std::sync::Mutex::new(0));
        let count = recorded.clone();
        let mut n = n;
        n.cx.record = Arc::new(move |_| *count.lock().unwrap() += 1);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        for r in [rt.block_on(n.start(&a)), rt.block_on(n.stop(&a))] {
            let err = r.unwrap_err().to_string();
            assert!(
                err.contains("a partition action cannot be carried out"),
                "{err}"
            );
        }
        assert_eq!(
            *recorded.lock().unwrap(),
            0,
            "a refused action is not recorded"
        );
    }

    /// Every sequence, one line per fault, `==` before each.
    fn all_sequences() -> String {
        let mut out = String::new();
        let mut section = |title: &str, lines: Vec<String>| {
            out.push_str(&format!("== {title}\n"));
            for l in lines {
                out.push_str(&l);
                out.push('\n');
            }
        };
        let all = NemesisConfig::with_faults(&FaultKind::ALL);
        section(
            "all faults, defaults, 5 nodes, seed 42, netem",
            sequence(
                nemesis(
                    &all,
                    &["n1", "n2", "n3", "n4", "n5"],
                    42,
                    PacketSupport::Netem,
                ),
                24,
            ),
        );
        let yaml = "faults: [all]\ninterval: 2s\npartition: {grudge: {n1: [n2]}}\nkill: {nodes: [n2]}\npause: {targets: [majority, minority]}\nclock: {modes: [strobe, drift], max-offset: 2s, strobe-period: 50ms, max-drift: 0.5}\npacket: {behaviors: [loss, reorder, delay], peers: [n1], loss: 35}\n";
        let custom: NemesisConfig = serde_saphyr::from_str(yaml).unwrap();
        section(
            "all faults, custom settings, 3 nodes, seed 7, loss only",
            sequence(
                nemesis(
                    &custom,
                    &["n1", "n2", "n3"],
                    7,
                    PacketSupport::LossOnly { reason: "r".into() },
                ),
                16,
            ),
        );
        let yaml = "faults: [partition, kill, clock]\npartition: {topologies: [primaries, one]}\nkill: {targets: [primaries, majority]}\nclock: {modes: [bump], max-offset: 50ms}\n";
        let primaries: NemesisConfig = serde_saphyr::from_str(yaml).unwrap();
        section(
            "primaries without a database, 4 nodes, seed 1",
            sequence(
                nemesis(
                    &primaries,
                    &["n1", "n2", "n3", "n4"],
                    1,
                    PacketSupport::Netem,
                ),
                10,
            ),
        );
        // What test.yaml records, and what a bad fault name says.
        section(
            "resolved configuration as YAML",
            vec![serde_saphyr::to_string(&custom.resolved(true)).unwrap()],
        );
        section(
            "errors",
            vec![
                serde_saphyr::from_str::<NemesisConfig>("faults: [partition, kil]\n")
                    .unwrap_err()
                    .to_string(),
                crate::config::parse_fault_list("partition,nope").unwrap_err(),
            ],
        );
        out
    }

    #[test]
    fn the_same_seed_plans_the_same_faults() {
        let got = all_sequences();
        if std::env::var_os("SB_WRITE_PINNED").is_some() {
            std::fs::write(
                concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/pinned-plans.txt"),
                &got,
            )
            .unwrap();
        }
        let want = include_str!("../testdata/pinned-plans.txt");
        for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
            assert_eq!(g, w, "line {}", i + 1);
        }
        assert_eq!(got.lines().count(), want.lines().count());
    }
}
