//! What a client is: [`Request`] in, [`Outcome`] out, opened per process by a
//! [`ClientFactory`], with Jepsen's lifecycle: open, setup, invoke, teardown, close.

use std::fmt;

use async_trait::async_trait;
use splitbrain_history::{OpType, Value};

/// One operation the generator wants invoked: Jepsen's `{:f :cas, :value [1 2]}`,
/// plus the key of an independent (multi-key) workload.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The function: `read`, `write`, `cas`, `add`, ...
    pub f: Box<str>,
    /// The argument: the value to write, the `[old new]` pair of a cas, the
    /// element to add; nil for reads.
    pub value: Value,
    /// The key, for workloads over independent keys (the register workload).
    pub key: Option<Value>,
}

impl Request {
    pub fn new(f: &str, value: Value) -> Request {
        Request {
            f: f.into(),
            value,
            key: None,
        }
    }

    pub fn with_key(mut self, key: Value) -> Request {
        self.key = Some(key);
        self
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(k) => write!(f, ":{} [{k} {}]", self.f, self.value),
            None => write!(f, ":{} {}", self.f, self.value),
        }
    }
}

/// How an invocation ended; the runner records it as the op's completion.
///
/// The rule that keeps results trustworthy: [`Outcome::Fail`] only when the
/// operation *certainly* did not take effect (the connection was refused before
/// the request was sent, a compare-and-set whose comparison failed, an error
/// the database returns only for requests it rejected). Anything else that is
/// not a success is [`Outcome::Info`]: it may have taken effect, or may still.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// It took effect; the completion value (the value read, the value written, ...).
    Ok(Value),
    /// It certainly did not take effect; the error.
    Fail(Value),
    /// Unknown whether it took effect; the error.
    Info(Value),
}

impl Outcome {
    /// `fail` with a text error.
    pub fn fail(error: impl Into<String>) -> Outcome {
        Outcome::Fail(Value::from(error.into()))
    }

    /// `info` with a text error.
    pub fn info(error: impl Into<String>) -> Outcome {
        Outcome::Info(Value::from(error.into()))
    }

    /// The completion's op type.
    pub fn op_type(&self) -> OpType {
        match self {
            Outcome::Ok(_) => OpType::Ok,
            Outcome::Fail(_) => OpType::Fail,
            Outcome::Info(_) => OpType::Info,
        }
    }

    /// The completion value of an `ok`, the error of a `fail` or `info`.
    pub fn value(&self) -> &Value {
        match self {
            Outcome::Ok(v) | Outcome::Fail(v) | Outcome::Info(v) => v,
        }
    }

    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok(_))
    }
}

/// Where a client connects: one node of the cluster under test.
///
/// Clients connect to `host` only (never to anything the database redirects
/// them to), so a test's traffic stays on the nodes the user named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The node's name, e.g. `n1`.
    pub name: Box<str>,
    /// An IP address or host name, e.g. `10.77.0.1`.
    pub host: Box<str>,
    /// The database's client port; `None` for the client's default (2379 for etcd).
    pub port: Option<u16>,
}

impl Target {
    pub fn new(name: &str, host: &str) -> Target {
        Target {
            name: name.into(),
            host: host.into(),
            port: None,
        }
    }

    pub fn with_port(mut self, port: u16) -> Target {
        self.port = Some(port);
        self
    }

    /// `host:port`, with IPv6 addresses in brackets.
    pub fn authority(&self, default_port: u16) -> String {
        let port = self.port.unwrap_or(default_port);
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{port}", self.host)
        } else {
            format!("{}:{port}", self.host)
        }
    }
}

/// A connection to the database used by one process, written for one
/// (database, workload) pair: `etcd/register`, `memory/set`, ...
///
/// The lifecycle is Jepsen's. [`ClientFactory::open`] opens one per process;
/// [`Client::setup`] runs once per test, on one opened client, before the main
/// phase (create tables, seed accounts); [`Client::invoke`] runs the operations;
/// [`Client::teardown`] runs once, on one opened client, after the final phase;
/// [`Client::close`] releases each client.
///
/// The runner calls `invoke` one request at a time and enforces the per-op
/// timeout itself with `tokio::time::timeout`, recording `info` and dropping
/// the future: implementations must be cancel-safe (dropping a request midway
/// leaves the client usable or, at worst, closed). After an `info` the runner
/// closes the client and opens a new one for the worker's fresh process.
#[async_trait]
pub trait Client: Send {
    /// Once per test, before the main phase: whatever the workload needs to exist
    /// in the database. An error stops the test before any operation is recorded.
    async fn setup(&mut self) -> anyhow::Result<()> {
        Ok(())
    }

    async fn invoke(&mut self, req: &Request) -> Outcome;

    /// Once per test, after the final phase: removes what `setup` made, when the
    /// database outlives the test. An error is reported, never a verdict.
    async fn teardown(&mut self) -> anyhow::Result<()> {
        Ok(())
    }

    /// Releases connections. Dropping the client must release them too.
    async fn close(&mut self) {}
}

/// Opens a [`Client`] for a process talking to one node (Jepsen's `open!`).
#[async_trait]
pub trait ClientFactory: Send + Sync {
    /// Opens a client for `process` against `target`. An error here means no
    /// operation was attempted; the runner reports it and may retry.
    async fn open(&self, target: &Target, process: u64) -> anyhow::Result<Box<dyn Client>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_brackets_ipv6() {
        assert_eq!(
            Target::new("n1", "10.77.0.1").authority(2379),
            "10.77.0.1:2379"
        );
        assert_eq!(
            Target::new("n1", "::1").with_port(5).authority(2379),
            "[::1]:5"
        );
    }

    #[test]
    fn outcome_maps_to_op_type() {
        assert_eq!(Outcome::Ok(Value::Nil).op_type(), OpType::Ok);
        assert_eq!(Outcome::fail("x").op_type(), OpType::Fail);
        assert_eq!(Outcome::info("x").value(), &Value::str("x"));
    }
}
