//! Test definitions: one YAML file names the database, the client, the
//! workload, the nemesis, the checkers and the knobs (concurrency, rate, time
//! limit); Jepsen-style flags override any of them.
//!
//! ```yaml
//! name: etcd-register
//! db: ../dbs/etcd.yaml          # relative to this file
//! client: { type: etcd, options: { read-consistency: linearizable } }
//! workload: { type: register, ops-per-key: 200 }
//! concurrency: 2n               # a number, or a multiple of the node count
//! rate: 100                     # ops/s over all workers
//! time-limit: 15s
//! ```
//!
//! Unknown fields are rejected with their file, line and the valid names. Every
//! number is checked as it is read, so a bad one is reported with its line too:
//! durations follow [`splitbrain_history::duration`] (`500ms`, `15s`, `1m30s`, or
//! seconds; at most 7d), concurrency is 1 to [`MAX_CONCURRENCY`] workers, the rate
//! is a positive finite number. A client's `options:` block is its own: the client
//! registry (`splitbrain_workloads::clients`) reads it, and its errors name the file,
//! line and column too. [`TestDef::validate`] repeats the checks for values that
//! flags set, before anything is created.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::de::{self, MapAccess};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_saphyr::Spanned;
use splitbrain_control::db::def::split_yaml_error;
use splitbrain_history::duration;
use splitbrain_workloads::options::{self, Node, Options, Spot};
use splitbrain_workloads::{ClientError, clients, workload};

pub mod generator;

pub use generator::GeneratorDef;

/// A test definition as written in YAML (every field optional so that flags can fill it in).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TestDef {
    /// Names the store folder `store/<name>/`.
    pub name: Option<String>,
    /// Node names (informational in a definition: `--nodes` or the lab inventory decide;
    /// `test.yaml` in the store records the nodes a run used).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
    /// The database definition (a `dbs/*.yaml` file), relative to this file.
    pub db: Option<PathBuf>,
    #[serde(default)]
    pub client: ClientDef,
    #[serde(default)]
    pub workload: WorkloadDef,
    /// Checkers by name; empty means the workload's defaults.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checkers: Vec<String>,
    pub concurrency: Option<Concurrency>,
    /// Target operations per second over all workers (positive, finite); none means as
    /// fast as possible.
    #[serde(default, deserialize_with = "numbers::rate")]
    pub rate: Option<f64>,
    /// How long the main phase runs (more than 0s, at most 7d).
    #[serde(
        default,
        serialize_with = "duration::option::serialize",
        deserialize_with = "numbers::time_limit"
    )]
    pub time_limit: Option<Duration>,
    /// How long an op may take before it is recorded as `info` (at least 1ms, at most 7d).
    #[serde(
        default,
        serialize_with = "duration::option::serialize",
        deserialize_with = "numbers::op_timeout"
    )]
    pub op_timeout: Option<Duration>,
    pub seed: Option<u64>,
    /// Faults to inject and their schedule (`--nemesis`, `--nemesis-interval`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nemesis: Option<NemesisDef>,
    /// The client side written with generator combinators ([`generator`],
    /// docs/generators.md); none runs today's phases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator: Option<GeneratorDef>,
    /// Leave the database running after the test (for poking at it by hand).
    #[serde(default)]
    pub leave_db_running: bool,
}

/// The client that talks to the database:
///
/// ```yaml
/// client:
///   type: etcd                                   # a name in the client registry
///   port: 2379                                   # the database's client port on every node
///   options: { read-consistency: serializable }  # the client's own options
/// ```
///
/// Each client type reads its own `options:` (`splitbrain_workloads::clients`). The
/// shorthand of earlier versions, options next to `type:` (`client: {type: etcd,
/// read-consistency: serializable}`), is still read, as the same options; written
/// back (the stored `test.yaml`) they are under `options:`.
///
/// A client that passes its `options:` on (`process`, to its program:
/// [`ClientKind::passes_options_on`](clients::ClientKind::passes_options_on)) has its own
/// settings next to `type:` (`command: [python3, x.py]`); its options tree is those keys
/// plus the block as one option named `options`, written back the same way.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientDef {
    /// A `client.type` of the registry: `etcd`, `memory`, `memory-stale`.
    pub kind: String,
    /// The database's client port on every node (etcd: 2379).
    pub port: Option<u16>,
    /// The client's own options, as written.
    pub options: Options,
}

impl Default for ClientDef {
    fn default() -> ClientDef {
        ClientDef {
            kind: "etcd".into(),
            port: None,
            options: Options::default(),
        }
    }
}

impl ClientDef {
    /// The registry's entry for this client type.
    pub fn client_type(&self) -> Result<&'static dyn clients::ClientKind, ClientError> {
        clients::find(&self.kind)
    }

    /// The type is known and its options fit it.
    pub fn check(&self) -> Result<(), ClientError> {
        let kind = self.client_type()?;
        kind.check(&self.options)
            .map_err(|error| ClientError::Options {
                client: kind.name(),
                error,
            })
    }

    /// Whether the client talks to nodes (its own answer; an unknown type does not).
    pub fn needs_nodes(&self) -> bool {
        self.client_type().is_ok_and(|k| k.needs_nodes())
    }

    /// For the report: `etcd (serializable reads)`, or the type alone.
    pub fn describe(&self) -> String {
        match self
            .client_type()
            .ok()
            .and_then(|k| k.describe(&self.options))
        {
            Some(d) => format!("{} ({d})", self.kind),
            None => self.kind.clone(),
        }
    }
}

impl Serialize for ClientDef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("type", &self.kind)?;
        if let Some(p) = self.port {
            map.serialize_entry("port", &p)?;
        }
        if self.client_type().is_ok_and(|k| k.passes_options_on()) {
            for name in self.options.names() {
                map.serialize_entry(name, &self.options.get(name))?;
            }
        } else if !self.options.is_empty() {
            map.serialize_entry("options", &self.options)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for ClientDef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ClientDef, D::Error> {
        d.deserialize_map(ClientVisitor)
    }
}

struct ClientVisitor;

impl<'de> de::Visitor<'de> for ClientVisitor {
    type Value = ClientDef;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a client: `type`, and optionally `port` and `options`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ClientDef, A::Error> {
        let mut kind: Option<String> = None;
        let mut type_at = None;
        let mut port: Option<u16> = None;
        let mut options: Option<Options> = None;
        // The block as written, for a client that passes it on: (its key's place, the block).
        let mut block_node: Option<(Option<options::Location>, Spot<Node>)> = None;
        // The shorthand: options next to `type:`, kept apart until the end so that
        // an `options:` block may come after them.
        let mut flat: Vec<(Spot<String>, Spot<Node>)> = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            match key.value.as_str() {
                "type" => {
                    if kind.is_some() {
                        return Err(de::Error::duplicate_field("type"));
                    }
                    type_at = location(key.referenced);
                    kind = Some(map.next_value::<TypeName>()?.0);
                }
                "port" => {
                    if port.is_some() {
                        return Err(de::Error::duplicate_field("port"));
                    }
                    port = map.next_value::<Port>()?.0;
                }
                "options" => {
                    if options.is_some() {
                        return Err(de::Error::duplicate_field("options"));
                    }
                    let block: Spanned<YamlMap> = map.next_value()?;
                    let at = location(block.referenced);
                    let mut o = Options::new(at);
                    for (k, v) in block.value.0.iter().cloned() {
                        // serde-saphyr already refused a key given twice in one mapping.
                        o.insert(k, v).map_err(|e| de::Error::custom(e.message))?;
                    }
                    options = Some(o);
                    block_node = Some((
                        location(key.referenced),
                        Spot::new(Node::Map(block.value.0), at),
                    ));
                }
                _ => {
                    let value: Spanned<YamlNode> = map.next_value()?;
                    flat.push((
                        spot_of(key),
                        Spot::new(value.value.0, location(value.referenced)),
                    ));
                }
            }
        }
        let kind = kind.ok_or_else(|| de::Error::missing_field("type"))?;
        if clients::find(&kind).is_ok_and(|k| k.passes_options_on()) {
            // Its settings are the keys next to `type:`; the block is data it passes on.
            let mut options = Options::new(type_at);
            for (k, v) in flat {
                options
                    .insert(k, v)
                    .map_err(|e| de::Error::custom(e.message))?;
            }
            if let Some((at, block)) = block_node {
                options
                    .insert(Spot::new("options".into(), at), block)
                    .map_err(|e| de::Error::custom(e.message))?;
            }
            return Ok(ClientDef {
                kind,
                port,
                options,
            });
        }
        let mut options =
            options.unwrap_or_else(|| Options::new(flat.first().and_then(|(k, _)| k.at)));
        for (k, v) in flat {
            if options.get(&k.value).is_some() {
                return Err(de::Error::custom(format!(
                    "option `{}` is given both next to `type:` and under `options:`",
                    k.value
                )));
            }
            options
                .insert(k, v)
                .map_err(|e| de::Error::custom(e.message))?;
        }
        Ok(ClientDef {
            kind,
            port,
            options,
        })
    }
}

/// `type:`, checked against the registry as it is read (so at its line and column).
#[derive(Deserialize)]
struct TypeName(#[serde(deserialize_with = "client_type")] String);

fn client_type<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let name = String::deserialize(d)?;
    clients::find(&name).map_err(de::Error::custom)?;
    Ok(name)
}

/// `port:`, with its one range check.
#[derive(Deserialize)]
struct Port(#[serde(deserialize_with = "numbers::port")] Option<u16>);

/// serde-saphyr's place of a node; `None` where it has none.
fn location(l: serde_saphyr::Location) -> Option<options::Location> {
    (l.line() > 0).then(|| options::Location {
        line: l.line(),
        column: l.column(),
    })
}

fn spot_of<T>(s: Spanned<T>) -> Spot<T> {
    Spot::new(s.value, location(s.referenced))
}

/// A YAML node as an options [`Node`], every nested node with its place.
struct YamlNode(Node);

impl<'de> Deserialize<'de> for YamlNode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<YamlNode, D::Error> {
        d.deserialize_any(NodeVisitor).map(YamlNode)
    }
}

/// A YAML mapping's entries, each key and value with its place.
struct YamlMap(Vec<(Spot<String>, Spot<Node>)>);

impl<'de> Deserialize<'de> for YamlMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<YamlMap, D::Error> {
        match d.deserialize_any(NodeVisitor)? {
            Node::Map(entries) => Ok(YamlMap(entries)),
            // An empty `options:` is no options.
            Node::Null => Ok(YamlMap(Vec::new())),
            _ => Err(de::Error::custom(
                "options: a mapping of option names to values, e.g. `{read-consistency: serializable}`",
            )),
        }
    }
}

struct NodeVisitor;

impl<'de> de::Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an option value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Node, E> {
        Ok(Node::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Node, E> {
        Ok(Node::Int(n))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Node, E> {
        Ok(Node::UInt(n))
    }

    fn visit_i128<E: de::Error>(self, n: i128) -> Result<Node, E> {
        i64::try_from(n)
            .map(Node::Int)
            .map_err(|_| E::custom(format!("the integer {n} is too large for an option")))
    }

    fn visit_u128<E: de::Error>(self, n: u128) -> Result<Node, E> {
        u64::try_from(n)
            .map(Node::UInt)
            .map_err(|_| E::custom(format!("the integer {n} is too large for an option")))
    }

    fn visit_f64<E>(self, x: f64) -> Result<Node, E> {
        Ok(Node::Float(x))
    }

    fn visit_str<E>(self, s: &str) -> Result<Node, E> {
        Ok(Node::Str(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Node, E> {
        Ok(Node::Str(s))
    }

    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        YamlNode::deserialize(d).map(|n| n.0)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<YamlNode>>()? {
            items.push(Spot::new(item.value.0, location(item.referenced)));
        }
        Ok(Node::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let value: Spanned<YamlNode> = map.next_value()?;
            entries.push((
                spot_of(key),
                Spot::new(value.value.0, location(value.referenced)),
            ));
        }
        Ok(Node::Map(entries))
    }
}

/// What the clients do.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct WorkloadDef {
    /// A workload of the registry (`splitbrain_workloads::workload::WORKLOADS`):
    /// `register`, `set`, `counter`, `unique-ids`.
    #[serde(rename = "type", deserialize_with = "workload_name")]
    pub kind: String,
    /// Function weights, e.g. `{read: 2, write: 1, cas: 1}`; default per workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mix: Option<std::collections::BTreeMap<String, u32>>,
    /// Independent keys (register): workers per key (at least 1); default the node count.
    #[serde(
        default,
        deserialize_with = "numbers::group_size",
        skip_serializing_if = "Option::is_none"
    )]
    pub group_size: Option<usize>,
    /// Independent keys (register): a group moves to a fresh key after this many ops
    /// (at least 1).
    #[serde(
        default,
        deserialize_with = "numbers::ops_per_key",
        skip_serializing_if = "Option::is_none"
    )]
    pub ops_per_key: Option<u64>,
}

/// A workload name, checked against the registry as it is read (so at its line).
fn workload_name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let name = String::deserialize(d)?;
    workload::find(&name).map_err(de::Error::custom)?;
    Ok(name)
}

impl Default for WorkloadDef {
    fn default() -> WorkloadDef {
        WorkloadDef {
            kind: "register".into(),
            mix: None,
            group_size: None,
            ops_per_key: None,
        }
    }
}

/// Nemesis settings: the `nemesis:` section (faults, interval, per-fault options), defined
/// by the `nemeses` crate, which documents every field.
pub use splitbrain_nemeses::NemesisConfig as NemesisDef;

/// The most workers a test may have: each is a task with its own client and
/// connection, and far more than this would exhaust memory or file descriptors
/// long before it tests anything.
pub const MAX_CONCURRENCY: usize = 10_000;

/// `--concurrency`: a number of workers, or `Kn` for K times the node count (Jepsen's `2n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concurrency {
    Fixed(usize),
    PerNode(usize),
}

impl Concurrency {
    /// The number of workers on `nodes` nodes (saturating: [`Concurrency::checked`] says
    /// whether it is allowed).
    pub fn resolve(self, nodes: usize) -> usize {
        match self {
            Concurrency::Fixed(n) => n,
            Concurrency::PerNode(k) => k.saturating_mul(nodes),
        }
    }

    /// The number of workers on `nodes` nodes, if it is at most [`MAX_CONCURRENCY`].
    pub fn checked(self, nodes: usize) -> Result<usize, String> {
        let n = self.resolve(nodes);
        if n > MAX_CONCURRENCY {
            return Err(format!(
                "concurrency {self} on {nodes} node(s) is {} workers; the maximum is {MAX_CONCURRENCY}",
                if n == usize::MAX {
                    "too many".to_string()
                } else {
                    n.to_string()
                }
            ));
        }
        Ok(n)
    }

    /// The number as written (workers, or workers per node) is 1 to [`MAX_CONCURRENCY`]:
    /// the one range check, for YAML, flags and definitions built in code.
    pub fn check(self) -> Result<Concurrency, String> {
        self.check_as(&self)
    }

    /// [`Concurrency::check`], naming the value as `written`.
    fn check_as(self, written: &dyn fmt::Display) -> Result<Concurrency, String> {
        match self {
            Concurrency::Fixed(0) | Concurrency::PerNode(0) => {
                Err("concurrency must be at least 1".into())
            }
            Concurrency::Fixed(n) | Concurrency::PerNode(n) if n > MAX_CONCURRENCY => Err(format!(
                "concurrency `{written}` is more than the maximum of {MAX_CONCURRENCY} workers"
            )),
            c => Ok(c),
        }
    }
}

impl FromStr for Concurrency {
    type Err = String;
    fn from_str(s: &str) -> Result<Concurrency, String> {
        let s = s.trim();
        let bad = || {
            format!(
                "expected a number of workers like `10`, or `2n` for twice the node count; got `{s}`"
            )
        };
        // Digits only: `usize` parsing would also take `+5`; too many digits is too many workers.
        let number = |t: &str| -> Result<usize, String> {
            if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            Ok(t.parse().unwrap_or(usize::MAX))
        };
        let c = if let Some(k) = s.strip_suffix('n') {
            Concurrency::PerNode(if k.is_empty() { 1 } else { number(k)? })
        } else {
            Concurrency::Fixed(number(s)?)
        };
        // As written: a saturated `usize::MAX` is not what the user typed.
        c.check_as(&s)
    }
}

impl fmt::Display for Concurrency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Concurrency::Fixed(n) => write!(f, "{n}"),
            Concurrency::PerNode(k) => write!(f, "{k}n"),
        }
    }
}

impl Serialize for Concurrency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Concurrency::Fixed(n) => s.serialize_u64(*n as u64),
            Concurrency::PerNode(_) => s.serialize_str(&self.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for Concurrency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Concurrency, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Concurrency;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(
                    f,
                    "a number of workers like `10`, or `2n` for twice the node count"
                )
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Concurrency, E> {
                Concurrency::from_str(&n.to_string()).map_err(E::custom)
            }
            fn visit_u128<E: serde::de::Error>(self, n: u128) -> Result<Concurrency, E> {
                Concurrency::from_str(&n.to_string()).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Concurrency, E> {
                Err(E::custom(format!(
                    "concurrency must be at least 1, got {n}"
                )))
            }
            fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Concurrency, E> {
                // Integers too long for u64 arrive as floats.
                if n.is_finite() && n.fract() == 0.0 && n > MAX_CONCURRENCY as f64 {
                    return Err(E::custom(format!(
                        "concurrency `{n:e}` is more than the maximum of {MAX_CONCURRENCY} workers"
                    )));
                }
                Err(E::custom(format!(
                    "expected a whole number of workers like `10`, or `2n`; got {n}"
                )))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Concurrency, E> {
                Concurrency::from_str(s).map_err(E::custom)
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// The checks of numbers in a test definition, one per field and the only one for that
/// field. Each runs while the field is read, so that serde-saphyr puts the line and
/// column on the error, and again in [`TestDef::validate`] for values that flags or
/// code set.
pub mod numbers {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};
    use splitbrain_history::duration;

    pub fn check_rate(r: f64) -> Result<(), String> {
        if !(r.is_finite() && r > 0.0) {
            return Err(format!(
                "rate: a positive number of operations per second, got {r}"
            ));
        }
        Ok(())
    }

    pub fn check_time_limit(d: Duration) -> Result<(), String> {
        duration::check(d).map_err(|e| format!("time-limit: {e}"))?;
        if d.is_zero() {
            return Err("time-limit: must be more than 0s, e.g. 60s".into());
        }
        Ok(())
    }

    pub fn check_op_timeout(d: Duration) -> Result<(), String> {
        duration::check(d).map_err(|e| format!("op-timeout: {e}"))?;
        if d < Duration::from_millis(1) {
            return Err(format!(
                "op-timeout: use at least 1ms, got {}",
                duration::format(d)
            ));
        }
        Ok(())
    }

    pub fn check_port(p: u16) -> Result<(), String> {
        if p == 0 {
            return Err("port: a TCP port from 1 to 65535, got 0".into());
        }
        Ok(())
    }

    pub fn check_group_size(n: usize) -> Result<(), String> {
        if n == 0 {
            return Err("group-size: at least 1 worker per key, got 0".into());
        }
        Ok(())
    }

    pub fn check_ops_per_key(n: u64) -> Result<(), String> {
        if n == 0 {
            return Err("ops-per-key: at least 1 operation per key, got 0".into());
        }
        Ok(())
    }

    fn checked<T: Copy, E: serde::de::Error>(
        v: Option<T>,
        check: impl Fn(T) -> Result<(), String>,
    ) -> Result<Option<T>, E> {
        if let Some(v) = v {
            check(v).map_err(E::custom)?;
        }
        Ok(v)
    }

    pub fn rate<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        checked(Option::deserialize(d)?, check_rate)
    }

    pub fn time_limit<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        checked(duration::option::deserialize(d)?, check_time_limit)
    }

    pub fn op_timeout<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        checked(duration::option::deserialize(d)?, check_op_timeout)
    }

    pub fn port<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
        checked(Option::deserialize(d)?, check_port)
    }

    pub fn group_size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
        checked(Option::deserialize(d)?, check_group_size)
    }

    pub fn ops_per_key<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        checked(Option::deserialize(d)?, check_ops_per_key)
    }
}

impl TestDef {
    /// Reads a test definition; errors name the file and line.
    pub fn load(path: &Path) -> Result<TestDef> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the test definition {}", path.display()))?;
        let mut def = TestDef::parse(&text, &path.display().to_string())?;
        // Relative paths inside the file are relative to the file, not to the caller.
        let base = path.parent().unwrap_or(Path::new("."));
        if let Some(db) = &def.db
            && db.is_relative()
        {
            def.db = Some(base.join(db));
        }
        if let Ok(kind) = def.client.client_type() {
            kind.resolve_paths(&mut def.client.options, base);
        }
        if def.name.is_none() {
            def.name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        }
        Ok(def)
    }

    /// Parses definition text; `file` names it in errors, as `FILE:LINE:COLUMN: what`.
    pub fn parse(text: &str, file: &str) -> Result<TestDef> {
        // NaN and infinities reach the visitors that read values of any type (a client's
        // options, concurrency, durations), whose own checks name the field and limit.
        let mut options = serde_saphyr::Options::default();
        options.non_finite_float_policy = serde_saphyr::NonFiniteFloatPolicy::PassThrough;
        let def = serde_saphyr::from_str_with_options::<TestDef>(text, options).map_err(|e| {
            let at = match e.location() {
                Some(l) if l.line() > 0 => format!("{file}:{}:{}", l.line(), l.column()),
                _ => file.to_string(),
            };
            let (what, snippet) = split_yaml_error(&e.to_string(), file);
            anyhow::anyhow!("{at}: invalid test definition: {what}{snippet}")
        })?;
        // The client's own options, now that its type is known; at their line too.
        if let Err(ClientError::Options { client, error }) = def.client.check() {
            let at = match error.at {
                Some(l) => format!("{file}:{}:{}", l.line, l.column),
                None => file.to_string(),
            };
            let snippet = error.at.map(|l| caret(text, l)).unwrap_or_default();
            anyhow::bail!(
                "{at}: invalid test definition: client `{client}`: {}{snippet}",
                error.message
            );
        }
        def.validate()
            .map_err(|e| anyhow::anyhow!("{file}: invalid test definition: {e}"))?;
        // The generator against the workload, at its line: one worker on one node here,
        // the test's own numbers when it is planned.
        for (part, g) in def.generators() {
            if let Err(e) = def.compile_generator(g, 0, 1, 1) {
                let at = match e.location() {
                    Some(l) => format!("{file}:{}:{}", l.line, l.column),
                    None => file.to_string(),
                };
                let snippet = e.location().map(|l| caret(text, l)).unwrap_or_default();
                anyhow::bail!(
                    "{at}: invalid test definition: generator.{part}: {}{snippet}",
                    e.inner()
                );
            }
        }
        Ok(def)
    }

    /// The generators the definition writes, by part (`main`, `final`).
    pub fn generators(&self) -> Vec<(&'static str, &splitbrain_workloads::Gen)> {
        let Some(g) = &self.generator else {
            return Vec::new();
        };
        [("main", &g.main), ("final", &g.finals)]
            .into_iter()
            .filter_map(|(part, g)| g.as_ref().map(|g| (part, &g.0)))
            .collect()
    }

    /// Compiles `g` for this definition's workload (its `workload.mix` is what `mix` means).
    pub fn compile_generator(
        &self,
        g: &splitbrain_workloads::Gen,
        seed: u64,
        concurrency: usize,
        nodes: usize,
    ) -> Result<splitbrain_workloads::Program, splitbrain_workloads::GenError> {
        let workload = workload::find(&self.workload.kind)
            .map_err(|e| splitbrain_workloads::GenError::Bad(e.to_string()))?;
        let mix: Option<Vec<(Box<str>, u32)>> = self
            .workload
            .mix
            .as_ref()
            .map(|m| m.iter().map(|(f, w)| (f.as_str().into(), *w)).collect());
        g.compile(workload, mix.as_deref(), seed, concurrency, nodes)
    }

    /// Checks what does not depend on the nodes: the numbers (again, for values set by
    /// flags after parsing) and the nemesis settings. Runs before anything is created.
    pub fn validate(&self) -> Result<()> {
        if let Some(c) = self.concurrency {
            // Parsed, it is in range; built in code it may not be.
            c.check().map_err(anyhow::Error::msg)?;
        }
        let workload = |r: Result<(), String>| r.map_err(|e| format!("workload.{e}"));
        let checks = [
            self.rate.map(numbers::check_rate),
            self.time_limit.map(numbers::check_time_limit),
            self.op_timeout.map(numbers::check_op_timeout),
            self.client.port.map(numbers::check_port),
            self.workload
                .group_size
                .map(|n| workload(numbers::check_group_size(n))),
            self.workload
                .ops_per_key
                .map(|n| workload(numbers::check_ops_per_key(n))),
        ];
        for r in checks.into_iter().flatten() {
            r.map_err(anyhow::Error::msg)?;
        }
        self.client.check()?;
        workload::find(&self.workload.kind)?;
        if let Some(n) = &self.nemesis {
            n.validate_values().map_err(anyhow::Error::msg)?;
        }
        if self.generator.as_ref().is_some_and(|g| g.main.is_some()) {
            // They shape the default main phase; a written one says its own.
            let set = [
                ("rate", self.rate.is_some()),
                ("workload.group-size", self.workload.group_size.is_some()),
                ("workload.ops-per-key", self.workload.ops_per_key.is_some()),
            ];
            if let Some((name, _)) = set.iter().find(|(_, s)| *s) {
                anyhow::bail!(
                    "{name} shapes the default main phase, and generator.main is given: write it inside generator.main instead (rate: / each-key:)"
                );
            }
        }
        Ok(())
    }

    pub fn to_yaml(&self) -> Result<String> {
        serde_saphyr::to_string(self).context("cannot write the test definition as YAML")
    }
}

/// The line at `at` with a caret under its column, as serde-saphyr shows its own errors.
fn caret(text: &str, at: options::Location) -> String {
    let Some(line) = text.lines().nth(at.line.saturating_sub(1) as usize) else {
        return String::new();
    };
    let width = at.line.to_string().len();
    let column = at.column.saturating_sub(1) as usize;
    let pad: String = line
        .chars()
        .take(column)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    format!(
        "\n{:width$} |\n{} | {line}\n{:width$} | {pad}^",
        "", at.line, ""
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_definition() {
        let def = TestDef::parse(
            "name: t\nconcurrency: 2n\nrate: 50\ntime-limit: 15s\nworkload: {type: set}\nclient: {type: etcd, read-consistency: serializable}\n",
            "t.yaml",
        )
        .unwrap();
        assert_eq!(def.concurrency, Some(Concurrency::PerNode(2)));
        assert_eq!(def.time_limit, Some(Duration::from_secs(15)));
        assert_eq!(def.workload.kind, "set");
        assert_eq!(
            def.client.options.get("read-consistency"),
            Some(&Node::Str("serializable".into()))
        );
        assert_eq!(def.client.describe(), "etcd (serializable reads)");
        let back = TestDef::parse(&def.to_yaml().unwrap(), "back.yaml").unwrap();
        assert_eq!(back.time_limit, def.time_limit);
        assert_eq!(back.concurrency, def.concurrency);
        assert_eq!(back.client.describe(), "etcd (serializable reads)");
    }

    /// Every shipped definition reads, its client has its workload, and its
    /// `test.yaml` reads back the same.
    #[test]
    fn the_shipped_definitions_read_and_round_trip() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "yaml") {
                continue;
            }
            let def = TestDef::load(&path).unwrap();
            let workload = workload::find(&def.workload.kind).unwrap();
            def.client
                .client_type()
                .unwrap()
                .open(
                    workload,
                    &def.client.options,
                    &clients::ClientContext::new(1),
                )
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let yaml = def.to_yaml().unwrap();
            let back = TestDef::parse(&yaml, "back.yaml").unwrap();
            assert_eq!(back.client, def.client, "{}", path.display());
            assert_eq!(back.to_yaml().unwrap(), yaml);
            seen += 1;
        }
        assert!(seen >= 5, "{seen} definitions in {}", dir.display());
        let def = TestDef::load(&dir.join("etcd-serializable-reads.yaml")).unwrap();
        assert_eq!(def.client.describe(), "etcd (serializable reads)");
    }

    #[test]
    fn client_options_block_and_the_older_shorthand_are_the_same() {
        let block = TestDef::parse(
            "client:\n  type: memory-stale\n  port: 7000\n  options:\n    stale-probability: 0.25\n",
            "t.yaml",
        )
        .unwrap();
        let flat = TestDef::parse(
            "client: {type: memory-stale, port: 7000, stale-probability: 0.25}\n",
            "t.yaml",
        )
        .unwrap();
        // `options:` may come first, too.
        let first = TestDef::parse(
            "client: {options: {stale-probability: 0.25}, type: memory-stale, port: 7000}\n",
            "t.yaml",
        )
        .unwrap();
        for def in [&block, &flat, &first] {
            assert_eq!(def.client.kind, "memory-stale");
            assert_eq!(def.client.port, Some(7000));
            assert_eq!(
                def.client.options.get("stale-probability"),
                Some(&Node::Float(0.25))
            );
        }
        // Written back, options are always under `options:`, and read back the same.
        let yaml = flat.to_yaml().unwrap();
        assert!(yaml.contains("options:"), "{yaml}");
        assert_eq!(yaml, block.to_yaml().unwrap());
        let back = TestDef::parse(&yaml, "back.yaml").unwrap();
        assert_eq!(back.to_yaml().unwrap(), yaml);
        assert_eq!(
            back.client.options.get("stale-probability"),
            Some(&Node::Float(0.25))
        );
        // No options at all: none written.
        let plain = TestDef::parse("client: {type: memory}\n", "t.yaml").unwrap();
        assert!(!plain.to_yaml().unwrap().contains("options"));
        assert!(!plain.client.needs_nodes());
        assert!(TestDef::default().client.needs_nodes());
    }

    /// `client: {type: process, command: [...], options: {...}}`: the command and
    /// the process client's settings next to `type:`, the block for the program.
    #[test]
    fn a_process_client_has_its_command_beside_type_and_its_options_for_the_program() {
        let text = "client:\n  type: process\n  command: [python3, clients/x.py]\n  kill-grace: 1s\n  options: {read-consistency: serializable, command: mine}\n";
        let def = TestDef::parse(text, "t.yaml").unwrap();
        let o = &def.client.options;
        assert_eq!(
            o.names().collect::<Vec<_>>(),
            ["command", "kill-grace", "options"]
        );
        let Some(Node::Map(block)) = o.get("options") else {
            panic!("{o:?}")
        };
        // The program's own `command` option is its own, not the client's.
        let names: Vec<&str> = block.iter().map(|(k, _)| k.value.as_str()).collect();
        assert_eq!(names, ["read-consistency", "command"]);
        assert_eq!(
            def.client.describe(),
            // The program gets them as a JSON object (keys sorted).
            r#"process (python3 clients/x.py {"command":"mine","read-consistency":"serializable"})"#
        );
        // Written back in the same form, and read back the same.
        let yaml = def.to_yaml().unwrap();
        let back = TestDef::parse(&yaml, "back.yaml").unwrap();
        assert_eq!(back.client, def.client, "{yaml}");
        assert_eq!(back.to_yaml().unwrap(), yaml);
        assert!(
            yaml.contains("command:") && yaml.contains("kill-grace: 1s"),
            "{yaml}"
        );

        for (yaml, at, wants) in [
            (
                "client:\n  type: process\n  command: []\n",
                "t.yaml:3:12:",
                "client `process`: command: an empty list",
            ),
            (
                "client: {type: process, command: python3 x.py}\n",
                "t.yaml:1:34:",
                "never a shell string: write `python3 x.py` as [python3, x.py]",
            ),
            (
                "client:\n  options: {a: 1}\n  type: process\n",
                "t.yaml:3:3:",
                "missing field `command`",
            ),
            (
                "client: {type: process, command: [sh], kil-grace: 2s}\n",
                "t.yaml:1:40:",
                "unknown field `kil-grace`",
            ),
        ] {
            let e = TestDef::parse(yaml, "t.yaml").unwrap_err().to_string();
            assert!(
                e.starts_with(at) && e.contains(wants),
                "{yaml}: {at} {wants}: {e}"
            );
        }
    }

    /// Relative command paths are resolved against the definition's directory when the
    /// file is there; others stay as written.
    #[test]
    fn a_process_command_next_to_the_definition_is_found_from_anywhere() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("clients")).unwrap();
        std::fs::write(dir.path().join("clients/x.py"), "").unwrap();
        let path = dir.path().join("t.yaml");
        std::fs::write(
            &path,
            "client: {type: process, command: [python3, clients/x.py, not-here.py]}\n",
        )
        .unwrap();
        let def = TestDef::load(&path).unwrap();
        let Some(Node::List(items)) = def.client.options.get("command") else {
            panic!()
        };
        let args: Vec<&Node> = items.iter().map(|i| &i.value).collect();
        assert_eq!(
            args,
            [
                &Node::Str("python3".into()),
                &Node::Str(dir.path().join("clients/x.py").display().to_string()),
                &Node::Str("not-here.py".into()),
            ]
        );
    }

    #[test]
    fn client_errors_name_the_file_line_and_column_and_the_valid_names() {
        for (yaml, at, wants) in [
            (
                "client: {type: etcdd}\n",
                "t.yaml:2:16:",
                &["unknown client type `etcdd`; expected one of: etcd, memory, memory-stale"][..],
            ),
            (
                "client:\n  type: etcd\n  options:\n    read-consistensy: serializable\n",
                "t.yaml:5:5:",
                &[
                    "client `etcd`",
                    "unknown field `read-consistensy`",
                    "read-consistency",
                ],
            ),
            (
                "client:\n  type: etcd\n  options: {read-consistency: serialisable}\n",
                "t.yaml:4:31:",
                &["unknown read consistency `serialisable`; expected linearizable or serializable"],
            ),
            (
                "client: {type: etcd, read-consistency: strong}\n",
                "t.yaml:2:40:",
                &["client `etcd`: unknown read consistency `strong`"],
            ),
            (
                "client: {type: memory, stale-probability: 0.5}\n",
                "t.yaml:2:24:",
                &["client `memory`", "unknown field `stale-probability`"],
            ),
            (
                "client: {type: memory-stale, options: [1]}\n",
                "t.yaml:2:",
                &["options: a mapping of option names"],
            ),
            (
                "client: {port: 2379}\n",
                "t.yaml:2:",
                &["missing field `type`"],
            ),
            (
                "workload: {type: bank}\n",
                "t.yaml:2:18:",
                &["unknown workload `bank`; expected one of: register, set, counter, unique-ids"],
            ),
        ] {
            let err = TestDef::parse(&format!("name: t\n{yaml}"), "t.yaml")
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(at), "{yaml}: expected {at}: {err}");
            for w in wants {
                assert!(err.contains(w), "{yaml}: expected {w:?}: {err}");
            }
        }
        // The line itself is shown, with a caret under the column.
        let err = TestDef::parse(
            "name: t\nclient: {type: etcd, read-consistency: strong}\n",
            "t.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("2 | client: {type: etcd, read-consistency: strong}")
                && err.contains(&format!("  | {}^", " ".repeat(39))),
            "{err}"
        );
    }

    #[test]
    fn unknown_fields_name_the_line_and_the_valid_names() {
        let err = TestDef::parse("name: t\ntime-limt: 15s\n", "t.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("t.yaml"), "{err}");
        assert!(err.contains("time-limt"), "{err}");
        assert!(err.contains("time-limit"), "{err}");
        assert!(err.contains('2'), "line number missing: {err}");
    }

    #[test]
    fn nemesis_sections_parse_and_bad_faults_name_the_line() {
        let def = TestDef::parse(
            "name: t\nnemesis:\n  faults: [partition, kill]\n  interval: 5s\n  partition: {topologies: [primaries]}\n",
            "t.yaml",
        )
        .unwrap();
        let n = def.nemesis.as_ref().unwrap();
        assert_eq!(n.interval, Some(Duration::from_secs(5)));
        assert_eq!(n.fault_list().len(), 2);
        let back = TestDef::parse(&def.to_yaml().unwrap(), "back.yaml").unwrap();
        assert_eq!(back.nemesis, def.nemesis);
        let err = TestDef::parse("name: t\nnemesis:\n  faults: [partition, kil]\n", "t.yaml")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("t.yaml") && err.contains("kil") && err.contains("kill"),
            "{err}"
        );
        assert!(err.contains('3'), "line number missing: {err}");
    }

    #[test]
    fn concurrency_forms() {
        assert_eq!("10".parse::<Concurrency>(), Ok(Concurrency::Fixed(10)));
        assert_eq!("2n".parse::<Concurrency>().unwrap().resolve(5), 10);
        assert_eq!("n".parse::<Concurrency>(), Ok(Concurrency::PerNode(1)));
        assert_eq!(
            "10000".parse::<Concurrency>(),
            Ok(Concurrency::Fixed(10_000))
        );
        assert!("0".parse::<Concurrency>().is_err());
        assert!("two".parse::<Concurrency>().is_err());
        assert!(
            "10001"
                .parse::<Concurrency>()
                .unwrap_err()
                .contains("10000")
        );
        assert!(
            "100000000n"
                .parse::<Concurrency>()
                .unwrap_err()
                .contains("10000")
        );
        // Resolved against the nodes, the product is bounded too, and never overflows.
        assert_eq!(Concurrency::PerNode(2_000).checked(5), Ok(10_000));
        let err = Concurrency::PerNode(5_000).checked(3).unwrap_err();
        assert!(
            err.contains("15000 workers") && err.contains("maximum is 10000"),
            "{err}"
        );
        assert!(Concurrency::PerNode(usize::MAX).checked(3).is_err());
    }

    #[test]
    fn durations_use_the_one_grammar() {
        let limit = |v: &str| {
            TestDef::parse(&format!("time-limit: {v}\n"), "t.yaml")
                .unwrap()
                .time_limit
        };
        assert_eq!(limit("60"), Some(Duration::from_secs(60)));
        assert_eq!(limit("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(limit("'60'"), Some(Duration::from_secs(60)));
        assert_eq!(limit("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(limit("1m30s"), Some(Duration::from_secs(90)));
        // What humantime wrote into older stored test.yaml files.
        assert_eq!(limit("1m 30s"), Some(Duration::from_secs(90)));
        let def = TestDef::parse("time-limit: 1m30s\nop-timeout: 1.5\n", "t.yaml").unwrap();
        let yaml = def.to_yaml().unwrap();
        assert!(
            yaml.contains("time-limit: 1m30s") && yaml.contains("op-timeout: 1s500ms"),
            "{yaml}"
        );
        let back = TestDef::parse(&yaml, "back.yaml").unwrap();
        assert_eq!(
            (back.time_limit, back.op_timeout),
            (def.time_limit, def.op_timeout)
        );
    }

    /// Each hostile value is an error naming the file, the line and column, and the limit.
    #[test]
    fn hostile_numbers_name_the_file_line_and_limit() {
        for (yaml, at, want) in [
            (
                "time-limit: 1e300\n",
                "t.yaml:2:13:",
                "duration `1e300` is longer than the maximum 7d",
            ),
            (
                "time-limit: '1e300'\n",
                "t.yaml:2:13:",
                "duration `1e300` is longer than the maximum 7d",
            ),
            (
                "op-timeout: 1e20\n",
                "t.yaml:2:13:",
                "duration `1e20` is longer than the maximum 7d",
            ),
            (
                "time-limit: 99999999999999999999s\n",
                "t.yaml:2:13:",
                "longer than the maximum 7d",
            ),
            ("time-limit: nan\n", "t.yaml:2:13:", "not a finite number"),
            ("time-limit: -5s\n", "t.yaml:2:13:", "negative"),
            (
                "time-limit: 0s\n",
                "t.yaml:2:13:",
                "time-limit: must be more than 0s",
            ),
            (
                "op-timeout: 0\n",
                "t.yaml:2:13:",
                "op-timeout: use at least 1ms",
            ),
            (
                "client: {type: memory-stale, stale-probability: .nan}\n",
                "t.yaml:2:",
                "stale-probability: a probability from 0 to 1, got NaN",
            ),
            (
                "client: {type: memory-stale, stale-probability: 1.5}\n",
                "t.yaml:2:",
                "a probability from 0 to 1, got 1.5",
            ),
            (
                "client: {type: memory-stale, stale-probability: -0.1}\n",
                "t.yaml:2:",
                "a probability from 0 to 1",
            ),
            (
                "client: {type: etcd, port: 0}\n",
                "t.yaml:2:",
                "port: a TCP port from 1 to 65535",
            ),
            (
                "concurrency: 100000000n\n",
                "t.yaml:2:14:",
                "more than the maximum of 10000 workers",
            ),
            (
                "concurrency: 10001\n",
                "t.yaml:2:14:",
                "more than the maximum of 10000 workers",
            ),
            (
                "concurrency: 99999999999999999999999\n",
                "t.yaml:2:14:",
                "maximum of 10000 workers",
            ),
            ("concurrency: 0\n", "t.yaml:2:14:", "at least 1"),
            ("concurrency: -3\n", "t.yaml:2:14:", "at least 1"),
            (
                "concurrency: 2.5\n",
                "t.yaml:2:14:",
                "whole number of workers",
            ),
            (
                "rate: .nan\n",
                "t.yaml:2:7:",
                "rate: a positive number of operations per second, got NaN",
            ),
            ("rate: .inf\n", "t.yaml:2:7:", "rate: a positive number"),
            ("rate: 0\n", "t.yaml:2:7:", "rate: a positive number"),
            ("rate: -10\n", "t.yaml:2:7:", "rate: a positive number"),
            (
                "workload: {type: register, ops-per-key: 0}\n",
                "t.yaml:2:",
                "ops-per-key: at least 1",
            ),
            (
                "workload: {type: register, group-size: 0}\n",
                "t.yaml:2:",
                "group-size: at least 1",
            ),
            (
                "nemesis: {faults: [kill], interval: 1e300}\n",
                "t.yaml:2:",
                "longer than the maximum 7d",
            ),
            (
                "nemesis:\n  packet: {loss: .nan}\n",
                "t.yaml:3:",
                "a percentage from 0 to 100",
            ),
            (
                "nemesis:\n  clock: {max-drift: 2}\n",
                "t.yaml:3:",
                "max-drift: a fraction",
            ),
        ] {
            let err = TestDef::parse(&format!("name: t\n{yaml}"), "t.yaml")
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(at), "{yaml}: expected {at}: {err}");
            assert!(err.contains(want), "{yaml}: expected {want:?}: {err}");
        }
    }

    #[test]
    fn validate_checks_what_flags_set() {
        let mut def = TestDef::parse("name: t\n", "t.yaml").unwrap();
        def.validate().unwrap();
        def.rate = Some(f64::NAN);
        assert!(def.validate().unwrap_err().to_string().contains("rate"));
        def.rate = None;
        def.time_limit = Some(Duration::ZERO);
        assert!(
            def.validate()
                .unwrap_err()
                .to_string()
                .contains("time-limit")
        );
        def.time_limit = Some(Duration::from_secs(u64::MAX));
        assert!(
            def.validate()
                .unwrap_err()
                .to_string()
                .contains("maximum 7d")
        );
        def.time_limit = None;
        def.concurrency = Some(Concurrency::PerNode(MAX_CONCURRENCY + 1));
        assert!(def.validate().unwrap_err().to_string().contains("10000"));
        def.concurrency = Some(Concurrency::Fixed(0));
        assert!(
            def.validate()
                .unwrap_err()
                .to_string()
                .contains("concurrency must be at least 1")
        );
        def.concurrency = None;
        // The same check, and words, as when the field is read, under its section.
        def.workload.group_size = Some(0);
        assert_eq!(
            def.validate().unwrap_err().to_string(),
            "workload.group-size: at least 1 worker per key, got 0"
        );
        def.workload.group_size = None;
        def.workload.ops_per_key = Some(0);
        assert_eq!(
            def.validate().unwrap_err().to_string(),
            "workload.ops-per-key: at least 1 operation per key, got 0"
        );
        def.workload.ops_per_key = None;
        def.client.port = Some(0);
        assert!(
            def.validate()
                .unwrap_err()
                .to_string()
                .contains("port: a TCP port")
        );
        def.client.port = None;
        // A client or workload set in code (or by a flag) is checked against the registries.
        def.client.kind = "redis".into();
        assert!(
            def.validate()
                .unwrap_err()
                .to_string()
                .contains("unknown client type `redis`")
        );
        def.client.kind = "memory-stale".into();
        def.client
            .options
            .set("stale-probability", Node::Float(2.0));
        assert_eq!(
            def.validate().unwrap_err().to_string(),
            "client `memory-stale`: stale-probability: a probability from 0 to 1, got 2"
        );
        def.client = ClientDef::default();
        def.workload.kind = "bank".into();
        assert!(
            def.validate()
                .unwrap_err()
                .to_string()
                .contains("unknown workload `bank`")
        );
        def.workload.kind = "unique-ids".into();
        def.validate().unwrap();
        def.nemesis = Some(NemesisDef {
            interval: Some(Duration::from_millis(1)),
            ..NemesisDef::default()
        });
        assert!(
            def.validate()
                .unwrap_err()
                .to_string()
                .contains("nemesis.interval")
        );
    }
}
