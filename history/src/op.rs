//! [`Op`]: one line of a history.
//!
//! Every operation appears twice: once when a process *invokes* it and once when
//! it *completes* as `ok` (it happened), `fail` (it certainly did not happen) or
//! `info` (unknown: it may have happened, at any time after the invocation, or
//! never). A process that got `info` is never used again.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Value;

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
/// Jepsen writes `3` and `:nemesis`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Process {
    Client(u64),
    Nemesis,
    /// Any other named process (Jepsen allows arbitrary keywords); never checked.
    Named(Box<str>),
}

impl Process {
    pub fn is_client(&self) -> bool {
        matches!(self, Process::Client(_))
    }

    pub fn from_name(name: &str) -> Process {
        if name == "nemesis" {
            Process::Nemesis
        } else {
            Process::Named(name.into())
        }
    }
}

impl fmt::Display for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Process::Client(n) => write!(f, "{n}"),
            Process::Nemesis => f.write_str("nemesis"),
            Process::Named(s) => f.write_str(s),
        }
    }
}

impl Serialize for Process {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Process::Client(n) => s.serialize_u64(*n),
            Process::Nemesis => s.serialize_str("nemesis"),
            Process::Named(name) => s.serialize_str(name),
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
        Ok(match Raw::deserialize(d).map_err(|_| {
            serde::de::Error::custom("expected a process: a non-negative integer or \"nemesis\"")
        })? {
            Raw::Num(n) => Process::Client(n),
            Raw::Name(s) => Process::from_name(&s),
        })
    }
}

/// One history entry. Field names follow Jepsen; `type` is `kind` in Rust.
///
/// The JSON Lines form is one object per line:
/// `{"index":0,"time":1200,"process":3,"type":"invoke","f":"cas","value":[1,2]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Op {
    /// Position in the history, from 0. Codecs assign it when the source has none.
    #[serde(default)]
    pub index: u64,
    /// Nanoseconds since the test started (monotonic), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<i64>,
    pub process: Process,
    #[serde(rename = "type")]
    pub kind: OpType,
    /// The function: `read`, `write`, `cas`, `add`, `start-partition`, ...
    pub f: Box<str>,
    #[serde(default)]
    pub value: Value,
    /// The key of a multi-key (independent) history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Value>,
    /// The node the client talked to, or the nodes a fault touched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
    /// Any other fields of the source, kept so that nothing is lost on import.
    #[serde(flatten, default, skip_serializing_if = "Vec::is_empty", with = "extra")]
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
    /// Jepsen's log-line form: `3	:invoke	:cas	[1 2]`.
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

/// Serde glue for `Op::extra`: a flattened map of unknown fields.
mod extra {
    use super::Value;
    use serde::de::{MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserializer, Serializer};
    use std::fmt;

    pub fn serialize<S: Serializer>(v: &[(Box<str>, Value)], s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(v.len()))?;
        for (k, v) in v {
            map.serialize_entry(&**k, v)?;
        }
        map.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(Box<str>, Value)>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Vec<(Box<str>, Value)>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, Value>()? {
                    out.push((k.into_boxed_str(), v));
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
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
