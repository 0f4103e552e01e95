//! The fixed shell scripts of the database lifecycle.
//!
//! Each script is a file in `control/scripts/` (checked by shellcheck in CI), compiled in
//! with `include_str!`, and reached through exactly one typed function here that returns
//! the [`Cmd`] to run: the function owns the order of the script's positional parameters,
//! and [`Cmd`] quotes every value. Scripts that look at the daemon's pid get `pid.sh`
//! (`alive`, `pid_of`) prepended. All run as root.

use std::time::Duration;

use crate::cmd::Cmd;

macro_rules! script_file {
    ($name:literal) => {
        include_str!(concat!("../../scripts/", $name))
    };
}

const PID_LIB: &str = script_file!("pid.sh");
const INSTALL_TARBALL: &str = script_file!("install-tarball.sh");
const INSTALL_PACKAGES: &str = script_file!("install-packages.sh");
const DAEMON_START: &str = script_file!("daemon-start.sh");
const DAEMON_PID: &str = script_file!("daemon-pid.sh");
const DAEMON_SIGNAL: &str = script_file!("daemon-signal.sh");
const DAEMON_WAIT_GONE: &str = script_file!("daemon-wait-gone.sh");

/// `script` with pid.sh's functions inserted after the script's own header comment, so that
/// the text still starts by saying which script it is (it shows in errors and logs).
fn with_pid_lib(script: &str) -> String {
    let (header, body) = split_header(script);
    let (_, functions) = split_header(PID_LIB);
    format!("{header}{functions}{body}")
}

/// The leading comment lines (shebang included) and the rest.
fn split_header(script: &str) -> (&str, &str) {
    let mut end = 0;
    for line in script.split_inclusive('\n') {
        if !line.starts_with('#') {
            break;
        }
        end += line.len();
    }
    script.split_at(end)
}

fn root(script: impl Into<String>) -> Cmd {
    Cmd::shell(script).sudo_root()
}

/// A signal for the daemon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Signal {
    Kill,
    Term,
    Stop,
    Cont,
}

impl Signal {
    /// The name `kill -s` and `pkill -NAME` take.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Signal::Kill => "KILL",
            Signal::Term => "TERM",
            Signal::Stop => "STOP",
            Signal::Cont => "CONT",
        }
    }
}

/// Unpacks the tarball at `url` into `dest` (wiped first), stripping `strip_components`
/// leading path components; skipped when this URL is already unpacked there.
pub(crate) fn install_tarball(url: &str, dest: &str, strip_components: u32) -> Cmd {
    root(INSTALL_TARBALL)
        .arg(url)
        .arg(dest)
        .arg(strip_components.to_string())
}

/// `apt-get install`s those of `packages` that dpkg does not list as installed.
pub(crate) fn install_packages(packages: &[String]) -> Cmd {
    root(INSTALL_PACKAGES).args(packages.iter().cloned())
}

/// Starts `command` (program and arguments) detached, unless the process in `pid_file`
/// runs: output appended to `log_file`, pid in `pid_file`, in `cwd` if given; a missing
/// `clock_file` is created at offset zero first.
pub(crate) fn daemon_start(
    pid_file: &str,
    log_file: &str,
    cwd: Option<&str>,
    clock_file: Option<&str>,
    command: &[String],
) -> Cmd {
    root(with_pid_lib(DAEMON_START))
        .arg(pid_file)
        .arg(log_file)
        .arg(cwd.unwrap_or_default())
        .arg(clock_file.unwrap_or_default())
        .args(command.iter().cloned())
}

/// Prints the pid in `pid_file` if that process is alive (not a zombie), else nothing.
pub(crate) fn daemon_pid(pid_file: &str) -> Cmd {
    root(with_pid_lib(DAEMON_PID)).arg(pid_file)
}

/// Sends `signal` to the process in `pid_file` and to every process named `process`.
pub(crate) fn daemon_signal(pid_file: &str, process: Option<&str>, signal: Signal) -> Cmd {
    root(with_pid_lib(DAEMON_SIGNAL))
        .arg(pid_file)
        .arg(process.unwrap_or_default())
        .arg(signal.name())
}

/// Waits up to `limit` (in steps of 0.1 s, at least one) until neither the process in
/// `pid_file` nor one named `process` runs, then removes the pid file; exits 1 otherwise.
pub(crate) fn daemon_wait_gone(pid_file: &str, process: Option<&str>, limit: Duration) -> Cmd {
    let tenths = (limit.as_millis() / 100).max(1);
    root(with_pid_lib(DAEMON_WAIT_GONE))
        .arg(pid_file)
        .arg(process.unwrap_or_default())
        .arg(tenths.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Every script exactly as it is sent, by name.
    fn sent() -> Vec<(&'static str, String)> {
        vec![
            ("install-tarball.sh", INSTALL_TARBALL.into()),
            ("install-packages.sh", INSTALL_PACKAGES.into()),
            ("daemon-start.sh", with_pid_lib(DAEMON_START)),
            ("daemon-pid.sh", with_pid_lib(DAEMON_PID)),
            ("daemon-signal.sh", with_pid_lib(DAEMON_SIGNAL)),
            ("daemon-wait-gone.sh", with_pid_lib(DAEMON_WAIT_GONE)),
        ]
    }

    /// Runs `cmd` here, as the node would (without sudo: these tests need no root).
    fn run(cmd: &Cmd) -> (i32, String) {
        let out = Command::new("sh")
            .arg("-c")
            .arg(cmd.render().unwrap())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    }

    /// The positional parameters a command hands its script, as the script sees them: the
    /// rendered line runs with `sh` shadowed by a function that prints its arguments after
    /// `-c SCRIPT $0`.
    fn params(cmd: Cmd) -> Vec<String> {
        let line = format!(
            "sh() {{ shift 3; for a in \"$@\"; do printf '%s\\0' \"$a\"; done; }}\n{}",
            cmd.render().unwrap()
        );
        let out = Command::new("sh").arg("-c").arg(line).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut words: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .split('\0')
            .map(String::from)
            .collect();
        words.pop(); // after the last NUL
        words
    }

    #[test]
    fn every_script_is_valid_shell_and_says_which_it_is() {
        for (name, s) in sent() {
            let out = Command::new("sh")
                .arg("-n")
                .arg("-c")
                .arg(&s)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{name}: {}\n{s}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                s.starts_with("#!/bin/sh\n# "),
                "{name} starts with its header"
            );
        }
    }

    /// shellcheck on the scripts as they are sent (pid.sh included), not only on the files.
    /// Under CI=true shellcheck must be there.
    #[test]
    fn scripts_as_sent_pass_shellcheck() {
        if Command::new("shellcheck")
            .arg("--version")
            .output()
            .is_err()
        {
            let why = "shellcheck is not installed (scripts/install-deps installs it)";
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but {why}"
            );
            eprintln!("SKIPPED scripts_as_sent_pass_shellcheck: {why}");
            return;
        }
        for (name, s) in sent() {
            use std::io::Write;
            let mut child = Command::new("shellcheck")
                .args(["--shell=sh", "--format=gcc", "-"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{name} as sent:\n{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }

    #[test]
    fn wrappers_put_each_value_in_its_place() {
        let evil = "$(touch /tmp/splitbrain-pwned); x";
        assert_eq!(
            params(daemon_start(
                "/run/p",
                "/var/log/l",
                None,
                Some("/run/c"),
                &["env".into(), "A=1".into(), evil.into()]
            )),
            ["/run/p", "/var/log/l", "", "/run/c", "env", "A=1", evil]
        );
        assert_eq!(
            params(daemon_signal("/run/p", Some("etcd"), Signal::Stop)),
            ["/run/p", "etcd", "STOP"]
        );
        assert_eq!(
            params(daemon_wait_gone("/run/p", None, Duration::from_millis(50))),
            ["/run/p", "", "1"]
        );
        assert_eq!(
            params(install_tarball("https://x/y.tgz", "/opt/y", 1)),
            ["https://x/y.tgz", "/opt/y", "1"]
        );
        assert_eq!(
            params(install_packages(&["etcd-server".into(), evil.into()])),
            ["etcd-server", evil]
        );
    }

    /// The daemon scripts end to end, here: start, already running, pid, stop, wait, gone.
    #[test]
    fn a_daemon_starts_once_stops_on_a_signal_and_is_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let d = |p: &str| dir.path().join(p).to_str().unwrap().to_string();
        let (pid_file, log, cwd, clock) = (d("run/d.pid"), d("log/d.log"), d("work"), d("c/f"));
        let command = ["sh".to_string(), "-c".into(), "pwd; exec sleep 300".into()];
        let start = daemon_start(&pid_file, &log, Some(&cwd), Some(&clock), &command);
        let (code, out) = run(&start);
        assert_eq!(code, 0, "{out}");
        assert_eq!(std::fs::read_to_string(&clock).unwrap(), "+0\n");
        let (_, out) = run(&daemon_pid(&pid_file));
        let pid: u32 = out.trim().parse().expect(&out);
        let (_, again) = run(&start);
        assert_eq!(again.trim(), format!("already running as {pid}"));
        run(&daemon_signal(&pid_file, None, Signal::Term));
        // Generous: a loaded machine is slow, not broken. The zombie counts as gone.
        let (code, out) = run(&daemon_wait_gone(&pid_file, None, Duration::from_secs(60)));
        assert_eq!(code, 0, "{out}");
        assert!(!std::path::Path::new(&pid_file).exists());
        assert_eq!(run(&daemon_pid(&pid_file)).1, "");
        // It ran in its working directory, its output in the log.
        assert_eq!(std::fs::read_to_string(&log).unwrap().trim(), cwd);
    }
}
