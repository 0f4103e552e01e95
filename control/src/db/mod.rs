//! Database lifecycle from a YAML definition ([`DbDef`]): install, configure, start as a
//! daemon, wait until ready, kill and restart, pause and resume, find the leader, collect
//! logs, tear down. Everything runs over a [`Session`]; nothing here knows about the lab.
//!
//! Values reach the node safely: argument lists are quoted word by word, scripts get their
//! values pre-quoted ([`template`]), and the fixed scripts (`control/scripts/*.sh`, one
//! typed function each in [`scripts`]) take their inputs as positional parameters (`"$1"`),
//! never by pasting text.

pub mod def;
pub mod private;
pub mod scripts;
pub mod template;

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use def::{DbDef, DefError};
pub use private::NotPrivate;
pub use template::{Script, Template, Vars};

use crate::cluster::{NodeErrors, NodeResults, on_sessions};
use crate::cmd::Cmd;
use crate::error::RemoteError;
use crate::node::Node;
use crate::ssh::Session;
use crate::{Cluster, quote};
use scripts::Signal;

/// A database definition bound to the nodes of a cluster (templates need all of them:
/// `{{nodes}}`, `{{peers}}`).
#[derive(Clone, Debug)]
pub struct Db {
    def: Arc<DbDef>,
    nodes: Arc<Vec<BoundNode>>,
}

/// One node as the definition sees it: the values other crates need, typed, and every
/// template variable for rendering. Built once by [`Db::for_nodes`], so nothing outside this
/// module looks a variable up by its name.
#[derive(Clone, Debug)]
pub struct BoundNode {
    /// The node's name (`{{node}}`).
    pub name: String,
    /// The address the database listens on (`{{ip}}`): the node's host, resolved.
    pub ip: String,
    /// `{{data_dir}}`, `{{pid_file}}`, `{{log_file}}` as rendered for this node.
    pub data_dir: String,
    pub pid_file: String,
    pub log_file: String,
    vars: Vars,
}

impl BoundNode {
    /// Every template variable of this node.
    pub fn vars(&self) -> &Vars {
        &self.vars
    }
}

impl Db {
    /// Binds `def` to `nodes`, computing every node's variables. A host name is resolved
    /// here for `{{ip}}`; an address is used as it is.
    pub fn for_nodes(def: DbDef, nodes: &[Node]) -> Result<Db, RemoteError> {
        let mut ips = Vec::new();
        for n in nodes {
            ips.push(n.ip()?);
        }
        let join =
            |f: &dyn Fn(usize) -> String| (0..nodes.len()).map(f).collect::<Vec<_>>().join(",");
        let names = join(&|i| nodes[i].name.clone());
        let hosts = join(&|i| nodes[i].host.clone());
        let ip_list = join(&|i| ips[i].clone());
        let mut per_node: Vec<BoundNode> = Vec::new();
        for (i, n) in nodes.iter().enumerate() {
            let mut v = Vars::new();
            v.insert("name".into(), def.name.clone());
            v.insert("node".into(), n.name.clone());
            v.insert("host".into(), n.host.clone());
            v.insert("ip".into(), ips[i].clone());
            v.insert("index".into(), (i + 1).to_string());
            v.insert("nodes".into(), names.clone());
            v.insert("hosts".into(), hosts.clone());
            v.insert("ips".into(), ip_list.clone());
            let user: Vec<(String, String)> = def
                .vars
                .iter()
                .map(|(k, t)| (k.clone(), t.render(&v)))
                .collect();
            v.extend(user);
            let data_dir = def.data_dir.render(&v);
            let pid_file = def.daemon.pid_file.render(&v);
            let log_file = def.daemon.log_file.render(&v);
            v.insert("data_dir".into(), data_dir.clone());
            v.insert("pid_file".into(), pid_file.clone());
            v.insert("log_file".into(), log_file.clone());
            per_node.push(BoundNode {
                name: n.name.clone(),
                ip: ips[i].clone(),
                data_dir,
                pid_file,
                log_file,
                vars: v,
            });
        }
        let peers = match &def.cluster.peer {
            Some(p) => per_node
                .iter()
                .map(|b| p.render(&b.vars))
                .collect::<Vec<_>>()
                .join(","),
            None => String::new(),
        };
        for b in &mut per_node {
            b.vars.insert("peers".into(), peers.clone());
        }
        Ok(Db {
            def: Arc::new(def),
            nodes: Arc::new(per_node),
        })
    }

    /// Binds `def` to the nodes of `cluster`.
    pub fn new(def: DbDef, cluster: &Cluster) -> Result<Db, RemoteError> {
        Self::for_nodes(def, &cluster.nodes())
    }

    pub fn def(&self) -> &DbDef {
        &self.def
    }

    /// Node `name` as bound: its address, paths and template variables.
    pub fn node(&self, name: &str) -> Option<&BoundNode> {
        self.nodes.iter().find(|b| b.name == name)
    }

    /// The nodes the definition was bound to, in order.
    pub fn nodes(&self) -> &[BoundNode] {
        &self.nodes
    }

    /// The address node `name`'s database listens on (`{{ip}}`).
    pub fn node_ip(&self, name: &str) -> Option<&str> {
        self.node(name).map(|b| b.ip.as_str())
    }

    /// Node `name`'s data directory, as rendered for it.
    pub fn data_dir(&self, name: &str) -> Option<&str> {
        self.node(name).map(|b| b.data_dir.as_str())
    }

    /// Node `name`'s pid file, as rendered for it.
    pub fn pid_file(&self, name: &str) -> Option<&str> {
        self.node(name).map(|b| b.pid_file.as_str())
    }

    /// Node `name`'s daemon log file, as rendered for it.
    pub fn log_file(&self, name: &str) -> Option<&str> {
        self.node(name).map(|b| b.log_file.as_str())
    }

    /// Node `name`'s libfaketime offset file (the definition's `clock.file`), as rendered
    /// for it.
    pub fn node_clock_file(&self, name: &str) -> Option<String> {
        self.vars(name).map(|v| self.def().clock.file.render(v))
    }

    /// The template variables of node `name`.
    pub fn vars(&self, name: &str) -> Option<&Vars> {
        self.node(name).map(BoundNode::vars)
    }

    fn bound(&self, s: &Session) -> Result<&BoundNode, RemoteError> {
        self.node(&s.node().name).ok_or_else(|| RemoteError::Local {
            node: s.node().name.clone(),
            context: "this node is not one the database was bound to (Db::new)".into(),
            source: std::io::Error::other("unknown node"),
        })
    }

    fn vars_of(&self, s: &Session) -> Result<&Vars, RemoteError> {
        Ok(&self.bound(s)?.vars)
    }

    // ---------------------------------------------------------------- install & configure

    /// Installs the database on one node. Idempotent: `skip_if`, installed packages and an
    /// already unpacked tarball are all skipped.
    pub async fn install(&self, s: &Session) -> Result<(), RemoteError> {
        let v = self.vars_of(s)?;
        let inst = &self.def.install;
        if let Some(skip) = &inst.skip_if
            && s.output(&Cmd::shell(skip.render(v)).sudo_root())
                .await?
                .status
                == 0
        {
            return Ok(());
        }
        if !inst.packages.is_empty() {
            self.install_packages(s).await?;
        }
        if let Some(t) = &inst.tarball {
            let dest = t.dest.render(v);
            check_wipe_path(s, &dest)?;
            s.exec(&scripts::install_tarball(
                &t.url.render(v),
                &dest,
                t.strip_components,
            ))
            .await?;
        }
        for c in &inst.commands {
            s.exec(&Cmd::shell(c.render(v)).sudo_root()).await?;
        }
        Ok(())
    }

    async fn install_packages(&self, s: &Session) -> Result<(), RemoteError> {
        s.exec(
            &scripts::install_packages(&self.def.install.packages)
                .timeout(Duration::from_secs(900)),
        )
        .await
        .map(|_| ())
    }

    /// Writes the configuration files and runs the configure commands on one node.
    pub async fn configure(&self, s: &Session) -> Result<(), RemoteError> {
        let v = self.vars_of(s)?;
        for f in &self.def.configure.files {
            let path = f.path.render(v);
            s.upload(f.content.render(v).into_bytes(), &path, true)
                .await?;
            if let Some(mode) = &f.mode {
                s.exec(
                    &Cmd::new("chmod")
                        .arg(mode.clone())
                        .arg("--")
                        .arg(path)
                        .sudo_root(),
                )
                .await?;
            }
        }
        for c in &self.def.configure.commands {
            s.exec(&Cmd::shell(c.render(v)).sudo_root()).await?;
        }
        Ok(())
    }

    // ---------------------------------------------------------------- daemon

    /// The daemon's command line as rendered for this node: program and arguments.
    pub fn command(&self, s: &Session) -> Result<Vec<String>, RemoteError> {
        let v = self.vars_of(s)?;
        Ok(self
            .def
            .daemon
            .command
            .iter()
            .map(|t| t.render(v))
            .collect())
    }

    /// The file whose content (e.g. `+0`, `-5s`) libfaketime reads as this node's clock offset.
    pub fn clock_file(&self, s: &Session) -> Result<String, RemoteError> {
        Ok(self.def.clock.file.render(self.vars_of(s)?))
    }

    /// Starts the daemon on one node, detached (setsid, nohup), output appended to its log
    /// file, pid in its pid file. Does nothing if it already runs.
    pub async fn start(&self, s: &Session) -> Result<(), RemoteError> {
        let b = self.bound(s)?;
        let v = &b.vars;
        let d = &self.def.daemon;
        let mut argv: Vec<String> = vec!["env".into()];
        for (k, t) in &d.env {
            argv.push(format!("{k}={}", t.render(v)));
        }
        let clock_file = self
            .def
            .clock
            .faketime
            .then(|| self.def.clock.file.render(v));
        if let Some(clock_file) = &clock_file {
            argv.push(format!("LD_PRELOAD={}", self.def.clock.library));
            argv.push(format!("FAKETIME_TIMESTAMP_FILE={clock_file}"));
            argv.push("FAKETIME_NO_CACHE=1".into());
        }
        argv.extend(d.command.iter().map(|t| t.render(v)));
        let cwd = d.cwd.as_ref().map(|c| c.render(v));
        let cmd = scripts::daemon_start(
            &b.pid_file,
            &b.log_file,
            cwd.as_deref(),
            clock_file.as_deref(),
            &argv,
        );
        s.exec(&cmd).await.map(|_| ())
    }

    /// The daemon's pid on this node, if it runs.
    pub async fn pid(&self, s: &Session) -> Result<Option<u32>, RemoteError> {
        let out = s
            .exec(&scripts::daemon_pid(&self.bound(s)?.pid_file))
            .await?;
        Ok(out.out().trim().parse().ok())
    }

    pub async fn running(&self, s: &Session) -> Result<bool, RemoteError> {
        Ok(self.pid(s).await?.is_some())
    }

    /// Sends `signal` to the daemon (by pid file, and by process name if the definition
    /// gives one).
    async fn signal(&self, s: &Session, signal: Signal) -> Result<(), RemoteError> {
        let process = self.def.daemon.process.as_deref();
        s.exec(&scripts::daemon_signal(
            &self.bound(s)?.pid_file,
            process,
            signal,
        ))
        .await
        .map(|_| ())
    }

    /// Waits until the daemon is gone, up to `limit`; true if it is.
    async fn wait_gone(&self, s: &Session, limit: Duration) -> Result<bool, RemoteError> {
        let process = self.def.daemon.process.as_deref();
        let out = s
            .output(&scripts::daemon_wait_gone(
                &self.bound(s)?.pid_file,
                process,
                limit,
            ))
            .await?;
        Ok(out.status == 0)
    }

    /// SIGKILL, and wait until the process is gone.
    pub async fn kill(&self, s: &Session) -> Result<(), RemoteError> {
        self.signal(s, Signal::Kill).await?;
        if self.wait_gone(s, Duration::from_secs(10)).await? {
            Ok(())
        } else {
            Err(self.still_running(s, "SIGKILL"))
        }
    }

    /// SIGTERM, then SIGKILL after the definition's `stop_timeout`.
    pub async fn stop(&self, s: &Session) -> Result<(), RemoteError> {
        self.signal(s, Signal::Term).await?;
        if self.wait_gone(s, self.def.daemon.stop_timeout).await? {
            return Ok(());
        }
        tracing::info!(node = %s.node(), "daemon ignored SIGTERM; sending SIGKILL");
        self.kill(s).await
    }

    /// Kills the daemon, starts it again and waits until it is ready.
    pub async fn restart(&self, s: &Session) -> Result<(), RemoteError> {
        self.kill(s).await?;
        self.start(s).await?;
        self.await_ready(s).await
    }

    /// SIGSTOP: the process stays, frozen.
    pub async fn pause(&self, s: &Session) -> Result<(), RemoteError> {
        self.signal(s, Signal::Stop).await
    }

    /// SIGCONT.
    pub async fn resume(&self, s: &Session) -> Result<(), RemoteError> {
        self.signal(s, Signal::Cont).await
    }

    fn still_running(&self, s: &Session, what: &str) -> RemoteError {
        RemoteError::Failed {
            node: s.node().name.clone(),
            cmd: format!("kill -{what} {}", self.def.name),
            status: 1,
            stdout: String::new(),
            stderr: format!("{} is still running 10s after {what}", self.def.name),
        }
    }

    // ---------------------------------------------------------------- readiness & leader

    /// One readiness check: the TCP port answers (from the controller) and the ready
    /// command exits 0 (on the node).
    pub async fn is_ready(&self, s: &Session) -> Result<bool, RemoteError> {
        let b = self.bound(s)?;
        let v = &b.vars;
        if let Some(port) = self.def.ready.tcp {
            let target = tcp_target(&b.ip, port);
            let open = match target {
                Some(t) => tokio::task::spawn_blocking(move || {
                    TcpStream::connect_timeout(&t, Duration::from_millis(500)).is_ok()
                })
                .await
                .unwrap_or(false),
                None => false,
            };
            if !open {
                return Ok(false);
            }
        }
        if let Some(c) = &self.def.ready.command {
            let cmd = Cmd::shell(c.render(v))
                .sudo_root()
                .timeout(self.def.ready.timeout.max(Duration::from_secs(5)));
            return Ok(s.output(&cmd).await?.status == 0);
        }
        Ok(true)
    }

    /// Polls [`Db::is_ready`] until it holds or the definition's `ready.timeout` passes. Fails
    /// early, with the end of the log file, if the daemon died.
    pub async fn await_ready(&self, s: &Session) -> Result<(), RemoteError> {
        let started = Instant::now();
        let r = &self.def.ready;
        let mut checks = 0u32;
        loop {
            if self.is_ready(s).await? {
                return Ok(());
            }
            checks += 1;
            // Checking the process costs a round trip: every fifth poll is enough.
            let dead = checks % 5 == 1 && !self.running(s).await?;
            if dead || started.elapsed() > r.timeout {
                let b = self.bound(s)?;
                let what = match (r.tcp, &r.command) {
                    (Some(p), _) => format!("port {p} on {} never opened", b.ip),
                    (None, Some(c)) => {
                        format!("ready command `{}` never succeeded", c.render(&b.vars))
                    }
                    (None, None) => "not ready".into(),
                };
                let why = if dead {
                    format!("{} exited", self.def.name)
                } else {
                    format!("{what} within {:?}", r.timeout)
                };
                let log = self.log_tail(s, 15).await.unwrap_or_default();
                return Err(RemoteError::Failed {
                    node: s.node().name.clone(),
                    cmd: format!("{} ready check", self.def.name),
                    status: 1,
                    stdout: String::new(),
                    stderr: format!("{why}; end of {}: {log}", b.log_file),
                });
            }
            tokio::time::sleep(r.interval).await;
        }
    }

    async fn log_tail(&self, s: &Session, lines: u32) -> Result<String, RemoteError> {
        let out = s
            .output(
                &Cmd::new("tail")
                    .arg("-n")
                    .arg(lines.to_string())
                    .arg("--")
                    .arg(self.bound(s)?.log_file.clone())
                    .sudo_root(),
            )
            .await?;
        Ok(out.stdout)
    }

    /// Whether this node says it is the leader (the definition's `leader.command` exits 0).
    /// `None` when the definition has no leader.
    pub async fn is_leader(&self, s: &Session) -> Result<Option<bool>, RemoteError> {
        let Some(l) = &self.def.leader else {
            return Ok(None);
        };
        let cmd = Cmd::shell(l.command.render(self.vars_of(s)?))
            .sudo_root()
            .timeout(Duration::from_secs(10));
        Ok(Some(s.output(&cmd).await?.status == 0))
    }

    // ---------------------------------------------------------------- teardown & logs

    /// Stops the daemon and wipes its data directory, pid file and `teardown.wipe` paths.
    pub async fn teardown(&self, s: &Session) -> Result<(), RemoteError> {
        self.stop(s).await?;
        let b = self.bound(s)?;
        let v = &b.vars;
        for c in &self.def.teardown.commands {
            s.exec(&Cmd::shell(c.render(v)).sudo_root()).await?;
        }
        let mut paths = vec![b.data_dir.clone(), b.pid_file.clone()];
        paths.extend(self.def.teardown.wipe.iter().map(|w| w.render(v)));
        for p in &paths {
            check_wipe_path(s, p)?;
        }
        s.exec(&Cmd::new("rm").arg("-rf").arg("--").args(paths).sudo_root())
            .await
            .map(|_| ())
    }

    /// The log files of this node: the daemon's log plus the definition's `logs`.
    pub fn log_files(&self, s: &Session) -> Result<Vec<String>, RemoteError> {
        let b = self.bound(s)?;
        let v = &b.vars;
        let mut files = vec![b.log_file.clone()];
        for l in &self.def.logs {
            let f = l.render(v);
            if !files.contains(&f) {
                files.push(f);
            }
        }
        Ok(files)
    }

    /// Downloads this node's log files that exist into `dest/<node>/`; returns the local paths.
    pub async fn download_logs(
        &self,
        s: &Session,
        dest: &Path,
    ) -> Result<Vec<PathBuf>, RemoteError> {
        let mut got = Vec::new();
        for f in self.log_files(s)? {
            if s.output(&Cmd::new("test").arg("-f").arg(f.clone()).sudo_root())
                .await?
                .status
                != 0
            {
                continue;
            }
            let base = Path::new(&f)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "log".into());
            let local = dest
                .join(safe_file_name(&s.node().name))
                .join(safe_file_name(&base));
            s.download(&f, &local, true).await?;
            got.push(local);
        }
        Ok(got)
    }

    // ---------------------------------------------------------------- whole cluster

    /// Install (packages one node at a time), configure and start on every node, then wait
    /// until all are ready.
    pub async fn setup(&self, cluster: &Cluster) -> Result<(), NodeErrors> {
        if self.def.install.packages.is_empty() {
            self.each(cluster, |db, s| async move { db.install(&s).await })
                .await
                .into_result()?;
        } else {
            // Lab nodes share the host's dpkg database: never run apt on two at once.
            for s in cluster.sessions() {
                self.install(s).await.map_err(|e| NodeErrors(vec![e]))?;
            }
        }
        self.each(cluster, |db, s| async move { db.configure(&s).await })
            .await
            .into_result()?;
        self.each(cluster, |db, s| async move { db.start(&s).await })
            .await
            .into_result()?;
        self.each(cluster, |db, s| async move { db.await_ready(&s).await })
            .await
            .into_result()?;
        Ok(())
    }

    /// Tears down on every node.
    pub async fn teardown_all(&self, cluster: &Cluster) -> Result<(), NodeErrors> {
        self.each(cluster, |db, s| async move { db.teardown(&s).await })
            .await
            .into_result()
            .map(|_| ())
    }

    /// The nodes that say they lead (normally one; two during some partitions; none during
    /// an election). `None` if the definition has no leader.
    pub async fn leader(&self, cluster: &Cluster) -> Result<Option<Vec<Node>>, NodeErrors> {
        if self.def.leader.is_none() {
            return Ok(None);
        }
        let results = self
            .each(cluster, |db, s| async move { db.is_leader(&s).await })
            .await
            .into_result()?;
        Ok(Some(
            results
                .into_iter()
                .filter(|(_, l)| *l == Some(true))
                .map(|(n, _)| n)
                .collect(),
        ))
    }

    /// Runs `f(db, session)` on every node of `cluster` concurrently.
    pub async fn each<F, Fut, T>(&self, cluster: &Cluster, f: F) -> NodeResults<T>
    where
        F: Fn(Db, Arc<Session>) -> Fut,
        Fut: std::future::Future<Output = Result<T, RemoteError>> + Send + 'static,
        T: Send + 'static,
    {
        on_sessions(cluster.sessions(), |s| f(self.clone(), s)).await
    }
}

/// Refuses to `rm -rf` a path that is not absolute or is too close to the root.
fn check_wipe_path(s: &Session, p: &str) -> Result<(), RemoteError> {
    let depth = Path::new(p)
        .components()
        .filter(|c| matches!(c, std::path::Component::Normal(_)))
        .count();
    if !p.starts_with('/') || depth < 2 || p.split('/').any(|c| c == "..") {
        return Err(RemoteError::Invalid {
            node: s.node().name.clone(),
            cmd: format!("rm -rf -- {}", quote(p)),
            source: crate::cmd::CmdError::Refused(format!(
                "refusing to wipe {p:?}: use an absolute path at least two levels deep"
            )),
        });
    }
    Ok(())
}

fn safe_file_name(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() || cleaned.chars().all(|c| c == '.') {
        "_".into()
    } else {
        cleaned
    }
}

fn tcp_target(ip: &str, port: u16) -> Option<SocketAddr> {
    ip.parse::<std::net::IpAddr>()
        .ok()
        .map(|a| SocketAddr::new(a, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_node_s_values_are_typed_and_match_its_template_variables() {
        let text = "name: t\nvars:\n  dir: '/var/lib/t/{{node}}'\ndata_dir: '{{dir}}/data'\ndaemon:\n  command: [sleep, '100']\n  pid_file: '/run/t-{{index}}.pid'\n  log_file: /var/log/t.log\nready:\n  tcp: 1234\n";
        let def = DbDef::parse(text, Path::new("dbs/t.yaml")).unwrap();
        let nodes = [
            Node::new("n1", "10.77.0.1", 22),
            Node::new("n2", "10.77.0.2", 22),
        ];
        let db = Db::for_nodes(def, &nodes).unwrap();
        assert_eq!(db.node_ip("n2"), Some("10.77.0.2"));
        assert_eq!(db.data_dir("n2"), Some("/var/lib/t/n2/data"));
        assert_eq!(db.pid_file("n1"), Some("/run/t-1.pid"));
        assert_eq!(db.log_file("n1"), Some("/var/log/t.log"));
        assert_eq!(db.node_ip("n3"), None);
        for b in db.nodes() {
            let v = db.vars(&b.name).unwrap();
            assert_eq!(
                [
                    &v["node"],
                    &v["ip"],
                    &v["data_dir"],
                    &v["pid_file"],
                    &v["log_file"]
                ],
                [&b.name, &b.ip, &b.data_dir, &b.pid_file, &b.log_file]
            );
        }
    }
}
