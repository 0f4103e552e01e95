//! The reference store of `splitbrain client-check`: the in-process stores of the
//! `memory` client (one per workload, every op atomic, so every honest history is
//! valid) served over HTTP on loopback, so that a client program can be checked before
//! it is pointed at a cluster.
//!
//! A client in reference mode (`"reference": true` in its `open` options) sends each
//! `invoke` it receives, as it is, to `POST http://<node.host>:<node.ports.client>/invoke`
//! and answers with what comes back: `{"type":"ok","value":…}` or `{"type":"fail",
//! "error":…}`. The store also misbehaves the way databases do, seeded, so that the
//! client's handling of unknown outcomes is checked too:
//!
//! - *lost replies*: the op takes effect and no reply ever comes (until the client gives
//!   up): the client must say `info`, never `fail`. A client that says `fail` may be
//!   caught by the checker, as a database client would;
//! - *unavailable*: HTTP 503 `{"type":"unavailable"}` and the op did not take effect:
//!   `fail` is right (`info` is allowed).
//!
//! Requests are bounded (64 KiB).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use splitbrain_history::Value;
use splitbrain_workloads::clients::{self, ClientContext};
use splitbrain_workloads::options::Options;
use splitbrain_workloads::{ClientFactory, Outcome, Request, Target, Workload};
use tokio_util::sync::CancellationToken;

/// Largest request body the store reads.
pub const MAX_BODY: usize = 64 * 1024;

/// How often the store misbehaves (probabilities from 0 to 1, each drawn per request).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Misbehaviour {
    /// The op takes effect and its reply is never sent.
    pub lost_reply: f64,
    /// The op does not take effect; 503.
    pub unavailable: f64,
    pub seed: u64,
}

impl Misbehaviour {
    pub const NONE: Misbehaviour = Misbehaviour {
        lost_reply: 0.0,
        unavailable: 0.0,
        seed: 0,
    };
}

/// What the store did, for the conformance report.
#[derive(Debug, Default)]
pub struct Counts {
    pub applied: AtomicU64,
    pub lost: AtomicU64,
    pub unavailable: AtomicU64,
    pub bad_requests: AtomicU64,
}

/// A running reference store; stops when dropped.
pub struct ReferenceStore {
    pub addr: SocketAddr,
    pub counts: Arc<Counts>,
    stop: CancellationToken,
}

impl Drop for ReferenceStore {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

struct Shared {
    factory: Arc<dyn ClientFactory>,
    misbehaviour: Misbehaviour,
    rng: std::sync::Mutex<fastrand::Rng>,
    counts: Arc<Counts>,
    stop: CancellationToken,
}

/// The body of `POST /invoke`: an `invoke` message (its `type` and `id` are ignored).
#[derive(Debug, Deserialize)]
struct Invoke {
    f: String,
    #[serde(default)]
    value: Value,
    #[serde(default)]
    key: Option<Value>,
}

impl ReferenceStore {
    /// Serves `workload`'s store on 127.0.0.1 (a free port) on the current tokio runtime.
    pub async fn start(
        workload: &'static dyn Workload,
        misbehaviour: Misbehaviour,
    ) -> Result<ReferenceStore> {
        let factory = clients::find("memory")
            .and_then(|m| m.open(workload, &Options::default(), &ClientContext::default()))
            .map_err(|e| anyhow::anyhow!("the reference store: {e}"))?;
        let counts = Arc::new(Counts::default());
        let stop = CancellationToken::new();
        let shared = Arc::new(Shared {
            factory,
            misbehaviour,
            rng: std::sync::Mutex::new(fastrand::Rng::with_seed(misbehaviour.seed)),
            counts: Arc::clone(&counts),
            stop: stop.clone(),
        });
        let app = axum::Router::new()
            .route("/invoke", axum::routing::post(invoke))
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .context("the reference store cannot listen on 127.0.0.1")?;
        let addr = listener.local_addr()?;
        let until = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { until.cancelled().await })
                .await;
        });
        Ok(ReferenceStore { addr, counts, stop })
    }
}

async fn invoke(State(s): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    let req: Invoke = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            s.counts.bad_requests.fetch_add(1, Ordering::Relaxed);
            let error = format!("not an invoke message: {e}");
            return json(
                StatusCode::BAD_REQUEST,
                serde_json::json!({"type": "error", "error": error}),
            );
        }
    };
    let (lost, unavailable) = {
        let mut rng = s.rng.lock().unwrap_or_else(|e| e.into_inner());
        let x = rng.f64();
        (
            x < s.misbehaviour.lost_reply,
            x >= s.misbehaviour.lost_reply
                && x < s.misbehaviour.lost_reply + s.misbehaviour.unavailable,
        )
    };
    if unavailable {
        s.counts.unavailable.fetch_add(1, Ordering::Relaxed);
        return json(
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({"type": "unavailable", "error": "the reference store refused the op; it did not take effect"}),
        );
    }
    let request = Request {
        f: req.f.into(),
        value: req.value,
        key: req.key,
    };
    let outcome = match s.factory.open(&Target::new("ref", "127.0.0.1"), 0).await {
        Ok(mut c) => c.invoke(&request).await,
        Err(e) => Outcome::info(e.to_string()),
    };
    s.counts.applied.fetch_add(1, Ordering::Relaxed);
    if lost {
        s.counts.lost.fetch_add(1, Ordering::Relaxed);
        // Took effect; the reply never comes. The connection is dropped when the client
        // gives up, or when the store stops.
        s.stop.cancelled().await;
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let reply = match outcome {
        Outcome::Ok(v) => serde_json::json!({"type": "ok", "value": v}),
        Outcome::Fail(e) => serde_json::json!({"type": "fail", "error": e}),
        Outcome::Info(e) => serde_json::json!({"type": "info", "error": e}),
    };
    json(StatusCode::OK, reply)
}

fn json(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}
