//! The inventory: which nodes, and how to log in to them. `lab up` writes one; every other
//! command reads it by default, so `splitbrain db up dbs/etcd.yaml` just works on the lab.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::node::Node;
use crate::ssh::SshConfig;

/// Nodes and SSH settings, saved as JSON (`<lab-dir>/inventory.json` for the lab).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    pub nodes: Vec<Node>,
    pub user: String,
    #[serde(default)]
    pub private_key: Option<PathBuf>,
    #[serde(default)]
    pub known_hosts: Option<PathBuf>,
    #[serde(default)]
    pub strict_host_key_checking: bool,
    /// Present when the nodes are a local lab.
    #[serde(default)]
    pub lab: Option<LabInfo>,
}

/// What an inventory records about the lab that made it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabInfo {
    pub name: String,
    pub dir: PathBuf,
    pub subnet: String,
    /// Directories each node has to itself; everything else is shared with the host.
    pub private_dirs: Vec<String>,
}

impl Inventory {
    pub fn load(path: &Path) -> anyhow::Result<Inventory> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read the inventory {}: {e}", path.display()))?;
        serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{}: not a splitbrain inventory: {e}", path.display()))
    }

    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(self).expect("inventory serializes");
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text + "\n")?;
        std::fs::rename(tmp, path)
    }

    /// SSH settings to reach these nodes (defaults for everything the inventory leaves out).
    pub fn ssh_config(&self) -> SshConfig {
        SshConfig {
            user: self.user.clone(),
            private_key: self.private_key.clone(),
            known_hosts: self.known_hosts.clone(),
            strict_host_key_checking: self.strict_host_key_checking,
            ..SshConfig::default()
        }
    }
}
