//! Definitions compiled into the binary, so that `splitbrain test` with no file
//! runs from any directory: the default test and the databases it needs.
//!
//! A test definition refers to a built-in database as `db: builtin:NAME`. The built-in
//! databases are exactly the files in `dbs/` ([`DATABASES`]; a test keeps the two in step),
//! and `splitbrain lab up` makes every one's `private_dirs` private ([`lab_config`]).

use std::path::Path;

use anyhow::{Result, anyhow};
use splitbrain_control::db::DbDef;
use splitbrain_control::lab::LabConfig;

use crate::config::TestDef;

/// `tests/etcd-register.yaml`, with its database pointing at the built-in etcd.
pub const DEFAULT_TEST: &str = include_str!("../tests/etcd-register.yaml");

/// A database definition built into the binary.
pub struct BuiltinDb {
    /// `builtin:NAME`; also the definition's `name` and its file's stem.
    pub name: &'static str,
    /// Where it lives in the repository, for error messages.
    pub file: &'static str,
    pub text: &'static str,
}

/// Every built-in database: one line per file in `dbs/`.
pub const DATABASES: &[BuiltinDb] = &[BuiltinDb {
    name: "etcd",
    file: "dbs/etcd.yaml",
    text: include_str!("../dbs/etcd.yaml"),
}];

const PREFIX: &str = "builtin:";

/// The built-in default test.
pub fn default_test() -> Result<TestDef> {
    let mut def = TestDef::parse(DEFAULT_TEST, "built-in tests/etcd-register.yaml")?;
    def.db = Some(format!("{PREFIX}etcd").into());
    Ok(def)
}

impl BuiltinDb {
    pub fn load(&self) -> Result<DbDef> {
        DbDef::parse(self.text, Path::new(&format!("built-in {}", self.file)))
            .map_err(|e| anyhow!("{e}"))
    }
}

/// The built-in names, comma-separated (for messages).
pub fn names() -> String {
    DATABASES
        .iter()
        .map(|d| d.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Loads a database definition from a file, or from the binary for `builtin:NAME`.
pub fn load_db(path: &Path) -> Result<DbDef> {
    match path.to_str().and_then(|p| p.strip_prefix(PREFIX)) {
        Some(name) => match DATABASES.iter().find(|d| d.name == name) {
            Some(d) => d.load(),
            None => Err(anyhow!(
                "no built-in database `{name}`; built in: {} (or give a path to a YAML definition)",
                names()
            )),
        },
        None => DbDef::load(path).map_err(|e| anyhow!("{e}")),
    }
}

/// A lab of `nodes` nodes whose private directories are the generic ones, every built-in
/// database's, and those of `dbs` (e.g. `lab up --db FILE`, or the test's database).
pub fn lab_config(nodes: usize, dbs: &[DbDef]) -> Result<LabConfig> {
    let mut cfg = LabConfig::new(nodes);
    for d in DATABASES {
        cfg.make_private(d.load()?.private_dirs());
    }
    for def in dbs {
        cfg.make_private(def.private_dirs());
    }
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_databases_are_exactly_the_files_in_dbs() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("dbs");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|f| f.ends_with(".yaml"))
            .map(|f| format!("dbs/{f}"))
            .collect();
        files.sort();
        let mut table: Vec<String> = DATABASES.iter().map(|d| d.file.to_string()).collect();
        table.sort();
        assert_eq!(
            files, table,
            "add a line to DATABASES for each file in dbs/"
        );
        for d in DATABASES {
            assert_eq!(d.file, format!("dbs/{}.yaml", d.name));
            let on_disk =
                std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(d.file))
                    .unwrap();
            assert_eq!(d.text, on_disk, "{}", d.file);
            let def = load_db(Path::new(&format!("builtin:{}", d.name))).unwrap();
            assert_eq!(def.name, d.name, "{}: name", d.file);
        }
    }

    #[test]
    fn an_unknown_built_in_lists_the_table() {
        let err = load_db(Path::new("builtin:nope")).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "no built-in database `nope`; built in: {} (or give a path to a YAML definition)",
                names()
            )
        );
        assert!(names().split(", ").any(|n| n == "etcd"));
    }

    #[test]
    fn the_lab_keeps_every_built_in_and_given_database_private() {
        let cfg = lab_config(3, &[]).unwrap();
        for d in ["/opt", "/run", "/tmp", "/var/log", "/var/lib/etcd"] {
            assert!(
                cfg.private_dirs.iter().any(|p| p == d),
                "{d}: {:?}",
                cfg.private_dirs
            );
        }
        let text = DATABASES[0].text.replace(
            "private_dirs: [/var/lib/etcd]",
            "private_dirs: [/var/lib/etcd, /srv/other]",
        );
        let other = DbDef::parse(&text, Path::new("other.yaml")).unwrap();
        let cfg = lab_config(3, &[other]).unwrap();
        assert_eq!(
            cfg.private_dirs
                .iter()
                .filter(|p| *p == "/var/lib/etcd")
                .count(),
            1
        );
        assert!(cfg.private_dirs.iter().any(|p| p == "/srv/other"));
        cfg.validate().unwrap();
    }
}
