//! Which nodes, and how to log in: Jepsen's flags, or the lab's inventory by default.

use std::path::PathBuf;

use anyhow::{Context, bail};
use splitbrain_control::{Inventory, Node, SshConfig, lab};

/// Node and SSH flags shared by every command that talks to nodes (Jepsen-compatible).
#[derive(clap::Args, Debug, Clone)]
pub struct NodeArgs {
    /// Nodes, comma-separated: host, host:port, or name=host[:port]. Without any node flag,
    /// the lab's inventory is used.
    #[arg(long, value_delimiter = ',', value_name = "NODES")]
    pub nodes: Vec<String>,
    /// One node (repeatable).
    #[arg(long = "node", value_name = "NODE")]
    pub node: Vec<String>,
    /// File with one node per line (# comments allowed).
    #[arg(long, value_name = "FILE")]
    pub nodes_file: Option<PathBuf>,
    /// SSH login user.
    #[arg(long, default_value = "root")]
    pub username: String,
    /// Password for SSH and for sudo (needs sshpass for SSH logins).
    #[arg(long, env = "SPLITBRAIN_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Private key to log in with (only this key is offered).
    #[arg(long, value_name = "FILE")]
    pub ssh_private_key: Option<PathBuf>,
    /// SSH port for nodes that do not give one.
    #[arg(long, default_value_t = 22)]
    pub ssh_port: u16,
    /// Check host keys against known_hosts and refuse unknown ones (always on for the lab).
    #[arg(long)]
    pub strict_host_key_checking: bool,
    /// Lab directory whose inventory.json is used when no node is given.
    #[arg(long, env = "SPLITBRAIN_LAB_DIR", default_value = lab::DEFAULT_DIR, value_name = "DIR")]
    pub lab_dir: PathBuf,
}

/// Nodes and SSH settings, and the inventory they came from (if any).
pub struct Resolved {
    pub nodes: Vec<Node>,
    pub ssh: SshConfig,
    pub inventory: Option<Inventory>,
}

impl NodeArgs {
    pub fn resolve(&self) -> anyhow::Result<Resolved> {
        let mut nodes = Vec::new();
        // Node::parse refuses anything but host names and addresses; say which flag it was.
        for (flag, specs) in [("--nodes", &self.nodes), ("--node", &self.node)] {
            for spec in specs {
                nodes.push(
                    Node::parse(spec, self.ssh_port).map_err(|e| anyhow::anyhow!("{flag}: {e}"))?,
                );
            }
        }
        if let Some(file) = &self.nodes_file {
            nodes.extend(Node::read_file(file, self.ssh_port).map_err(anyhow::Error::msg)?);
        }
        if nodes.is_empty() {
            let path = self.lab_dir.join("inventory.json");
            if !path.exists() {
                bail!(
                    "no nodes: pass --nodes a,b,c (or --node, --nodes-file), or start the lab with `splitbrain lab up` (no inventory at {})",
                    path.display()
                );
            }
            let inventory = Inventory::load(&path)?;
            let mut ssh = inventory.ssh_config();
            ssh.password = self.password.clone();
            return Ok(Resolved {
                nodes: inventory.nodes.clone(),
                ssh,
                inventory: Some(inventory),
            });
        }
        let mut seen = std::collections::HashSet::new();
        for n in &nodes {
            if !seen.insert(&n.name) {
                bail!("node {} is given twice", n.name);
            }
        }
        let ssh = SshConfig {
            user: self.username.clone(),
            password: self.password.clone(),
            private_key: self.ssh_private_key.clone(),
            strict_host_key_checking: self.strict_host_key_checking,
            ..SshConfig::default()
        };
        if let Some(key) = &ssh.private_key {
            std::fs::metadata(key)
                .with_context(|| format!("--ssh-private-key {}", key.display()))?;
        }
        Ok(Resolved {
            nodes,
            ssh,
            inventory: None,
        })
    }
}
