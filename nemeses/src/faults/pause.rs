//! `pause`: SIGSTOP of the database through its definition, on the nodes of a target;
//! stopped by SIGCONT. The paused pids are recorded on the node, so that healing resumes
//! them without the definition (with it, also the daemon's own stopped processes).

use async_trait::async_trait;
use splitbrain_control::db::Db;
use splitbrain_history::Value;

use crate::config::NemesisConfig;
use crate::fault::{AnyFault, Context, Fault, Plan, erase, target_value, timed};
use crate::faults::{FaultInfo, FaultKind};
use crate::heal::{HealSection, HealStage};
use crate::nemesis::NemesisError;
use crate::scripts;
use crate::target::{self, ProcessOptions, Target};

/// A pause, decided.
#[derive(Clone, Debug, PartialEq)]
pub struct Pause {
    pub target: Target,
    pub nodes: Vec<String>,
    /// How the target was resolved, when not as asked (e.g. no leader found).
    pub note: Option<String>,
}

impl Plan for Pause {
    fn kind(&self) -> FaultKind {
        FaultKind::Pause
    }

    fn nodes(&self) -> Vec<String> {
        self.nodes.clone()
    }

    fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }
}

/// The pause fault of a run.
pub struct PauseFault {
    options: ProcessOptions,
}

/// Its line's details in the table ([`crate::faults::FAULTS`]).
pub(crate) const INFO: FaultInfo = FaultInfo {
    about: "SIGSTOP of the database, SIGCONT when healed",
    colour: "#0ea5e9",
    build,
    heal,
};

fn build(c: &NemesisConfig) -> Box<dyn AnyFault> {
    erase(PauseFault {
        options: c.pause.clone(),
    })
}

/// Resumes what we paused (recorded on the node), and with the definition the daemon's
/// stopped processes (its pid file, its process name); last, so that they wake up to a
/// healed network and clock.
fn heal(db: Option<&Db>, node: &str) -> Option<HealSection> {
    let pid_file = db.and_then(|db| db.pid_file(node)).unwrap_or_default();
    let process = db
        .and_then(|db| db.def().daemon.process.as_deref())
        .unwrap_or_default();
    Some(HealSection::new(
        HealStage::Processes,
        scripts::heal_pause(pid_file, process),
    ))
}

#[async_trait]
impl Fault for PauseFault {
    type Plan = Pause;

    fn needs_db(&self) -> bool {
        true
    }

    fn uses_primaries(&self) -> bool {
        self.options.targets.contains(&Target::Primaries)
    }

    async fn plan(&self, cx: &Context, rng: &mut fastrand::Rng) -> Result<Pause, NemesisError> {
        let target = target::pick(rng, &self.options.targets);
        let (nodes, note) = target::nodes(cx, rng, target, &self.options.nodes).await;
        Ok(Pause {
            target,
            nodes,
            note,
        })
    }

    async fn start(&self, cx: &Context, p: &Pause) -> Result<(), NemesisError> {
        let db = cx.need_db()?;
        cx.on_nodes(&p.nodes, move |_, s| {
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

    async fn stop(&self, cx: &Context, p: &Pause) -> Result<(), NemesisError> {
        let db = cx.need_db()?;
        cx.on_nodes(&p.nodes, move |_, s| {
            let db = db.clone();
            async move {
                db.resume(&s).await?;
                s.exec(&timed(scripts::forget_paused())).await.map(|_| ())
            }
        })
        .await
    }

    fn start_value(&self, p: &Pause) -> Vec<(&'static str, Value)> {
        vec![target_value(p.target), ("signal", "STOP".into())]
    }

    fn stop_value(&self, _p: &Pause) -> Vec<(&'static str, Value)> {
        vec![("signal", "CONT".into())]
    }
}
