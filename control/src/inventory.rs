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
        // Node names and hosts are checked as they are read (see `Node`), so a hostile
        // inventory fails here with its line, before anything reaches a node.
        serde_json::from_str(&text).map_err(|e| {
            let full = e.to_string();
            let what = full
                .strip_suffix(&format!(" at line {} column {}", e.line(), e.column()))
                .unwrap_or(&full);
            anyhow::anyhow!(
                "{}:{}:{}: not a splitbrain inventory: {what}",
                path.display(),
                e.line(),
                e.column()
            )
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn inventory_with(name: &str, host: &str) -> String {
        format!(
            "{{\n  \"nodes\": [\n    {{\"name\": \"n1\", \"host\": \"10.77.0.2\", \"port\": 22}},\n    {{\"name\": {}, \"host\": {}, \"port\": 22}}\n  ],\n  \"user\": \"root\"\n}}\n",
            serde_json::to_string(name).unwrap(),
            serde_json::to_string(host).unwrap()
        )
    }

    #[test]
    fn hostile_node_names_in_an_inventory_are_refused_with_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inventory.json");
        std::fs::write(&path, inventory_with("n2", "10.77.0.3")).unwrap();
        assert_eq!(Inventory::load(&path).unwrap().nodes[1].name, "n2");
        for (name, host) in [
            (";touch /tmp/pwned;'", "10.77.0.3"),
            ("n2", "-oProxyCommand=id"),
        ] {
            std::fs::write(&path, inventory_with(name, host)).unwrap();
            let err = Inventory::load(&path).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("{}:4:", path.display()))
                    && err.contains("is not a host name or IP address")
                    && err.contains("expected a host name"),
                "{err}"
            );
        }
    }
}
