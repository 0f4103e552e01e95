//! JSON Lines, splitbrain's native format: one op object per line, written as
//! the test runs ([`JsonlWriter`]) so a crashed controller leaves a readable
//! history behind.

use std::io::{self, BufWriter, Write};

use serde::de::DeserializeSeed;

use super::edn::Parsed;
use super::json::{Ctx, Numbers, OpSeed};
use super::{Chunk, LineError, line_too_long};
use crate::Op;

/// Reads JSON Lines chunk by chunk. Blank lines are skipped. With
/// `allow_truncated_tail`, a last line cut off mid-object (no newline after
/// it, JSON ends early) is dropped with a warning instead of failing.
pub(crate) struct Parser {
    pub(crate) out: Parsed,
    pub(crate) warnings: Vec<(usize, String)>,
    allow_truncated_tail: bool,
    max_depth: usize,
    max_line: usize,
}

impl Parser {
    pub(crate) fn new(
        size_hint: usize,
        allow_truncated_tail: bool,
        max_depth: usize,
        max_line: usize,
    ) -> Parser {
        Parser {
            // Native lines take ~80-100 bytes: reserve roughly, let it grow.
            out: Parsed::with_capacity(size_hint / 128),
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
            if line.trim_ascii().is_empty() {
                continue;
            }
            let ops = &mut self.out.ops;
            match parse_line(line, ops.len() as u64, self.max_depth) {
                Ok(op) => {
                    ops.push(op);
                    self.out.lines.push(line_no);
                }
                Err(e) if e.is_eof() && !has_newline => {
                    let what = format!(
                        "the last line is cut off mid-object ({}), as a controller killed while writing leaves it",
                        describe(&e)
                    );
                    if self.allow_truncated_tail {
                        self.warnings.push((
                            line_no,
                            format!(
                                "{what}; dropped it and read the {} ops before it",
                                ops.len()
                            ),
                        ));
                        break;
                    }
                    return Err(LineError {
                        line: line_no,
                        message: format!(
                            "{what}; expected a complete JSON object. To check the ops before it, allow a truncated tail"
                        ),
                    });
                }
                Err(e) => {
                    return Err(LineError {
                        line: line_no,
                        message: describe(&e),
                    });
                }
            }
        }
        Ok(chunk.text.len())
    }
}

/// One op from one line, numbers read exactly (see `codec::json`).
fn parse_line(line: &str, position: u64, max_depth: usize) -> Result<Op, serde_json::Error> {
    let numbers = Numbers::new(line);
    match parse_with(line, position, &numbers, max_depth) {
        Err(e) if e.is_syntax() && e.to_string().starts_with("number out of range") => {
            // Beyond f64's range: read it again with every number's value
            // taken from its text.
            let (text, numbers) = Numbers::placeholders(line);
            parse_with(&text, position, &numbers, max_depth)
        }
        parsed => parsed,
    }
}

fn parse_with(
    text: &str,
    position: u64,
    numbers: &Numbers<'_>,
    max_depth: usize,
) -> Result<Op, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let op = OpSeed {
        position,
        ctx: Ctx::new(Some(numbers), max_depth),
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(op)
}

/// serde_json's message without its "at line 1 column N" (every line is line 1
/// to it); syntax errors keep the column.
fn describe(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let msg = text.strip_suffix(&suffix).unwrap_or(&text);
    if msg == "recursion limit exceeded" {
        // serde_json's own limit, below ReadOptions::max_depth.
        return format!(
            "expected values nested at most {} deep (column {})",
            super::JSON_MAX_DEPTH,
            e.column()
        );
    }
    match e.classify() {
        serde_json::error::Category::Data => msg.to_string(),
        _ => format!(
            "invalid JSON at column {}: {msg}; expected one op object per line",
            e.column()
        ),
    }
}

/// Streams ops as JSON Lines.
///
/// Each [`write`](JsonlWriter::write) hands one whole line (op and newline) to
/// the underlying writer in a single `write_all`, so with a plain `File` every
/// op is in the kernel as soon as `write` returns: a controller that crashes
/// loses nothing it recorded, and at worst leaves a last line cut mid-write,
/// which [`ReadOptions::allow_truncated_tail`](super::ReadOptions) accepts.
/// Wrap the file in a `BufWriter` to trade that for fewer system calls.
#[derive(Debug)]
pub struct JsonlWriter<W: Write> {
    w: W,
    buf: Vec<u8>,
}

impl<W: Write> JsonlWriter<W> {
    pub fn new(w: W) -> JsonlWriter<W> {
        JsonlWriter {
            w,
            buf: Vec::with_capacity(256),
        }
    }

    /// Appends one op as one line.
    pub fn write(&mut self, op: &Op) -> io::Result<()> {
        self.buf.clear();
        serde_json::to_writer(&mut self.buf, op).map_err(io::Error::other)?;
        self.buf.push(b'\n');
        self.w.write_all(&self.buf)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }

    pub fn get_ref(&self) -> &W {
        &self.w
    }

    pub fn get_mut(&mut self) -> &mut W {
        &mut self.w
    }

    /// The underlying writer (not flushed: call [`flush`](Self::flush) first if it buffers).
    pub fn into_inner(self) -> W {
        self.w
    }
}

/// Writes a whole history as JSON Lines (buffered, flushed at the end).
pub fn write_jsonl(ops: &[Op], w: impl Write) -> io::Result<()> {
    let mut w = JsonlWriter::new(BufWriter::with_capacity(1 << 16, w));
    for op in ops {
        w.write(op)?;
    }
    w.flush()
}
