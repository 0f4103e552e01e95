//! Grudges: who drops whose packets during a partition, as in Jepsen's `jepsen.nemesis`.
//!
//! A [`Grudge`] maps a node to the nodes whose packets it drops. Rules go on the receiving
//! side (a node drops what arrives from the nodes it holds a grudge against), so a one-way
//! grudge still cuts TCP both ways: the replies never get through.

use std::collections::{BTreeMap, BTreeSet};

/// node → the nodes whose packets it drops.
pub type Grudge = BTreeMap<String, BTreeSet<String>>;

/// Each node drops every node outside its own component.
pub fn complete(components: &[Vec<String>]) -> Grudge {
    let all: BTreeSet<String> = components.iter().flatten().cloned().collect();
    let mut g = Grudge::new();
    for c in components {
        let own: BTreeSet<String> = c.iter().cloned().collect();
        for n in c {
            let others: BTreeSet<String> = all.difference(&own).cloned().collect();
            if !others.is_empty() {
                g.insert(n.clone(), others);
            }
        }
    }
    g
}

/// Jepsen's `bisect`: the first ⌊n/2⌋ nodes, and the rest.
pub fn bisect(nodes: &[String]) -> (Vec<String>, Vec<String>) {
    let (a, b) = nodes.split_at(nodes.len() / 2);
    (a.to_vec(), b.to_vec())
}

/// The node list cut in two halves (the first half is the smaller one).
pub fn halves(nodes: &[String]) -> Grudge {
    let (a, b) = bisect(nodes);
    complete(&[a, b])
}

/// `victims` cut off from everyone else.
pub fn isolate(nodes: &[String], victims: &[String]) -> Grudge {
    let (inside, outside): (Vec<String>, Vec<String>) =
        nodes.iter().cloned().partition(|n| victims.contains(n));
    complete(&[inside, outside])
}

/// Every node sees a majority (itself and its neighbours on a ring), but no two nodes see the
/// same majority; Jepsen's `majorities-ring`. `nodes` should already be shuffled.
///
/// As in Jepsen the grudge is one-way (each node drops what it should not see). Over TCP a
/// link works only if neither end drops the other, so with an odd majority (5, 9 nodes) the
/// ring is exact, while with an even one (3, 7 nodes) the windows are not centred and more
/// links go: on 3 nodes, every link.
pub fn majorities_ring(nodes: &[String]) -> Grudge {
    let n = nodes.len();
    if n < 3 {
        return Grudge::new();
    }
    let m = n / 2 + 1;
    let all: BTreeSet<String> = nodes.iter().cloned().collect();
    let mut g = Grudge::new();
    // Windows of m consecutive nodes around the ring; the middle of each window sees it.
    for start in 0..n {
        let window: BTreeSet<String> = (0..m).map(|k| nodes[(start + k) % n].clone()).collect();
        let middle = nodes[(start + m / 2) % n].clone();
        let drops: BTreeSet<String> = all.difference(&window).cloned().collect();
        if !drops.is_empty() {
            g.insert(middle, drops);
        }
    }
    g
}

/// Two halves that cannot talk, joined by one node that talks to both. `nodes` should
/// already be shuffled.
pub fn bridge(nodes: &[String]) -> Grudge {
    let (a, b) = bisect(nodes);
    let Some(bridge) = b.first().cloned() else {
        return Grudge::new();
    };
    let mut g = complete(&[a, b]);
    g.remove(&bridge);
    for drops in g.values_mut() {
        drops.remove(&bridge);
    }
    g.retain(|_, d| !d.is_empty());
    g
}

/// An explicit grudge from the configuration.
pub fn explicit(spec: &BTreeMap<String, Vec<String>>) -> Grudge {
    spec.iter()
        .filter(|(_, d)| !d.is_empty())
        .map(|(n, d)| (n.clone(), d.iter().filter(|x| *x != n).cloned().collect()))
        .collect()
}

/// Every node the grudge touches: those that drop and those that are dropped.
pub fn affected(g: &Grudge) -> Vec<String> {
    let mut all: BTreeSet<String> = g.keys().cloned().collect();
    for d in g.values() {
        all.extend(d.iter().cloned());
    }
    all.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("n{i}")).collect()
    }

    fn set(xs: &[&str]) -> BTreeSet<String> {
        xs.iter().map(|s| s.to_string()).collect()
    }

    /// Who can talk to whom in both directions (neither drops the other).
    fn connected(g: &Grudge, a: &str, b: &str) -> bool {
        let drops = |x: &str, y: &str| g.get(x).is_some_and(|d| d.contains(y));
        !drops(a, b) && !drops(b, a)
    }

    #[test]
    fn halves_and_isolation() {
        let g = halves(&names(5));
        assert_eq!(g["n1"], set(&["n3", "n4", "n5"]));
        assert_eq!(g["n5"], set(&["n1", "n2"]));
        let g = isolate(&names(3), &["n2".into()]);
        assert_eq!(g["n2"], set(&["n1", "n3"]));
        assert_eq!(g["n1"], set(&["n2"]));
        assert_eq!(affected(&g), names(3));
    }

    #[test]
    fn majorities_ring_gives_everyone_a_different_majority() {
        for n in [3, 5, 7] {
            let nodes = names(n);
            let g = majorities_ring(&nodes);
            let mut seen = BTreeSet::new();
            for x in &nodes {
                let visible: BTreeSet<String> = nodes
                    .iter()
                    .filter(|y| !g.get(x).is_some_and(|d| d.contains(*y)))
                    .cloned()
                    .collect();
                assert_eq!(visible.len(), n / 2 + 1, "{x} sees {visible:?} in {g:?}");
                assert!(visible.contains(x));
                assert!(
                    seen.insert(visible),
                    "two nodes see the same majority: {g:?}"
                );
            }
        }
        // Jepsen's 5-node example: n3 sees n2, n3, n4.
        let g = majorities_ring(&names(5));
        assert_eq!(g["n3"], set(&["n1", "n5"]));
    }

    #[test]
    fn bridge_keeps_one_node_in_touch_with_both_halves() {
        let nodes = names(5);
        let g = bridge(&nodes);
        // n1 n2 | n3 (bridge) | n4 n5
        assert!(!g.contains_key("n3"));
        for x in ["n1", "n2", "n4", "n5"] {
            assert!(connected(&g, x, "n3"));
        }
        assert!(!connected(&g, "n1", "n4") && !connected(&g, "n2", "n5"));
        assert!(connected(&g, "n1", "n2") && connected(&g, "n4", "n5"));
        let g3 = bridge(&names(3));
        assert_eq!(g3["n1"], set(&["n3"]));
        assert_eq!(g3["n3"], set(&["n1"]));
    }

    #[test]
    fn explicit_grudges_drop_self_and_empty_entries() {
        let spec: BTreeMap<String, Vec<String>> = [
            ("n1".to_string(), vec!["n1".to_string(), "n2".to_string()]),
            ("n3".to_string(), vec![]),
        ]
        .into();
        let g = explicit(&spec);
        assert_eq!(g.len(), 1);
        assert_eq!(g["n1"], set(&["n2"]));
    }
}
