//! Jepsen log lines (`\t` below stands for a tab): the ops Jepsen's `jepsen.util/log-op` writes to
//! `jepsen.log`, one per line, among all other log output:
//!
//! ```text
//! INFO  jepsen.util - 3\t:invoke\t:cas\t[3 0]
//! 2017-03-21 15:00:00,123{GMT}\tINFO\t[jepsen worker 3] jepsen.util: 3\t:ok\t:cas\t[3 0]
//! INFO  jepsen.util - :nemesis\t:info\t:start\tnil
//! INFO  jepsen.util - 4\t:fail\t:read\tnil\t:timeout
//! ```
//!
//! Fields are tab-separated: process, type, f, value (EDN) and an optional
//! error (EDN when it parses as one value, else kept as text, since Jepsen
//! prints it with `str`). Jepsen's `history.txt` (the same fields without a
//! log prefix) reads too. A line is an op line when, after an optional prefix
//! ending in `jepsen.util -` or `jepsen.util:`, its second tab-separated field
//! starts with `:`; other lines are log output and are skipped. An op line that
//! does not parse is an error naming its line. Log lines carry wall-clock
//! times only, so ops read from them have no `time`.

use super::edn::{Parsed, read_value_prefix};
use super::fields::{Atom, Notation, OpBuilder};
use super::{Chunk, LineError, line_too_long};
use crate::{Op, Value, number};

const MARKER: &str = "jepsen.util";

/// The op part of a log line, if the line is an op line.
pub(crate) fn op_part(line: &str) -> Option<&str> {
    let rest = match line.find(MARKER) {
        Some(i) => {
            let after = line[i + MARKER.len()..].trim_start_matches(' ');
            let after = after.strip_prefix(['-', ':'])?;
            after.trim_start_matches(' ')
        }
        None => line,
    };
    let mut fields = rest.split('\t');
    let first = fields.next()?;
    let second = fields.next()?;
    (!first.trim().is_empty() && second.starts_with(':')).then_some(rest)
}

/// Reads log lines chunk by chunk.
pub(crate) struct Parser {
    pub(crate) out: Parsed,
    pub(crate) warnings: Vec<(usize, String)>,
    allow_truncated_tail: bool,
    max_depth: usize,
    max_line: usize,
}

impl Parser {
    pub(crate) fn new(allow_truncated_tail: bool, max_depth: usize, max_line: usize) -> Parser {
        Parser {
            out: Parsed::default(),
            warnings: Vec::new(),
            allow_truncated_tail,
            max_depth,
            max_line,
        }
    }

    pub(crate) fn feed(&mut self, chunk: &Chunk<'_>) -> Result<usize, LineError> {
        for (line_no, line, has_newline) in chunk.lines() {
            if line.len() > self.max_line {
                return Err(line_too_long(line_no, self.max_line));
            }
            let line = line.strip_suffix('\r').unwrap_or(line);
            let Some(part) = op_part(line) else { continue };
            match parse_op(part, self.out.ops.len() as u64, self.max_depth) {
                Ok(op) => {
                    self.out.ops.push(op);
                    self.out.lines.push(line_no);
                }
                Err(message) if self.allow_truncated_tail && !has_newline => {
                    self.warnings.push((
                        line_no,
                        format!(
                            "the last line is cut off ({message}); dropped it and read the {} ops before it",
                            self.out.ops.len()
                        ),
                    ));
                }
                Err(message) => {
                    return Err(LineError {
                        line: line_no,
                        message,
                    });
                }
            }
        }
        Ok(chunk.text.len())
    }
}

/// Parses `PROCESS\t:TYPE\t:F\tVALUE[\tERROR]`.
fn parse_op(part: &str, position: u64, max_depth: usize) -> Result<Op, String> {
    let mut op = OpBuilder::default();
    let mut fields = part.splitn(4, '\t');
    let process = fields.next().unwrap_or("").trim();
    let kind = fields.next().unwrap_or("").trim();
    op.set(Notation::Edn, "process", token_atom(process))?;
    op.set(Notation::Edn, "type", token_atom(kind))?;
    let Some(f) = fields.next().map(str::trim).filter(|f| !f.is_empty()) else {
        return Err(format!(
            "expected a tab and the op's function (such as :read) after {kind}, found the end of the line"
        ));
    };
    op.set(Notation::Edn, "f", token_atom(f))?;
    let rest = fields.next().unwrap_or("");
    if !rest.trim().is_empty() {
        let (value, used) = read_value_prefix(rest, max_depth)
            .map_err(|e| format!("in the op's value: {}", e.msg))?;
        op.set(Notation::Edn, "value", Atom::Value(value))?;
        let after = rest[used..].trim_start_matches(' ');
        if let Some(error) = after.strip_prefix('\t') {
            let error = error.trim();
            if !error.is_empty() {
                op.set(
                    Notation::Edn,
                    "error",
                    Atom::Value(parse_error(error, max_depth)),
                )?;
            }
        } else if !after.trim().is_empty() {
            return Err(format!(
                "expected a tab and the op's error after its value, found `{}`",
                after.trim()
            ));
        }
    }
    op.finish(Notation::Edn, position).map(|(op, _)| op)
}

/// A field such as `3`, `:invoke`, `:read` (or `"1"`, which a process must not be).
fn token_atom(tok: &str) -> Atom<'_> {
    if let Some(k) = tok.strip_prefix(':').filter(|k| !k.is_empty()) {
        return Atom::Keyword(k);
    }
    if let Some(s) = tok
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .filter(|s| !s.contains(['"', '\\']))
    {
        return Atom::Str(s.into());
    }
    match number::integer(tok) {
        Some(Value::Int(i)) => Atom::Int(i),
        Some(big) => Atom::Value(big),
        None => Atom::Symbol(tok),
    }
}

/// Jepsen prints the error with `str`: EDN for keywords and vectors, bare text
/// for strings and exceptions.
fn parse_error(text: &str, max_depth: usize) -> Value {
    match read_value_prefix(text, max_depth) {
        Ok((v, used)) if text[used..].trim().is_empty() => v,
        _ => Value::Str(text.into()),
    }
}
