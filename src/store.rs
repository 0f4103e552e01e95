//! The store: every run's files under `store/<test-name>/<timestamp>/`, as Jepsen keeps them.
//!
//! A run directory holds `test.yaml` (the effective configuration, seed
//! included), `history.jsonl` (streamed while the test runs), `results.json`,
//! `controller.log`, `nodes/<node>/...` (logs downloaded from the nodes) and, for a
//! process client, `clients/process-<P>.stderr` (each client program's stderr, linked
//! from the report).
//! `store/latest` and `store/<test-name>/latest` are symlinks to the newest run,
//! so `splitbrain analyze` with no argument finds it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The store root (default `./store`).
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// One run's directory.
#[derive(Debug, Clone)]
pub struct RunDir {
    pub path: PathBuf,
    pub test_name: String,
    pub timestamp: String,
}

pub const TEST_FILE: &str = "test.yaml";
pub const HISTORY_FILE: &str = "history.jsonl";
pub const RESULTS_FILE: &str = "results.json";
pub const LOG_FILE: &str = "controller.log";
pub const NODES_DIR: &str = "nodes";

impl Store {
    pub fn new(root: impl Into<PathBuf>) -> Store {
        Store { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Creates `store/<test>/<timestamp>/` for a new run and points the `latest` links at it.
    pub fn create_run(&self, test_name: &str) -> Result<RunDir> {
        check_test_name(test_name)?;
        let test_dir = self.root.join(test_name);
        // Jepsen's layout: one folder per run, named by its start time (UTC, sortable).
        let mut timestamp = jiff::Timestamp::now()
            .strftime("%Y%m%dT%H%M%S%.3fZ")
            .to_string();
        let mut path = test_dir.join(&timestamp);
        // Two runs in the same millisecond (e.g. --test-count in a fast test) must not share a folder.
        let mut n = 1;
        while path.exists() {
            n += 1;
            timestamp = format!("{timestamp}-{n}");
            path = test_dir.join(&timestamp);
        }
        fs::create_dir_all(path.join(NODES_DIR))
            .with_context(|| format!("cannot create the run directory {}", path.display()))?;
        let run = RunDir {
            path,
            test_name: test_name.to_string(),
            timestamp,
        };
        self.point_latest(&run)?;
        Ok(run)
    }

    fn point_latest(&self, run: &RunDir) -> Result<()> {
        let rel_in_test = PathBuf::from(&run.timestamp);
        let rel_in_root = Path::new(&run.test_name).join(&run.timestamp);
        replace_symlink(&rel_in_test, &self.root.join(&run.test_name).join("latest"))?;
        replace_symlink(&rel_in_root, &self.root.join("latest"))?;
        Ok(())
    }

    /// Resolves what `analyze` was asked for: a run directory, a test name
    /// (its latest run), or nothing (the latest run of any test).
    pub fn resolve(&self, what: Option<&Path>) -> Result<PathBuf> {
        let candidate = match what {
            None => self.root.join("latest"),
            Some(p) if p.join(HISTORY_FILE).exists() || p.join(TEST_FILE).exists() => {
                p.to_path_buf()
            }
            Some(p) if self.root.join(p).join("latest").exists() => {
                self.root.join(p).join("latest")
            }
            Some(p) => p.to_path_buf(),
        };
        let dir = fs::canonicalize(&candidate).with_context(|| {
            format!(
                "no run at {} (expected a run directory such as store/<test>/<time>, a test name, or nothing for the latest run)",
                candidate.display()
            )
        })?;
        if !dir.join(HISTORY_FILE).exists() {
            bail!(
                "{} is not a run directory: it has no {HISTORY_FILE}",
                dir.display()
            );
        }
        Ok(dir)
    }

    /// Every run directory in the store, newest first.
    pub fn runs(&self) -> Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        let Ok(tests) = fs::read_dir(&self.root) else {
            return Ok(out);
        };
        for test in tests.flatten() {
            let tp = test.path();
            if test.file_name() == "latest" || !tp.is_dir() || tp.is_symlink() {
                continue;
            }
            for run in fs::read_dir(&tp)?.flatten() {
                let rp = run.path();
                if run.file_name() != "latest" && !rp.is_symlink() && rp.is_dir() {
                    out.push(rp);
                }
            }
        }
        out.sort_by(|a, b| b.file_name().cmp(&a.file_name()));
        Ok(out)
    }
}

impl RunDir {
    /// Opens an existing run directory (for `analyze`).
    pub fn open(path: &Path) -> Result<RunDir> {
        let path = fs::canonicalize(path)
            .with_context(|| format!("cannot open run directory {}", path.display()))?;
        let timestamp = path
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let test_name = path
            .parent()
            .and_then(|p| p.file_name())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(RunDir {
            path,
            test_name,
            timestamp,
        })
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    pub fn history(&self) -> PathBuf {
        self.file(HISTORY_FILE)
    }

    pub fn results(&self) -> PathBuf {
        self.file(RESULTS_FILE)
    }

    pub fn node_dir(&self, node: &str) -> PathBuf {
        self.path.join(NODES_DIR).join(sanitize(node))
    }
}

/// Test names become directory names: keep them to a safe set.
fn check_test_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name != "latest"
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        bail!(
            "test name {name:?} cannot name a store directory: use letters, digits, '-', '_' or '.' (and not \"latest\")"
        );
    }
    Ok(())
}

/// Node names from a user's inventory may hold anything; file names may not.
pub fn sanitize(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with('.') {
        format!("_{s}")
    } else {
        s
    }
}

fn replace_symlink(target: &Path, link: &Path) -> io::Result<()> {
    // Create under a temporary name and rename over the old link: atomic, so a
    // reader never sees `latest` missing.
    let tmp = link.with_extension("tmp-link");
    let _ = fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)?;
    fs::rename(&tmp, link)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_get_folders_and_latest_links() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path());
        let a = store.create_run("etcd-register").unwrap();
        std::fs::write(a.history(), "").unwrap();
        let b = store.create_run("etcd-register").unwrap();
        std::fs::write(b.history(), "").unwrap();
        assert_ne!(a.path, b.path);
        let latest = store.resolve(None).unwrap();
        assert_eq!(latest, std::fs::canonicalize(&b.path).unwrap());
        let by_name = store.resolve(Some(Path::new("etcd-register"))).unwrap();
        assert_eq!(by_name, latest);
        assert_eq!(store.runs().unwrap().len(), 2);
        assert_eq!(store.runs().unwrap()[0], b.path);
    }

    #[test]
    fn rejects_unsafe_test_names() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path());
        assert!(store.create_run("../escape").is_err());
        assert!(store.create_run("latest").is_err());
        assert_eq!(sanitize("n1;rm -rf"), "n1_rm_-rf");
    }
}
