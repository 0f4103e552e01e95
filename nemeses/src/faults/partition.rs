//! `partition`: iptables DROP rules on the receiving side, in our own chain
//! (`splitbrain-partition`, jumped to from INPUT), so that healing removes exactly our
//! rules and never the user's. Topologies are Jepsen's grudges ([`crate::grudge`]).

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use splitbrain_control::db::Db;
use splitbrain_history::Value;

use crate::config::{NemesisConfig, Section, known_nodes, pick};
use crate::fault::{AnyFault, Context, Fault, Plan, Probe, erase, names, timed};
use crate::faults::{FaultInfo, FaultKind};
use crate::grudge::{self, Grudge};
use crate::heal::{HealSection, HealStage};
use crate::nemesis::NemesisError;
use crate::scripts;

/// How a partition splits the nodes (Jepsen's `jepsen.nemesis` grudges).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Topology {
    /// The node list cut in two: the first ⌊n/2⌋ nodes against the rest.
    Halves,
    /// Two halves of a shuffled node list.
    RandomHalves,
    /// One random node isolated from all others.
    One,
    /// Every node sees a majority, but no two nodes see the same majority.
    MajoritiesRing,
    /// Two halves joined by one node that sees both.
    Bridge,
    /// The leader(s) isolated, found with the database definition's leader query.
    Primaries,
    /// The explicit grudge of the configuration.
    Grudge,
}

impl Topology {
    /// The topologies used when none are configured (`grudge` only when one is given).
    pub const DEFAULTS: [Topology; 6] = [
        Topology::Halves,
        Topology::RandomHalves,
        Topology::One,
        Topology::MajoritiesRing,
        Topology::Bridge,
        Topology::Primaries,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Topology::Halves => "halves",
            Topology::RandomHalves => "random-halves",
            Topology::One => "one",
            Topology::MajoritiesRing => "majorities-ring",
            Topology::Bridge => "bridge",
            Topology::Primaries => "primaries",
            Topology::Grudge => "grudge",
        }
    }
}

/// `nemesis.partition`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PartitionOptions {
    /// Topologies to draw from; default: all but `grudge` (plus `grudge` when one is given).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topologies: Vec<Topology>,
    /// An explicit grudge: node -> the nodes whose packets it drops.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub grudge: BTreeMap<String, Vec<String>>,
}

impl Section for PartitionOptions {
    fn check_nodes(&self, name: &str, nodes: &[String]) -> Result<(), String> {
        let what = format!("{name}.grudge");
        for (n, drops) in &self.grudge {
            known_nodes(&what, std::slice::from_ref(n), nodes)?;
            known_nodes(&what, drops, nodes)?;
        }
        if self.topologies.contains(&Topology::Grudge) && self.grudge.is_empty() {
            return Err(format!(
                "nemesis.{name}: the `grudge` topology needs a grudge, e.g. grudge: {{n1: [n2, n3]}}"
            ));
        }
        Ok(())
    }

    fn resolve(&mut self, has_leader: bool) {
        if self.topologies.is_empty() {
            self.topologies = Topology::DEFAULTS
                .iter()
                .copied()
                .filter(|t| has_leader || *t != Topology::Primaries)
                .collect();
            if !self.grudge.is_empty() {
                self.topologies.push(Topology::Grudge);
            }
        }
    }
}

/// A partition, decided: who drops whose packets.
#[derive(Clone, Debug, PartialEq)]
pub struct Partition {
    pub topology: Topology,
    pub grudge: Grudge,
    /// Anything worth knowing about how the grudge was chosen (e.g. no leader found).
    pub note: Option<String>,
}

impl Plan for Partition {
    fn kind(&self) -> FaultKind {
        FaultKind::Partition
    }

    fn nodes(&self) -> Vec<String> {
        grudge::affected(&self.grudge)
    }

    fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }
}

/// The partition fault of a run.
pub struct PartitionFault {
    options: PartitionOptions,
}

/// Its line's details in the table ([`crate::faults::FAULTS`]).
pub(crate) const INFO: FaultInfo = FaultInfo {
    about: "iptables DROP rules between nodes (halves, one node, majorities ring, bridge, primaries, a grudge)",
    colour: "#8b5cf6",
    build,
    heal,
};

fn build(c: &NemesisConfig) -> Box<dyn AnyFault> {
    erase(PartitionFault {
        options: c.partition.clone(),
    })
}

/// Removes our chain and its jump (setup makes them; a stop only empties the chain).
fn heal(_db: Option<&Db>, _node: &str) -> Option<HealSection> {
    Some(HealSection::new(
        HealStage::Network,
        scripts::heal_partition(),
    ))
}

#[async_trait]
impl Fault for PartitionFault {
    type Plan = Partition;

    fn uses_primaries(&self) -> bool {
        self.options.topologies.contains(&Topology::Primaries)
    }

    /// Creates our chain and its jump on every node (an error where iptables is missing).
    async fn probe(&mut self, cx: &Context) -> Result<Probe, NemesisError> {
        cx.cluster
            .exec_all(&timed(scripts::partition_setup()))
            .await
            .into_result()?;
        Ok(Probe::Ready)
    }

    async fn plan(&self, cx: &Context, rng: &mut fastrand::Rng) -> Result<Partition, NemesisError> {
        let topology = pick(rng, &self.options.topologies).unwrap_or(Topology::RandomHalves);
        let mut shuffled = cx.nodes.clone();
        rng.shuffle(&mut shuffled);
        let mut note = None;
        let first = || shuffled.first().cloned().into_iter().collect::<Vec<_>>();
        let grudge = match topology {
            Topology::Halves => grudge::halves(&cx.nodes),
            Topology::RandomHalves => grudge::halves(&shuffled),
            Topology::One => grudge::isolate(&cx.nodes, &first()),
            Topology::MajoritiesRing => grudge::majorities_ring(&shuffled),
            Topology::Bridge => grudge::bridge(&shuffled),
            Topology::Grudge => grudge::explicit(&self.options.grudge),
            Topology::Primaries => {
                let (leaders, why) = cx.primaries().await;
                note = why;
                let victims = if leaders.is_empty() { first() } else { leaders };
                grudge::isolate(&cx.nodes, &victims)
            }
        };
        Ok(Partition {
            topology,
            grudge,
            note,
        })
    }

    async fn start(&self, cx: &Context, p: &Partition) -> Result<(), NemesisError> {
        let mut rules = BTreeMap::new();
        for (n, drops) in &p.grudge {
            let sources = drops
                .iter()
                .map(|d| ip(cx, d))
                .collect::<Result<Vec<_>, _>>()?;
            rules.insert(n.clone(), timed(scripts::partition_apply(sources)));
        }
        cx.exec_each(rules).await
    }

    async fn stop(&self, cx: &Context, _p: &Partition) -> Result<(), NemesisError> {
        cx.cluster
            .exec_all(&timed(scripts::partition_clear()))
            .await
            .into_result()?;
        Ok(())
    }

    fn start_value(&self, p: &Partition) -> Vec<(&'static str, Value)> {
        let grudge = p
            .grudge
            .iter()
            .map(|(n, d)| (Value::str(n.as_str()), names(d)))
            .collect();
        vec![
            ("topology", p.topology.name().into()),
            ("grudge", Value::Map(grudge)),
        ]
    }

    fn stop_value(&self, p: &Partition) -> Vec<(&'static str, Value)> {
        vec![("topology", p.topology.name().into())]
    }
}

fn ip(cx: &Context, node: &str) -> Result<String, NemesisError> {
    cx.ips
        .get(node)
        .cloned()
        .ok_or_else(|| NemesisError::Config(format!("no node called {node}")))
}
