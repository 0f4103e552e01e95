//! `{{name}}` templates in database definitions.
//!
//! Two kinds, and the difference is the whole point:
//!
//! * [`Template`] — plain text: file contents, paths, one argument of an argument list.
//!   Values are substituted as they are; the result is then quoted as one word wherever it
//!   reaches a shell.
//! * [`Script`] — a shell command line written by the definition's author. Each value is
//!   substituted already quoted ([`quote`]), so `--name={{node}}` gives `--name='n1; x'`
//!   and the shell reads the value back literally. A placeholder inside quotes, backticks or
//!   a here-document would be re-read by the shell, so such scripts are rejected when the
//!   definition is loaded.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer};

use crate::quote::quote;

/// Variable values for one node.
pub type Vars = BTreeMap<String, String>;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Lit(String),
    Var(String),
}

/// Text with `{{variable}}` placeholders, and where it came from in the YAML file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    text: String,
    parts: Vec<Part>,
    /// 1-based line and column of the value in its file (0 when unknown).
    pub line: usize,
    pub column: usize,
    /// Syntax problem found while parsing, reported by validation with the file name.
    problem: Option<String>,
}

impl Template {
    /// Parses `text` (used for defaults and tests; definitions come through serde).
    pub fn new(text: impl Into<String>) -> Template {
        Self::parse(text.into(), 0, 0)
    }

    fn parse(text: String, line: usize, column: usize) -> Template {
        let mut parts = Vec::new();
        let mut problem = None;
        let mut rest = text.as_str();
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Lit(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            match after.find("}}") {
                Some(end) => {
                    let name = after[..end].trim();
                    if name.is_empty()
                        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                    {
                        problem.get_or_insert(format!(
                            "{{{{{}}}}} is not a variable name (letters, digits, _)",
                            &after[..end]
                        ));
                    }
                    parts.push(Part::Var(name.to_string()));
                    rest = &after[end + 2..];
                }
                None => {
                    problem.get_or_insert("`{{` without a closing `}}`".to_string());
                    parts.push(Part::Lit(rest.to_string()));
                    rest = "";
                }
            }
        }
        if !rest.is_empty() {
            parts.push(Part::Lit(rest.to_string()));
        }
        Template {
            text,
            parts,
            line,
            column,
            problem,
        }
    }

    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Names of the variables used.
    pub fn vars(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(v.as_str()),
            Part::Lit(_) => None,
        })
    }

    /// Checks syntax and that every variable is in `allowed`.
    pub fn check(&self, allowed: &[&str]) -> Result<(), String> {
        if let Some(p) = &self.problem {
            return Err(p.clone());
        }
        for v in self.vars() {
            if !allowed.contains(&v) {
                let mut names: Vec<&str> = allowed.to_vec();
                names.sort();
                return Err(format!(
                    "unknown variable {{{{{v}}}}}; valid here: {}",
                    names.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// Substitutes values as they are.
    pub fn render(&self, vars: &Vars) -> String {
        self.render_with(vars, |v| v.to_string())
    }

    fn render_with(&self, vars: &Vars, f: impl Fn(&str) -> String) -> String {
        let mut out = String::with_capacity(self.text.len());
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                // Validation guarantees presence; an absent value renders empty.
                Part::Var(v) => out.push_str(&f(vars.get(v).map(String::as_str).unwrap_or(""))),
            }
        }
        out
    }
}

impl<'de> Deserialize<'de> for Template {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = serde_saphyr::Spanned::<String>::deserialize(d)?;
        Ok(Template::parse(
            s.value,
            s.referenced.line() as usize,
            s.referenced.column() as usize,
        ))
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A shell command line with `{{variable}}` placeholders whose values are quoted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Script(pub Template);

impl Script {
    pub fn new(text: impl Into<String>) -> Script {
        Script(Template::new(text))
    }

    /// Checks variables, and that every placeholder stands where the shell reads a quoted
    /// word literally: outside quotes, backticks and here-documents.
    pub fn check(&self, allowed: &[&str]) -> Result<(), String> {
        self.0.check(allowed)?;
        if self.0.vars().next().is_none() {
            return Ok(());
        }
        if self.0.text.contains("<<") {
            return Err("placeholders cannot be used in a script with a here-document (`<<`); put the text in configure.files instead".into());
        }
        #[derive(PartialEq)]
        enum State {
            Bare,
            Single,
            Double,
            Backtick,
        }
        let mut state = State::Bare;
        let bytes = self.0.text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b == b'{' && bytes.get(i + 1) == Some(&b'{') {
                let where_ = match state {
                    State::Bare => None,
                    State::Single => Some("single quotes"),
                    State::Double => Some("double quotes"),
                    State::Backtick => Some("backticks"),
                };
                if let Some(w) = where_ {
                    let end = self.0.text[i..]
                        .find("}}")
                        .map(|e| i + e + 2)
                        .unwrap_or(bytes.len());
                    return Err(format!(
                        "{} is inside {w} in a shell command; write it bare: values are quoted for you (e.g. --name={{{{node}}}})",
                        &self.0.text[i..end]
                    ));
                }
                i += 2;
                continue;
            }
            match (&state, b) {
                (State::Bare, b'\\') | (State::Double, b'\\') => i += 1,
                (State::Bare, b'\'') => state = State::Single,
                (State::Bare, b'"') => state = State::Double,
                (State::Bare, b'`') => state = State::Backtick,
                (State::Single, b'\'') | (State::Double, b'"') | (State::Backtick, b'`') => {
                    state = State::Bare
                }
                _ => {}
            }
            i += 1;
        }
        Ok(())
    }

    /// The command line with each value substituted as one quoted word.
    pub fn render(&self, vars: &Vars) -> String {
        self.0.render_with(vars, quote)
    }

    pub fn line(&self) -> usize {
        self.0.line
    }
}

impl<'de> Deserialize<'de> for Script {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Template::deserialize(d).map(Script)
    }
}

impl fmt::Display for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quote::tests_support::HOSTILE;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn renders_plain_text() {
        let t = Template::new("http://{{ip}}:2380 {{ node }}");
        assert_eq!(
            t.render(&vars(&[("ip", "10.0.0.1"), ("node", "n1")])),
            "http://10.0.0.1:2380 n1"
        );
        assert!(t.check(&["ip", "node"]).is_ok());
        let err = t.check(&["ip"]).unwrap_err();
        assert!(
            err.contains("unknown variable {{node}}; valid here: ip"),
            "{err}"
        );
        assert!(Template::new("{{ip").check(&["ip"]).is_err());
        assert!(Template::new("{{a b}}").check(&["ip"]).is_err());
    }

    #[test]
    fn placeholders_inside_quotes_are_rejected() {
        for bad in [
            "echo '{{node}}'",
            "echo \"{{node}}\"",
            "echo `echo {{node}}`",
            "echo \"$(echo {{node}})\"",
            "cat <<EOF\n{{node}}\nEOF",
        ] {
            assert!(Script::new(bad).check(&["node"]).is_err(), "{bad}");
        }
        for good in [
            "echo {{node}}",
            "echo --name={{node}} 'lit{{'",
            "x=$(echo {{node}}) && echo \"$x\"",
            "echo \\'{{node}}",
        ] {
            // `'lit{{'` has no closing braces: it is a syntax problem, so only check the rest.
            if good.contains("lit{{") {
                continue;
            }
            Script::new(good)
                .check(&["node"])
                .unwrap_or_else(|e| panic!("{good}: {e}"));
        }
    }

    #[test]
    fn hostile_values_arrive_literally_in_scripts() {
        let marker = std::path::Path::new("/tmp/splitbrain-quote-pwned");
        let _ = std::fs::remove_file(marker);
        let script = Script::new(
            r#"printf '%s|' {{v}} --opt={{v}}; x=$(printf %s {{v}}) && printf '%s' "$x""#,
        );
        script.check(&["v"]).unwrap();
        for value in HOSTILE {
            let line = script.render(&vars(&[("v", value)]));
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(&line)
                .output()
                .unwrap();
            assert!(out.status.success(), "{line}");
            // $(...) strips trailing newlines; the hostile values have none.
            assert_eq!(
                String::from_utf8(out.stdout).unwrap(),
                format!("{value}|--opt={value}|{value}"),
                "{line}"
            );
        }
        assert!(!marker.exists(), "a templated value was executed");
    }
}
