//! The etcd client against a real etcd on 127.0.0.1 (started and killed by
//! each test), and its error classification against real sockets: a refused
//! port, a paused etcd, and small fake servers that misbehave on purpose.
//!
//! Tests that need etcd skip with a printed reason when `/usr/bin/etcd` is
//! missing, unless `CI=true` (then they fail).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use splitbrain_history::Value;
use splitbrain_workloads::etcd::counter::Counter;
use splitbrain_workloads::etcd::register::Register;
use splitbrain_workloads::etcd::set::Set;
use splitbrain_workloads::etcd::unique_ids::UniqueIds;
use splitbrain_workloads::etcd::{
    EtcdClient, EtcdFactory, EtcdOptions, EtcdWorkload, ReadConsistency,
};
use splitbrain_workloads::{Client, ClientFactory, Outcome, Request, Target};

const ETCD: &str = "/usr/bin/etcd";

/// A single-member etcd on loopback, killed when dropped (also on panic).
struct Etcd {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Etcd {
    fn drop(&mut self) {
        // SIGKILL works on a stopped (SIGSTOPped) process too.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Etcd {
    fn target(&self) -> Target {
        Target::new("local", "127.0.0.1").with_port(self.port)
    }

    fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {sig} failed");
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("etcd.log")).unwrap_or_default()
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts etcd, or returns `None` after printing why the test is skipped.
async fn start_etcd() -> Option<Etcd> {
    if !Path::new(ETCD).exists() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{ETCD} is missing; CI must install Debian's etcd-server");
        }
        eprintln!("SKIPPED: {ETCD} is not installed (apt-get install etcd-server)");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let (port, peer) = (free_port(), free_port());
    let client_url = format!("http://127.0.0.1:{port}");
    let peer_url = format!("http://127.0.0.1:{peer}");
    let log = std::fs::File::create(dir.path().join("etcd.log")).unwrap();
    let child = Command::new(ETCD)
        .args(["--name", "t"])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["--listen-client-urls", &client_url])
        .args(["--advertise-client-urls", &client_url])
        .args(["--listen-peer-urls", &peer_url])
        .args(["--initial-advertise-peer-urls", &peer_url])
        .args(["--initial-cluster", &format!("t={peer_url}")])
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start etcd");
    let etcd = Etcd { child, port, dir };
    // Ready when a linearizable read succeeds (it needs a leader).
    let mut client = factory::<Register>(EtcdOptions::default())
        .client(&etcd.target())
        .unwrap();
    // Generous: etcd's first start on a loaded CI machine is slow, not broken.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if client.invoke(&read()).await.is_ok() {
            return Some(etcd);
        }
        assert!(
            Instant::now() < deadline,
            "etcd did not become ready:\n{}",
            etcd.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn factory<W: EtcdWorkload>(options: EtcdOptions) -> EtcdFactory<W> {
    EtcdFactory::new(options)
}

fn client<W: EtcdWorkload>(target: &Target) -> EtcdClient<W> {
    factory::<W>(EtcdOptions::default()).client(target).unwrap()
}

fn read() -> Request {
    Request::new("read", Value::Nil)
}

fn write(v: i64) -> Request {
    Request::new("write", Value::Int(v))
}

fn cas(old: i64, new: i64) -> Request {
    Request::new("cas", Value::from(vec![old, new]))
}

fn add(v: i64) -> Request {
    Request::new("add", Value::Int(v))
}

fn generate() -> Request {
    Request::new("generate", Value::Nil)
}

fn is_fail(o: &Outcome) -> bool {
    matches!(o, Outcome::Fail(_))
}

fn is_info(o: &Outcome) -> bool {
    matches!(o, Outcome::Info(_))
}

#[tokio::test]
async fn register_set_and_counter_against_real_etcd() {
    let Some(etcd) = start_etcd().await else {
        return;
    };
    let target = etcd.target();
    let key = |r: Request, k: i64| r.with_key(Value::Int(k));

    // Register: read of a fresh key, write, read, cas ok, cas fail.
    let mut c = client::<Register>(&target);
    assert_eq!(c.invoke(&key(read(), 1)).await, Outcome::Ok(Value::Nil));
    assert_eq!(
        c.invoke(&key(write(3), 1)).await,
        Outcome::Ok(Value::Int(3))
    );
    assert_eq!(c.invoke(&key(read(), 1)).await, Outcome::Ok(Value::Int(3)));
    assert_eq!(
        c.invoke(&key(cas(3, 4), 1)).await,
        Outcome::Ok(Value::from(vec![3i64, 4]))
    );
    let o = c.invoke(&key(cas(3, 0), 1)).await;
    assert!(is_fail(&o), "cas on a changed value must fail: {o:?}");
    // A cas on a key that was never written compares against nothing: fail.
    assert!(is_fail(&c.invoke(&key(cas(0, 1), 2)).await));
    // Keys are independent.
    assert_eq!(c.invoke(&key(read(), 2)).await, Outcome::Ok(Value::Nil));
    // A serializable read sees the value too (a single member is never stale).
    let options = EtcdOptions {
        read_consistency: ReadConsistency::Serializable,
        ..EtcdOptions::default()
    };
    let mut s = factory::<Register>(options).client(&target).unwrap();
    assert_eq!(s.invoke(&key(read(), 1)).await, Outcome::Ok(Value::Int(4)));

    // Set: adds from two clients, one read with every element, in numeric order.
    let set = factory::<Set>(EtcdOptions::default());
    let mut a = set.open(&target, 10).await.unwrap();
    let mut b = set.open(&target, 11).await.unwrap();
    assert_eq!(a.invoke(&read()).await, Outcome::Ok(Value::List(vec![])));
    for e in [0, 2, 10, 4] {
        assert!(a.invoke(&add(e)).await.is_ok());
        assert!(b.invoke(&add(e + 1)).await.is_ok());
    }
    assert_eq!(
        b.invoke(&read()).await,
        Outcome::Ok(Value::from(vec![0i64, 1, 2, 3, 4, 5, 10, 11]))
    );
    a.close().await;

    // Counter: concurrent increments under compare-and-set contention.
    assert_eq!(
        client::<Counter>(&target).invoke(&read()).await,
        Outcome::Ok(Value::Int(0))
    );
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let mut c = client::<Counter>(&target);
            tokio::spawn(async move {
                let mut ok = 0;
                for _ in 0..25 {
                    match c.invoke(&add(2)).await {
                        Outcome::Ok(v) => {
                            assert_eq!(v, Value::Int(2));
                            ok += 2;
                        }
                        Outcome::Fail(e) => eprintln!("add failed: {e}"),
                        Outcome::Info(e) => panic!("no add should be indeterminate here: {e}"),
                    }
                }
                ok
            })
        })
        .collect();
    let mut acknowledged = 0;
    for t in tasks {
        acknowledged += t.await.unwrap();
    }
    assert!(acknowledged > 0);
    assert_eq!(
        client::<Counter>(&target).invoke(&read()).await,
        Outcome::Ok(Value::Int(acknowledged))
    );

    // Latency on loopback, for the record (not asserted).
    let mut c = client::<Register>(&target);
    for (name, req) in [("write", key(write(1), 9)), ("read", key(read(), 9))] {
        let mut times = Vec::new();
        for _ in 0..300 {
            let start = Instant::now();
            assert!(c.invoke(&req).await.is_ok());
            times.push(start.elapsed());
        }
        times.sort();
        let mean = times.iter().sum::<Duration>() / times.len() as u32;
        eprintln!(
            "etcd {name} on loopback: mean {mean:?}, median {:?}, p99 {:?}",
            times[150], times[297]
        );
    }
}

#[tokio::test]
async fn unique_ids_against_real_etcd_are_increasing_revisions() {
    let Some(etcd) = start_etcd().await else {
        return;
    };
    let target = etcd.target();
    // Concurrent generates from several clients: every id is returned once.
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let mut c = client::<UniqueIds>(&target);
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for _ in 0..25 {
                    match c.invoke(&generate()).await {
                        Outcome::Ok(v) => ids.push(v.as_int().unwrap()),
                        other => panic!("no generate should fail here: {other:?}"),
                    }
                }
                ids
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        let ids = t.await.unwrap();
        // One client's ids increase: each put comes after the one before it.
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        all.extend(ids);
    }
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n, "an id was returned twice");
    // A register write moves the revision too: ids stay unique across workloads.
    let mut r = client::<Register>(&target);
    assert!(r.invoke(&write(1).with_key(Value::Int(0))).await.is_ok());
    let Outcome::Ok(next) = client::<UniqueIds>(&target).invoke(&generate()).await else {
        panic!("generate failed");
    };
    assert!(next.as_int().unwrap() > all[n - 1] + 1, "{next}");
}

#[tokio::test]
async fn nothing_listening_is_fail_for_every_function() {
    let target = Target::new("nowhere", "127.0.0.1").with_port(free_port());
    let mut r = client::<Register>(&target);
    for req in [read(), write(1), cas(1, 2)] {
        let o = r.invoke(&req.with_key(Value::Int(0))).await;
        assert!(is_fail(&o), "{o:?}");
        let text = o.value().as_str().unwrap().to_owned();
        assert!(
            text.contains("not sent") && text.contains("refused"),
            "{text}"
        );
    }
    let o = client::<Set>(&target).invoke(&add(1)).await;
    assert!(is_fail(&o), "{o:?}");
    let o = client::<Counter>(&target).invoke(&add(1)).await;
    assert!(is_fail(&o), "{o:?}");
    let o = client::<UniqueIds>(&target).invoke(&generate()).await;
    assert!(is_fail(&o), "{o:?}");
}

#[tokio::test]
async fn paused_etcd_is_info_for_writes_and_the_runner_timeout_cancels_cleanly() {
    let Some(etcd) = start_etcd().await else {
        return;
    };
    let target = etcd.target();
    let k = |r: Request| r.with_key(Value::Int(0));
    let mut c = client::<Register>(&target);
    assert!(c.invoke(&k(write(1))).await.is_ok());
    etcd.signal("-STOP");

    // The runner's way: its own timeout drops the in-flight future.
    let t = Duration::from_millis(300);
    assert!(
        tokio::time::timeout(t, c.invoke(&k(write(2))))
            .await
            .is_err()
    );

    // The client's own request timeout: writes are info, reads fail (no effect).
    let options = EtcdOptions {
        request_timeout: Some(t),
        ..EtcdOptions::default()
    };
    let mut c = factory::<Register>(options.clone())
        .client(&target)
        .unwrap();
    let o = c.invoke(&k(write(3))).await;
    assert!(is_info(&o), "{o:?}");
    assert!(o.value().as_str().unwrap().contains("timeout"), "{o:?}");
    assert!(is_info(&c.invoke(&k(cas(1, 4))).await));
    assert!(is_fail(&c.invoke(&k(read())).await));
    // A counter add whose first step (the read) timed out wrote nothing: fail.
    let mut counter = factory::<Counter>(options).client(&target).unwrap();
    let o = counter.invoke(&add(1)).await;
    assert!(is_fail(&o), "{o:?}");

    etcd.signal("-CONT");
    // A fresh client works again; the value is 1, or 2 or 3 if an abandoned write
    // still took effect, or 4 if the abandoned cas 1 -> 4 did: exactly why those were info.
    let mut c = client::<Register>(&target);
    let deadline = Instant::now() + Duration::from_secs(60);
    let value = loop {
        match c.invoke(&k(read())).await {
            Outcome::Ok(v) => break v,
            other => assert!(Instant::now() < deadline, "{other:?}\n{}", etcd.log()),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!([1, 2, 3, 4].contains(&value.as_int().unwrap()), "{value}");
    eprintln!("after SIGCONT the register holds {value}");
}

/// A one-thread HTTP server on loopback that answers every request with `respond`.
fn fake_server(respond: fn(&mut TcpStream)) -> Target {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            // Read the request: headers, then the body by its length.
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                if line == "\r\n" {
                    let mut body = vec![0; length];
                    let _ = reader.read_exact(&mut body);
                    respond(&mut stream);
                    break;
                }
            }
        }
    });
    Target::new("fake", "127.0.0.1").with_port(port)
}

fn answer(stream: &mut TcpStream, status: &str, body: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
}

#[tokio::test]
async fn connection_closed_after_the_request_is_info_for_writes() {
    let target = fake_server(|s| {
        let _ = s.shutdown(std::net::Shutdown::Both);
    });
    let k = |r: Request| r.with_key(Value::Int(0));
    let o = client::<Register>(&target).invoke(&k(write(1))).await;
    assert!(is_info(&o), "{o:?}");
    let o = client::<Register>(&target).invoke(&k(cas(1, 2))).await;
    assert!(is_info(&o), "{o:?}");
    let o = client::<Set>(&target).invoke(&add(1)).await;
    assert!(is_info(&o), "{o:?}");
    let o = client::<Register>(&target).invoke(&k(read())).await;
    assert!(is_fail(&o), "{o:?}");
    let o = client::<UniqueIds>(&target).invoke(&generate()).await;
    assert!(
        is_info(&o),
        "a generate cut off after sending is info: {o:?}"
    );
}

#[tokio::test]
async fn etcd_error_answers_are_classified_by_their_grpc_code() {
    let timed_out = fake_server(|s| {
        answer(
            s,
            "503 Service Unavailable",
            r#"{"error":"etcdserver: request timed out","message":"etcdserver: request timed out","code":14}"#,
        )
    });
    let o = client::<Set>(&timed_out).invoke(&add(1)).await;
    assert!(is_info(&o), "{o:?}");
    assert!(
        o.value().as_str().unwrap().contains("request timed out"),
        "{o:?}"
    );

    let invalid = fake_server(|s| {
        answer(
            s,
            "400 Bad Request",
            r#"{"error":"etcdserver: key is not provided","code":3}"#,
        )
    });
    let o = client::<Set>(&invalid).invoke(&add(1)).await;
    assert!(is_fail(&o), "{o:?}");
    let o = client::<UniqueIds>(&invalid).invoke(&generate()).await;
    assert!(is_fail(&o), "a rejected generate took no id: {o:?}");
    let o = client::<UniqueIds>(&timed_out).invoke(&generate()).await;
    assert!(is_info(&o), "{o:?}");

    let garbage = fake_server(|s| answer(s, "200 OK", "<html>not etcd</html>"));
    let o = client::<Set>(&garbage).invoke(&add(1)).await;
    assert!(
        is_info(&o),
        "an unreadable answer to a write is info: {o:?}"
    );

    let silent = fake_server(|_| std::thread::sleep(Duration::from_secs(2)));
    let options = EtcdOptions {
        request_timeout: Some(Duration::from_millis(200)),
        ..EtcdOptions::default()
    };
    let o = factory::<Set>(options)
        .client(&silent)
        .unwrap()
        .invoke(&add(1))
        .await;
    assert!(is_info(&o), "{o:?}");
}
