//! Jepsen EDN histories: a vector (or list) of op maps, or one op map per line.
//!
//! clojure-reader parses a 95 MB, million-op history in about 3 s and 1 GB of
//! memory, building a tree of sorted maps before a single op exists. Histories are
//! overwhelmingly one shape — a flat sequence of maps with keyword keys and
//! small values — so this module reads that shape directly from the text into
//! [`Op`]s, several times faster and with no intermediate tree.
//! The fast path reads every nested form itself; the few atoms it does not
//! parse (characters `\c`, ratios, radix and hex numbers, integers with
//! leading zeros) are handed to clojure-reader one token at a time. Nothing
//! nested ever reaches clojure-reader (whose set and map checks are
//! quadratic in depth), so reading is linear in the input and nesting is
//! bounded by [`ReadOptions::max_depth`](super::ReadOptions), also inside
//! `#_` discards and tags: hostile input fails fast with its line.
//!
//! Conversions: keywords and symbols become strings without their colon,
//! vectors, lists and sets become lists, tags are dropped (a tagged record
//! `#jepsen.history.Op{...}` reads as its map, `#inst "..."` as its string,
//! a namespaced map `#:ns{...}` as its map), ratios become floats, numbers
//! are exact (see `number.rs`: `12N` is an integer, `1.5M` a decimal,
//! integers beyond 64 bits big integers), `##Inf` `##-Inf` `##NaN` floats.
//! Maps keep their written order on the fast path; clojure-reader returns
//! them sorted by key.

use std::borrow::Cow;

use clojure_reader::edn::Edn;

use super::fields::{Atom, Notation, OpBuilder, render_value};
use super::{Chunk, LineError};
use crate::{Op, Value, number};

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
    /// Deeper values are refused rather than risk the stack.
    max_depth: usize,
    /// The longest op, in bytes.
    max_op: usize,
}

impl Parser {
    pub(crate) fn new(size_hint: usize, max_depth: usize, max_op: usize) -> Parser {
        // A compact Jepsen op takes ~60-110 bytes; reserve roughly, let it grow.
        let mut out = Parsed::with_capacity(size_hint / 128);
        out.split.reserve(size_hint / 128);
        Parser {
            out,
            mode: Mode::Start,
            ops_via_clojure_reader: false,
            max_depth,
            max_op,
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
        let mut r = Reader::new(chunk.text, chunk.line_base, self.max_depth);
        r.ops_via_clojure_reader = self.ops_via_clojure_reader;
        r.at_eof = chunk.at_eof;
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
            r.skip_ws(0)?;
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
            let start = r.pos;
            let (op, split) = r.op(self.out.ops.len() as u64)?;
            if r.pos - start > self.max_op {
                return r.err(start, super::op_too_long(self.max_op));
            }
            self.out.ops.push(op);
            self.out.lines.push(line);
            self.out.split.push(split);
        }
    }
}

/// Reads a whole EDN history held in memory.
#[cfg(test)]
pub(crate) fn read(text: &str) -> Result<Parsed, LineError> {
    read_with(
        Parser::new(
            text.len(),
            super::DEFAULT_MAX_DEPTH,
            super::DEFAULT_MAX_LINE_BYTES,
        ),
        text,
    )
}

/// Reads every op with clojure-reader instead of the fast path.
#[cfg(test)]
pub(crate) fn read_with_clojure_reader(text: &str) -> Result<Parsed, LineError> {
    read_with(
        Parser::new(
            text.len(),
            super::DEFAULT_MAX_DEPTH,
            super::DEFAULT_MAX_LINE_BYTES,
        )
        .via_clojure_reader(),
        text,
    )
}

#[cfg(test)]
fn read_with(mut p: Parser, text: &str) -> Result<Parsed, LineError> {
    p.feed(&Chunk::whole(text))?;
    Ok(p.out)
}

/// Reads one EDN value at the start of `text`; returns it and the bytes consumed.
pub(crate) fn read_value_prefix(text: &str, max_depth: usize) -> PResult<(Value, usize)> {
    let mut r = Reader::new(text, 1, max_depth);
    r.skip_ws(0)?;
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

#[derive(Clone)]
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
    max_depth: usize,
    /// `src` ends where the file does. Otherwise a token or comment that
    /// reaches the end of `src` may go on in the next chunk.
    at_eof: bool,
}

impl<'a> Reader<'a> {
    fn new(src: &'a str, line_base: usize, max_depth: usize) -> Reader<'a> {
        Reader {
            src,
            b: src.as_bytes(),
            pos: 0,
            line_base,
            line_pos: 0,
            line: line_base,
            ops_via_clojure_reader: false,
            max_depth,
            at_eof: true,
        }
    }

    /// A token ending at `end` might be cut by the chunk's end: read more.
    fn maybe_cut(&self, end: usize) -> bool {
        end == self.b.len() && !self.at_eof
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

    /// Skips whitespace, commas, `;` comments and `#_` discarded forms, which
    /// are read as values `depth` deep (where the skipped text is). A chain
    /// `#_ #_ a b` is counted, not recursed into.
    fn skip_ws(&mut self, depth: usize) -> PResult<()> {
        let mut discards = 0usize;
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\n' | b'\r' | b',' | b'\x0c' => self.pos += 1,
                b';' => match self.b[self.pos..].iter().position(|&c| c == b'\n') {
                    Some(n) => self.pos += n + 1,
                    None if !self.at_eof => {
                        return self.eof("expected the end of a comment");
                    }
                    None => self.pos = self.b.len(),
                },
                b'#' if self.peek_at(1) == Some(b'_') => {
                    self.pos += 2;
                    discards += 1;
                }
                _ if discards > 0 => {
                    self.value(depth)?;
                    discards -= 1;
                }
                _ => break,
            }
        }
        if discards > 0 {
            return self.eof("expected a form after `#_`, found the end of the file");
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

    /// [`token`](Self::token), or "read more" when the chunk's end may cut it.
    fn word(&mut self) -> PResult<&'a str> {
        let tok = self.token();
        if self.maybe_cut(self.pos) {
            return self.eof("expected the rest of a word, found the end of the file");
        }
        Ok(tok)
    }

    fn keyword(&mut self) -> PResult<&'a str> {
        let start = self.pos;
        self.pos += 1; // ':'
        let name = self.word()?;
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

    /// A number, exact (see `number.rs`); the rare forms the fast path does
    /// not parse (ratios, radix, hex, leading zeros) go to clojure-reader.
    fn number(&mut self) -> PResult<Value> {
        if let Some(i) = self.plain_int() {
            return Ok(Value::Int(i));
        }
        let start = self.pos;
        let tok = self.word()?;
        let digits = tok.trim_start_matches(['-', '+']);
        // Leading zeros are octal in Clojure: leave those to clojure-reader.
        let octal =
            digits.len() > 1 && digits.starts_with('0') && digits.as_bytes()[1].is_ascii_digit();
        let read = if let Some(int) = tok.strip_suffix('N') {
            // `12N` is a BigInt literal: an integer, big only when it must be.
            number::integer(int).map(Ok)
        } else if let Some(dec) = tok.strip_suffix('M') {
            number::decimal(dec)
        } else {
            number::any(tok)
        };
        match read {
            Some(Ok(v)) if !(octal && matches!(v, Value::Int(_) | Value::BigInt(_))) => Ok(v),
            Some(Err(msg)) => self.err(start, msg),
            _ => self.fallback_atom(start, self.pos),
        }
    }

    /// The common case of a number, in one pass: `-?[1-9][0-9]*` or `0`,
    /// fitting in an i64, followed by a token boundary (not the chunk's end,
    /// which may cut it). Anything else is left (unconsumed) to
    /// [`number`](Self::number)'s general path.
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
        if b.get(i).is_some_and(|&c| !BOUNDARY[c as usize]) || self.maybe_cut(i) {
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
            Some(c) if starts_number(c, self.peek_at(1)) => match self.number()? {
                Value::Int(i) => Ok(Atom::Int(i)),
                v => Ok(Atom::Value(v)),
            },
            Some(c) if !BOUNDARY[c as usize] && !b"#\\^'`~@".contains(&c) => {
                let start = self.pos;
                match self.word()? {
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
        if depth > self.max_depth {
            return self.err(
                self.pos,
                format!("expected values nested at most {} deep", self.max_depth),
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
                    self.skip_ws(depth + 1)?;
                    match self.peek() {
                        None => return self.unclosed(start, '}', "map"),
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(Value::Map(entries));
                        }
                        Some(_) => {}
                    }
                    let k = self.value(depth + 1)?;
                    self.skip_ws(depth + 1)?;
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
                Some(b'#') => self.symbolic_float(),
                None if !self.at_eof => self.eof("expected a form after `#`"),
                _ => {
                    let Some(namespaced) = self.tag() else {
                        if self.maybe_cut(start + 2) {
                            return self.eof("expected a tag after `#:`");
                        }
                        return self.err(
                            start,
                            format!(
                                "expected a set #{{...}}, a discard #_, a tag such as #inst or ##Inf after `#`, found {}",
                                self.snippet(start)
                            ),
                        );
                    };
                    // A tagged value: the tag is dropped (see the module doc).
                    self.skip_ws(depth + 1)?;
                    let at = self.pos;
                    let v = self.value(depth + 1)?;
                    if namespaced && !matches!(v, Value::Map(_)) {
                        return self.err(
                            at,
                            format!(
                                "expected a map after the namespace {}, found {}",
                                &self.src[start..at].trim_end(),
                                render_value(&v, Notation::Edn)
                            ),
                        );
                    }
                    Ok(v)
                }
            },
            b'"' => Ok(Value::Str(self.string()?.into())),
            b':' => Ok(Value::Str(self.keyword()?.into())),
            b']' | b'}' | b')' => self.err(
                start,
                format!("expected a value, found an unmatched `{}`", c as char),
            ),
            c if starts_number(c, self.peek_at(1)) => self.number(),
            b'\\' => self.character(),
            _ => match self.word()? {
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
            self.skip_ws(depth + 1)?;
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

    /// Skips a tag (`#inst`, `#jepsen.history.Op`, `#:ns`) at `#` and says
    /// whether it names a namespace (`#:ns`, which must tag a map); `None`
    /// (nothing skipped) when no tag starts here.
    fn tag(&mut self) -> Option<bool> {
        let namespaced = self.peek_at(1) == Some(b':');
        let name = self.pos + 1 + usize::from(namespaced);
        let first = self.src.get(name..)?.chars().next()?;
        if !first.is_alphabetic() {
            return None;
        }
        self.pos = name;
        self.token();
        Some(namespaced)
    }

    /// `##Inf`, `##-Inf`, `##NaN`.
    fn symbolic_float(&mut self) -> PResult<Value> {
        let start = self.pos;
        self.pos += 2;
        let name = self.word()?;
        match name {
            "Inf" => Ok(Value::Float(f64::INFINITY)),
            "-Inf" => Ok(Value::Float(f64::NEG_INFINITY)),
            "NaN" => Ok(Value::Float(f64::NAN)),
            _ => self.err(
                start,
                format!(
                    "expected ##Inf, ##-Inf or ##NaN, found {}",
                    self.snippet(start)
                ),
            ),
        }
    }

    /// A character literal such as `\a`, `\newline` or `\(`: the backslash,
    /// one character, then up to a space or delimiter (as clojure-reader
    /// delimits it).
    fn character(&mut self) -> PResult<Value> {
        let start = self.pos;
        let mut chars = self.src[start + 1..].char_indices();
        let mut end = match chars.next() {
            Some((_, c)) => start + 1 + c.len_utf8(),
            None => return self.fallback_atom(start, start + 1),
        };
        for (i, c) in chars {
            if c.is_whitespace() || ",]})(;[{".contains(c) {
                break;
            }
            end = start + 1 + i + c.len_utf8();
        }
        self.fallback_atom(start, end)
    }

    /// One atom `src[start..end]` (never a nested form) read by clojure-reader.
    fn fallback_atom(&mut self, start: usize, end: usize) -> PResult<Value> {
        if self.maybe_cut(end) {
            return self.eof("expected the rest of a value, found the end of the file");
        }
        match clojure_reader::edn::read(&self.src[start..end]) {
            Ok((edn, rest)) => {
                self.pos = end - rest.len();
                edn_to_value(&edn, 0, self.max_depth).map_err(|msg| perr(start, msg))
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
        if self.peek() == Some(b'#') && self.tag().is_some() {
            self.skip_ws(0)?;
        }
        match self.peek() {
            Some(b'{') => self.pos += 1,
            None if !self.at_eof => return self.eof("expected an op map"),
            // `#` or `#:` cut by the chunk's end: the tag is in the next one.
            Some(b'#') if self.pos + 2 >= self.b.len() && !self.at_eof => {
                return self.eof("expected a tag after `#`");
            }
            _ => return self.err(self.pos, not_an_op(&self.snippet(self.pos))),
        }
        let mut op = OpBuilder::default();
        loop {
            self.skip_ws(0)?;
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
            self.skip_ws(0)?;
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
            self.skip_ws(1)?;
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
                    self.skip_ws(1)?;
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
        // The fast path finds the op's end and checks its depth first, so
        // clojure-reader never sees more than one bounded op.
        let mut probe = self.clone();
        probe.ops_via_clojure_reader = false;
        probe.op(position)?;
        let end = probe.pos;
        let (edn, rest) = clojure_reader::edn::read(&self.src[start..end])
            .map_err(|e| self.clojure_error(start, &e))?;
        self.pos = end - rest.len();
        let depth = self.max_depth;
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
                    let a = edn_to_value(&pair[0], 1, depth).map_err(|msg| perr(start, msg))?;
                    let b = edn_to_value(&pair[1], 1, depth).map_err(|msg| perr(start, msg))?;
                    op.set_value_pair(Notation::Edn, a, b)
                        .map_err(|msg| perr(start, msg))?;
                    continue;
                }
                other => {
                    Atom::Value(edn_to_value(other, 0, depth).map_err(|msg| perr(start, msg))?)
                }
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
fn edn_to_value(edn: &Edn<'_>, depth: usize, max_depth: usize) -> Result<Value, String> {
    if depth > max_depth {
        return Err(format!("expected values nested at most {max_depth} deep"));
    }
    let inner = |e: &Edn<'_>| edn_to_value(e, depth + 1, max_depth);
    let list = |items: &mut dyn Iterator<Item = &Edn<'_>>| {
        items
            .map(inner)
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
                .map(|(k, v)| Ok((inner(k)?, inner(v)?)))
                .collect::<Result<_, String>>()?,
        ),
        Edn::Tagged(_, inner_value) => inner(inner_value)?,
        other => {
            return Err(format!(
                "expected a value splitbrain can represent, found {other}"
            ));
        }
    })
}
