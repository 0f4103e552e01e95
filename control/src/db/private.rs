//! Lab nodes share the host's file system except for their private directories: a database
//! directory outside them would be one directory for every node, and the "cluster" would be
//! several daemons fighting over the same files. [`Db::check_private`] refuses that before
//! anything is installed; `db up` and `test` both call it.

use std::path::{Path, PathBuf};

use super::Db;
use crate::inventory::LabInfo;
use crate::lab::down_flags;

/// A directory the database needs per node that the lab's nodes would share.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{}: {field} {dir} is not private to each lab node, so every node would share it; \
     recreate the lab with it private: `splitbrain lab down{flags} && splitbrain lab up{flags} --private-dir {}` \
     (`lab up --db FILE` makes a definition's private_dirs private), or run on nodes where it is private (--nodes)",
    file.display(),
    crate::quote(.fix)
)]
pub struct NotPrivate {
    /// The definition file.
    pub file: PathBuf,
    /// `data_dir` or `private_dirs`.
    pub field: &'static str,
    /// The shared directory.
    pub dir: String,
    /// The directory to make private.
    pub fix: String,
    /// `--name`/`--lab-dir` when the lab is not the default one.
    flags: String,
}

impl Db {
    /// On a lab, every directory the definition declares (`private_dirs`) and every node's
    /// data directory must lie in a directory private to each node. Elsewhere each node is
    /// its own machine: nothing to check.
    pub fn check_private(&self, lab: Option<&LabInfo>) -> Result<(), NotPrivate> {
        let Some(lab) = lab else {
            return Ok(());
        };
        let private = |d: &str| lab.private_dirs.iter().any(|p| Path::new(d).starts_with(p));
        let err = |field, dir: &str, fix: String| NotPrivate {
            file: self.def.source.clone(),
            field,
            dir: dir.to_string(),
            fix,
            flags: down_flags(&lab.name, &lab.dir),
        };
        if let Some(d) = self.def.private_dirs().find(|d| !private(d)) {
            return Err(err("private_dirs", d, d.to_string()));
        }
        // A declared directory holding data_dir was checked above: what is left has no
        // declaration, so the fix is its parent (data_dir itself is wiped by teardown).
        if let Some(b) = self.nodes.iter().find(|b| !private(&b.data_dir)) {
            let fix = Path::new(&b.data_dir)
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| b.data_dir.clone());
            return Err(err("data_dir", &b.data_dir, fix));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::DbDef;
    use crate::lab::{DEFAULT_DIR, DEFAULT_NAME};
    use crate::node::Node;

    fn def(extra: &str) -> DbDef {
        let text = format!(
            "name: t\ndata_dir: /var/lib/t/data\n{extra}daemon:\n  command: [sleep, '100']\n  pid_file: /run/t.pid\n  log_file: /var/log/t.log\nready:\n  tcp: 1234\n"
        );
        DbDef::parse(&text, Path::new("dbs/t.yaml")).unwrap_or_else(|e| panic!("{e}"))
    }

    fn lab(dirs: &[&str]) -> LabInfo {
        LabInfo {
            name: DEFAULT_NAME.into(),
            dir: DEFAULT_DIR.into(),
            subnet: "10.77.0.0/24".into(),
            private_dirs: dirs.iter().map(|d| d.to_string()).collect(),
        }
    }

    fn bind(def: DbDef) -> Db {
        let nodes = [
            Node::new("n1", "10.77.0.1", 22),
            Node::new("n2", "10.77.0.2", 22),
        ];
        Db::for_nodes(def, &nodes).unwrap()
    }

    #[test]
    fn not_a_lab_needs_nothing_private() {
        bind(def("private_dirs: [/var/lib/t]\n"))
            .check_private(None)
            .unwrap();
    }

    #[test]
    fn a_data_dir_in_a_private_dir_passes() {
        let db = bind(def("private_dirs: [/var/lib/t]\n"));
        db.check_private(Some(&lab(&["/run", "/var/lib/t"])))
            .unwrap();
        // A parent made private covers it too.
        db.check_private(Some(&lab(&["/var/lib"]))).unwrap();
    }

    #[test]
    fn a_shared_data_dir_names_the_directory_and_both_fixes() {
        let db = bind(def(""));
        let e = db
            .check_private(Some(&lab(&["/run", "/var/lib/tt"])))
            .unwrap_err();
        assert_eq!(
            (e.field, e.dir.as_str(), e.fix.as_str()),
            ("data_dir", "/var/lib/t/data", "/var/lib/t")
        );
        let msg = e.to_string();
        assert!(
            msg.starts_with("dbs/t.yaml: data_dir /var/lib/t/data is not private to each lab node")
                && msg.contains(
                    "`splitbrain lab down && splitbrain lab up --private-dir /var/lib/t`"
                )
                && msg.contains("--db FILE")
                && msg.contains("run on nodes where it is private"),
            "{msg}"
        );
    }

    #[test]
    fn a_declared_private_dir_the_lab_lacks_is_refused_first() {
        let db = bind(def("private_dirs: [/srv/t]\n"));
        let mut info = lab(&["/var/lib"]);
        info.name = "t1".into();
        info.dir = "/var/cache/splitbrain/t1".into();
        let e = db.check_private(Some(&info)).unwrap_err();
        assert_eq!(
            (e.field, e.dir.as_str(), e.fix.as_str()),
            ("private_dirs", "/srv/t", "/srv/t")
        );
        let msg = e.to_string();
        assert!(
            msg.contains("splitbrain lab down --name t1 --lab-dir /var/cache/splitbrain/t1 && splitbrain lab up --name t1 --lab-dir /var/cache/splitbrain/t1 --private-dir /srv/t"),
            "{msg}"
        );
    }

    #[test]
    fn a_per_node_data_dir_is_checked_on_every_node() {
        let text = "name: t\ndata_dir: '/var/lib/{{node}}/data'\ndaemon:\n  command: [sleep, '100']\n  pid_file: /run/t.pid\n  log_file: /var/log/t.log\nready:\n  tcp: 1234\n";
        let db = bind(DbDef::parse(text, Path::new("dbs/t.yaml")).unwrap());
        let e = db.check_private(Some(&lab(&["/var/lib/n1"]))).unwrap_err();
        assert_eq!(e.dir, "/var/lib/n2/data");
        // A sibling named like a private dir is not inside it.
        let e = db.check_private(Some(&lab(&["/var/lib/n"]))).unwrap_err();
        assert_eq!(e.dir, "/var/lib/n1/data");
    }
}
