//! The JSON-lines client protocol, in one place: every message splitbrain and a client
//! program exchange (docs/client-protocol.md), one JSON object per line.
//!
//! ```text
//! splitbrain → client   {"type":"open","process":3,"node":{...},"nodes":[...],"options":{...},"test":{...}}
//! client → splitbrain   {"type":"open_ok"} | {"type":"error","error":...}
//! splitbrain → client   {"type":"setup"} | {"type":"teardown"}      (on the dedicated client)
//! client → splitbrain   {"type":"setup_ok"} | {"type":"teardown_ok"} | {"type":"error","error":...}
//! splitbrain → client   {"type":"invoke","id":17,"f":"cas","value":[1,2],"key":4}
//! client → splitbrain   {"type":"ok","id":17,"value":...} | {"type":"fail","id":17,"error":...}
//!                       | {"type":"info","id":17,"error":...}
//! splitbrain → client   {"type":"close"}, then stdin is closed
//! ```
//!
//! Where the issue left room, decided here:
//! - `process` is `null` for the dedicated setup/teardown client (it runs no operation
//!   and has no process id in the history);
//! - `key` is absent for workloads without independent keys;
//! - an `ok` without `value` completes with the request's value (what a write's `ok`
//!   means); `"value": null` is nil;
//! - `error` may be any JSON value; absent is nil;
//! - unknown fields in a reply are ignored (room for extensions); empty lines are skipped;
//! - a line is at most [`MAX_LINE`] bytes, newline excluded.
//!
//! Values are the history's own [`Value`] with its JSON codec, so what a client answers
//! is what the history records.

use serde::{Deserialize, Deserializer, Serialize};
use splitbrain_history::Value;

/// The longest line a client program may write (1 MiB), newline excluded: anything
/// longer breaks the client, never the controller's memory.
pub const MAX_LINE: usize = 1 << 20;

/// A message from splitbrain to the client program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToClient {
    /// The first message of every OS process.
    Open(Open),
    /// Once per test, on the dedicated client, before the main phase.
    Setup,
    /// Once per test, on the dedicated client, after the final phase.
    Teardown,
    /// One operation; the reply carries its `id`.
    Invoke(Invoke),
    /// The last message; stdin is closed right after it.
    Close,
}

/// `{"type":"open", ...}`: who the program is and which node it serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Open {
    /// The splitbrain process id, as in the history; `null` for the dedicated
    /// setup/teardown client.
    pub process: Option<u64>,
    /// The node this client talks to (and only to it: never to an address the database
    /// redirects to).
    pub node: NodeInfo,
    /// Every node of the test, in order.
    pub nodes: Vec<NodeInfo>,
    /// The test definition's `client.options`, verbatim.
    pub options: serde_json::Map<String, serde_json::Value>,
    pub test: TestInfo,
}

/// A node as a client program sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// The node's name, e.g. `n1`.
    pub name: String,
    /// The address the database listens on, e.g. `10.77.0.1`.
    pub host: String,
    pub ports: Ports,
}

/// A node's ports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ports {
    /// The database's client port: the test's `client.port`, else the database
    /// definition's; absent when neither names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<u16>,
}

/// The test being run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestInfo {
    pub name: String,
    /// `register`, `set`, `counter`, `unique-ids`: the functions the program must know.
    pub workload: String,
}

/// `{"type":"invoke", ...}`: one operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invoke {
    /// Unique per OS process; the reply must carry it.
    pub id: u64,
    /// The function: `read`, `write`, `cas`, `add`, `generate`.
    pub f: String,
    /// The argument (`null` for reads, `[old, new]` for a cas).
    pub value: Value,
    /// The key, for workloads over independent keys (the register).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Value>,
}

/// A message from the client program: every reply has this one shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    #[serde(rename = "type")]
    pub kind: ReplyKind,
    /// The `id` of the invoke answered (`ok`, `fail`, `info`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// An `ok`'s completion value; absent means the request's value.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub value: Option<Value>,
    /// A `fail`'s, `info`'s or `error`'s error: any JSON.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub error: Option<Value>,
}

/// A reply's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyKind {
    OpenOk,
    /// `open`, `setup` or `teardown` did not work.
    Error,
    SetupOk,
    TeardownOk,
    /// The op took effect.
    Ok,
    /// The op certainly did not take effect.
    Fail,
    /// Unknown whether the op took effect.
    Info,
}

impl ReplyKind {
    /// As written on the wire.
    pub fn name(self) -> &'static str {
        match self {
            ReplyKind::OpenOk => "open_ok",
            ReplyKind::Error => "error",
            ReplyKind::SetupOk => "setup_ok",
            ReplyKind::TeardownOk => "teardown_ok",
            ReplyKind::Ok => "ok",
            ReplyKind::Fail => "fail",
            ReplyKind::Info => "info",
        }
    }
}

impl Reply {
    /// Reads one line (without its newline).
    pub fn parse(line: &[u8]) -> Result<Reply, serde_json::Error> {
        serde_json::from_slice(line)
    }
}

impl ToClient {
    /// The message as one line, newline included. (Only a value JSON cannot write, an
    /// exact decimal of an unusual shape, could fail: an error, never a panic.)
    pub fn to_line(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut line = serde_json::to_vec(self)?;
        line.push(b'\n');
        Ok(line)
    }
}

/// A field that is present, even as `null` (absent is `None`, through `default`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_written_as_the_protocol_says() {
        let open = ToClient::Open(Open {
            process: Some(3),
            node: NodeInfo {
                name: "n1".into(),
                host: "10.77.0.1".into(),
                ports: Ports { client: Some(2379) },
            },
            nodes: vec![],
            options: serde_json::from_str(r#"{"read-consistency":"serializable"}"#).unwrap(),
            test: TestInfo {
                name: "t".into(),
                workload: "register".into(),
            },
        });
        assert_eq!(
            String::from_utf8(open.to_line().unwrap()).unwrap(),
            "{\"type\":\"open\",\"process\":3,\"node\":{\"name\":\"n1\",\"host\":\"10.77.0.1\",\"ports\":{\"client\":2379}},\"nodes\":[],\"options\":{\"read-consistency\":\"serializable\"},\"test\":{\"name\":\"t\",\"workload\":\"register\"}}\n"
        );
        let invoke = ToClient::Invoke(Invoke {
            id: 17,
            f: "cas".into(),
            value: Value::from(vec![1i64, 2]),
            key: Some(Value::Int(4)),
        });
        assert_eq!(
            invoke.to_line().unwrap(),
            b"{\"type\":\"invoke\",\"id\":17,\"f\":\"cas\",\"value\":[1,2],\"key\":4}\n"
        );
        assert_eq!(
            ToClient::Close.to_line().unwrap(),
            b"{\"type\":\"close\"}\n"
        );
        assert_eq!(
            ToClient::Setup.to_line().unwrap(),
            b"{\"type\":\"setup\"}\n"
        );
        // Both directions read back: client-check and tests speak the same types.
        let back: ToClient = serde_json::from_slice(&invoke.to_line().unwrap()).unwrap();
        assert_eq!(back, invoke);
    }

    #[test]
    fn replies_read_absent_and_null_apart() {
        let r = Reply::parse(br#"{"type":"ok","id":17}"#).unwrap();
        assert_eq!((r.kind, r.id, r.value), (ReplyKind::Ok, Some(17), None));
        let r = Reply::parse(br#"{"type":"ok","id":1,"value":null,"extra":[1]}"#).unwrap();
        assert_eq!(r.value, Some(Value::Nil));
        let r = Reply::parse(br#"{"type":"fail","id":2,"error":{"code":3}}"#).unwrap();
        assert_eq!(r.error.unwrap().get("code"), Some(&Value::Int(3)));
        let e = Reply::parse(br#"{"type":"okay","id":1}"#).unwrap_err();
        assert!(e.to_string().contains("unknown variant `okay`"), "{e}");
        let e = Reply::parse(br#"{"id":1}"#).unwrap_err();
        assert!(e.to_string().contains("missing field `type`"), "{e}");
        assert!(Reply::parse(br#"{"type":"ok","id":-1}"#).is_err());
    }
}
