//! The crate's modules do not import each other in a circle (charts, the page and
//! the timeline once did, through small text helpers that lived in the wrong
//! files): helpers live below what draws, views below the page.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The first path segment of each item a `crate::` path names: `crate::{a::b, c}` → a, c.
fn crate_refs(src: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = src;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level items of the group, up to its closing brace.
            let (mut depth, mut item) = (0, String::new());
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.insert(first_segment(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 {
                    item.push(c);
                }
            }
            out.insert(first_segment(&item));
        } else {
            out.insert(first_segment(rest));
        }
    }
    out
}

fn first_segment(s: &str) -> String {
    s.trim()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

#[test]
fn no_module_imports_another_in_a_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    // Module name → the source of the module (a directory module: all its files).
    let mut modules: BTreeMap<String, String> = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = if path.is_dir() {
            let mut all = String::new();
            for f in std::fs::read_dir(&path).unwrap() {
                all.push_str(&std::fs::read_to_string(f.unwrap().path()).unwrap());
            }
            all
        } else {
            std::fs::read_to_string(&path).unwrap()
        };
        if name != "lib" {
            modules.insert(name, text);
        }
    }
    for m in ["charts", "html", "timeline", "text", "style", "views"] {
        assert!(modules.contains_key(m), "no module {m}: update this test");
    }
    let deps: BTreeMap<&str, BTreeSet<String>> = modules
        .iter()
        .map(|(m, text)| {
            let refs = crate_refs(text)
                .into_iter()
                .filter(|r| r != m && modules.contains_key(r))
                .collect();
            (m.as_str(), refs)
        })
        .collect();
    // Depth-first search; a module met again on the current path closes a circle.
    fn visit<'a>(
        m: &'a str,
        deps: &'a BTreeMap<&str, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        if let Some(i) = path.iter().position(|p| *p == m) {
            panic!(
                "modules import each other in a circle: {} → {m}",
                path[i..].join(" → ")
            );
        }
        if !done.insert(m) {
            return;
        }
        path.push(m);
        for d in &deps[m] {
            visit(d, deps, path, done);
        }
        path.pop();
    }
    let mut done = BTreeSet::new();
    for m in deps.keys() {
        visit(m, &deps, &mut Vec::new(), &mut done);
    }
    // The parser sees what it must: the page uses the charts, the timeline and the views.
    assert!(deps["html"].contains("charts") && deps["html"].contains("views"));
    assert_eq!(
        crate_refs(
            "use crate::{charts::{self, Chart}, digest::Digest};\nlet x = crate::text::thousands(1);"
        ),
        ["charts", "digest", "text"].map(String::from).into()
    );
}
