//! [`Op`]: one line of a history.
//!
//! Every operation appears twice: once when a process *invokes* it and once when
//! it *completes* as `ok` (it happened), `fail` (it certainly did not happen) or
//! `info` (unknown: it may have happened, at any time after the invocation, or
//! never). A process that got `info` is never used again.

use std::fmt;

use serde::de::{self, DeserializeSeed};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Value;
use crate::codec::DEFAULT_MAX_DEPTH;
use crate::codec::json::{Ctx, OpSeed};

/// The kind of history entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpType {
    /// A process started the operation.
    Invoke,
    /// The operation took effect, and `value` holds its result.
    Ok,
    /// The operation certainly did not take effect.
    Fail,
    /// Indeterminate: the operation may or may not have taken effect.
    Info,
}

impl OpType {
    pub fn as_str(self) -> &'static str {
        match self {
            OpType::Invoke => "invoke",
            OpType::Ok => "ok",
            OpType::Fail => "fail",
            OpType::Info => "info",
        }
    }

    pub fn parse(s: &str) -> Option<OpType> {
        match s {
            "invoke" => Some(OpType::Invoke),
            "ok" => Some(OpType::Ok),
            "fail" => Some(OpType::Fail),
            "info" => Some(OpType::Info),
            _ => None,
        }
    }

    pub fn is_completion(self) -> bool {
        self != OpType::Invoke
    }
}

impl fmt::Display for OpType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who performed an operation: a numbered client process, or the nemesis.
///
/// Serialized as a JSON integer for clients and `"nemesis"` for the nemesis, as
/// Jepsen writes `3` and `:nemesis`. No other name is accepted: a process
/// written as `"1"` or `:worker` would otherwise be left out of every check
/// without a word, so readers refuse it, naming the line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Process {
    Client(u64),
    Nemesis,
}

impl Process {
    pub fn is_client(&self) -> bool {
        matches!(self, Process::Client(_))
    }

    /// The process a name stands for: `nemesis`, or none.
    pub fn from_name(name: &str) -> Option<Process> {
        (name == "nemesis").then_some(Process::Nemesis)
    }
}

impl fmt::Display for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Process::Client(n) => write!(f, "{n}"),
            Process::Nemesis => f.write_str("nemesis"),
        }
    }
}

impl Serialize for Process {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Process::Client(n) => s.serialize_u64(*n),
            Process::Nemesis => s.serialize_str("nemesis"),
        }
    }
}

impl<'de> Deserialize<'de> for Process {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Process, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(u64),
            Name(String),
        }
        match Raw::deserialize(d).map_err(|_| {
            de::Error::custom("expected a process: a non-negative integer or \"nemesis\"")
        })? {
            Raw::Num(n) => Ok(Process::Client(n)),
            Raw::Name(s) => Process::from_name(&s).ok_or_else(|| {
                de::Error::custom(format!(
                    "process {s:?} is a string: a client process is an integer; only \"nemesis\" may be named"
                ))
            }),
        }
    }
}

/// One history entry. Field names follow Jepsen; `type` is `kind` in Rust.
///
/// The JSON Lines form is one object per line:
/// `{"index":0,"time":1200,"process":3,"type":"invoke","f":"cas","value":[1,2]}`.
/// Optional fields (`time`, `key`, `node`, `error`) are left out when absent;
/// `extra` fields follow as ordinary members.
#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    /// Position in the history, from 0. Codecs assign it when the source has none.
    pub index: u64,
    /// Nanoseconds since the test started (monotonic), when known.
    pub time: Option<i64>,
    pub process: Process,
    /// `type` in Jepsen and in JSON.
    pub kind: OpType,
    /// The function: `read`, `write`, `cas`, `add`, `start-partition`, ...
    pub f: Box<str>,
    pub value: Value,
    /// The key of a multi-key (independent) history.
    pub key: Option<Value>,
    /// The node the client talked to, or the nodes a fault touched.
    pub node: Option<Value>,
    pub error: Option<Value>,
    /// Any other fields of the source, kept so that nothing is lost on import.
    pub extra: Vec<(Box<str>, Value)>,
}

impl Op {
    /// A new op with the given basics and no optional fields.
    pub fn new(process: Process, kind: OpType, f: &str, value: Value) -> Op {
        Op {
            index: 0,
            time: None,
            process,
            kind,
            f: f.into(),
            value,
            key: None,
            node: None,
            error: None,
            extra: Vec::new(),
        }
    }

    pub fn is_invoke(&self) -> bool {
        self.kind == OpType::Invoke
    }

    pub fn is_client(&self) -> bool {
        self.process.is_client()
    }
}

impl fmt::Display for Op {
    /// Jepsen's log-line form: `3\t:invoke\t:cas\t[1 2]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\t:{}\t:{}\t", self.process, self.kind, self.f)?;
        if let Some(k) = &self.key {
            write!(f, "[{k} {}]", self.value)?;
        } else {
            write!(f, "{}", self.value)?;
        }
        if let Some(e) = &self.error {
            write!(f, "\t{e}")?;
        }
        Ok(())
    }
}

impl Serialize for Op {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let len = 5
            + usize::from(self.time.is_some())
            + usize::from(self.key.is_some())
            + usize::from(self.node.is_some())
            + usize::from(self.error.is_some())
            + self.extra.len();
        let mut map = s.serialize_map(Some(len))?;
        map.serialize_entry("index", &self.index)?;
        if let Some(t) = &self.time {
            map.serialize_entry("time", t)?;
        }
        map.serialize_entry("process", &self.process)?;
        map.serialize_entry("type", &self.kind)?;
        map.serialize_entry("f", &*self.f)?;
        map.serialize_entry("value", &self.value)?;
        for (name, field) in [
            ("key", &self.key),
            ("node", &self.node),
            ("error", &self.error),
        ] {
            if let Some(v) = field {
                map.serialize_entry(name, v)?;
            }
        }
        for (k, v) in &self.extra {
            map.serialize_entry(&**k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Op {
    /// Numbers arrive as the deserializer gives them (an `f64` may have lost
    /// digits); the JSON Lines reader reads them exactly (see `codec::json`).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Op, D::Error> {
        OpSeed {
            position: 0,
            ctx: Ctx::new(None, DEFAULT_MAX_DEPTH),
        }
        .deserialize(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_form() {
        let line = r#"{"index":4,"time":1200,"process":3,"type":"invoke","f":"cas","value":[1,2]}"#;
        let op: Op = serde_json::from_str(line).unwrap();
        assert_eq!(op.process, Process::Client(3));
        assert_eq!(op.kind, OpType::Invoke);
        assert_eq!(op.value, Value::from(vec![1i64, 2]));
        assert_eq!(serde_json::to_string(&op).unwrap(), line);
    }

    #[test]
    fn unknown_fields_survive() {
        let line = r#"{"index":0,"process":"nemesis","type":"info","f":"start","value":null,"debug":{"x":1}}"#;
        let op: Op = serde_json::from_str(line).unwrap();
        assert_eq!(op.process, Process::Nemesis);
        assert_eq!(op.extra.len(), 1);
        assert_eq!(serde_json::to_string(&op).unwrap(), line);
    }
}
