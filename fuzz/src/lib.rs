//! Invariants shared by the history fuzz targets.
//!
//! Every target asserts first that nothing panics on any input (libFuzzer
//! reports a panic as a crash), then a cheap property of what was read:
//! errors name the file and a line that exists, and a history that was read
//! reads back the same after being written as JSON Lines.

use splitbrain_history::codec::{self, Format, ReadError, ReadOptions};
use splitbrain_history::{History, Op, Value};

/// The name errors must carry (each target passes it as the file name).
pub const NAME: &str = "fuzz-input";

/// An error names the file, and its line (if any) is one of the input's.
pub fn check_error(e: &ReadError, text: &str) {
    assert_eq!(e.file, NAME, "the error names another file: {e}");
    assert!(!e.message.trim().is_empty(), "an error without a message");
    if let Some(line) = e.line {
        let lines = text.lines().count().max(1) + 1;
        assert!(
            (1..=lines).contains(&line),
            "line {line} of a {lines}-line input: {e}"
        );
    }
}

/// Reads `text` as `format`, checking errors; the history when it reads.
pub fn read(text: &str, format: Format, allow_truncated_tail: bool) -> Option<History> {
    let opts = ReadOptions {
        format: Some(format),
        allow_truncated_tail,
        ..ReadOptions::default()
    };
    match codec::read_str(text, NAME, &opts) {
        Ok(h) => Some(h),
        Err(e) => {
            check_error(&e, text);
            None
        }
    }
}

/// Whether JSON holds `v` exactly: it has no NaN or infinity (written as
/// `null`), no decimal (JSON has none: it reads back as a float when one
/// holds it) and no map keyed by anything but strings (written as the key's
/// text). Histories with such values are not expected to round-trip.
fn json_exact(v: &Value) -> bool {
    match v {
        Value::Float(x) => x.is_finite(),
        Value::Decimal(_) => false,
        Value::List(l) => l.iter().all(json_exact),
        Value::Map(m) => m
            .iter()
            .all(|(k, v)| matches!(k, Value::Str(_)) && json_exact(v)),
        _ => true,
    }
}

fn op_json_exact(op: &Op) -> bool {
    json_exact(&op.value)
        && [&op.key, &op.node, &op.error]
            .into_iter()
            .flatten()
            .all(json_exact)
        && op.extra.iter().all(|(_, v)| json_exact(v))
}

/// Writes `h` as JSON Lines with the crate's writer and reads it back: the
/// same ops must come out (what `splitbrain analyze` relies on for every
/// imported history).
pub fn assert_jsonl_round_trip(h: &History) {
    if !h.ops().iter().all(op_json_exact) {
        return;
    }
    let mut buf = Vec::new();
    codec::write_jsonl(h.ops(), &mut buf).expect("writing to memory cannot fail");
    let text = String::from_utf8(buf).expect("JSON Lines is UTF-8");
    let opts = ReadOptions {
        format: Some(Format::Jsonl),
        ..ReadOptions::default()
    };
    let back = codec::read_str(&text, NAME, &opts).unwrap_or_else(|e| {
        panic!("the JSON Lines written for a history does not read: {e}\n{text}")
    });
    assert_eq!(
        back.ops(),
        h.ops(),
        "the history changed on a JSON Lines round trip\n{text}"
    );
}

/// For line-oriented formats: a history that reads strictly reads the same,
/// with the same warnings, when a truncated tail is allowed; one that reads
/// only when it is allowed lost its last line, which had no newline.
pub fn check_tolerant_reading(text: &str, format: Format) -> Option<History> {
    let load = |allow_truncated_tail| {
        codec::load_str(
            text,
            NAME,
            &ReadOptions {
                format: Some(format),
                allow_truncated_tail,
                ..ReadOptions::default()
            },
        )
    };
    match (load(false), load(true)) {
        (Ok(s), Ok(t)) => {
            assert_eq!(
                s.warnings, t.warnings,
                "strict and tolerant warnings differ"
            );
            assert_eq!(
                s.history.ops(),
                t.history.ops(),
                "strict and tolerant reads differ"
            );
            Some(s.history)
        }
        (Ok(_), Err(e)) => panic!("reads strictly but not with a truncated tail allowed: {e}"),
        (Err(e), Ok(t)) => {
            check_error(&e, text);
            assert!(
                t.warnings
                    .iter()
                    .any(|w| w.line == Some(text.lines().count())),
                "reads only when a truncated tail is allowed, yet its last line was not dropped: {e}; {:?}",
                t.warnings
            );
            assert!(
                !text.ends_with('\n'),
                "dropped a last line that ends with a newline"
            );
            None
        }
        (Err(e), Err(_)) => {
            check_error(&e, text);
            None
        }
    }
}
