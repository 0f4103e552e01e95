//! SSH sessions to nodes: one master connection per node, commands multiplexed on it.
//!
//! Built on the `openssh` crate's native multiplexing. Two facts shape this module:
//!
//! * **sshd caps sessions per connection** (`MaxSessions`, 10 by default). Past the cap
//!   the multiplexer fails with an error about the mux server that does not say "too many
//!   sessions". Every [`Session`] therefore bounds its concurrent commands with a semaphore
//!   ([`SshConfig::max_sessions`], 6 as in Jepsen); extra commands wait their turn.
//! * **The `openssh` crate refuses passwords** (it runs ssh in batch mode). With a password we
//!   start the master ourselves under `sshpass -e` (the password travels in the environment,
//!   never on a command line) and adopt its control socket.
//!
//! Connection errors are retried with backoff (the command never started); a command that
//! ran and failed is never retried, and one cut off mid-way is reported as
//! [`RemoteError::Lost`]: it may or may not have taken effect. A node whose reconnect
//! failed is held down for [`DOWN_HOLD`]: commands to it fail at once instead of each
//! waiting out every retry, so cleanup after a node died takes seconds, not minutes.

use std::path::{Path, PathBuf};
use std::process::Stdio as StdStdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openssh::{KnownHosts, SessionBuilder, Stdio};
use tokio::io::AsyncWriteExt;
use tokio::sync::{Mutex, Semaphore};

use crate::cmd::Cmd;
use crate::error::{RemoteError, one_line};
use crate::node::Node;

/// How to log in to nodes. The defaults follow Jepsen: user root, port 22, no host key check.
#[derive(Clone, Debug)]
pub struct SshConfig {
    /// Login user (`--username`).
    pub user: String,
    /// Password for SSH itself and for `sudo -S` (`--password`).
    pub password: Option<String>,
    /// Private key; when set, only this key is offered (`--ssh-private-key`).
    pub private_key: Option<PathBuf>,
    /// known_hosts file to check host keys against (the lab writes one).
    pub known_hosts: Option<PathBuf>,
    /// Refuse unknown or changed host keys (`--strict-host-key-checking`). Off, keys are
    /// neither checked nor recorded.
    pub strict_host_key_checking: bool,
    /// Give up connecting after this long.
    pub connect_timeout: Duration,
    /// Commands in flight per node (the semaphore in front of sshd's `MaxSessions`).
    pub max_sessions: usize,
    /// Extra attempts after a connection error, with exponential backoff from 200 ms.
    pub retries: u32,
    /// Where control sockets live (a short path: sockets are limited to ~100 bytes).
    pub control_dir: PathBuf,
}

impl Default for SshConfig {
    fn default() -> Self {
        SshConfig {
            user: "root".into(),
            password: None,
            private_key: None,
            known_hosts: None,
            strict_host_key_checking: false,
            connect_timeout: Duration::from_secs(10),
            max_sessions: 6,
            retries: 3,
            control_dir: std::env::temp_dir(),
        }
    }
}

/// What a finished command printed, and its exit status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Standard output without the trailing newline(s).
    pub fn out(&self) -> &str {
        self.stdout.trim_end_matches('\n')
    }
}

struct RawOutput {
    status: i32,
    stdout: Vec<u8>,
    stderr: String,
}

/// One live master connection. Kept behind an `Arc` so that running commands hold it alive
/// while a reconnect replaces it.
struct Conn {
    ssh: Arc<openssh::Session>,
    generation: u64,
    /// The `sshpass` master we started for password logins (the crate's own master is
    /// owned by `ssh`).
    _password_master: Option<PasswordMaster>,
}

/// A session with one node: `exec`, `output`, `upload`, `download`.
pub struct Session {
    node: Node,
    config: Arc<SshConfig>,
    conn: Mutex<Arc<Conn>>,
    permits: Semaphore,
    /// When a reconnect last failed (all its retries): the node is taken to be down
    /// until [`DOWN_HOLD`] later, or until a reconnect succeeds.
    down_since: std::sync::Mutex<Option<Instant>>,
}

/// How long a node whose reconnect failed is held down before the next command tries to
/// reach it again.
pub const DOWN_HOLD: Duration = Duration::from_secs(60);

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("node", &self.node).finish()
    }
}

impl Session {
    /// Connects to `node`, retrying connection errors as configured.
    pub async fn connect(node: Node, config: Arc<SshConfig>) -> Result<Session, RemoteError> {
        let conn = connect_with_retries(&node, &config, 0).await?;
        let permits = Semaphore::new(config.max_sessions.max(1));
        Ok(Session {
            node,
            config,
            conn: Mutex::new(Arc::new(conn)),
            permits,
            down_since: std::sync::Mutex::new(None),
        })
    }

    pub fn node(&self) -> &Node {
        &self.node
    }

    pub fn config(&self) -> &SshConfig {
        &self.config
    }

    /// Runs `cmd` and returns its output; a non-zero exit is [`RemoteError::Failed`].
    pub async fn exec(&self, cmd: &Cmd) -> Result<Output, RemoteError> {
        let out = self.output(cmd).await?;
        if out.status != 0 {
            return Err(RemoteError::Failed {
                node: self.node.name.clone(),
                cmd: cmd.to_string(),
                status: out.status,
                stdout: out.stdout,
                stderr: out.stderr,
            });
        }
        Ok(out)
    }

    /// Runs `cmd` and returns its output whatever its exit status.
    pub async fn output(&self, cmd: &Cmd) -> Result<Output, RemoteError> {
        let raw = self.run(cmd).await?;
        Ok(Output {
            status: raw.status,
            stdout: String::from_utf8_lossy(&raw.stdout).into_owned(),
            stderr: raw.stderr,
        })
    }

    /// Writes `bytes` to `remote_path` (creating its directory), as the login user, or as
    /// root with `sudo`.
    pub async fn upload(
        &self,
        bytes: impl Into<Vec<u8>>,
        remote_path: &str,
        sudo: bool,
    ) -> Result<(), RemoteError> {
        let mut cmd = Cmd::shell(r#"mkdir -p -- "$(dirname -- "$1")" && cat > "$1""#)
            .arg(remote_path)
            .stdin(bytes);
        if sudo {
            cmd = cmd.sudo_root();
        }
        self.exec(&cmd).await.map(|_| ())
    }

    /// Copies the local file `local` to `remote_path`.
    pub async fn upload_file(
        &self,
        local: &Path,
        remote_path: &str,
        sudo: bool,
    ) -> Result<(), RemoteError> {
        let bytes = tokio::fs::read(local)
            .await
            .map_err(|source| RemoteError::Local {
                node: self.node.name.clone(),
                context: format!("cannot read {} to upload it", local.display()),
                source,
            })?;
        self.upload(bytes, remote_path, sudo).await
    }

    /// Reads `remote_path` and returns its bytes.
    pub async fn download_bytes(
        &self,
        remote_path: &str,
        sudo: bool,
    ) -> Result<Vec<u8>, RemoteError> {
        let mut cmd = Cmd::shell(r#"cat -- "$1""#).arg(remote_path);
        if sudo {
            cmd = cmd.sudo_root();
        }
        let raw = self.run(&cmd).await?;
        if raw.status != 0 {
            return Err(RemoteError::Failed {
                node: self.node.name.clone(),
                cmd: cmd.to_string(),
                status: raw.status,
                stdout: String::new(),
                stderr: raw.stderr,
            });
        }
        Ok(raw.stdout)
    }

    /// Copies `remote_path` to the local file `local` (creating its directory).
    pub async fn download(
        &self,
        remote_path: &str,
        local: &Path,
        sudo: bool,
    ) -> Result<(), RemoteError> {
        let bytes = self.download_bytes(remote_path, sudo).await?;
        let local_err = |source| RemoteError::Local {
            node: self.node.name.clone(),
            context: format!("cannot write {}", local.display()),
            source,
        };
        if let Some(dir) = local.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(local_err)?;
        }
        tokio::fs::write(local, bytes).await.map_err(local_err)
    }

    /// Closes the master connection.
    pub async fn close(self) {
        let conn = self.conn.into_inner();
        if let Ok(conn) = Arc::try_unwrap(conn)
            && let Ok(ssh) = Arc::try_unwrap(conn.ssh)
        {
            let _ = ssh.close().await;
        }
    }

    async fn run(&self, cmd: &Cmd) -> Result<RawOutput, RemoteError> {
        let node = &self.node.name;
        let (line, password_on_stdin) = cmd
            .render_for(&self.config.user, self.config.password.as_deref())
            .map_err(|source| RemoteError::Invalid {
                node: node.clone(),
                cmd: cmd.to_string(),
                source,
            })?;
        let mut stdin = Vec::new();
        if password_on_stdin {
            stdin.extend_from_slice(self.config.password.as_deref().unwrap_or("").as_bytes());
            stdin.push(b'\n');
        }
        let has_stdin = password_on_stdin || cmd.get_stdin().is_some();
        stdin.extend_from_slice(cmd.get_stdin().unwrap_or_default());

        let _permit = self
            .permits
            .acquire()
            .await
            .expect("semaphore never closed");
        let mut attempt = 0;
        let child = loop {
            let conn = self.conn.lock().await.clone();
            let mut command = conn.ssh.clone().arc_raw_command(&line);
            command
                .stdin(if has_stdin {
                    Stdio::piped()
                } else {
                    Stdio::null()
                })
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            tracing::debug!(node = %node, cmd = %line, "exec");
            match command.spawn().await {
                Ok(child) => break child,
                // The channel was never opened: nothing ran, so trying again is safe —
                // unless the node is held down, where trying again only waits.
                Err(e) if attempt < self.config.retries && !self.held_down() => {
                    attempt += 1;
                    tracing::warn!(node = %node, error = %chain(&e), attempt, "cannot open an SSH channel; reconnecting");
                    tokio::time::sleep(backoff(attempt)).await;
                    self.reconnect(conn.generation).await;
                }
                Err(e) => {
                    return Err(RemoteError::Connect {
                        node: node.clone(),
                        addr: self.node.addr(),
                        reason: format!(
                            "cannot open a channel after {} attempts: {}",
                            attempt + 1,
                            chain(&e)
                        ),
                    });
                }
            }
        };

        let mut child = child;
        let input = child.stdin().take();
        let feed = async move {
            if let Some(mut input) = input {
                // A command that does not read its input closes the pipe: not an error.
                let _ = input.write_all(&stdin).await;
                let _ = input.shutdown().await;
            }
        };
        let finish = async move { tokio::join!(feed, child.wait_with_output()).1 };
        let waited = match cmd.get_timeout() {
            // The remote `timeout` fires first; this is the backstop for a hung connection.
            Some(limit) => {
                match tokio::time::timeout(limit + Duration::from_secs(10), finish).await {
                    Ok(r) => r,
                    Err(_) => {
                        return Err(RemoteError::Timeout {
                            node: node.clone(),
                            cmd: cmd.to_string(),
                            after: limit,
                            stderr: String::new(),
                        });
                    }
                }
            }
            None => finish.await,
        };
        let out = waited.map_err(|e| RemoteError::Lost {
            node: node.clone(),
            cmd: cmd.to_string(),
            reason: match e {
                openssh::Error::RemoteProcessTerminated => {
                    "the remote process was killed by a signal or the connection closed".into()
                }
                other => chain(&other),
            },
        })?;
        let status = out.status.code().unwrap_or(-1);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if let Some(limit) = cmd.get_timeout() {
            // GNU timeout: 124 when it sent SIGTERM, 137 when it had to SIGKILL.
            if status == 124 || status == 137 {
                return Err(RemoteError::Timeout {
                    node: node.clone(),
                    cmd: cmd.to_string(),
                    after: limit,
                    stderr,
                });
            }
        }
        Ok(RawOutput {
            status,
            stdout: out.stdout,
            stderr,
        })
    }

    /// Whether a reconnect failed less than [`DOWN_HOLD`] ago.
    fn held_down(&self) -> bool {
        let since = *self.down_since.lock().unwrap_or_else(|p| p.into_inner());
        since.is_some_and(|t| t.elapsed() < DOWN_HOLD)
    }

    fn set_down(&self, down: bool) {
        *self.down_since.lock().unwrap_or_else(|p| p.into_inner()) = down.then(Instant::now);
    }

    /// Replaces the master connection if it is still the one that failed and is dead.
    async fn reconnect(&self, failed_generation: u64) {
        let mut guard = self.conn.lock().await;
        if guard.generation != failed_generation {
            return; // someone else already reconnected
        }
        if guard.ssh.check().await.is_ok() {
            return; // the master is fine; the channel failure was transient
        }
        if self.held_down() {
            return; // another command just found it down
        }
        match connect_with_retries(&self.node, &self.config, failed_generation + 1).await {
            Ok(conn) => {
                *guard = Arc::new(conn);
                self.set_down(false);
            }
            Err(e) => {
                tracing::warn!(node = %self.node.name, error = %e, hold = ?DOWN_HOLD, "reconnect failed; the node is held down");
                self.set_down(true);
            }
        }
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(200u64 << attempt.min(6))
}

/// An error and its sources on one line.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    one_line(&parts.join(": "))
}

async fn connect_with_retries(
    node: &Node,
    config: &SshConfig,
    generation: u64,
) -> Result<Conn, RemoteError> {
    let mut attempt = 0;
    loop {
        match connect_once(node, config, generation).await {
            Ok(conn) => return Ok(conn),
            Err(reason) if attempt < config.retries && !reason.permanent => {
                attempt += 1;
                tracing::warn!(node = %node.name, reason = %reason.text, attempt, "SSH connection failed; retrying");
                tokio::time::sleep(backoff(attempt)).await;
            }
            Err(reason) => {
                return Err(RemoteError::Connect {
                    node: node.name.clone(),
                    addr: node.addr(),
                    reason: reason.text,
                });
            }
        }
    }
}

struct ConnectFailure {
    text: String,
    /// Retrying cannot help (wrong password, host key mismatch, missing tool).
    permanent: bool,
}

async fn connect_once(
    node: &Node,
    config: &SshConfig,
    generation: u64,
) -> Result<Conn, ConnectFailure> {
    if let Some(password) = &config.password {
        let master = PasswordMaster::start(node, config, password).await?;
        let ssh = openssh::Session::resume_mux(master.ctl.clone().into_boxed_path(), None);
        return Ok(Conn {
            ssh: Arc::new(ssh),
            generation,
            _password_master: Some(master),
        });
    }
    let mut b = SessionBuilder::default();
    b.user(config.user.clone())
        .port(node.port)
        .connect_timeout(config.connect_timeout)
        .server_alive_interval(Duration::from_secs(5))
        .control_directory(&config.control_dir)
        .known_hosts_check(if config.strict_host_key_checking {
            KnownHosts::Strict
        } else {
            KnownHosts::Accept
        });
    if let Some(key) = &config.private_key {
        b.keyfile(key);
    }
    match (&config.known_hosts, config.strict_host_key_checking) {
        (Some(file), _) => {
            b.user_known_hosts_file(file);
        }
        // Not checking: do not record keys either (a rebuilt lab reuses addresses).
        (None, false) => {
            b.user_known_hosts_file("/dev/null");
        }
        (None, true) => {}
    }
    match b.connect_mux(&node.host).await {
        Ok(ssh) => Ok(Conn {
            ssh: Arc::new(ssh),
            generation,
            _password_master: None,
        }),
        Err(e) => {
            let text = chain(&e);
            let permanent = text.contains("Permission denied")
                || text.contains("Host key verification failed")
                || text.contains("REMOTE HOST IDENTIFICATION HAS CHANGED");
            Err(ConnectFailure { text, permanent })
        }
    }
}

/// An `ssh -M` master started under `sshpass`, for password logins. Dropping it asks the
/// master to exit and kills it.
struct PasswordMaster {
    ctl: PathBuf,
    child: tokio::process::Child,
    _dir: tempfile::TempDir,
}

impl PasswordMaster {
    async fn start(
        node: &Node,
        config: &SshConfig,
        password: &str,
    ) -> Result<PasswordMaster, ConnectFailure> {
        let fail = |text: String, permanent: bool| ConnectFailure { text, permanent };
        let dir = tempfile::Builder::new()
            .prefix(".sb-ssh")
            .tempdir_in(&config.control_dir)
            .map_err(|e| fail(format!("cannot create a control directory: {e}"), true))?;
        let ctl = dir.path().join("master");
        let log = dir.path().join("log");
        let mut cmd = tokio::process::Command::new("sshpass");
        cmd.arg("-e")
            .arg("ssh")
            .arg("-M")
            .arg("-N")
            .arg("-S")
            .arg(&ctl)
            .arg("-E")
            .arg(&log);
        let strict = if config.strict_host_key_checking {
            "yes"
        } else {
            "no"
        };
        let known_hosts = match &config.known_hosts {
            Some(f) => f.display().to_string(),
            None if config.strict_host_key_checking => String::new(),
            None => "/dev/null".into(),
        };
        let mut opts = vec![
            "ControlPersist=no".to_string(),
            format!("StrictHostKeyChecking={strict}"),
            format!("ConnectTimeout={}", config.connect_timeout.as_secs().max(1)),
            "ServerAliveInterval=5".into(),
            "NumberOfPasswordPrompts=1".into(),
            "PreferredAuthentications=password,keyboard-interactive".into(),
            "PubkeyAuthentication=no".into(),
        ];
        if !known_hosts.is_empty() {
            opts.push(format!("UserKnownHostsFile={known_hosts}"));
        }
        for o in opts {
            cmd.arg("-o").arg(o);
        }
        cmd.arg("-p")
            .arg(node.port.to_string())
            .arg("-l")
            .arg(&config.user)
            .arg("--")
            .arg(&node.host);
        cmd.env("SSHPASS", password)
            .stdin(StdStdio::null())
            .stdout(StdStdio::null())
            .stderr(StdStdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| {
            fail(
                format!(
                    "cannot run sshpass ({e}); password logins need it: apt-get install -y sshpass"
                ),
                true,
            )
        })?;
        let deadline =
            tokio::time::Instant::now() + config.connect_timeout + Duration::from_secs(5);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let log_text = std::fs::read_to_string(&log).unwrap_or_default();
                let denied = status.code() == Some(5) || log_text.contains("Permission denied");
                let unknown_key =
                    status.code() == Some(6) || log_text.contains("Host key verification failed");
                let why = if denied {
                    "wrong user or password".to_string()
                } else if unknown_key {
                    "the host key is unknown or changed (fix known_hosts, or turn off strict host key checking)".into()
                } else {
                    format!("ssh master exited with {status}")
                };
                return Err(fail(
                    format!("{why}{}", crate::error::stderr_suffix(&log_text)),
                    denied || unknown_key,
                ));
            }
            if ctl.exists() {
                let probe = openssh::Session::resume_mux(ctl.clone().into_boxed_path(), None);
                // Dropping a resumed session leaves the master running.
                if probe.check().await.is_ok() {
                    return Ok(PasswordMaster {
                        ctl,
                        child,
                        _dir: dir,
                    });
                }
            }
            if tokio::time::Instant::now() > deadline {
                return Err(fail(
                    "timed out waiting for the password-authenticated master".into(),
                    false,
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for PasswordMaster {
    fn drop(&mut self) {
        // sshpass owns ssh through a pty; ask the master to exit so nothing lingers.
        let _ = std::process::Command::new("ssh")
            .arg("-S")
            .arg(&self.ctl)
            .args(["-O", "exit", "splitbrain"])
            .stdin(StdStdio::null())
            .stdout(StdStdio::null())
            .stderr(StdStdio::null())
            .status();
        let _ = self.child.start_kill();
    }
}
