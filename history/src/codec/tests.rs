//! Tests that need the codecs' internals: the fast EDN path must read exactly
//! what clojure-reader reads.

use super::{Format, ReadOptions, edn, parse_stream};
use crate::{Op, Value};

// The integration tests' corpus helpers, shared rather than copied.
#[path = "../../tests/common/mod.rs"]
mod common;

use common::{corpus, files_under};

/// clojure-reader returns maps sorted by key; the fast path keeps written
/// order. Compare modulo that.
fn normalize(v: &Value) -> Value {
    match v {
        Value::List(l) => Value::List(l.iter().map(normalize).collect()),
        Value::Map(m) => {
            let mut m: Vec<_> = m
                .iter()
                .map(|(k, v)| (normalize(k), normalize(v)))
                .collect();
            m.sort_by_key(|(k, _)| k.to_string());
            Value::Map(m)
        }
        v => v.clone(),
    }
}

fn normalize_op(op: &Op) -> Op {
    let mut op = op.clone();
    op.value = normalize(&op.value);
    op.error = op.error.as_ref().map(normalize);
    op.node = op.node.as_ref().map(normalize);
    op.key = op.key.as_ref().map(normalize);
    op.extra.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, v) in &mut op.extra {
        *v = normalize(v);
    }
    op
}

fn assert_same(text: &str, what: &str) -> usize {
    let fast = edn::read(text).unwrap_or_else(|e| panic!("{what}: fast path: {e:?}"));
    let slow = edn::read_with_clojure_reader(text)
        .unwrap_or_else(|e| panic!("{what}: clojure-reader: {e:?}"));
    assert_eq!(fast.ops.len(), slow.ops.len(), "{what}");
    assert_eq!(fast.lines, slow.lines, "{what}: op lines");
    assert_eq!(fast.split, slow.split, "{what}: pairs");
    for (a, b) in fast.ops.iter().zip(&slow.ops) {
        assert_eq!(normalize_op(a), normalize_op(b), "{what}");
    }
    fast.ops.len()
}

#[test]
fn fast_path_matches_clojure_reader_on_the_corpus() {
    let Some(dir) = corpus() else { return };
    let files = files_under(&dir);
    assert!(
        files.len() > 100,
        "expected the whole corpus, found {} files",
        files.len()
    );
    let mut total = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        total += assert_same(&text, &f.display().to_string());
    }
    assert!(total > 40_000, "{total} ops");
}

#[test]
fn fast_path_matches_clojure_reader_on_edge_cases() {
    let text = r#"
; comments, commas, discards and tags
#jepsen.history.Op{:index 0, :time 5, :type :invoke, :process 0, :f :write, :value -3}
{:type :ok, :process 0, :f :write, :value -3, #_ :discarded #_ 1 :index 1}
{:type :invoke :process 1 :f :read :value nil :note "tab\there \"quoted\" \\ é"}
{:type :ok, :process 1, :f :read, :value #{1 2}, :extra {:b [1.5 -2e3 +7], :a (x y)}}
{:type :invoke, :process :nemesis, :f :start, :value #inst "2020-01-01"}
{:type :info, :process :nemesis, :f :start, :value [\a 1/2 0x10 2r101 12]}
{:type :invoke, :process 2, :f :cas, :value [true false nil], :node "n1", :error {:x 1}}
"#;
    assert_eq!(assert_same(text, "edge cases"), 7);
    let ops = edn::read(text).unwrap().ops;
    assert_eq!(ops[0].index, 0);
    assert_eq!(ops[0].time, Some(5));
    assert_eq!(ops[1].index, 1);
    assert_eq!(ops[2].index, 2, "ops without :index get their position");
    assert_eq!(ops[2].extra[0].1, Value::str("tab\there \"quoted\" \\ é"));
    // Two-element values come back split (key, value) until
    // `split_independent` decides; sets are never pairs.
    assert_eq!(ops[3].value, Value::from(vec![1i64, 2]));
    assert_eq!(
        ops[5].value,
        Value::List(vec![
            Value::str("a"),
            Value::Float(0.5),
            Value::Int(16),
            Value::Int(5),
            Value::Int(12)
        ])
    );
    assert_eq!(ops[4].value, Value::str("2020-01-01"));
}

#[test]
fn op_lines_count_multi_line_maps() {
    let text = "; header\n[{:type :invoke,\n  :f :read,\n  :process 0}\n {:type :ok, :f :read, :process 0, :value 1}]\n";
    let parsed = edn::read(text).unwrap();
    assert_eq!(parsed.lines, vec![2, 5]);
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!(
        "[{{:type :invoke, :process 0, :f :read, :value {}}}]",
        "[".repeat(100_000)
    );
    let e = edn::read(&deep).unwrap_err();
    assert!(e.message.contains("nested at most"), "{}", e.message);
}

#[test]
fn numbers_on_the_fast_path() {
    let text =
        "{:type :invoke, :process 0, :f :w, :value [12N -0 +3 1.5M 2.5e-3 9223372036854775807]}";
    let ops = edn::read(text).unwrap().ops;
    assert_eq!(
        ops[0].value,
        Value::List(vec![
            Value::Int(12),
            Value::Int(0),
            Value::Int(3),
            Value::Decimal("1.5".into()),
            Value::Float(0.0025),
            Value::Int(i64::MAX)
        ])
    );
    let ops = edn::read("{:type :invoke, :process 0, :f :w, :value 99999999999999999999}")
        .unwrap()
        .ops;
    assert_eq!(ops[0].value, Value::BigInt("99999999999999999999".into()));
}

#[test]
fn unicode_escapes_on_the_fast_path() {
    // clojure-reader 0.7 rejects \u escapes; EDN allows them.
    let ops = edn::read(r#"{:type :invoke, :process 0, :f :w, :value "caf\u00e9"}"#)
        .unwrap()
        .ops;
    assert_eq!(ops[0].value, Value::str("café"));
}

/// Reads `text` through the chunked reader with chunks of `chunk` bytes.
fn chunked(text: &str, format: Format, chunk: usize) -> Result<super::Parsed, (usize, String)> {
    let opts = ReadOptions {
        format: Some(format),
        ..ReadOptions::default()
    };
    parse_stream(
        text.as_bytes(),
        text.len(),
        std::path::Path::new("x"),
        &opts,
        chunk,
    )
    .map(|(_, parsed, _)| parsed)
    .map_err(|e| (e.line, e.message))
}

fn whole(text: &str, format: Format) -> Result<super::Parsed, (usize, String)> {
    let mut p = super::Parser::new(format, text.len(), &ReadOptions::default());
    p.feed(&super::Chunk::whole(text))
        .map_err(|e| (e.line, e.message))?;
    Ok(p.finish().0)
}

/// A read's outcome in a line, for failure messages.
fn brief(r: &Result<super::Parsed, (usize, String)>) -> String {
    match r {
        Ok(p) => format!("{} ops", p.ops.len()),
        Err(e) => format!("{e:?}"),
    }
}

fn assert_chunking_invisible(text: &str, format: Format, what: &str) {
    let expected = whole(text, format);
    for chunk in [1, 2, 7, 64, 1000, 1 << 20] {
        let got = chunked(text, format, chunk);
        match (&expected, &got) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a.ops, b.ops, "{what}, chunk {chunk}");
                assert_eq!(a.lines, b.lines, "{what}, chunk {chunk}");
                assert_eq!(a.split, b.split, "{what}, chunk {chunk}");
            }
            (Err(a), Err(b)) => assert_eq!(a, b, "{what}, chunk {chunk}"),
            _ => panic!(
                "{what}, chunk {chunk}: {} vs {}",
                brief(&expected),
                brief(&got)
            ),
        }
    }
}

#[test]
fn chunk_boundaries_are_invisible_on_the_corpus() {
    let Some(dir) = corpus() else { return };
    let files = files_under(&dir);
    // The multi-line maps and the comment-laden lists are the interesting ones.
    for f in files.iter().filter(|f| {
        let name = f.to_string_lossy();
        name.contains("multi-register")
            || name.contains("rethink")
            || name.contains("etcd")
            || name.contains("cas-failure")
    }) {
        let text = std::fs::read_to_string(f).unwrap();
        assert_chunking_invisible(&text, Format::Edn, &f.display().to_string());
    }
}

#[test]
fn chunk_boundaries_are_invisible_on_edge_cases() {
    let edn = "; c\n[{:type :invoke,\n :process 0, :f :w, :value \"multi\nline\"}\n #_{:x\n 1}\n {:type :ok, :process 0,\n :f :w, :value [1\n 2]}\n]\n; end\n";
    assert_chunking_invisible(edn, Format::Edn, "edn");
    for bad in [
        "[{:type :invoke, :process 0, :f :w}\n {:type :ok,\n :process 0",
        "[{:type :invoke, :process 0, :f :w}\n\n\n",
        "{:type :invoke, :process 0, :f :w, :value \"abc\n\ndef",
        "{:type :invoke, :process 0, :f :w}\n{:type :foo, :process 0, :f :w}\n",
        "[{:type :invoke, :process 0, :f :w}]\n{:x 1}\n",
    ] {
        assert!(whole(bad, Format::Edn).is_err(), "{bad}");
        assert_chunking_invisible(bad, Format::Edn, bad);
    }
    let jsonl = "{\"process\":0,\"type\":\"invoke\",\"f\":\"w\"}\n\n{\"process\":0,\"type\":\"ok\",\"f\":\"w\",\"value\":\"\\u00e9\"}\n{\"process\":1,";
    assert_chunking_invisible(jsonl, Format::Jsonl, "jsonl");
    let log = "x\nINFO jepsen.util - 0\t:invoke\t:w\t1\nINFO jepsen.util - 0\t:ok\t:w\t1\n";
    assert_chunking_invisible(log, Format::JepsenLog, "log");
}

#[test]
fn error_at_the_end_names_the_last_line_with_content() {
    let e = whole("[{:type :invoke, :process 0, :f :w}\n\n\n", Format::Edn).unwrap_err();
    assert_eq!(e.0, 1, "{}", e.1);
    let e = chunked(
        "[{:type :invoke, :process 0, :f :w}\n{:type :ok, :process 0, :f :w}\n\n\n",
        Format::Edn,
        8,
    )
    .unwrap_err();
    assert_eq!(e.0, 2, "{}", e.1);
}

#[test]
fn edn_lines_longer_than_a_chunk_are_cut_anywhere_invisibly() {
    // One line holding several ops: chunks then end mid-token, mid-string,
    // mid-character and inside comments and tags.
    let one_line = "; head\n[{:type :invoke, :f :w, :process 0, :value [\"é🦀\" :kéy 1.5M 12N 99999999999999999999 1.00000000000000000001 1e400 \\a #_ #_ 1 2 #inst \"t\" ##Inf #:ns{:a 1} 0x10]} ; mid\n{:type :ok, :f :w, :process 0, :value #{1 2}} #jepsen.history.Op{:type :invoke, :f :r, :process 1}] ; end";
    assert_chunking_invisible(one_line, Format::Edn, "one line");
    let parsed = whole(one_line, Format::Edn).unwrap();
    assert_eq!(parsed.ops.len(), 3);
    assert_eq!(parsed.lines, vec![2, 3, 3]);
    for bad in [
        "[{:type :invoke, :f :w, :process 0} {:type :ok, :f :w, :process 0, :value :x :y}]",
        "[{:type :invoke, :f :w, :process 0, :value #'x}]",
        "[{:type :invoke, :f :w, :process 0, :value #:",
        "[{:type :invoke, :f :w, :process 0, :value [1 #_]}]",
    ] {
        assert!(whole(bad, Format::Edn).is_err(), "{bad}");
        assert_chunking_invisible(bad, Format::Edn, bad);
    }
    // A discarded number between ops may end a chunk mid-digits: it must be
    // read whole from the next chunk, not as `123` and then an op `456789`.
    for discarded in [
        "[#_ 123456789 {:type :invoke, :f :w, :process 0}]",
        "#_ -123456789 {:type :invoke, :f :w, :process 0}",
    ] {
        assert_eq!(whole(discarded, Format::Edn).unwrap().ops.len(), 1);
        assert_chunking_invisible(discarded, Format::Edn, discarded);
    }
}

#[test]
fn the_clojure_reader_path_sees_one_bounded_op_at_a_time() {
    // Deep nesting fails in the probe before clojure-reader (quadratic in
    // depth) sees any of it, with the same line as the fast path.
    let deep = format!(
        "{{:type :invoke, :process 0, :f :read}}\n{{:type :invoke, :process 1, :f :read, :value {}1{}}}",
        "[".repeat(50_000),
        "]".repeat(50_000)
    );
    let fast = edn::read(&deep).unwrap_err();
    let slow = edn::read_with_clojure_reader(&deep).unwrap_err();
    assert_eq!((fast.line, &fast.message), (slow.line, &slow.message));
    assert!(
        fast.message.contains("nested at most 128 deep"),
        "{}",
        fast.message
    );
}
