//! The report and the store index in a real browser: headless Chromium (Debian's
//! `chromium`), driven over the DevTools protocol, loads each page from disk and
//! must see no console error, no exception and no failed load; the DOM must hold
//! what the page promises (verdict, charts, counterexample) and no script at all.
//! Screenshots land in target/report-screenshots/ for people to look at.
//!
//! Under CI=true a missing chromium is a failure; elsewhere the test skips, saying why.

mod common;

use std::io::{BufRead, BufReader, ErrorKind};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use tungstenite::handshake::HandshakeError;
use tungstenite::{Message, WebSocket};

use common::run;

const CHROMIUM: &str = "/usr/bin/chromium";

/// How long Chromium may take for anything: its first start on a fresh machine (cold disk
/// cache, a new profile) under a loaded 2-core CI runner takes tens of seconds, so every
/// wait is bounded by this generous deadline and polls, instead of assuming a fast machine.
const SLOW_CI: Duration = Duration::from_secs(120);

/// How often a wait looks again. A short socket read timeout is only used for polling after
/// the handshake: a read that times out is retried, never taken as an answer.
const POLL: Duration = Duration::from_millis(200);

/// A headless Chromium we started, with one page attached over the DevTools protocol.
struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
    ws: WebSocket<TcpStream>,
    session: String,
    next_id: u64,
    /// Events received while waiting for a response.
    events: Vec<Value>,
}

/// What happened while a page loaded.
struct Load {
    errors: Vec<String>,
}

impl Browser {
    fn start() -> Option<Browser> {
        if !Path::new(CHROMIUM).exists() {
            let why = format!(
                "{CHROMIUM} is not installed (scripts/install-deps installs Debian's chromium)"
            );
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("CI=true but {why}");
            }
            eprintln!("SKIPPED report browser test: {why}");
            return None;
        }
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-default-apps",
                "--disable-extensions",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chromium starts");
        // Chromium prints its DevTools address on stderr. A thread reads it (and keeps
        // draining it), so that waiting is bounded even if Chromium prints nothing.
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (lines, from_chromium) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in stderr.lines() {
                let Ok(line) = line else { break };
                // Once nobody listens, keep draining so that Chromium never blocks on a full pipe.
                let _ = lines.send(line);
            }
        });
        let deadline = Instant::now() + SLOW_CI;
        let mut printed = Vec::new();
        let endpoint = loop {
            match from_chromium.recv_timeout(POLL) {
                Ok(line) => match line.find("ws://") {
                    Some(i) => break line[i..].trim().to_string(),
                    None => printed.push(line),
                },
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    let status = child.wait();
                    panic!(
                        "chromium exited ({status:?}) before printing its DevTools address; it said:\n{}",
                        printed.join("\n")
                    );
                }
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "chromium did not print its DevTools address within {SLOW_CI:?}; it said:\n{}",
                    printed.join("\n")
                );
            }
        };
        let hostport = endpoint
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap()
            .to_string();
        assert!(
            hostport.starts_with("127.0.0.1:"),
            "DevTools must listen on loopback: {endpoint}"
        );
        let ws = match devtools_handshake(&endpoint, &hostport, deadline) {
            Ok(ws) => ws,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{e}");
            }
        };
        let mut b = Browser {
            child,
            _profile: profile,
            ws,
            session: String::new(),
            next_id: 1,
            events: Vec::new(),
        };
        let target = b.call_browser("Target.createTarget", json!({"url": "about:blank"}));
        let target_id = target["targetId"].as_str().unwrap().to_string();
        let attached = b.call_browser(
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
        );
        b.session = attached["sessionId"].as_str().unwrap().to_string();
        for domain in ["Page.enable", "Runtime.enable", "Log.enable"] {
            b.call(domain, json!({}));
        }
        b.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": 1400, "height": 1000, "deviceScaleFactor": 1, "mobile": false}),
        );
        Some(b)
    }

    fn recv(&mut self) -> Option<Value> {
        match self.ws.read() {
            Ok(Message::Text(t)) => Some(serde_json::from_str(t.as_str()).unwrap()),
            Ok(_) => None,
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                None
            }
            Err(e) => panic!("DevTools connection: {e}"),
        }
    }

    fn send(&mut self, method: &str, params: Value, session: bool) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if session {
            msg["sessionId"] = json!(self.session);
        }
        self.ws.send(Message::text(msg.to_string())).unwrap();
        let deadline = Instant::now() + SLOW_CI;
        while Instant::now() < deadline {
            if let Some(v) = self.recv() {
                if v["id"].as_u64() == Some(id) {
                    if let Some(e) = v.get("error") {
                        panic!("{method}: {e}");
                    }
                    return v["result"].clone();
                }
                self.events.push(v);
            }
        }
        panic!("{method}: no answer from chromium within {SLOW_CI:?}");
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        self.send(method, params, true)
    }

    fn call_browser(&mut self, method: &str, params: Value) -> Value {
        self.send(method, params, false)
    }

    /// Loads `url`, waits for its load event and then for the page's own task queue to run
    /// dry once, and returns the errors the page produced: console errors, uncaught
    /// exceptions, failed loads, CSP violations.
    fn load(&mut self, url: &str) -> Load {
        self.events.clear();
        self.call("Page.navigate", json!({"url": url}));
        let deadline = Instant::now() + SLOW_CI;
        while !self
            .events
            .iter()
            .any(|e| e["method"] == "Page.loadEventFired")
        {
            assert!(
                Instant::now() < deadline,
                "{url} did not finish loading within {SLOW_CI:?}"
            );
            if let Some(v) = self.recv() {
                self.events.push(v);
            }
        }
        // A barrier instead of a fixed pause: the answer to this evaluation comes after every
        // task the page had queued before it (late console errors, CSP reports), and the
        // events those tasks sent arrive before the answer, on the same connection.
        self.call(
            "Runtime.evaluate",
            json!({"expression": "new Promise(r => setTimeout(r, 0))", "awaitPromise": true}),
        );
        let mut errors = Vec::new();
        for e in &self.events {
            let p = &e["params"];
            match e["method"].as_str() {
                Some("Runtime.consoleAPICalled")
                    if matches!(p["type"].as_str(), Some("error" | "assert")) =>
                {
                    errors.push(format!("console.{}: {}", p["type"], p["args"]))
                }
                Some("Runtime.exceptionThrown") => {
                    errors.push(format!("exception: {}", p["exceptionDetails"]))
                }
                Some("Log.entryAdded") if p["entry"]["level"] == "error" => {
                    errors.push(format!("{}: {}", p["entry"]["source"], p["entry"]["text"]))
                }
                _ => {}
            }
        }
        Load { errors }
    }

    fn eval(&mut self, expr: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true}),
        );
        r["result"]["value"].clone()
    }

    /// A PNG of the page's top `max_height` pixels.
    fn screenshot(&mut self, path: &Path, max_height: f64) {
        let metrics = self.call("Page.getLayoutMetrics", json!({}));
        let height = metrics["cssContentSize"]["height"]
            .as_f64()
            .unwrap_or(1000.0)
            .min(max_height);
        let shot = self.call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true,
                   "clip": {"x": 0, "y": 0, "width": 1400, "height": height, "scale": 1}}),
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.ws.send(Message::text(
            json!({"id": 0, "method": "Browser.close"}).to_string(),
        ));
        // Closing is best effort: after a few seconds Chromium is killed instead.
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The WebSocket handshake with Chromium's DevTools endpoint. Chromium may be slow to answer
/// (first start, loaded machine): a read that times out interrupts the handshake, which is
/// then resumed, until `deadline`. Afterwards reads poll every [`POLL`].
fn devtools_handshake(
    endpoint: &str,
    hostport: &str,
    deadline: Instant,
) -> Result<WebSocket<TcpStream>, String> {
    let stream = TcpStream::connect(hostport)
        .map_err(|e| format!("cannot connect to DevTools at {hostport}: {e}"))?;
    stream.set_read_timeout(Some(POLL)).unwrap();
    let mut attempt = tungstenite::client(endpoint, stream);
    let mut interrupted = 0u32;
    loop {
        match attempt {
            Ok((ws, _)) => {
                if interrupted > 0 {
                    eprintln!(
                        "DevTools handshake: resumed after {interrupted} read timeouts of {POLL:?}"
                    );
                }
                return Ok(ws);
            }
            Err(HandshakeError::Interrupted(_)) if Instant::now() > deadline => {
                return Err(format!(
                    "DevTools websocket: chromium did not answer the handshake within {SLOW_CI:?}"
                ));
            }
            Err(HandshakeError::Interrupted(mid)) => {
                interrupted += 1;
                attempt = mid.handshake();
            }
            Err(HandshakeError::Failure(e)) => return Err(format!("DevTools websocket: {e}")),
        }
    }
}

fn file_url(p: &Path) -> String {
    format!("file://{}", std::fs::canonicalize(p).unwrap().display())
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/report-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_test(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, format!("name: {name}\n{body}")).unwrap();
    path
}

/// A stored run whose history carries hostile strings, checked by `splitbrain analyze`.
fn hostile_run(store: &Path) -> PathBuf {
    let dir = store.join("hostile").join("20261125T101500.000Z");
    std::fs::create_dir_all(dir.join("nodes")).unwrap();
    std::fs::write(
        dir.join("test.yaml"),
        "name: hostile\nclient: {type: memory}\nworkload: {type: register}\nnodes: ['<b>n1</b>']\n",
    )
    .unwrap();
    let lines = [
        r#"{"index":0,"time":1000000,"process":0,"type":"invoke","f":"write","value":"<script>alert(1)</script>"}"#,
        r#"{"index":1,"time":2000000,"process":0,"type":"ok","f":"write","value":"<script>alert(1)</script>"}"#,
        r#"{"index":2,"time":2500000,"process":"nemesis","type":"info","f":"start-partition","value":{"nodes":["<img src=x onerror=alert(2)>"]}}"#,
        r#"{"index":3,"time":3000000,"process":1,"type":"invoke","f":"read","value":null}"#,
        r#"{"index":4,"time":4000000,"process":1,"type":"ok","f":"read","value":"<img src=x onerror=alert(3)>"}"#,
        r#"{"index":5,"time":4500000,"process":"nemesis","type":"info","f":"clock-offsets","value":{"<svg onload=alert(4)>":12}}"#,
    ];
    std::fs::write(dir.join("history.jsonl"), lines.join("\n") + "\n").unwrap();
    std::fs::create_dir_all(dir.join("nodes/n1")).unwrap();
    std::fs::write(dir.join("nodes/n1/db.log"), "<script>alert(5)</script>\n").unwrap();
    dir
}

#[test]
fn reports_and_the_index_load_in_chromium_without_errors() {
    let Some(mut browser) = Browser::start() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let shots = screenshots();

    // The detector works: a page with a console error and a script its CSP blocks is caught.
    let canary = tmp.path().join("canary.html");
    std::fs::write(
        &canary,
        "<!DOCTYPE html><meta http-equiv=\"Content-Security-Policy\" content=\"script-src 'none'\"><p>canary</p><script>console.error('x')</script>",
    )
    .unwrap();
    let load = browser.load(&file_url(&canary));
    assert!(!load.errors.is_empty(), "a blocked script must be reported");
    let noisy = tmp.path().join("noisy.html");
    std::fs::write(
        &noisy,
        "<!DOCTYPE html><p>noisy</p><script>console.error('canary error')</script>",
    )
    .unwrap();
    let load = browser.load(&file_url(&noisy));
    assert!(
        load.errors.iter().any(|e| e.contains("canary error")),
        "{:?}",
        load.errors
    );

    // Real runs: one valid, one invalid (stale reads), one with hostile strings.
    let valid = write_test(
        tmp.path(),
        "browser-valid",
        "client: {type: memory}\nworkload: {type: register}\nconcurrency: 5\nrate: 400\ntime-limit: 2s\nseed: 5\n",
    );
    assert_eq!(
        run(tmp.path(), &["test", valid.to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );
    let invalid = write_test(
        tmp.path(),
        "browser-invalid",
        "client: {type: memory-stale, stale-probability: 0.1}\nworkload: {type: register}\nconcurrency: 5\nrate: 400\ntime-limit: 2s\nseed: 9\n",
    );
    assert_eq!(
        run(tmp.path(), &["test", invalid.to_str().unwrap()])
            .status
            .code(),
        Some(1)
    );
    let store = tmp.path().join("store");
    let hostile = hostile_run(&store);
    let out = run(tmp.path(), &["analyze", hostile.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the hostile history is not linearizable"
    );

    let report = |name: &str| {
        std::fs::canonicalize(store.join(name).join("latest").join("report.html")).unwrap()
    };
    let pages: [(&str, PathBuf, &str); 4] = [
        ("report-valid", report("browser-valid"), "valid"),
        ("report-invalid", report("browser-invalid"), "invalid"),
        ("report-hostile", hostile.join("report.html"), "invalid"),
        ("index", store.join("index.html"), ""),
    ];
    for (name, path, verdict) in pages {
        let load = browser.load(&file_url(&path));
        assert!(load.errors.is_empty(), "{name}: {:#?}", load.errors);
        // No script of any kind in the DOM: the page has none, and nothing was injected.
        assert_eq!(
            browser.eval("document.scripts.length"),
            json!(0),
            "{name}: a script in the DOM"
        );
        assert_eq!(
            browser.eval("document.querySelectorAll('[onerror],[onload]').length"),
            json!(0),
            "{name}"
        );
        if verdict.is_empty() {
            let rows = browser.eval("document.querySelectorAll('table.index-table tr').length");
            assert_eq!(rows, json!(4), "{name}: a header and three runs");
        } else {
            assert_eq!(
                browser.eval("document.getElementById('verdict').textContent"),
                json!(verdict),
                "{name}"
            );
            let charts = browser
                .eval("document.querySelectorAll('svg.chart').length")
                .as_u64()
                .unwrap();
            assert!(charts >= 3, "{name}: {charts} charts rendered");
            // Charts are drawn: plotters' SVG has non-zero size in the page.
            let width =
                browser.eval("document.querySelector('svg.chart').getBoundingClientRect().width");
            assert!(
                width.as_f64().unwrap() > 500.0,
                "{name}: chart width {width}"
            );
        }
        if verdict == "invalid" {
            let cx = browser.eval("!!document.querySelector('svg.cx .cx-op.failed')");
            assert_eq!(
                cx,
                json!(true),
                "{name}: the counterexample's failed op is not drawn"
            );
        }
        browser.screenshot(&shots.join(format!("{name}.png")), 3000.0);
    }
    // The hostile strings are shown as text.
    browser.load(&file_url(&hostile.join("report.html")));
    let text = browser
        .eval("document.body.innerText")
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        text.contains("<script>alert(1)</script>"),
        "the written value should be visible as text"
    );
    assert!(text.contains("<img src=x onerror=alert(3)>"));
    assert!(text.contains("<b>n1</b>"));
    eprintln!("screenshots in {}", shots.display());
}
