//! The etcd clients: one per workload ([`register`], [`set`], [`counter`],
//! [`unique_ids`]) over one connection type, etcd's v3 JSON gateway.
//!
//! Plain HTTP/1.1 POSTs of JSON to `http://{node}:2379/v3/kv/{range,put,txn}`,
//! keys and values base64-encoded, as etcd's grpc-gateway expects: no protoc,
//! no gRPC stack. Each opened client has its own connection ([`Conn`], a pool of
//! one idle connection), never follows redirects and ignores proxy settings, so
//! it talks to the node it was opened for and nothing else. Every key lives under
//! the configurable prefix (default `/splitbrain`); values are the JSON text of
//! the op's [`Value`].
//!
//! How errors become outcomes, for every etcd client (the part that keeps results
//! trustworthy):
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
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::json;
use splitbrain_history::Value;

use crate::clients::{ClientContext, ClientType, Opener};
use crate::{Client, ClientFactory, Outcome, Request, Target};

pub mod counter;
pub mod register;
pub mod set;
pub mod unique_ids;

/// etcd's default client port.
pub const DEFAULT_PORT: u16 = 2379;

/// `client.type: etcd`.
pub static ETCD: ClientType<EtcdClientOptions> = ClientType {
    name: "etcd",
    about: "etcd v3 over its JSON gateway (port 2379)",
    needs_nodes: true,
    workloads: &[
        ("register", open::<register::Register> as Opener<_>),
        ("set", open::<set::Set>),
        ("counter", open::<counter::Counter>),
        ("unique-ids", open::<unique_ids::UniqueIds>),
    ],
    describe: |o| o.read_consistency.map(|rc| format!("{rc} reads")),
};

/// The `options:` of an etcd client in a test definition.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EtcdClientOptions {
    /// `linearizable` (etcd's default) or `serializable` (reads served by the local
    /// member without a quorum: known to be unsafe).
    #[serde(default)]
    pub read_consistency: Option<ReadConsistency>,
}

impl From<&EtcdClientOptions> for EtcdOptions {
    fn from(o: &EtcdClientOptions) -> EtcdOptions {
        EtcdOptions {
            read_consistency: o.read_consistency.unwrap_or_default(),
            ..EtcdOptions::default()
        }
    }
}

fn open<W: EtcdWorkload>(o: &EtcdClientOptions, _: &ClientContext) -> Arc<dyn ClientFactory> {
    Arc::new(EtcdFactory::<W>::new(o.into()))
}

/// How reads are served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadConsistency {
    /// Through the leader with a quorum (etcd's default): reads are linearizable.
    #[default]
    Linearizable,
    /// From the local member's state, without a quorum: fast, and known to
    /// serve stale data from a partitioned member. The unsafe setting a test
    /// should catch.
    Serializable,
}

impl ReadConsistency {
    pub const ALL: [ReadConsistency; 2] =
        [ReadConsistency::Linearizable, ReadConsistency::Serializable];

    pub fn name(self) -> &'static str {
        match self {
            ReadConsistency::Linearizable => "linearizable",
            ReadConsistency::Serializable => "serializable",
        }
    }
}

impl FromStr for ReadConsistency {
    type Err = String;

    fn from_str(s: &str) -> Result<ReadConsistency, String> {
        ReadConsistency::ALL
            .into_iter()
            .find(|rc| rc.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = ReadConsistency::ALL.iter().map(|rc| rc.name()).collect();
                format!(
                    "unknown read consistency `{s}`; expected {}",
                    names.join(" or ")
                )
            })
    }
}

impl fmt::Display for ReadConsistency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for ReadConsistency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// By name, with the message of [`FromStr`].
impl<'de> Deserialize<'de> for ReadConsistency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ReadConsistency, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Client options, as code sets them.
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

/// One workload's etcd client: how it runs a request over a [`Conn`].
pub trait EtcdWorkload: Send + Sync + 'static {
    /// The value of an `ok` completion, or why the request did not succeed.
    fn run(conn: &Conn, req: &Request) -> impl Future<Output = Result<Value, CallError>> + Send;
}

/// Opens etcd clients of workload `W`.
#[derive(Debug)]
pub struct EtcdFactory<W> {
    options: Arc<EtcdOptions>,
    workload: std::marker::PhantomData<fn() -> W>,
}

impl<W> Clone for EtcdFactory<W> {
    fn clone(&self) -> EtcdFactory<W> {
        EtcdFactory {
            options: Arc::clone(&self.options),
            workload: std::marker::PhantomData,
        }
    }
}

impl<W: EtcdWorkload> EtcdFactory<W> {
    pub fn new(options: EtcdOptions) -> EtcdFactory<W> {
        EtcdFactory {
            options: Arc::new(options),
            workload: std::marker::PhantomData,
        }
    }

    /// A client for `target`, without the async `open`. Connects lazily, on the first request.
    pub fn client(&self, target: &Target) -> anyhow::Result<EtcdClient<W>> {
        Ok(EtcdClient {
            conn: Conn::new(target, Arc::clone(&self.options))?,
            workload: std::marker::PhantomData,
        })
    }
}

#[async_trait]
impl<W: EtcdWorkload> ClientFactory for EtcdFactory<W> {
    async fn open(&self, target: &Target, _process: u64) -> anyhow::Result<Box<dyn Client>> {
        Ok(Box::new(self.client(target)?))
    }
}

/// One process's client of workload `W`, on its connection to one etcd member.
#[derive(Debug)]
pub struct EtcdClient<W> {
    conn: Conn,
    workload: std::marker::PhantomData<fn() -> W>,
}

#[async_trait]
impl<W: EtcdWorkload> Client for EtcdClient<W> {
    async fn invoke(&mut self, req: &Request) -> Outcome {
        match W::run(&self.conn, req).await {
            Ok(v) => Outcome::Ok(v),
            Err(e) => e.outcome(req.f.as_ref() == "read"),
        }
    }
}

/// A connection to one etcd member's JSON gateway.
#[derive(Debug)]
pub struct Conn {
    http: reqwest::Client,
    /// `http://host:port/v3/kv`
    base: String,
    options: Arc<EtcdOptions>,
}

impl Conn {
    fn new(target: &Target, options: Arc<EtcdOptions>) -> anyhow::Result<Conn> {
        let mut http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .retry(reqwest::retry::never())
            .connect_timeout(options.connect_timeout)
            .pool_max_idle_per_host(1)
            .tcp_nodelay(true);
        if let Some(t) = options.request_timeout {
            http = http.timeout(t);
        }
        let http = http
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build an HTTP client for {}: {e}", target.name))?;
        Ok(Conn {
            http,
            base: format!("http://{}/v3/kv", target.authority(DEFAULT_PORT)),
            options,
        })
    }

    pub fn options(&self) -> &EtcdOptions {
        &self.options
    }

    /// POSTs `body` to `{base}/{path}` and decodes the answer.
    pub async fn call<T: DeserializeOwned>(
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

    /// `{prefix}/{suffix}`.
    pub fn key(&self, suffix: &str) -> String {
        format!("{}/{suffix}", self.options.prefix)
    }

    /// The key-value pair at `key`, if any.
    pub async fn range(&self, key: &str, serializable: bool) -> Result<Option<Kv>, CallError> {
        let mut body = json!({ "key": b64(key.as_bytes()) });
        if serializable {
            body["serializable"] = json!(true);
        }
        let r: RangeResponse = self.call("range", &body).await?;
        Ok(r.kvs.into_iter().next())
    }

    /// Whether the test's reads are serializable (local, no quorum).
    pub fn serializable(&self) -> bool {
        self.options.read_consistency == ReadConsistency::Serializable
    }
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

    pub fn message(&self) -> &str {
        match self {
            CallError::NotSent(e) | CallError::Rejected(e) | CallError::Ambiguous(e) => e,
        }
    }

    /// The same error, known not to have applied anything (e.g. the read step
    /// of a read-modify-write, before any write was sent).
    pub fn not_applied(self, context: &str) -> CallError {
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
pub struct Kv {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub value: String,
    #[serde(default, deserialize_with = "int64")]
    pub mod_revision: i64,
}

#[derive(Debug, Default, Deserialize)]
pub struct RangeResponse {
    #[serde(default)]
    pub kvs: Vec<Kv>,
}

/// The header every answer carries.
#[derive(Debug, Default, Deserialize)]
pub struct Header {
    /// The store's revision when the request was applied: for a put, the revision
    /// the put created.
    #[serde(default, deserialize_with = "int64")]
    pub revision: i64,
}

#[derive(Debug, Default, Deserialize)]
pub struct PutResponse {
    #[serde(default)]
    pub header: Option<Header>,
}

#[derive(Debug, Default, Deserialize)]
pub struct TxnResponse {
    /// Omitted by the gateway when false.
    #[serde(default)]
    pub succeeded: bool,
    #[serde(default)]
    pub responses: Vec<ResponseOp>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ResponseOp {
    #[serde(default)]
    pub response_range: Option<RangeResponse>,
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

pub fn b64(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

/// Base64 back to bytes; etcd never sends anything else, so this is an unreadable answer.
pub fn unb64(text: &str) -> Result<Vec<u8>, CallError> {
    BASE64
        .decode(text)
        .map_err(|e| CallError::Ambiguous(format!("etcd returned invalid base64: {e}")))
}

/// The stored form of a value: its JSON text.
pub fn encode_value(v: &Value) -> String {
    b64(serde_json::to_string(v)
        .expect("a Value always serializes")
        .as_bytes())
}

/// A stored value back; text that is not JSON (written by someone else) comes back as a string.
pub fn decode_value(stored: &str) -> Result<Value, CallError> {
    let bytes = unb64(stored)?;
    Ok(serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::from(String::from_utf8_lossy(&bytes).into_owned())))
}

/// What a client answers to a function its workload does not have.
pub fn unknown_function(workload: &str, f: &str) -> CallError {
    CallError::Rejected(format!("the {workload} workload has no function `{f}`"))
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
        let put: PutResponse =
            serde_json::from_str(r#"{"header":{"cluster_id":"1","revision":"42"}}"#).unwrap();
        assert_eq!(put.header.unwrap().revision, 42);
    }

    #[test]
    fn read_consistency_parses() {
        assert_eq!(
            "serializable".parse::<ReadConsistency>().unwrap(),
            ReadConsistency::Serializable
        );
        assert_eq!(
            "strong".parse::<ReadConsistency>().unwrap_err(),
            "unknown read consistency `strong`; expected linearizable or serializable"
        );
    }
}
