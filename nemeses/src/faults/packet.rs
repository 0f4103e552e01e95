//! `packet`: tc netem delay, loss, duplication and reordering on each node's interface, as
//! our own root qdisc (handle `5b:`), optionally only towards chosen peers. Where the
//! kernel has no netem, loss only, with iptables' statistic match in our own chain
//! (`splitbrain-packet`); the other behaviours are then left out, with a note.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use splitbrain_control::Cmd;
use splitbrain_control::db::Db;
use splitbrain_history::{Value, duration};

use crate::config::{NemesisConfig, Section, check_duration, check_percent, known_nodes};
use crate::fault::{AnyFault, Context, Fault, Plan, Probe, erase, names, target_value, timed};
use crate::faults::{FaultInfo, FaultKind};
use crate::heal::{HealSection, HealStage};
use crate::nemesis::{Nemesis, NemesisError};
use crate::scripts;
use crate::target::{self, Target};

// Jepsen's packet defaults.
pub const DEFAULT_DELAY: Duration = Duration::from_millis(50);
pub const DEFAULT_JITTER: Duration = Duration::from_millis(10);
pub const DEFAULT_LOSS_PCT: f64 = 20.0;
pub const DEFAULT_DUPLICATE_PCT: f64 = 20.0;
pub const DEFAULT_REORDER_PCT: f64 = 20.0;

/// What a packet fault does to packets (tc netem).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PacketBehavior {
    Delay,
    Loss,
    Duplicate,
    Reorder,
}

impl PacketBehavior {
    pub const ALL: [PacketBehavior; 4] = [
        PacketBehavior::Delay,
        PacketBehavior::Loss,
        PacketBehavior::Duplicate,
        PacketBehavior::Reorder,
    ];
}

/// `nemesis.packet`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PacketOptions {
    /// delay, loss, duplicate, reorder: each fault uses a random non-empty subset (default all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub behaviors: Vec<PacketBehavior>,
    /// Default: one, minority, majority, all (or `nodes` when nodes are given).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Target>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
    /// Only packets towards these nodes are affected (default: all packets on the interface).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<String>,
    #[serde(
        default,
        with = "duration::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub delay: Option<Duration>,
    #[serde(
        default,
        with = "duration::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub jitter: Option<Duration>,
    /// Percent of packets lost (0 to 100).
    #[serde(
        default,
        deserialize_with = "crate::config::percent",
        skip_serializing_if = "Option::is_none"
    )]
    pub loss: Option<f64>,
    /// Percent of packets duplicated (0 to 100).
    #[serde(
        default,
        deserialize_with = "crate::config::percent",
        skip_serializing_if = "Option::is_none"
    )]
    pub duplicate: Option<f64>,
    /// Percent of packets sent at once, ahead of the delayed ones (0 to 100).
    #[serde(
        default,
        deserialize_with = "crate::config::percent",
        skip_serializing_if = "Option::is_none"
    )]
    pub reorder: Option<f64>,
}

impl Section for PacketOptions {
    fn check_values(&self, name: &str) -> Result<(), String> {
        for (what, v) in [
            ("loss", self.loss),
            ("duplicate", self.duplicate),
            ("reorder", self.reorder),
        ] {
            if let Some(p) = v {
                check_percent(p).map_err(|e| format!("nemesis.{name}.{what}: {e}"))?;
            }
        }
        check_duration(&format!("{name}.delay"), self.delay)?;
        check_duration(&format!("{name}.jitter"), self.jitter)
    }

    fn check_nodes(&self, name: &str, nodes: &[String]) -> Result<(), String> {
        target::check_nodes(name, &self.targets, &self.nodes, nodes)?;
        known_nodes(&format!("{name}.peers"), &self.peers, nodes)
    }

    fn resolve(&mut self, has_leader: bool) {
        self.targets = target::resolve(&self.targets, &self.nodes, has_leader, false);
        if self.behaviors.is_empty() {
            self.behaviors = PacketBehavior::ALL.to_vec();
        }
        self.delay.get_or_insert(DEFAULT_DELAY);
        self.jitter.get_or_insert(DEFAULT_JITTER);
        self.loss.get_or_insert(DEFAULT_LOSS_PCT);
        self.duplicate.get_or_insert(DEFAULT_DUPLICATE_PCT);
        self.reorder.get_or_insert(DEFAULT_REORDER_PCT);
    }
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

/// A packet fault, decided.
#[derive(Clone, Debug, PartialEq)]
pub struct Packet {
    pub target: Target,
    pub nodes: Vec<String>,
    /// Only packets towards these nodes; empty: all packets.
    pub peers: Vec<String>,
    pub netem: Netem,
    /// How the target was resolved, when not as asked (e.g. no leader found).
    pub note: Option<String>,
}

impl Plan for Packet {
    fn kind(&self) -> FaultKind {
        FaultKind::Packet
    }

    fn nodes(&self) -> Vec<String> {
        self.nodes.clone()
    }

    fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }
}

/// How packets are faulted on this cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PacketSupport {
    /// tc netem on each node's interface.
    Netem,
    /// The kernel has no netem: loss only, with iptables' statistic match.
    LossOnly { reason: String },
}

/// The packet fault of a run.
pub struct PacketFault {
    options: PacketOptions,
    /// Known once probed.
    support: Option<PacketSupport>,
    /// Node → the interface carrying its address (with netem).
    ifaces: BTreeMap<String, String>,
}

/// Its line's details in the table ([`crate::faults::FAULTS`]).
pub(crate) const INFO: FaultInfo = FaultInfo {
    about: "packets delayed, lost, duplicated or reordered (tc netem)",
    colour: "#a16207",
    build,
    heal,
};

fn build(c: &NemesisConfig) -> Box<dyn AnyFault> {
    erase(PacketFault {
        options: c.packet.clone(),
        support: None,
        ifaces: BTreeMap::new(),
    })
}

/// Removes our qdisc and our loss chain, tolerating their absence.
fn heal(_db: Option<&Db>, _node: &str) -> Option<HealSection> {
    Some(HealSection::new(HealStage::Network, scripts::heal_packet()))
}

impl PacketFault {
    /// As if probed with this outcome (tests of planning, which touch no node).
    #[cfg(test)]
    pub(crate) fn probed(c: &NemesisConfig, support: PacketSupport) -> PacketFault {
        PacketFault {
            options: c.packet.clone(),
            support: Some(support),
            ifaces: BTreeMap::new(),
        }
    }

    /// How packets are faulted here; `None` until probed.
    pub fn support(&self) -> Option<&PacketSupport> {
        self.support.as_ref()
    }

    async fn find_support(&mut self, cx: &Context) -> Result<(), NemesisError> {
        let probes = cx
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
        self.support = Some(match missing {
            None => PacketSupport::Netem,
            Some(reason) => PacketSupport::LossOnly { reason },
        });
        if self.support == Some(PacketSupport::Netem) {
            let found = cx
                .cluster
                .on_all(|s| {
                    let me = &s.node().name;
                    let peer = cx.nodes.iter().find(|p| *p != me).map(|p| &cx.ips[p]);
                    let cmd = timed(scripts::interface(&cx.ips[me], peer.map(String::as_str)));
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
                            cx.ips[&n]
                        )));
                    }
                }
            }
        } else {
            let check = cx
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
}

#[async_trait]
impl Fault for PacketFault {
    type Plan = Packet;

    fn uses_primaries(&self) -> bool {
        self.options.targets.contains(&Target::Primaries)
    }

    async fn probe(&mut self, cx: &Context) -> Result<Probe, NemesisError> {
        self.find_support(cx).await?;
        Ok(match &self.support {
            Some(PacketSupport::LossOnly { reason }) => {
                if self.options.behaviors.contains(&PacketBehavior::Loss) {
                    Probe::Limited(format!(
                        "{reason}: packet faults inject loss only (with iptables' statistic match); delay, duplication and reordering need netem"
                    ))
                } else {
                    Probe::LeftOut(format!(
                        "{reason}, and loss (the one packet fault possible without it) is not among nemesis.packet.behaviors: no packet fault was injected"
                    ))
                }
            }
            _ => Probe::Ready,
        })
    }

    async fn plan(&self, cx: &Context, rng: &mut fastrand::Rng) -> Result<Packet, NemesisError> {
        let p = &self.options;
        let target = target::pick(rng, &p.targets);
        let (nodes, note) = target::nodes(cx, rng, target, &p.nodes).await;
        let mut possible = p.behaviors.clone();
        if matches!(self.support, Some(PacketSupport::LossOnly { .. })) {
            possible.retain(|b| *b == PacketBehavior::Loss);
        }
        if possible.is_empty() {
            return Err(NemesisError::Unsupported(
                "no packet behaviour can be injected here".into(),
            ));
        }
        // A random non-empty subset of the behaviours.
        let mut chosen: Vec<PacketBehavior> =
            possible.iter().copied().filter(|_| rng.bool()).collect();
        if chosen.is_empty() {
            chosen.push(possible[rng.usize(..possible.len())]);
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
        Ok(Packet {
            target,
            nodes,
            peers: p.peers.clone(),
            netem,
            note,
        })
    }

    async fn start(&self, cx: &Context, p: &Packet) -> Result<(), NemesisError> {
        let support = self.support.clone().ok_or_else(|| {
            NemesisError::Config("packet faults were not set up (Nemesis::setup)".into())
        })?;
        let ip = |n: &String| {
            cx.ips
                .get(n)
                .cloned()
                .ok_or_else(|| NemesisError::Config(format!("no node called {n}")))
        };
        let mut per_node = BTreeMap::new();
        for n in &p.nodes {
            let peer_ips = p
                .peers
                .iter()
                .filter(|peer| *peer != n)
                .map(ip)
                .collect::<Result<Vec<_>, _>>()?;
            if !p.peers.is_empty() && peer_ips.is_empty() {
                continue; // its only peer is itself: nothing to fault
            }
            let cmd = match &support {
                PacketSupport::Netem => {
                    let dev = self.ifaces.get(n).ok_or_else(|| {
                        NemesisError::Unsupported(format!(
                            "cannot tell which interface of {n} carries its address {}",
                            cx.ips.get(n).map(String::as_str).unwrap_or("?")
                        ))
                    })?;
                    timed(scripts::netem_apply(dev, &peer_ips, &netem_args(&p.netem)))
                }
                PacketSupport::LossOnly { .. } => {
                    let probability = p.netem.loss_pct.unwrap_or(0.0) / 100.0;
                    timed(scripts::loss_apply(probability, &peer_ips))
                }
            };
            per_node.insert(n.clone(), cmd);
        }
        cx.exec_each(per_node).await
    }

    async fn stop(&self, cx: &Context, p: &Packet) -> Result<(), NemesisError> {
        let clear = timed(scripts::packet_clear());
        cx.exec_each(p.nodes.iter().map(|n| (n.clone(), clear.clone())).collect())
            .await
    }

    fn start_value(&self, p: &Packet) -> Vec<(&'static str, Value)> {
        let mut m = vec![target_value(p.target)];
        if !p.peers.is_empty() {
            m.push(("peers", names(&p.peers)));
        }
        let via = match self.support {
            Some(PacketSupport::LossOnly { .. }) => "iptables",
            _ => "netem",
        };
        m.push(("via", via.into()));
        if let Some(d) = p.netem.delay_ms {
            m.push(("delay_ms", (d as i64).into()));
        }
        if let Some(j) = p.netem.jitter_ms {
            m.push(("jitter_ms", (j as i64).into()));
        }
        for (k, v) in [
            ("loss_pct", p.netem.loss_pct),
            ("duplicate_pct", p.netem.duplicate_pct),
            ("reorder_pct", p.netem.reorder_pct),
        ] {
            if let Some(pct) = v {
                m.push((k, Value::Float(pct)));
            }
        }
        m
    }

    fn stop_value(&self, _p: &Packet) -> Vec<(&'static str, Value)> {
        Vec::new()
    }
}

// What packet faults add to the nemesis, for tests and tools.
impl Nemesis {
    /// How packets are faulted here; `None` when packet faults are not enabled.
    pub fn packet_support(&self) -> Option<&PacketSupport> {
        self.fault::<PacketFault>().and_then(PacketFault::support)
    }
}

/// netem's arguments for `n`: `delay 50ms 10ms loss 20% ...`.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netem_arguments() {
        let args = netem_args(&Netem {
            delay_ms: Some(50),
            jitter_ms: Some(10),
            loss_pct: Some(20.0),
            duplicate_pct: None,
            reorder_pct: Some(12.5),
        });
        assert_eq!(args.join(" "), "delay 50ms 10ms loss 20% reorder 12.5%");
    }
}
