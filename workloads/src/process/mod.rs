//! `client.type: process`: a client that is an external program speaking JSON lines on
//! stdin/stdout ([`protocol`], docs/client-protocol.md), one OS process per splitbrain
//! process, for every workload: the program answers per `f`.
//!
//! ```yaml
//! client:
//!   type: process
//!   command: [python3, clients/etcd_gateway.py]   # an argument list, never a shell string
//!   options: {read-consistency: serializable}     # passed verbatim in `open`
//!   kill-grace: 2s                                # SIGTERM to SIGKILL (default 2s)
//!   open-timeout: 10s                             # for the `open` reply (default 10s)
//! ```
//!
//! `command` elements that are relative paths to existing files next to the test
//! definition are resolved against its directory when the definition is read from a
//! file; anything else is passed as given (`python3` is looked up in PATH). The program
//! runs in the controller's working directory.
//!
//! The rules that keep results trustworthy:
//! - no reply within the op timeout: the runner records `info`, drops the invocation and
//!   closes the client, which kills the program (SIGTERM to its process group, SIGKILL
//!   after `kill-grace`) and reaps it; the worker's next op opens a new program;
//! - a malformed line, a reply with the wrong `id`, a reply of the wrong type, a line
//!   over 1 MiB, the program exiting mid-op: that op is `info` with an error that says
//!   exactly what was wrong (quoting at most 200 characters of the line), and the client
//!   is unusable from then on, so the runner replaces it;
//! - `fail` only when the program said `fail`;
//! - `open` failing (an `error` reply, a bad reply, an exit, the program not starting) is
//!   an error of `open`, not an op.
//!
//! Each OS process's stderr goes to `<run>/clients/process-<P>.stderr` (the dedicated
//! setup/teardown client's to `setup-teardown.stderr`), at most 16 MiB each.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

use crate::clients::{ClientContext, ClientError, ClientKind, ClientType, Opener};
use crate::options::{Node, Options, OptionsError, Spot};
use crate::workload::Workload;
use crate::{Client, ClientFactory, Outcome, Request, Target};

pub mod program;
pub mod protocol;

use program::{LineError, Program};
use protocol::{Invoke, NodeInfo, Open, Ports, Reply, ReplyKind, TestInfo, ToClient};

/// How long SIGTERM has before SIGKILL, by default.
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(2);

/// How long `open` waits for `open_ok`, by default.
pub const DEFAULT_OPEN_TIMEOUT: Duration = Duration::from_secs(10);

/// The process id the runner opens the setup/teardown client under (`runner::ONCE_PROCESS`
/// in the binary): it is sent as `"process": null`.
const ONCE_PROCESS: u64 = u64::MAX;

/// How every error of a program that broke the protocol begins (`client program `cmd`
/// (process 3 on n1): …`), so that such ops can be told from the program's own `info`s.
const LABEL: &str = "client program";

/// Whether an op's error says that the client program broke the protocol (rather than
/// the program answering `info` itself).
pub fn is_protocol_error(error: &str) -> bool {
    error
        .strip_prefix(LABEL)
        .is_some_and(|rest| rest.starts_with(" `"))
}

/// The most of a bad line an error quotes.
const QUOTE_CHARS: usize = 200;

/// `client.type: process`.
pub static PROCESS: ProcessClientType = ProcessClientType(ClientType {
    name: "process",
    about: "an external program speaking JSON lines on stdin/stdout, one per process (docs/client-protocol.md)",
    // It may serve an in-process store (without nodes it is told node `local`, 127.0.0.1);
    // with a `db:` the test has nodes anyway.
    needs_nodes: false,
    // Every workload: the program answers per `f`. The table is checked against the
    // workload registry in the tests.
    workloads: &[
        ("register", open as Opener<_>),
        ("set", open),
        ("counter", open),
        ("unique-ids", open),
    ],
    describe: |o| {
        let mut d = display_command(&o.command);
        if !o.options.is_empty() {
            let _ = write!(
                d,
                " {}",
                serde_json::to_string(&o.options).unwrap_or_default()
            );
        }
        Some(d)
    },
});

/// The process client's own settings: the keys next to `type:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ProcessOptions {
    /// The program and its arguments.
    #[serde(deserialize_with = "command")]
    pub command: Vec<String>,
    /// The test definition's `options:` block, for the program.
    #[serde(default)]
    pub options: serde_json::Map<String, serde_json::Value>,
    #[serde(
        default,
        deserialize_with = "splitbrain_history::duration::option::deserialize"
    )]
    pub kill_grace: Option<Duration>,
    #[serde(
        default,
        deserialize_with = "splitbrain_history::duration::option::deserialize"
    )]
    pub open_timeout: Option<Duration>,
}

/// `command:`: a non-empty list of strings, the first one non-empty.
fn command<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct Command;

    impl<'de> Visitor<'de> for Command {
        type Value = Vec<String>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("command: the program and its arguments as a list, e.g. [python3, clients/register.py]")
        }

        fn visit_str<E: de::Error>(self, s: &str) -> Result<Vec<String>, E> {
            Err(E::custom(format!(
                "command: a list of arguments, never a shell string: write `{s}` as [{}]",
                s.split_whitespace().collect::<Vec<_>>().join(", ")
            )))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
            let mut args = Vec::new();
            while let Some(a) = seq.next_element::<String>()? {
                args.push(a);
            }
            match args.first() {
                None => Err(de::Error::custom(
                    "command: an empty list; give the program and its arguments, e.g. [python3, clients/register.py]",
                )),
                Some(p) if p.is_empty() => Err(de::Error::custom(
                    "command: the program (the first element) is an empty string",
                )),
                Some(_) => Ok(args),
            }
        }
    }

    d.deserialize_any(Command)
}

/// The process client's registry entry: a [`ClientType`] whose `options:` block is data
/// for the program, and whose command paths are resolved against the test definition.
pub struct ProcessClientType(pub ClientType<ProcessOptions>);

impl ClientKind for ProcessClientType {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn about(&self) -> &'static str {
        self.0.about()
    }

    fn needs_nodes(&self) -> bool {
        self.0.needs_nodes()
    }

    fn workloads(&self) -> Vec<&'static str> {
        self.0.workloads()
    }

    fn check(&self, options: &Options) -> Result<(), OptionsError> {
        self.0.check(options)
    }

    fn describe(&self, options: &Options) -> Option<String> {
        self.0.describe(options)
    }

    fn open(
        &self,
        workload: &dyn Workload,
        options: &Options,
        context: &ClientContext,
    ) -> Result<Arc<dyn ClientFactory>, ClientError> {
        self.0.open(workload, options, context)
    }

    fn passes_options_on(&self) -> bool {
        true
    }

    /// Each `command` element that is a relative path to an existing file in `base`
    /// becomes that file's path; a first element without `/` stays a PATH lookup.
    fn resolve_paths(&self, options: &mut Options, base: &Path) {
        let Some(Node::List(items)) = options.get("command") else {
            return;
        };
        let resolved: Vec<Spot<Node>> = items
            .iter()
            .enumerate()
            .map(|(i, item)| match &item.value {
                Node::Str(arg) if i > 0 || arg.contains('/') => {
                    let path = Path::new(arg);
                    let there = base.join(path);
                    if path.is_relative()
                        && there.is_file()
                        && let Some(s) = there.to_str()
                    {
                        return Spot::new(Node::Str(s.to_owned()), item.at);
                    }
                    item.clone()
                }
                _ => item.clone(),
            })
            .collect();
        options.set("command", Node::List(resolved));
    }
}

/// One constructor for every workload: the workload only names the program's functions.
fn open(o: &ProcessOptions, c: &ClientContext) -> Arc<dyn ClientFactory> {
    Arc::new(ProcessFactory {
        command: o.command.clone(),
        options: o.options.clone(),
        kill_grace: o.kill_grace.unwrap_or(DEFAULT_KILL_GRACE),
        open_timeout: o.open_timeout.unwrap_or(DEFAULT_OPEN_TIMEOUT),
        test: TestInfo {
            name: c.test.clone(),
            workload: c.workload.to_owned(),
        },
        nodes: c.nodes.iter().map(node_info).collect(),
        stderr_dir: c.run_dir.as_ref().map(|d| d.join("clients")),
    })
}

fn node_info(t: &Target) -> NodeInfo {
    NodeInfo {
        name: t.name.to_string(),
        host: t.host.to_string(),
        ports: Ports { client: t.port },
    }
}

/// The command as a user reads it: `python3 clients/x.py`, odd arguments quoted.
fn display_command(command: &[String]) -> String {
    command
        .iter()
        .map(|a| {
            if a.is_empty() || a.contains(|c: char| c.is_whitespace() || c == '"') {
                format!("{a:?}")
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// At most [`QUOTE_CHARS`] characters of what a program wrote, escaped and quoted.
pub(crate) fn quote(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(QUOTE_CHARS).collect();
    if chars.next().is_some() {
        format!("{head:?}… ({} bytes)", bytes.len())
    } else {
        format!("{head:?}")
    }
}

/// Starts one program per process.
#[derive(Debug, Clone)]
pub struct ProcessFactory {
    pub command: Vec<String>,
    pub options: serde_json::Map<String, serde_json::Value>,
    pub kill_grace: Duration,
    pub open_timeout: Duration,
    pub test: TestInfo,
    /// Every node, for `open`'s `nodes`.
    pub nodes: Vec<NodeInfo>,
    /// Where stderr files go (`<run>/clients`); `None`: stderr is kept only for errors.
    pub stderr_dir: Option<PathBuf>,
}

impl ProcessFactory {
    fn label(&self) -> String {
        format!("{LABEL} `{}`", display_command(&self.command))
    }

    /// The `open` exchange on a started program; what was wrong, if it failed.
    async fn handshake(&self, program: &mut Program, open: &ToClient) -> Result<(), String> {
        program
            .send(open)
            .await
            .map_err(|e| format!("could not send `open`: {e}"))?;
        let line = program.recv().await.map_err(|e| e.to_string())?;
        let reply = Reply::parse(&line)
            .map_err(|e| format!("malformed reply to `open` ({e}): {}", quote(&line)))?;
        match reply.kind {
            ReplyKind::OpenOk => Ok(()),
            ReplyKind::Error => Err(format!(
                "it answered `open` with an error: {}",
                reply.error.unwrap_or_default()
            )),
            other => Err(format!(
                "a `{}` reply to `open`; expected open_ok or error: {}",
                other.name(),
                quote(&line)
            )),
        }
    }
}

#[async_trait]
impl ClientFactory for ProcessFactory {
    async fn open(&self, target: &Target, process: u64) -> anyhow::Result<Box<dyn Client>> {
        let once = process == ONCE_PROCESS;
        let who = if once {
            format!("the setup/teardown client on {}", target.name)
        } else {
            format!("process {process} on {}", target.name)
        };
        let stderr_path = self.stderr_dir.as_ref().map(|d| {
            d.join(if once {
                "setup-teardown.stderr".to_string()
            } else {
                format!("process-{process}.stderr")
            })
        });
        let mut program = Program::spawn(&self.command, stderr_path.as_deref()).map_err(|e| {
            let hint = if e.kind() == std::io::ErrorKind::NotFound {
                " (the program is looked up in PATH unless it has a `/`; relative paths next to the test definition are resolved against its directory)"
            } else {
                ""
            };
            anyhow::anyhow!("cannot start the {} for {who}: {e}{hint}", self.label())
        })?;
        let node = node_info(target);
        let nodes = if self.nodes.is_empty() {
            vec![node.clone()]
        } else {
            self.nodes.clone()
        };
        let message = ToClient::Open(Open {
            process: (!once).then_some(process),
            node,
            nodes,
            options: self.options.clone(),
            test: self.test.clone(),
        });
        let outcome =
            match tokio::time::timeout(self.open_timeout, self.handshake(&mut program, &message))
                .await
            {
                Ok(r) => r,
                Err(_) => Err(format!("no reply to `open` within {:?}", self.open_timeout)),
            };
        if let Err(why) = outcome {
            let note = program.exit_note().await;
            program.stop(false, self.kill_grace).await;
            anyhow::bail!("the {} could not open {who}: {why}{note}", self.label());
        }
        Ok(Box::new(ProcessClient {
            program,
            label: format!("{} ({who})", self.label()),
            next_id: 1,
            in_flight: None,
            broken: None,
            kill_grace: self.kill_grace,
            closed: false,
        }))
    }
}

/// One program serving one process.
struct ProcessClient {
    program: Program,
    label: String,
    next_id: u64,
    /// The op sent and not answered: set when an invocation was dropped midway.
    in_flight: Option<u64>,
    /// Why the client is unusable (the protocol broke).
    broken: Option<String>,
    kill_grace: Duration,
    closed: bool,
}

impl ProcessClient {
    /// The program broke the protocol: `info` for the op, and the client is done.
    async fn unusable(&mut self, why: String) -> Outcome {
        let note = self.program.exit_note().await;
        let e = format!("{}: {why}{note}", self.label);
        self.broken = Some(why);
        Outcome::info(e)
    }

    /// A `setup` or `teardown` exchange.
    async fn once(&mut self, step: ToClient, ok: ReplyKind) -> anyhow::Result<()> {
        let name = ok.name().trim_end_matches("_ok");
        if let Some(why) = &self.broken {
            anyhow::bail!("{}: unusable: {why}", self.label);
        }
        let result = async {
            self.program
                .send(&step)
                .await
                .map_err(|e| format!("could not send `{name}`: {e}"))?;
            let line = self.program.recv().await.map_err(|e| e.to_string())?;
            let reply = Reply::parse(&line)
                .map_err(|e| format!("malformed reply to `{name}` ({e}): {}", quote(&line)))?;
            match reply.kind {
                k if k == ok => Ok(()),
                ReplyKind::Error => Err(format!(
                    "`{name}` failed: {}",
                    reply.error.unwrap_or_default()
                )),
                other => Err(format!(
                    "a `{}` reply to `{name}`; expected {} or error: {}",
                    other.name(),
                    ok.name(),
                    quote(&line)
                )),
            }
        }
        .await;
        match result {
            Ok(()) => Ok(()),
            Err(why) => {
                let note = self.program.exit_note().await;
                self.broken = Some(why.clone());
                anyhow::bail!("{}: {why}{note}", self.label)
            }
        }
    }

    fn outcome(
        &self,
        id: u64,
        req: &Request,
        reply: Reply,
        line: &[u8],
    ) -> Result<Outcome, String> {
        let kind = reply.kind;
        if !matches!(kind, ReplyKind::Ok | ReplyKind::Fail | ReplyKind::Info) {
            return Err(format!(
                "a `{}` reply to op {id}; expected ok, fail or info: {}",
                kind.name(),
                quote(line)
            ));
        }
        match reply.id {
            Some(got) if got == id => {}
            Some(got) => {
                return Err(format!(
                    "a reply with id {got} while op {id} was waiting: {}",
                    quote(line)
                ));
            }
            None => {
                return Err(format!(
                    "an `{}` reply without `id` to op {id}: {}",
                    kind.name(),
                    quote(line)
                ));
            }
        }
        Ok(match kind {
            ReplyKind::Ok => Outcome::Ok(reply.value.unwrap_or_else(|| req.value.clone())),
            ReplyKind::Fail => Outcome::Fail(reply.error.unwrap_or_default()),
            _ => Outcome::Info(reply.error.unwrap_or_default()),
        })
    }
}

#[async_trait]
impl Client for ProcessClient {
    async fn setup(&mut self) -> anyhow::Result<()> {
        self.once(ToClient::Setup, ReplyKind::SetupOk).await
    }

    async fn invoke(&mut self, req: &Request) -> Outcome {
        if let Some(why) = &self.broken {
            return Outcome::info(format!("{}: unusable: {why}", self.label));
        }
        if let Some(id) = self.in_flight {
            // The runner dropped op `id` (a timeout) and kept the client: its reply could
            // still come and be taken for this op's.
            return self
                .unusable(format!("op {id} was abandoned without a reply"))
                .await;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.in_flight = Some(id);
        let message = ToClient::Invoke(Invoke {
            id,
            f: req.f.to_string(),
            value: req.value.clone(),
            key: req.key.clone(),
        });
        if let Err(e) = self.program.send(&message).await {
            // Possibly half-written: unknown, like everything but a `fail` it said.
            return self
                .unusable(format!("could not send op {id} (`{}`): {e}", req.f))
                .await;
        }
        let line = match self.program.recv().await {
            Ok(line) => line,
            Err(e @ LineError::Closed { .. }) => {
                return self
                    .unusable(format!("{e} before answering op {id} (`{}`)", req.f))
                    .await;
            }
            Err(e) => {
                return self
                    .unusable(format!("{e} while op {id} (`{}`) was waiting", req.f))
                    .await;
            }
        };
        let outcome = match Reply::parse(&line) {
            Ok(reply) => self.outcome(id, req, reply, &line),
            Err(e) => Err(format!(
                "malformed reply to op {id} ({e}): {}",
                quote(&line)
            )),
        };
        match outcome {
            Ok(o) => {
                self.in_flight = None;
                o
            }
            Err(why) => self.unusable(why).await,
        }
    }

    async fn teardown(&mut self) -> anyhow::Result<()> {
        self.once(ToClient::Teardown, ReplyKind::TeardownOk).await
    }

    async fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        // A program that broke the protocol or has an op outstanding gets no `close`:
        // it may be stuck, and its answer no longer matters.
        let polite = self.broken.is_none() && self.in_flight.is_none();
        self.program.stop(polite, self.kill_grace).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload;

    #[test]
    fn every_workload_of_the_registry_and_no_other() {
        let mut mine = PROCESS.workloads();
        let mut all = workload::names();
        mine.sort();
        all.sort();
        assert_eq!(mine, all);
    }

    fn opts(entries: &[(&str, Node)]) -> Options {
        let mut o = Options::default();
        for (k, v) in entries {
            o.set(k, v.clone());
        }
        o
    }

    fn list(items: &[&str]) -> Node {
        Node::List(
            items
                .iter()
                .map(|s| Spot::bare(Node::Str((*s).into())))
                .collect(),
        )
    }

    #[test]
    fn command_is_a_non_empty_argument_list() {
        let ok = opts(&[("command", list(&["python3", "x.py"]))]);
        let o: ProcessOptions = ok.parse().unwrap();
        assert_eq!(o.command, ["python3", "x.py"]);
        assert!(o.options.is_empty());
        assert_eq!(
            PROCESS.describe(&ok).as_deref(),
            Some("python3 x.py"),
            "the report names the program"
        );
        for (node, wants) in [
            (list(&[]), "command: an empty list"),
            (list(&[""]), "the first element) is an empty string"),
            (
                Node::Str("python3 x.py".into()),
                "never a shell string: write `python3 x.py` as [python3, x.py]",
            ),
            (
                Node::Int(3),
                "command: the program and its arguments as a list",
            ),
        ] {
            let e = PROCESS.check(&opts(&[("command", node)])).unwrap_err();
            assert!(e.message.contains(wants), "{e}");
        }
        let e = PROCESS
            .check(&opts(&[
                ("command", list(&["sh"])),
                ("comand", list(&["sh"])),
            ]))
            .unwrap_err();
        assert!(e.message.contains("unknown field `comand`"), "{e}");
        let e = PROCESS
            .check(&opts(&[
                ("command", list(&["sh"])),
                ("kill-grace", Node::Str("soon".into())),
            ]))
            .unwrap_err();
        assert!(e.message.contains("`soon` is not a duration"), "{e}");
    }

    #[test]
    fn relative_paths_that_exist_next_to_the_definition_are_resolved() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("clients")).unwrap();
        std::fs::write(dir.path().join("clients/x.py"), "").unwrap();
        std::fs::write(dir.path().join("run.sh"), "").unwrap();
        let mut o = opts(&[(
            "command",
            list(&["python3", "clients/x.py", "-u", "missing.py", "/abs/y"]),
        )]);
        PROCESS.resolve_paths(&mut o, dir.path());
        let c: ProcessOptions = o.parse().unwrap();
        let base = dir.path().to_str().unwrap();
        assert_eq!(
            c.command,
            [
                "python3".to_string(),
                format!("{base}/clients/x.py"),
                "-u".into(),
                "missing.py".into(),
                "/abs/y".into()
            ]
        );
        // A bare program name is a PATH lookup even if a file of that name is there;
        // `./run.sh` is a path.
        let mut o = opts(&[("command", list(&["run.sh"]))]);
        PROCESS.resolve_paths(&mut o, dir.path());
        assert_eq!(o.parse::<ProcessOptions>().unwrap().command, ["run.sh"]);
        let mut o = opts(&[("command", list(&["./run.sh"]))]);
        PROCESS.resolve_paths(&mut o, dir.path());
        assert_eq!(
            o.parse::<ProcessOptions>().unwrap().command,
            [format!("{base}/./run.sh")]
        );
    }

    #[test]
    fn quotes_are_bounded_and_escaped() {
        assert_eq!(quote(b"hi\n\x01"), "\"hi\\n\\u{1}\"");
        let long = vec![b'a'; 1000];
        let q = quote(&long);
        assert!(q.ends_with("… (1000 bytes)"), "{q}");
        assert_eq!(q.matches('a').count(), 200);
        assert_eq!(quote(&[0xff, b'x']), "\"\u{fffd}x\"");
    }
}
