//! Turning the fields of one source record (an EDN map, a JSON object, a log
//! line) into an [`Op`], with the same checks and messages for every codec.

use std::borrow::Cow;

use crate::{Op, OpType, Process, Value};

/// How the source spells things, so messages quote the user's own notation:
/// `:type`/`:foo` for EDN and log lines, `"type"`/`"foo"` for JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Notation {
    Edn,
    Json,
}

impl Notation {
    /// A field name as written in the source: `:type` or `"type"`.
    pub(crate) fn key(self, k: &str) -> String {
        match self {
            Notation::Edn => format!(":{k}"),
            Notation::Json => format!("{k:?}"),
        }
    }

    /// A name-like value as written in the source: `:invoke` or `"invoke"`.
    fn name(self, k: &str) -> String {
        self.key(k)
    }
}

/// One field value, lightly typed so that the common fields (`:type :ok`,
/// `:process 3`, `:f :read`) are checked without allocating.
#[derive(Debug)]
pub(crate) enum Atom<'a> {
    Keyword(&'a str),
    Symbol(&'a str),
    Str(Cow<'a, str>),
    Int(i64),
    Value(Value),
}

impl Atom<'_> {
    pub(crate) fn into_value(self) -> Value {
        match self {
            Atom::Keyword(s) | Atom::Symbol(s) => Value::Str(s.into()),
            Atom::Str(s) => Value::Str(s.into()),
            Atom::Int(i) => Value::Int(i),
            Atom::Value(v) => v,
        }
    }

    /// The value as the user wrote it (roughly), for "found ..." in messages.
    pub(crate) fn render(&self, n: Notation) -> String {
        let text = match (self, n) {
            (Atom::Keyword(k), Notation::Edn) => format!(":{k}"),
            (Atom::Keyword(s) | Atom::Symbol(s), _) => s.to_string(),
            (Atom::Str(s), _) => format!("{s:?}"),
            (Atom::Int(i), _) => i.to_string(),
            (Atom::Value(v), n) => render_value(v, n),
        };
        truncate(text)
    }
}

/// A value in the source's notation, shortened for an error message.
pub(crate) fn render_value(v: &Value, n: Notation) -> String {
    let text = match n {
        Notation::Edn => v.to_string(),
        Notation::Json => serde_json::to_string(v).unwrap_or_else(|_| v.to_string()),
    };
    truncate(text)
}

fn truncate(mut s: String) -> String {
    const MAX: usize = 60;
    if s.len() > MAX {
        let mut cut = MAX;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

/// The fields an [`Op`] has a place for; anything else goes to `extra`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Index,
    Time,
    Process,
    Type,
    F,
    Value,
    Key,
    Node,
    Error,
    Other,
}

/// Field by name, without a string comparison per candidate (this runs for
/// every field of every op).
fn field(name: &str) -> Field {
    let b = name.as_bytes();
    if let Ok(a) = <[u8; 4]>::try_from(b) {
        return match &a {
            b"type" => Field::Type,
            b"time" => Field::Time,
            b"node" => Field::Node,
            _ => Field::Other,
        };
    }
    if let Ok(a) = <[u8; 5]>::try_from(b) {
        return match &a {
            b"value" => Field::Value,
            b"index" => Field::Index,
            b"error" => Field::Error,
            _ => Field::Other,
        };
    }
    match b {
        b"f" => Field::F,
        b"process" => Field::Process,
        b"key" => Field::Key,
        _ => Field::Other,
    }
}

fn op_type(name: &str) -> Option<OpType> {
    match name.as_bytes() {
        b"ok" => Some(OpType::Ok),
        b"invoke" => Some(OpType::Invoke),
        b"fail" => Some(OpType::Fail),
        b"info" => Some(OpType::Info),
        _ => None,
    }
}

/// Collects the fields of one op; [`OpBuilder::finish`] checks the required ones.
#[derive(Default)]
pub(crate) struct OpBuilder {
    /// A `[key value]`-shaped value, kept apart so that an independent tuple
    /// needs no list allocation (see [`OpBuilder::set_value_pair`]).
    pair: Option<(Value, Value)>,
    index: Option<u64>,
    time: Option<i64>,
    process: Option<Process>,
    kind: Option<OpType>,
    f: Option<Box<str>>,
    value: Option<Value>,
    key: Option<Value>,
    node: Option<Value>,
    error: Option<Value>,
    extra: Vec<(Box<str>, Value)>,
}

impl OpBuilder {
    /// Records field `key`. The error is the message to show, without location.
    pub(crate) fn set(&mut self, n: Notation, key: &str, atom: Atom<'_>) -> Result<(), String> {
        let dup = || {
            format!(
                "{} appears twice in one op; expected each field once",
                n.key(key)
            )
        };
        let bad = |expected: &str, atom: &Atom<'_>| {
            format!(
                "expected {} to be {expected}, found {}",
                n.key(key),
                atom.render(n)
            )
        };
        match field(key) {
            Field::Type => {
                if self.kind.is_some() {
                    return Err(dup());
                }
                let name = match (&atom, n) {
                    (Atom::Keyword(s), Notation::Edn) => Some(&**s),
                    (Atom::Str(s), Notation::Json) => Some(&**s),
                    _ => None,
                };
                match name.and_then(op_type) {
                    Some(t) => self.kind = Some(t),
                    None => {
                        let expected = format!(
                            "one of {} {} {} {}",
                            n.name("invoke"),
                            n.name("ok"),
                            n.name("fail"),
                            n.name("info")
                        );
                        return Err(bad(&expected, &atom));
                    }
                }
            }
            Field::F => {
                if self.f.is_some() {
                    return Err(dup());
                }
                self.f = Some(match (atom, n) {
                    (Atom::Keyword(s) | Atom::Symbol(s), Notation::Edn) => s.into(),
                    (Atom::Str(s), _) => s.into(),
                    (atom, Notation::Edn) => return Err(bad("a keyword such as :read", &atom)),
                    (atom, Notation::Json) => return Err(bad("a string such as \"read\"", &atom)),
                });
            }
            Field::Process => {
                if self.process.is_some() {
                    return Err(dup());
                }
                self.process = Some(process(n, atom)?);
            }
            Field::Index => {
                if self.index.is_some() {
                    return Err(dup());
                }
                match atom {
                    Atom::Int(i) if i >= 0 => self.index = Some(i as u64),
                    atom => return Err(bad("a non-negative integer", &atom)),
                }
            }
            Field::Time => {
                if self.time.is_some() {
                    return Err(dup());
                }
                match atom {
                    Atom::Int(t) => self.time = Some(t),
                    atom => return Err(bad("an integer (nanoseconds)", &atom)),
                }
            }
            Field::Value => {
                if self.pair.is_some() {
                    return Err(dup());
                }
                set_once(&mut self.value, atom, dup)?
            }
            Field::Key => set_once(&mut self.key, atom, dup)?,
            Field::Node => set_once(&mut self.node, atom, dup)?,
            Field::Error => set_once(&mut self.error, atom, dup)?,
            Field::Other => {
                if self.extra.iter().any(|(k, _)| &**k == key) {
                    return Err(dup());
                }
                self.extra.push((key.into(), atom.into_value()));
            }
        }
        Ok(())
    }

    /// Records a two-element value `[a b]`. [`finish`](Self::finish) returns
    /// it split (`key` a, `value` b) unless the op has an explicit `key`; the
    /// codec re-joins it if the history turns out not to be independent.
    pub(crate) fn set_value_pair(&mut self, n: Notation, a: Value, b: Value) -> Result<(), String> {
        if self.value.is_some() || self.pair.is_some() {
            return Err(format!(
                "{} appears twice in one op; expected each field once",
                n.key("value")
            ));
        }
        self.pair = Some((a, b));
        Ok(())
    }

    /// The op, and whether its `key` and `value` are a split pair (see
    /// [`set_value_pair`](Self::set_value_pair)); or what required field is
    /// missing. `position` is the op's index when the source gave none.
    pub(crate) fn finish(self, n: Notation, position: u64) -> Result<(Op, bool), String> {
        let missing = |k: &str, example: &str| {
            format!(
                "expected the op to have {}, e.g. {example}; it has none",
                n.key(k)
            )
        };
        let (kind, process, f) = match (self.kind, self.process, self.f) {
            (Some(k), Some(p), Some(f)) => (k, p, f),
            (None, ..) => {
                return Err(missing(
                    "type",
                    match n {
                        Notation::Edn => ":type :invoke",
                        Notation::Json => "\"type\":\"invoke\"",
                    },
                ));
            }
            (_, None, _) => {
                return Err(missing(
                    "process",
                    match n {
                        Notation::Edn => ":process 0",
                        Notation::Json => "\"process\":0",
                    },
                ));
            }
            (.., None) => {
                return Err(missing(
                    "f",
                    match n {
                        Notation::Edn => ":f :read",
                        Notation::Json => "\"f\":\"read\"",
                    },
                ));
            }
        };
        let (key, value, split) = match (self.pair, self.key) {
            (Some((k, v)), None) => (Some(k), v, true),
            (Some((k, v)), key) => (key, Value::List(vec![k, v]), false),
            (None, key) => (key, self.value.unwrap_or_default(), false),
        };
        let op = Op {
            index: self.index.unwrap_or(position),
            time: self.time,
            process,
            kind,
            f,
            value,
            key,
            node: self.node,
            error: self.error,
            extra: self.extra,
        };
        Ok((op, split))
    }
}

/// A `process` field: a non-negative integer, or the nemesis. Any other name
/// would be a process no checker looks at, so it is refused.
fn process(n: Notation, atom: Atom<'_>) -> Result<Process, String> {
    let name = match (&atom, n) {
        (Atom::Int(p), _) if *p >= 0 => return Ok(Process::Client(*p as u64)),
        (Atom::Keyword(s), Notation::Edn) => Process::from_name(s).ok_or("a keyword"),
        (Atom::Str(s), Notation::Json) => Process::from_name(s).ok_or("a string"),
        (Atom::Str(_), Notation::Edn) => Err("a string"),
        (Atom::Symbol(_), _) => Err("a symbol"),
        _ => {
            return Err(format!(
                "expected {} to be a non-negative integer or {}, found {}",
                n.key("process"),
                n.name("nemesis"),
                atom.render(n)
            ));
        }
    };
    name.map_err(|what| {
        format!(
            "process {} is {what}: a client process is an integer; only {} may be named",
            atom.render(n),
            n.name("nemesis")
        )
    })
}

fn set_once(
    slot: &mut Option<Value>,
    atom: Atom<'_>,
    dup: impl Fn() -> String,
) -> Result<(), String> {
    if slot.is_some() {
        return Err(dup());
    }
    *slot = Some(atom.into_value());
    Ok(())
}
