//! What a fault is to the nemesis: the [`Fault`] trait, its [`Plan`]s, and the [`Context`]
//! it works in.
//!
//! A fault is built once per run from its settings ([`crate::faults::FAULTS`]), asked once
//! whether it can take effect here ([`Fault::probe`]), and then, each time the schedule
//! picks it, plans an action from the seeded random stream ([`Fault::plan`]), starts it and
//! stops it. The nemesis records the ops around it ([`crate::Nemesis`]), so a fault only
//! says what goes into their values. Healing without a run is the fault's `heal` function
//! in the table, not a method: it needs no settings and no memory of the run.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use splitbrain_control::cluster::on_sessions;
use splitbrain_control::db::Db;
use splitbrain_control::{Cluster, Cmd, Session};
use splitbrain_history::{Op, Value};

use crate::faults::FaultKind;
use crate::nemesis::{NemesisError, Record};

/// One fault, written in its own module with its own types.
#[async_trait]
pub trait Fault: Send + Sync + 'static {
    /// What [`Fault::plan`] decides, and [`Fault::start`] and [`Fault::stop`] carry out.
    type Plan: Plan + Clone;

    /// Whether it needs the database definition (to know which process to fault).
    fn needs_db(&self) -> bool {
        false
    }

    /// Whether its settings ask for the leader (`primaries`), which needs the definition's
    /// leader query.
    fn uses_primaries(&self) -> bool {
        false
    }

    /// Can it take effect on these nodes with this database? Asked once, by
    /// [`crate::Nemesis::setup`], after leftovers are healed and before any fault; it may
    /// prepare the nodes. An error stops the setup; [`Probe::LeftOut`] leaves the fault out
    /// of the schedule with a note.
    async fn probe(&mut self, _cx: &Context) -> Result<Probe, NemesisError> {
        Ok(Probe::Ready)
    }

    /// Refuses, before anything is done or recorded, to start or stop where it cannot take
    /// effect.
    fn ready(&self, _cx: &Context) -> Result<(), NemesisError> {
        Ok(())
    }

    /// The next action, from the seeded random stream and the cluster's state. Every draw
    /// from `rng` is part of what a seed means: keep their order.
    async fn plan(&self, cx: &Context, rng: &mut fastrand::Rng)
    -> Result<Self::Plan, NemesisError>;

    async fn start(&self, cx: &Context, plan: &Self::Plan) -> Result<(), NemesisError>;

    /// Undoes [`Fault::start`]; safe to call when the start failed part-way.
    async fn stop(&self, cx: &Context, plan: &Self::Plan) -> Result<(), NemesisError>;

    /// The details in the value of the `start-<fault>` op, after `nodes` (and before
    /// `note`, which the nemesis adds).
    fn start_value(&self, plan: &Self::Plan) -> Vec<(&'static str, Value)>;

    /// The details in the value of the `stop-<fault>` op, after `nodes`.
    fn stop_value(&self, plan: &Self::Plan) -> Vec<(&'static str, Value)>;

    /// After each of its ops is recorded, and after every heal (the clock records the
    /// measured offsets).
    async fn after(&self, _cx: &Context) {}
}

/// What a plan tells the nemesis, whatever the fault.
pub trait Plan: Any + Debug + Send + Sync {
    /// The fault that carries it out.
    fn kind(&self) -> FaultKind;
    /// The nodes it touches.
    fn nodes(&self) -> Vec<String>;
    /// How it was decided, when not as asked (e.g. no leader found).
    fn note(&self) -> Option<&str>;
}

/// Can a fault take effect here?
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    Ready,
    /// Yes, within limits the note says.
    Limited(String),
    /// No: it is left out, and the note says why.
    LeftOut(String),
}

/// One fault, fully decided: a fault's [`Plan`], whichever fault it is.
#[derive(Clone, Debug)]
pub struct Action(Arc<dyn Plan>);

impl Action {
    pub fn new(plan: impl Plan) -> Action {
        Action(Arc::new(plan))
    }

    pub fn kind(&self) -> FaultKind {
        self.0.kind()
    }

    pub fn nodes(&self) -> Vec<String> {
        self.0.nodes()
    }

    pub fn note(&self) -> Option<&str> {
        self.0.note()
    }

    /// The plan, if it is a `P`.
    pub fn plan<P: Plan>(&self) -> Option<&P> {
        let plan: &dyn Any = &*self.0;
        plan.downcast_ref()
    }
}

impl<P: Plan> From<P> for Action {
    fn from(plan: P) -> Action {
        Action::new(plan)
    }
}

/// What every fault works with: the nodes, their addresses, the database, the recorder.
pub struct Context {
    pub cluster: Cluster,
    pub db: Option<Db>,
    /// Node names, in order.
    pub nodes: Vec<String>,
    /// Node name → its address.
    pub ips: BTreeMap<String, String>,
    pub record: Record,
}

impl Context {
    pub fn need_db(&self) -> Result<Db, NemesisError> {
        self.db.clone().ok_or_else(|| {
            NemesisError::Config("this fault needs a database definition (db:)".into())
        })
    }

    pub fn session(&self, name: &str) -> Result<Arc<Session>, NemesisError> {
        self.cluster
            .session(name)
            .cloned()
            .ok_or_else(|| NemesisError::Config(format!("no node called {name}")))
    }

    /// Records `op` in the history.
    pub fn record(&self, op: Op) {
        (self.record)(op)
    }

    /// Runs `f(name, session)` on the named nodes concurrently; every node's error.
    pub async fn on_nodes<F, Fut>(&self, names: &[String], f: F) -> Result<(), NemesisError>
    where
        F: Fn(String, Arc<Session>) -> Fut,
        Fut: Future<Output = Result<(), splitbrain_control::RemoteError>> + Send + 'static,
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
    pub async fn exec_each(&self, cmds: BTreeMap<String, Cmd>) -> Result<(), NemesisError> {
        let names: Vec<String> = cmds.keys().cloned().collect();
        let cmds = Arc::new(cmds);
        self.on_nodes(&names, move |name, s| {
            let cmd = cmds[&name].clone();
            async move { s.exec(&cmd).await.map(|_| ()) }
        })
        .await
    }

    /// The nodes that say they lead; when none does, the reason.
    pub async fn primaries(&self) -> (Vec<String>, Option<String>) {
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
}

/// A [`Fault`] as the nemesis holds it, whatever its plan type: implemented for every
/// fault, it checks that an action is the fault's own.
#[async_trait]
pub trait AnyFault: Send + Sync {
    fn needs_db(&self) -> bool;
    fn uses_primaries(&self) -> bool;
    async fn probe(&mut self, cx: &Context) -> Result<Probe, NemesisError>;
    /// [`Fault::ready`], and `action` is the fault's own.
    fn ready(&self, cx: &Context, action: &Action) -> Result<(), NemesisError>;
    async fn plan(&self, cx: &Context, rng: &mut fastrand::Rng) -> Result<Action, NemesisError>;
    async fn start(&self, cx: &Context, action: &Action) -> Result<(), NemesisError>;
    async fn stop(&self, cx: &Context, action: &Action) -> Result<(), NemesisError>;
    fn start_value(&self, action: &Action) -> Vec<(&'static str, Value)>;
    fn stop_value(&self, action: &Action) -> Vec<(&'static str, Value)>;
    async fn after(&self, cx: &Context);
    fn as_any(&self) -> &dyn Any;
}

/// `fault` as the nemesis holds it.
pub fn erase<F: Fault>(fault: F) -> Box<dyn AnyFault> {
    Box::new(fault)
}

fn own<F: Fault>(action: &Action) -> Result<&F::Plan, NemesisError> {
    action.plan::<F::Plan>().ok_or_else(|| {
        NemesisError::Config(format!(
            "a {} action cannot be carried out by another fault",
            action.kind()
        ))
    })
}

#[async_trait]
impl<F: Fault> AnyFault for F {
    fn needs_db(&self) -> bool {
        Fault::needs_db(self)
    }

    fn uses_primaries(&self) -> bool {
        Fault::uses_primaries(self)
    }

    async fn probe(&mut self, cx: &Context) -> Result<Probe, NemesisError> {
        Fault::probe(self, cx).await
    }

    fn ready(&self, cx: &Context, action: &Action) -> Result<(), NemesisError> {
        own::<F>(action)?;
        Fault::ready(self, cx)
    }

    async fn plan(&self, cx: &Context, rng: &mut fastrand::Rng) -> Result<Action, NemesisError> {
        Fault::plan(self, cx, rng).await.map(Action::new)
    }

    async fn start(&self, cx: &Context, action: &Action) -> Result<(), NemesisError> {
        Fault::start(self, cx, own::<F>(action)?).await
    }

    async fn stop(&self, cx: &Context, action: &Action) -> Result<(), NemesisError> {
        Fault::stop(self, cx, own::<F>(action)?).await
    }

    fn start_value(&self, action: &Action) -> Vec<(&'static str, Value)> {
        own::<F>(action)
            .map(|p| Fault::start_value(self, p))
            .unwrap_or_default()
    }

    fn stop_value(&self, action: &Action) -> Vec<(&'static str, Value)> {
        own::<F>(action)
            .map(|p| Fault::stop_value(self, p))
            .unwrap_or_default()
    }

    async fn after(&self, cx: &Context) {
        Fault::after(self, cx).await
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Node names as a history value.
pub fn names<'a>(xs: impl IntoIterator<Item = &'a String>) -> Value {
    Value::List(xs.into_iter().map(|s| Value::str(s.as_str())).collect())
}

/// The `target` detail of the faults that pick nodes by target.
pub fn target_value(target: crate::Target) -> (&'static str, Value) {
    ("target", target.name().into())
}

/// How long one fault command may take on a node.
pub const COMMAND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// `cmd` bounded by [`COMMAND_TIMEOUT`].
pub fn timed(cmd: Cmd) -> Cmd {
    cmd.timeout(COMMAND_TIMEOUT)
}
