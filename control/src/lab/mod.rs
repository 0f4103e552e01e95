//! The local lab: nodes made of Linux namespaces on this machine, reached over SSH like
//! real machines.
//!
//! Each node is a network namespace joined to a bridge by a veth pair, with its own
//! address, plus mount, PID and UTS namespaces: its own hostname, process table (`pkill` on
//! one node cannot touch another), and private copies of `/opt`, `/var/log`, `/tmp`, `/run`
//! and the directories its databases declare (`private_dirs` in a definition, e.g. etcd's
//! `/var/lib/etcd`); everything else, `/usr` and the dpkg database in `/var/lib` included,
//! is the host's. Its PID 1 is an sshd listening on the node's address, so killing that sshd
//! kills the whole node.
//!
//! On the host: a bridge holding the host's address in the subnet, and, while a lab is up, an
//! `unreachable` route for the /16 around it, so that nothing meant for a node can leave the
//! machine. If the host's FORWARD policy drops (Docker does this), forwarding on the lab
//! bridge is accepted in a chain of our own.
//!
//! Everything the lab creates on the host carries its name: namespaces `sb-<lab>-<node>`,
//! links `sb-<lab>-br` and `sb-<lab>-<i>`, the iptables chain `sb-<lab>-fwd`, and
//! `/etc/netns/sb-<lab>-<node>/` (the node's `/etc/hosts`, bind-mounted by `ip netns exec`).
//! [`down`] finds all of it from the system itself, so it also cleans after a crash or a
//! half-finished [`up`]; it is safe to run twice. Host-level changes are serialized across
//! processes with a lock file, so several labs (different names and subnets) can come and go
//! in parallel.

pub mod net;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::process::Command;

use crate::inventory::{Inventory, LabInfo};
use crate::node::Node;
use crate::quote::quote;
pub use net::Subnet;

/// Where the lab lives unless told otherwise: outside every directory bind-mounted into a node.
pub const DEFAULT_DIR: &str = "/var/cache/splitbrain/lab";
/// The default lab name (the `<lab>` in `sb-<lab>-...`).
pub const DEFAULT_NAME: &str = "lab";
pub const DEFAULT_SUBNET: &str = "10.77.0.0/24";
/// Directories each node gets to itself whatever runs on it. A database's own (etcd's
/// `/var/lib/etcd`) come from its definition: [`crate::db::DbDef::private_dirs`], added with
/// [`LabConfig::make_private`].
pub const DEFAULT_PRIVATE_DIRS: &[&str] = &["/opt", "/run", "/tmp", "/var/log"];
const LOCK_FILE: &str = "/run/lock/splitbrain-lab.lock";

/// What to build.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabConfig {
    /// Lab directory: keys, per-node files, `inventory.json`.
    pub dir: PathBuf,
    /// Short name carried by everything the lab creates on the host (`[a-z0-9]{1,8}`).
    pub name: String,
    pub subnet: String,
    /// Node names: lowercase letters, digits and `-`, starting with a letter.
    pub nodes: Vec<String>,
    /// Directories private to each node (absolute paths).
    pub private_dirs: Vec<String>,
    /// sshd's `MaxSessions` on each node (its default is 10).
    pub max_sessions: u32,
    /// Let sshd accept passwords (for users other than root).
    pub password_auth: bool,
}

impl LabConfig {
    /// `n` nodes called n1..nN, with every other setting at its default.
    pub fn new(n: usize) -> Self {
        LabConfig {
            dir: PathBuf::from(DEFAULT_DIR),
            name: DEFAULT_NAME.into(),
            subnet: DEFAULT_SUBNET.into(),
            nodes: (1..=n).map(|i| format!("n{i}")).collect(),
            private_dirs: DEFAULT_PRIVATE_DIRS.iter().map(|s| s.to_string()).collect(),
            max_sessions: 64,
            password_auth: false,
        }
    }

    /// Makes `dirs` private to each node too (each once, whatever the order they come in).
    pub fn make_private<S: AsRef<str>>(&mut self, dirs: impl IntoIterator<Item = S>) {
        for d in dirs {
            let d = d.as_ref();
            if !self.private_dirs.iter().any(|p| p == d) {
                self.private_dirs.push(d.to_string());
            }
        }
    }

    fn netns(&self, node: &str) -> String {
        format!("sb-{}-{node}", self.name)
    }

    fn node_dir(&self, node: &str) -> PathBuf {
        self.dir.join("nodes").join(node)
    }

    /// Checks names, subnet and directories; returns the parsed subnet.
    pub fn validate(&self) -> Result<Subnet, LabError> {
        validate_lab_name(&self.name)?;
        if self.nodes.is_empty() {
            return Err(LabError::Invalid("a lab needs at least one node".into()));
        }
        let mut seen = std::collections::HashSet::new();
        for n in &self.nodes {
            validate_node_name(n)?;
            if !seen.insert(n) {
                return Err(LabError::Invalid(format!("node name {n:?} appears twice")));
            }
        }
        let subnet: Subnet = self.subnet.parse().map_err(LabError::Invalid)?;
        if !(16..=29).contains(&subnet.prefix()) {
            return Err(LabError::Invalid(format!(
                "subnet {subnet}: use a prefix between /16 and /29, e.g. 10.77.0.0/24"
            )));
        }
        if !subnet.is_private() {
            return Err(LabError::Invalid(format!(
                "subnet {subnet} is not a private range (10/8, 172.16/12, 192.168/16)"
            )));
        }
        if self.nodes.len() as u32 + 1 > subnet.capacity() {
            return Err(LabError::Invalid(format!(
                "subnet {subnet} holds {} addresses; {} nodes and the host need {}",
                subnet.capacity(),
                self.nodes.len(),
                self.nodes.len() + 1
            )));
        }
        for d in &self.private_dirs {
            check_private_dir(d).map_err(LabError::Invalid)?;
        }
        let dir = self.dir.canonicalize().unwrap_or_else(|_| self.dir.clone());
        for d in &self.private_dirs {
            if dir.starts_with(d) {
                return Err(LabError::Invalid(format!(
                    "lab directory {} is inside {d}, which is private to each node; pick one outside it (default {DEFAULT_DIR})",
                    self.dir.display()
                )));
            }
        }
        if !self.dir.is_absolute() {
            return Err(LabError::Invalid(format!(
                "lab directory {}: use an absolute path",
                self.dir.display()
            )));
        }
        Ok(subnet)
    }
}

/// The rule for a directory made private to each node (from `--private-dir` or a database
/// definition's `private_dirs`): it becomes a mount point, so an absolute path below `/`.
pub fn check_private_dir(d: &str) -> Result<(), String> {
    if !d.starts_with('/')
        || d == "/"
        || d.contains("..")
        || d.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "private directory {d:?}: use an absolute path below /, without spaces or '..'"
        ));
    }
    Ok(())
}

/// Why the lab could not be built, torn down or inspected.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("{0}")]
    Prerequisites(String),
    #[error("{0}")]
    Invalid(String),
    #[error("lab {name:?} is already up (or half-built) with state in {dir}; run `splitbrain lab down{}` first", down_flags(.name, .dir))]
    AlreadyUp { name: String, dir: PathBuf },
    #[error("`{cmd}` failed: {stderr}")]
    Command { cmd: String, stderr: String },
    #[error("node {node}: {what}")]
    Node { node: String, what: String },
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

/// The flags that name this lab to `lab down` / `lab up` (none for the default lab).
pub(crate) fn down_flags(name: &str, dir: &Path) -> String {
    let mut s = String::new();
    if name != DEFAULT_NAME {
        s.push_str(&format!(" --name {name}"));
    }
    if dir != Path::new(DEFAULT_DIR) {
        s.push_str(&format!(" --lab-dir {}", quote(&dir.display().to_string())));
    }
    s
}

fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> LabError {
    let context = context.into();
    move |source| LabError::Io { context, source }
}

/// Lab names end up in interface names (15 bytes at most): keep them short.
pub fn validate_lab_name(name: &str) -> Result<(), LabError> {
    let ok = (1..=8).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(LabError::Invalid(format!(
            "lab name {name:?}: use 1 to 8 lowercase letters or digits"
        )))
    }
}

/// Node names become namespace names and hostnames: a safe charset only.
pub fn validate_node_name(name: &str) -> Result<(), LabError> {
    let b = name.as_bytes();
    let ok = (1..=32).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(LabError::Invalid(format!(
            "node name {name:?} is not allowed in the lab: it becomes a namespace name and a hostname, so use 1 to 32 lowercase letters, digits and '-', starting with a letter (e.g. n1)"
        )))
    }
}

// ---------------------------------------------------------------------------------------
// Prerequisites

/// Tools the lab runs, and the Debian package of each.
const TOOLS: &[(&str, &str)] = &[
    ("ip", "iproute2"),
    ("iptables", "iptables"),
    ("sshd", "openssh-server"),
    ("ssh", "openssh-client"),
    ("ssh-keygen", "openssh-client"),
    ("unshare", "util-linux"),
    ("setsid", "util-linux"),
    ("mount", "mount"),
];

/// Checks that we are root and that every tool is installed; the error says how to fix it.
pub fn check_prerequisites() -> Result<(), LabError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut problems = Vec::new();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        problems.push(
            "the lab must run as root (it creates network namespaces and mounts)".to_string(),
        );
    }
    let missing = missing_tools(&path);
    if !missing.is_empty() {
        let mut packages: Vec<&str> = missing.iter().map(|(_, p)| *p).collect();
        packages.dedup();
        problems.push(format!(
            "missing {}; install them with: apt-get update && apt-get install -y {}",
            missing
                .iter()
                .map(|(t, _)| *t)
                .collect::<Vec<_>>()
                .join(", "),
            packages.join(" ")
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(LabError::Prerequisites(format!(
            "the lab cannot start: {}",
            problems.join("; ")
        )))
    }
}

fn missing_tools(path: &std::ffi::OsStr) -> Vec<(&'static str, &'static str)> {
    let dirs: Vec<PathBuf> = std::env::split_paths(path).collect();
    TOOLS
        .iter()
        .filter(|(tool, _)| {
            // sshd is started by its full path, wherever PATH points.
            let fixed = *tool == "sshd" && is_executable(Path::new("/usr/sbin/sshd"));
            !fixed && !dirs.iter().any(|d| is_executable(&d.join(tool)))
        })
        .copied()
        .collect()
}

pub(crate) fn is_executable(p: &Path) -> bool {
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

// ---------------------------------------------------------------------------------------
// Host commands

async fn run(program: &str, args: &[&str]) -> Result<String, LabError> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(io_err(format!("cannot run {program}")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(LabError::Command {
            cmd: format!("{program} {}", args.join(" ")),
            stderr: crate::error::one_line(&String::from_utf8_lossy(&out.stderr)),
        })
    }
}

async fn ip(args: &[&str]) -> Result<String, LabError> {
    run("ip", args).await
}

/// Serializes host-level changes across processes (flock on a file in /run/lock).
struct HostLock(std::fs::File);

impl HostLock {
    async fn acquire() -> Result<HostLock, LabError> {
        use std::os::fd::AsRawFd;
        let path = Path::new(LOCK_FILE);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(io_err(format!("cannot create {}", dir.display())))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(io_err(format!("cannot open {LOCK_FILE}")))?;
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            // SAFETY: flock on a file descriptor we own.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
                return Ok(HostLock(file));
            }
            if Instant::now() > deadline {
                return Err(LabError::Invalid(format!(
                    "another splitbrain lab command holds {LOCK_FILE} for over 5 minutes"
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for HostLock {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: unlocking our own descriptor.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

// ---------------------------------------------------------------------------------------
// up

/// Builds the lab and returns its inventory (also written to `<dir>/inventory.json`).
/// On failure, whatever was built is removed again.
pub async fn up(cfg: &LabConfig) -> Result<Inventory, LabError> {
    check_prerequisites()?;
    let subnet = cfg.validate()?;
    let _lock = HostLock::acquire().await?;
    let found = discover(&cfg.name).await?;
    if !found.is_empty()
        || cfg.dir.join(STATE_FILE).exists()
        || cfg.dir.join(INVENTORY_FILE).exists()
    {
        return Err(LabError::AlreadyUp {
            name: cfg.name.clone(),
            dir: cfg.dir.clone(),
        });
    }
    check_subnet_free(&subnet).await?;
    std::fs::create_dir_all(&cfg.dir)
        .map_err(io_err(format!("cannot create {}", cfg.dir.display())))?;
    std::fs::set_permissions(&cfg.dir, std::fs::Permissions::from_mode(0o700))
        .map_err(io_err(format!("cannot chmod {}", cfg.dir.display())))?;
    // The state file comes first: from here on `down` knows what this lab is.
    write_file(
        &cfg.dir.join(STATE_FILE),
        &serde_json::to_string_pretty(cfg).unwrap(),
        0o600,
    )?;
    match build(cfg, &subnet).await {
        Ok(inv) => Ok(inv),
        Err(e) => {
            if let Err(cleanup) = teardown(&cfg.name, &cfg.dir, Some(subnet)).await {
                tracing::warn!(error = %cleanup, "cleaning up after a failed lab up");
            }
            Err(e)
        }
    }
}

const STATE_FILE: &str = "lab.json";
const INVENTORY_FILE: &str = "inventory.json";

fn write_file(path: &Path, text: &str, mode: u32) -> Result<(), LabError> {
    std::fs::write(path, text).map_err(io_err(format!("cannot write {}", path.display())))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(io_err(format!("cannot chmod {}", path.display())))
}

/// Refuses a subnet that some existing route (other than a lab guard) already covers.
async fn check_subnet_free(subnet: &Subnet) -> Result<(), LabError> {
    let routes = ip(&["-4", "-o", "route", "show"]).await?;
    for line in routes.lines() {
        let mut words = line.split_whitespace();
        let Some(mut dst) = words.next() else {
            continue;
        };
        if dst == "unreachable" {
            continue; // a guard route, ours or another lab's
        }
        if matches!(
            dst,
            "blackhole" | "prohibit" | "local" | "broadcast" | "throw"
        ) {
            dst = words.next().unwrap_or("default");
        }
        if dst == "default" {
            continue;
        }
        if let Ok(route) = dst.parse::<Subnet>()
            && route.overlaps(subnet)
        {
            return Err(LabError::Invalid(format!(
                "subnet {subnet} overlaps the existing route `{}`; pick another with --subnet (and another --name if it is another lab)",
                line.trim()
            )));
        }
    }
    Ok(())
}

async fn build(cfg: &LabConfig, subnet: &Subnet) -> Result<Inventory, LabError> {
    let started = Instant::now();
    let dir = &cfg.dir;
    let key = dir.join("id_ed25519");
    let bridge = format!("sb-{}-br", cfg.name);

    // Keys: the controller's and one host key per node, generated concurrently.
    let mut keygens = vec![keygen(key.clone(), format!("splitbrain-{}", cfg.name))];
    for node in &cfg.nodes {
        let nd = cfg.node_dir(node);
        std::fs::create_dir_all(&nd).map_err(io_err(format!("cannot create {}", nd.display())))?;
        keygens.push(keygen(nd.join("ssh_host_ed25519_key"), node.clone()));
    }
    for r in futures_join_all(keygens).await {
        r?;
    }
    let pubkey = std::fs::read_to_string(key.with_extension("pub"))
        .map_err(io_err("cannot read the lab key"))?;
    write_file(&dir.join("authorized_keys"), &pubkey, 0o600)?;

    // Host side: the guard route first, so that no node address can leave the machine.
    let guard = subnet.guard().to_string();
    if let Err(e) = ip(&["route", "add", "unreachable", &guard]).await
        && !e.to_string().contains("File exists")
    {
        return Err(e);
    }
    let host_cidr = format!("{}/{}", subnet.host_addr(), subnet.prefix());
    ip(&["link", "add", &bridge, "type", "bridge"]).await?;
    ip(&["addr", "add", &host_cidr, "dev", &bridge]).await?;
    ip(&["link", "set", &bridge, "up"]).await?;
    accept_forwarding_if_dropped(&cfg.name, &bridge).await?;

    // Mount points for private directories must exist on the host.
    for d in &cfg.private_dirs {
        if !Path::new(d).exists() {
            std::fs::create_dir_all(d)
                .map_err(io_err(format!("cannot create the mount point {d}")))?;
        }
    }

    let mut tasks = Vec::new();
    for (i, node) in cfg.nodes.iter().enumerate() {
        tasks.push(start_node(cfg, subnet, i, node, &bridge));
    }
    for r in futures_join_all(tasks).await {
        r?;
    }

    // known_hosts straight from the host keys we generated: no keyscan needed.
    let mut known = String::new();
    let mut nodes = Vec::new();
    for (i, node) in cfg.nodes.iter().enumerate() {
        let addr = subnet.node_addr(i).to_string();
        let host_pub = std::fs::read_to_string(cfg.node_dir(node).join("ssh_host_ed25519_key.pub"))
            .map_err(io_err(format!("cannot read the host key of {node}")))?;
        let key_part: Vec<&str> = host_pub.split_whitespace().take(2).collect();
        known.push_str(&format!("{addr},{node} {}\n", key_part.join(" ")));
        nodes.push(Node::new(node.clone(), addr, 22));
    }
    let known_hosts = dir.join("known_hosts");
    write_file(&known_hosts, &known, 0o644)?;

    let inventory = Inventory {
        nodes,
        user: "root".into(),
        private_key: Some(key),
        known_hosts: Some(known_hosts),
        strict_host_key_checking: true,
        lab: Some(LabInfo {
            name: cfg.name.clone(),
            dir: dir.clone(),
            subnet: subnet.to_string(),
            private_dirs: cfg.private_dirs.clone(),
        }),
    };
    inventory
        .save(&dir.join(INVENTORY_FILE))
        .map_err(io_err("cannot write the inventory"))?;
    tracing::info!(nodes = cfg.nodes.len(), elapsed = ?started.elapsed(), "lab up");
    Ok(inventory)
}

/// Joins futures concurrently without pulling in the `futures` crate.
async fn futures_join_all<F: std::future::Future>(futs: Vec<F>) -> Vec<F::Output> {
    let mut futs: Vec<_> = futs.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = (0..futs.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in futs.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(Option::unwrap).collect()
}

async fn keygen(path: PathBuf, comment: String) -> Result<(), LabError> {
    let p = path.to_string_lossy().into_owned();
    run(
        "ssh-keygen",
        &["-q", "-t", "ed25519", "-N", "", "-C", &comment, "-f", &p],
    )
    .await
    .map(|_| ())
}

fn chain_name(lab: &str) -> String {
    format!("sb-{lab}-fwd")
}

/// Docker sets FORWARD to DROP and bridged traffic goes through iptables: accept our bridge.
async fn accept_forwarding_if_dropped(lab: &str, bridge: &str) -> Result<(), LabError> {
    let rules = run("iptables", &["-w", "-S", "FORWARD"]).await?;
    if rules.lines().any(|l| l.trim() == "-P FORWARD ACCEPT") {
        return Ok(());
    }
    let chain = chain_name(lab);
    run("iptables", &["-w", "-N", &chain]).await?;
    run(
        "iptables",
        &[
            "-w", "-A", &chain, "-i", bridge, "-o", bridge, "-j", "ACCEPT",
        ],
    )
    .await?;
    run("iptables", &["-w", "-I", "FORWARD", "-j", &chain]).await?;
    Ok(())
}

async fn start_node(
    cfg: &LabConfig,
    subnet: &Subnet,
    i: usize,
    node: &str,
    bridge: &str,
) -> Result<(), LabError> {
    let ns = cfg.netns(node);
    let veth = format!("sb-{}-{}", cfg.name, i + 1);
    let addr = subnet.node_addr(i);
    let cidr = format!("{addr}/{}", subnet.prefix());
    let node_err = |e: LabError| LabError::Node {
        node: node.to_string(),
        what: e.to_string(),
    };

    ip(&["netns", "add", &ns]).await.map_err(node_err)?;
    ip(&[
        "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
    ])
    .await
    .map_err(node_err)?;
    ip(&["link", "set", &veth, "master", bridge, "up"])
        .await
        .map_err(node_err)?;
    ip(&["-n", &ns, "addr", "add", &cidr, "dev", "eth0"])
        .await
        .map_err(node_err)?;
    ip(&["-n", &ns, "link", "set", "eth0", "up"])
        .await
        .map_err(node_err)?;
    ip(&["-n", &ns, "link", "set", "lo", "up"])
        .await
        .map_err(node_err)?;

    // `ip netns exec` bind-mounts /etc/netns/<ns>/hosts over /etc/hosts: nodes know each other by name.
    let etc = Path::new("/etc/netns").join(&ns);
    std::fs::create_dir_all(&etc).map_err(io_err(format!("cannot create {}", etc.display())))?;
    let mut hosts = format!(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n{}\t{}\n",
        subnet.host_addr(),
        "controller"
    );
    for (j, other) in cfg.nodes.iter().enumerate() {
        hosts.push_str(&format!("{}\t{other}\n", subnet.node_addr(j)));
    }
    write_file(&etc.join("hosts"), &hosts, 0o644)?;
    write_file(&etc.join("hostname"), &format!("{node}\n"), 0o644)?;

    // Private directories, mounted parents first.
    let nd = cfg.node_dir(node);
    let fs_root = nd.join("fs");
    let mut private: Vec<&String> = cfg.private_dirs.iter().collect();
    private.sort();
    let mut mounts = Vec::new();
    for d in &private {
        let src = fs_root.join(d.trim_start_matches('/'));
        std::fs::create_dir_all(&src)
            .map_err(io_err(format!("cannot create {}", src.display())))?;
        if d.as_str() == "/tmp" {
            std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o1777))
                .map_err(io_err("chmod tmp"))?;
        }
        mounts.push((src, Path::new(d.as_str())));
    }
    let config = nd.join("sshd_config");
    write_file(&config, &sshd_config(cfg, &addr, &nd), 0o600)?;

    // setsid -f: the node outlives this process and is not our child (no zombie for us to reap).
    let console = std::fs::File::create(nd.join("console.log"))
        .map_err(io_err("cannot create console.log"))?;
    let pid_file = nd.join("pid");
    let status = Command::new("setsid")
        .arg("-f")
        .arg("sh")
        .arg("-c")
        .arg(r#"echo $$ > "$0"; exec "$@""#)
        .arg(&pid_file)
        .args(["ip", "netns", "exec", &ns])
        .args([
            "unshare",
            "--mount",
            "--pid",
            "--uts",
            "--fork",
            "--kill-child",
            "--mount-proc",
            "--propagation",
            "private",
        ])
        .args(node_pid1(node, &config, &mounts))
        .stdin(Stdio::null())
        .stdout(console.try_clone().map_err(io_err("console.log"))?)
        .stderr(console)
        .status()
        .await
        .map_err(io_err("cannot run setsid"))?;
    if !status.success() {
        return Err(LabError::Node {
            node: node.into(),
            what: format!("setsid exited with {status}"),
        });
    }

    // Ready when sshd accepts connections on the node's address.
    let target = SocketAddr::from((addr, 22));
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let t = target;
        let open = tokio::task::spawn_blocking(move || {
            TcpStream::connect_timeout(&t, Duration::from_millis(200)).is_ok()
        })
        .await
        .unwrap_or(false);
        if open {
            return Ok(());
        }
        let dead = read_pid(&pid_file).is_some_and(|pid| !pid_alive(pid));
        if dead || Instant::now() > deadline {
            let log = std::fs::read_to_string(nd.join("console.log")).unwrap_or_default();
            return Err(LabError::Node {
                node: node.into(),
                what: format!(
                    "sshd {} on {target}{}",
                    if dead {
                        "exited instead of listening"
                    } else {
                        "did not listen within 15s"
                    },
                    crate::error::stderr_suffix(&log)
                ),
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A lab node's PID 1; shellchecked as sent with the db scripts (`db::scripts`).
pub(crate) const LAB_NODE: &str = include_str!("../../scripts/lab-node.sh");

/// A node's PID 1 (control/scripts/lab-node.sh): sets the hostname, bind-mounts each
/// `(directory, over)` pair in order, and becomes sshd with `sshd_config`.
fn node_pid1(node: &str, sshd_config: &Path, mounts: &[(PathBuf, &Path)]) -> Vec<OsString> {
    let mut argv: Vec<OsString> = vec!["sh".into(), "-c".into(), LAB_NODE.into()];
    // $0, then the positional parameters.
    argv.extend(["sh".into(), node.into(), sshd_config.into()]);
    for (dir, over) in mounts {
        argv.push(dir.into());
        argv.push(over.into());
    }
    argv
}

fn sshd_config(cfg: &LabConfig, addr: &Ipv4Addr, node_dir: &Path) -> String {
    format!(
        "# splitbrain lab node, generated by `splitbrain lab up`\n\
         ListenAddress {addr}:22\n\
         HostKey {hostkey}\n\
         AuthorizedKeysFile {authorized}\n\
         PermitRootLogin prohibit-password\n\
         PasswordAuthentication {password}\n\
         KbdInteractiveAuthentication no\n\
         UsePAM no\n\
         PidFile none\n\
         MaxSessions {max_sessions}\n\
         MaxStartups 64\n\
         UseDNS no\n\
         PrintMotd no\n\
         PrintLastLog no\n\
         Subsystem sftp /usr/lib/openssh/sftp-server\n",
        hostkey = node_dir.join("ssh_host_ed25519_key").display(),
        authorized = cfg.dir.join("authorized_keys").display(),
        password = if cfg.password_auth { "yes" } else { "no" },
        max_sessions = cfg.max_sessions,
    )
}

fn read_pid(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Alive and not a zombie.
fn pid_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
        Err(_) => false,
    }
}

// ---------------------------------------------------------------------------------------
// down

/// What a lab has on the host right now, found by name.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Found {
    pub namespaces: Vec<String>,
    pub links: Vec<String>,
    pub chain: bool,
    pub etc_netns: Vec<PathBuf>,
}

impl Found {
    pub fn is_empty(&self) -> bool {
        self.namespaces.is_empty()
            && self.links.is_empty()
            && !self.chain
            && self.etc_netns.is_empty()
    }
}

/// Finds everything on the host that belongs to the lab called `name`.
pub async fn discover(name: &str) -> Result<Found, LabError> {
    let prefix = format!("sb-{name}-");
    let mut found = Found::default();
    for line in ip(&["netns", "list"]).await?.lines() {
        if let Some(ns) = line.split_whitespace().next()
            && ns.starts_with(&prefix)
        {
            found.namespaces.push(ns.to_string());
        }
    }
    for line in ip(&["-o", "link", "show"]).await?.lines() {
        // "12: sb-lab-br: <...>" or "13: sb-lab-1@if2: <...>"
        if let Some(name_part) = line.split(": ").nth(1) {
            let link = name_part.split('@').next().unwrap_or(name_part);
            if link.starts_with(&prefix) {
                found.links.push(link.to_string());
            }
        }
    }
    found.chain = run("iptables", &["-w", "-S", &chain_name(name)])
        .await
        .is_ok();
    if let Ok(entries) = std::fs::read_dir("/etc/netns") {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                found.etc_netns.push(e.path());
            }
        }
    }
    found.namespaces.sort();
    found.links.sort();
    found.etc_netns.sort();
    Ok(found)
}

/// What `down` removed.
#[derive(Debug, Default)]
pub struct DownReport {
    pub name: String,
    pub killed: usize,
    pub found: Found,
    pub guard_removed: Option<String>,
    pub files_removed: bool,
}

impl fmt::Display for DownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.found.is_empty() && !self.files_removed && self.guard_removed.is_none() {
            return write!(f, "lab {:?}: nothing to remove", self.name);
        }
        write!(
            f,
            "lab {:?} down: {} namespaces, {} processes, {} links{}{}{}",
            self.name,
            self.found.namespaces.len(),
            self.killed,
            self.found.links.len(),
            if self.found.chain {
                ", forwarding chain"
            } else {
                ""
            },
            match &self.guard_removed {
                Some(g) => format!(", guard route {g}"),
                None => String::new(),
            },
            if self.files_removed {
                ", lab files"
            } else {
                ""
            },
        )
    }
}

/// Removes the lab whose state is in `dir` (or, if that state is gone, the one called
/// `name`): its processes, namespaces, links, iptables chain, guard route, mounts and files.
/// Running it on a lab that is already gone does nothing and succeeds.
pub async fn down(dir: &Path, name: &str) -> Result<DownReport, LabError> {
    let (name, subnet) = match std::fs::read_to_string(dir.join(STATE_FILE))
        .ok()
        .and_then(|t| serde_json::from_str::<LabConfig>(&t).ok())
    {
        Some(cfg) => (cfg.name.clone(), cfg.subnet.parse::<Subnet>().ok()),
        None => (name.to_string(), None),
    };
    validate_lab_name(&name)?;
    let _lock = HostLock::acquire().await?;
    teardown(&name, dir, subnet).await
}

async fn teardown(name: &str, dir: &Path, subnet: Option<Subnet>) -> Result<DownReport, LabError> {
    let found = discover(name).await?;
    let mut report = DownReport {
        name: name.to_string(),
        ..Default::default()
    };

    // 1. Processes: everything in the lab's namespaces, plus the recorded node pids.
    let mut pids: Vec<i32> = Vec::new();
    for ns in &found.namespaces {
        if let Ok(out) = ip(&["netns", "pids", ns]).await {
            pids.extend(out.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
        }
    }
    if let Ok(entries) = std::fs::read_dir(dir.join("nodes")) {
        for e in entries.flatten() {
            if let Some(pid) = read_pid(&e.path().join("pid"))
                && pid_alive(pid)
                && in_lab_netns(pid, name)
            {
                pids.push(pid);
            }
        }
    }
    pids.sort();
    pids.dedup();
    for &pid in &pids {
        // SAFETY: sending a signal; the pids come from the lab's own namespaces.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    report.killed = pids.len();
    let deadline = Instant::now() + Duration::from_secs(10);
    while pids.iter().any(|&p| pid_alive(p)) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // 2. Namespaces, then links (the veths die with their namespace; the bridge does not).
    for ns in &found.namespaces {
        if let Err(e) = ip(&["netns", "del", ns]).await
            && !e.to_string().contains("No such file")
        {
            return Err(e);
        }
    }
    // A veth whose namespace was just deleted can vanish between `discover` and here; the
    // kernel then answers "No such device" (or "Cannot find device" from ip's own lookup).
    for link in &found.links {
        if let Err(e) = ip(&["link", "del", link]).await
            && !["Cannot find device", "No such device"]
                .iter()
                .any(|m| e.to_string().contains(m))
        {
            return Err(e);
        }
    }

    // 3. Our forwarding chain.
    if found.chain {
        let chain = chain_name(name);
        while run("iptables", &["-w", "-D", "FORWARD", "-j", &chain])
            .await
            .is_ok()
        {}
        run("iptables", &["-w", "-F", &chain]).await?;
        run("iptables", &["-w", "-X", &chain]).await?;
    }

    // 4. The guard route, unless another lab still has a bridge inside it.
    let guard = subnet
        .unwrap_or_else(|| DEFAULT_SUBNET.parse().unwrap())
        .guard();
    let routes = ip(&["-4", "-o", "route", "show"]).await?;
    let guard_text = guard.to_string();
    let has_guard = routes.lines().any(|l| {
        l.split_whitespace()
            .take(2)
            .eq(["unreachable", guard_text.as_str()])
    });
    if has_guard && !other_lab_inside(&guard).await? {
        ip(&["route", "del", "unreachable", &guard_text]).await?;
        report.guard_removed = Some(guard_text);
    }

    // 5. /etc/netns entries and mounts left under the lab directory (none, normally: node
    //    mounts live in the nodes' own mount namespaces).
    for p in &found.etc_netns {
        std::fs::remove_dir_all(p).map_err(io_err(format!("cannot remove {}", p.display())))?;
    }
    let _ = std::fs::remove_dir("/etc/netns"); // only if empty: it may be someone else's
    for m in mounts_under(dir) {
        let _ = run("umount", &["-l", &m]).await;
    }

    // 6. Files: only what the lab writes, then the directory if that leaves it empty.
    let mut removed = false;
    let nodes = dir.join("nodes");
    if nodes.exists() {
        std::fs::remove_dir_all(&nodes)
            .map_err(io_err(format!("cannot remove {}", nodes.display())))?;
        removed = true;
    }
    for f in [
        STATE_FILE,
        INVENTORY_FILE,
        "id_ed25519",
        "id_ed25519.pub",
        "authorized_keys",
        "known_hosts",
        "inventory.json.tmp",
    ] {
        let p = dir.join(f);
        if p.exists() {
            std::fs::remove_file(&p).map_err(io_err(format!("cannot remove {}", p.display())))?;
            removed = true;
        }
    }
    let _ = std::fs::remove_dir(dir); // only if empty
    report.files_removed = removed;
    report.found = found;
    Ok(report)
}

/// True when `pid` lives in one of the lab's network namespaces (so a stale pid file cannot
/// make us kill an unrelated process that reused the pid).
fn in_lab_netns(pid: i32, lab: &str) -> bool {
    let Ok(target) = std::fs::metadata(format!("/proc/{pid}/ns/net")) else {
        return false;
    };
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return false;
    };
    use std::os::unix::fs::MetadataExt;
    entries.flatten().any(|e| {
        e.file_name()
            .to_string_lossy()
            .starts_with(&format!("sb-{lab}-"))
            && e.metadata()
                .map(|m| m.ino() == target.ino() && m.dev() == target.dev())
                .unwrap_or(false)
    })
}

/// Another `sb-*-br` bridge with an address inside `guard`?
async fn other_lab_inside(guard: &Subnet) -> Result<bool, LabError> {
    let addrs = ip(&["-4", "-o", "addr", "show"]).await?;
    for line in addrs.lines() {
        // "5: sb-x-br    inet 10.77.1.254/24 brd ... scope global sb-x-br"
        let words: Vec<&str> = line.split_whitespace().collect();
        let (Some(dev), Some(pos)) = (words.get(1), words.iter().position(|w| *w == "inet")) else {
            continue;
        };
        if !(dev.starts_with("sb-") && dev.ends_with("-br")) {
            continue;
        }
        if let Some(addr) = words
            .get(pos + 1)
            .and_then(|a| a.split('/').next())
            .and_then(|a| a.parse().ok())
            && guard.contains(addr)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Mount points in the host's mount table at or below `dir`.
fn mounts_under(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let dir = dir.to_string_lossy();
    let mut found: Vec<String> = text
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| *m == dir || m.starts_with(&format!("{dir}/")))
        .map(str::to_string)
        .collect();
    found.sort_by_key(|m| std::cmp::Reverse(m.len())); // deepest first
    found
}

// ---------------------------------------------------------------------------------------
// status

/// How each node of a lab is doing.
#[derive(Debug, Clone, Serialize)]
pub struct LabStatus {
    pub name: String,
    pub dir: PathBuf,
    pub subnet: Option<String>,
    pub nodes: Vec<NodeStatus>,
    /// Namespaces with the lab's prefix that no recorded node accounts for.
    pub stray_namespaces: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeStatus {
    pub name: String,
    pub addr: Option<String>,
    pub namespace: bool,
    pub running: bool,
    pub ssh: bool,
}

impl LabStatus {
    /// Every recorded node has its namespace, its processes and an answering sshd.
    pub fn healthy(&self) -> bool {
        !self.nodes.is_empty() && self.nodes.iter().all(|n| n.namespace && n.running && n.ssh)
    }
}

/// Inspects the lab whose state is in `dir` (or, without state, the one called `name`).
pub async fn status(dir: &Path, name: &str) -> Result<LabStatus, LabError> {
    let cfg = std::fs::read_to_string(dir.join(STATE_FILE))
        .ok()
        .and_then(|t| serde_json::from_str::<LabConfig>(&t).ok());
    let name = cfg
        .as_ref()
        .map(|c| c.name.clone())
        .unwrap_or_else(|| name.to_string());
    let found = discover(&name).await?;
    let subnet = cfg.as_ref().and_then(|c| c.subnet.parse::<Subnet>().ok());
    let mut nodes = Vec::new();
    let mut accounted = BTreeMap::new();
    if let Some(cfg) = &cfg {
        for (i, n) in cfg.nodes.iter().enumerate() {
            let ns = cfg.netns(n);
            let namespace = found.namespaces.contains(&ns);
            accounted.insert(ns, ());
            let running = read_pid(&cfg.node_dir(n).join("pid")).is_some_and(pid_alive);
            let addr = subnet.map(|s| s.node_addr(i));
            let ssh = match addr {
                Some(a) if namespace => {
                    let t = SocketAddr::from((a, 22));
                    tokio::task::spawn_blocking(move || {
                        TcpStream::connect_timeout(&t, Duration::from_millis(500)).is_ok()
                    })
                    .await
                    .unwrap_or(false)
                }
                _ => false,
            };
            nodes.push(NodeStatus {
                name: n.clone(),
                addr: addr.map(|a| a.to_string()),
                namespace,
                running,
                ssh,
            });
        }
    }
    let stray_namespaces = found
        .namespaces
        .iter()
        .filter(|ns| !accounted.contains_key(*ns))
        .cloned()
        .collect();
    Ok(LabStatus {
        name,
        dir: dir.to_path_buf(),
        subnet: subnet.map(|s| s.to_string()),
        nodes,
        stray_namespaces,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_node_names_are_refused_with_the_rule() {
        for bad in [
            "n1;reboot",
            "$(touch /tmp/x)",
            "N1",
            "1n",
            "n 1",
            "n1-",
            "",
            "a/b",
            "n1\n",
            &"n".repeat(33),
        ] {
            let err = validate_node_name(bad).unwrap_err().to_string();
            assert!(err.contains("lowercase letters, digits and '-'"), "{err}");
        }
        for good in ["n1", "db-2", "a"] {
            validate_node_name(good).unwrap();
        }
        let mut cfg = LabConfig::new(2);
        cfg.nodes[1] = "n2'; rm -rf /".into();
        assert!(
            cfg.validate()
                .unwrap_err()
                .to_string()
                .contains("not allowed in the lab")
        );
    }

    #[test]
    fn config_is_checked() {
        let mut cfg = LabConfig::new(3);
        cfg.validate().unwrap();
        cfg.subnet = "8.8.8.0/24".into();
        assert!(cfg.validate().unwrap_err().to_string().contains("private"));
        cfg.subnet = "10.77.0.0/30".into();
        assert!(cfg.validate().is_err());
        cfg = LabConfig::new(3);
        cfg.name = "Bad-Name".into();
        assert!(cfg.validate().is_err());
        cfg = LabConfig::new(3);
        cfg.dir = "/tmp/lab".into();
        assert!(
            cfg.validate()
                .unwrap_err()
                .to_string()
                .contains("private to each node")
        );
        cfg = LabConfig::new(3);
        cfg.nodes = vec!["n1".into(), "n1".into()];
        assert!(cfg.validate().unwrap_err().to_string().contains("twice"));
    }

    #[test]
    fn private_dirs_are_the_generic_ones_plus_what_databases_declare() {
        let mut cfg = LabConfig::new(1);
        assert_eq!(cfg.private_dirs, ["/opt", "/run", "/tmp", "/var/log"]);
        cfg.make_private(["/var/lib/etcd", "/run", "/var/lib/etcd"]);
        cfg.make_private(vec![String::from("/srv/db")]);
        assert_eq!(
            cfg.private_dirs,
            [
                "/opt",
                "/run",
                "/tmp",
                "/var/log",
                "/var/lib/etcd",
                "/srv/db"
            ]
        );
        cfg.validate().unwrap();
        for bad in ["var/lib", "/", "/a/../b", "/a b", "/a\nb"] {
            let mut cfg = LabConfig::new(1);
            cfg.make_private([bad]);
            let err = cfg.validate().unwrap_err().to_string();
            assert!(err.contains("use an absolute path below /"), "{bad}: {err}");
        }
    }

    #[test]
    fn missing_tools_name_the_install_command() {
        let empty = tempfile::tempdir().unwrap();
        let missing = missing_tools(empty.path().as_os_str());
        // sshd may be found in /usr/sbin regardless of PATH; the rest is missing.
        assert!(missing.iter().any(|(t, p)| *t == "ip" && *p == "iproute2"));
    }
}
