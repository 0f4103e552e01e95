//! `kill`: SIGKILL of the database through its definition, on the nodes of a target;
//! stopped by starting it again. Healing without a run starts it where it is down only when
//! asked ([`crate::HealOptions::restart`]): that needs the definition, and no script.

use async_trait::async_trait;
use splitbrain_control::db::Db;
use splitbrain_history::Value;

use crate::config::NemesisConfig;
use crate::fault::{AnyFault, Context, Fault, Plan, erase, target_value};
use crate::faults::{FaultInfo, FaultKind};
use crate::heal::HealSection;
use crate::nemesis::NemesisError;
use crate::target::{self, ProcessOptions, Target};

/// A kill, decided.
#[derive(Clone, Debug, PartialEq)]
pub struct Kill {
    pub target: Target,
    pub nodes: Vec<String>,
    /// How the target was resolved, when not as asked (e.g. no leader found).
    pub note: Option<String>,
}

impl Plan for Kill {
    fn kind(&self) -> FaultKind {
        FaultKind::Kill
    }

    fn nodes(&self) -> Vec<String> {
        self.nodes.clone()
    }

    fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }
}

/// The kill fault of a run.
pub struct KillFault {
    options: ProcessOptions,
}

/// Its line's details in the table ([`crate::faults::FAULTS`]).
pub(crate) const INFO: FaultInfo = FaultInfo {
    about: "SIGKILL of the database, started again when healed",
    colour: "#ef4444",
    build,
    heal,
};

fn build(c: &NemesisConfig) -> Box<dyn AnyFault> {
    erase(KillFault {
        options: c.kill.clone(),
    })
}

fn heal(_db: Option<&Db>, _node: &str) -> Option<HealSection> {
    None
}

#[async_trait]
impl Fault for KillFault {
    type Plan = Kill;

    fn needs_db(&self) -> bool {
        true
    }

    fn uses_primaries(&self) -> bool {
        self.options.targets.contains(&Target::Primaries)
    }

    async fn plan(&self, cx: &Context, rng: &mut fastrand::Rng) -> Result<Kill, NemesisError> {
        let target = target::pick(rng, &self.options.targets);
        let (nodes, note) = target::nodes(cx, rng, target, &self.options.nodes).await;
        Ok(Kill {
            target,
            nodes,
            note,
        })
    }

    async fn start(&self, cx: &Context, k: &Kill) -> Result<(), NemesisError> {
        let db = cx.need_db()?;
        cx.on_nodes(&k.nodes, move |_, s| {
            let db = db.clone();
            async move { db.kill(&s).await }
        })
        .await
    }

    async fn stop(&self, cx: &Context, k: &Kill) -> Result<(), NemesisError> {
        let db = cx.need_db()?;
        cx.on_nodes(&k.nodes, move |_, s| {
            let db = db.clone();
            async move { db.start(&s).await }
        })
        .await
    }

    fn start_value(&self, k: &Kill) -> Vec<(&'static str, Value)> {
        vec![target_value(k.target), ("signal", "KILL".into())]
    }

    fn stop_value(&self, _k: &Kill) -> Vec<(&'static str, Value)> {
        vec![("action", "start".into())]
    }
}
