//! YAML test definitions (`tests/*.yaml`, src/config.rs). Errors name the
//! file; a definition that parses writes back as YAML that parses to the
//! same YAML again (what `store/.../test.yaml` relies on).
#![no_main]

use libfuzzer_sys::fuzz_target;
use splitbrain::config::TestDef;

const NAME: &str = "fuzz-input.yaml";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let def = match TestDef::parse(text, NAME) {
        Ok(def) => def,
        Err(e) => {
            let msg = format!("{e:#}");
            assert!(
                msg.contains(NAME),
                "the error does not name the file: {msg}"
            );
            return;
        }
    };
    let _ = def.validate();
    let yaml = def
        .to_yaml()
        .unwrap_or_else(|e| panic!("a parsed definition cannot be written: {e:#}"));
    let back = TestDef::parse(&yaml, NAME)
        .unwrap_or_else(|e| panic!("the written definition does not parse: {e:#}\n{yaml}"));
    let again = back.to_yaml().expect("written once, written twice");
    assert_eq!(yaml, again, "writing is not stable");
});
