//! Errors from running commands on nodes: each names the node and what failed, on one line.

use std::time::Duration;

use crate::cmd::CmdError;

/// What went wrong on a node. `Display` gives one line an operator can act on: the node,
/// the command, the exit status and the remote standard error.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// No SSH connection could be made (after retries): the command never ran.
    #[error("{node}: cannot reach {addr} over SSH: {reason}")]
    Connect {
        node: String,
        addr: String,
        reason: String,
    },

    /// The command ran and exited with a non-zero status.
    #[error("{node}: `{cmd}` exited with status {status}{}", stderr_suffix(.stderr))]
    Failed {
        node: String,
        cmd: String,
        status: i32,
        stdout: String,
        stderr: String,
    },

    /// The command did not finish in time and was killed.
    #[error("{node}: `{cmd}` did not finish within {}{}", human(.after), stderr_suffix(.stderr))]
    Timeout {
        node: String,
        cmd: String,
        after: Duration,
        stderr: String,
    },

    /// The connection broke or the remote process was killed while the command ran: it may
    /// or may not have taken effect (Jepsen's `:info`). Never retried.
    #[error("{node}: `{cmd}` was cut off ({reason}); it may or may not have taken effect")]
    Lost {
        node: String,
        cmd: String,
        reason: String,
    },

    /// The command could not be built (bad environment name, NUL byte).
    #[error("{node}: refusing to send `{cmd}`: {source}")]
    Invalid {
        node: String,
        cmd: String,
        source: CmdError,
    },

    /// A local I/O error around a transfer (reading the file to upload, writing a download).
    #[error("{node}: {context}: {source}")]
    Local {
        node: String,
        context: String,
        source: std::io::Error,
    },
}

impl RemoteError {
    /// The node the error is about.
    pub fn node(&self) -> &str {
        match self {
            RemoteError::Connect { node, .. }
            | RemoteError::Failed { node, .. }
            | RemoteError::Timeout { node, .. }
            | RemoteError::Lost { node, .. }
            | RemoteError::Invalid { node, .. }
            | RemoteError::Local { node, .. } => node,
        }
    }

    /// The remote standard error, when the command ran.
    pub fn stderr(&self) -> Option<&str> {
        match self {
            RemoteError::Failed { stderr, .. } | RemoteError::Timeout { stderr, .. } => {
                Some(stderr)
            }
            _ => None,
        }
    }

    /// The exit status, when the command ran to its end.
    pub fn status(&self) -> Option<i32> {
        match self {
            RemoteError::Failed { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True when the node could not be reached at all (nothing ran).
    pub fn is_connect(&self) -> bool {
        matches!(self, RemoteError::Connect { .. })
    }
}

/// `: <stderr>` squeezed onto one line (its last 800 characters: the end says what failed).
pub(crate) fn stderr_suffix(stderr: &str) -> String {
    let one_line = one_line(stderr);
    if one_line.is_empty() {
        return String::new();
    }
    let n = one_line.chars().count();
    if n > 800 {
        let tail: String = one_line.chars().skip(n - 800).collect();
        format!(": …{tail}")
    } else {
        format!(": {one_line}")
    }
}

/// Non-empty lines, trimmed, joined with ` | `.
pub(crate) fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" | ")
}

pub(crate) fn human(d: &Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_read_as_one_line() {
        let e = RemoteError::Failed {
            node: "n2".into(),
            cmd: "etcd --name n2".into(),
            status: 1,
            stdout: String::new(),
            stderr: "first\n\n  second problem  \n".into(),
        };
        assert_eq!(
            e.to_string(),
            "n2: `etcd --name n2` exited with status 1: first | second problem"
        );
        assert!(!e.to_string().contains('\n'));
    }
}
