//! The fixed shell scripts of the database lifecycle, and the loader they share with the
//! nemeses' scripts.
//!
//! Each script is a file in `control/scripts/`, compiled in with `include_str!`, and reached
//! through exactly one typed function here (`lab-node.sh` through the lab's) that returns the [`Cmd`] to run: the function
//! owns the order of the script's positional parameters, and [`Cmd`] quotes every value.
//! Scripts that look at the daemon's pid get `pid.sh` (`alive`, `pid_of`) prepended
//! ([`with_functions`]). All run as root. Each crate's tests shellcheck its scripts as they
//! are sent (`testing`); CI runs no second shellcheck over the files.

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

fn with_pid_lib(script: &str) -> String {
    with_functions(script, PID_LIB)
}

/// `script` with the functions of `lib` (its text past its own header comment) inserted
/// after the script's header comment, so that the text still starts by saying which script
/// it is (it shows in errors and logs).
pub fn with_functions(script: &str, lib: &str) -> String {
    let (header, body) = split_header(script);
    let (_, functions) = split_header(lib);
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

/// Test helpers for the scripts of this crate and of `splitbrain-nemeses`: what a test of
/// node scripts checks is written once, here. They panic on failure, as tests do.
#[doc(hidden)]
pub mod testing {
    use std::io::Write;
    use std::path::Path;
    use std::process::{Command, Stdio};

    use crate::cmd::Cmd;

    /// Runs `cmd` here, as the node would (without sudo: these tests need no root):
    /// exit code, stdout, stderr.
    pub fn run(cmd: &Cmd) -> (i32, String, String) {
        let out = Command::new("sh")
            .arg("-c")
            .arg(cmd.render().unwrap())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// The positional parameters a command hands its script, as the script sees them: the
    /// rendered line runs with `sh` shadowed by a function that prints its arguments after
    /// `-c SCRIPT $0`.
    pub fn params(cmd: Cmd) -> Vec<String> {
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

    /// Every script, as it is sent (`(file name, text)`), is valid sh and starts with its
    /// header (`#!/bin/sh`, then a comment saying which script it is).
    pub fn assert_valid_shell_with_header(sent: &[(&str, String)]) {
        for (name, s) in sent {
            let out = Command::new("sh")
                .arg("-n")
                .arg("-c")
                .arg(s)
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

    /// shellcheck on the scripts as they are sent (libraries included), not only on the
    /// files: what reaches a node is what is checked. Under CI=true shellcheck must be there.
    pub fn assert_shellcheck_clean(sent: &[(&str, String)]) {
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
            eprintln!("SKIPPED shellcheck of the scripts as sent: {why}");
            return;
        }
        for (name, s) in sent {
            let mut child = Command::new("shellcheck")
                .args(["--shell=sh", "--format=gcc", "-"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
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

    /// Every `.sh` file in `dir` is one of `libs` or in `sent`, so that no script escapes
    /// the checks above (CI shellchecks only what these tests send it).
    pub fn assert_every_file_is_sent(dir: &Path, libs: &[&str], sent: &[(&str, String)]) {
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|f| f.ends_with(".sh"))
            .collect();
        files.sort();
        let mut listed: Vec<String> = libs
            .iter()
            .copied()
            .chain(sent.iter().map(|(n, _)| *n))
            .map(String::from)
            .collect();
        listed.sort();
        assert_eq!(files, listed, "{}: files vs. scripts sent", dir.display());
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{self, params};
    use super::*;

    /// Every script of `control/scripts/` exactly as it is sent, by name.
    fn sent() -> Vec<(&'static str, String)> {
        vec![
            ("install-tarball.sh", INSTALL_TARBALL.into()),
            ("install-packages.sh", INSTALL_PACKAGES.into()),
            ("daemon-start.sh", with_pid_lib(DAEMON_START)),
            ("daemon-pid.sh", with_pid_lib(DAEMON_PID)),
            ("daemon-signal.sh", with_pid_lib(DAEMON_SIGNAL)),
            ("daemon-wait-gone.sh", with_pid_lib(DAEMON_WAIT_GONE)),
            ("lab-node.sh", crate::lab::LAB_NODE.into()),
        ]
    }

    /// Exit code and stdout+stderr of `cmd` run here.
    fn run(cmd: &Cmd) -> (i32, String) {
        let (code, out, err) = testing::run(cmd);
        (code, out + &err)
    }

    #[test]
    fn every_script_is_valid_shell_and_says_which_it_is() {
        testing::assert_valid_shell_with_header(&sent());
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts");
        testing::assert_every_file_is_sent(dir.as_ref(), &["pid.sh"], &sent());
    }

    #[test]
    fn scripts_as_sent_pass_shellcheck() {
        testing::assert_shellcheck_clean(&sent());
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
