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
//! `Some(true)` (then every client *invocation* without a `key` must hold a
//! tuple), never when `Some(false)`, and when `None` by looking at the
//! invocations of client ops only:
//! - no op has a `key` field already, and there is at least one client invocation;
//! - every client invocation's value is a 2-element list;
//! - at least one of them is a `read` (a plain register reads with `nil`,
//!   never a pair, so a read invoked with `[k nil]` is a tuple) or holds a
//!   pair as its second element (an independent `cas` `[k [old new]]`).
//!
//! Completions do not vote: an `:ok` read of a tuple key may complete as
//! `[k nil]` or a failed op as plain `nil`. When splitting, a completion
//! whose value is a 2-element list is split too; any other completion keeps
//! its value and takes its invocation's key.
//!
//! A history whose every client invocation is such a pair but without that
//! evidence (a cas-register of `[old new]` without reads, independent
//! writes `[k v]` only, two-op `txn`s) is ambiguous: it is read as plain values, one
//! history, and [`Loaded::warnings`] says so and names `--independent` /
//! `--no-independent` (`Some(true)` / `Some(false)`) to decide.
//!
//! ## Limits
//! Reading stops with an error naming the file and line, in bounded time and
//! memory, at the limits of [`ReadOptions`]: a line (JSON Lines, log lines)
//! or an op (EDN, where one line may hold many ops) longer than
//! [`DEFAULT_MAX_LINE_BYTES`] (16 MiB), values nested deeper than
//! [`DEFAULT_MAX_DEPTH`] (128; JSON Lines also stops at serde_json's 127),
//! more than [`DEFAULT_MAX_OPS`] ops (20 million) or a file larger than
//! [`DEFAULT_MAX_BYTES`] (16 GiB). The line limit applies while reading, so
//! `/dev/zero` or an endless line fails after 16 MiB; the op and size limits
//! end an endless stream of ops.
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
pub(crate) mod json;
mod jsonl;
mod log;

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::str::FromStr;

pub use jsonl::{JsonlWriter, write_jsonl};

use crate::{History, Op, Process, Value};
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

/// [`ReadOptions::max_line_bytes`] by default: 16 MiB.
pub const DEFAULT_MAX_LINE_BYTES: usize = 16 << 20;
/// [`ReadOptions::max_depth`] by default.
pub const DEFAULT_MAX_DEPTH: usize = 128;
/// [`ReadOptions::max_ops`] by default: 20 million (about 6 GB once read).
pub const DEFAULT_MAX_OPS: usize = 20_000_000;
/// [`ReadOptions::max_bytes`] by default: 16 GiB.
pub const DEFAULT_MAX_BYTES: u64 = 16 << 30;
/// serde_json's own nesting limit within an op's field (128 with the op object).
const JSON_MAX_DEPTH: usize = 127;

/// How to read a history. `Default` detects everything, is strict, and has
/// the limits of the module doc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// `None`: detect with [`detect_format`].
    pub format: Option<Format>,
    /// Split Jepsen `[key value]` tuples: `None` detects (see the module doc).
    pub independent: Option<bool>,
    /// Drop a last line cut off mid-write (JSON Lines, log lines) with a
    /// warning instead of failing. For `splitbrain analyze` of a crashed run.
    pub allow_truncated_tail: bool,
    /// The longest line (JSON Lines, log lines) or op (EDN), in bytes.
    pub max_line_bytes: usize,
    /// How deep values may nest (`[[1]]` is 1 deep inside its outer list).
    pub max_depth: usize,
    /// The most ops a history may hold.
    pub max_ops: usize,
    /// The largest file, in bytes.
    pub max_bytes: u64,
}

impl Default for ReadOptions {
    fn default() -> ReadOptions {
        ReadOptions {
            format: None,
            independent: None,
            allow_truncated_tail: false,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            max_depth: DEFAULT_MAX_DEPTH,
            max_ops: DEFAULT_MAX_OPS,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// `16 MiB`, `1 KiB`, `100 bytes`: limits as people write them.
fn size(n: u64) -> String {
    for (unit, shift) in [("GiB", 30), ("MiB", 20), ("KiB", 10)] {
        if n >= 1 << shift && n.is_multiple_of(1 << shift) {
            return format!("{} {unit}", n >> shift);
        }
    }
    format!("{n} bytes")
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
    /// Whether a last line cut off mid-write was dropped
    /// ([`ReadOptions::allow_truncated_tail`]); other warnings don't count.
    pub truncated_tail: bool,
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
    let f = File::open(path).map_err(|e| LineError::io(&e).in_file(&file))?;
    let size = f.metadata().map_or(0, |m| m.len() as usize);
    load_stream(f, size, path, opts)
}

/// [`load_path`] for any byte stream (a pipe, stdin): `name` stands for the
/// file in errors and, with its extension, in format detection. Reading
/// stops at the limits of `opts`, so an endless stream ends with an error.
pub fn load_reader(src: impl Read, name: &str, opts: &ReadOptions) -> Result<Loaded, ReadError> {
    load_stream(src, 0, Path::new(name), opts)
}

fn load_stream(
    src: impl Read,
    size_hint: usize,
    path: &Path,
    opts: &ReadOptions,
) -> Result<Loaded, ReadError> {
    let file = path.display().to_string();
    let (format, parsed, warnings) =
        parse_stream(src, size_hint, path, opts, CHUNK).map_err(|e| e.in_file(&file))?;
    finish(parsed, warnings, format, &file, opts)
}

/// [`read_str`], also returning the format, whether tuples were split, and warnings.
pub fn load_str(text: &str, name: &str, opts: &ReadOptions) -> Result<Loaded, ReadError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.len() as u64 > opts.max_bytes {
        return Err(
            too_big(opts.max_bytes, 1 + edn::count_newlines(text.as_bytes())).in_file(name),
        );
    }
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
        let max_line = opts.max_line_bytes;
        match format {
            Format::Jsonl => Parser::Jsonl(jsonl::Parser::new(
                size_hint,
                opts.allow_truncated_tail,
                opts.max_depth,
                max_line,
            )),
            Format::Edn => Parser::Edn(edn::Parser::new(size_hint, opts.max_depth, max_line)),
            Format::JepsenLog => Parser::Log(log::Parser::new(
                opts.allow_truncated_tail,
                opts.max_depth,
                max_line,
            )),
        }
    }

    fn feed(&mut self, chunk: &Chunk<'_>) -> Result<usize, LineError> {
        match self {
            Parser::Jsonl(p) => p.feed(chunk),
            Parser::Edn(p) => p.feed(chunk),
            Parser::Log(p) => p.feed(chunk),
        }
    }

    fn parsed(&self) -> &Parsed {
        match self {
            Parser::Jsonl(p) => &p.out,
            Parser::Edn(p) => &p.out,
            Parser::Log(p) => &p.out,
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

/// A line longer than the limit, as the line-based parsers report it.
pub(crate) fn line_too_long(line: usize, limit: usize) -> LineError {
    LineError {
        line,
        message: format!(
            "line longer than {} (the limit, ReadOptions::max_line_bytes); expected one op per line: is this a history file?",
            size(limit as u64)
        ),
    }
}

/// An EDN op longer than the limit, at the line it starts on.
pub(crate) fn op_too_long(limit: usize) -> String {
    format!(
        "an op longer than {} (the limit, ReadOptions::max_line_bytes) starts here",
        size(limit as u64)
    )
}

fn too_big(limit: u64, line: usize) -> LineError {
    LineError {
        line,
        message: format!(
            "the history is larger than {} (the limit, ReadOptions::max_bytes)",
            size(limit)
        ),
    }
}

/// More ops than the limit: the error names the first op beyond it.
fn too_many_ops(parsed: &Parsed, limit: usize) -> Option<LineError> {
    (parsed.ops.len() > limit).then(|| LineError {
        line: parsed.lines.get(limit).copied().unwrap_or(0),
        message: format!("the history has more than {limit} ops (the limit, ReadOptions::max_ops)"),
    })
}

/// Bytes read at a time. Chunks are cut after their last newline.
const CHUNK: usize = 1 << 20;

/// Reads `src` chunk by chunk, detecting the format from the first one.
///
/// Memory stays within the limits whatever the input: a line (or EDN op)
/// longer than `max_line_bytes` fails while it is being read, and at most
/// `max_bytes` + 1 bytes are ever read.
fn parse_stream(
    src: impl Read,
    size_hint: usize,
    path: &Path,
    opts: &ReadOptions,
    chunk: usize,
) -> Result<(Format, Parsed, Warnings), LineError> {
    let mut input = Input {
        src,
        left: opts.max_bytes.saturating_add(1),
    };
    let mut buf = Vec::with_capacity(chunk + chunk / 4);
    // Detection looks at the first 64 KiB; a given format needs no more
    // than a chunk (so tests with tiny chunks really cut small inputs).
    let first = match opts.format {
        Some(_) => chunk,
        None => chunk.max(64 * 1024),
    };
    let mut at_eof = input.fill(&mut buf, first)?;
    if buf.starts_with("\u{feff}".as_bytes()) {
        buf.drain(..3);
    }
    let format = opts
        .format
        .unwrap_or_else(|| detect_format(path, head(&buf)));
    let mut parser = Parser::new(format, size_hint, opts);
    // EDN does not care where a chunk ends (an op cut short waits for the
    // next chunk), so a long line is cut anywhere; the line formats need
    // whole lines.
    let cut_anywhere = format == Format::Edn;
    let max_line = opts.max_line_bytes;
    let mut line_base = 1;
    let mut last_content_line = 1;
    // `pending`: the text the parser left unconsumed last time (an op cut by
    // the chunk's end): the next cut must reach past it. The window grows
    // with it, so a long op is re-read a bounded number of times.
    let mut pending = 0;
    // buf[searched..] is where to look on for a newline that ends a long line.
    let mut searched = 0;
    loop {
        let end = pending + chunk.max(pending);
        if !at_eof {
            // 3 bytes past `end` finish a UTF-8 character that `end` cuts,
            // so `char_boundary` sees real bytes there, not the buffer's end.
            at_eof = input.fill(&mut buf, end.max(searched + chunk) + 3)?;
        }
        if input.left == 0 {
            return Err(too_big(
                opts.max_bytes,
                line_base + edn::count_newlines(&buf),
            ));
        }
        let end = end.min(buf.len());
        let newline = buf[pending..end]
            .iter()
            .rposition(|&b| b == b'\n')
            .map(|i| pending + i)
            .or_else(|| {
                let from = end.max(searched);
                (!cut_anywhere)
                    .then(|| {
                        buf[from..]
                            .iter()
                            .position(|&b| b == b'\n')
                            .map(|i| from + i)
                    })
                    .flatten()
            });
        let edn_cut = (cut_anywhere && end > pending).then(|| char_boundary(&buf, pending, end));
        let (cut, last) = match (newline, edn_cut) {
            (Some(i), _) if i + 1 < buf.len() || !at_eof => (i + 1, false),
            _ if at_eof => (buf.len(), true),
            (_, Some(cut)) if cut > pending => (cut, false),
            _ => {
                // A line longer than the window: read on, up to the limit.
                if !cut_anywhere && buf.len() > max_line {
                    return Err(line_too_long(line_base, max_line));
                }
                searched = buf.len();
                continue;
            }
        };
        searched = 0;
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
        if let Some(e) = too_many_ops(parser.parsed(), opts.max_ops) {
            return Err(e);
        }
        if last {
            break;
        }
        line_base += edn::count_newlines(&buf[..consumed]);
        buf.drain(..consumed);
        pending = cut - consumed;
        if pending > max_line {
            return Err(LineError {
                line: line_base,
                message: op_too_long(max_line),
            });
        }
    }
    let (parsed, warnings) = parser.finish();
    Ok((format, parsed, warnings))
}

/// The UTF-8 character boundary nearest before `at` and after `lo`, else the
/// next one after `at` (the end of `buf` counts as one).
fn char_boundary(buf: &[u8], lo: usize, at: usize) -> usize {
    let is_start = |i: usize| i >= buf.len() || (buf[i] as i8) >= -0x40;
    let lowest = (lo + 1).max(at.saturating_sub(3));
    (lowest..=at)
        .rev()
        .chain(at + 1..at + 4)
        .find(|&i| is_start(i))
        .unwrap_or(at)
        .min(buf.len())
}

/// The file, read at most `left` more bytes.
struct Input<R> {
    src: R,
    left: u64,
}

impl<R: Read> Input<R> {
    /// Reads until `buf` holds `want` bytes; true at the end of the input.
    fn fill(&mut self, buf: &mut Vec<u8>, want: usize) -> Result<bool, LineError> {
        let need = want.saturating_sub(buf.len()) as u64;
        if need == 0 {
            return Ok(false);
        }
        let take = need.min(self.left);
        let got = (&mut self.src)
            .take(take)
            .read_to_end(buf)
            .map_err(|e| LineError::io(&e))? as u64;
        self.left -= got;
        Ok(got < take)
    }
}

/// Splits independent keys, pairs and validates: the codec-independent end of reading.
fn finish(
    parsed: Parsed,
    warnings: Warnings,
    format: Format,
    file: &str,
    opts: &ReadOptions,
) -> Result<Loaded, ReadError> {
    if let Some(e) = too_many_ops(&parsed, opts.max_ops) {
        return Err(e.in_file(file));
    }
    let Parsed {
        mut ops,
        lines,
        split,
    } = parsed;
    let notation = match format {
        Format::Jsonl => Notation::Json,
        _ => Notation::Edn,
    };
    let (split_independent, ambiguous) =
        split_independent(&mut ops, &split, opts.independent, notation).map_err(
            |(i, message)| ReadError {
                file: file.to_string(),
                line: lines.get(i).copied(),
                message,
            },
        )?;
    let mut warnings: Vec<ReadWarning> = warnings
        .into_iter()
        .map(|(line, message)| ReadWarning {
            file: file.to_string(),
            line: Some(line),
            message,
        })
        .collect();
    // The readers warn only about a dropped tail; the ambiguity warning comes after.
    let truncated_tail = !warnings.is_empty();
    if let Some((i, message)) = ambiguous {
        warnings.push(ReadWarning {
            file: file.to_string(),
            line: lines.get(i).copied(),
            message,
        });
    }
    let history = History::with_lines(ops, Some(&lines)).map_err(|e| ReadError {
        file: file.to_string(),
        line: e.line,
        message: e.problem,
    })?;
    Ok(Loaded {
        history,
        format,
        split_independent,
        warnings,
        truncated_tail,
    })
}

/// A message about op `.0` (its position), before its line is known.
type Located = (usize, String);

/// The two elements of a 2-element value, wherever the reader put them
/// (`pre_split`: in `key` and `value`).
fn pair_parts(op: &Op, pre_split: bool) -> Option<(&Value, &Value)> {
    match (&op.key, &op.value) {
        (Some(k), v) if pre_split => Some((k, v)),
        (None, Value::List(l)) if l.len() == 2 => Some((&l[0], &l[1])),
        _ => None,
    }
}

/// Splits Jepsen `[key value]` tuples per the rule in the module doc.
/// Returns whether it did, and, when the history is ambiguous, the op to
/// name and a warning; or the position of an invocation that should be a
/// tuple and is not.
///
/// `pre_split[i]` (when not empty) says the reader already split op `i`'s
/// two-element value into `key` and `value`, to spare a list allocation per
/// op; those are re-joined where they are not tuples after all.
fn split_independent(
    ops: &mut [Op],
    pre_split: &[bool],
    mode: Option<bool>,
    n: Notation,
) -> Result<(bool, Option<Located>), Located> {
    let pre = |i: usize| pre_split.get(i).copied().unwrap_or(false);
    let explicit_key = |i: usize, op: &Op| op.key.is_some() && !pre(i);
    let is_pair = |i: usize, op: &Op| {
        pre(i) || (op.key.is_none() && matches!(&op.value, Value::List(l) if l.len() == 2))
    };

    let client_invoke = |op: &Op| op.is_client() && op.is_invoke();
    let mut ambiguous = None;
    let split = match mode {
        Some(false) => false,
        Some(true) => {
            if let Some(i) = (0..ops.len()).find(|&i| {
                client_invoke(&ops[i]) && !explicit_key(i, &ops[i]) && !is_pair(i, &ops[i])
            }) {
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
            let mut first = None;
            let mut evidence = false;
            let mut all_pairs = true;
            let mut keys = false;
            for (i, op) in ops.iter().enumerate() {
                keys |= explicit_key(i, op);
                if !client_invoke(op) {
                    continue;
                }
                first.get_or_insert(i);
                match pair_parts(op, pre(i)) {
                    Some((_, v)) => {
                        evidence |= op.f.as_bytes() == *b"read"
                            || matches!(v, Value::List(l) if l.len() == 2);
                    }
                    None => {
                        all_pairs = false;
                        break;
                    }
                }
            }
            let candidate = first.is_some() && all_pairs && !keys;
            if candidate && !evidence {
                ambiguous = first.map(|i| {
                    (i, "every client invocation's value is a 2-element list, but none is a read or an independent cas [key [old new]]: these may be Jepsen independent [key value] tuples or plain pairs such as a cas-register's [old new]. Read them as plain values, one history; pass --independent to split them by key, or --no-independent to keep them whole and silence this".to_string())
                });
            }
            candidate && evidence
        }
    };
    // Completions that are not pairs take their invocation's key; found
    // only when there are any, which tuple histories rarely have.
    let mut loose_completion = false;
    for (i, op) in ops.iter_mut().enumerate() {
        let keep = split && op.is_client() && !explicit_key(i, op) && is_pair(i, op);
        loose_completion |= split && op.is_client() && !op.is_invoke() && op.key.is_none() && !keep;
        if pre(i) && !keep {
            // Re-join what the reader split.
            let key = op.key.take().unwrap_or_default();
            let value = std::mem::take(&mut op.value);
            op.value = Value::List(vec![key, value]);
        } else if keep
            && !pre(i)
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
    if loose_completion {
        let mut open: HashMap<u64, Value> = HashMap::new();
        for op in ops.iter_mut() {
            let Process::Client(p) = op.process else {
                continue;
            };
            if op.is_invoke() {
                if let Some(k) = &op.key {
                    open.insert(p, k.clone());
                }
            } else if let Some(k) = open.remove(&p)
                && op.key.is_none()
            {
                op.key = Some(k);
            }
        }
    }
    Ok((split, ambiguous))
}

#[cfg(test)]
mod tests;
