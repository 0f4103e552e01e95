//! Every client a test definition can name (`client.type`), in ONE table:
//! [`CLIENTS`]. The names in "expected one of" errors come from it.
//!
//! A client type is a [`ClientType`]: its name, whether it needs nodes, a parser of
//! its own `options:` block (its options type `O`, read with [`Options::parse`]),
//! and its workloads, each with a constructor. A client is written for one
//! (database, workload) pair: `etcd/register` is one module, `etcd/set` another.
//! Adding a client is one module with its `ClientType` plus one line here; adding
//! a workload to a client is one module plus one line in its `workloads`.
//!
//! The `process` client ([`crate::process`]) is one entry too: an external program
//! speaking JSON lines, for every workload.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::options::{Options, OptionsError};
use crate::workload::Workload;
use crate::{ClientFactory, Target, etcd, memory, process};

/// Every client type, in the order help texts list them.
pub static CLIENTS: &[&dyn ClientKind] = &[
    &etcd::ETCD,
    &memory::MEMORY,
    &memory::MEMORY_STALE,
    &process::PROCESS,
];

/// What a constructor knows besides its client's options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientContext {
    /// The test's seed: clients that draw at random (the stale store) derive from it.
    pub seed: u64,
    /// The test's name.
    pub test: String,
    /// The workload's name: [`ClientKind::open`] sets it to the workload it opens for.
    pub workload: &'static str,
    /// The nodes the workers' clients are pointed at (worker `i` at `nodes[i mod n]`):
    /// the cluster's, or the one `local` node at 127.0.0.1 of a test without nodes.
    pub nodes: Vec<Target>,
    /// The run's directory in the store, for files a client keeps (a process client's
    /// stderr); `None` outside a run.
    pub run_dir: Option<PathBuf>,
}

impl ClientContext {
    /// A context that knows only the seed (tests, benchmarks, checks of a definition).
    pub fn new(seed: u64) -> ClientContext {
        ClientContext {
            seed,
            ..ClientContext::default()
        }
    }
}

/// Opens the clients of one (database, workload) pair, from the client's options.
pub type Opener<O> = fn(&O, &ClientContext) -> Arc<dyn ClientFactory>;

/// One client type, with its options type `O`.
pub struct ClientType<O: 'static> {
    /// `client.type` in test definitions.
    pub name: &'static str,
    /// One line for help texts.
    pub about: &'static str,
    /// Whether it talks to the nodes (a database client) or runs in process.
    pub needs_nodes: bool,
    /// The workloads it has, each with its constructor.
    pub workloads: &'static [(&'static str, Opener<O>)],
    /// What the options change about the client, for the report ("serializable reads").
    pub describe: fn(&O) -> Option<String>,
}

/// A [`ClientType`] of any options type: what the registry table holds.
pub trait ClientKind: Sync {
    fn name(&self) -> &'static str;
    fn about(&self) -> &'static str;
    fn needs_nodes(&self) -> bool;
    /// The names of its workloads, in its own order.
    fn workloads(&self) -> Vec<&'static str>;
    /// Reads its `options:` block (and forgets the result): errors carry their place.
    fn check(&self, options: &Options) -> Result<(), OptionsError>;
    /// What the options change about the client, if anything worth saying.
    fn describe(&self, options: &Options) -> Option<String>;
    /// Whether its `options:` block is not its own settings but data it passes on
    /// verbatim (the process client hands it to its program). Then the block is read as
    /// one option named `options`, and its own settings are the keys written next to
    /// `type:` (`command:`).
    fn passes_options_on(&self) -> bool {
        false
    }
    /// Rewrites the paths in its options that are relative to `base`, the directory of
    /// the test definition they were read from.
    fn resolve_paths(&self, _options: &mut Options, _base: &Path) {}
    /// The client factory for `workload` with `options`.
    fn open(
        &self,
        workload: &dyn Workload,
        options: &Options,
        context: &ClientContext,
    ) -> Result<Arc<dyn ClientFactory>, ClientError>;
}

impl<O: DeserializeOwned + 'static> ClientKind for ClientType<O> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn about(&self) -> &'static str {
        self.about
    }

    fn needs_nodes(&self) -> bool {
        self.needs_nodes
    }

    fn workloads(&self) -> Vec<&'static str> {
        self.workloads.iter().map(|(w, _)| *w).collect()
    }

    fn check(&self, options: &Options) -> Result<(), OptionsError> {
        options.parse::<O>().map(drop)
    }

    fn describe(&self, options: &Options) -> Option<String> {
        (self.describe)(&options.parse::<O>().ok()?)
    }

    fn open(
        &self,
        workload: &dyn Workload,
        options: &Options,
        context: &ClientContext,
    ) -> Result<Arc<dyn ClientFactory>, ClientError> {
        let open = self
            .workloads
            .iter()
            .find(|(w, _)| *w == workload.name())
            .map(|(_, open)| open)
            .ok_or_else(|| ClientError::NoWorkload {
                client: self.name,
                workload: workload.name(),
                has: self.workloads().join(", "),
            })?;
        let options = options.parse::<O>().map_err(|e| ClientError::Options {
            client: self.name,
            error: e,
        })?;
        let context = ClientContext {
            workload: workload.name(),
            ..context.clone()
        };
        Ok(open(&options, &context))
    }
}

/// Why a client cannot be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("unknown client type `{0}`; expected one of: {names}", names = names().join(", "))]
    Unknown(String),
    #[error("client `{client}` has no `{workload}` workload; it has {has}")]
    NoWorkload {
        client: &'static str,
        workload: &'static str,
        has: String,
    },
    #[error("client `{client}`: {error}")]
    Options {
        client: &'static str,
        error: OptionsError,
    },
}

/// Every client type's name, in table order.
pub fn names() -> Vec<&'static str> {
    CLIENTS.iter().map(|c| c.name()).collect()
}

/// The client type named `name`.
pub fn find(name: &str) -> Result<&'static dyn ClientKind, ClientError> {
    CLIENTS
        .iter()
        .copied()
        .find(|c| c.name() == name)
        .ok_or_else(|| ClientError::Unknown(name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::{Node, Spot};
    use crate::workload::{self, WORKLOADS};

    #[test]
    fn every_client_is_listed_once_and_has_real_workloads() {
        for (i, c) in CLIENTS.iter().enumerate() {
            assert!(
                CLIENTS[..i].iter().all(|o| o.name() != c.name()),
                "{}",
                c.name()
            );
            assert_eq!(find(c.name()).unwrap().name(), c.name());
            for w in c.workloads() {
                workload::find(w).unwrap();
            }
            // Default options are valid for every client but `process`, which must be
            // told its program.
            if c.name() == "process" {
                let e = c.check(&Options::default()).unwrap_err();
                assert!(e.message.contains("missing field `command`"), "{e}");
            } else {
                c.check(&Options::default()).unwrap();
            }
        }
        assert_eq!(names(), ["etcd", "memory", "memory-stale", "process"]);
        let e = find("redis").err().unwrap();
        assert_eq!(
            e.to_string(),
            "unknown client type `redis`; expected one of: etcd, memory, memory-stale, process"
        );
    }

    #[test]
    fn every_workload_has_an_etcd_and_an_in_process_client() {
        for w in WORKLOADS {
            for c in ["etcd", "memory", "memory-stale"] {
                let kind = find(c).unwrap();
                assert!(kind.workloads().contains(&w.name()), "{c} lacks {w}");
                kind.open(*w, &Options::default(), &ClientContext::new(1))
                    .unwrap();
            }
            assert!(find("etcd").unwrap().needs_nodes());
            assert!(!find("memory").unwrap().needs_nodes());
        }
    }

    static REGISTER_ONLY: ClientType<memory::MemoryOptions> = ClientType {
        name: "register-only",
        about: "test",
        needs_nodes: false,
        workloads: &[("register", |_, _| {
            Arc::new(memory::MemoryFactory::<memory::register::Registers>::linearizable())
        })],
        describe: |_| None,
    };

    #[test]
    fn a_missing_pair_says_what_the_client_has() {
        let set = workload::find("set").unwrap();
        let e = REGISTER_ONLY
            .open(set, &Options::default(), &ClientContext::new(1))
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "client `register-only` has no `set` workload; it has register"
        );
        REGISTER_ONLY
            .open(
                workload::find("register").unwrap(),
                &Options::default(),
                &ClientContext::new(1),
            )
            .unwrap();
    }

    #[test]
    fn options_are_each_clients_own() {
        let mut o = Options::default();
        o.insert(
            Spot::bare("stale-probability".into()),
            Spot::bare(Node::Float(0.5)),
        )
        .unwrap();
        find("memory-stale").unwrap().check(&o).unwrap();
        let e = find("memory").unwrap().check(&o).unwrap_err();
        assert!(
            e.message.contains("unknown field `stale-probability`"),
            "{e}"
        );
        let e = find("etcd").unwrap().check(&o).unwrap_err();
        assert!(
            e.message.contains("unknown field `stale-probability`")
                && e.message.contains("read-consistency"),
            "{e}"
        );
        let mut bad = Options::default();
        bad.set("stale-probability", Node::Float(1.5));
        let e = find("memory-stale").unwrap().check(&bad).unwrap_err();
        assert_eq!(
            e.message,
            "stale-probability: a probability from 0 to 1, got 1.5"
        );
        assert_eq!(
            find("etcd").unwrap().describe(&{
                let mut o = Options::default();
                o.set("read-consistency", Node::Str("serializable".into()));
                o
            }),
            Some("serializable reads".into())
        );
        assert_eq!(find("etcd").unwrap().describe(&Options::default()), None);
    }
}
