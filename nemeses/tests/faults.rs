//! Partitions, kills, pauses and packet faults on a real 3-node lab, checked from the nodes
//! themselves: traffic really stops and comes back, processes really die, stop and resume,
//! the user's own iptables rules survive healing, and healing twice finds nothing.
//! Needs root (runs under CI=true; skips elsewhere with the reason).

mod common;

use std::collections::BTreeMap;

use common::*;
use splitbrain_control::Cluster;
use splitbrain_nemeses::{
    Action, FaultKind, HealOptions, Kill, Nemesis, NemesisConfig, Netem, Packet, PacketSupport,
    Partition, Pause, Target, Topology, grudge, heal_all,
};

/// Can `from` open a TCP connection to `to`'s sshd (1 s at most)?
async fn reaches(cluster: &Cluster, from: &str, to_ip: &str) -> bool {
    let out = sh(
        cluster,
        from,
        &format!("timeout 1 bash -c 'exec 3<>/dev/tcp/{to_ip}/22' && echo open"),
    )
    .await;
    out.contains("open")
}

async fn process_state(cluster: &Cluster, node: &str, pid: u32) -> String {
    sh(cluster, node, &format!("ps -o stat= -p {pid} || true"))
        .await
        .trim()
        .to_string()
}

#[test]
fn faults_take_effect_on_the_nodes_and_heal_leaves_the_users_rules() {
    if !lab_available("faults_take_effect_on_the_nodes_and_heal_leaves_the_users_rules") {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(with_lab(config("nflt", 85, 3), |inv| async move {
        let cluster = connect(&inv).await;
        let ips: BTreeMap<String, String> =
            inv.nodes.iter().map(|n| (n.name.clone(), n.host.clone())).collect();
        let db = probe(&cluster);
        db.setup(&cluster).await.unwrap_or_else(|e| panic!("{e}"));
        // A rule and a chain of the user's own, which healing must leave alone.
        sh(&cluster, "n1", "iptables -w -N user-chain && iptables -w -A INPUT -p udp --dport 9 -j user-chain && iptables -w -A user-chain -j RETURN").await;
        let (record, ops) = recorder();
        let config = NemesisConfig::with_faults(&[FaultKind::Partition, FaultKind::Kill, FaultKind::Pause, FaultKind::Packet]);
        let nemesis = Nemesis::setup(&cluster, Some(&db), &config, 7, record)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // Setup created our chain, jumped to from INPUT.
        let rules = sh(&cluster, "n2", "iptables -w -S").await;
        assert!(rules.contains("-A INPUT -j splitbrain-partition"), "{rules}");

        // Partition: n1 isolated.
        let names: Vec<String> = ["n1", "n2", "n3"].map(String::from).to_vec();
        let p = Action::from(Partition {
            topology: Topology::One,
            grudge: grudge::isolate(&names, &["n1".to_string()]),
            note: None,
        });
        assert!(reaches(&cluster, "n2", &ips["n1"]).await);
        nemesis.start(&p).await.unwrap();
        assert!(!reaches(&cluster, "n2", &ips["n1"]).await, "n2 still reaches n1");
        assert!(!reaches(&cluster, "n1", &ips["n3"]).await, "n1 still reaches n3");
        assert!(reaches(&cluster, "n2", &ips["n3"]).await, "the majority is cut too");
        let rules = sh(&cluster, "n1", "iptables -w -S splitbrain-partition").await;
        assert!(rules.contains(&format!("-A splitbrain-partition -s {}/32 -j DROP", ips["n2"])), "{rules}");
        nemesis.stop(&p).await.unwrap();
        assert!(reaches(&cluster, "n2", &ips["n1"]).await, "not healed");

        // Bridge on 3 nodes (n1 | n2 | n3, n2 the bridge): checked pair by pair against the
        // grudge. Rules sit on the receiving side, so a pair talks only if neither drops the
        // other (TCP needs both directions).
        let g = grudge::bridge(&names);
        let bridge = Action::from(Partition { topology: Topology::Bridge, grudge: g.clone(), note: None });
        nemesis.start(&bridge).await.unwrap();
        for a in &names {
            for b in names.iter().filter(|b| *b != a) {
                let cut = g.get(a).is_some_and(|d| d.contains(b)) || g.get(b).is_some_and(|d| d.contains(a));
                assert_eq!(reaches(&cluster, a, &ips[b]).await, !cut, "{a} -> {b} under {g:?}");
            }
        }
        assert!(reaches(&cluster, "n1", &ips["n2"]).await && !reaches(&cluster, "n1", &ips["n3"]).await);
        nemesis.stop(&bridge).await.unwrap();

        // Kill n2, then restart it.
        let n2 = cluster.session("n2").unwrap().clone();
        let before = db.pid(&n2).await.unwrap().unwrap();
        let kill = Action::from(Kill { target: Target::Nodes, nodes: vec!["n2".into()], note: None });
        nemesis.start(&kill).await.unwrap();
        assert_eq!(db.pid(&n2).await.unwrap(), None);
        assert_eq!(process_state(&cluster, "n2", before).await, "");
        nemesis.stop(&kill).await.unwrap();
        let after = db.pid(&n2).await.unwrap().expect("restarted");
        assert_ne!(after, before);

        // Pause n3; resume.
        let n3 = cluster.session("n3").unwrap().clone();
        let pid3 = db.pid(&n3).await.unwrap().unwrap();
        let pause = Action::from(Pause { target: Target::Nodes, nodes: vec!["n3".into()], note: None });
        nemesis.start(&pause).await.unwrap();
        assert!(process_state(&cluster, "n3", pid3).await.starts_with('T'));
        nemesis.stop(&pause).await.unwrap();
        assert!(!process_state(&cluster, "n3", pid3).await.starts_with('T'));

        // Packet faults towards one peer: netem where the kernel has it, else iptables loss.
        let packet = Action::from(Packet {
            target: Target::Nodes,
            nodes: vec!["n1".into()],
            peers: vec!["n2".into()],
            netem: Netem { delay_ms: Some(50), jitter_ms: Some(5), loss_pct: Some(100.0), ..Netem::default() },
            note: None,
        });
        nemesis.start(&packet).await.unwrap();
        match nemesis.packet_support().unwrap() {
            PacketSupport::Netem => {
                let q = sh(&cluster, "n1", "tc qdisc show dev eth0").await;
                assert!(q.contains("netem") && q.contains("5b:"), "{q}");
            }
            PacketSupport::LossOnly { reason } => {
                assert!(reason.contains("netem"), "{reason}");
                let rules = sh(&cluster, "n1", "iptables -w -S splitbrain-packet").await;
                assert!(rules.contains(&format!("-d {}/32", ips["n2"])), "{rules}");
                assert!(rules.contains("statistic"), "{rules}");
            }
        }
        // 100% loss towards n2 only: n1 cannot reach n2, still reaches n3.
        assert!(!reaches(&cluster, "n1", &ips["n2"]).await, "no loss towards n2");
        assert!(reaches(&cluster, "n1", &ips["n3"]).await, "n3 hit too");
        nemesis.stop(&packet).await.unwrap();
        assert!(reaches(&cluster, "n1", &ips["n2"]).await, "packet fault not healed");

        // Every fault came as a start and a stop, in order.
        let fs: Vec<String> = ops.lock().unwrap().iter().map(|o| o.f.to_string()).collect();
        assert_eq!(
            fs,
            [
                "start-partition", "stop-partition", "start-partition", "stop-partition",
                "start-kill", "stop-kill", "start-pause", "stop-pause", "start-packet", "stop-packet"
            ]
        );

        // Heal: our chain and its jump go, the user's chain and rule stay; twice is fine.
        let report = heal_all(&cluster, Some(&db), HealOptions::default()).await;
        assert!(report.is_ok(), "{report}");
        let rules = sh(&cluster, "n1", "iptables -w -S").await;
        assert!(!rules.contains("splitbrain"), "{rules}");
        assert!(rules.contains("-A INPUT -p udp -m udp --dport 9 -j user-chain"), "{rules}");
        assert!(rules.contains("-A user-chain -j RETURN"), "{rules}");
        let again = heal_all(&cluster, Some(&db), HealOptions::default()).await;
        assert!(again.is_ok() && !again.healed_anything(), "{again}");
        db.teardown_all(&cluster).await.unwrap();
    }));
}
