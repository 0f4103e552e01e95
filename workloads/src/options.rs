//! A client's own `options:` block, as written, and how a client reads it into its
//! own typed options.
//!
//! The test definition is read before anyone knows which client it names, so its
//! `options:` block is kept as a tree of [`Node`]s, each with where it was written
//! ([`Location`]). A client reads it with [`Options::parse`] into any
//! `Deserialize` type of its own (`#[serde(deny_unknown_fields, rename_all =
//! "kebab-case")]`, checks in `deserialize_with`): serde's own messages ("unknown
//! field `x`, expected one of …") come out with the line and column of the key or
//! value they are about. The tree serializes back as written, so a stored
//! `test.yaml` round-trips.

use std::fmt;

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// A line and a column, both from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub line: u64,
    pub column: u64,
}

/// A value and where it was written (`None` for a value made in code). Equal when
/// the values are, wherever they were written.
#[derive(Debug, Clone)]
pub struct Spot<T> {
    pub value: T,
    pub at: Option<Location>,
}

impl<T: PartialEq> PartialEq for Spot<T> {
    fn eq(&self, other: &Spot<T>) -> bool {
        self.value == other.value
    }
}

impl<T> Spot<T> {
    pub fn new(value: T, at: Option<Location>) -> Spot<T> {
        Spot { value, at }
    }

    /// A value made in code, written nowhere.
    pub fn bare(value: T) -> Spot<T> {
        Spot { value, at: None }
    }
}

/// One value of an options block: YAML's data model, as far as options need it.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    List(Vec<Spot<Node>>),
    Map(Vec<(Spot<String>, Spot<Node>)>),
}

/// A client's `options:` block: names and values, in the order written. Equal when
/// the names and values are, in the same order, wherever they were written.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Where the block was written (its first key, for the shorthand that writes
    /// options next to `type:`).
    pub at: Option<Location>,
    entries: Vec<(Spot<String>, Spot<Node>)>,
}

impl PartialEq for Options {
    fn eq(&self, other: &Options) -> bool {
        self.entries == other.entries
    }
}

impl Options {
    pub fn new(at: Option<Location>) -> Options {
        Options {
            at,
            entries: Vec::new(),
        }
    }

    /// Adds `name: value`; a name given twice is an error at its second place.
    pub fn insert(&mut self, name: Spot<String>, value: Spot<Node>) -> Result<(), OptionsError> {
        if self.get(&name.value).is_some() {
            return Err(OptionsError {
                message: format!("option `{}` given twice", name.value),
                at: name.at,
            });
        }
        self.entries.push((name, value));
        Ok(())
    }

    /// Sets `name: value` in code (replacing any value it had).
    pub fn set(&mut self, name: &str, value: Node) {
        match self.entries.iter_mut().find(|(k, _)| k.value == name) {
            Some((_, v)) => *v = Spot::bare(value),
            None => self
                .entries
                .push((Spot::bare(name.to_owned()), Spot::bare(value))),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.value == name)
            .map(|(_, v)| &v.value)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The names, in the order written.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.value.as_str())
    }

    /// Reads the block into a client's own options type.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, OptionsError> {
        T::deserialize(MapDe {
            entries: &self.entries,
            at: self.at,
        })
    }
}

/// Why an options block does not fit a client, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionsError {
    pub message: String,
    pub at: Option<Location>,
}

impl OptionsError {
    fn located(mut self, at: Option<Location>) -> OptionsError {
        if self.at.is_none() {
            self.at = at;
        }
        self
    }
}

impl fmt::Display for OptionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            Some(l) => write!(f, "line {} column {}: {}", l.line, l.column, self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for OptionsError {}

impl de::Error for OptionsError {
    fn custom<T: fmt::Display>(msg: T) -> OptionsError {
        OptionsError {
            message: msg.to_string(),
            at: None,
        }
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Null => s.serialize_unit(),
            Node::Bool(b) => s.serialize_bool(*b),
            Node::Int(n) => s.serialize_i64(*n),
            Node::UInt(n) => s.serialize_u64(*n),
            Node::Float(x) => s.serialize_f64(*x),
            Node::Str(t) => s.serialize_str(t),
            Node::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&item.value)?;
                }
                seq.end()
            }
            Node::Map(entries) => serialize_entries(entries, s),
        }
    }
}

impl Serialize for Options {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_entries(&self.entries, s)
    }
}

fn serialize_entries<S: Serializer>(
    entries: &[(Spot<String>, Spot<Node>)],
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(entries.len()))?;
    for (k, v) in entries {
        map.serialize_entry(&k.value, &v.value)?;
    }
    map.end()
}

/// A node as a serde deserializer; errors without a place get the node's.
struct NodeDe<'a>(&'a Spot<Node>);

impl<'de> de::Deserializer<'de> for NodeDe<'_> {
    type Error = OptionsError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, OptionsError> {
        let at = self.0.at;
        match &self.0.value {
            Node::Null => visitor.visit_unit(),
            Node::Bool(b) => visitor.visit_bool(*b),
            Node::Int(n) => visitor.visit_i64(*n),
            Node::UInt(n) => visitor.visit_u64(*n),
            Node::Float(x) => visitor.visit_f64(*x),
            Node::Str(t) => visitor.visit_str(t),
            Node::List(items) => visitor.visit_seq(SeqDe {
                items: items.iter(),
            }),
            Node::Map(entries) => visitor.visit_map(MapDe { entries, at }.access()),
        }
        .map_err(|e| e.located(at))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, OptionsError> {
        let at = self.0.at;
        match self.0.value {
            Node::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
        .map_err(|e| e.located(at))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, OptionsError> {
        let at = self.0.at;
        visitor
            .visit_newtype_struct(self)
            .map_err(|e| e.located(at))
    }

    /// Unit variants, written as their name (`read-consistency: serializable`).
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, OptionsError> {
        let at = self.0.at;
        match &self.0.value {
            Node::Str(t) => visitor.visit_enum(t.as_str().into_deserializer()),
            _ => self.deserialize_any(visitor),
        }
        .map_err(|e| e.located(at))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}

/// An option's name as a serde deserializer; errors (an unknown field) get its place.
struct KeyDe<'a>(&'a Spot<String>);

impl<'de> de::Deserializer<'de> for KeyDe<'_> {
    type Error = OptionsError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, OptionsError> {
        visitor
            .visit_str(&self.0.value)
            .map_err(|e: OptionsError| e.located(self.0.at))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

struct SeqDe<'a> {
    items: std::slice::Iter<'a, Spot<Node>>,
}

impl<'de> de::SeqAccess<'de> for SeqDe<'_> {
    type Error = OptionsError;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, OptionsError> {
        match self.items.next() {
            Some(item) => seed
                .deserialize(NodeDe(item))
                .map(Some)
                .map_err(|e| e.located(item.at)),
            None => Ok(None),
        }
    }
}

/// A mapping (the block itself, or a map inside it); errors about the whole
/// mapping (a missing field) get the mapping's place.
struct MapDe<'a> {
    entries: &'a [(Spot<String>, Spot<Node>)],
    at: Option<Location>,
}

impl<'a> MapDe<'a> {
    fn access(self) -> MapAccess<'a> {
        MapAccess {
            entries: self.entries.iter(),
            value: None,
        }
    }
}

impl<'de> de::Deserializer<'de> for MapDe<'_> {
    type Error = OptionsError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, OptionsError> {
        let at = self.at;
        visitor.visit_map(self.access()).map_err(|e| e.located(at))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

struct MapAccess<'a> {
    entries: std::slice::Iter<'a, (Spot<String>, Spot<Node>)>,
    value: Option<&'a Spot<Node>>,
}

impl<'de> de::MapAccess<'de> for MapAccess<'_> {
    type Error = OptionsError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, OptionsError> {
        match self.entries.next() {
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(KeyDe(k))
                    .map(Some)
                    .map_err(|e| e.located(k.at))
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, OptionsError> {
        match self.value.take() {
            // Here too, not only in `NodeDe`: a check in `deserialize_with` fails after
            // the node was read.
            Some(v) => seed.deserialize(NodeDe(v)).map_err(|e| e.located(v.at)),
            None => Err(de::Error::custom(
                "an option's value was asked before its name",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    fn at(line: u64, column: u64) -> Option<Location> {
        Some(Location { line, column })
    }

    fn options(entries: Vec<(&str, Node, u64)>) -> Options {
        let mut o = Options::new(at(1, 10));
        for (k, v, line) in entries {
            o.insert(Spot::new(k.into(), at(line, 3)), Spot::new(v, at(line, 8)))
                .unwrap();
        }
        o
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, rename_all = "kebab-case")]
    struct Opts {
        #[serde(default)]
        mode: Option<Mode>,
        #[serde(default, deserialize_with = "positive")]
        weight: Option<f64>,
        #[serde(default)]
        names: Vec<String>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Mode {
        Fast,
        Safe,
    }

    fn positive<'de, D: de::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        let w = Option::<f64>::deserialize(d)?;
        if w.is_some_and(|w| w.is_nan() || w <= 0.0) {
            return Err(de::Error::custom(format!(
                "weight: a positive number, got {}",
                w.unwrap_or_default()
            )));
        }
        Ok(w)
    }

    #[test]
    fn reads_a_clients_own_type() {
        let o = options(vec![
            ("mode", Node::Str("safe".into()), 2),
            ("weight", Node::Int(2), 3),
            (
                "names",
                Node::List(vec![Spot::bare(Node::Str("a".into()))]),
                4,
            ),
        ]);
        assert_eq!(
            o.parse::<Opts>().unwrap(),
            Opts {
                mode: Some(Mode::Safe),
                weight: Some(2.0),
                names: vec!["a".into()]
            }
        );
        assert_eq!(
            Options::default().parse::<Opts>().unwrap().mode,
            None,
            "every option has a default"
        );
    }

    #[test]
    fn errors_name_the_place_of_the_key_or_value() {
        let e = options(vec![("mdoe", Node::Str("safe".into()), 2)])
            .parse::<Opts>()
            .unwrap_err();
        assert_eq!(e.at, at(2, 3));
        assert!(
            e.message.contains("unknown field `mdoe`") && e.message.contains("`mode`"),
            "{e}"
        );
        let e = options(vec![("mode", Node::Str("slow".into()), 3)])
            .parse::<Opts>()
            .unwrap_err();
        assert_eq!(e.at, at(3, 8));
        assert!(e.message.contains("unknown variant `slow`"), "{e}");
        let e = options(vec![("weight", Node::Float(f64::NAN), 4)])
            .parse::<Opts>()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 4 column 8: weight: a positive number, got NaN"
        );
        let e = options(vec![("names", Node::Bool(true), 5)])
            .parse::<Opts>()
            .unwrap_err();
        assert_eq!(e.at, at(5, 8));
    }

    #[test]
    fn a_name_given_twice_is_an_error_at_the_second() {
        let mut o = options(vec![("mode", Node::Str("safe".into()), 2)]);
        let e = o
            .insert(Spot::new("mode".into(), at(7, 3)), Spot::bare(Node::Null))
            .unwrap_err();
        assert_eq!(e.to_string(), "line 7 column 3: option `mode` given twice");
        o.set("mode", Node::Str("fast".into()));
        assert_eq!(o.parse::<Opts>().unwrap().mode, Some(Mode::Fast));
        assert_eq!(o.names().collect::<Vec<_>>(), ["mode"]);
    }
}
