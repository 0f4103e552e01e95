//! Which nodes a kill, pause, clock or packet fault hits (Jepsen's `db-nemesis` targets),
//! shared by those faults: the names, their defaults, and choosing the nodes.

use serde::{Deserialize, Serialize};

use crate::fault::Context;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// One random node.
    One,
    /// A random minority: ⌊(n-1)/2⌋ nodes (at least one).
    Minority,
    /// A random majority: ⌊n/2⌋+1 nodes.
    Majority,
    /// Every node.
    All,
    /// The leader(s), found with the database definition's leader query.
    Primaries,
    /// The `nodes` listed in the configuration.
    Nodes,
}

impl Target {
    pub const DEFAULTS: [Target; 5] = [
        Target::One,
        Target::Minority,
        Target::Majority,
        Target::All,
        Target::Primaries,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Target::One => "one",
            Target::Minority => "minority",
            Target::Majority => "majority",
            Target::All => "all",
            Target::Primaries => "primaries",
            Target::Nodes => "nodes",
        }
    }
}

/// The targets to draw from: those configured; else `nodes` when nodes are listed; else
/// the defaults, `primaries` among them only with a leader query and when the fault takes
/// it by default (`with_primaries`).
pub fn resolve(
    targets: &[Target],
    nodes: &[String],
    has_leader: bool,
    with_primaries: bool,
) -> Vec<Target> {
    if !targets.is_empty() {
        return targets.to_vec();
    }
    if !nodes.is_empty() {
        return vec![Target::Nodes];
    }
    Target::DEFAULTS
        .iter()
        .copied()
        .filter(|t| *t != Target::Primaries || (has_leader && with_primaries))
        .collect()
}

/// Checks a fault's `nodes` against the cluster's, and that the `nodes` target has some.
pub fn check_nodes(
    what: &str,
    targets: &[Target],
    listed: &[String],
    nodes: &[String],
) -> Result<(), String> {
    crate::config::known_nodes(&format!("{what}.nodes"), listed, nodes)?;
    if targets.contains(&Target::Nodes) && listed.is_empty() {
        return Err(format!(
            "nemesis.{what}: the `nodes` target needs nodes, e.g. nodes: [n1]"
        ));
    }
    Ok(())
}

/// Draws one of `targets` (`one` when there are none).
pub fn pick(rng: &mut fastrand::Rng, targets: &[Target]) -> Target {
    crate::config::pick(rng, targets).unwrap_or(Target::One)
}

/// The nodes of `target`, and a note when they are not what was asked for.
pub async fn nodes(
    cx: &Context,
    rng: &mut fastrand::Rng,
    target: Target,
    explicit: &[String],
) -> (Vec<String>, Option<String>) {
    let n = cx.nodes.len();
    let mut shuffled = cx.nodes.clone();
    rng.shuffle(&mut shuffled);
    if n == 0 {
        return (Vec::new(), Some("there are no nodes".into()));
    }
    let take = |k: usize| -> Vec<String> {
        let mut v: Vec<String> = shuffled[..k.clamp(1, n)].to_vec();
        v.sort();
        v
    };
    match target {
        Target::One => (take(1), None),
        Target::Minority => (take((n.saturating_sub(1)) / 2), None),
        Target::Majority => (take(n / 2 + 1), None),
        Target::All => (cx.nodes.clone(), None),
        Target::Nodes => (explicit.to_vec(), None),
        Target::Primaries => {
            let (leaders, why) = cx.primaries().await;
            if leaders.is_empty() {
                (take(1), why)
            } else {
                (leaders, None)
            }
        }
    }
}

/// The settings of a fault on the database's process (`kill`, `pause`): its targets.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ProcessOptions {
    /// Default: one, minority, majority, all, primaries (or `nodes` when nodes are given).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Target>,
    /// Explicit nodes, for the `nodes` target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
}

impl crate::config::Section for ProcessOptions {
    fn check_nodes(&self, name: &str, nodes: &[String]) -> Result<(), String> {
        check_nodes(name, &self.targets, &self.nodes, nodes)
    }

    fn resolve(&mut self, has_leader: bool) {
        self.targets = resolve(&self.targets, &self.nodes, has_leader, true);
    }
}
