//! YAML database definitions (`dbs/*.yaml`, control/src/db/def.rs). Errors
//! name the file and a line of it; a definition that loads renders its
//! templates with any values.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use splitbrain_control::db::def::{NODE_VARS, PATH_VARS};
use splitbrain_control::db::{DbDef, Vars};

const NAME: &str = "fuzz-input.yaml";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let def = match DbDef::parse(text, Path::new(NAME)) {
        Ok(def) => def,
        Err(e) => {
            assert_eq!(e.file, Path::new(NAME), "the error names another file: {e}");
            // YAML breaks lines at \n, \r\n and a lone \r.
            let lines = text.replace("\r\n", "\n").matches(['\n', '\r']).count() + 1;
            assert!(
                e.line <= lines,
                "line {} of a {lines}-line input: {e}",
                e.line
            );
            return;
        }
    };
    // Every variable a template may use, with a value a shell would trip on.
    let vars: Vars = NODE_VARS
        .iter()
        .chain(PATH_VARS)
        .chain(["peers"].iter())
        .map(|k| (k.to_string(), "n1'; rm -rf / #$(x)".to_string()))
        .chain(def.vars.keys().map(|k| (k.clone(), "v".to_string())))
        .collect();
    let _ = def.data_dir.render(&vars);
    let _ = def.daemon.pid_file.render(&vars);
    let _ = def.daemon.log_file.render(&vars);
    for t in def
        .vars
        .values()
        .chain(&def.daemon.command)
        .chain(&def.logs)
    {
        let _ = t.render(&vars);
    }
    if let Some(c) = &def.ready.command {
        let _ = c.render(&vars);
    }
});
