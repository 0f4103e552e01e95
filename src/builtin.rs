//! Definitions compiled into the binary, so that `splitbrain test` with no file
//! runs from any directory: the default test and the databases it needs.
//!
//! A test definition refers to them as `db: builtin:etcd`.

use std::path::Path;

use anyhow::{Result, anyhow};
use splitbrain_control::db::DbDef;

use crate::config::TestDef;

/// `tests/etcd-register.yaml`, with its database pointing at the built-in etcd.
pub const DEFAULT_TEST: &str = include_str!("../tests/etcd-register.yaml");
pub const ETCD_DB: &str = include_str!("../dbs/etcd.yaml");

const PREFIX: &str = "builtin:";

/// The built-in default test.
pub fn default_test() -> Result<TestDef> {
    let mut def = TestDef::parse(DEFAULT_TEST, "built-in tests/etcd-register.yaml")?;
    def.db = Some(format!("{PREFIX}etcd").into());
    Ok(def)
}

/// Loads a database definition from a file, or from the binary for `builtin:NAME`.
pub fn load_db(path: &Path) -> Result<DbDef> {
    match path.to_str().and_then(|p| p.strip_prefix(PREFIX)) {
        Some("etcd") => {
            DbDef::parse(ETCD_DB, Path::new("built-in dbs/etcd.yaml")).map_err(|e| anyhow!("{e}"))
        }
        Some(other) => Err(anyhow!(
            "no built-in database `{other}`; built in: etcd (or give a path to a YAML definition)"
        )),
        None => DbDef::load(path).map_err(|e| anyhow!("{e}")),
    }
}
