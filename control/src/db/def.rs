//! The YAML format of database definitions (`dbs/*.yaml`; documented in `dbs/README.md`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::template::{Script, Template};

/// A database definition: how to install, configure, start, probe, fault and tear down a
/// database on each node. Field names are checked: a misspelled one is an error.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbDef {
    /// Short name, `{{name}}` in templates.
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Extra variables; they may use the per-node built-ins.
    #[serde(default)]
    pub vars: BTreeMap<String, Template>,
    /// Where the database keeps its data on a node; wiped by teardown.
    pub data_dir: Template,
    /// The TCP port clients connect to on each node's address (the harness's default for
    /// `client.port`).
    #[serde(default, deserialize_with = "client_port")]
    pub client_port: Option<u16>,
    /// Directories each lab node must have to itself (e.g. the one holding `data_dir`);
    /// `lab up --db FILE` makes them private. Plain absolute paths, no variables: the lab
    /// needs them before any node exists.
    #[serde(default)]
    pub private_dirs: Vec<Template>,
    #[serde(default)]
    pub cluster: ClusterDef,
    #[serde(default)]
    pub install: Install,
    #[serde(default)]
    pub configure: Configure,
    pub daemon: Daemon,
    pub ready: Ready,
    #[serde(default)]
    pub leader: Option<Leader>,
    #[serde(default)]
    pub teardown: Teardown,
    /// Files worth keeping after a test (the daemon's log file is always included).
    #[serde(default)]
    pub logs: Vec<Template>,
    #[serde(default)]
    pub clock: Clock,
    /// The file the definition came from (for error messages).
    #[serde(skip)]
    pub source: PathBuf,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterDef {
    /// One node's entry in the member list; `{{peers}}` is these joined with commas.
    #[serde(default)]
    pub peer: Option<Template>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Install {
    /// Shell command; when it exits 0 the node counts as installed and the rest is skipped.
    #[serde(default)]
    pub skip_if: Option<Script>,
    /// Debian packages, installed with apt-get one node at a time (lab nodes share dpkg).
    #[serde(default)]
    pub packages: Vec<String>,
    /// An archive to download and unpack (the usual way on real machines).
    #[serde(default)]
    pub tarball: Option<Tarball>,
    /// Shell commands run after the above, in order.
    #[serde(default)]
    pub commands: Vec<Script>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tarball {
    pub url: Template,
    pub dest: Template,
    #[serde(default = "one")]
    pub strip_components: u32,
}

fn one() -> u32 {
    1
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Configure {
    #[serde(default)]
    pub files: Vec<FileDef>,
    #[serde(default)]
    pub commands: Vec<Script>,
}

/// A file written on each node; its content is templated as plain text.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDef {
    pub path: Template,
    pub content: Template,
    /// Octal permissions as a string, e.g. "0644".
    #[serde(default)]
    pub mode: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Daemon {
    /// Program and arguments: each item is exactly one argument.
    pub command: Vec<Template>,
    #[serde(default)]
    pub env: BTreeMap<String, Template>,
    #[serde(default)]
    pub cwd: Option<Template>,
    pub pid_file: Template,
    pub log_file: Template,
    /// Process name for `pkill -x` (a fallback when the pid file is stale).
    #[serde(default)]
    pub process: Option<String>,
    /// How long SIGTERM gets before SIGKILL when stopping.
    #[serde(default = "ten_seconds", deserialize_with = "duration")]
    pub stop_timeout: Duration,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ready {
    /// TCP port the controller connects to on the node's address.
    #[serde(default, deserialize_with = "ready_port")]
    pub tcp: Option<u16>,
    /// Shell command on the node; exit 0 means ready.
    #[serde(default)]
    pub command: Option<Script>,
    #[serde(default = "thirty_seconds", deserialize_with = "duration")]
    pub timeout: Duration,
    /// Between two probes; at least 1ms, so that waiting is not a busy loop.
    #[serde(default = "fifth_of_a_second", deserialize_with = "probe_interval")]
    pub interval: Duration,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Leader {
    /// Shell command run on each node: exit 0 if this node is the leader/primary.
    pub command: Script,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Teardown {
    /// Paths removed besides data_dir and the pid file.
    #[serde(default)]
    pub wipe: Vec<Template>,
    /// Shell commands run after the daemon is stopped, before wiping.
    #[serde(default)]
    pub commands: Vec<Script>,
}

/// Clock control: start the daemon under libfaketime, its offset read from a per-node file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clock {
    #[serde(default)]
    pub faketime: bool,
    #[serde(default = "default_faketime_library")]
    pub library: String,
    #[serde(default = "default_faketime_file")]
    pub file: Template,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            faketime: false,
            library: default_faketime_library(),
            file: default_faketime_file(),
        }
    }
}

/// Where Debian's libfaketime package puts the library (`clock.library`'s default).
pub const FAKETIME_LIBRARY: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

fn default_faketime_library() -> String {
    FAKETIME_LIBRARY.into()
}

fn default_faketime_file() -> Template {
    Template::new("/run/splitbrain/faketime")
}

fn ten_seconds() -> Duration {
    Duration::from_secs(10)
}
fn thirty_seconds() -> Duration {
    Duration::from_secs(30)
}
fn fifth_of_a_second() -> Duration {
    Duration::from_millis(200)
}

/// Durations use the project's one grammar (`500ms`, `30s`, `1m30s`, or a number of
/// seconds; at most 7d): see [`splitbrain_history::duration`].
fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    splitbrain_history::duration::required::deserialize(d)
}

fn probe_interval<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let interval = duration(d)?;
    if interval < Duration::from_millis(1) {
        return Err(serde::de::Error::custom(format!(
            "ready.interval: use at least 1ms, got {}",
            splitbrain_history::duration::format(interval)
        )));
    }
    Ok(interval)
}

/// A TCP port: 1 to 65535 (0 is no port to connect to).
fn nonzero_port<'de, D: Deserializer<'de>>(d: D, field: &str) -> Result<Option<u16>, D::Error> {
    match Option::<u16>::deserialize(d)? {
        Some(0) => Err(serde::de::Error::custom(format!(
            "{field}: a port from 1 to 65535, got 0"
        ))),
        p => Ok(p),
    }
}

fn ready_port<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    nonzero_port(d, "ready.tcp")
}

fn client_port<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    nonzero_port(d, "client_port")
}

/// A definition that cannot be used, with its file and line.
#[derive(Debug)]
pub struct DefError {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for DefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (0, _) => write!(f, "{}: {}", self.file.display(), self.message),
            (l, 0) => write!(f, "{}:{l}: {}", self.file.display(), self.message),
            (l, c) => write!(f, "{}:{l}:{c}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for DefError {}

/// Built-in variables, per node.
pub const NODE_VARS: &[&str] = &[
    "name", "node", "host", "ip", "index", "nodes", "hosts", "ips",
];
/// Variables defined by the definition's own paths.
pub const PATH_VARS: &[&str] = &["data_dir", "pid_file", "log_file"];

impl DbDef {
    /// The port clients connect to on each node, if the definition says.
    pub fn client_port(&self) -> Option<u16> {
        self.client_port
    }

    /// Directories each lab node must have to itself for this database.
    pub fn private_dirs(&self) -> impl Iterator<Item = &str> {
        self.private_dirs.iter().map(Template::as_str)
    }

    /// Reads and checks a definition file.
    pub fn load(path: &Path) -> Result<DbDef, DefError> {
        let text = std::fs::read_to_string(path).map_err(|e| DefError {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
            message: format!("cannot read: {e}"),
        })?;
        Self::parse(&text, path)
    }

    /// Parses and checks definition text; `path` is only used in errors.
    pub fn parse(text: &str, path: &Path) -> Result<DbDef, DefError> {
        let mut def: DbDef = serde_saphyr::from_str(text).map_err(|e| {
            let (line, column) = e
                .location()
                .map(|l| (l.line() as usize, l.column() as usize))
                .unwrap_or((0, 0));
            DefError {
                file: path.to_path_buf(),
                line,
                column,
                message: describe_serde_error(&e.to_string(), path),
            }
        })?;
        def.source = path.to_path_buf();
        def.check()?;
        Ok(def)
    }

    fn err(&self, line: usize, column: usize, message: String) -> DefError {
        DefError {
            file: self.source.clone(),
            line,
            column,
            message,
        }
    }

    /// Every template may only use variables that exist at its stage.
    fn check(&self) -> Result<(), DefError> {
        let at = |t: &Template, field: &str, allowed: &[&str]| {
            t.check(allowed)
                .map_err(|m| self.err(t.line, t.column, format!("{field}: {m}")))
        };
        let sc = |s: &Script, field: &str, allowed: &[&str]| {
            s.check(allowed)
                .map_err(|m| self.err(s.0.line, s.0.column, format!("{field}: {m}")))
        };
        if self.name.trim().is_empty() {
            return Err(self.err(0, 0, "name: must not be empty".into()));
        }
        for (k, v) in &self.vars {
            if NODE_VARS.contains(&k.as_str()) || PATH_VARS.contains(&k.as_str()) || k == "peers" {
                return Err(self.err(
                    v.line,
                    v.column,
                    format!("vars.{k}: {k} is a built-in variable; pick another name"),
                ));
            }
            if !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(self.err(
                    v.line,
                    v.column,
                    format!("vars.{k}: variable names use letters, digits and _"),
                ));
            }
            at(v, &format!("vars.{k}"), NODE_VARS)?;
        }
        for d in &self.private_dirs {
            let plain = match d.vars().next() {
                Some(v) => Err(format!(
                    "{{{{{v}}}}}: use a plain path; the lab makes these directories private before any node exists"
                )),
                None => d
                    .check(&[])
                    .and_then(|()| crate::lab::check_private_dir(d.as_str())),
            };
            plain.map_err(|m| self.err(d.line, d.column, format!("private_dirs: {m}")))?;
        }
        let mut stage2: Vec<&str> = NODE_VARS.to_vec();
        stage2.extend(self.vars.keys().map(String::as_str));
        at(&self.data_dir, "data_dir", &stage2)?;
        at(&self.daemon.pid_file, "daemon.pid_file", &stage2)?;
        at(&self.daemon.log_file, "daemon.log_file", &stage2)?;
        let mut stage3 = stage2.clone();
        stage3.extend(PATH_VARS);
        if let Some(p) = &self.cluster.peer {
            at(p, "cluster.peer", &stage3)?;
        }
        let mut all = stage3.clone();
        all.push("peers");
        let all = all.as_slice();

        if let Some(s) = &self.install.skip_if {
            sc(s, "install.skip_if", all)?;
        }
        for p in &self.install.packages {
            if p.is_empty()
                || !p
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-.:=_~".contains(&b))
            {
                return Err(self.err(
                    0,
                    0,
                    format!("install.packages: {p:?} is not a Debian package name"),
                ));
            }
        }
        if let Some(t) = &self.install.tarball {
            at(&t.url, "install.tarball.url", all)?;
            at(&t.dest, "install.tarball.dest", all)?;
        }
        for c in &self.install.commands {
            sc(c, "install.commands", all)?;
        }
        for f in &self.configure.files {
            at(&f.path, "configure.files.path", all)?;
            at(&f.content, "configure.files.content", all)?;
            if let Some(m) = &f.mode
                && (u32::from_str_radix(m, 8).is_err() || m.len() > 4)
            {
                return Err(self.err(
                    f.path.line,
                    0,
                    format!("configure.files.mode: {m:?} is not an octal mode like \"0644\""),
                ));
            }
        }
        for c in &self.configure.commands {
            sc(c, "configure.commands", all)?;
        }
        if self.daemon.command.is_empty() {
            return Err(self.err(
                0,
                0,
                "daemon.command: give the program and its arguments as a list".into(),
            ));
        }
        for a in &self.daemon.command {
            at(a, "daemon.command", all)?;
        }
        for (k, v) in &self.daemon.env {
            if k.is_empty()
                || k.as_bytes()[0].is_ascii_digit()
                || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                return Err(self.err(
                    v.line,
                    0,
                    format!("daemon.env.{k}: not an environment variable name"),
                ));
            }
            at(v, &format!("daemon.env.{k}"), all)?;
        }
        if let Some(c) = &self.daemon.cwd {
            at(c, "daemon.cwd", all)?;
        }
        if let Some(p) = &self.daemon.process
            && (p.is_empty() || p.len() > 15)
        {
            return Err(self.err(0, 0, format!("daemon.process: {p:?}: give the process name as `ps -o comm` shows it (15 characters at most)")));
        }
        if self.ready.tcp.is_none() && self.ready.command.is_none() {
            return Err(self.err(
                0,
                0,
                "ready: give `tcp: PORT` or `command: ...` (or both)".into(),
            ));
        }
        if let Some(c) = &self.ready.command {
            sc(c, "ready.command", all)?;
        }
        if let Some(l) = &self.leader {
            sc(&l.command, "leader.command", all)?;
        }
        for w in &self.teardown.wipe {
            at(w, "teardown.wipe", all)?;
        }
        for c in &self.teardown.commands {
            sc(c, "teardown.commands", all)?;
        }
        for l in &self.logs {
            at(l, "logs", all)?;
        }
        at(&self.clock.file, "clock.file", all)?;
        Ok(())
    }
}

/// serde-saphyr's error text is `error: line L column C: what`, then the source with a
/// caret, naming it `<input>`. Returns `what` (the caller prints the position its own
/// way) and the snippet under `file`'s name, each of its lines preceded by a newline
/// (empty when there is none), for every YAML file splitbrain reads.
pub fn split_yaml_error(text: &str, file: &str) -> (String, String) {
    let mut lines = text.trim().lines();
    let first = lines.next().unwrap_or("").trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    // "line 5 column 3: unknown field ..." -> "unknown field ..."
    let what = match first.split_once(": ") {
        Some((pos, rest)) if pos.starts_with("line ") && pos.contains(" column ") => rest,
        _ => first,
    };
    let snippet = lines
        .map(|l| format!("\n{}", l.replace("<input>", file)))
        .collect();
    (what.to_string(), snippet)
}

/// serde names the fields of the struct it was in for unknown fields; for missing fields
/// it does not, so say which section they belong to.
fn describe_serde_error(text: &str, path: &Path) -> String {
    let (mut msg, snippet) = split_yaml_error(text, &path.display().to_string());
    if let Some(rest) = msg.split("missing field `").nth(1) {
        let field = rest.split('`').next().unwrap_or("");
        let section = match field {
            "command" => "daemon.command (or leader.command)",
            "pid_file" | "log_file" => "daemon",
            "url" | "dest" => "install.tarball",
            "path" | "content" => "configure.files",
            _ => "",
        };
        if !section.is_empty() {
            msg.push_str(&format!(" (in {section})"));
        }
        msg.push_str("; required fields: name, data_dir, daemon (command, pid_file, log_file), ready (tcp or command)");
    }
    msg.push_str(&snippet);
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "name: t\ndata_dir: /var/lib/t\ndaemon:\n  command: [sleep, '100']\n  pid_file: /run/t.pid\n  log_file: /var/log/t.log\nready:\n  tcp: 1234\n";

    fn parse(text: &str) -> Result<DbDef, DefError> {
        DbDef::parse(text, Path::new("dbs/t.yaml"))
    }

    #[test]
    fn minimal_definition_loads() {
        let def = parse(MINIMAL).unwrap();
        assert_eq!(def.daemon.stop_timeout, Duration::from_secs(10));
        assert_eq!(def.ready.timeout, Duration::from_secs(30));
    }

    #[test]
    fn misspelled_field_names_file_line_and_valid_names() {
        let text = MINIMAL.replace("  pid_file:", "  pidfile:");
        let err = parse(&text).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("dbs/t.yaml:5:"), "{msg}");
        assert!(
            msg.contains("pidfile") && msg.contains("pid_file") && msg.contains("log_file"),
            "{msg}"
        );
        assert!(
            msg.lines()
                .next()
                .unwrap()
                .starts_with("dbs/t.yaml:5:3: unknown field `pidfile`, expected one of"),
            "{msg}"
        );
        let err = parse(&format!("{MINIMAL}readyy: {{}}\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("dbs/t.yaml:9:") && err.contains("data_dir"),
            "{err}"
        );
    }

    #[test]
    fn missing_field_names_file_line_and_what_is_required() {
        let text = MINIMAL.replace("  log_file: /var/log/t.log\n", "");
        let msg = parse(&text).unwrap_err().to_string();
        assert!(msg.starts_with("dbs/t.yaml:"), "{msg}");
        assert!(
            msg.contains("log_file") && msg.contains("required fields"),
            "{msg}"
        );
        let line: usize = msg.split(':').nth(1).unwrap().parse().unwrap();
        assert!(line > 0, "{msg}");
    }

    #[test]
    fn unknown_variables_are_reported_with_their_line() {
        let text = MINIMAL.replace("[sleep, '100']", "[sleep, '{{nodez}}']");
        let msg = parse(&text).unwrap_err().to_string();
        assert!(msg.starts_with("dbs/t.yaml:4:"), "{msg}");
        assert!(
            msg.contains("unknown variable {{nodez}}") && msg.contains("node,"),
            "{msg}"
        );
        // vars cannot use data_dir (it is computed after them).
        let msg = parse(&format!("{MINIMAL}vars:\n  x: '{{{{data_dir}}}}/x'\n"))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("vars.x") && msg.contains(":10:"), "{msg}");
    }

    #[test]
    fn quoted_placeholders_in_scripts_are_rejected_at_load() {
        let text = format!("{MINIMAL}leader:\n  command: \"echo '{{{{node}}}}'\"\n");
        let msg = parse(&text).unwrap_err().to_string();
        assert!(
            msg.contains("leader.command") && msg.contains("inside single quotes"),
            "{msg}"
        );
    }

    fn ready(extra: &str) -> Result<DbDef, DefError> {
        parse(&MINIMAL.replace("tcp: 1234", &format!("tcp: 1234\n{extra}")))
    }

    #[test]
    fn durations() {
        let d = |extra: &str| ready(extra).unwrap().ready;
        assert_eq!(d("  timeout: 500ms").timeout, Duration::from_millis(500));
        assert_eq!(d("  timeout: 2m").timeout, Duration::from_secs(120));
        assert_eq!(d("  timeout: 1.5s").timeout, Duration::from_millis(1500));
        // `1m30s` was rejected here while test definitions accepted it: one grammar now.
        assert_eq!(d("  timeout: 1m30s").timeout, Duration::from_secs(90));
        assert_eq!(d("  timeout: 5").timeout, Duration::from_secs(5));
        assert_eq!(d("  timeout: '5'").timeout, Duration::from_secs(5));
        assert_eq!(d("  interval: 0.5").interval, Duration::from_millis(500));
        let msg = ready("  timeout: soon").unwrap_err().to_string();
        assert!(
            msg.starts_with("dbs/t.yaml:9:12:") && msg.contains("soon"),
            "{msg}"
        );
    }

    #[test]
    fn yaml_errors_lose_their_position_and_name_the_file() {
        let (what, snippet) = split_yaml_error(
            "error: line 3 column 5: unknown field `x`\n --> <input>:3:5\n  |\n3 | x: 1\n",
            "dbs/t.yaml",
        );
        assert_eq!(what, "unknown field `x`");
        assert_eq!(snippet, "\n --> dbs/t.yaml:3:5\n  |\n3 | x: 1");
        assert_eq!(
            split_yaml_error("something odd", "f"),
            ("something odd".into(), String::new())
        );
    }

    #[test]
    fn hostile_durations_are_errors_with_their_line_not_panics() {
        for (extra, want) in [
            (
                "  timeout: 99999999999999999999s",
                "longer than the maximum 7d",
            ),
            ("  timeout: 1e300", "longer than the maximum 7d"),
            (
                "  timeout: 1e20",
                "duration `1e20` is longer than the maximum 7d",
            ),
            (
                "  timeout: 99999999999999999999",
                "longer than the maximum 7d",
            ),
            ("  timeout: 8d", "longer than the maximum 7d"),
            // serde-saphyr itself refuses these (`non-finite float`); ours says `not a finite number`.
            ("  timeout: .nan", "finite"),
            ("  timeout: .inf", "finite"),
            ("  timeout: nan", "not a finite number"),
            ("  timeout: -5s", "negative"),
            ("  timeout: -5", "negative"),
            ("  interval: 0s", "ready.interval: use at least 1ms"),
            ("  interval: 0.0000001", "ready.interval: use at least 1ms"),
        ] {
            let msg = ready(extra).unwrap_err().to_string();
            assert!(msg.starts_with("dbs/t.yaml:9:"), "{extra}: {msg}");
            assert!(msg.contains(want), "{extra}: {msg}");
        }
        let msg = parse(&MINIMAL.replace("tcp: 1234", "tcp: 0"))
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with("dbs/t.yaml:8:") && msg.contains("a port from 1 to 65535"),
            "{msg}"
        );
        let text = MINIMAL.replace(
            "  log_file: /var/log/t.log\n",
            "  log_file: /var/log/t.log\n  stop_timeout: 1e300\n",
        );
        let msg = parse(&text).unwrap_err().to_string();
        assert!(
            msg.starts_with("dbs/t.yaml:7:") && msg.contains("longer than the maximum 7d"),
            "{msg}"
        );
    }

    #[test]
    fn what_the_harness_needs_is_optional_and_checked() {
        let def = parse(MINIMAL).unwrap();
        assert_eq!(def.client_port(), None);
        assert_eq!(def.private_dirs().count(), 0);
        let def = parse(&format!(
            "{MINIMAL}client_port: 7000\nprivate_dirs: [/var/lib/t, /srv/t]\n"
        ))
        .unwrap();
        assert_eq!(def.client_port(), Some(7000));
        assert_eq!(
            def.private_dirs().collect::<Vec<_>>(),
            ["/var/lib/t", "/srv/t"]
        );
        for (extra, want) in [
            (
                "client_port: 0",
                "dbs/t.yaml:9:14: client_port: a port from 1 to 65535, got 0",
            ),
            ("client_port: 70000", "dbs/t.yaml:9:14:"),
            ("client_port: http", "dbs/t.yaml:9:14:"),
            (
                "private_dirs: [var/lib/t]",
                "dbs/t.yaml:9:16: private_dirs: private directory \"var/lib/t\": use an absolute path",
            ),
            ("private_dirs: [/]", "dbs/t.yaml:9:16: private_dirs:"),
            (
                "private_dirs: [/var/lib/t, /a/../etc]",
                "dbs/t.yaml:9:28: private_dirs:",
            ),
            (
                "private_dirs: ['/var/lib/a b']",
                "dbs/t.yaml:9:16: private_dirs:",
            ),
            (
                "private_dirs: ['/var/lib/{{node}}']",
                "dbs/t.yaml:9:16: private_dirs: {{node}}: use a plain path",
            ),
            ("private_dirs: ['/var/lib/{{node']", "without a closing"),
            ("private_dirs: /var/lib/t", "dbs/t.yaml:9:"),
        ] {
            let msg = parse(&format!("{MINIMAL}{extra}\n"))
                .unwrap_err()
                .to_string();
            assert!(msg.starts_with("dbs/t.yaml:9:"), "{extra}: {msg}");
            assert!(msg.contains(want), "{extra}: {msg}");
        }
    }

    #[test]
    fn the_shipped_etcd_definition_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dbs/etcd.yaml");
        let def = DbDef::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(def.name, "etcd");
        assert!(def.leader.is_some());
        // What the harness and the lab read from it.
        assert_eq!(def.client_port(), Some(2379));
        assert_eq!(def.client_port(), def.ready.tcp);
        assert_eq!(def.private_dirs().collect::<Vec<_>>(), ["/var/lib/etcd"]);
        assert!(
            Path::new(def.data_dir.as_str()).starts_with("/var/lib/etcd"),
            "data_dir {} is outside the private directory",
            def.data_dir.as_str()
        );
    }
}
