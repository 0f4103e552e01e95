//! Test definitions: one YAML file names the database, the client, the
//! workload, the nemesis, the checkers and the knobs (concurrency, rate, time
//! limit); Jepsen-style flags override any of them.
//!
//! ```yaml
//! name: etcd-register
//! db: ../dbs/etcd.yaml          # relative to this file
//! client: { type: etcd, read-consistency: linearizable }
//! workload: { type: register, ops-per-key: 200 }
//! concurrency: 2n               # a number, or a multiple of the node count
//! rate: 100                     # ops/s over all workers
//! time-limit: 15s
//! ```
//!
//! Unknown fields are rejected with their file, line and the valid names.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

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
    /// Target operations per second over all workers; none means as fast as possible.
    pub rate: Option<f64>,
    #[serde(default, with = "opt_duration")]
    pub time_limit: Option<Duration>,
    /// How long an op may take before it is recorded as `info`.
    #[serde(default, with = "opt_duration")]
    pub op_timeout: Option<Duration>,
    pub seed: Option<u64>,
    /// Faults to inject and their schedule (`--nemesis`, `--nemesis-interval`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nemesis: Option<NemesisDef>,
    /// Leave the database running after the test (for poking at it by hand).
    #[serde(default)]
    pub leave_db_running: bool,
}

/// The client that talks to the database.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ClientDef {
    /// `etcd` (v3 JSON gateway), or the in-process `memory` / `memory-stale`
    /// stores used to test splitbrain itself.
    #[serde(rename = "type")]
    pub kind: String,
    /// etcd: `linearizable` (default) or `serializable` (reads served by the
    /// local member without a quorum: known to be unsafe).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_consistency: Option<String>,
    /// The database's client port on every node (etcd: 2379).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// memory-stale: the probability that a read returns an old value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale_probability: Option<f64>,
}

impl Default for ClientDef {
    fn default() -> ClientDef {
        ClientDef {
            kind: "etcd".into(),
            read_consistency: None,
            port: None,
            stale_probability: None,
        }
    }
}

/// What the clients do.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct WorkloadDef {
    /// `register`, `set` or `counter`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Function weights, e.g. `{read: 2, write: 1, cas: 1}`; default per workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mix: Option<std::collections::BTreeMap<String, u32>>,
    /// Independent keys (register): workers per key; default the node count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_size: Option<usize>,
    /// Independent keys (register): a group moves to a fresh key after this many ops.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ops_per_key: Option<u64>,
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

/// `--concurrency`: a number of workers, or `Kn` for K times the node count (Jepsen's `2n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concurrency {
    Fixed(usize),
    PerNode(usize),
}

impl Concurrency {
    pub fn resolve(self, nodes: usize) -> usize {
        match self {
            Concurrency::Fixed(n) => n,
            Concurrency::PerNode(k) => k * nodes,
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
        let c = if let Some(k) = s.strip_suffix('n') {
            Concurrency::PerNode(if k.is_empty() {
                1
            } else {
                k.parse().map_err(|_| bad())?
            })
        } else {
            Concurrency::Fixed(s.parse().map_err(|_| bad())?)
        };
        if matches!(c, Concurrency::Fixed(0) | Concurrency::PerNode(0)) {
            return Err("concurrency must be at least 1".into());
        }
        Ok(c)
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
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(usize),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Concurrency::from_str(&n.to_string()),
            Raw::S(s) => Concurrency::from_str(&s),
        }
        .map_err(serde::de::Error::custom)
    }
}

/// Durations in YAML are human strings: `15s`, `500ms`, `2m`.
pub mod opt_duration {
    use super::*;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&humantime::format_duration(*d).to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        s.map(|s| parse_duration(&s).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// Parses `15s`, `500ms`, `2m`, `1h30m`; a bare number is seconds (as Jepsen's `--time-limit 60`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Ok(Duration::from_secs_f64(secs));
        }
    }
    humantime::parse_duration(s)
        .map_err(|e| format!("expected a duration like `15s`, `500ms` or `2m`, got `{s}` ({e})"))
}

impl TestDef {
    /// Reads a test definition; errors name the file and line.
    pub fn load(path: &Path) -> Result<TestDef> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the test definition {}", path.display()))?;
        let mut def = TestDef::parse(&text, &path.display().to_string())?;
        // Relative paths inside the file are relative to the file, not to the caller.
        if let Some(db) = &def.db
            && db.is_relative()
        {
            let base = path.parent().unwrap_or(Path::new("."));
            def.db = Some(base.join(db));
        }
        if def.name.is_none() {
            def.name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        }
        Ok(def)
    }

    pub fn parse(text: &str, file: &str) -> Result<TestDef> {
        serde_saphyr::from_str::<TestDef>(text)
            .map_err(|e| anyhow::anyhow!("{file}: invalid test definition:\n{e}"))
    }

    pub fn to_yaml(&self) -> Result<String> {
        serde_saphyr::to_string(self).context("cannot write the test definition as YAML")
    }
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
        assert_eq!(def.client.read_consistency.as_deref(), Some("serializable"));
        let back = TestDef::parse(&def.to_yaml().unwrap(), "back.yaml").unwrap();
        assert_eq!(back.time_limit, def.time_limit);
        assert_eq!(back.concurrency, def.concurrency);
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
        assert!("0".parse::<Concurrency>().is_err());
        assert!("two".parse::<Concurrency>().is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("60").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert!(parse_duration("soon").is_err());
    }
}
