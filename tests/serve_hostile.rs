//! `splitbrain serve` against hostile requests: the real binary on a temporary store,
//! spoken to over a raw TCP connection (an HTTP client library would tidy `..` and
//! `%2e%2e` out of the URL before sending it). Nothing whose real path leaves the store is
//! served, whether reached by a symbolic link (to a directory holding a secret, to /etc),
//! `..` in any spelling, backslashes or NUL; links inside the store (`latest`) still work;
//! an over-long URL gets 414.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use common::bin;

const SECRET: &str = "the-secret-outside-the-store";

/// A `splitbrain serve` we started, killed (by its own pid) when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(store: &Path) -> Server {
    let mut child = bin()
        .args(["serve", "--port", "0", "--bind", "127.0.0.1", "--store"])
        .arg(store)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let addr = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .trim_end_matches('/')
        .to_string();
    Server { child, addr }
}

/// Sends `GET <target>` exactly as given; returns the status code and body.
fn get(server: &Server, target: &str) -> (u16, String) {
    let mut conn = TcpStream::connect(&server.addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        conn,
        "GET {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.addr
    )
    .unwrap();
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

/// A store with one run and its `latest` link, and links that lead out of it.
fn hostile_store(tmp: &Path) -> std::path::PathBuf {
    let store = tmp.join("store");
    let run = store.join("etcd-register/20260101T000000.000Z");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(run.join("history.jsonl"), "{\"inside\":true}\n").unwrap();
    std::fs::write(run.join("report.html"), "<p>the report</p>").unwrap();
    symlink("20260101T000000.000Z", store.join("etcd-register/latest")).unwrap();
    symlink("etcd-register/20260101T000000.000Z", store.join("latest")).unwrap();

    let outside = tmp.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.txt"), SECRET).unwrap();
    std::fs::write(outside.join("index.html"), SECRET).unwrap();
    symlink(&outside, store.join("away")).unwrap();
    symlink(outside.join("secret.txt"), store.join("secret.txt")).unwrap();
    symlink("../outside/secret.txt", run.join("relative-secret.txt")).unwrap();
    symlink("/etc", store.join("evil")).unwrap();
    // A directory of the store whose index.html is a link out.
    std::fs::create_dir_all(store.join("dir")).unwrap();
    symlink(outside.join("index.html"), store.join("dir/index.html")).unwrap();
    store
}

#[test]
fn serve_never_leaves_the_store() {
    let tmp = tempfile::tempdir().unwrap();
    let store = hostile_store(tmp.path());
    let server = serve(&store);

    // Links that stay inside the store are how `latest` works.
    for path in [
        "/etcd-register/latest/history.jsonl",
        "/latest/report.html",
        "/etcd-register/20260101T000000.000Z/report.html",
        "/etcd-register/%6catest/history.jsonl",
        "/",
    ] {
        let (status, body) = get(&server, path);
        assert_eq!(status, 200, "{path}: {body}");
    }
    assert_eq!(
        get(&server, "/latest/history.jsonl").1,
        "{\"inside\":true}\n"
    );

    let mut escapes = vec![
        "/away/secret.txt".to_string(),
        "/away/".to_string(),
        "/secret.txt".to_string(),
        "/latest/relative-secret.txt".to_string(),
        "/dir/".to_string(),
        "/evil/passwd".to_string(),
        "/evil/shadow".to_string(),
        "/evil/hostname".to_string(),
        "/evil/".to_string(),
        "/../outside/secret.txt".to_string(),
        "/%2e%2e/outside/secret.txt".to_string(),
        "/%2E%2E%2Foutside%2Fsecret.txt".to_string(),
        "/latest/..%2f..%2f..%2foutside/secret.txt".to_string(),
        "/..\\outside\\secret.txt".to_string(),
        "/%5c..%5coutside%5csecret.txt".to_string(),
        "/latest/report.html%00.txt".to_string(),
        "/%ff%fe".to_string(),
        "/no/such/file".to_string(),
    ];
    escapes.push(format!("/{}/etc/passwd", "..%2f".repeat(20)));
    for path in &escapes {
        let (status, body) = get(&server, path);
        assert_eq!(status, 404, "{path} answered {status}: {body}");
        assert!(!body.contains(SECRET), "{path} leaked the secret");
        assert!(!body.contains("root:"), "{path} leaked /etc");
    }

    let long = format!("/{}", "a".repeat(20 * 1024));
    assert_eq!(get(&server, &long).0, 414, "a 20 KB URL");
    // Still serving after all that.
    assert_eq!(get(&server, "/latest/report.html").0, 200);
    drop(server);
}
