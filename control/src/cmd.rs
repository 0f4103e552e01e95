//! Commands to run on a node, built from words rather than strings.
//!
//! A [`Cmd`] is either a program with arguments ([`Cmd::new`]) or a shell script
//! ([`Cmd::shell`]) that the caller wrote and trusts. Arguments, environment
//! values, the working directory and the sudo user are always quoted with
//! [`quote`](crate::quote), so no value can turn into shell syntax.

use std::fmt;
use std::time::Duration;

use crate::quote::{quote, quote_words};

/// How long a remote `timeout` waits after SIGTERM before it sends SIGKILL.
const KILL_AFTER_SECS: u32 = 5;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Program {
    /// Program and arguments, each quoted as one word.
    Argv(Vec<String>),
    /// A script run by `sh -c`; its text is the caller's, values in it must already be quoted.
    /// The arguments become its positional parameters `$1`, `$2`, ...
    Shell(String, Vec<String>),
}

/// A command for one node: program or script, plus environment, working directory,
/// sudo, standard input and a timeout.
///
/// ```
/// use splitbrain_control::Cmd;
/// use std::time::Duration;
/// let cmd = Cmd::new("etcd")
///     .arg("--name")
///     .arg("n1")
///     .env("ETCD_LOG_LEVEL", "warn")
///     .cwd("/var/lib/etcd")
///     .timeout(Duration::from_secs(10));
/// assert_eq!(
///     cmd.render().unwrap(),
///     "cd /var/lib/etcd && env ETCD_LOG_LEVEL=warn timeout -k 5 10 etcd --name n1"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cmd {
    program: Program,
    env: Vec<(String, String)>,
    cwd: Option<String>,
    sudo: Option<String>,
    timeout: Option<Duration>,
    stdin: Option<Vec<u8>>,
}

/// A command that cannot be sent as asked.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum CmdError {
    #[error(
        "invalid environment variable name {0:?} (letters, digits and _ only, not starting with a digit)"
    )]
    EnvName(String),
    #[error("a command cannot contain a NUL byte: {0:?}")]
    Nul(String),
    #[error("empty command")]
    Empty,
    #[error("{0}")]
    Refused(String),
}

impl Cmd {
    /// Runs `program` (looked up in the remote PATH) with the arguments added later.
    pub fn new(program: impl Into<String>) -> Self {
        Self::with_program(Program::Argv(vec![program.into()]))
    }

    /// Runs `script` with `sh -c`. The script is taken as written: quote any value in it
    /// with [`quote`](crate::quote), or pass values with [`Cmd::env`] and `"$NAME"`.
    pub fn shell(script: impl Into<String>) -> Self {
        Self::with_program(Program::Shell(script.into(), Vec::new()))
    }

    fn with_program(program: Program) -> Self {
        Cmd {
            program,
            env: Vec::new(),
            cwd: None,
            sudo: None,
            timeout: None,
            stdin: None,
        }
    }

    /// Adds one argument. For a shell script it becomes the next positional parameter
    /// (`$1`, `$2`, ...): the safe way to hand values to a script.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        match &mut self.program {
            Program::Argv(argv) => argv.push(arg.into()),
            Program::Shell(_, params) => params.push(arg.into()),
        }
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for a in args {
            self = self.arg(a);
        }
        self
    }

    /// Sets an environment variable for the command.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Runs the command in `dir`.
    pub fn cwd(mut self, dir: impl Into<String>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// Runs the command as `user` through `sudo -S` (the session's password, if any, is fed
    /// on standard input as Jepsen does). Skipped when the SSH user already is `user`.
    pub fn sudo(mut self, user: impl Into<String>) -> Self {
        self.sudo = Some(user.into());
        self
    }

    /// Shorthand for `sudo("root")`.
    pub fn sudo_root(self) -> Self {
        self.sudo("root")
    }

    /// Kills the command after `limit`: remotely with `timeout` (SIGTERM, SIGKILL 5 s later)
    /// and locally by giving up waiting shortly after. A timed-out command is reported as
    /// [`RemoteError::Timeout`](crate::RemoteError::Timeout).
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    /// Bytes written to the command's standard input (then closed).
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    pub fn get_timeout(&self) -> Option<Duration> {
        self.timeout
    }

    pub fn get_sudo(&self) -> Option<&str> {
        self.sudo.as_deref()
    }

    pub fn get_stdin(&self) -> Option<&[u8]> {
        self.stdin.as_deref()
    }

    /// The shell text of the command without sudo: `cd DIR && env K=V timeout ... PROGRAM ARGS`.
    pub fn render(&self) -> Result<String, CmdError> {
        self.validate()?;
        let mut out = String::new();
        if let Some(dir) = &self.cwd {
            out.push_str("cd ");
            out.push_str(&quote(dir));
            out.push_str(" && ");
        }
        if !self.env.is_empty() {
            out.push_str("env ");
            for (k, v) in &self.env {
                out.push_str(&quote(&format!("{k}={v}")));
                out.push(' ');
            }
        }
        if let Some(limit) = self.timeout {
            out.push_str(&format!(
                "timeout -k {KILL_AFTER_SECS} {} ",
                format_secs(limit)
            ));
        }
        match &self.program {
            Program::Argv(argv) => out.push_str(&quote_words(argv)),
            Program::Shell(script, params) => {
                out.push_str("sh -c ");
                out.push_str(&quote(script));
                if !params.is_empty() {
                    // $0 of the script, then its positional parameters.
                    out.push_str(" sh ");
                    out.push_str(&quote_words(params));
                }
            }
        }
        Ok(out)
    }

    /// The full remote command line for a session logged in as `login_user`, and whether
    /// sudo will read a password from standard input.
    pub(crate) fn render_for(
        &self,
        login_user: &str,
        password: Option<&str>,
    ) -> Result<(String, bool), CmdError> {
        let inner = self.render()?;
        match self.sudo.as_deref() {
            Some(user) if user != login_user => {
                // -k: always ask, so that exactly one password line is consumed from stdin.
                let line = match password {
                    Some(_) => format!(
                        "sudo -k -S -p '' -u {} -- sh -c {}",
                        quote(user),
                        quote(&inner)
                    ),
                    None => format!("sudo -n -u {} -- sh -c {}", quote(user), quote(&inner)),
                };
                Ok((line, password.is_some()))
            }
            _ => Ok((inner, false)),
        }
    }

    fn validate(&self) -> Result<(), CmdError> {
        let mut texts: Vec<&str> = Vec::new();
        match &self.program {
            Program::Argv(argv) => {
                if argv.first().is_none_or(|p| p.is_empty()) {
                    return Err(CmdError::Empty);
                }
                texts.extend(argv.iter().map(String::as_str));
            }
            Program::Shell(s, params) => {
                if s.trim().is_empty() {
                    return Err(CmdError::Empty);
                }
                texts.push(s);
                texts.extend(params.iter().map(String::as_str));
            }
        }
        for (k, v) in &self.env {
            let valid = !k.is_empty()
                && !k.as_bytes()[0].is_ascii_digit()
                && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !valid {
                return Err(CmdError::EnvName(k.clone()));
            }
            texts.push(v);
        }
        texts.extend(self.cwd.as_deref());
        texts.extend(self.sudo.as_deref());
        match texts.into_iter().find(|t| t.contains('\0')) {
            Some(t) => Err(CmdError::Nul(t.to_string())),
            None => Ok(()),
        }
    }
}

impl fmt::Display for Cmd {
    /// A short form for errors and logs: the program and its quoted arguments.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match &self.program {
            Program::Argv(argv) => quote_words(argv),
            Program::Shell(script, params) if params.is_empty() => script.clone(),
            Program::Shell(script, params) => format!("{script} -- {}", quote_words(params)),
        };
        let text = text.replace('\n', "⏎");
        let max = 200;
        if text.chars().count() > max {
            let cut: String = text.chars().take(max).collect();
            write!(f, "{cut}…")
        } else {
            f.write_str(&text)
        }
    }
}

fn format_secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        d.as_secs().to_string()
    } else {
        format!("{:.3}", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quote::tests_support::HOSTILE;
    use std::process::Command;

    fn run_locally(line: &str) -> std::process::Output {
        Command::new("sh").arg("-c").arg(line).output().unwrap()
    }

    #[test]
    fn hostile_arguments_env_and_cwd_arrive_literally() {
        let marker = std::path::Path::new("/tmp/splitbrain-quote-pwned");
        let _ = std::fs::remove_file(marker);
        let dir = tempfile::tempdir().unwrap();
        for (i, value) in HOSTILE.iter().enumerate() {
            // A directory whose name is hostile too.
            let sub = dir
                .path()
                .join(format!("d{i} {}", value.replace(['/', '\0'], "_")));
            std::fs::create_dir(&sub).unwrap();
            let cmd = Cmd::new("sh")
                .arg("-c")
                .arg(r#"printf '%s|%s|%s' "$1" "$V" "$(pwd)""#)
                .arg("sh")
                .arg(*value)
                .env("V", *value)
                .cwd(sub.to_str().unwrap());
            let out = run_locally(&cmd.render().unwrap());
            assert!(
                out.status.success(),
                "{cmd}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(
                String::from_utf8(out.stdout).unwrap(),
                format!("{value}|{value}|{}", sub.display())
            );
        }
        assert!(!marker.exists(), "a value was executed");
    }

    #[test]
    fn shell_scripts_get_positional_arguments_quoted() {
        let cmd = Cmd::shell(r#"printf '%s' "$1""#).arg("$(touch /tmp/splitbrain-quote-pwned)");
        let out = run_locally(&cmd.render().unwrap());
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            "$(touch /tmp/splitbrain-quote-pwned)"
        );
    }

    #[test]
    fn timeout_and_sudo_render() {
        let cmd = Cmd::new("sleep")
            .arg("10")
            .timeout(Duration::from_millis(1500))
            .sudo("bob");
        let (line, pw) = cmd.render_for("root", Some("secret")).unwrap();
        assert_eq!(
            line,
            "sudo -k -S -p '' -u bob -- sh -c 'timeout -k 5 1.500 sleep 10'"
        );
        assert!(pw);
        // Already that user: no sudo at all.
        let (line, pw) = cmd.render_for("bob", Some("secret")).unwrap();
        assert_eq!(line, "timeout -k 5 1.500 sleep 10");
        assert!(!pw);
        let (line, _) = Cmd::new("id").sudo_root().render_for("bob", None).unwrap();
        assert_eq!(line, "sudo -n -u root -- sh -c id");
    }

    #[test]
    fn bad_commands_are_refused() {
        assert_eq!(Cmd::new("").render(), Err(CmdError::Empty));
        assert!(matches!(
            Cmd::new("x").env("A B", "1").render(),
            Err(CmdError::EnvName(_))
        ));
        assert!(matches!(
            Cmd::new("x").env("1A", "1").render(),
            Err(CmdError::EnvName(_))
        ));
        assert!(matches!(
            Cmd::new("x").arg("a\0b").render(),
            Err(CmdError::Nul(_))
        ));
    }
}
