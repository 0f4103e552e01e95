//! `{{var}}` templates and shell scripts (control/src/db/template.rs).
//!
//! Invariants: the text is kept as written; a template that checks renders
//! every placeholder exactly once; a script that checks (placeholders only
//! where the shell reads a quoted word literally) carries each value as its
//! quoted word, once per placeholder.
#![no_main]

use libfuzzer_sys::fuzz_target;
use splitbrain_control::db::{Script, Template, Vars};
use splitbrain_control::quote;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let t = Template::new(text);
    assert_eq!(t.as_str(), text);
    let names: Vec<&str> = t.vars().collect();
    let placeholders = names.len();
    if t.check(&names).is_err() {
        // Still renders, with whatever it parsed.
        let _ = t.render(&Vars::new());
        return;
    }
    const MARK: &str = "\u{0}";
    if !text.contains(MARK) {
        let vars: Vars = names.iter().map(|n| (n.to_string(), MARK.into())).collect();
        let out = t.render(&vars);
        assert_eq!(
            out.matches(MARK).count(),
            placeholders,
            "{text:?} -> {out:?}"
        );
    }
    let s = Script::new(text);
    if placeholders > 0 && s.check(&names).is_ok() {
        let value = "a b'c;$(x)`y`";
        let vars: Vars = names
            .iter()
            .map(|n| (n.to_string(), value.into()))
            .collect();
        let out = s.render(&vars);
        let quoted = quote(value);
        assert!(
            out.matches(&quoted).count() >= placeholders,
            "{text:?} -> {out:?}: the value is not quoted at every placeholder"
        );
    }
});
