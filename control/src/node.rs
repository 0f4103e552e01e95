//! Nodes: a name, and where to reach its SSH server.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::RemoteError;

/// One machine under test. `name` is what people and templates call it (`{{node}}`);
/// `host` and `port` are where its SSH server listens. For Jepsen-style node lists the
/// name is the host itself.
///
/// Names and hosts read from flags, nodes files and inventories must be host names or IP
/// addresses ([`check_host`]): they reach shells, ssh's command line, file names in the
/// store and reports, and a second wall behind quoting costs nothing. [`Node::new`] takes
/// anything (the lab checks its own names; tests use hostile ones on purpose).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Node {
    #[serde(deserialize_with = "de_host")]
    pub name: String,
    #[serde(deserialize_with = "de_host")]
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
}

fn default_port() -> u16 {
    22
}

impl Node {
    pub fn new(name: impl Into<String>, host: impl Into<String>, port: u16) -> Self {
        Node {
            name: name.into(),
            host: host.into(),
            port,
        }
    }

    /// `host:port`, with brackets around an IPv6 address.
    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The node's IP address: `host` when it is one, else what it resolves to (IPv4
    /// preferred). What templates call `{{ip}}` and what faults aim at.
    pub fn ip(&self) -> Result<String, RemoteError> {
        if self.host.parse::<IpAddr>().is_ok() {
            return Ok(self.host.clone());
        }
        let addrs: Vec<SocketAddr> = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map(|a| a.collect())
            .unwrap_or_default();
        addrs
            .iter()
            .find(|a| a.is_ipv4())
            .or(addrs.first())
            .map(|a| a.ip().to_string())
            .ok_or_else(|| RemoteError::Connect {
                node: self.name.clone(),
                addr: self.addr(),
                reason: format!("cannot resolve {:?} to an address", self.host),
            })
    }

    /// Parses one entry of `--nodes`/`--node`/`--nodes-file`: `host`, `host:port`,
    /// `[v6addr]:port`, or `name=host[:port]` to give the node a name of its own.
    pub fn parse(spec: &str, default_port: u16) -> Result<Node, String> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err("empty node".into());
        }
        let (name, addr) = match spec.split_once('=') {
            Some((n, a)) if !n.is_empty() => (Some(n), a),
            Some(_) => return Err(format!("node {spec:?}: empty name before '='")),
            None => (None, spec),
        };
        let (host, port) = if let Some(rest) = addr.strip_prefix('[') {
            let (h, after) = rest
                .split_once(']')
                .ok_or_else(|| format!("node {spec:?}: missing ']'"))?;
            match after.strip_prefix(':') {
                Some(p) => (h, parse_port(p, spec)?),
                None if after.is_empty() => (h, default_port),
                None => return Err(format!("node {spec:?}: expected ':port' after ']'")),
            }
        } else {
            match addr.matches(':').count() {
                0 => (addr, default_port),
                1 => {
                    let (h, p) = addr.split_once(':').unwrap();
                    (h, parse_port(p, spec)?)
                }
                _ => (addr, default_port), // a bare IPv6 address
            }
        };
        if host.is_empty() {
            return Err(format!("node {spec:?}: empty host"));
        }
        if let Some(n) = name {
            check_host(n).map_err(|e| format!("node {spec:?}: name {e}"))?;
        }
        check_host(host).map_err(|e| match host == spec {
            true => format!("node {e}"),
            false => format!("node {spec:?}: host {e}"),
        })?;
        Ok(Node::new(name.unwrap_or(host), host, port))
    }

    /// Reads a nodes file: one node per line as in [`Node::parse`]; blank lines and
    /// `#` comments are skipped.
    pub fn read_file(path: &Path, default_port: u16) -> Result<Vec<Node>, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut nodes = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            nodes.push(
                Node::parse(line, default_port)
                    .map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))?,
            );
        }
        Ok(nodes)
    }
}

/// Checks that `s` is a host name (RFC 1123: dot-separated labels of letters, digits and
/// inner hyphens, 63 characters each, 253 in all, one final dot allowed), an IPv4 address,
/// or an IPv6 address (optionally with a `%zone`). The error says what was expected.
pub fn check_host(s: &str) -> Result<(), String> {
    if s.parse::<IpAddr>().is_ok() || is_ipv6_with_zone(s) || is_hostname(s) {
        return Ok(());
    }
    let hint = if s.contains('@') {
        " (give the login user with --username, not user@host)"
    } else {
        ""
    };
    Err(format!(
        "{s:?} is not a host name or IP address{hint}: expected a host name of letters, digits and '-' in dot-separated labels (e.g. n1 or db-1.example.com), an IPv4 address (10.0.0.1) or an IPv6 address (fe80::1, or [fe80::1]:22 with a port)"
    ))
}

fn is_hostname(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    (1..=253).contains(&s.len())
        && s.split('.').all(|label| {
            let b = label.as_bytes();
            (1..=63).contains(&b.len())
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
        })
}

fn is_ipv6_with_zone(s: &str) -> bool {
    match s.split_once('%') {
        Some((addr, zone)) => {
            addr.parse::<Ipv6Addr>().is_ok()
                && (1..=15).contains(&zone.len())
                && zone
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        }
        None => false,
    }
}

/// Serde side of [`check_host`], so an inventory with a bad node fails where it is read.
fn de_host<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    check_host(&s).map_err(serde::de::Error::custom)?;
    Ok(s)
}

fn parse_port(p: &str, spec: &str) -> Result<u16, String> {
    p.parse()
        .map_err(|_| format!("node {spec:?}: {p:?} is not a port number"))
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_jepsen_style_nodes() {
        assert_eq!(Node::parse("n1", 22).unwrap(), Node::new("n1", "n1", 22));
        assert_eq!(
            Node::parse("10.0.0.1:2222", 22).unwrap(),
            Node::new("10.0.0.1", "10.0.0.1", 2222)
        );
        assert_eq!(
            Node::parse("db1=10.0.0.1", 2200).unwrap(),
            Node::new("db1", "10.0.0.1", 2200)
        );
        assert_eq!(
            Node::parse("[::1]:23", 22).unwrap(),
            Node::new("::1", "::1", 23)
        );
        assert_eq!(
            Node::parse("fe80::1", 22).unwrap(),
            Node::new("fe80::1", "fe80::1", 22)
        );
        assert!(Node::parse("h:port", 22).is_err());
        assert!(Node::parse("", 22).is_err());
        assert_eq!(Node::new("a", "::1", 22).addr(), "[::1]:22");
    }

    #[test]
    fn reads_nodes_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nodes");
        std::fs::write(&path, "# the cluster\nn1\n\nn2:2222  # spare port\n").unwrap();
        let nodes = Node::read_file(&path, 22).unwrap();
        assert_eq!(
            nodes,
            vec![Node::new("n1", "n1", 22), Node::new("n2", "n2", 2222)]
        );
        std::fs::write(&path, "n1\nbad:port\n").unwrap();
        let err = Node::read_file(&path, 22).unwrap_err();
        assert!(err.contains(":2: "), "{err}");
        std::fs::write(&path, "n1\nn2\n;touch /tmp/pwned;'\n").unwrap();
        let err = Node::read_file(&path, 22).unwrap_err();
        assert!(
            err.starts_with(&format!("{}:3: ", path.display()))
                && err.contains("not a host name or IP address")
                && err.contains("expected a host name"),
            "{err}"
        );
    }

    #[test]
    fn names_and_hosts_must_be_host_names_or_addresses() {
        for good in [
            "n1",
            "db-1.example.com",
            "example.com.",
            "10.77.0.2",
            "::1",
            "fe80::1%eth0",
            "2001:db8::1",
            "A1",
            "1",
        ] {
            check_host(good).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        check_host(&vec!["a"; 127].join(".")).expect("253 characters is the limit");
        let long_label = "a".repeat(64);
        let long_name = vec!["a"; 128].join("."); // 255 characters
        for bad in [
            "",
            ";touch /tmp/pwned;'",
            "$(id)",
            "n1 n2",
            "-oProxyCommand=id",
            "n1-",
            "a..b",
            ".",
            "../etc",
            "a_b",
            "root@n1",
            "n1\n",
            "é",
            "fe80::1%",
            "fe80::1%e th",
            long_label.as_str(),
            long_name.as_str(),
        ] {
            assert!(check_host(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_host("root@n1").unwrap_err().contains("--username"));
        for bad in [
            ";touch /tmp/pwned;'",
            "x=;touch",
            "$(id)=n1",
            "n1=$(id)",
            "[;id]:22",
            "n1:22;id",
            "-oProxyCommand=id",
        ] {
            let err = Node::parse(bad, 22).unwrap_err();
            assert!(
                err.contains("expected") || err.contains("port"),
                "{bad}: {err}"
            );
        }
        assert_eq!(
            Node::parse("db1=[fe80::1%eth0]:2222", 22).unwrap(),
            Node::new("db1", "fe80::1%eth0", 2222)
        );
    }
}
