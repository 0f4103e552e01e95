//! The whole control plane end to end: a 3-node lab, etcd started over SSH from
//! dbs/etcd.yaml, checked through its client port from the host, a member SIGKILLed and
//! restarted, everything torn down. Needs root and etcd-server; runs under CI=true.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use splitbrain_control::Cmd;
use splitbrain_control::db::{Db, DbDef};

use common::{ETCD, available, config, connect, with_lab};

/// A minimal HTTP/1.1 client for etcd's JSON gateway (host → node address only).
fn http(host: &str, method: &str, path: &str, body: &str) -> std::io::Result<String> {
    http_within(host, method, path, body, Duration::from_secs(5))
}

fn http_within(
    host: &str,
    method: &str,
    path: &str,
    body: &str,
    limit: Duration,
) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(
        &format!("{host}:2379").parse().unwrap(),
        Duration::from_secs(2),
    )?;
    s.set_read_timeout(Some(limit))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut resp = String::new();
    s.read_to_string(&mut resp)?;
    Ok(resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or(resp))
}

fn b64(input: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = input.as_bytes();
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = (chunk[0] as u32) << 16
            | (*chunk.get(1).unwrap_or(&0) as u32) << 8
            | *chunk.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn healthy(host: &str) -> bool {
    http_within(host, "GET", "/health", "", Duration::from_secs(2))
        .map(|b| b.contains(r#""health":"true""#))
        .unwrap_or(false)
}

/// Polls until the member says it is healthy: one slow answer on a loaded CI machine is not
/// a failure, 60 s without one is.
fn becomes_healthy(host: &str) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !healthy(host) {
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn etcd_cluster_on_the_lab_survives_a_sigkill_and_leaves_nothing_behind() {
    if !available("etcd_cluster_on_the_lab", ETCD) {
        return;
    }
    let def_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dbs/etcd.yaml");
    let def = DbDef::load(&def_path).unwrap_or_else(|e| panic!("{e}"));
    with_lab(config("tetcd", 21, 3), move |inv| async move {
        let cluster = connect(&inv).await;
        let db = Db::new(def, &cluster).unwrap();
        // The kit's lab makes etcd's private_dirs private, as `splitbrain lab up` does.
        db.check_private(inv.lab.as_ref())
            .unwrap_or_else(|e| panic!("{e}"));
        db.setup(&cluster)
            .await
            .unwrap_or_else(|e| panic!("etcd setup:\n{e}"));
        let ips: Vec<String> = inv.nodes.iter().map(|n| n.host.clone()).collect();

        // Every member healthy, through the client port, from the host.
        for ip in &ips {
            assert!(becomes_healthy(ip), "member {ip} unhealthy");
        }
        let members = http(&ips[0], "POST", "/v3/cluster/member/list", "{}").unwrap();
        assert_eq!(members.matches("\"clientURLs\"").count(), 3, "{members}");
        for n in ["n1", "n2", "n3"] {
            assert!(members.contains(&format!("\"name\":\"{n}\"")), "{members}");
        }
        let leaders = db.leader(&cluster).await.unwrap().unwrap();
        assert_eq!(leaders.len(), 1, "leaders: {leaders:?}");

        // Written through n1, read through n3 (a linearizable read: through the quorum).
        let put = format!(
            r#"{{"key":"{}","value":"{}"}}"#,
            b64("splitbrain"),
            b64("hello")
        );
        let r = http(&ips[0], "POST", "/v3/kv/put", &put).unwrap();
        assert!(r.contains("\"header\""), "{r}");
        let range = format!(r#"{{"key":"{}"}}"#, b64("splitbrain"));
        let r = http(&ips[2], "POST", "/v3/kv/range", &range).unwrap();
        assert!(
            r.contains(&format!("\"value\":\"{}\"", b64("hello"))),
            "{r}"
        );

        // SIGKILL etcd on n2: it is gone there, still running on n1 and n3.
        let n2 = cluster.session("n2").unwrap();
        let old_pid = db.pid(n2).await.unwrap().expect("etcd runs on n2");
        db.kill(n2).await.unwrap();
        assert_eq!(db.pid(n2).await.unwrap(), None);
        let pgrep = n2
            .output(&Cmd::new("pgrep").arg("-x").arg("etcd"))
            .await
            .unwrap();
        assert_eq!(pgrep.status, 1, "etcd still on n2: {}", pgrep.stdout);
        assert!(!healthy(&ips[1]));
        for name in ["n1", "n3"] {
            assert!(
                db.running(cluster.session(name).unwrap()).await.unwrap(),
                "{name} lost etcd"
            );
        }
        // The majority still serves writes.
        let put2 = format!(
            r#"{{"key":"{}","value":"{}"}}"#,
            b64("splitbrain"),
            b64("while-n2-down")
        );
        // If n2 led, the majority first elects a new leader: a put sent meanwhile
        // may time out, so retry for a while before concluding anything.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            match http(&ips[0], "POST", "/v3/kv/put", &put2) {
                Ok(body) if body.contains("\"header\"") => break,
                other => assert!(
                    std::time::Instant::now() < deadline,
                    "the majority did not accept a write within 30 s: {other:?}"
                ),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }

        // Restart: n2 rejoins with its data and catches up.
        db.start(n2).await.unwrap();
        db.await_ready(n2).await.unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(db.pid(n2).await.unwrap(), Some(old_pid));
        assert!(becomes_healthy(&ips[1]));
        // Catching up may take a moment on a loaded machine: retry for a while.
        let want = b64("while-n2-down");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            match http(&ips[1], "POST", "/v3/kv/range", &range) {
                Ok(r) if r.contains(&want) => break,
                other => assert!(
                    std::time::Instant::now() < deadline,
                    "n2 never served the new value: {other:?}"
                ),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }

        // Pause and resume: a SIGSTOPped member stops answering, then comes back.
        let n3 = cluster.session("n3").unwrap();
        db.pause(n3).await.unwrap();
        assert!(!healthy(&ips[2]));
        db.resume(n3).await.unwrap();
        db.await_ready(n3).await.unwrap();

        // Logs, then teardown wipes data and logs.
        let logs = tempfile::tempdir().unwrap();
        let got = db.download_logs(n2, logs.path()).await.unwrap();
        assert_eq!(got.len(), 1);
        assert!(std::fs::read_to_string(&got[0]).unwrap().contains("etcd"));
        db.teardown_all(&cluster)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        for s in cluster.sessions() {
            assert!(!db.running(s).await.unwrap());
            let left = s
                .output(&Cmd::new("ls").arg("-A").arg("/var/lib/etcd"))
                .await
                .unwrap();
            assert_eq!(left.out(), "", "data left on {}", s.node());
        }
    })
    .await;
}
