//! [`Value`]: the dynamically typed payload of an operation.
//!
//! Jepsen ops carry arbitrary EDN (`nil`, numbers, keywords, vectors, maps);
//! splitbrain's native JSON Lines carries arbitrary JSON. `Value` is the small
//! common ground of both. Keywords become strings without their colon
//! (`:read` → `"read"`), lists, vectors and sets become [`Value::List`].
//! Floats hash and compare by their bits so values can key hash maps.
//!
//! Numbers compare exactly as written, in every codec: integers beyond 64
//! bits are [`Value::BigInt`], and numbers a float cannot hold exactly (and
//! EDN's `M` decimals) are [`Value::Decimal`], both as canonical text (see
//! `number.rs`). JSON has no decimals: a `Decimal` is written as its exact
//! number text, which reads back as a `Float` when a float holds it exactly.

use std::fmt;
use std::hash::{Hash, Hasher};

use serde::de::DeserializeSeed;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::codec::json::{Ctx, ValueSeed};

/// An operation's value, error or key.
#[derive(Debug, Clone, Default)]
pub enum Value {
    /// EDN `nil`, JSON `null`: "no value", e.g. the value of a read invocation.
    #[default]
    Nil,
    Bool(bool),
    Int(i64),
    /// An integer that does not fit in an `i64`, as canonical decimal text
    /// (`-` for negatives, no `+`, no leading zeros). Never holds a number
    /// that fits an `i64`: that is an [`Int`](Value::Int), so equal numbers
    /// are equal values.
    BigInt(Box<str>),
    Float(f64),
    /// An exact decimal: EDN `1.5M`, or a number with more digits than an
    /// `f64` keeps (`1.00000000000000000001`). Canonical text: no `+`, no
    /// leading or trailing zeros, `E` notation only beyond 20 padding zeros
    /// (`1.5`, `1000`, `1E30`).
    Decimal(Box<str>),
    /// A string or an EDN keyword (stored without its leading colon).
    Str(Box<str>),
    /// EDN vectors, lists and sets; JSON arrays.
    List(Vec<Value>),
    /// EDN and JSON maps, in the order they were written.
    Map(Vec<(Value, Value)>),
}

impl Value {
    pub fn str(s: impl Into<Box<str>>) -> Value {
        Value::Str(s.into())
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// An integer of any width: [`Int`](Value::Int) when it fits in an
    /// `i64`, else [`BigInt`](Value::BigInt).
    pub(crate) fn integer<T: Copy + TryInto<i64> + ToString>(n: T) -> Value {
        n.try_into()
            .map_or_else(|_| Value::BigInt(n.to_string().into()), Value::Int)
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// Looks up a key in a map value (string keys only: keywords are strings).
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// A short name of the variant, for error messages ("expected an integer, found a map").
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::BigInt(_) => "a big integer",
            Value::Float(_) => "a float",
            Value::Decimal(_) => "a decimal",
            Value::Str(_) => "a string",
            Value::List(_) => "a list",
            Value::Map(_) => "a map",
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::BigInt(a), Value::BigInt(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits(),
            (Value::Decimal(a), Value::Decimal(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::List(a), Value::List(b)) => a == b,
            (Value::Map(a), Value::Map(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Value {}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        match self {
            Value::Nil => {}
            Value::Bool(b) => b.hash(state),
            Value::Int(i) => i.hash(state),
            Value::BigInt(s) | Value::Decimal(s) => s.hash(state),
            Value::Float(f) => f.to_bits().hash(state),
            Value::Str(s) => s.hash(state),
            Value::List(l) => l.hash(state),
            Value::Map(m) => m.hash(state),
        }
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.into())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s.into())
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Value {
        Value::List(v.into_iter().map(Into::into).collect())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Nil, Into::into)
    }
}

/// Renders in EDN-like notation, as Jepsen users read values: `nil`, `3`,
/// `[1 2]`, `{"x" 1}`, `1.5M` for a decimal (big integers need no `N`: EDN
/// reads an integer beyond 64 bits as one).
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => f.write_str("nil"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::BigInt(s) => f.write_str(s),
            Value::Float(x) => write!(f, "{x}"),
            Value::Decimal(s) => write!(f, "{s}M"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::List(l) => {
                f.write_str("[")?;
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Map(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k} {v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Nil => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::BigInt(text) => {
                // 128-bit integers every serializer understands; beyond, the
                // exact digits as a raw JSON number.
                if let Ok(i) = text.parse::<i128>() {
                    s.serialize_i128(i)
                } else if let Ok(u) = text.parse::<u128>() {
                    s.serialize_u128(u)
                } else {
                    raw_number(text, s)
                }
            }
            Value::Float(x) => s.serialize_f64(*x),
            Value::Decimal(text) => raw_number(text, s),
            Value::Str(v) => s.serialize_str(v),
            Value::List(l) => {
                let mut seq = s.serialize_seq(Some(l.len()))?;
                for v in l {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Value::Map(m) => {
                // JSON object keys must be strings; other keys are written as their EDN text.
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, v) in m {
                    match k {
                        Value::Str(key) => map.serialize_entry(&**key, v)?,
                        other => map.serialize_entry(&other.to_string(), v)?,
                    }
                }
                map.end()
            }
        }
    }
}

/// A number as its exact text: JSON has no limit on digits, serde's data
/// model does.
fn raw_number<S: Serializer>(text: &str, s: S) -> Result<S::Ok, S::Error> {
    serde_json::value::RawValue::from_string(text.to_string())
        .map_err(serde::ser::Error::custom)?
        .serialize(s)
}

impl<'de> Deserialize<'de> for Value {
    /// Numbers arrive as the deserializer gives them (an `f64` may have lost
    /// digits; the JSON Lines reader reads them exactly); no depth limit
    /// beyond the deserializer's own (serde_json's is 128).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        ValueSeed::top(Ctx::new(None, usize::MAX)).deserialize(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip() {
        let text = r#"[null,true,3,-2.5,"x",[1,[2]],{"a":1}]"#;
        let v: Value = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_string(&v).unwrap(), text);
    }

    #[test]
    fn display_is_edn_like() {
        let v = Value::from(vec![Value::Int(1), Value::Nil, Value::str("x")]);
        assert_eq!(v.to_string(), r#"[1 nil "x"]"#);
    }
}
