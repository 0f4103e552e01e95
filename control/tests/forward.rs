//! Next to Docker the host's FORWARD policy is DROP and bridged traffic passes through
//! iptables: the lab must accept forwarding on its own bridge, in its own chain, and remove
//! it at `down`. This test sets the policy to DROP for its duration (restored even on panic),
//! so it lives in a test binary of its own: cargo runs test binaries one at a time.
//! Needs root; runs under CI=true, skips elsewhere.

mod common;

use std::process::Command;

use splitbrain_control::Cmd;

use common::{config, connect, lab_available, with_lab};

fn iptables(args: &[&str]) -> (bool, String) {
    let out = Command::new("iptables")
        .arg("-w")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Restores the FORWARD policy on drop.
struct Policy(String);

impl Drop for Policy {
    fn drop(&mut self) {
        iptables(&["-P", "FORWARD", &self.0]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forwarding_is_accepted_on_the_lab_bridge_when_the_host_drops_it() {
    if !lab_available("forwarding_is_accepted_on_the_lab_bridge_when_the_host_drops_it") {
        return;
    }
    if std::fs::read_to_string("/proc/sys/net/bridge/bridge-nf-call-iptables")
        .map(|v| v.trim() != "1")
        .unwrap_or(true)
    {
        eprintln!(
            "SKIPPED: bridged traffic does not pass through iptables here (br_netfilter off): nothing to test"
        );
        return;
    }
    let (_, rules) = iptables(&["-S", "FORWARD"]);
    let old = if rules.contains("-P FORWARD DROP") {
        "DROP"
    } else {
        "ACCEPT"
    };
    let _restore = Policy(old.into());
    assert!(iptables(&["-P", "FORWARD", "DROP"]).0);

    with_lab(config("tfwd", 71, 2), |inv| async move {
        let (ok, chain) = iptables(&["-S", "sb-tfwd-fwd"]);
        assert!(
            ok && chain.contains("-i sb-tfwd-br -o sb-tfwd-br -j ACCEPT"),
            "{chain}"
        );
        let cluster = connect(&inv).await;
        let n1 = cluster.session("n1").unwrap();
        let reach_n2 =
            Cmd::new("timeout").args(["2", "bash", "-c", "exec 3<>/dev/tcp/10.77.71.2/22"]);
        assert_eq!(
            n1.output(&reach_n2).await.unwrap().status,
            0,
            "n1 cannot reach n2 through the bridge"
        );
        // Without our rule the same connection is dropped: the chain is what makes it work.
        assert!(iptables(&["-D", "FORWARD", "-j", "sb-tfwd-fwd"]).0);
        assert_ne!(
            n1.output(&reach_n2).await.unwrap().status,
            0,
            "traffic passed without the chain: the test proves nothing"
        );
        assert!(iptables(&["-I", "FORWARD", "-j", "sb-tfwd-fwd"]).0);
        assert_eq!(n1.output(&reach_n2).await.unwrap().status, 0);
    })
    .await;
    let (ok, _) = iptables(&["-S", "sb-tfwd-fwd"]);
    assert!(!ok, "the forwarding chain outlived the lab");
    let (_, rules) = iptables(&["-S", "FORWARD"]);
    assert!(!rules.contains("sb-tfwd"), "{rules}");
}
