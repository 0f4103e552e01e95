//! The etcd client: register, set and counter over etcd's v3 JSON gateway.
//!
//! Plain HTTP/1.1 POSTs of JSON to `http://{node}:2379/v3/kv/{range,put,txn}`,
//! keys and values base64-encoded, as etcd's grpc-gateway expects: no protoc,
//! no gRPC stack. Each opened client has its own connection (a pool of one
//! idle connection), never follows redirects and ignores proxy settings, so it
//! talks to the node it was opened for and nothing else.
//!
//! Data layout under the configurable prefix (default `/splitbrain`); values
//! are the JSON text of the op's [`Value`]:
//! - register: key `{prefix}/register/{key}`; `read` is a range (serializable
//!   when [`ReadConsistency::Serializable`]), `write` a put, `cas` a txn that
//!   compares the value with the expected one and puts the new one; a txn
//!   whose comparison failed certainly wrote nothing: `fail`.
//! - set: each element is its own key `{prefix}/set/{element}`, so `add` is a
//!   single put (no read-modify-write, no contention between adders) and
//!   `read` a range over the prefix (keys only).
//! - counter: one key `{prefix}/counter`; etcd cannot increment in place, so
//!   `add` reads the value and its `mod_revision`, then a txn puts value + n if
//!   the revision is unchanged, else returns the current value (in the txn's
//!   failure branch) to try again, at most [`EtcdOptions::cas_retries`] times;
//!   if no attempt succeeded, none applied: `fail`.
//!
//! How errors become outcomes (the part that keeps results trustworthy):
//! - not sent: the connection could not be established (refused, DNS,
//!   connect timeout), so no byte of the request left: `fail`;
//! - rejected: etcd answered with an error that means it did not apply the
//!   request (a gRPC code such as InvalidArgument or ResourceExhausted, or an
//!   HTTP 4xx without one): `fail`;
//! - anything else after the request may have been sent (reset, EOF, a
//!   timeout, HTTP 5xx such as `etcdserver: request timed out`, an unreadable
//!   answer): `info`.
//!
//! Reads have no effect, so a read that went wrong in any way is `fail`, as
//! Jepsen's clients do: it certainly did not take effect, and the process can
//! go on.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;
use splitbrain_history::Value;

use crate::{Client, ClientFactory, Outcome, Request, Target, Workload};

/// etcd's default client port.
pub const DEFAULT_PORT: u16 = 2379;

/// How reads are served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReadConsistency {
    /// Through the leader with a quorum (etcd's default): reads are linearizable.
    #[default]
    Linearizable,
    /// From the local member's state, without a quorum: fast, and known to
    /// serve stale data from a partitioned member. The unsafe setting a test
    /// should catch.
    Serializable,
}

impl FromStr for ReadConsistency {
    type Err = String;

    fn from_str(s: &str) -> Result<ReadConsistency, String> {
        match s {
            "linearizable" => Ok(ReadConsistency::Linearizable),
            "serializable" => Ok(ReadConsistency::Serializable),
            _ => Err(format!(
                "unknown read consistency `{s}`; expected linearizable or serializable"
            )),
        }
    }
}

impl fmt::Display for ReadConsistency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReadConsistency::Linearizable => "linearizable",
            ReadConsistency::Serializable => "serializable",
        })
    }
}

/// Client options.
#[derive(Debug, Clone, PartialEq)]
pub struct EtcdOptions {
    pub read_consistency: ReadConsistency,
    /// Prefix of every key the workloads touch.
    pub prefix: String,
    /// Giving up on connecting is `fail` (nothing was sent).
    pub connect_timeout: Duration,
    /// A whole-request timeout inside the client (`info` for writes); `None`
    /// leaves timeouts to the runner, which records `info` itself.
    pub request_timeout: Option<Duration>,
    /// How often a counter `add` retries its compare-and-set under contention.
    pub cas_retries: u32,
}

impl Default for EtcdOptions {
    fn default() -> EtcdOptions {
        EtcdOptions {
            read_consistency: ReadConsistency::Linearizable,
            prefix: "/splitbrain".into(),
            connect_timeout: Duration::from_secs(1),
            request_timeout: None,
            cas_retries: 20,
        }
    }
}

/// Opens [`EtcdClient`]s for one workload.
#[derive(Debug, Clone)]
pub struct EtcdClientFactory {
    workload: Workload,
    options: Arc<EtcdOptions>,
}

impl EtcdClientFactory {
    pub fn new(workload: Workload, options: EtcdOptions) -> EtcdClientFactory {
        EtcdClientFactory {
            workload,
            options: Arc::new(options),
        }
    }

    /// A client for `target`, without the async `open`. Connects lazily, on the first request.
    pub fn client(&self, target: &Target) -> anyhow::Result<EtcdClient> {
        let mut http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .retry(reqwest::retry::never())
            .connect_timeout(self.options.connect_timeout)
            .pool_max_idle_per_host(1)
            .tcp_nodelay(true);
        if let Some(t) = self.options.request_timeout {
            http = http.timeout(t);
        }
        let http = http
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build an HTTP client for {}: {e}", target.name))?;
        Ok(EtcdClient {
            http,
            base: format!("http://{}/v3/kv", target.authority(DEFAULT_PORT)),
            workload: self.workload,
            options: Arc::clone(&self.options),
        })
    }
}

#[async_trait]
impl ClientFactory for EtcdClientFactory {
    async fn open(&self, target: &Target, _process: u64) -> anyhow::Result<Box<dyn Client>> {
        Ok(Box::new(self.client(target)?))
    }
}

/// One process's connection to one etcd member.
#[derive(Debug)]
pub struct EtcdClient {
    http: reqwest::Client,
    /// `http://host:port/v3/kv`
    base: String,
    workload: Workload,
    options: Arc<EtcdOptions>,
}

/// Why a call to etcd did not succeed, by what it means for the op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The request was certainly not sent (no connection).
    NotSent(String),
    /// etcd answered that it did not apply the request.
    Rejected(String),
    /// The request may have been applied.
    Ambiguous(String),
}

impl CallError {
    /// The outcome of an op that failed this way: reads are `fail` whatever
    /// happened (they have no effect); writes are `info` unless certainly not applied.
    pub fn outcome(self, read_only: bool) -> Outcome {
        match self {
            CallError::NotSent(e) | CallError::Rejected(e) => Outcome::fail(e),
            CallError::Ambiguous(e) if read_only => Outcome::fail(e),
            CallError::Ambiguous(e) => Outcome::info(e),
        }
    }
}

impl CallError {
    pub fn message(&self) -> &str {
        match self {
            CallError::NotSent(e) | CallError::Rejected(e) | CallError::Ambiguous(e) => e,
        }
    }

    /// The same error, known not to have applied anything (e.g. the read step
    /// of a read-modify-write, before any write was sent).
    fn not_applied(self, context: &str) -> CallError {
        CallError::Rejected(format!("{context}: {}", self.message()))
    }
}

/// A reqwest error with its causes, e.g. `error sending request: ... Connection refused (os error 111)`.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let c = cause.to_string();
        if !s.contains(&c) {
            s.push_str(": ");
            s.push_str(&c);
        }
        source = cause.source();
    }
    s
}

/// Classifies a transport error: only a failure to connect proves that nothing was sent.
pub fn classify_transport(e: &reqwest::Error) -> CallError {
    let text = error_chain(e);
    if e.is_connect() || e.is_builder() {
        CallError::NotSent(format!("not sent: {text}"))
    } else if e.is_timeout() {
        CallError::Ambiguous(format!("timeout: {text}"))
    } else {
        CallError::Ambiguous(text)
    }
}

/// gRPC codes with which etcd rejects a request it did not apply:
/// InvalidArgument, NotFound, AlreadyExists, PermissionDenied,
/// ResourceExhausted (`too many requests`, `no space`), FailedPrecondition,
/// OutOfRange (compacted revision), Unimplemented, Unauthenticated.
/// Canceled, Unknown, DeadlineExceeded, Aborted, Internal, Unavailable
/// (`request timed out`, `leader changed`) and DataLoss may follow a proposal
/// that still commits.
const REJECTING_GRPC_CODES: [i64; 9] = [3, 5, 6, 7, 8, 9, 11, 12, 16];

/// Classifies an HTTP error answer of etcd's gateway (`{"error": .., "code": ..}`).
pub fn classify_status(status: u16, body: &[u8]) -> CallError {
    #[derive(Deserialize)]
    struct GatewayError {
        #[serde(default)]
        error: Option<String>,
        #[serde(default)]
        message: Option<String>,
        #[serde(default)]
        code: Option<i64>,
    }
    let parsed: Option<GatewayError> = serde_json::from_slice(body).ok();
    let message = parsed
        .as_ref()
        .and_then(|g| g.message.clone().or_else(|| g.error.clone()))
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned());
    let code = parsed.and_then(|g| g.code);
    let text = match code {
        Some(c) => format!("HTTP {status}, gRPC code {c}: {message}"),
        None => format!("HTTP {status}: {message}"),
    };
    let rejected = match code {
        Some(c) => REJECTING_GRPC_CODES.contains(&c),
        // Without a code: a client error that is not about time or cancellation.
        None => (400..500).contains(&status) && !matches!(status, 408 | 409 | 499),
    };
    if rejected {
        CallError::Rejected(text)
    } else {
        CallError::Ambiguous(text)
    }
}

/// A key-value pair of a range response.
#[derive(Debug, Default, Deserialize)]
struct Kv {
    #[serde(default)]
    key: String,
    #[serde(default)]
    value: String,
    #[serde(default, deserialize_with = "int64")]
    mod_revision: i64,
}

#[derive(Debug, Default, Deserialize)]
struct RangeResponse {
    #[serde(default)]
    kvs: Vec<Kv>,
}

#[derive(Debug, Default, Deserialize)]
struct PutResponse {}

#[derive(Debug, Default, Deserialize)]
struct TxnResponse {
    /// Omitted by the gateway when false.
    #[serde(default)]
    succeeded: bool,
    #[serde(default)]
    responses: Vec<ResponseOp>,
}

#[derive(Debug, Default, Deserialize)]
struct ResponseOp {
    #[serde(default)]
    response_range: Option<RangeResponse>,
}

/// Protobuf's JSON form writes int64 as a string; accept a number too.
fn int64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Num(i64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Num(n) => Ok(n),
        Raw::Text(s) => s.parse().map_err(serde::de::Error::custom),
    }
}

fn b64(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

/// The stored form of a value: its JSON text.
fn encode_value(v: &Value) -> String {
    b64(serde_json::to_string(v)
        .expect("a Value always serializes")
        .as_bytes())
}

/// A stored value back; text that is not JSON (written by someone else) comes back as a string.
fn decode_value(stored: &str) -> Result<Value, CallError> {
    let bytes = BASE64
        .decode(stored)
        .map_err(|e| CallError::Ambiguous(format!("etcd returned invalid base64: {e}")))?;
    Ok(serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::from(String::from_utf8_lossy(&bytes).into_owned())))
}

/// A key's text in etcd: integers and strings as they are, other values as EDN.
fn key_text(key: Option<&Value>) -> String {
    match key {
        Some(Value::Str(s)) => s.to_string(),
        Some(v) => v.to_string(),
        None => "nil".into(),
    }
}

impl EtcdClient {
    /// POSTs `body` to `{base}/{path}` and decodes the answer.
    async fn call<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T, CallError> {
        let resp = self
            .http
            .post(format!("{}/{path}", self.base))
            .json(body)
            .send()
            .await
            .map_err(|e| classify_transport(&e))?;
        let status = resp.status();
        let bytes = resp.bytes().await;
        if !status.is_success() {
            return Err(classify_status(
                status.as_u16(),
                bytes.as_deref().unwrap_or_default(),
            ));
        }
        let bytes = bytes.map_err(|e| {
            CallError::Ambiguous(format!("reading etcd's answer: {}", error_chain(&e)))
        })?;
        serde_json::from_slice(&bytes).map_err(|e| {
            CallError::Ambiguous(format!(
                "unreadable answer from etcd ({e}): {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
            ))
        })
    }

    fn key(&self, suffix: &str) -> String {
        format!("{}/{suffix}", self.options.prefix)
    }

    async fn range(&self, key: &str, serializable: bool) -> Result<Option<Kv>, CallError> {
        let mut body = json!({ "key": b64(key.as_bytes()) });
        if serializable {
            body["serializable"] = json!(true);
        }
        let r: RangeResponse = self.call("range", &body).await?;
        Ok(r.kvs.into_iter().next())
    }

    fn serializable(&self) -> bool {
        self.options.read_consistency == ReadConsistency::Serializable
    }

    async fn register(&self, req: &Request) -> Result<Value, CallError> {
        let key = self.key(&format!("register/{}", key_text(req.key.as_ref())));
        match req.f.as_ref() {
            "read" => match self.range(&key, self.serializable()).await? {
                Some(kv) => decode_value(&kv.value),
                None => Ok(Value::Nil),
            },
            "write" => {
                let body = json!({ "key": b64(key.as_bytes()), "value": encode_value(&req.value) });
                let _: PutResponse = self.call("put", &body).await?;
                Ok(req.value.clone())
            }
            "cas" => {
                let Some([old, new]) = req
                    .value
                    .as_list()
                    .and_then(|l| <&[Value; 2]>::try_from(l).ok())
                else {
                    return Err(CallError::Rejected(format!(
                        "cas needs an [old new] pair, got {}",
                        req.value
                    )));
                };
                let k = b64(key.as_bytes());
                let body = json!({
                    "compare": [{ "key": k, "target": "VALUE", "result": "EQUAL", "value": encode_value(old) }],
                    "success": [{ "request_put": { "key": k, "value": encode_value(new) } }],
                });
                let r: TxnResponse = self.call("txn", &body).await?;
                if r.succeeded {
                    Ok(req.value.clone())
                } else {
                    Err(CallError::Rejected("cas: the value differs".into()))
                }
            }
            f => Err(unknown_function(Workload::Register, f)),
        }
    }

    async fn set(&self, req: &Request) -> Result<Value, CallError> {
        let dir = self.key("set/");
        match req.f.as_ref() {
            "add" => {
                let key = format!(
                    "{dir}{}",
                    serde_json::to_string(&req.value).expect("a Value always serializes")
                );
                let body = json!({ "key": b64(key.as_bytes()), "value": encode_value(&req.value) });
                let _: PutResponse = self.call("put", &body).await?;
                Ok(req.value.clone())
            }
            "read" => {
                // The range [dir, dir with its last byte + 1): every key under the prefix.
                let mut end = dir.clone().into_bytes();
                *end.last_mut().expect("non-empty") += 1;
                let mut body = json!({
                    "key": b64(dir.as_bytes()),
                    "range_end": b64(&end),
                    "keys_only": true,
                });
                if self.serializable() {
                    body["serializable"] = json!(true);
                }
                let r: RangeResponse = self.call("range", &body).await?;
                let mut elements = Vec::with_capacity(r.kvs.len());
                for kv in r.kvs {
                    let key = BASE64.decode(&kv.key).map_err(|e| {
                        CallError::Ambiguous(format!("etcd returned invalid base64: {e}"))
                    })?;
                    let text = &key[dir.len().min(key.len())..];
                    elements.push(serde_json::from_slice(text).unwrap_or_else(|_| {
                        Value::from(String::from_utf8_lossy(text).into_owned())
                    }));
                }
                // etcd orders keys as bytes ("10" < "9"); present numbers in numeric order.
                elements.sort_by_key(|v: &Value| v.as_int());
                Ok(Value::List(elements))
            }
            f => Err(unknown_function(Workload::Set, f)),
        }
    }

    async fn counter(&self, req: &Request) -> Result<Value, CallError> {
        let key = self.key("counter");
        match req.f.as_ref() {
            "read" => match self.range(&key, self.serializable()).await? {
                Some(kv) => decode_value(&kv.value),
                None => Ok(Value::Int(0)),
            },
            "add" => {
                let Some(delta) = req.value.as_int() else {
                    return Err(CallError::Rejected(format!(
                        "add needs an integer, got {}",
                        req.value
                    )));
                };
                let k = b64(key.as_bytes());
                // Until a txn was sent, nothing was written: every error is `fail`.
                // Always a linearizable read here: a stale revision would only cost a retry.
                let mut current = self
                    .range(&key, false)
                    .await
                    .map_err(|e| e.not_applied("add: reading the counter"))?;
                for _ in 0..=self.options.cas_retries {
                    let (value, revision) = match &current {
                        Some(kv) => {
                            let v = decode_value(&kv.value)
                                .map_err(|e| e.not_applied("add: reading the counter"))?;
                            let Some(n) = v.as_int() else {
                                return Err(CallError::Rejected(format!(
                                    "add: the counter holds {v}, not an integer"
                                )));
                            };
                            (n, kv.mod_revision)
                        }
                        // An absent key has mod_revision 0 in a comparison.
                        None => (0, 0),
                    };
                    let body = json!({
                        "compare": [{ "key": k, "target": "MOD", "result": "EQUAL", "mod_revision": revision.to_string() }],
                        "success": [{ "request_put": { "key": k, "value": encode_value(&Value::Int(value + delta)) } }],
                        "failure": [{ "request_range": { "key": k } }],
                    });
                    let r: TxnResponse = self.call("txn", &body).await?;
                    if r.succeeded {
                        return Ok(req.value.clone());
                    }
                    current = r
                        .responses
                        .into_iter()
                        .find_map(|op| op.response_range)
                        .and_then(|range| range.kvs.into_iter().next());
                }
                Err(CallError::Rejected(format!(
                    "add: the counter changed under each of {} compare-and-set attempts",
                    self.options.cas_retries + 1
                )))
            }
            f => Err(unknown_function(Workload::Counter, f)),
        }
    }
}

fn unknown_function(w: Workload, f: &str) -> CallError {
    CallError::Rejected(format!("the {w} workload has no function `{f}`"))
}

#[async_trait]
impl Client for EtcdClient {
    async fn invoke(&mut self, req: &Request) -> Outcome {
        let result = match self.workload {
            Workload::Register => self.register(req).await,
            Workload::Set => self.set(req).await,
            Workload::Counter => self.counter(req).await,
        };
        match result {
            Ok(v) => Outcome::Ok(v),
            Err(e) => e.outcome(req.f.as_ref() == "read"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etcd_timeouts_and_leader_loss_are_ambiguous() {
        let body = br#"{"error":"etcdserver: request timed out","message":"etcdserver: request timed out","code":14}"#;
        let e = classify_status(503, body);
        assert_eq!(
            e,
            CallError::Ambiguous("HTTP 503, gRPC code 14: etcdserver: request timed out".into())
        );
        assert!(matches!(e.outcome(false), Outcome::Info(_)));
        let body = br#"{"error":"context deadline exceeded","code":4}"#;
        assert!(matches!(
            classify_status(504, body),
            CallError::Ambiguous(_)
        ));
        // A bare 5xx without a gRPC body is ambiguous too.
        assert!(matches!(
            classify_status(502, b"bad gateway"),
            CallError::Ambiguous(_)
        ));
    }

    #[test]
    fn rejections_are_fail() {
        let body = br#"{"error":"etcdserver: too many requests","code":8}"#;
        let e = classify_status(429, body);
        assert!(matches!(e, CallError::Rejected(_)), "{e:?}");
        assert!(matches!(e.outcome(false), Outcome::Fail(_)));
        let body = br#"{"error":"etcdserver: key is not provided","code":3}"#;
        assert!(matches!(classify_status(400, body), CallError::Rejected(_)));
        assert!(matches!(
            classify_status(404, b"Not Found"),
            CallError::Rejected(_)
        ));
        // Time and cancellation are not rejections even as 4xx.
        assert!(matches!(classify_status(408, b""), CallError::Ambiguous(_)));
        assert!(matches!(classify_status(499, b""), CallError::Ambiguous(_)));
        // A 4xx carrying an ambiguous gRPC code follows the code.
        assert!(matches!(
            classify_status(400, br#"{"code":14,"error":"x"}"#),
            CallError::Ambiguous(_)
        ));
    }

    #[test]
    fn reads_fail_whatever_happened() {
        assert!(matches!(
            CallError::Ambiguous("reset".into()).outcome(true),
            Outcome::Fail(_)
        ));
        assert!(matches!(
            CallError::Ambiguous("reset".into()).outcome(false),
            Outcome::Info(_)
        ));
        assert!(matches!(
            CallError::NotSent("refused".into()).outcome(false),
            Outcome::Fail(_)
        ));
    }

    #[test]
    fn values_round_trip_through_their_stored_form() {
        for v in [
            Value::Int(3),
            Value::Nil,
            Value::str("x"),
            Value::from(vec![1i64, 2]),
        ] {
            assert_eq!(decode_value(&encode_value(&v)).unwrap(), v);
        }
        assert_eq!(decode_value(&b64(b"plain")).unwrap(), Value::str("plain"));
        assert!(decode_value("@@").is_err());
    }

    #[test]
    fn int64_accepts_strings_and_numbers() {
        let kv: Kv = serde_json::from_str(r#"{"key":"","mod_revision":"12"}"#).unwrap();
        assert_eq!(kv.mod_revision, 12);
        let kv: Kv = serde_json::from_str(r#"{"mod_revision":7}"#).unwrap();
        assert_eq!(kv.mod_revision, 7);
    }

    #[test]
    fn read_consistency_parses() {
        assert_eq!(
            "serializable".parse::<ReadConsistency>().unwrap(),
            ReadConsistency::Serializable
        );
        assert!("strong".parse::<ReadConsistency>().is_err());
    }
}
