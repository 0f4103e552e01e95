//! One client program as an OS process: its pipes, its stderr file, and how it is
//! stopped.
//!
//! The program runs in a process group of its own, so that stopping it reaches what it
//! started (a shell client's `etcdctl`): SIGTERM to the group, SIGKILL after the grace,
//! and the group leader reaped. Dropped without [`Program::stop`], the group gets
//! SIGKILL at once and tokio reaps the leader in the background (`kill_on_drop`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};
use tokio::task::JoinHandle;

use super::protocol::{MAX_LINE, ToClient};

/// The most of one OS process's stderr kept in its file (16 MiB).
pub const STDERR_CAP: u64 = 16 << 20;

/// How much of the end of stderr is kept in memory, to quote in errors.
const TAIL: usize = 2048;

/// How long a polite close waits for the program to exit by itself.
const CLOSE_WAIT: Duration = Duration::from_millis(500);

/// How long a write to the program's stdin may take before the program counts as stuck.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why no line came.
#[derive(Debug)]
pub enum LineError {
    /// stdout closed (the program exited or closed it); `partial` bytes of an
    /// unfinished line were read.
    Closed {
        partial: usize,
    },
    /// A line longer than [`MAX_LINE`].
    TooLong,
    Io(std::io::Error),
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineError::Closed { partial: 0 } => f.write_str("it closed its stdout"),
            LineError::Closed { partial } => write!(
                f,
                "it closed its stdout in the middle of a line ({partial} bytes without a newline)"
            ),
            LineError::TooLong => write!(f, "it wrote a line longer than {} MiB", MAX_LINE >> 20),
            LineError::Io(e) => write!(f, "reading its stdout failed: {e}"),
        }
    }
}

/// Lines of at most [`MAX_LINE`] bytes from a pipe.
struct Lines<R> {
    reader: BufReader<R>,
    line: Vec<u8>,
}

impl<R: AsyncRead + Unpin> Lines<R> {
    /// The next line without its newline (and `\r`). Cancel-safe in the sense that
    /// matters here: a dropped read leaves a partial line, and the client is then closed.
    async fn next(&mut self) -> Result<Vec<u8>, LineError> {
        loop {
            let buf = self.reader.fill_buf().await.map_err(LineError::Io)?;
            if buf.is_empty() {
                return Err(LineError::Closed {
                    partial: self.line.len(),
                });
            }
            match buf.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    if self.line.len() + i > MAX_LINE {
                        return Err(LineError::TooLong);
                    }
                    self.line.extend_from_slice(&buf[..i]);
                    self.reader.consume(i + 1);
                    let mut line = std::mem::take(&mut self.line);
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    return Ok(line);
                }
                None => {
                    let n = buf.len();
                    if self.line.len() + n > MAX_LINE {
                        return Err(LineError::TooLong);
                    }
                    self.line.extend_from_slice(buf);
                    self.reader.consume(n);
                }
            }
        }
    }
}

/// A running client program.
pub struct Program {
    child: Child,
    /// The process group (the child's pid): what signals are sent to.
    group: Option<i32>,
    stdin: Option<ChildStdin>,
    stdout: Lines<ChildStdout>,
    tail: Arc<Mutex<Vec<u8>>>,
    stderr_task: Option<JoinHandle<()>>,
    stderr_path: Option<PathBuf>,
    status: Option<ExitStatus>,
}

impl Program {
    /// Starts `command` (`command[0]` looked up in PATH unless it has a `/`), its stderr
    /// appended to `stderr_path` (created with its directory), or kept only in memory.
    pub fn spawn(command: &[String], stderr_path: Option<&Path>) -> std::io::Result<Program> {
        let file = match stderr_path {
            Some(path) => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?;
                let written = file.metadata()?.len();
                Some((tokio::fs::File::from_std(file), written))
            }
            None => None,
        };
        let mut child = Command::new(&command[0])
            .args(&command[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()?;
        let group = child.id().and_then(|pid| i32::try_from(pid).ok());
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let tail = Arc::new(Mutex::new(Vec::new()));
        let stderr_task = tokio::spawn(drain_stderr(stderr, file, tail.clone()));
        Ok(Program {
            child,
            group,
            stdin,
            stdout: Lines {
                reader: BufReader::with_capacity(1 << 16, stdout),
                line: Vec::new(),
            },
            tail,
            stderr_task: Some(stderr_task),
            stderr_path: stderr_path.map(Path::to_path_buf),
            status: None,
        })
    }

    /// The OS process id (while it runs).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Writes one message.
    pub async fn send(&mut self, message: &ToClient) -> std::io::Result<()> {
        let Some(stdin) = self.stdin.as_mut() else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "its stdin is closed",
            ));
        };
        let line = message.to_line().map_err(std::io::Error::other)?;
        match tokio::time::timeout(WRITE_TIMEOUT, stdin.write_all(&line)).await {
            Ok(r) => r,
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("it has not read its stdin for {WRITE_TIMEOUT:?}"),
            )),
        }
    }

    /// The next non-empty line.
    pub async fn recv(&mut self) -> Result<Vec<u8>, LineError> {
        loop {
            let line = self.stdout.next().await?;
            if !line.iter().all(u8::is_ascii_whitespace) {
                return Ok(line);
            }
        }
    }

    /// Waits up to `within` for the program to exit; its status, if it did.
    async fn wait_for(&mut self, within: Duration) -> Option<ExitStatus> {
        if self.status.is_none()
            && let Ok(Ok(status)) = tokio::time::timeout(within, self.child.wait()).await
        {
            self.status = Some(status);
        }
        self.status
    }

    /// What became of the program, for an error: ` (it exited with status 3; its stderr
    /// ends: "...")`, after giving it a moment to exit.
    pub async fn exit_note(&mut self) -> String {
        let status = self.wait_for(Duration::from_millis(200)).await;
        if status.is_some()
            && let Some(task) = self.stderr_task.as_mut()
            && tokio::time::timeout(Duration::from_millis(200), task)
                .await
                .is_ok()
        {
            // Its stderr is complete: what it said last is in the tail.
            self.stderr_task = None;
        }
        self.note(status)
    }

    fn note(&self, status: Option<ExitStatus>) -> String {
        let mut parts = Vec::new();
        if let Some(s) = status {
            parts.push(format!("it exited with {}", describe_status(s)));
        }
        let tail = self.stderr_tail();
        if !tail.is_empty() {
            parts.push(format!(
                "its stderr ends: {}",
                super::quote(tail.as_bytes())
            ));
        }
        if let Some(p) = &self.stderr_path {
            parts.push(format!("stderr in {}", p.display()));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!(" ({})", parts.join("; "))
        }
    }

    /// The last lines of its stderr so far (at most ~200 characters).
    pub fn stderr_tail(&self) -> String {
        let tail = self.tail.lock().unwrap_or_else(|p| p.into_inner());
        let text = String::from_utf8_lossy(&tail);
        let text = text.trim_end();
        let start = text.char_indices().rev().nth(199).map_or(0, |(i, _)| i);
        text[start..].to_string()
    }

    /// Stops the program and reaps it. `polite`: send `close`, close stdin and give it
    /// [`CLOSE_WAIT`] to exit by itself first. Then SIGTERM to its group, SIGKILL after
    /// `grace`; at the end SIGKILL to whatever it left in its group.
    pub async fn stop(&mut self, polite: bool, grace: Duration) {
        if polite && self.status.is_none() {
            let _ =
                tokio::time::timeout(Duration::from_millis(100), self.send(&ToClient::Close)).await;
        }
        // EOF on stdin: a program that reads it exits.
        self.stdin = None;
        if polite {
            self.wait_for(CLOSE_WAIT).await;
        }
        if self.status.is_none() {
            self.signal(libc::SIGTERM);
            if self.wait_for(grace).await.is_none() {
                self.signal(libc::SIGKILL);
                // SIGKILL cannot be ignored; the bound only guards against a process
                // stuck in the kernel (then tokio reaps it when it dies).
                self.wait_for(Duration::from_secs(5)).await;
            }
        }
        // Children it started and left behind; the group is gone when none remain.
        self.signal(libc::SIGKILL);
        if let Some(task) = self.stderr_task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(1), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }

    fn signal(&self, signal: i32) {
        if let Some(group) = self.group {
            // SAFETY: killpg only sends a signal; ESRCH (the group is gone) is fine.
            unsafe {
                libc::killpg(group, signal);
            }
        }
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        if self.status.is_none() {
            // Not stopped (a dropped future, a panic): no grace, but no orphans either.
            self.signal(libc::SIGKILL);
        }
    }
}

/// `status 3` or `signal 9 (SIGKILL)`.
fn describe_status(s: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (s.code(), s.signal()) {
        (Some(code), _) => format!("status {code}"),
        (None, Some(sig)) => {
            let name = match sig {
                libc::SIGTERM => " (SIGTERM)",
                libc::SIGKILL => " (SIGKILL)",
                libc::SIGSEGV => " (SIGSEGV)",
                libc::SIGABRT => " (SIGABRT)",
                _ => "",
            };
            format!("signal {sig}{name}")
        }
        _ => s.to_string(),
    }
}

/// Copies stderr to its file, up to [`STDERR_CAP`] bytes (then a note, and the rest
/// is read and dropped so the program never blocks on a full pipe), keeping its tail.
async fn drain_stderr(
    mut stderr: ChildStderr,
    mut file: Option<(tokio::fs::File, u64)>,
    tail: Arc<Mutex<Vec<u8>>>,
) {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 8192];
    loop {
        let n = match stderr.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        {
            let mut t = tail.lock().unwrap_or_else(|p| p.into_inner());
            t.extend_from_slice(chunk);
            if t.len() > TAIL {
                let cut = t.len() - TAIL;
                t.drain(..cut);
            }
        }
        if let Some((f, written)) = file.as_mut() {
            let room = STDERR_CAP.saturating_sub(*written);
            let keep = (n as u64).min(room) as usize;
            // Flushed as it comes: the file is what a user reads while the test runs.
            let ok = f.write_all(&chunk[..keep]).await.is_ok() && f.flush().await.is_ok();
            *written += keep as u64;
            if !ok || keep < n {
                if ok {
                    let _ = f
                        .write_all(
                            format!(
                                "\n[splitbrain: stderr cut at {} MiB; the rest was dropped]\n",
                                STDERR_CAP >> 20
                            )
                            .as_bytes(),
                        )
                        .await;
                }
                let _ = f.flush().await;
                file = None;
            }
        }
    }
    if let Some((mut f, _)) = file {
        let _ = f.flush().await;
    }
}
