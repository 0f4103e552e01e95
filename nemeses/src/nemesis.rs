//! The nemesis: faults planned from a seed, carried out on the nodes, recorded in the history.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use splitbrain_control::cluster::on_sessions;
use splitbrain_control::db::Db;
use splitbrain_control::{Cluster, Cmd, NodeErrors, RemoteError, Session};
use splitbrain_history::{Op, OpType, Process, Value};
use tokio_util::sync::CancellationToken;

use crate::config::{ClockMode, Fault, NemesisConfig, PacketBehavior, Target, Topology};
use crate::grudge::{self, Grudge};
use crate::heal::{HealOptions, HealReport, heal_all};
use crate::scripts;

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

/// Whether clock faults can move the database's clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClockSupport {
    /// The daemon runs under libfaketime (this library), reading the definition's clock file.
    Faketime { library: String },
    /// Clock faults would have no effect; the reason says why, plainly.
    Unsupported { reason: String },
}

/// How packets are faulted on this cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PacketSupport {
    /// tc netem on each node's interface.
    Netem,
    /// The kernel has no netem: loss only, with iptables' statistic match.
    LossOnly { reason: String },
}

/// How a clock fault moves the clock.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ClockChange {
    /// Jump by this offset.
    Bump { offset_ms: i64 },
    /// Flip between `delta_ms` and zero every `period_ms`, for `duration_ms`.
    Strobe {
        delta_ms: i64,
        period_ms: u64,
        duration_ms: u64,
    },
    /// Run fast (positive) or slow (negative) by this many parts per million.
    Drift { ppm: i64 },
}

/// netem settings of one packet fault; `None` leaves a behaviour out.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Netem {
    pub delay_ms: Option<u64>,
    pub jitter_ms: Option<u64>,
    pub loss_pct: Option<f64>,
    pub duplicate_pct: Option<f64>,
    pub reorder_pct: Option<f64>,
}

/// One fault, fully decided: what [`Nemesis::start`] does and [`Nemesis::stop`] undoes.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Partition {
        topology: Topology,
        grudge: Grudge,
        /// Anything worth knowing about how the grudge was chosen (e.g. no leader found).
        note: Option<String>,
    },
    Kill {
        target: Target,
        nodes: Vec<String>,
        /// How the target was resolved, when not as asked (e.g. no leader found).
        note: Option<String>,
    },
    Pause {
        target: Target,
        nodes: Vec<String>,
        note: Option<String>,
    },
    Clock {
        target: Target,
        nodes: Vec<String>,
        change: ClockChange,
        note: Option<String>,
    },
    Packet {
        target: Target,
        nodes: Vec<String>,
        /// Only packets towards these nodes; empty: all packets.
        peers: Vec<String>,
        netem: Netem,
        note: Option<String>,
    },
}

impl Action {
    pub fn fault(&self) -> Fault {
        match self {
            Action::Partition { .. } => Fault::Partition,
            Action::Kill { .. } => Fault::Kill,
            Action::Pause { .. } => Fault::Pause,
            Action::Clock { .. } => Fault::Clock,
            Action::Packet { .. } => Fault::Packet,
        }
    }

    /// The nodes the fault touches.
    pub fn nodes(&self) -> Vec<String> {
        match self {
            Action::Partition { grudge, .. } => grudge::affected(grudge),
            Action::Kill { nodes, .. }
            | Action::Pause { nodes, .. }
            | Action::Clock { nodes, .. }
            | Action::Packet { nodes, .. } => nodes.clone(),
        }
    }

    /// The `value` of the `start-<fault>` op: the nodes and every detail.
    pub fn start_value(&self, packet: Option<&PacketSupport>) -> Value {
        let mut m = vec![("nodes", names(&self.nodes()))];
        match self {
            Action::Partition {
                topology,
                grudge,
                note,
            } => {
                m.push(("topology", topology.name().into()));
                m.push((
                    "grudge",
                    Value::Map(
                        grudge
                            .iter()
                            .map(|(n, d)| (Value::str(n.as_str()), names(d)))
                            .collect(),
                    ),
                ));
                if let Some(n) = note {
                    m.push(("note", n.as_str().into()));
                }
            }
            Action::Kill { target, .. } => {
                m.push(("target", target.name().into()));
                m.push(("signal", "KILL".into()));
            }
            Action::Pause { target, .. } => {
                m.push(("target", target.name().into()));
                m.push(("signal", "STOP".into()));
            }
            Action::Clock { target, change, .. } => {
                m.push(("target", target.name().into()));
                match *change {
                    ClockChange::Bump { offset_ms } => {
                        m.push(("mode", "bump".into()));
                        m.push(("offset_ms", offset_ms.into()));
                    }
                    ClockChange::Strobe {
                        delta_ms,
                        period_ms,
                        duration_ms,
                    } => {
                        m.push(("mode", "strobe".into()));
                        m.push(("delta_ms", delta_ms.into()));
                        m.push(("period_ms", (period_ms as i64).into()));
                        m.push(("duration_ms", (duration_ms as i64).into()));
                    }
                    ClockChange::Drift { ppm } => {
                        m.push(("mode", "drift".into()));
                        m.push(("rate", Value::Float(1.0 + ppm as f64 / 1e6)));
                        m.push(("ppm", ppm.into()));
                    }
                }
            }
            Action::Packet {
                target,
                peers,
                netem,
                ..
            } => {
                m.push(("target", target.name().into()));
                if !peers.is_empty() {
                    m.push(("peers", names(peers)));
                }
                m.push((
                    "via",
                    match packet {
                        Some(PacketSupport::LossOnly { .. }) => "iptables",
                        _ => "netem",
                    }
                    .into(),
                ));
                if let Some(d) = netem.delay_ms {
                    m.push(("delay_ms", (d as i64).into()));
                }
                if let Some(j) = netem.jitter_ms {
                    m.push(("jitter_ms", (j as i64).into()));
                }
                for (k, v) in [
                    ("loss_pct", netem.loss_pct),
                    ("duplicate_pct", netem.duplicate_pct),
                    ("reorder_pct", netem.reorder_pct),
                ] {
                    if let Some(p) = v {
                        m.push((k, Value::Float(p)));
                    }
                }
            }
        }
        match self {
            Action::Kill { note: Some(n), .. }
            | Action::Pause { note: Some(n), .. }
            | Action::Clock { note: Some(n), .. }
            | Action::Packet { note: Some(n), .. } => m.push(("note", n.as_str().into())),
            _ => {}
        }
        map(m)
    }

    /// The `value` of the `stop-<fault>` op.
    pub fn stop_value(&self) -> Value {
        let mut m = vec![("nodes", names(&self.nodes()))];
        match self {
            Action::Partition { topology, .. } => m.push(("topology", topology.name().into())),
            Action::Kill { .. } => m.push(("action", "start".into())),
            Action::Pause { .. } => m.push(("signal", "CONT".into())),
            Action::Clock { .. } => {
                m.push(("mode", "reset".into()));
                m.push(("offset_ms", 0.into()));
            }
            Action::Packet { .. } => {}
        }
        map(m)
    }
}

fn names<'a>(xs: impl IntoIterator<Item = &'a String>) -> Value {
    Value::List(xs.into_iter().map(|s| Value::str(s.as_str())).collect())
}

fn map(entries: Vec<(&str, Value)>) -> Value {
    Value::Map(
        entries
            .into_iter()
            .map(|(k, v)| (Value::str(k), v))
            .collect(),
    )
}

/// How long one fault command may take on a node.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// Faults for one cluster: set up once, then [`Nemesis::run`] (the schedule), or
/// [`Nemesis::plan`] / [`Nemesis::start`] / [`Nemesis::stop`] one at a time.
pub struct Nemesis {
    cluster: Cluster,
    db: Option<Db>,
    nodes: Vec<String>,
    ips: BTreeMap<String, String>,
    ifaces: BTreeMap<String, String>,
    config: NemesisConfig,
    faults: Vec<Fault>,
    clock: Option<ClockSupport>,
    packet: Option<PacketSupport>,
    rng: fastrand::Rng,
    record: Record,
    notes: Vec<String>,
}

impl Nemesis {
    /// Checks the configuration against the nodes and the database, heals what an earlier
    /// run may have left, creates our iptables chain (partition), finds out what the nodes
    /// support (netem for packet faults; libfaketime for clock faults) and leaves out, with
    /// a note, what would have no effect. The same `seed` plans the same faults.
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
        let mut faults = config.fault_list();
        for f in &faults {
            if db.is_none() && matches!(f, Fault::Kill | Fault::Pause | Fault::Clock) {
                return Err(NemesisError::Config(format!(
                    "the {f} nemesis needs a database definition (db:) to know which process to fault"
                )));
            }
        }
        if !has_leader {
            let asked = config.partition.topologies.contains(&Topology::Primaries)
                && faults.contains(&Fault::Partition)
                || [
                    (Fault::Kill, &config.kill.targets),
                    (Fault::Pause, &config.pause.targets),
                    (Fault::Clock, &config.clock.targets),
                    (Fault::Packet, &config.packet.targets),
                ]
                .iter()
                .any(|(f, t)| faults.contains(f) && t.contains(&Target::Primaries));
            if asked {
                return Err(NemesisError::Config(
                    "`primaries` needs the database definition's leader query (leader.command)"
                        .into(),
                ));
            }
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

        let mut nemesis = Nemesis {
            cluster: cluster.clone(),
            db: db.cloned(),
            nodes,
            ips,
            ifaces: BTreeMap::new(),
            config,
            faults: Vec::new(),
            clock: None,
            packet: None,
            rng: fastrand::Rng::with_seed(seed ^ 0x006e_656d_6573_6973),
            record,
            notes,
        };
        if faults.contains(&Fault::Partition) {
            cluster
                .exec_all(&timed(scripts::partition_setup()))
                .await
                .into_result()?;
        }
        if faults.contains(&Fault::Packet) {
            nemesis.setup_packet().await?;
            if let Some(PacketSupport::LossOnly { reason }) = &nemesis.packet {
                if nemesis
                    .config
                    .packet
                    .behaviors
                    .contains(&PacketBehavior::Loss)
                {
                    nemesis.note(format!(
                        "{reason}: packet faults inject loss only (with iptables' statistic match); delay, duplication and reordering need netem"
                    ));
                } else {
                    nemesis.note(format!(
                        "{reason}, and loss (the one packet fault possible without it) is not among nemesis.packet.behaviors: no packet fault was injected"
                    ));
                    faults.retain(|f| *f != Fault::Packet);
                }
            }
        }
        if faults.contains(&Fault::Clock) {
            let support = nemesis.probe_clock().await?;
            if let ClockSupport::Unsupported { reason } = &support {
                nemesis.note(reason.clone());
                faults.retain(|f| *f != Fault::Clock);
            }
            nemesis.clock = Some(support);
        }
        nemesis.faults = faults;
        Ok(nemesis)
    }

    fn note(&mut self, text: String) {
        tracing::warn!("nemesis: {text}");
        self.notes.push(text);
    }

    /// What the run should know: faults left out and why, leftovers healed, fallbacks.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The faults the schedule draws from (those that can take effect here).
    pub fn faults(&self) -> &[Fault] {
        &self.faults
    }

    /// The configuration with every default decided.
    pub fn config(&self) -> &NemesisConfig {
        &self.config
    }

    pub fn clock_support(&self) -> Option<&ClockSupport> {
        self.clock.as_ref()
    }

    pub fn packet_support(&self) -> Option<&PacketSupport> {
        self.packet.as_ref()
    }

    // ------------------------------------------------------------------ schedule

    /// The schedule, until `stop` is cancelled: wait an interval, start a random fault,
    /// wait an interval, stop it; again. A fault still active when `stop` comes is stopped
    /// before this returns. Errors are logged and recorded, never fatal: the next fault
    /// comes anyway.
    pub async fn run(&mut self, stop: CancellationToken) {
        let interval = self.config.interval();
        if self.faults.is_empty() {
            tracing::info!("nemesis: no fault can take effect here; none will be injected");
            return;
        }
        tracing::info!(
            "nemesis: {} every {}",
            self.faults
                .iter()
                .map(|f| f.name())
                .collect::<Vec<_>>()
                .join(", "),
            humantime::format_duration(interval)
        );
        loop {
            if sleep_or_stop(interval, &stop).await {
                break;
            }
            let fault = self.faults[self.rng.usize(..self.faults.len())];
            let action = match self.plan(fault).await {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("nemesis: cannot plan a {fault} fault: {e}");
                    continue;
                }
            };
            if let Err(e) = self.start(&action).await {
                tracing::warn!("nemesis: {} failed: {e}", fault.start_f());
            }
            sleep_or_stop(interval, &stop).await;
            if let Err(e) = self.stop(&action).await {
                tracing::warn!("nemesis: {} failed: {e}", fault.stop_f());
            }
            if stop.is_cancelled() {
                break;
            }
        }
    }

    // ------------------------------------------------------------------ planning

    /// Decides a fault of kind `fault` from the seeded random stream: topology, targets,
    /// offsets, packet behaviours.
    pub async fn plan(&mut self, fault: Fault) -> Result<Action, NemesisError> {
        match fault {
            Fault::Partition => {
                let topology = pick(&mut self.rng, &self.config.partition.topologies)
                    .unwrap_or(Topology::RandomHalves);
                let mut shuffled = self.nodes.clone();
                self.rng.shuffle(&mut shuffled);
                let mut note = None;
                let grudge = match topology {
                    Topology::Halves => grudge::halves(&self.nodes),
                    Topology::RandomHalves => grudge::halves(&shuffled),
                    Topology::One => grudge::isolate(&self.nodes, &shuffled[..1]),
                    Topology::MajoritiesRing => grudge::majorities_ring(&shuffled),
                    Topology::Bridge => grudge::bridge(&shuffled),
                    Topology::Grudge => grudge::explicit(&self.config.partition.grudge),
                    Topology::Primaries => {
                        let (leaders, why) = self.primaries().await;
                        note = why;
                        let victims = if leaders.is_empty() {
                            shuffled[..1].to_vec()
                        } else {
                            leaders
                        };
                        grudge::isolate(&self.nodes, &victims)
                    }
                };
                Ok(Action::Partition {
                    topology,
                    grudge,
                    note,
                })
            }
            Fault::Kill | Fault::Pause => {
                let opts = if fault == Fault::Kill {
                    self.config.kill.clone()
                } else {
                    self.config.pause.clone()
                };
                let target = pick(&mut self.rng, &opts.targets).unwrap_or(Target::One);
                let (nodes, note) = self.resolve_target(target, &opts.nodes).await;
                Ok(if fault == Fault::Kill {
                    Action::Kill {
                        target,
                        nodes,
                        note,
                    }
                } else {
                    Action::Pause {
                        target,
                        nodes,
                        note,
                    }
                })
            }
            Fault::Clock => {
                if let Some(ClockSupport::Unsupported { reason }) = &self.clock {
                    return Err(NemesisError::Unsupported(reason.clone()));
                }
                let c = self.config.clock.clone();
                let target = pick(&mut self.rng, &c.targets).unwrap_or(Target::One);
                let (nodes, note) = self.resolve_target(target, &c.nodes).await;
                let max_ms = c
                    .max_offset
                    .unwrap_or(crate::config::DEFAULT_MAX_OFFSET)
                    .as_millis()
                    .max(1) as i64;
                let offset = |rng: &mut fastrand::Rng| {
                    let low = (max_ms / 10).clamp(1, 100.min(max_ms));
                    let ms = rng.i64(low..=max_ms);
                    if rng.bool() { ms } else { -ms }
                };
                let change = match pick(&mut self.rng, &c.modes).unwrap_or(ClockMode::Bump) {
                    ClockMode::Bump => ClockChange::Bump {
                        offset_ms: offset(&mut self.rng),
                    },
                    ClockMode::Strobe => ClockChange::Strobe {
                        delta_ms: offset(&mut self.rng),
                        period_ms: c
                            .strobe_period
                            .unwrap_or(crate::config::DEFAULT_STROBE_PERIOD)
                            .as_millis() as u64,
                        duration_ms: self.config.interval().as_millis() as u64,
                    },
                    ClockMode::Drift => {
                        let max_ppm =
                            (c.max_drift.unwrap_or(crate::config::DEFAULT_MAX_DRIFT) * 1e6) as i64;
                        let ppm = self.rng.i64((max_ppm / 10).max(1)..=max_ppm.max(1));
                        ClockChange::Drift {
                            ppm: if self.rng.bool() { ppm } else { -ppm },
                        }
                    }
                };
                Ok(Action::Clock {
                    target,
                    nodes,
                    change,
                    note,
                })
            }
            Fault::Packet => {
                let p = self.config.packet.clone();
                let target = pick(&mut self.rng, &p.targets).unwrap_or(Target::One);
                let (nodes, note) = self.resolve_target(target, &p.nodes).await;
                let mut possible = p.behaviors.clone();
                if matches!(self.packet, Some(PacketSupport::LossOnly { .. })) {
                    possible.retain(|b| *b == PacketBehavior::Loss);
                }
                if possible.is_empty() {
                    return Err(NemesisError::Unsupported(
                        "no packet behaviour can be injected here".into(),
                    ));
                }
                // A random non-empty subset of the behaviours.
                let mut chosen: Vec<PacketBehavior> = possible
                    .iter()
                    .copied()
                    .filter(|_| self.rng.bool())
                    .collect();
                if chosen.is_empty() {
                    chosen.push(possible[self.rng.usize(..possible.len())]);
                }
                let has = |b| chosen.contains(&b);
                let mut netem = Netem::default();
                // netem reorders only delayed packets: reordering brings a delay along.
                if has(PacketBehavior::Delay) || has(PacketBehavior::Reorder) {
                    netem.delay_ms = p.delay.map(|d| d.as_millis() as u64);
                    netem.jitter_ms = p.jitter.map(|d| d.as_millis() as u64);
                }
                if has(PacketBehavior::Loss) {
                    netem.loss_pct = p.loss;
                }
                if has(PacketBehavior::Duplicate) {
                    netem.duplicate_pct = p.duplicate;
                }
                if has(PacketBehavior::Reorder) {
                    netem.reorder_pct = p.reorder;
                }
                Ok(Action::Packet {
                    target,
                    nodes,
                    peers: p.peers.clone(),
                    netem,
                    note,
                })
            }
        }
    }

    /// The nodes that say they lead; when none does, the reason.
    async fn primaries(&self) -> (Vec<String>, Option<String>) {
        let Some(db) = &self.db else {
            return (Vec::new(), Some("no database definition".into()));
        };
        match db.leader(&self.cluster).await {
            Ok(Some(l)) if !l.is_empty() => (l.into_iter().map(|n| n.name).collect(), None),
            Ok(_) => (
                Vec::new(),
                Some("no node said it leads; a random node was chosen".into()),
            ),
            Err(e) => (
                Vec::new(),
                Some(format!(
                    "the leader query failed ({}); a random node was chosen",
                    e.to_string().lines().next().unwrap_or("")
                )),
            ),
        }
    }

    /// The nodes of `target`, and a note when they are not what was asked for.
    async fn resolve_target(
        &mut self,
        target: Target,
        explicit: &[String],
    ) -> (Vec<String>, Option<String>) {
        let n = self.nodes.len();
        let mut shuffled = self.nodes.clone();
        self.rng.shuffle(&mut shuffled);
        let take = |k: usize| -> Vec<String> {
            let mut v: Vec<String> = shuffled[..k.clamp(1, n)].to_vec();
            v.sort();
            v
        };
        match target {
            Target::One => (take(1), None),
            Target::Minority => (take((n.saturating_sub(1)) / 2), None),
            Target::Majority => (take(n / 2 + 1), None),
            Target::All => (self.nodes.clone(), None),
            Target::Nodes => (explicit.to_vec(), None),
            Target::Primaries => {
                let (leaders, why) = self.primaries().await;
                if leaders.is_empty() {
                    (take(1), why)
                } else {
                    (leaders, None)
                }
            }
        }
    }

    // ------------------------------------------------------------------ start and stop

    /// Carries out `action` and records `start-<fault>` (with `error` if it failed part-way;
    /// [`Nemesis::stop`] undoes whatever was done). After a clock fault, also records every
    /// node's measured `clock-offsets`.
    /// A clock fault that cannot take effect here is refused and not recorded at all.
    pub async fn start(&self, action: &Action) -> Result<(), NemesisError> {
        let fault = action.fault();
        if fault == Fault::Clock {
            self.need_clock()?;
        }
        let result = self.apply(action).await;
        let mut op = self.op(
            &fault.start_f(),
            action.start_value(self.packet.as_ref()),
            action,
        );
        match &result {
            Ok(()) => tracing::info!("nemesis: {} {}", fault.start_f(), op.value),
            Err(e) => op.error = Some(Value::str(one_line(&e.to_string()))),
        }
        (self.record)(op);
        if fault == Fault::Clock {
            self.record_clock_offsets().await;
        }
        result
    }

    /// Undoes `action` and records `stop-<fault>`. Safe to call when the start failed.
    pub async fn stop(&self, action: &Action) -> Result<(), NemesisError> {
        let fault = action.fault();
        if fault == Fault::Clock {
            self.need_clock()?;
        }
        let result = self.undo(action).await;
        let mut op = self.op(&fault.stop_f(), action.stop_value(), action);
        match &result {
            Ok(()) => tracing::info!("nemesis: {} {}", fault.stop_f(), op.value),
            Err(e) => op.error = Some(Value::str(one_line(&e.to_string()))),
        }
        (self.record)(op);
        if fault == Fault::Clock {
            self.record_clock_offsets().await;
        }
        result
    }

    fn op(&self, f: &str, value: Value, action: &Action) -> Op {
        let mut op = Op::new(Process::Nemesis, OpType::Info, f, value);
        op.node = Some(names(&action.nodes()));
        op
    }

    async fn apply(&self, action: &Action) -> Result<(), NemesisError> {
        match action {
            Action::Partition { grudge, .. } => {
                let rules = grudge.iter().map(|(n, drops)| {
                    let cmd = timed(scripts::partition_apply(
                        drops.iter().map(|d| self.ips[d].clone()),
                    ));
                    (n.clone(), cmd)
                });
                self.exec_each(rules.collect()).await
            }
            Action::Kill { nodes, .. } => {
                let db = self.need_db()?;
                self.on_nodes(nodes, move |_, s| {
                    let db = db.clone();
                    async move { db.kill(&s).await }
                })
                .await
            }
            Action::Pause { nodes, .. } => {
                let db = self.need_db()?;
                self.on_nodes(nodes, move |_, s| {
                    let db = db.clone();
                    async move {
                        let pid = db.pid(&s).await?;
                        db.pause(&s).await?;
                        if let Some(pid) = pid {
                            s.exec(&timed(scripts::remember_paused(pid))).await?;
                        }
                        Ok(())
                    }
                })
                .await
            }
            Action::Clock { nodes, change, .. } => {
                let (db, _) = self.need_clock()?;
                let change = *change;
                let interval = self.config.interval();
                self.on_nodes(nodes, move |_, s| {
                    let db = db.clone();
                    async move {
                        let file = db.clock_file(&s)?;
                        s.exec(&clock_cmd(&file, change, interval))
                            .await
                            .map(|_| ())
                    }
                })
                .await
            }
            Action::Packet {
                nodes,
                peers,
                netem,
                ..
            } => {
                let support = self.packet.clone().ok_or_else(|| {
                    NemesisError::Config("packet faults were not set up (Nemesis::setup)".into())
                })?;
                let mut per_node = BTreeMap::new();
                for n in nodes {
                    let peer_ips: Vec<String> = peers
                        .iter()
                        .filter(|p| *p != n)
                        .map(|p| self.ips[p].clone())
                        .collect();
                    if !peers.is_empty() && peer_ips.is_empty() {
                        continue; // its only peer is itself: nothing to fault
                    }
                    let cmd = match &support {
                        PacketSupport::Netem => {
                            let dev = self.ifaces.get(n).ok_or_else(|| {
                                NemesisError::Unsupported(format!(
                                    "cannot tell which interface of {n} carries its address {}",
                                    self.ips[n]
                                ))
                            })?;
                            timed(scripts::netem_apply(dev, &peer_ips, &netem_args(netem)))
                        }
                        PacketSupport::LossOnly { .. } => {
                            let p = netem.loss_pct.unwrap_or(0.0) / 100.0;
                            timed(scripts::loss_apply(p, &peer_ips))
                        }
                    };
                    per_node.insert(n.clone(), cmd);
                }
                self.exec_each(per_node).await
            }
        }
    }

    async fn undo(&self, action: &Action) -> Result<(), NemesisError> {
        match action {
            Action::Partition { .. } => {
                self.cluster
                    .exec_all(&timed(scripts::partition_clear()))
                    .await
                    .into_result()?;
                Ok(())
            }
            Action::Kill { nodes, .. } => {
                let db = self.need_db()?;
                self.on_nodes(nodes, move |_, s| {
                    let db = db.clone();
                    async move { db.start(&s).await }
                })
                .await
            }
            Action::Pause { nodes, .. } => {
                let db = self.need_db()?;
                self.on_nodes(nodes, move |_, s| {
                    let db = db.clone();
                    async move {
                        db.resume(&s).await?;
                        s.exec(&timed(scripts::forget_paused())).await.map(|_| ())
                    }
                })
                .await
            }
            Action::Clock { .. } => {
                // Every node back to zero: cheap, and nothing can stay skewed.
                let (db, _) = self.need_clock()?;
                self.on_nodes(&self.nodes, move |_, s| {
                    let db = db.clone();
                    async move {
                        let file = db.clock_file(&s)?;
                        s.exec(&reset_clock_cmd(&file)).await.map(|_| ())
                    }
                })
                .await
            }
            Action::Packet { nodes, .. } => {
                let clear = timed(scripts::packet_clear());
                self.exec_each(nodes.iter().map(|n| (n.clone(), clear.clone())).collect())
                    .await
            }
        }
    }

    /// Heals every fault on every node ([`heal_all`]); with clock faults, then records the
    /// measured `clock-offsets`.
    pub async fn heal(&self, options: HealOptions) -> HealReport {
        let report = heal_all(&self.cluster, self.db.as_ref(), options).await;
        if matches!(self.clock, Some(ClockSupport::Faketime { .. })) {
            self.record_clock_offsets().await;
        }
        report
    }

    // ------------------------------------------------------------------ clocks

    /// Every node's clock offset as the database sees it: `date` run under the same
    /// libfaketime settings as the daemon, against the real clock read just before and
    /// after. Milliseconds; nodes that cannot be measured are left out (and logged).
    pub async fn clock_offsets(&self) -> Result<BTreeMap<String, i64>, NemesisError> {
        let (db, library) = self.need_clock()?;
        let results = on_sessions(self.cluster.sessions(), move |s| {
            let db = db.clone();
            let library = library.clone();
            async move {
                let file = db.clock_file(&s)?;
                let out = s
                    .exec(&timed(scripts::clock_measure(&library, &file)))
                    .await?;
                Ok(parse_measure(out.out()))
            }
        })
        .await;
        let mut offsets = BTreeMap::new();
        for (node, r) in results.0 {
            match r {
                Ok(Some(ms)) => {
                    offsets.insert(node.name, ms);
                }
                Ok(None) => tracing::warn!("nemesis: cannot read the clock of {}", node.name),
                Err(e) => tracing::warn!("nemesis: cannot measure the clock of {}: {e}", node.name),
            }
        }
        Ok(offsets)
    }

    async fn record_clock_offsets(&self) {
        match self.clock_offsets().await {
            Ok(offsets) => {
                let value = Value::Map(
                    offsets
                        .iter()
                        .map(|(n, ms)| (Value::str(n.as_str()), Value::Int(*ms)))
                        .collect(),
                );
                tracing::info!("nemesis: clock-offsets {value}");
                (self.record)(Op::new(
                    Process::Nemesis,
                    OpType::Info,
                    "clock-offsets",
                    value,
                ));
            }
            Err(e) => tracing::warn!("nemesis: cannot measure clocks: {e}"),
        }
    }

    // ------------------------------------------------------------------ setup helpers

    async fn setup_packet(&mut self) -> Result<(), NemesisError> {
        let probes = self
            .cluster
            .exec_all(&timed(scripts::netem_probe()))
            .await
            .into_result()?;
        let missing = probes
            .iter()
            .find(|(_, o)| !o.out().trim().starts_with("yes"))
            .map(|(n, o)| {
                let why = o.out().trim().trim_start_matches("no:").trim().to_string();
                format!("{} has no tc netem ({why})", n.name)
            });
        self.packet = Some(match missing {
            None => PacketSupport::Netem,
            Some(reason) => PacketSupport::LossOnly { reason },
        });
        if self.packet == Some(PacketSupport::Netem) {
            let found = self
                .cluster
                .on_all(|s| {
                    let me = &s.node().name;
                    let peer = self.nodes.iter().find(|p| *p != me).map(|p| &self.ips[p]);
                    let cmd = timed(scripts::interface(&self.ips[me], peer.map(String::as_str)));
                    async move { s.exec(&cmd).await }
                })
                .await;
            for (node, out) in found.0 {
                let n = node.name;
                match out {
                    Ok(o) if !o.out().trim().is_empty() => {
                        self.ifaces.insert(n, o.out().trim().to_string());
                    }
                    _ => {
                        return Err(NemesisError::Unsupported(format!(
                            "cannot tell which network interface of {n} carries its address {}; packet faults need it",
                            self.ips[&n]
                        )));
                    }
                }
            }
        } else {
            let check = self
                .cluster
                .exec_all(&Cmd::shell("command -v iptables >/dev/null").sudo_root())
                .await;
            if !check.all_ok() {
                return Err(NemesisError::Unsupported(
                    "packet faults need tc netem or iptables on every node (apt-get install iproute2 iptables)".into(),
                ));
            }
        }
        Ok(())
    }

    async fn probe_clock(&self) -> Result<ClockSupport, NemesisError> {
        let db = self.need_db()?;
        let def = db.def();
        let first = self
            .cluster
            .sessions()
            .first()
            .cloned()
            .ok_or_else(|| NemesisError::Config("no nodes".into()))?;
        let program = db.command(&first)?.first().cloned().unwrap_or_default();
        let library = def.clock.library.clone();
        let probes = self
            .cluster
            .exec_all(&timed(scripts::clock_probe(&program, &library)))
            .await
            .into_result()?;
        let name = &def.name;
        for (node, out) in &probes {
            let line = out.out().trim();
            let (kind, path) = line.split_once(' ').unwrap_or((line, ""));
            let reason = match kind {
                "go" => Some(format!(
                    "clock faults have no effect on {name}: {path} is a Go program, which reads the clock without libc and so ignores libfaketime; no clock fault was injected"
                )),
                "static" => Some(format!(
                    "clock faults have no effect on {name}: {path} is statically linked, so libfaketime cannot be preloaded into it; no clock fault was injected"
                )),
                "nolib" if def.clock.faketime => Some(format!(
                    "clock faults are off: libfaketime ({library}) is not installed on {} (apt-get install libfaketime); no clock fault was injected",
                    node.name
                )),
                _ => None,
            };
            if let Some(reason) = reason {
                return Ok(ClockSupport::Unsupported { reason });
            }
        }
        if !def.clock.faketime {
            return Ok(ClockSupport::Unsupported {
                reason: format!(
                    "clock faults are off for {name}: its definition ({}) has clock.faketime: false, so {name} does not run under libfaketime; no clock fault was injected",
                    def.source.display()
                ),
            });
        }
        Ok(ClockSupport::Faketime { library })
    }

    fn need_db(&self) -> Result<Db, NemesisError> {
        self.db.clone().ok_or_else(|| {
            NemesisError::Config("this fault needs a database definition (db:)".into())
        })
    }

    fn need_clock(&self) -> Result<(Db, String), NemesisError> {
        let db = self.need_db()?;
        match &self.clock {
            Some(ClockSupport::Faketime { library }) => Ok((db, library.clone())),
            Some(ClockSupport::Unsupported { reason }) => {
                Err(NemesisError::Unsupported(reason.clone()))
            }
            None => Err(NemesisError::Config(
                "clock faults were not set up: enable the clock fault in the configuration".into(),
            )),
        }
    }

    fn session(&self, name: &str) -> Result<Arc<Session>, NemesisError> {
        self.cluster
            .session(name)
            .cloned()
            .ok_or_else(|| NemesisError::Config(format!("no node called {name}")))
    }

    /// Runs `f(name, session)` on the named nodes concurrently; every node's error.
    async fn on_nodes<F, Fut>(&self, names: &[String], f: F) -> Result<(), NemesisError>
    where
        F: Fn(String, Arc<Session>) -> Fut,
        Fut: std::future::Future<Output = Result<(), RemoteError>> + Send + 'static,
    {
        let mut sessions = Vec::new();
        for n in names {
            sessions.push(self.session(n)?);
        }
        on_sessions(&sessions, |s| f(s.node().name.clone(), s))
            .await
            .into_result()
            .map(|_| ())
            .map_err(NemesisError::from)
    }

    /// Runs each named node's own command concurrently; every node's error.
    async fn exec_each(&self, cmds: BTreeMap<String, Cmd>) -> Result<(), NemesisError> {
        let names: Vec<String> = cmds.keys().cloned().collect();
        let cmds = Arc::new(cmds);
        self.on_nodes(&names, move |name, s| {
            let cmd = cmds[&name].clone();
            async move { s.exec(&cmd).await.map(|_| ()) }
        })
        .await
    }
}

fn timed(cmd: Cmd) -> Cmd {
    cmd.timeout(COMMAND_TIMEOUT)
}

fn clock_cmd(file: &str, change: ClockChange, interval: Duration) -> Cmd {
    timed(match change {
        ClockChange::Bump { offset_ms } => scripts::clock_set(file, offset_ms),
        ClockChange::Strobe {
            delta_ms,
            period_ms,
            duration_ms,
        } => {
            let flips = (duration_ms / (2 * period_ms.max(1))).max(1);
            scripts::clock_strobe(file, delta_ms, Duration::from_millis(period_ms), flips)
        }
        ClockChange::Drift { ppm } => {
            // Bounded, in case nobody stops it: three intervals or a minute, whichever is longer.
            let step = Duration::from_millis(100);
            let bound = (interval * 3).max(Duration::from_secs(60));
            let steps = (bound.as_millis() / step.as_millis()) as u64;
            scripts::clock_drift(file, ppm, step, steps)
        }
    })
}

fn reset_clock_cmd(file: &str) -> Cmd {
    timed(scripts::clock_set(file, 0))
}

fn netem_args(n: &Netem) -> Vec<String> {
    let mut a = Vec::new();
    if let Some(d) = n.delay_ms {
        a.push("delay".to_string());
        a.push(format!("{d}ms"));
        if let Some(j) = n.jitter_ms.filter(|j| *j > 0) {
            a.push(format!("{j}ms"));
        }
    }
    for (k, v) in [
        ("loss", n.loss_pct),
        ("duplicate", n.duplicate_pct),
        ("reorder", n.reorder_pct),
    ] {
        if let Some(p) = v {
            a.push(k.to_string());
            a.push(format!("{p}%"));
        }
    }
    a
}

/// `before faked after` in ns → the faked clock's offset from the real one, in ms.
fn parse_measure(line: &str) -> Option<i64> {
    let v: Vec<i128> = line
        .split_whitespace()
        .map(|w| w.parse().ok())
        .collect::<Option<Vec<_>>>()?;
    let [a, f, b] = v[..] else { return None };
    let mid = (a + b) / 2;
    let ms = (f - mid) as f64 / 1e6;
    Some(ms.round() as i64)
}

fn pick<T: Copy>(rng: &mut fastrand::Rng, xs: &[T]) -> Option<T> {
    (!xs.is_empty()).then(|| xs[rng.usize(..xs.len())])
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
mod tests {
    use super::*;

    #[test]
    fn measurements_and_netem_arguments() {
        assert_eq!(parse_measure("1000000000 1005000000 1002000000"), Some(4));
        assert_eq!(parse_measure("100 100"), None);
        assert_eq!(parse_measure("x y z"), None);
        let args = netem_args(&Netem {
            delay_ms: Some(50),
            jitter_ms: Some(10),
            loss_pct: Some(20.0),
            duplicate_pct: None,
            reorder_pct: Some(12.5),
        });
        assert_eq!(args.join(" "), "delay 50ms 10ms loss 20% reorder 12.5%");
    }

    #[test]
    fn op_values_name_nodes_and_details() {
        let g = grudge::isolate(&["n1".into(), "n2".into(), "n3".into()], &["n1".into()]);
        let a = Action::Partition {
            topology: Topology::Primaries,
            grudge: g,
            note: None,
        };
        let v = a.start_value(None);
        assert_eq!(v.get("topology").and_then(Value::as_str), Some("primaries"));
        assert_eq!(
            v.get("nodes").and_then(Value::as_list).map(|l| l.len()),
            Some(3)
        );
        let grudge = v.get("grudge").unwrap();
        assert_eq!(
            grudge.get("n1").and_then(Value::as_list).map(|l| l.len()),
            Some(2)
        );
        let c = Action::Clock {
            target: Target::One,
            nodes: vec!["n2".into()],
            change: ClockChange::Bump { offset_ms: -1500 },
            note: None,
        };
        assert_eq!(
            c.start_value(None).get("offset_ms"),
            Some(&Value::Int(-1500))
        );
        assert_eq!(c.stop_value().get("offset_ms"), Some(&Value::Int(0)));
        assert_eq!(c.fault().start_f(), "start-clock");
    }
}
