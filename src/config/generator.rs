//! The `generator:` section of a test definition: the client side of the test written
//! with Jepsen's combinators ([`splitbrain_workloads::Gen`]; grammar and limits in
//! docs/generators.md).
//!
//! ```yaml
//! generator:
//!   main:                      # default: the mix at `rate`, over independent keys
//!     phases:
//!       - {time-limit: 10s, gen: {rate: 50, gen: mix}}
//!       - sleep: 2s
//!       - {limit: 200, gen: {mix: {read: 1}}}
//!   final:                     # default: the workload's final requests, each worker once
//!     each-worker: [{f: read}]
//! ```
//!
//! Every node is read with its line and column ([`Gen::At`]), so an error found when the
//! generator is checked against the workload names its line too. The test's `time-limit`
//! still bounds the main phase.

use std::cell::Cell;
use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, MapAccess, SeqAccess};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;
use splitbrain_history::{Value, duration};
use splitbrain_workloads::generator::combinators::{MAX_DEPTH, MAX_NODES};
use splitbrain_workloads::{Gen, Independent, Request};

/// `generator:`: the main and the final phase, each optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratorDef {
    /// The main phase, alongside the nemesis (bounded by the test's `time-limit`).
    #[serde(
        default,
        deserialize_with = "placed",
        skip_serializing_if = "Option::is_none"
    )]
    pub main: Option<GenYaml>,
    /// The final phase, after every fault is healed.
    #[serde(
        default,
        rename = "final",
        deserialize_with = "placed",
        skip_serializing_if = "Option::is_none"
    )]
    pub finals: Option<GenYaml>,
}

/// A part's generator with its own place, so that an error in the root names its line.
fn placed<'de, D: Deserializer<'de>>(d: D) -> Result<Option<GenYaml>, D::Error> {
    Ok(Some(GenYaml(spanned(Spanned::<GenYaml>::deserialize(d)?))))
}

/// A generator as written in YAML.
#[derive(Debug, Clone, PartialEq)]
pub struct GenYaml(pub Gen);

thread_local! {
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    static NODES: Cell<usize> = const { Cell::new(0) };
}

/// Counts nesting while a generator is read, so that the limits are errors at their line.
struct Nested;

impl Nested {
    fn enter<E: de::Error>() -> Result<Nested, E> {
        let d = DEPTH.with(|c| {
            c.set(c.get() + 1);
            c.get()
        });
        if d == 1 {
            NODES.with(|c| c.set(0));
        }
        let n = NODES.with(|c| {
            c.set(c.get() + 1);
            c.get()
        });
        let nested = Nested;
        if d > MAX_DEPTH {
            return Err(E::custom(format!(
                "generator: nested deeper than {MAX_DEPTH} levels"
            )));
        }
        if n > MAX_NODES {
            return Err(E::custom(format!(
                "generator: more than {MAX_NODES} combinators"
            )));
        }
        Ok(nested)
    }
}

impl Drop for Nested {
    fn drop(&mut self) {
        DEPTH.with(|c| c.set(c.get().saturating_sub(1)));
    }
}

/// The combinators that wrap a `gen:`, and those that take their generator(s) as value.
const WRAPPERS: &[&str] = &["rate", "stagger", "limit", "time-limit", "each-key"];
const KEYS: &[&str] = &[
    "mix",
    "f",
    "phases",
    "once",
    "each-worker",
    "sleep",
    "rate",
    "stagger",
    "limit",
    "time-limit",
    "each-key",
];

impl<'de> Deserialize<'de> for GenYaml {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<GenYaml, D::Error> {
        let _depth = Nested::enter()?;
        d.deserialize_any(GenVisitor).map(GenYaml)
    }
}

/// A generator with its place.
fn spanned(s: Spanned<GenYaml>) -> Gen {
    let l = s.referenced;
    if l.line() == 0 {
        return s.value.0;
    }
    Gen::At(
        splitbrain_workloads::options::Location {
            line: l.line(),
            column: l.column(),
        },
        Box::new(s.value.0),
    )
}

struct GenVisitor;

impl<'de> de::Visitor<'de> for GenVisitor {
    type Value = Gen;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "a generator: `mix`, a list, or a mapping with one of {}",
            KEYS.join(", ")
        )
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Gen, E> {
        match s {
            "mix" => Ok(Gen::Mix(None)),
            _ => Err(E::custom(format!(
                "unknown generator `{s}`; expected `mix`, a list of generators, or a mapping with one of {}",
                KEYS.join(", ")
            ))),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Gen, A::Error> {
        gens(seq).map(Gen::Seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Gen, A::Error> {
        let mut head: Option<(String, Gen)> = None;
        let mut child: Option<Gen> = None;
        let mut value: Option<Value> = None;
        let mut param: Option<Param> = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "gen" => {
                    if child.is_some() {
                        return Err(de::Error::duplicate_field("gen"));
                    }
                    child = Some(spanned(map.next_value()?));
                }
                "value" => value = Some(map.next_value()?),
                k if WRAPPERS.contains(&k) => {
                    if let Some((h, _)) = &head {
                        return Err(two(h, k));
                    }
                    param = Some(match k {
                        "rate" => Param::Rate(map.next_value::<Rate>()?.0),
                        "stagger" => Param::Stagger(map.next_value::<Positive>()?.0),
                        "time-limit" => Param::TimeLimit(map.next_value::<Positive>()?.0),
                        "limit" => Param::Limit(map.next_value::<Count>()?.0),
                        _ => Param::EachKey(map.next_value::<EachKey>()?.0),
                    });
                    head = Some((k.to_owned(), Gen::Mix(None)));
                }
                k => {
                    if let Some((h, _)) = &head {
                        return Err(two(h, k));
                    }
                    let g = match k {
                        "mix" => Gen::Mix(map.next_value::<Mix>()?.0),
                        "f" => Gen::Request(Request::new(&map.next_value::<String>()?, Value::Nil)),
                        "phases" => Gen::Phases(map.next_value::<Gens>()?.0),
                        "once" => Gen::Once(Box::new(spanned(map.next_value()?))),
                        "each-worker" => Gen::EachWorker(Box::new(spanned(map.next_value()?))),
                        "sleep" => Gen::Sleep(map.next_value::<Positive>()?.0),
                        other => return Err(de::Error::unknown_field(other, KEYS)),
                    };
                    head = Some((k.to_owned(), g));
                }
            }
        }
        let Some((k, g)) = head else {
            return Err(de::Error::custom(format!(
                "an empty generator; expected one of {}",
                KEYS.join(", ")
            )));
        };
        let g = match (g, value) {
            (Gen::Request(mut r), Some(v)) => {
                r.value = v;
                Gen::Request(r)
            }
            (g, None) => g,
            (_, Some(_)) => {
                return Err(de::Error::custom(format!(
                    "`value` belongs to a request (`f:`), not to `{k}`"
                )));
            }
        };
        let Some(param) = param else {
            if child.is_some() {
                return Err(de::Error::custom(format!(
                    "`{k}` takes no `gen:`; only {} wrap one",
                    WRAPPERS.join(", ")
                )));
            }
            return Ok(g);
        };
        let Some(c) = child else {
            return Err(de::Error::custom(format!(
                "`{k}` needs the generator it wraps: add `gen:`, e.g. {{{k}: ..., gen: mix}}"
            )));
        };
        let c = Box::new(c);
        Ok(match param {
            Param::Rate(r) => Gen::Rate(r, c),
            Param::Stagger(d) => Gen::Stagger(d, c),
            Param::TimeLimit(d) => Gen::TimeLimit(d, c),
            Param::Limit(n) => Gen::Limit(n, c),
            Param::EachKey(i) => Gen::EachKey(i, c),
        })
    }
}

enum Param {
    Rate(f64),
    Stagger(Duration),
    TimeLimit(Duration),
    Limit(u64),
    EachKey(Option<Independent>),
}

fn two<E: de::Error>(a: &str, b: &str) -> E {
    E::custom(format!(
        "`{a}` and `{b}` in one mapping; nest them instead, e.g. {{{a}: ..., gen: {{{b}: ...}}}}"
    ))
}

fn gens<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Vec<Gen>, A::Error> {
    let mut out = Vec::new();
    while let Some(g) = seq.next_element::<Spanned<GenYaml>>()? {
        out.push(spanned(g));
    }
    Ok(out)
}

struct Gens(Vec<Gen>);

impl<'de> Deserialize<'de> for Gens {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Gens, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Gens;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of generators")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Gens, A::Error> {
                gens(seq).map(Gens)
            }
        }
        d.deserialize_seq(V)
    }
}

/// `mix: {read: 1, write: 2}`, or `mix: default` for the workload's.
struct Mix(Option<Vec<(Box<str>, u32)>>);

impl<'de> Deserialize<'de> for Mix {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Mix, D::Error> {
        let m: Option<std::collections::BTreeMap<String, u32>> = Option::deserialize(d)?;
        Ok(Mix(m.map(|m| {
            m.into_iter()
                .map(|(f, w)| (f.into_boxed_str(), w))
                .collect()
        })))
    }
}

/// A duration of the one grammar, more than zero.
struct Positive(Duration);

impl<'de> Deserialize<'de> for Positive {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Positive, D::Error> {
        let v = duration::required::deserialize(d)?;
        if v.is_zero() {
            return Err(de::Error::custom("a duration of more than 0s, e.g. 5s"));
        }
        Ok(Positive(v))
    }
}

struct Rate(f64);

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Rate, D::Error> {
        let r = f64::deserialize(d)?;
        crate::config::numbers::check_rate(r).map_err(de::Error::custom)?;
        Ok(Rate(r))
    }
}

struct Count(u64);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Count, D::Error> {
        let n = u64::deserialize(d)?;
        if n == 0 {
            return Err(de::Error::custom("limit: at least 1 operation, got 0"));
        }
        Ok(Count(n))
    }
}

/// `each-key: {group-size: 3, ops-per-key: 100}`; either may be left out (`{}`: the
/// node count, 100).
struct EachKey(Option<Independent>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct EachKeyFields {
    #[serde(default, deserialize_with = "crate::config::numbers::group_size")]
    group_size: Option<usize>,
    #[serde(default, deserialize_with = "crate::config::numbers::ops_per_key")]
    ops_per_key: Option<u64>,
}

impl<'de> Deserialize<'de> for EachKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<EachKey, D::Error> {
        let f: Option<EachKeyFields> = Option::deserialize(d)?;
        Ok(EachKey(match f {
            Some(EachKeyFields {
                group_size: None,
                ops_per_key: None,
            })
            | None => None,
            Some(EachKeyFields {
                group_size: Some(group_size),
                ops_per_key: Some(ops_per_key),
            }) => Some(Independent {
                group_size,
                ops_per_key,
            }),
            Some(_) => {
                return Err(de::Error::custom(
                    "each-key: give both group-size and ops-per-key, or neither (`{}`: groups of the node count, 100 ops per key)",
                ));
            }
        }))
    }
}

impl Serialize for GenYaml {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        fn one<S: Serializer, T: Serialize + ?Sized>(
            s: S,
            k: &str,
            v: &T,
        ) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(Some(1))?;
            m.serialize_entry(k, v)?;
            m.end()
        }
        fn wrap<S: Serializer, T: Serialize + ?Sized>(
            s: S,
            k: &str,
            v: &T,
            g: &Gen,
        ) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(Some(2))?;
            m.serialize_entry(k, v)?;
            m.serialize_entry("gen", &GenYaml(g.clone()))?;
            m.end()
        }
        let all = |xs: &[Gen]| xs.iter().cloned().map(GenYaml).collect::<Vec<_>>();
        match &self.0 {
            Gen::At(_, g) => GenYaml((**g).clone()).serialize(s),
            Gen::Mix(None) => s.serialize_str("mix"),
            Gen::Mix(Some(m)) => {
                let m: std::collections::BTreeMap<&str, u32> =
                    m.iter().map(|(f, w)| (&**f, *w)).collect();
                one(s, "mix", &m)
            }
            Gen::Request(r) => {
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("f", &*r.f)?;
                if r.value != Value::Nil {
                    m.serialize_entry("value", &r.value)?;
                }
                m.end()
            }
            Gen::Seq(xs) => all(xs).serialize(s),
            Gen::Phases(xs) => one(s, "phases", &all(xs)),
            Gen::Once(g) => one(s, "once", &GenYaml((**g).clone())),
            Gen::EachWorker(g) => one(s, "each-worker", &GenYaml((**g).clone())),
            Gen::Sleep(d) => one(s, "sleep", &duration::format(*d)),
            Gen::Rate(r, g) => wrap(s, "rate", r, g),
            Gen::Stagger(d, g) => wrap(s, "stagger", &duration::format(*d), g),
            Gen::TimeLimit(d, g) => wrap(s, "time-limit", &duration::format(*d), g),
            Gen::Limit(n, g) => wrap(s, "limit", n, g),
            Gen::EachKey(None, g) => wrap(
                s,
                "each-key",
                &std::collections::BTreeMap::<&str, u64>::new(),
                g,
            ),
            Gen::EachKey(Some(i), g) => {
                let m: std::collections::BTreeMap<&str, u64> = [
                    ("group-size", i.group_size as u64),
                    ("ops-per-key", i.ops_per_key),
                ]
                .into();
                wrap(s, "each-key", &m, g)
            }
        }
    }
}

/// A generator read from YAML, without its places: for comparing in tests.
pub fn strip(g: &Gen) -> Gen {
    let b = |g: &Gen| Box::new(strip(g));
    match g {
        Gen::At(_, g) => strip(g),
        Gen::Seq(xs) => Gen::Seq(xs.iter().map(strip).collect()),
        Gen::Phases(xs) => Gen::Phases(xs.iter().map(strip).collect()),
        Gen::Once(g) => Gen::Once(b(g)),
        Gen::EachWorker(g) => Gen::EachWorker(b(g)),
        Gen::Rate(r, g) => Gen::Rate(*r, b(g)),
        Gen::Stagger(d, g) => Gen::Stagger(*d, b(g)),
        Gen::TimeLimit(d, g) => Gen::TimeLimit(*d, b(g)),
        Gen::Limit(n, g) => Gen::Limit(*n, b(g)),
        Gen::EachKey(i, g) => Gen::EachKey(*i, b(g)),
        g => g.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TestDef;

    const HEAD: &str = "name: g\nclient: {type: memory}\nworkload: {type: register}\n";
    const SET: &str = "name: g\nclient: {type: memory}\nworkload: {type: set}\n";

    fn def(yaml: &str) -> anyhow::Result<TestDef> {
        TestDef::parse(&format!("{HEAD}{yaml}"), "g.yaml")
    }

    #[test]
    fn the_documented_example_reads_and_round_trips() {
        let d = def("generator:\n  main:\n    phases:\n      - {time-limit: 10s, gen: {rate: 50, gen: {each-key: {group-size: 2, ops-per-key: 10}, gen: mix}}}\n      - sleep: 2s\n      - {limit: 200, gen: {mix: {read: 1}}}\n      - once: {f: write, value: 3}\n  final:\n    each-worker: [{f: read}]\n").unwrap();
        let g = d.generator.as_ref().unwrap();
        let main = strip(&g.main.as_ref().unwrap().0);
        let read = Gen::Mix(Some(vec![("read".into(), 1)]));
        assert_eq!(
            main,
            Gen::Phases(vec![
                Gen::TimeLimit(
                    Duration::from_secs(10),
                    Box::new(Gen::Rate(
                        50.0,
                        Box::new(Gen::EachKey(
                            Some(Independent {
                                group_size: 2,
                                ops_per_key: 10
                            }),
                            Box::new(Gen::Mix(None))
                        ))
                    ))
                ),
                Gen::Sleep(Duration::from_secs(2)),
                Gen::Limit(200, Box::new(read)),
                Gen::Once(Box::new(Gen::Request(Request::new("write", Value::Int(3))))),
            ])
        );
        // Written back (the stored test.yaml), it reads the same.
        let text = d.to_yaml().unwrap();
        let again = TestDef::parse(&text, "test.yaml").unwrap();
        let g2 = again.generator.unwrap();
        assert_eq!(strip(&g2.main.unwrap().0), main, "{text}");
        assert_eq!(
            strip(&g2.finals.unwrap().0),
            Gen::EachWorker(Box::new(Gen::Seq(vec![Gen::Request(Request::new(
                "read",
                Value::Nil
            ))])))
        );
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let def = |yaml: &str| {
            // each-key needs a workload without independent keys to fail on.
            let head = if yaml.contains("each-key") { SET } else { HEAD };
            TestDef::parse(&format!("{head}{yaml}"), "g.yaml")
        };
        for (yaml, want, line) in [
            // Read: the shape and the numbers.
            (
                "generator:\n  main:\n    - sleep: 1s\n    - sleep: 0s\n",
                "more than 0s",
                4,
            ),
            (
                "generator:\n  main:\n    - {rate: 0, gen: mix}\n",
                "rate: a positive number",
                3,
            ),
            (
                "generator:\n  main:\n    - {limit: 0, gen: mix}\n",
                "at least 1 operation",
                3,
            ),
            (
                "generator:\n  main:\n    - {limit: 5}\n",
                "needs the generator it wraps",
                3,
            ),
            (
                "generator:\n  main:\n    - {once: mix, gen: mix}\n",
                "takes no `gen:`",
                3,
            ),
            (
                "generator:\n  main:\n    - {mix: {read: 1}, sleep: 1s}\n",
                "nest them instead",
                3,
            ),
            (
                "generator:\n  main:\n    - mux\n",
                "unknown generator `mux`",
                3,
            ),
            ("generator:\n  main:\n    - {repeat: mix}\n", "repeat", 3),
            (
                "generator:\n  main:\n    - {each-key: {group-size: 2}, gen: mix}\n",
                "give both",
                3,
            ),
            ("generator:\n  mian: mix\n", "mian", 2),
            // Checked against the workload, at the line of the generator concerned.
            (
                "generator:\n  main:\n    - sleep: 1s\n    - {mix: {read: 1, add: 1}}\n",
                "no function `add`",
                4,
            ),
            (
                "generator:\n  final:\n    each-worker:\n      - {f: read}\n      - {f: gnerate}\n",
                "no function `gnerate`",
                5,
            ),
            (
                "generator:\n  main:\n    - {time-limit: 5s, gen: {phases: [mix, mix]}}\n",
                "`phases` cannot be inside time-limit",
                3,
            ),
            (
                "generator:\n  main: {mix: {add: 1}}\n",
                "no function `add`",
                2,
            ),
            (
                "generator:\n  main:\n    - {each-key: {}, gen: mix}\n",
                "does not run over independent keys",
                3,
            ),
        ] {
            let e = format!("{:#}", def(yaml).unwrap_err());
            assert!(e.contains(want), "{yaml}: {e}");
            // The three lines of HEAD come first.
            assert!(
                e.contains(&format!("g.yaml:{}:", line + 3)),
                "{yaml}: line {line}: {e}"
            );
        }
        // A written main phase says its own rate.
        let e = format!(
            "{:#}",
            def("rate: 10\ngenerator: {main: mix}\n").unwrap_err()
        );
        assert!(e.contains("rate shapes the default main phase"), "{e}");
    }

    #[test]
    fn depth_and_size_are_limited() {
        let deep = format!(
            "generator:\n  main: {}mix{}\n",
            "[".repeat(40),
            "]".repeat(40)
        );
        let e = format!("{:#}", def(&deep).unwrap_err());
        assert!(
            e.contains("nested deeper than 32 levels") && e.contains("g.yaml:"),
            "{e}"
        );
        let ok = format!(
            "generator:\n  main: {}mix{}\n",
            "[".repeat(30),
            "]".repeat(30)
        );
        def(&ok).unwrap();
        let wide = format!(
            "generator:\n  main: [{}]\n",
            vec!["{sleep: 1s}"; MAX_NODES].join(", ")
        );
        let e = format!("{:#}", def(&wide).unwrap_err());
        assert!(e.contains("more than 1000 combinators"), "{e}");
        let fits = format!(
            "generator:\n  main: [{}]\n",
            vec!["{sleep: 1s}"; MAX_NODES - 1].join(", ")
        );
        def(&fits).unwrap();
    }
}
