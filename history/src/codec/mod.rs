//! Reading and writing histories.
//!
//! | format | [`Format`] | detected by |
//! | --- | --- | --- |
//! | JSON Lines, native: one op object per line, appendable, streamable | `jsonl` (`json`) | `.jsonl`, `.ndjson`, `.json`; or text starting with `{"` |
//! | Jepsen EDN: a vector or list of op maps, or one map per line | `edn` | `.edn`; or text starting with `[`, `(`, `;`, `#` or `{:` |
//! | Jepsen log lines (`jepsen.log`, `history.txt`) | `jepsen-log` (`log`) | `.log`; or a line such as `INFO  jepsen.util - 3\t:invoke\t:read\tnil` |
//!
//! [`detect_format`] looks at the extension first, then at the content;
//! [`ReadOptions::format`] (`--format`) overrides both. Each reader yields ops
//! in file order with the line each came from; ops without an index get their
//! position. Then [`History::with_lines`] pairs and validates them, and its
//! errors name the source line.
//!
//! Every problem is a [`ReadError`] naming the file, the line and what was
//! expected: `h.edn:12: expected :type to be one of :invoke :ok :fail :info, found :foo`.
//! Nothing panics on bad input.
//!
//! ## Multi-key (independent) histories
//! An op belongs to a key when it has a `key` field (the native form), or when
//! its value is a Jepsen independent tuple `[key value]`, which is split into
//! `key` and `value`. Tuples are split when [`ReadOptions::independent`] is
//! `Some(true)` (then every client op without a `key` must hold a tuple), never
//! when `Some(false)`, and when `None` only if all of these hold:
//! - no op has a `key` field already;
//! - every client op's value (invocations and completions) is a 2-element list;
//! - at least one client op has `f` = `read`.
//!
//! The last condition keeps a plain cas-register (`:cas [old new]`) from
//! being mistaken for tuples: its reads carry `nil` or a scalar, never a pair.
//! A history whose reads legitimately return pairs needs `independent: Some(false)`;
//! an independent history without reads (e.g. `txn`) needs `Some(true)`.
//!
//! ## A history cut short
//! The test runner streams ops to disk with [`JsonlWriter`], so a controller
//! killed mid-test leaves a JSON Lines file whose last line may be cut
//! mid-object. Reading is strict by default (that line is an error); with
//! [`ReadOptions::allow_truncated_tail`] the cut line is dropped and reported
//! in [`Loaded::warnings`]. Only a last line without a newline whose JSON ends
//! early counts as cut; any other bad line is still an error. Jepsen log lines
//! get the same treatment; EDN files are written whole and are always strict.

mod edn;
pub(crate) mod fields;
mod jsonl;
mod log;

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::str::FromStr;

pub use jsonl::{JsonlWriter, write_jsonl};

use crate::{History, Op, Value};
use edn::Parsed;
use fields::{Notation, render_value};

/// A history file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// JSON Lines, splitbrain's native format.
    Jsonl,
    /// Jepsen EDN (`history.edn`, Knossos test histories).
    Edn,
    /// Jepsen log lines (`jepsen.log`, `history.txt`).
    JepsenLog,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Jsonl, Format::Edn, Format::JepsenLog];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Edn => "edn",
            Format::JepsenLog => "jepsen-log",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Format, String> {
        match s.to_ascii_lowercase().as_str() {
            "jsonl" | "json" | "ndjson" => Ok(Format::Jsonl),
            "edn" => Ok(Format::Edn),
            "jepsen-log" | "log" => Ok(Format::JepsenLog),
            _ => Err(format!(
                "unknown history format `{s}`; expected one of jsonl, edn, jepsen-log"
            )),
        }
    }
}

/// How to read a history. `Default` detects everything and is strict.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// `None`: detect with [`detect_format`].
    pub format: Option<Format>,
    /// Split Jepsen `[key value]` tuples: `None` detects (see the module doc).
    pub independent: Option<bool>,
    /// Drop a last line cut off mid-write (JSON Lines, log lines) with a
    /// warning instead of failing. For `splitbrain analyze` of a crashed run.
    pub allow_truncated_tail: bool,
}

/// A history file that cannot be read: which file, which line, what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ReadError {
    pub file: String,
    /// 1-based line, when the problem has one.
    pub line: Option<usize>,
    pub message: String,
}

/// Something the reader tolerated but the user should hear about (displayed
/// like a [`ReadError`]: `FILE:LINE: message`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadWarning {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ReadWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A history with what the reader found out on the way.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub history: History,
    /// The format read (detected or given).
    pub format: Format,
    /// Whether Jepsen `[key value]` tuples were split into `key` and `value`.
    pub split_independent: bool,
    /// Things tolerated, e.g. a dropped truncated last line. Show them.
    pub warnings: Vec<ReadWarning>,
}

/// Reads, pairs and validates a history file.
pub fn read_path(path: &Path, opts: &ReadOptions) -> Result<History, ReadError> {
    load_path(path, opts).map(|l| l.history)
}

/// Reads, pairs and validates a history held in memory; `name` stands for the
/// file in errors.
pub fn read_str(text: &str, name: &str, opts: &ReadOptions) -> Result<History, ReadError> {
    load_str(text, name, opts).map(|l| l.history)
}

/// [`read_path`], also returning the format, whether tuples were split, and
/// warnings (use this where a user should see them).
///
/// The file is read in chunks of whole lines, so its text is never in memory
/// all at once beside the ops.
pub fn load_path(path: &Path, opts: &ReadOptions) -> Result<Loaded, ReadError> {
    let file = path.display().to_string();
    let in_file = |e: LineError| e.in_file(&file);
    let f = File::open(path).map_err(|e| in_file(LineError::io(&e)))?;
    let size = f.metadata().map_or(0, |m| m.len() as usize);
    let (format, parsed, warnings) = parse_stream(f, size, path, opts, CHUNK).map_err(in_file)?;
    finish(parsed, warnings, format, &file, opts)
}

/// [`read_str`], also returning the format, whether tuples were split, and warnings.
pub fn load_str(text: &str, name: &str, opts: &ReadOptions) -> Result<Loaded, ReadError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let format = opts
        .format
        .unwrap_or_else(|| detect_format(Path::new(name), head(text.as_bytes())));
    let mut parser = Parser::new(format, text.len(), opts);
    parser
        .feed(&Chunk::whole(text))
        .map_err(|e| e.in_file(name))?;
    let (parsed, warnings) = parser.finish();
    finish(parsed, warnings, format, name, opts)
}

/// The start of a file, enough for [`detect_format`].
fn head(bytes: &[u8]) -> &str {
    let bytes = &bytes[..bytes.len().min(64 * 1024)];
    match std::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
    }
}

/// Guesses a file's format: by extension (`.jsonl`, `.ndjson`, `.json`,
/// `.edn`, `.log`), else by its first bytes `head` (see the module doc).
/// Falls back to JSON Lines, whose errors then say what was expected.
pub fn detect_format(path: &Path, head: &str) -> Format {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("jsonl" | "ndjson" | "json") => return Format::Jsonl,
        Some("edn") => return Format::Edn,
        Some("log") => return Format::JepsenLog,
        _ => {}
    }
    let text = head.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    match text.as_bytes().first() {
        Some(b'{') => {
            let inner = text[1..].trim_start();
            if inner.starts_with('"') || inner.starts_with('}') {
                Format::Jsonl
            } else {
                Format::Edn
            }
        }
        Some(b'[' | b'(' | b';' | b'#') => Format::Edn,
        _ if head.lines().any(|l| log::op_part(l).is_some()) => Format::JepsenLog,
        _ => Format::Jsonl,
    }
}

/// A piece of a history handed to a format's parser: whole lines, except that
/// the last chunk (`at_eof`) may end without a newline.
pub(crate) struct Chunk<'t> {
    pub text: &'t str,
    /// The line `text` starts on.
    pub line_base: usize,
    /// The last line with anything but blanks, up to the end of `text`: where
    /// "the file ends here" is reported.
    pub last_content_line: usize,
    pub at_eof: bool,
}

impl Chunk<'_> {
    fn whole(text: &str) -> Chunk<'_> {
        Chunk {
            text,
            line_base: 1,
            last_content_line: 1 + edn::count_newlines(text.trim_end().as_bytes()),
            at_eof: true,
        }
    }

    /// The chunk's lines as (line number, line without its `\n`, whether a
    /// `\n` ended it): only the last line of the last chunk may lack one.
    pub(crate) fn lines(&self) -> impl Iterator<Item = (usize, &str, bool)> {
        (self.line_base..)
            .zip(self.text.split_inclusive('\n'))
            .map(|(n, line)| match line.strip_suffix('\n') {
                Some(line) => (n, line, true),
                None => (n, line, false),
            })
    }
}

/// Warnings as (line, message), before the file name is attached.
type Warnings = Vec<(usize, String)>;

/// A problem at a line, before the file name is attached.
#[derive(Debug)]
pub(crate) struct LineError {
    pub line: usize,
    pub message: String,
}

impl LineError {
    fn io(e: &std::io::Error) -> LineError {
        LineError {
            line: 0,
            message: format!("cannot read the history: {e}"),
        }
    }

    fn in_file(self, file: &str) -> ReadError {
        ReadError {
            file: file.to_string(),
            line: (self.line > 0).then_some(self.line),
            message: self.message,
        }
    }
}

/// Each format's incremental parser: [`feed`](Parser::feed) it chunks, it
/// returns how much it consumed (an EDN op cut by the chunk's end waits for
/// the next one).
enum Parser {
    Jsonl(jsonl::Parser),
    Edn(edn::Parser),
    Log(log::Parser),
}

impl Parser {
    fn new(format: Format, size_hint: usize, opts: &ReadOptions) -> Parser {
        match format {
            Format::Jsonl => {
                Parser::Jsonl(jsonl::Parser::new(size_hint, opts.allow_truncated_tail))
            }
            Format::Edn => Parser::Edn(edn::Parser::new(size_hint)),
            Format::JepsenLog => Parser::Log(log::Parser::new(opts.allow_truncated_tail)),
        }
    }

    fn feed(&mut self, chunk: &Chunk<'_>) -> Result<usize, LineError> {
        match self {
            Parser::Jsonl(p) => p.feed(chunk),
            Parser::Edn(p) => p.feed(chunk),
            Parser::Log(p) => p.feed(chunk),
        }
    }

    /// The ops, and warnings.
    fn finish(self) -> (Parsed, Warnings) {
        match self {
            Parser::Jsonl(p) => (p.out, p.warnings),
            Parser::Edn(p) => (p.out, Vec::new()),
            Parser::Log(p) => (p.out, p.warnings),
        }
    }
}

/// Bytes read at a time. Chunks are cut after their last newline.
const CHUNK: usize = 1 << 20;

/// Reads `src` chunk by chunk, detecting the format from the first one.
fn parse_stream(
    mut src: impl Read,
    size_hint: usize,
    path: &Path,
    opts: &ReadOptions,
    chunk: usize,
) -> Result<(Format, Parsed, Warnings), LineError> {
    let mut buf = Vec::with_capacity(chunk + chunk / 4);
    // Detection looks at the first 64 KiB.
    let mut at_eof = fill(&mut src, &mut buf, chunk.max(64 * 1024))?;
    if buf.starts_with("\u{feff}".as_bytes()) {
        buf.drain(..3);
    }
    let format = opts
        .format
        .unwrap_or_else(|| detect_format(path, head(&buf)));
    let mut parser = Parser::new(format, size_hint, opts);
    let mut line_base = 1;
    let mut last_content_line = 1;
    // Feed about `chunk` bytes at a time, cut after a newline. `min_cut` is
    // the text the parser left unconsumed last time (an op cut by the chunk's
    // end): the next cut must reach past it.
    let mut min_cut = 0;
    let mut want = chunk;
    loop {
        if !at_eof {
            at_eof = fill(&mut src, &mut buf, want)?;
        }
        let end = buf.len().min(min_cut + chunk);
        let newline = buf[min_cut..end]
            .iter()
            .rposition(|&b| b == b'\n')
            .map(|i| min_cut + i)
            .or_else(|| buf[end..].iter().position(|&b| b == b'\n').map(|i| end + i));
        let (cut, last) = match newline {
            Some(i) if i + 1 < buf.len() || !at_eof => (i + 1, false),
            _ if at_eof => (buf.len(), true),
            // A line longer than a chunk: read on.
            _ => {
                want = buf.len() + chunk;
                continue;
            }
        };
        let text = std::str::from_utf8(&buf[..cut]).map_err(|e| {
            let at = e.valid_up_to();
            LineError {
                line: line_base + edn::count_newlines(&buf[..at]),
                message: format!(
                    "expected UTF-8 text, found the byte 0x{:02x} (is this a history file?)",
                    buf[at]
                ),
            }
        })?;
        let trimmed = text.trim_end();
        if !trimmed.is_empty() {
            last_content_line = line_base + edn::count_newlines(trimmed.as_bytes());
        }
        let consumed = parser.feed(&Chunk {
            text,
            line_base,
            last_content_line,
            at_eof: last,
        })?;
        if last {
            break;
        }
        line_base += edn::count_newlines(&buf[..consumed]);
        buf.drain(..consumed);
        min_cut = cut - consumed;
        want = min_cut + chunk;
    }
    let (parsed, warnings) = parser.finish();
    Ok((format, parsed, warnings))
}

/// Reads until `buf` holds `want` bytes; true at the end of the input.
fn fill(src: &mut impl Read, buf: &mut Vec<u8>, want: usize) -> Result<bool, LineError> {
    let need = want.saturating_sub(buf.len());
    if need == 0 {
        return Ok(false);
    }
    let got = src
        .take(need as u64)
        .read_to_end(buf)
        .map_err(|e| LineError::io(&e))?;
    Ok(got < need)
}

/// Splits independent keys, pairs and validates: the codec-independent end of reading.
fn finish(
    parsed: Parsed,
    warnings: Warnings,
    format: Format,
    file: &str,
    opts: &ReadOptions,
) -> Result<Loaded, ReadError> {
    let Parsed {
        mut ops,
        lines,
        split,
    } = parsed;
    let notation = match format {
        Format::Jsonl => Notation::Json,
        _ => Notation::Edn,
    };
    let located = |i: usize, message: String| ReadError {
        file: file.to_string(),
        line: lines.get(i).copied(),
        message,
    };
    let split_independent = split_independent(&mut ops, &split, opts.independent, notation)
        .map_err(|(i, message)| located(i, message))?;
    let history = History::with_lines(ops, Some(&lines)).map_err(|e| ReadError {
        file: file.to_string(),
        line: e.line,
        message: e.problem,
    })?;
    Ok(Loaded {
        history,
        format,
        split_independent,
        warnings: warnings
            .into_iter()
            .map(|(line, message)| ReadWarning {
                file: file.to_string(),
                line: Some(line),
                message,
            })
            .collect(),
    })
}

/// Splits Jepsen `[key value]` tuples per the rule in the module doc. Returns
/// whether it did, or the position of an op that should be a tuple and is not.
///
/// `pre_split[i]` (when not empty) says the reader already split op `i`'s
/// two-element value into `key` and `value`, to spare a list allocation per
/// op; those are re-joined when the history is not independent after all.
fn split_independent(
    ops: &mut [Op],
    pre_split: &[bool],
    mode: Option<bool>,
    n: Notation,
) -> Result<bool, (usize, String)> {
    let pre = |i: usize| pre_split.get(i).copied().unwrap_or(false);
    let explicit_key = |i: usize, op: &Op| op.key.is_some() && !pre(i);
    let is_pair = |i: usize, op: &Op| {
        pre(i) || (op.key.is_none() && matches!(&op.value, Value::List(l) if l.len() == 2))
    };
    let split = match mode {
        Some(false) => false,
        Some(true) => {
            if let Some(i) = (0..ops.len())
                .find(|&i| ops[i].is_client() && !explicit_key(i, &ops[i]) && !is_pair(i, &ops[i]))
            {
                return Err((
                    i,
                    format!(
                        "expected {} to be an independent [key value] tuple, since independent keys were asked for; found {}",
                        n.key("value"),
                        render_value(&ops[i].value, n)
                    ),
                ));
            }
            true
        }
        None => {
            let mut clients = 0usize;
            let mut reads = false;
            let mut all_pairs = true;
            let mut keys = false;
            for (i, op) in ops.iter().enumerate() {
                keys |= explicit_key(i, op);
                if op.is_client() {
                    clients += 1;
                    all_pairs &= is_pair(i, op);
                    reads |= op.f.as_bytes() == *b"read";
                }
            }
            clients > 0 && all_pairs && reads && !keys
        }
    };
    for (i, op) in ops.iter_mut().enumerate() {
        let keep = split && op.is_client();
        if pre(i) && !keep {
            // Re-join what the reader split.
            let key = op.key.take().unwrap_or_default();
            let value = std::mem::take(&mut op.value);
            op.value = Value::List(vec![key, value]);
        } else if keep
            && !pre(i)
            && op.key.is_none()
            && let Value::List(pair) = std::mem::take(&mut op.value)
        {
            match <[Value; 2]>::try_from(pair) {
                Ok([k, v]) => {
                    op.key = Some(k);
                    op.value = v;
                }
                Err(other) => op.value = Value::List(other),
            }
        }
    }
    Ok(split)
}

#[cfg(test)]
mod tests;
