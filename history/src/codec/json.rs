//! Deserializing one JSON op object with serde_json, numbers read exactly.
//!
//! serde_json (without its workspace-wide `arbitrary_precision` feature)
//! hands a visitor an `f64` for every number with a fraction or exponent and
//! for integers beyond `u64`, so `1.00000000000000000001` would arrive as
//! `1.0`. The seeds here count the numbers they are given; when a number
//! arrives as an `f64`, they look up its text in the line (scanned once, only
//! then) and read it with the rule of `number.rs`. A line serde_json refuses
//! because a number is beyond `f64`'s range is read again with every number
//! replaced by `0`, each value then taken from its original text.
//!
//! Serde is implemented by hand (not derived) because `#[serde(flatten)]`
//! for `extra` is several times slower and its errors cannot name the field
//! that is wrong.

use std::borrow::Cow;
use std::cell::{Cell, OnceCell};
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::fields::{Atom, Notation, OpBuilder};
use crate::{Op, Value, number};

/// The numbers of one JSON line, for exact reading (see the module doc).
pub(crate) struct Numbers<'l> {
    line: &'l str,
    /// Numbers visited so far: the next one's index.
    seen: Cell<usize>,
    tokens: OnceCell<Vec<(usize, usize)>>,
    /// Every number's value comes from its text (the line being parsed is
    /// [`placeholders`](Self::placeholders)).
    every: bool,
}

impl<'l> Numbers<'l> {
    pub(crate) fn new(line: &'l str) -> Numbers<'l> {
        Numbers {
            line,
            seen: Cell::new(0),
            tokens: OnceCell::new(),
            every: false,
        }
    }

    /// The line with every number replaced by `0`, and the numbers to read
    /// its values from.
    pub(crate) fn placeholders(line: &'l str) -> (String, Numbers<'l>) {
        let numbers = Numbers {
            every: true,
            ..Numbers::new(line)
        };
        let mut out = String::with_capacity(line.len());
        let mut at = 0;
        for &(start, end) in numbers.tokens() {
            out.push_str(&line[at..start]);
            out.push('0');
            at = end;
        }
        out.push_str(&line[at..]);
        (out, numbers)
    }

    /// Where the numbers are: outside strings, from `-` or a digit to the
    /// end of the number characters. The line is valid JSON (serde_json
    /// read it), so this is all it takes.
    fn tokens(&self) -> &[(usize, usize)] {
        self.tokens.get_or_init(|| {
            let b = self.line.as_bytes();
            let mut out = Vec::new();
            let mut i = 0;
            while i < b.len() {
                match b[i] {
                    b'"' => {
                        i += 1;
                        while i < b.len() && b[i] != b'"' {
                            i += if b[i] == b'\\' { 2 } else { 1 };
                        }
                        i += 1;
                    }
                    b'-' | b'0'..=b'9' => {
                        let start = i;
                        while i < b.len()
                            && matches!(b[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                        {
                            i += 1;
                        }
                        out.push((start, i));
                    }
                    _ => i += 1,
                }
            }
            out
        })
    }

    fn next(&self) -> usize {
        let i = self.seen.get();
        self.seen.set(i + 1);
        i
    }

    /// The value of the next number, from its text.
    fn exact(&self) -> Result<Value, String> {
        let i = self.next();
        let &(start, end) = self
            .tokens()
            .get(i)
            .ok_or_else(|| format!("cannot find number {} of the line in its text", i + 1))?;
        let text = &self.line[start..end];
        number::any(text).unwrap_or_else(|| Err(format!("expected a number, found {text}")))
    }

    /// An integer serde_json gave exactly as `v`, unless the line's numbers
    /// are placeholders: then from its text.
    fn integer(&self, v: Value) -> Result<Value, String> {
        if self.every {
            return self.exact();
        }
        self.next();
        Ok(v)
    }
}

/// What every seed carries: the line's numbers (none outside the JSON Lines
/// reader, where floats are taken as serde_json gives them) and the depth limit.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'n> {
    numbers: Option<&'n Numbers<'n>>,
    max_depth: usize,
}

impl<'n> Ctx<'n> {
    pub(crate) fn new(numbers: Option<&'n Numbers<'n>>, max_depth: usize) -> Ctx<'n> {
        Ctx { numbers, max_depth }
    }

    fn integer<E: de::Error>(self, v: Value) -> Result<Value, E> {
        match self.numbers {
            Some(n) => n.integer(v).map_err(E::custom),
            None => Ok(v),
        }
    }

    fn float<E: de::Error>(self, x: f64) -> Result<Value, E> {
        match self.numbers {
            Some(n) => n.exact().map_err(E::custom),
            None => Ok(Value::Float(x)),
        }
    }
}

/// Deserializes an op whose index, when the source has none, is `position`.
pub(crate) struct OpSeed<'n> {
    pub(crate) position: u64,
    pub(crate) ctx: Ctx<'n>,
}

impl<'de> DeserializeSeed<'de> for OpSeed<'_> {
    type Value = Op;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Op, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for OpSeed<'_> {
    type Value = Op;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(r#"an op object such as {"process":0,"type":"invoke","f":"read","value":null}"#)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Op, A::Error> {
        let mut op = OpBuilder::default();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let atom = map.next_value_seed(AtomSeed(self.ctx))?;
            op.set(Notation::Json, &key.0, atom)
                .map_err(de::Error::custom)?;
        }
        op.finish(Notation::Json, self.position)
            .map(|(op, _)| op)
            .map_err(de::Error::custom)
    }
}

/// A JSON object key, borrowed from the input when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A field value: strings and integers stay unboxed until the field is known.
struct AtomSeed<'n>(Ctx<'n>);

impl<'de> DeserializeSeed<'de> for AtomSeed<'_> {
    type Value = Atom<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Atom<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for AtomSeed<'_> {
    type Value = Atom<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Atom::Str(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Atom::Str(Cow::Owned(s.to_owned())))
    }
    fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
        Ok(Atom::Str(Cow::Owned(s)))
    }
    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Self::Value, E> {
        self.0.integer(Value::Int(i)).map(int_atom)
    }
    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Self::Value, E> {
        self.0.integer(Value::integer(u)).map(int_atom)
    }
    fn visit_f64<E: de::Error>(self, x: f64) -> Result<Self::Value, E> {
        self.0.float(x).map(int_atom)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
        Ok(Atom::Value(Value::Bool(b)))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Atom::Value(Value::Nil))
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Atom::Value(Value::Nil))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        ValueSeed::top(self.0).visit_seq(seq).map(Atom::Value)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        ValueSeed::top(self.0).visit_map(map).map(Atom::Value)
    }
}

fn int_atom<'a>(v: Value) -> Atom<'a> {
    match v {
        Value::Int(i) => Atom::Int(i),
        v => Atom::Value(v),
    }
}

/// Any JSON value, `depth` collections deep in a field's value (or in a
/// [`Value`] deserialized on its own).
#[derive(Clone, Copy)]
pub(crate) struct ValueSeed<'n> {
    ctx: Ctx<'n>,
    depth: usize,
}

impl<'n> ValueSeed<'n> {
    pub(crate) fn top(ctx: Ctx<'n>) -> ValueSeed<'n> {
        ValueSeed { ctx, depth: 0 }
    }

    /// The seed for the elements of a collection at this depth.
    fn inner<E: de::Error>(self) -> Result<ValueSeed<'n>, E> {
        if self.depth >= self.ctx.max_depth {
            return Err(E::custom(format!(
                "expected values nested at most {} deep",
                self.ctx.max_depth
            )));
        }
        Ok(ValueSeed {
            depth: self.depth + 1,
            ..self
        })
    }
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Value, E> {
        self.ctx.integer(Value::Int(i))
    }
    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Value, E> {
        self.ctx.integer(Value::integer(u))
    }
    // serde_json never gives these; other deserializers of `Value` may.
    fn visit_i128<E: de::Error>(self, i: i128) -> Result<Value, E> {
        self.ctx.integer(Value::integer(i))
    }
    fn visit_u128<E: de::Error>(self, u: u128) -> Result<Value, E> {
        self.ctx.integer(Value::integer(u))
    }
    fn visit_f64<E: de::Error>(self, x: f64) -> Result<Value, E> {
        self.ctx.float(x)
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::Str(s.into()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::Str(s.into_boxed_str()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.inner()?;
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element_seed(inner)? {
            out.push(v);
        }
        Ok(Value::List(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let inner = self.inner()?;
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(k) = map.next_key::<String>()? {
            let v = map.next_value_seed(inner)?;
            out.push((Value::Str(k.into_boxed_str()), v));
        }
        Ok(Value::Map(out))
    }
}
