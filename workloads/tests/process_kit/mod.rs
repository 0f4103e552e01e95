//! Shared by the process client's tests: this crate's tests/process.rs (the `Client` API
//! alone) and the binary's tests/process_client.rs (the real runner), which includes it
//! by path. The test programs live next to it, in tests/clients/.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use splitbrain_workloads::options::{Node, Options, Spot};
use splitbrain_workloads::{ClientContext, ClientFactory, Target, Workload, clients};

/// A test program's path: this crate's tests/clients/, seen from either package.
pub fn program(name: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let clients = if env!("CARGO_PKG_NAME") == "splitbrain-workloads" {
        root.join("tests/clients")
    } else {
        root.join("workloads/tests/clients")
    };
    clients.join(name).display().to_string()
}

pub fn strings(items: &[&str]) -> Node {
    Node::List(
        items
            .iter()
            .map(|s| Spot::bare(Node::Str((*s).into())))
            .collect(),
    )
}

/// Two nodes, both loopback: worker `i` talks to `nodes[i mod 2]`, and the programs see
/// which one in `open`.
pub fn nodes() -> Vec<Target> {
    vec![
        Target::new("n1", "127.0.0.1").with_port(2379),
        Target::new("n2", "127.0.0.1").with_port(2379),
    ]
}

/// A scratch place: the store file the well-behaved programs share, the run directory
/// the stderr files go to, and a history file.
pub struct Scratch {
    _dir: tempfile::TempDir,
    pub store: PathBuf,
    pub run: PathBuf,
    pub history: PathBuf,
}

impl Scratch {
    pub fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        Scratch {
            store: dir.path().join("store.json"),
            run: dir.path().join("run"),
            history: dir.path().join("history.jsonl"),
            _dir: dir,
        }
    }

    pub fn stderr(&self, process: u64) -> String {
        let path = self.run.join(format!("clients/process-{process}.stderr"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The pids the programs printed (`pid N`, `child N`) in every stderr file.
    pub fn pids(&self) -> Vec<u32> {
        let dir = self.run.join("clients");
        let mut pids = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for line in text.lines() {
                if let Some(n) = line
                    .strip_prefix("pid ")
                    .or_else(|| line.strip_prefix("child "))
                {
                    pids.push(n.trim().parse().unwrap());
                }
            }
        }
        pids
    }
}

/// The process client for `workload` through the registry, as a test definition names
/// it: `command`, `options: {store: ...}`, a short `kill-grace`, and `extra` settings.
pub fn factory(
    command: &[&str],
    scratch: &Scratch,
    workload: &'static dyn Workload,
    extra: &[(&str, Node)],
) -> Arc<dyn ClientFactory> {
    let mut o = Options::default();
    o.set("command", strings(command));
    o.set(
        "options",
        Node::Map(vec![(
            Spot::bare("store".into()),
            Spot::bare(Node::Str(scratch.store.display().to_string())),
        )]),
    );
    o.set("kill-grace", Node::Str("300ms".into()));
    for (k, v) in extra {
        o.set(k, v.clone());
    }
    let context = ClientContext {
        test: "process-test".into(),
        nodes: nodes(),
        run_dir: Some(scratch.run.clone()),
        ..ClientContext::new(1)
    };
    clients::find("process")
        .unwrap()
        .open(workload, &o, &context)
        .unwrap()
}

/// Whether `pid` is gone: no process, not even a zombie.
pub fn gone(pid: u32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
}

pub fn assert_gone_soon(pids: &[u32]) {
    let until = Instant::now() + Duration::from_secs(5);
    while !pids.iter().all(|p| gone(*p)) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    for p in pids {
        let state = std::fs::read_to_string(format!("/proc/{p}/status")).unwrap_or_default();
        assert!(gone(*p), "pid {p} is still there: {state}");
    }
}
