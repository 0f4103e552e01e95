//! A set of sessions, one per node, and running things on all of them at once.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use tokio::task::JoinSet;

use crate::cmd::Cmd;
use crate::error::RemoteError;
use crate::node::Node;
use crate::ssh::{Output, Session, SshConfig};

/// Open sessions to every node of a test, in node order. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Cluster {
    sessions: Vec<Arc<Session>>,
}

impl Cluster {
    /// Connects to all nodes in parallel. Fails with every node that could not be reached.
    pub async fn connect(nodes: &[Node], config: &SshConfig) -> Result<Cluster, NodeErrors> {
        let config = Arc::new(config.clone());
        let mut set = JoinSet::new();
        for (i, node) in nodes.iter().cloned().enumerate() {
            let config = config.clone();
            set.spawn(async move { (i, Session::connect(node, config).await) });
        }
        let mut slots: Vec<Option<Arc<Session>>> = vec![None; nodes.len()];
        let mut errors = Vec::new();
        while let Some(joined) = set.join_next().await {
            match joined.expect("connect task panicked") {
                (i, Ok(s)) => slots[i] = Some(Arc::new(s)),
                (_, Err(e)) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            errors.sort_by(|a, b| a.node().cmp(b.node()));
            return Err(NodeErrors(errors));
        }
        Ok(Cluster {
            sessions: slots.into_iter().map(Option::unwrap).collect(),
        })
    }

    /// Builds a cluster from sessions already open.
    pub fn from_sessions(sessions: Vec<Arc<Session>>) -> Self {
        Cluster { sessions }
    }

    pub fn nodes(&self) -> Vec<Node> {
        self.sessions.iter().map(|s| s.node().clone()).collect()
    }

    pub fn sessions(&self) -> &[Arc<Session>] {
        &self.sessions
    }

    /// The session of the node called `name`.
    pub fn session(&self, name: &str) -> Option<&Arc<Session>> {
        self.sessions.iter().find(|s| s.node().name == name)
    }

    /// Runs `f` on every node concurrently and returns each node's result, in node order.
    pub async fn on_all<F, Fut, T>(&self, f: F) -> NodeResults<T>
    where
        F: Fn(Arc<Session>) -> Fut,
        Fut: Future<Output = Result<T, RemoteError>> + Send + 'static,
        T: Send + 'static,
    {
        on_sessions(&self.sessions, f).await
    }

    /// Runs `cmd` on every node concurrently.
    pub async fn exec_all(&self, cmd: &Cmd) -> NodeResults<Output> {
        let cmd = Arc::new(cmd.clone());
        self.on_all(move |s| {
            let cmd = cmd.clone();
            async move { s.exec(&cmd).await }
        })
        .await
    }
}

/// Runs `f` on the given sessions concurrently, results in the sessions' order.
pub async fn on_sessions<F, Fut, T>(sessions: &[Arc<Session>], f: F) -> NodeResults<T>
where
    F: Fn(Arc<Session>) -> Fut,
    Fut: Future<Output = Result<T, RemoteError>> + Send + 'static,
    T: Send + 'static,
{
    let mut set = JoinSet::new();
    for (i, s) in sessions.iter().enumerate() {
        let fut = f(s.clone());
        set.spawn(async move { (i, fut.await) });
    }
    let mut slots: Vec<Option<Result<T, RemoteError>>> =
        (0..sessions.len()).map(|_| None).collect();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((i, r)) => slots[i] = Some(r),
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    NodeResults(
        sessions
            .iter()
            .zip(slots)
            .map(|(s, r)| (s.node().clone(), r.expect("every task reports")))
            .collect(),
    )
}

/// One result per node, in node order.
#[derive(Debug)]
pub struct NodeResults<T>(pub Vec<(Node, Result<T, RemoteError>)>);

impl<T> NodeResults<T> {
    /// All values if every node succeeded, else every node's error.
    pub fn into_result(self) -> Result<Vec<(Node, T)>, NodeErrors> {
        let mut oks = Vec::new();
        let mut errors = Vec::new();
        for (node, r) in self.0 {
            match r {
                Ok(v) => oks.push((node, v)),
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(oks)
        } else {
            Err(NodeErrors(errors))
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &(Node, Result<T, RemoteError>)> {
        self.0.iter()
    }

    pub fn all_ok(&self) -> bool {
        self.0.iter().all(|(_, r)| r.is_ok())
    }
}

/// Errors from several nodes: one line each.
#[derive(Debug)]
pub struct NodeErrors(pub Vec<RemoteError>);

impl fmt::Display for NodeErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for NodeErrors {}
