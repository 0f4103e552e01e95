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

use crate::quote::{quote, single_quote};

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

    fn render_with(&self, vars: &Vars, mut f: impl FnMut(&str) -> String) -> String {
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
///
/// The promise: the command that runs is the script's own words, with each placeholder
/// replaced by one shell word holding exactly its value, whatever the value holds. Quoting
/// the value keeps that promise only where the shell reads a quoted word literally, so
/// [`Script::check`] finds, for every placeholder, where the shell is when it reaches it
/// (a small POSIX lexer, below) and refuses any place where a quote would be re-read or
/// combined: inside quotes, backticks, `${...}`, arithmetic or a comment, after `\`, `$`
/// or `~`, inside `[...]` or `{...}`. Constructs that sh (dash) and bash read differently,
/// or that the lexer cannot follow (here-documents, `$'...'`, `case` inside parentheses),
/// are refused in scripts that have placeholders, rather than guessed at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Script(pub Template);

impl Script {
    pub fn new(text: impl Into<String>) -> Script {
        Script(Template::new(text))
    }

    /// Checks variables, and that every placeholder stands where the shell reads a quoted
    /// word literally.
    pub fn check(&self, allowed: &[&str]) -> Result<(), String> {
        self.0.check(allowed)?;
        placements(&self.0.text).map(|_| ())
    }

    /// The command line with each value substituted as one quoted word.
    ///
    /// A script that does not pass [`Script::check`] renders as a command that fails with
    /// the reason, so that a caller who skipped the check cannot run an injectable line.
    pub fn render(&self, vars: &Vars) -> String {
        let refuse = |why: &str| {
            format!(
                "echo {} >&2; exit 125",
                quote(&format!(
                    "splitbrain: refusing to run an unchecked command: {why}"
                ))
            )
        };
        if let Some(p) = &self.0.problem {
            return refuse(p);
        }
        let quoting = match placements(&self.0.text) {
            Ok(q) => q,
            Err(e) => return refuse(&e),
        };
        if quoting.len() != self.0.vars().count() {
            return refuse("placeholders were miscounted");
        }
        let mut quoting = quoting.into_iter();
        self.0.render_with(vars, |value| match quoting.next() {
            Some(Quoting::Readable) => quote(value),
            _ => single_quote(value),
        })
    }

    pub fn line(&self) -> usize {
        self.0.line
    }
}

/// How one placeholder of a [`Script`] is written into the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Quoting {
    /// After an unquoted `=` in the same word (`--name={{node}}`): whether the word is an
    /// assignment was settled before the value, so a value of plain characters may stay bare
    /// and readable in logs.
    Readable,
    /// Anywhere else: always in single quotes, so that no value can become a reserved word
    /// (`if`), an assignment (`PATH=/x`), an alias or a `~user`.
    Single,
}

/// Where the shell is while it reads a script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Frame {
    /// The script itself.
    Top,
    /// `$( ... )`
    CmdSub,
    /// `( ... )`: a subshell, a function's `()`, or `<( ... )`.
    Group,
    Single,
    Double,
    Backtick,
    /// `${ ... }`
    Param,
    /// `$(( ... ))`, or bash's `(( ... ))`; the count of inner parentheses still open.
    Arith(u32),
    /// From `#` at the start of a word to the end of the line.
    Comment,
}

impl Frame {
    /// Where a placeholder is one word or part of one, read after quote removal.
    fn is_plain(self) -> bool {
        matches!(self, Frame::Top | Frame::CmdSub | Frame::Group)
    }

    fn describe(self) -> &'static str {
        match self {
            Frame::Top | Frame::CmdSub | Frame::Group => "a command",
            Frame::Single => "single quotes",
            Frame::Double => "double quotes",
            Frame::Backtick => "backticks",
            Frame::Param => "a ${...} expansion",
            Frame::Arith(_) => "arithmetic $((...))",
            Frame::Comment => "a # comment",
        }
    }
}

/// One open frame and, in plain frames, the word being read.
struct Level {
    frame: Frame,
    /// The current word's unquoted characters (quoted or escaped ones as [`MARK`]).
    word: String,
    in_word: bool,
    /// An unquoted `=` came earlier in the current word.
    after_eq: bool,
    /// The word ends in an unbraced `$name`, which a bare value would lengthen.
    in_name: bool,
    /// The placement (index) of a bare value that just ended: `~` or `(` right after it
    /// would join its last character (bash's `a=:~`, extglob's `@(`), so it is quoted then.
    bare_before: Option<usize>,
    /// At the top: a `case` came earlier, so a lone `)` may end one of its patterns.
    saw_case: bool,
}

/// Stands in the word for a character that was quoted or escaped.
const MARK: char = '\u{1}';

impl Level {
    fn new(frame: Frame) -> Level {
        Level {
            frame,
            word: String::new(),
            in_word: false,
            after_eq: false,
            in_name: false,
            bare_before: None,
            saw_case: false,
        }
    }
}

/// End of the placeholder starting at `i`, if one does. Call only on text without a syntax
/// problem: then every `{{` starts a placeholder, exactly as [`Template::parse`] split it.
fn placeholder_end(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i..i + 2) != Some(b"{{") {
        return None;
    }
    let close = b[i + 2..].windows(2).position(|w| w == b"}}")?;
    Some(i + 2 + close + 2)
}

/// Whether `word` has an `open` without its `close` (a `[` or `{` the value would land in).
fn unclosed(word: &str, open: char, close: char) -> bool {
    let mut depth = 0usize;
    for c in word.chars() {
        if c == open {
            depth += 1;
        } else if c == close {
            depth = depth.saturating_sub(1);
        }
    }
    depth > 0
}

/// Reads `text` as sh would and says how to quote each placeholder, in order; or why a
/// placeholder stands where a quoted value would not be read literally.
fn placements(text: &str) -> Result<Vec<Quoting>, String> {
    let b = text.as_bytes();
    if !text.contains("{{") {
        return Ok(Vec::new());
    }
    // Where in the command, for multi-line scripts (the loader adds the file and line).
    let at = |i: usize| {
        if text.contains('\n') {
            let line = text[..i].matches('\n').count() + 1;
            format!(" (line {line} of the command)")
        } else {
            String::new()
        }
    };
    let name = |i: usize| {
        let end = placeholder_end(b, i).unwrap_or(b.len());
        text[i..end].to_string()
    };
    let unclear = |what: &str, i: usize| {
        format!(
            "{what}{}: sh and bash read it differently, so where the {{{{...}}}} values land cannot be checked; rewrite that part (or pass the value through configure.files)",
            at(i)
        )
    };
    if let Some(i) = text.find("<<") {
        return Err(format!(
            "placeholders cannot be used in a script with a here-document (`<<`){}; put the text in configure.files instead",
            at(i)
        ));
    }
    let mut stack = vec![Level::new(Frame::Top)];
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let lvl = stack.last_mut().expect("the top frame is never popped");
        if let Some(end) = placeholder_end(b, i) {
            let n = &text[i..end];
            if !lvl.frame.is_plain() {
                return Err(format!(
                    "{n} is inside {} in a shell command{}; write it bare: values are quoted for you (e.g. --name={{{{node}}}})",
                    lvl.frame.describe(),
                    at(i)
                ));
            }
            if unclosed(&lvl.word, '[', ']') {
                return Err(format!(
                    "{n} is inside [...]{} (a glob bracket or an array subscript), where the shell reads its value as a pattern or arithmetic; move it out of the brackets",
                    at(i)
                ));
            }
            if unclosed(&lvl.word, '{', '}') {
                return Err(format!(
                    "{n} is inside {{...}}{} (bash brace expansion), where a comma in its value would split the word; move it out of the braces",
                    at(i)
                ));
            }
            let readable = lvl.after_eq && !lvl.in_name;
            out.push(if readable {
                Quoting::Readable
            } else {
                Quoting::Single
            });
            lvl.bare_before = readable.then_some(out.len() - 1);
            lvl.in_word = true;
            lvl.in_name = false;
            lvl.word.push(MARK);
            i = end;
            continue;
        }
        let c = b[i];
        let next_is_placeholder = placeholder_end(b, i + 1).is_some();
        // `\` escapes the next character, except that a placeholder is never skipped over:
        // it is looked at (and refused) where it stands.
        let escape = if next_is_placeholder { 1 } else { 2 };
        match lvl.frame {
            Frame::Single => {
                if c == b'\'' {
                    stack.pop();
                }
                i += 1;
            }
            Frame::Comment => {
                if c == b'\n' {
                    stack.pop();
                }
                i += 1;
            }
            Frame::Double => match c {
                b'\\' => i += escape,
                b'"' => {
                    stack.pop();
                    i += 1;
                }
                b'`' => {
                    stack.push(Level::new(Frame::Backtick));
                    i += 1;
                }
                b'$' => i += dollar(&mut stack, b, i, &name, &unclear)?,
                _ => i += 1,
            },
            Frame::Backtick => match c {
                b'\\' => i += escape,
                b'`' => {
                    stack.pop();
                    i += 1;
                }
                b'\'' | b'"' | b'#' => return Err(unclear("a quote or # inside backticks", i)),
                b'$' if matches!(b.get(i + 1), Some(b'(' | b'{')) => {
                    return Err(unclear("an expansion inside backticks", i));
                }
                _ => i += 1,
            },
            Frame::Param => match c {
                b'\\' => i += escape,
                b'}' => {
                    stack.pop();
                    i += 1;
                }
                b'\'' | b'"' => return Err(unclear("a quote inside ${...}", i)),
                b'{' => return Err(unclear("a `{` inside ${...}", i)),
                b'`' => {
                    stack.push(Level::new(Frame::Backtick));
                    i += 1;
                }
                b'$' => i += dollar(&mut stack, b, i, &name, &unclear)?,
                _ => i += 1,
            },
            Frame::Arith(depth) => match c {
                b'(' => {
                    lvl.frame = Frame::Arith(depth + 1);
                    i += 1;
                }
                b')' if depth > 0 => {
                    lvl.frame = Frame::Arith(depth - 1);
                    i += 1;
                }
                b')' if b.get(i + 1) == Some(&b')') => {
                    stack.pop();
                    i += 2;
                }
                b')' => return Err(unclear("a `)` that does not close $((...))", i)),
                b'\'' | b'"' | b'`' | b'\\' => {
                    return Err(unclear("a quote or backslash inside arithmetic", i));
                }
                b'$' => i += dollar(&mut stack, b, i, &name, &unclear)?,
                _ => i += 1,
            },
            Frame::Top | Frame::CmdSub | Frame::Group => {
                if let Some(k) = lvl.bare_before.take() {
                    if c == b'~' || c == b'(' {
                        out[k] = Quoting::Single;
                    } else if c == b'\\' && b.get(i + 1) == Some(&b'\n') {
                        lvl.bare_before = Some(k); // a joined line: look past it
                    }
                }
                match c {
                    _ if std::mem::take(&mut lvl.in_name)
                        && (c.is_ascii_alphanumeric() || c == b'_') =>
                    {
                        lvl.in_name = true;
                        lvl.word.push(c as char);
                        i += 1;
                    }
                    b'\\' if next_is_placeholder => {
                        return Err(format!(
                            "{} follows a backslash{}, which would escape the quote its value starts with; remove the backslash: values are quoted for you",
                            name(i + 1),
                            at(i)
                        ));
                    }
                    b'\\' => {
                        if b.get(i + 1) != Some(&b'\n') {
                            // (a backslash-newline joins lines and is not part of the word)
                            lvl.in_word = true;
                            lvl.word.push(MARK);
                        }
                        i += 2;
                    }
                    b'\'' | b'"' | b'`' => {
                        lvl.in_word = true;
                        lvl.word.push(MARK);
                        stack.push(Level::new(match c {
                            b'\'' => Frame::Single,
                            b'"' => Frame::Double,
                            _ => Frame::Backtick,
                        }));
                        i += 1;
                    }
                    b'$' => {
                        if b.get(i + 1) == Some(&b'\'') {
                            return Err(unclear("$'...' quoting", i));
                        }
                        lvl.in_word = true;
                        lvl.word.push(MARK);
                        let name_follows = matches!(b.get(i + 1), Some(n) if n.is_ascii_alphabetic() || *n == b'_');
                        let read = dollar(&mut stack, b, i, &name, &unclear)?;
                        if read == 1
                            && name_follows
                            && let Some(lvl) = stack.last_mut()
                        {
                            lvl.in_name = true;
                        }
                        i += read;
                    }
                    b'#' if !lvl.in_word => {
                        stack.push(Level::new(Frame::Comment));
                        i += 1;
                    }
                    b'~' if next_is_placeholder => {
                        return Err(format!(
                            "{} follows `~`{}, so the shell could read its value as a user name (~user); write the directory out instead",
                            name(i + 1),
                            at(i)
                        ));
                    }
                    b'(' => {
                        let arith = !lvl.in_word && b.get(i + 1) == Some(&b'(');
                        end_word(&mut stack, i, &unclear)?;
                        if arith {
                            stack.push(Level::new(Frame::Arith(0)));
                            i += 2;
                        } else {
                            stack.push(Level::new(Frame::Group));
                            i += 1;
                        }
                    }
                    b')' => {
                        end_word(&mut stack, i, &unclear)?;
                        // Inside a frame a `)` closes it; at the top it can only end a case
                        // pattern (anything else is a syntax error, refused here).
                        if stack.len() > 1 {
                            stack.pop();
                        } else if !stack[0].saw_case {
                            return Err(format!(
                                "a `)` that closes nothing{}: the shell would not run this command",
                                at(i)
                            ));
                        }
                        i += 1;
                    }
                    b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b'<' | b'>' => {
                        end_word(&mut stack, i, &unclear)?;
                        i += 1;
                    }
                    b'=' => {
                        lvl.in_word = true;
                        lvl.after_eq = true;
                        lvl.word.push('=');
                        i += 1;
                    }
                    _ => {
                        lvl.in_word = true;
                        lvl.word.push(c as char);
                        i += 1;
                    }
                }
            }
        }
    }
    // A comment may run to the end; anything else still open is a script sh refuses.
    if stack.last().map(|l| l.frame) == Some(Frame::Comment) {
        stack.pop();
    }
    end_word(&mut stack, b.len(), &unclear)?;
    match stack.last().map(|l| l.frame) {
        Some(Frame::Top) | None => Ok(out),
        Some(f) => Err(format!(
            "the command ends inside {}, so the shell would not run it",
            if f.is_plain() {
                "an unclosed `(`"
            } else {
                f.describe()
            }
        )),
    }
}

/// A word ends in a plain frame. `case` inside parentheses is refused: its patterns end
/// with a lone `)` that this lexer would take for the end of the parentheses.
fn end_word(
    stack: &mut [Level],
    i: usize,
    unclear: &dyn Fn(&str, usize) -> String,
) -> Result<(), String> {
    let nested = stack.len() > 1;
    let Some(lvl) = stack.last_mut() else {
        return Ok(());
    };
    if lvl.frame.is_plain() && lvl.word == "case" {
        if nested {
            return Err(unclear("`case` inside parentheses or $(...)", i));
        }
        lvl.saw_case = true;
    }
    lvl.word.clear();
    lvl.in_word = false;
    lvl.after_eq = false;
    Ok(())
}

/// At a `$`: opens `$(`, `$((` or `${`; returns how many bytes were read.
fn dollar(
    stack: &mut Vec<Level>,
    b: &[u8],
    i: usize,
    name: &dyn Fn(usize) -> String,
    unclear: &dyn Fn(&str, usize) -> String,
) -> Result<usize, String> {
    if placeholder_end(b, i + 1).is_some() {
        return Err(format!(
            "{} follows `$`, so the shell would read its value as a variable name (or, in bash, as $'...' escapes); remove the `$`: values are quoted for you",
            name(i + 1)
        ));
    }
    match (b.get(i + 1), b.get(i + 2)) {
        (Some(b'('), Some(b'(')) => {
            stack.push(Level::new(Frame::Arith(0)));
            Ok(3)
        }
        (Some(b'('), _) => {
            stack.push(Level::new(Frame::CmdSub));
            Ok(2)
        }
        (Some(b'{'), _) => {
            stack.push(Level::new(Frame::Param));
            Ok(2)
        }
        (Some(b'['), _) => Err(unclear("bash's $[...] arithmetic", i)),
        _ => Ok(1),
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
        for (bad, why) in [
            ("echo '{{node}}'", "inside single quotes"),
            ("echo \"{{node}}\"", "inside double quotes"),
            ("echo `echo {{node}}`", "inside backticks"),
            ("echo \"$(echo \"{{node}}\")\"", "inside double quotes"),
            ("cat <<EOF\n{{node}}\nEOF", "here-document"),
            // The backslash used to make the checker skip the placeholder's first brace.
            ("echo \\{{node}}", "follows a backslash"),
            ("echo \"\\{{node}}\"", "inside double quotes"),
            ("echo ${{node}}", "follows `$`"),
            ("echo \"${{node}}\"", "follows `$`"),
            ("echo ~{{node}}", "follows `~`"),
            ("echo x # {{node}}", "inside a # comment"),
            ("echo ${x:-{{node}}}", "inside a ${...}"),
            ("echo $(( {{node}} + 1 ))", "inside arithmetic"),
            ("(( {{node}} ))", "inside arithmetic"),
            ("a[{{node}}]=1", "inside [...]"),
            ("echo {a,{{node}}}", "inside {...}"),
            ("echo $'\\'' {{node}}", "$'...' quoting"),
            ("x=$(case a in a) echo;; esac) {{node}}", "`case` inside"),
            ("echo `echo '`' {{node}}", "inside backticks"),
            ("echo {{node}} '", "ends inside single quotes"),
        ] {
            let err = Script::new(bad).check(&["node"]).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
        for good in [
            "echo {{node}}",
            "x=$(echo {{node}}) && echo \"$x\"",
            "echo \"$(echo {{node}})\"",
            "echo \\'{{node}}",
            "echo \\\\{{node}}",
            "echo \\${{node}}",
            "echo a#{{node}} # {{ not a placeholder in a comment without vars",
            "echo {{node}}{{node}} --x={{node}}:{{node}}",
            "case {{node}} in n1) echo one;; esac",
            "[ {{node}} = n1 ] && echo '#' && echo `hostname` {{node}}",
            "echo '$((' \"'\" {{node}} # it's",
        ] {
            // One `{{` in a comment without its `}}` is a syntax error: skip the template check.
            if good.contains("{{ not") {
                assert!(Script::new(good).check(&["node"]).is_err());
                continue;
            }
            Script::new(good)
                .check(&["node"])
                .unwrap_or_else(|e| panic!("{good}: {e}"));
        }
    }

    #[test]
    fn values_start_words_in_single_quotes_and_stay_readable_after_equals() {
        let v = vars(&[("v", "if"), ("ip", "10.0.0.1")]);
        assert_eq!(
            Script::new("{{v}} --peer=http://{{ip}}:2380 {{ip}}").render(&v),
            "'if' --peer=http://10.0.0.1:2380 '10.0.0.1'"
        );
    }

    #[test]
    fn unchecked_scripts_render_as_a_refusal() {
        let line = Script::new("echo \\{{v}}").render(&vars(&[("v", "x")]));
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&line)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(125), "{line}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("follows a backslash"),
            "{line}"
        );
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
