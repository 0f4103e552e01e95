//! Jepsen EDN histories: a vector (or list) of op maps, or one op map per line.
//!
//! clojure-reader parses a 95 MB, million-op history in about 3 s and 1 GB of
//! memory, building a tree of sorted maps before a single op exists. Histories are
//! overwhelmingly one shape — a flat sequence of maps with keyword keys and
//! small values — so this module reads that shape directly from the text into
//! [`Op`]s, several times faster and with no intermediate tree.
//! Whatever the fast path does not recognize (characters `\c`, ratios, radix
//! and big numbers, `##Inf`, reader oddities) is handed, one value at a time,
//! to clojure-reader, which knows all of EDN, so nothing valid is refused.
//!
//! Conversions: keywords and symbols become strings without their colon,
//! vectors, lists and sets become lists, tags are dropped (a tagged record
//! `#jepsen.history.Op{...}` reads as its map, `#inst "..."` as its string),
//! ratios become floats. Maps keep their written order on the fast path;
//! clojure-reader returns them sorted by key.

use std::borrow::Cow;

use clojure_reader::edn::Edn;

use super::fields::{Atom, Notation, OpBuilder, render_value};
use super::{Chunk, LineError};
use crate::{Op, Value};

/// Ops read from a file, with the 1-based line each starts on.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    pub ops: Vec<Op>,
    pub lines: Vec<usize>,
    /// Per op (or empty for none): its `key` and `value` were split from a
    /// two-element value while reading, to be re-joined unless the history is
    /// independent (see `codec::split_independent`).
    pub split: Vec<bool>,
}

impl Parsed {
    pub(crate) fn with_capacity(ops: usize) -> Parsed {
        Parsed {
            ops: Vec::with_capacity(ops),
            lines: Vec::with_capacity(ops),
            split: Vec::new(),
        }
    }
}

/// A problem at byte offset `pos` of the text; `eof` when it is that the text
/// ended (which, before the real end of the file, means: read more).
#[derive(Debug)]
pub(crate) struct PErr {
    pub pos: usize,
    pub msg: String,
    pub eof: bool,
}

type PResult<T> = Result<T, PErr>;

/// Deeper values are refused rather than risk the stack.
const MAX_DEPTH: usize = 128;

/// Where the top level of the file is.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Nothing but blanks and comments yet.
    Start,
    /// Inside the history's `[` (or `(`), opened at `line`.
    Seq { close: u8, line: usize },
    /// A sequence of op maps, one per line or otherwise separated.
    Maps,
    /// After the history's closing bracket: only blanks and comments may follow.
    Closed { close: u8 },
}

/// Reads an EDN history chunk by chunk (see `codec::Chunk`).
pub(crate) struct Parser {
    pub(crate) out: Parsed,
    mode: Mode,
    ops_via_clojure_reader: bool,
}

impl Parser {
    pub(crate) fn new(size_hint: usize) -> Parser {
        // A compact Jepsen op takes ~60-110 bytes; reserve roughly, let it grow.
        let mut out = Parsed::with_capacity(size_hint / 128);
        out.split.reserve(size_hint / 128);
        Parser {
            out,
            mode: Mode::Start,
            ops_via_clojure_reader: false,
        }
    }

    /// Reads every op with clojure-reader instead of the fast path; tests
    /// check that both agree.
    #[cfg(test)]
    pub(crate) fn via_clojure_reader(mut self) -> Parser {
        self.ops_via_clojure_reader = true;
        self
    }

    /// Parses the complete ops at the start of `chunk`; returns how many bytes
    /// it consumed (all of them at the end of the file).
    pub(crate) fn feed(&mut self, chunk: &Chunk<'_>) -> Result<usize, LineError> {
        let mut r = Reader::new(chunk.text, chunk.line_base);
        r.ops_via_clojure_reader = self.ops_via_clojure_reader;
        let mut restart = 0;
        let result = self.run(&mut r, &mut restart);
        let e = match result {
            Ok(()) if !chunk.at_eof => return Ok(chunk.text.len()),
            Ok(()) => match self.mode {
                Mode::Seq { close, line } => PErr {
                    pos: chunk.text.len(),
                    msg: format!(
                        "expected `{}` to close the {} of ops opened at line {line}, found the end of the file (is the file truncated?)",
                        close as char,
                        if close == b']' { "vector" } else { "list" },
                    ),
                    eof: true,
                },
                _ => return Ok(chunk.text.len()),
            },
            Err(e) if e.eof && !chunk.at_eof => return Ok(restart),
            Err(e) => e,
        };
        Err(LineError {
            line: if e.eof {
                chunk.last_content_line
            } else {
                r.line_of(e.pos)
            },
            message: e.msg,
        })
    }

    fn run(&mut self, r: &mut Reader<'_>, restart: &mut usize) -> PResult<()> {
        loop {
            *restart = r.pos;
            r.skip_ws()?;
            let Some(c) = r.peek() else { return Ok(()) };
            match self.mode {
                Mode::Start => {
                    if let b'[' | b'(' = c {
                        let close = if c == b'[' { b']' } else { b')' };
                        self.mode = Mode::Seq {
                            close,
                            line: r.line_of(r.pos),
                        };
                        r.pos += 1;
                    } else {
                        self.mode = Mode::Maps;
                    }
                    continue;
                }
                Mode::Seq { close, .. } if c == close => {
                    r.pos += 1;
                    self.mode = Mode::Closed { close };
                    continue;
                }
                Mode::Closed { close } => {
                    return r.err(
                        r.pos,
                        format!(
                            "expected the end of the file after the history's closing `{}`, found {}",
                            close as char,
                            r.snippet(r.pos)
                        ),
                    );
                }
                Mode::Seq { .. } | Mode::Maps => {}
            }
            let line = r.line_here(r.pos);
            let (op, split) = r.op(self.out.ops.len() as u64)?;
            self.out.ops.push(op);
            self.out.lines.push(line);
            self.out.split.push(split);
        }
    }
}

/// Reads a whole EDN history held in memory.
#[cfg(test)]
pub(crate) fn read(text: &str) -> Result<Parsed, LineError> {
    read_with(Parser::new(text.len()), text)
}

/// Reads every op with clojure-reader instead of the fast path.
#[cfg(test)]
pub(crate) fn read_with_clojure_reader(text: &str) -> Result<Parsed, LineError> {
    read_with(Parser::new(text.len()).via_clojure_reader(), text)
}

#[cfg(test)]
fn read_with(mut p: Parser, text: &str) -> Result<Parsed, LineError> {
    p.feed(&Chunk::whole(text))?;
    Ok(p.out)
}

/// Reads one EDN value at the start of `text`; returns it and the bytes consumed.
pub(crate) fn read_value_prefix(text: &str) -> PResult<(Value, usize)> {
    let mut r = Reader::new(text, 1);
    r.skip_ws()?;
    let v = r.value(0)?;
    Ok((v, r.pos))
}

pub(crate) fn count_newlines(b: &[u8]) -> usize {
    // Byte-wide sums over fixed blocks vectorize well; a plain
    // `filter().count()` widens every byte to 64 bits and is several times slower.
    let mut blocks = b.chunks_exact(16);
    let mut n = 0;
    for block in &mut blocks {
        n += usize::from(block.iter().map(|&c| u8::from(c == b'\n')).sum::<u8>());
    }
    n + blocks.remainder().iter().filter(|&&c| c == b'\n').count()
}

/// Bytes that end a token: whitespace, commas, delimiters, quotes, comments.
const fn boundary_table() -> [bool; 256] {
    let mut t = [false; 256];
    let chars = b" \t\n\r\x0c,\";()[]{}";
    let mut i = 0;
    while i < chars.len() {
        t[chars[i] as usize] = true;
        i += 1;
    }
    t
}
static BOUNDARY: [bool; 256] = boundary_table();

struct Reader<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    /// The line `src` starts on.
    line_base: usize,
    /// Incremental line counting for op starts, which only move forward.
    line_pos: usize,
    line: usize,
    ops_via_clojure_reader: bool,
}

impl<'a> Reader<'a> {
    fn new(src: &'a str, line_base: usize) -> Reader<'a> {
        Reader {
            src,
            b: src.as_bytes(),
            pos: 0,
            line_base,
            line_pos: 0,
            line: line_base,
            ops_via_clojure_reader: false,
        }
    }

    /// The line of byte offset `pos`.
    fn line_of(&self, pos: usize) -> usize {
        self.line_base + count_newlines(&self.b[..pos.min(self.b.len())])
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.b.get(self.pos + ahead).copied()
    }

    fn err<T>(&self, pos: usize, msg: impl Into<String>) -> PResult<T> {
        Err(PErr {
            pos,
            msg: msg.into(),
            eof: false,
        })
    }

    /// The text ended where more was expected.
    fn eof<T>(&self, msg: impl Into<String>) -> PResult<T> {
        Err(PErr {
            pos: self.b.len(),
            msg: msg.into(),
            eof: true,
        })
    }

    fn line_here(&mut self, pos: usize) -> usize {
        self.line += count_newlines(&self.b[self.line_pos..pos]);
        self.line_pos = pos;
        self.line
    }

    /// A short piece of source at `pos`, for "found ..." in messages.
    fn snippet(&self, pos: usize) -> String {
        let rest = &self.src[pos..];
        let line = rest.lines().next().unwrap_or("").trim_end();
        let mut end = line.len().min(40);
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        if end < line.len() {
            format!("`{}…`", &line[..end])
        } else {
            format!("`{line}`")
        }
    }

    /// Skips whitespace, commas, `;` comments and `#_` discarded forms.
    fn skip_ws(&mut self) -> PResult<()> {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\n' | b'\r' | b',' | b'\x0c' => self.pos += 1,
                b';' => match self.b[self.pos..].iter().position(|&c| c == b'\n') {
                    Some(n) => self.pos += n + 1,
                    None => self.pos = self.b.len(),
                },
                b'#' if self.peek_at(1) == Some(b'_') => {
                    self.pos += 2;
                    self.skip_ws()?;
                    if self.pos == self.b.len() {
                        return self.eof("expected a form after `#_`, found the end of the file");
                    }
                    self.value(0)?;
                }
                _ => break,
            }
        }
        Ok(())
    }

    /// Advances over a token (symbol, keyword body, number) and returns it.
    fn token(&mut self) -> &'a str {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if BOUNDARY[c as usize] {
                break;
            }
            self.pos += 1;
        }
        // Boundaries are ASCII, so this slices on character boundaries.
        &self.src[start..self.pos]
    }

    fn keyword(&mut self) -> PResult<&'a str> {
        let start = self.pos;
        self.pos += 1; // ':'
        let name = self.token();
        if name.is_empty() || name.starts_with(':') {
            return self.err(
                start,
                format!(
                    "expected a keyword such as :read, found {}",
                    self.snippet(start)
                ),
            );
        }
        Ok(name)
    }

    fn string(&mut self) -> PResult<Cow<'a, str>> {
        let start = self.pos;
        self.pos += 1; // '"'
        let body = self.pos;
        let unterminated = |r: &Self| {
            r.eof(format!(
                "expected `\"` to close the string opened at line {}, found the end of the file",
                r.line_of(start)
            ))
        };
        let Some(n) = self.b[body..].iter().position(|&c| c == b'"' || c == b'\\') else {
            return unterminated(self);
        };
        if self.b[body + n] == b'"' {
            self.pos = body + n + 1;
            return Ok(Cow::Borrowed(&self.src[body..body + n]));
        }
        // Escapes: decode into an owned string.
        let mut s = String::with_capacity(n + 16);
        let mut i = body;
        loop {
            let Some(n) = self.b[i..].iter().position(|&c| c == b'"' || c == b'\\') else {
                return unterminated(self);
            };
            s.push_str(&self.src[i..i + n]);
            i += n;
            if self.b[i] == b'"' {
                self.pos = i + 1;
                return Ok(Cow::Owned(s));
            }
            let esc = self.b.get(i + 1).copied();
            i += 2;
            match esc {
                Some(b'"') => s.push('"'),
                Some(b'\\') => s.push('\\'),
                Some(b'n') => s.push('\n'),
                Some(b't') => s.push('\t'),
                Some(b'r') => s.push('\r'),
                Some(b'b') => s.push('\u{8}'),
                Some(b'f') => s.push('\u{c}'),
                Some(b'u') => {
                    let hex = self.src.get(i..i + 4).unwrap_or("");
                    match u32::from_str_radix(hex, 16).ok().and_then(char::from_u32) {
                        Some(ch) if hex.len() == 4 => s.push(ch),
                        _ => {
                            return self.err(
                                i - 2,
                                "expected 4 hex digits of a character after `\\u` in a string",
                            );
                        }
                    }
                    i += 4;
                }
                None => return unterminated(self),
                Some(_) => {
                    return self.err(
                        i - 2,
                        format!(
                            "expected an escape such as \\n, \\t, \\\" or \\\\ in a string, found {}",
                            self.snippet(i - 2)
                        ),
                    );
                }
            }
        }
    }

    /// A number on the fast path, else whatever clojure-reader makes of it.
    fn number(&mut self, depth: usize) -> PResult<Value> {
        if let Some(i) = self.plain_int() {
            return Ok(Value::Int(i));
        }
        let start = self.pos;
        let tok = self.token();
        let digits = tok.trim_start_matches(['-', '+']);
        // Leading zeros are octal in Clojure: leave those to clojure-reader.
        let octal =
            digits.len() > 1 && digits.starts_with('0') && digits.as_bytes()[1].is_ascii_digit();
        if !octal {
            // `12N` is a BigInt literal; it reads as an integer when it fits.
            let int = tok.strip_suffix('N').unwrap_or(tok);
            if let Ok(i) = int.parse::<i64>() {
                return Ok(Value::Int(i));
            }
            if int.len() > 1 && int.bytes().skip(1).all(|c| c.is_ascii_digit()) {
                return self.err(
                    start,
                    format!("expected an integer that fits in 64 bits, found {tok}"),
                );
            }
            let float = tok.strip_suffix('M').unwrap_or(tok);
            if float.contains(['.', 'e', 'E'])
                && float
                    .bytes()
                    .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'-' | b'+'))
                && let Ok(x) = float.parse::<f64>()
            {
                return Ok(Value::Float(x));
            }
        }
        self.pos = start;
        self.fallback(depth)
    }

    /// The common case of a number, in one pass: `-?[1-9][0-9]*` or `0`,
    /// fitting in an i64, followed by a token boundary. Anything else is left
    /// (unconsumed) to [`number`](Self::number)'s general path.
    fn plain_int(&mut self) -> Option<i64> {
        let b = self.b;
        let mut i = self.pos;
        let neg = b.get(i) == Some(&b'-');
        if neg || b.get(i) == Some(&b'+') {
            i += 1;
        }
        let digits = i;
        let mut n: u64 = 0;
        while let Some(&c) = b.get(i) {
            if !c.is_ascii_digit() {
                break;
            }
            n = n.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
            i += 1;
        }
        let len = i - digits;
        if len == 0 || (len > 1 && b[digits] == b'0') {
            return None;
        }
        if b.get(i).is_some_and(|&c| !BOUNDARY[c as usize]) {
            return None;
        }
        let v = if neg {
            if n > i64::MAX as u64 + 1 {
                return None;
            }
            (n as i64).wrapping_neg()
        } else {
            i64::try_from(n).ok()?
        };
        self.pos = i;
        Some(v)
    }

    /// A map value, lightly typed (see [`Atom`]).
    fn atom(&mut self) -> PResult<Atom<'a>> {
        match self.peek() {
            Some(b':') => Ok(Atom::Keyword(self.keyword()?)),
            Some(b'"') => Ok(Atom::Str(self.string()?)),
            Some(c) if starts_number(c, self.peek_at(1)) => match self.number(0)? {
                Value::Int(i) => Ok(Atom::Int(i)),
                v => Ok(Atom::Value(v)),
            },
            Some(c) if !BOUNDARY[c as usize] && !b"#\\^'`~@".contains(&c) => {
                let start = self.pos;
                match self.token() {
                    "nil" => Ok(Atom::Value(Value::Nil)),
                    "true" => Ok(Atom::Value(Value::Bool(true))),
                    "false" => Ok(Atom::Value(Value::Bool(false))),
                    tok if !tok.is_empty() => Ok(Atom::Symbol(tok)),
                    _ => self.err(start, "expected a value"),
                }
            }
            _ => Ok(Atom::Value(self.value(0)?)),
        }
    }

    /// Any EDN value. The caller has skipped whitespace.
    fn value(&mut self, depth: usize) -> PResult<Value> {
        if depth > MAX_DEPTH {
            return self.err(
                self.pos,
                format!("expected values nested at most {MAX_DEPTH} deep"),
            );
        }
        let start = self.pos;
        let Some(c) = self.peek() else {
            return self
                .eof("expected a value, found the end of the file (is the file truncated?)");
        };
        match c {
            b'{' => {
                self.pos += 1;
                let mut entries = Vec::new();
                loop {
                    self.skip_ws()?;
                    match self.peek() {
                        None => return self.unclosed(start, '}', "map"),
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(Value::Map(entries));
                        }
                        Some(_) => {}
                    }
                    let k = self.value(depth + 1)?;
                    self.skip_ws()?;
                    match self.peek() {
                        None => return self.unclosed(start, '}', "map"),
                        Some(b'}') => {
                            return self.err(
                                self.pos,
                                format!(
                                    "expected a value for the map key {}, found `}}`",
                                    render_value(&k, Notation::Edn)
                                ),
                            );
                        }
                        Some(_) => {}
                    }
                    let v = self.value(depth + 1)?;
                    entries.push((k, v));
                }
            }
            b'[' => self.seq(depth, b']', "vector"),
            b'(' => self.seq(depth, b')', "list"),
            b'#' => match self.peek_at(1) {
                Some(b'{') => {
                    self.pos += 1;
                    self.seq(depth, b'}', "set")
                }
                Some(c) if c.is_ascii_alphabetic() => {
                    // A tagged value: the tag is dropped (see the module doc).
                    self.pos += 1;
                    self.token();
                    self.skip_ws()?;
                    self.value(depth + 1)
                }
                _ => self.fallback(depth),
            },
            b'"' => Ok(Value::Str(self.string()?.into())),
            b':' => Ok(Value::Str(self.keyword()?.into())),
            b']' | b'}' | b')' => self.err(
                start,
                format!("expected a value, found an unmatched `{}`", c as char),
            ),
            c if starts_number(c, self.peek_at(1)) => self.number(depth),
            b'\\' | b'^' | b'\'' | b'`' | b'~' | b'@' => self.fallback(depth),
            _ => match self.token() {
                "nil" => Ok(Value::Nil),
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                "" => self.err(
                    start,
                    format!("expected a value, found {}", self.snippet(start)),
                ),
                sym => Ok(Value::Str(sym.into())),
            },
        }
    }

    fn seq(&mut self, depth: usize, close: u8, what: &str) -> PResult<Value> {
        let start = self.pos;
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.skip_ws()?;
            match self.peek() {
                None => return self.unclosed(start, close as char, what),
                Some(c) if c == close => {
                    self.pos += 1;
                    return Ok(Value::List(items));
                }
                Some(_) => items.push(self.value(depth + 1)?),
            }
        }
    }

    fn unclosed<T>(&self, start: usize, close: char, what: &str) -> PResult<T> {
        self.eof(format!(
            "expected `{close}` to close the {what} opened at line {}, found the end of the file (is the file truncated?)",
            self.line_of(start)
        ))
    }

    /// One value read by clojure-reader.
    fn fallback(&mut self, depth: usize) -> PResult<Value> {
        let start = self.pos;
        match clojure_reader::edn::read(&self.src[start..]) {
            Ok((edn, rest)) => {
                self.pos = self.src.len() - rest.len();
                edn_to_value(&edn, depth).map_err(|msg| perr(start, msg))
            }
            Err(e) => Err(self.clojure_error(start, &e)),
        }
    }

    fn clojure_error(&self, start: usize, e: &clojure_reader::error::Error) -> PErr {
        use clojure_reader::error::Code;
        let eof = e.code == Code::UnexpectedEOF;
        let pos = e.ptr.map_or(self.b.len(), |p| start + p);
        let msg = match &e.code {
            Code::UnexpectedEOF => {
                "expected more EDN, found the end of the file (is the file truncated?)".to_string()
            }
            Code::UnmatchedDelimiter(c) => format!("found an unmatched `{c}`"),
            Code::InvalidNumber => format!("expected a number, found {}", self.snippet(start)),
            Code::InvalidKeyword => format!("expected a keyword, found {}", self.snippet(start)),
            Code::InvalidEscape => "expected a valid escape in a string".to_string(),
            Code::InvalidTag => format!("expected a valid tag, found {}", self.snippet(start)),
            Code::HashMapDuplicateKey => "a map has the same key twice".to_string(),
            Code::SetDuplicateKey => "a set has the same element twice".to_string(),
            Code::InvalidRadix(_) => format!(
                "expected a valid radix number, found {}",
                self.snippet(start)
            ),
            Code::InvalidChar => {
                format!("expected a valid EDN value, found {}", self.snippet(start))
            }
            other => format!(
                "expected valid EDN ({other:?}), found {}",
                self.snippet(start)
            ),
        };
        PErr { pos, msg, eof }
    }

    /// One op: `{...}` or a tagged record `#jepsen.history.Op{...}`.
    /// One op, and whether its `key`/`value` are a split pair (see
    /// [`OpBuilder::set_value_pair`]).
    fn op(&mut self, position: u64) -> PResult<(Op, bool)> {
        if self.ops_via_clojure_reader {
            return self.op_via_clojure_reader(position);
        }
        let start = self.pos;
        if self.peek() == Some(b'#') && self.peek_at(1).is_some_and(|c| c.is_ascii_alphabetic()) {
            self.pos += 1;
            self.token();
            self.skip_ws()?;
        }
        if self.peek() != Some(b'{') {
            return self.err(self.pos, not_an_op(&self.snippet(self.pos)));
        }
        self.pos += 1;
        let mut op = OpBuilder::default();
        loop {
            self.skip_ws()?;
            let key_pos = self.pos;
            let key: Cow<'a, str> = match self.peek() {
                None => {
                    return self.eof(format!(
                        "expected `}}` to close the op map opened at line {}, found the end of the file (is the file truncated?)",
                        self.line_of(start)
                    ));
                }
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                Some(b':') => Cow::Borrowed(self.keyword()?),
                Some(b'"') => self.string()?,
                Some(_) => {
                    return self.err(
                        key_pos,
                        format!(
                            "expected a keyword key such as :type in the op map, found {}",
                            self.snippet(key_pos)
                        ),
                    );
                }
            };
            self.skip_ws()?;
            match self.peek() {
                None => {
                    return self.eof(format!(
                        "expected a value for :{key}, found the end of the file (is the file truncated?)"
                    ));
                }
                Some(b'}') => {
                    return self.err(self.pos, format!("expected a value for :{key}, found `}}`"));
                }
                Some(_) => {}
            }
            let value_pos = self.pos;
            let set = match self.peek() {
                // Most values of independent histories are `[key value]`:
                // read pairs without allocating a list.
                Some(open @ (b'[' | b'(')) if key.as_bytes() == *b"value" => {
                    match self.pair(open)? {
                        Ok((a, b)) => op.set_value_pair(Notation::Edn, a, b),
                        Err(list) => op.set(Notation::Edn, &key, Atom::Value(list)),
                    }
                }
                _ => {
                    let atom = self.atom()?;
                    op.set(Notation::Edn, &key, atom)
                }
            };
            set.map_err(|msg| perr(value_pos, msg))?;
        }
        op.finish(Notation::Edn, position)
            .map_err(|msg| perr(start, msg))
    }

    /// A vector or list: `Ok` the two elements if it has exactly two, else `Err` the list.
    fn pair(&mut self, open: u8) -> PResult<Result<(Value, Value), Value>> {
        let start = self.pos;
        let (close, what) = if open == b'[' {
            (b']', "vector")
        } else {
            (b')', "list")
        };
        self.pos += 1;
        let mut first = None;
        loop {
            self.skip_ws()?;
            match self.peek() {
                None => return self.unclosed(start, close as char, what),
                Some(c) if c == close => {
                    self.pos += 1;
                    return Ok(Err(Value::List(first.into_iter().collect())));
                }
                Some(_) => {}
            }
            let v = self.value(1)?;
            match first.take() {
                None => first = Some(v),
                Some(a) => {
                    self.skip_ws()?;
                    if self.peek() == Some(close) {
                        self.pos += 1;
                        return Ok(Ok((a, v)));
                    }
                    // Longer: read the rest as a list.
                    self.pos = start;
                    return self.seq(0, close, what).map(Err);
                }
            }
        }
    }

    fn op_via_clojure_reader(&mut self, position: u64) -> PResult<(Op, bool)> {
        let start = self.pos;
        let (edn, rest) = clojure_reader::edn::read(&self.src[start..])
            .map_err(|e| self.clojure_error(start, &e))?;
        self.pos = self.src.len() - rest.len();
        let map = match &edn {
            Edn::Map(m) => m,
            Edn::Tagged(_, inner) => match &**inner {
                Edn::Map(m) => m,
                _ => return self.err(start, not_an_op(&self.snippet(start))),
            },
            _ => return self.err(start, not_an_op(&self.snippet(start))),
        };
        let mut op = OpBuilder::default();
        for (k, v) in map {
            let key = match k {
                Edn::Key(k) | Edn::Str(k) => &**k,
                _ => {
                    return self.err(start, "expected keyword keys such as :type in the op map");
                }
            };
            let atom = match v {
                Edn::Key(s) => Atom::Keyword(s),
                Edn::Symbol(s) => match &**s {
                    "nil" => Atom::Value(Value::Nil),
                    _ => Atom::Symbol(s),
                },
                Edn::Str(s) => Atom::Str(Cow::Borrowed(s)),
                Edn::Int(i) => Atom::Int(*i),
                Edn::Vector(pair) | Edn::List(pair) if key == "value" && pair.len() == 2 => {
                    let a = edn_to_value(&pair[0], 1).map_err(|msg| perr(start, msg))?;
                    let b = edn_to_value(&pair[1], 1).map_err(|msg| perr(start, msg))?;
                    op.set_value_pair(Notation::Edn, a, b)
                        .map_err(|msg| perr(start, msg))?;
                    continue;
                }
                other => Atom::Value(edn_to_value(other, 0).map_err(|msg| perr(start, msg))?),
            };
            op.set(Notation::Edn, key, atom)
                .map_err(|msg| perr(start, msg))?;
        }
        op.finish(Notation::Edn, position)
            .map_err(|msg| perr(start, msg))
    }
}

fn perr(pos: usize, msg: String) -> PErr {
    PErr {
        pos,
        msg,
        eof: false,
    }
}

fn starts_number(c: u8, next: Option<u8>) -> bool {
    c.is_ascii_digit() || (matches!(c, b'-' | b'+') && next.is_some_and(|n| n.is_ascii_digit()))
}

fn not_an_op(found: &str) -> String {
    format!(
        "expected an op map such as {{:type :invoke, :f :read, :process 0, :value nil}}, found {found}"
    )
}

/// Converts clojure-reader's tree to a [`Value`] (see the module doc).
fn edn_to_value(edn: &Edn<'_>, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err(format!("expected values nested at most {MAX_DEPTH} deep"));
    }
    let list = |items: &mut dyn Iterator<Item = &Edn<'_>>| {
        items
            .map(|e| edn_to_value(e, depth + 1))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::List)
    };
    Ok(match edn {
        Edn::Nil => Value::Nil,
        Edn::Bool(b) => Value::Bool(*b),
        Edn::Int(i) => Value::Int(*i),
        Edn::Double(x) => Value::Float(x.into_inner()),
        Edn::Rational((n, d)) => Value::Float(*n as f64 / *d as f64),
        Edn::Key(s) | Edn::Symbol(s) | Edn::Str(s) => Value::Str((**s).into()),
        Edn::Char(c) => Value::Str(c.to_string().into()),
        Edn::Vector(v) | Edn::List(v) => list(&mut v.iter())?,
        Edn::Set(s) => list(&mut s.iter())?,
        Edn::Map(m) => Value::Map(
            m.iter()
                .map(|(k, v)| Ok((edn_to_value(k, depth + 1)?, edn_to_value(v, depth + 1)?)))
                .collect::<Result<_, String>>()?,
        ),
        Edn::Tagged(_, inner) => edn_to_value(inner, depth + 1)?,
        other => {
            return Err(format!(
                "expected a value splitbrain can represent, found {other}"
            ));
        }
    })
}
