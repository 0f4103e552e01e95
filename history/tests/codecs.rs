//! The codecs through their public API: round trips, detection, independent
//! keys, streaming, and bad input with the line it is on.

mod common;

use std::io::Write;
use std::path::Path;

use splitbrain_history::codec::{
    Format, JsonlWriter, ReadError, ReadOptions, detect_format, load_str, read_path, read_str,
    write_jsonl,
};
use splitbrain_history::{Op, OpType, Process, Value};

fn opts() -> ReadOptions {
    ReadOptions::default()
}

fn with_format(format: Format) -> ReadOptions {
    ReadOptions {
        format: Some(format),
        ..ReadOptions::default()
    }
}

fn err(text: &str, name: &str) -> ReadError {
    match read_str(text, name, &opts()) {
        Ok(h) => panic!("{name}: expected an error, read {} ops", h.len()),
        Err(e) => e,
    }
}

/// Asserts the error is on `line` and its message contains every one of `parts`.
fn assert_err(e: &ReadError, file: &str, line: usize, parts: &[&str]) {
    assert_eq!(e.file, file, "{e}");
    assert_eq!(e.line, Some(line), "{e}");
    assert!(
        e.to_string().starts_with(&format!("{file}:{line}: ")),
        "{e}"
    );
    for p in parts {
        assert!(e.message.contains(p), "expected {p:?} in: {e}");
    }
}

fn to_jsonl(ops: &[Op]) -> String {
    let mut buf = Vec::new();
    write_jsonl(ops, &mut buf).unwrap();
    String::from_utf8(buf).unwrap()
}

// ---------------------------------------------------------------- round trips

#[test]
fn edn_to_jsonl_and_back_is_identical_on_the_corpus() {
    let Some(dir) = common::corpus() else { return };
    for f in common::files_under(&dir) {
        let h = read_path(&f, &opts()).unwrap();
        let text = to_jsonl(h.ops());
        assert_eq!(text.lines().count(), h.len());
        let back = read_str(&text, "h.jsonl", &opts()).unwrap();
        assert_eq!(back.ops(), h.ops(), "{}", f.display());
    }
}

#[test]
fn edn_to_jsonl_and_back_keeps_every_field() {
    let edn = r#"[{:type :invoke, :f :write, :value [1 2], :process 0, :time 10, :node "n1", :debug {:a [1 "x"]}}
 {:type :ok, :f :write, :value [1 2], :process 0, :time 20, :error nil}
 {:type :info, :f :start-partition, :value [:n1 :n2], :process :nemesis}
 {:type :info, :f :stop, :process :nemesis, :extra-num 1.5}]"#;
    let h = read_str(edn, "h.edn", &opts()).unwrap();
    let ops = h.ops();
    assert_eq!(ops[0].node, Some(Value::str("n1")));
    assert_eq!(ops[0].extra[0].0.as_ref(), "debug");
    assert_eq!(ops[1].error, Some(Value::Nil));
    assert_eq!(ops[2].process, Process::Nemesis);
    assert_eq!(ops[3].process, Process::Nemesis);
    assert!(ops[3].value.is_nil());
    assert_eq!(ops[3].extra, vec![("extra-num".into(), Value::Float(1.5))]);
    let text = to_jsonl(ops);
    assert!(text.starts_with(r#"{"index":0,"time":10,"process":0,"type":"invoke","f":"write","value":[1,2],"node":"n1","debug":{"a":[1,"x"]}}"#), "{text}");
    let back = read_str(&text, "h.jsonl", &opts()).unwrap();
    assert_eq!(back.ops(), ops);
}

#[test]
fn edn_one_map_per_line_and_tagged_records() {
    let text = "#jepsen.history.Op{:index 0, :time 1, :type :invoke, :process 0, :f :read, :value nil}\n\
                #jepsen.history.Op{:index 1, :time 2, :type :ok, :process 0, :f :read, :value 3}\n";
    let h = read_str(text, "history.edn", &opts()).unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h.ops()[1].value, Value::Int(3));
    assert_eq!(h.completion(0), Some(1));
    // Detected by content too.
    assert_eq!(detect_format(Path::new("history"), text), Format::Edn);
}

const LOG: &str = "\
2017-03-21 15:00:00,001{GMT}\tINFO\t[main] jepsen.core: Running test\n\
INFO  jepsen.util - 3\t:invoke\t:cas\t[3 0]\n\
INFO  jepsen.util - 4\t:invoke\t:read\tnil\n\
INFO  jepsen.util - :nemesis\t:info\t:start\tnil\n\
INFO  jepsen.util - 3\t:fail\t:cas\t[3 0]\n\
2017-03-21 15:00:01,002{GMT}\tINFO\t[jepsen worker 4] jepsen.util: 4\t:ok\t:read\t3\n\
\tat clojure.core$eval.invoke(core.clj:3)\n\
INFO  jepsen.util - :nemesis\t:info\t:start\t\"Cut off {:n1 #{:n2}}\"\n\
INFO  jepsen.util - 5\t:invoke\t:write\t4\n\
INFO  jepsen.util - 5\t:info\t:write\t4\tindeterminate: Read timed out\n\
INFO  jepsen.util - 6\t:invoke\t:write\t1\n\
INFO  jepsen.util - 6\t:fail\t:write\t1\t[:not-found \"gone\"]\n";

#[test]
fn log_lines_read_to_the_same_ops_as_edn() {
    let h = read_str(LOG, "jepsen.log", &opts()).unwrap();
    let edn = r#"[{:process 3, :type :invoke, :f :cas, :value [3 0]}
{:process 4, :type :invoke, :f :read, :value nil}
{:process :nemesis, :type :info, :f :start, :value nil}
{:process 3, :type :fail, :f :cas, :value [3 0]}
{:process 4, :type :ok, :f :read, :value 3}
{:process :nemesis, :type :info, :f :start, :value "Cut off {:n1 #{:n2}}"}
{:process 5, :type :invoke, :f :write, :value 4}
{:process 5, :type :info, :f :write, :value 4, :error "indeterminate: Read timed out"}
{:process 6, :type :invoke, :f :write, :value 1}
{:process 6, :type :fail, :f :write, :value 1, :error [:not-found "gone"]}]"#;
    let expected = read_str(edn, "h.edn", &opts()).unwrap();
    assert_eq!(h.ops(), expected.ops());
    // Detected by content (no telling extension), and its history.txt cousin.
    assert_eq!(detect_format(Path::new("out.txt"), LOG), Format::JepsenLog);
    let txt = "3\t:invoke\t:read\tnil\n3\t:ok\t:read\t1\n";
    assert_eq!(
        detect_format(Path::new("history.txt"), txt),
        Format::JepsenLog
    );
    let h = read_str(txt, "history.txt", &opts()).unwrap();
    assert_eq!(h.ops()[1].value, Value::Int(1));
}

// ------------------------------------------------------------ format choice

#[test]
fn formats_parse_display_and_detect() {
    for (s, f) in [
        ("jsonl", Format::Jsonl),
        ("json", Format::Jsonl),
        ("edn", Format::Edn),
        ("jepsen-log", Format::JepsenLog),
        ("log", Format::JepsenLog),
    ] {
        assert_eq!(s.parse::<Format>(), Ok(f));
    }
    for f in Format::ALL {
        assert_eq!(f.to_string().parse::<Format>(), Ok(f));
    }
    let e = "yaml".parse::<Format>().unwrap_err();
    assert!(e.contains("jsonl, edn, jepsen-log"), "{e}");

    assert_eq!(detect_format(Path::new("a.jsonl"), "["), Format::Jsonl);
    assert_eq!(detect_format(Path::new("a.EDN"), "{\"x\":1}"), Format::Edn);
    assert_eq!(
        detect_format(Path::new("jepsen.log"), ""),
        Format::JepsenLog
    );
    assert_eq!(
        detect_format(Path::new("h"), "  {\"index\":0}"),
        Format::Jsonl
    );
    assert_eq!(detect_format(Path::new("h"), "{:type :ok}"), Format::Edn);
    assert_eq!(detect_format(Path::new("h"), "; comment\n[]"), Format::Edn);
    assert_eq!(detect_format(Path::new("h"), "({:a 1})"), Format::Edn);
}

#[test]
fn format_override_beats_detection() {
    // A .log file that actually holds EDN reads with --format edn...
    let edn = "[{:process 0, :type :invoke, :f :read}]";
    let h = read_str(edn, "h.log", &with_format(Format::Edn)).unwrap();
    assert_eq!(h.len(), 1);
    // ...while detection by extension finds no op line in it.
    assert_eq!(read_str(edn, "h.log", &opts()).unwrap().len(), 0);
    // And JSON forced onto EDN says what it expected.
    let e = read_str(edn, "h.edn", &with_format(Format::Jsonl)).unwrap_err();
    assert_err(&e, "h.edn", 1, &["op object"]);
}

// --------------------------------------------------------- independent keys

const TUPLES: &str = r#"[{:process 0, :type :invoke, :f :write, :value [7 1]}
{:process 1, :type :invoke, :f :read, :value [8 nil]}
{:process 0, :type :ok, :f :write, :value [7 1]}
{:process 1, :type :ok, :f :read, :value [8 3]}
{:process :nemesis, :type :info, :f :start, :value nil}
{:process 2, :type :invoke, :f :cas, :value [7 [1 2]]}]"#;

#[test]
fn independent_tuples_are_detected() {
    let loaded = load_str(TUPLES, "h.edn", &opts()).unwrap();
    assert!(loaded.split_independent);
    let ops = loaded.history.ops();
    assert_eq!(ops[0].key, Some(Value::Int(7)));
    assert_eq!(ops[0].value, Value::Int(1));
    assert_eq!(ops[1].key, Some(Value::Int(8)));
    assert!(ops[1].value.is_nil());
    assert_eq!(ops[3].value, Value::Int(3));
    assert_eq!(ops[4].key, None, "nemesis ops are not split");
    assert_eq!(ops[5].value, Value::from(vec![1i64, 2]));
    // Split once: the JSONL form carries "key" and reads back unchanged.
    let back = load_str(&to_jsonl(ops), "h.jsonl", &opts()).unwrap();
    assert!(!back.split_independent);
    assert_eq!(back.history.ops(), ops);
}

#[test]
fn cas_register_pairs_are_not_tuples() {
    // Every value here is a pair, but there is no read returning a pair.
    let cas = r#"[{:process 0, :type :invoke, :f :cas, :value [1 2]}
{:process 0, :type :fail, :f :cas, :value [1 2]}
{:process 1, :type :invoke, :f :read, :value nil}
{:process 1, :type :ok, :f :read, :value 1}]"#;
    let loaded = load_str(cas, "h.edn", &opts()).unwrap();
    assert!(!loaded.split_independent);
    assert_eq!(loaded.history.ops()[0].value, Value::from(vec![1i64, 2]));
    // A history without reads is never split unless asked.
    let only_cas = r#"[{:process 0, :type :invoke, :f :cas, :value [1 2]}
{:process 0, :type :ok, :f :cas, :value [1 2]}]"#;
    assert!(
        !load_str(only_cas, "h.edn", &opts())
            .unwrap()
            .split_independent
    );
    let forced = ReadOptions {
        independent: Some(true),
        ..opts()
    };
    let loaded = load_str(only_cas, "h.edn", &forced).unwrap();
    assert!(loaded.split_independent);
    assert_eq!(loaded.history.ops()[1].key, Some(Value::Int(1)));
}

#[test]
fn independent_override() {
    let off = ReadOptions {
        independent: Some(false),
        ..opts()
    };
    let loaded = load_str(TUPLES, "h.edn", &off).unwrap();
    assert!(!loaded.split_independent);
    assert_eq!(loaded.history.ops()[0].value, Value::from(vec![7i64, 1]));
    // Forcing it on a history with an invocation that is not a tuple says
    // which line; completions need not be tuples (they take their
    // invocation's key).
    let on = ReadOptions {
        independent: Some(true),
        ..opts()
    };
    let mixed = "{:process 0, :type :invoke, :f :write, :value [7 1]}\n\
                 {:process 0, :type :ok, :f :write, :value 1}\n\
                 {:process 0, :type :invoke, :f :write, :value 2}\n";
    let e = read_str(mixed, "h.edn", &on).unwrap_err();
    assert_err(
        &e,
        "h.edn",
        3,
        &[
            "expected :value to be an independent [key value] tuple",
            "found 2",
        ],
    );
    // A native `key` field needs no tuples.
    let keyed = r#"{"process":0,"type":"invoke","f":"read","key":"a","value":null}"#;
    let h = read_str(keyed, "h.jsonl", &on).unwrap();
    assert_eq!(h.ops()[0].key, Some(Value::str("a")));
}

// --------------------------------------------------------------- bad input

#[test]
fn edn_bad_input_names_the_line() {
    let ok = "{:process 0, :type :invoke, :f :read}\n";
    // The example of the issue, verbatim.
    let e = err(
        &format!(
            "{}{}",
            ok.repeat(11).replace("invoke", "info"),
            "{:process 0, :type :foo, :f :read}"
        ),
        "h.edn",
    );
    assert_eq!(
        e.to_string(),
        "h.edn:12: expected :type to be one of :invoke :ok :fail :info, found :foo"
    );
    // Truncated: the vector never closes / a map never closes.
    let e = err(
        "[{:process 0, :type :invoke, :f :read}\n {:process 0, :type :ok, :f :read}\n",
        "t.edn",
    );
    assert_err(
        &e,
        "t.edn",
        2,
        &[
            "expected `]` to close the vector of ops opened at line 1",
            "end of the file",
        ],
    );
    let e = err(
        "[{:process 0, :type :invoke, :f :read}\n {:process 0, :type :ok,\n  :f :re",
        "t.edn",
    );
    assert_err(
        &e,
        "t.edn",
        3,
        &[
            "expected `}` to close the op map opened at line 2",
            "truncated",
        ],
    );
    let e = err(
        "[{:process 0, :type :invoke, :f :read, :value \"abc",
        "t.edn",
    );
    assert_err(&e, "t.edn", 1, &["expected `\"` to close the string"]);
    let e = err(
        "[{:process 0, :type :invoke, :f :read, :value [1 2",
        "t.edn",
    );
    assert_err(
        &e,
        "t.edn",
        1,
        &["expected `]` to close the vector opened at line 1"],
    );
    // Wrong field types.
    let e = err("[\n{:process \"x\", :type :invoke, :f :read}]", "p.edn");
    assert_err(
        &e,
        "p.edn",
        2,
        &["process \"x\" is a string: a client process is an integer; only :nemesis may be named"],
    );
    let e = err("{:process -1, :type :invoke, :f :read}", "p.edn");
    assert_err(&e, "p.edn", 1, &["expected :process", "found -1"]);
    let e = err("{:process 0, :type :invoke, :f 3}", "p.edn");
    assert_err(
        &e,
        "p.edn",
        1,
        &["expected :f to be a keyword such as :read, found 3"],
    );
    let e = err("{:process 0, :type :invoke, :f :read, :time 1.5}", "p.edn");
    assert_err(
        &e,
        "p.edn",
        1,
        &["expected :time to be an integer (nanoseconds), found 1.5"],
    );
    let e = err("{:process 0, :type \"invoke\", :f :read}", "p.edn");
    assert_err(
        &e,
        "p.edn",
        1,
        &["expected :type to be one of", "found \"invoke\""],
    );
    let e = err("{:process 0, :type :invoke, :f :read, :index :x}", "p.edn");
    assert_err(
        &e,
        "p.edn",
        1,
        &["expected :index to be a non-negative integer, found :x"],
    );
    let e = err("{:process 0, :type :invoke, :f :read, :f :write}", "p.edn");
    assert_err(&e, "p.edn", 1, &[":f appears twice"]);
    let e = err("\n\n{:process 0, :type :invoke}", "m.edn");
    assert_err(&e, "m.edn", 3, &["expected the op to have :f"]);
    let e = err("{:process 0, 3 :invoke}", "m.edn");
    assert_err(&e, "m.edn", 1, &["expected a keyword key such as :type"]);
    // Not an op at all; garbage after the vector.
    let e = err("[{:process 0, :type :invoke, :f :read}\n [1 2]]", "n.edn");
    assert_err(&e, "n.edn", 2, &["expected an op map", "found `[1 2]]`"]);
    let e = err("[{:process 0, :type :invoke, :f :read}]\n]", "n.edn");
    assert_err(
        &e,
        "n.edn",
        2,
        &["expected the end of the file after the history's closing `]`"],
    );
    let e = err("[{:process 0, :type :invoke, :f :read, :value }]", "n.edn");
    assert_err(&e, "n.edn", 1, &["expected a value for :value, found `}`"]);
    let e = err("[{:process 0, :type :invoke, :f :read, :value ]}]", "n.edn");
    assert_err(
        &e,
        "n.edn",
        1,
        &["expected a value, found an unmatched `]`"],
    );
    // Something only clojure-reader knows how to reject, still with its line.
    let e = err(
        "{:process 0, :type :invoke, :f :read}\n{:process 0, :type :ok, :f :read, :value #:x}",
        "c.edn",
    );
    assert_eq!(e.line, Some(2), "{e}");
}

#[test]
fn edn_validation_errors_name_the_line() {
    let e = err(
        "; header\n[{:process 0, :type :ok, :f :read, :value 1}]",
        "v.edn",
    );
    assert_err(
        &e,
        "v.edn",
        2,
        &[
            "ok of read on process 0 has no open invocation",
            "expected an invoke",
        ],
    );
    let e = err(
        "[{:process 0, :type :invoke, :f :read}\n {:process 0, :type :invoke, :f :write, :value 1}]",
        "v.edn",
    );
    assert_err(&e, "v.edn", 2, &["invoked at line 1 is still open"]);
    let e = err(
        "[{:process 0, :type :invoke, :f :read}\n {:process 0, :type :info, :f :read}\n {:process 0, :type :invoke, :f :read}]",
        "v.edn",
    );
    assert_err(
        &e,
        "v.edn",
        3,
        &[
            "after its op at line 2 ended with info",
            "must not be reused",
        ],
    );
    let e = err(
        "[{:process 0, :type :invoke, :f :read}\n {:process 0, :type :ok, :f :write}]",
        "v.edn",
    );
    assert_err(
        &e,
        "v.edn",
        2,
        &["completes an invocation of read (at line 1)"],
    );
}

#[test]
fn jsonl_bad_input_names_the_line() {
    let inv = r#"{"process":0,"type":"invoke","f":"read","value":null}"#;
    let e = err(
        &format!("{inv}\n{}", r#"{"process":0,"type":"foo","f":"read"}"#),
        "h.jsonl",
    );
    assert_eq!(
        e.to_string(),
        r#"h.jsonl:2: expected "type" to be one of "invoke" "ok" "fail" "info", found "foo""#
    );
    let e = err(
        &format!("{inv}\n\n{}", r#"{"process":true,"type":"ok","f":"read"}"#),
        "h.jsonl",
    );
    assert_err(
        &e,
        "h.jsonl",
        3,
        &[r#"expected "process" to be a non-negative integer or "nemesis", found true"#],
    );
    let e = err(r#"{"process":0,"type":"invoke","f":["read"]}"#, "h.jsonl");
    assert_err(
        &e,
        "h.jsonl",
        1,
        &[r#"expected "f" to be a string such as "read", found ["read"]"#],
    );
    let e = err(
        r#"{"process":0,"type":"invoke","f":"read","time":"soon"}"#,
        "h.jsonl",
    );
    assert_err(
        &e,
        "h.jsonl",
        1,
        &[r#"expected "time" to be an integer (nanoseconds), found "soon""#],
    );
    let e = err(r#"{"process":0,"type":"invoke"}"#, "h.jsonl");
    assert_err(&e, "h.jsonl", 1, &[r#"expected the op to have "f""#]);
    // Not JSON, not an object, trailing garbage, a line cut mid-file.
    let e = err(&format!("{inv}\nnot json\n"), "h.jsonl");
    assert_err(
        &e,
        "h.jsonl",
        2,
        &["invalid JSON at column 2", "one op object per line"],
    );
    let e = err("[1,2]\n", "h.jsonl");
    assert_err(&e, "h.jsonl", 1, &["op object"]);
    let e = err(&format!("{inv} x\n"), "h.jsonl");
    assert_err(&e, "h.jsonl", 1, &["invalid JSON"]);
    let e = err(&format!("{}\n{inv}\n", &inv[..20]), "h.jsonl");
    assert_err(&e, "h.jsonl", 1, &["invalid JSON", "EOF"]);
    // Validation.
    let e = err(
        &format!(
            "{inv}\n{}\n",
            r#"{"process":1,"type":"ok","f":"read","value":1}"#
        ),
        "h.jsonl",
    );
    assert_err(
        &e,
        "h.jsonl",
        2,
        &["ok of read on process 1 has no open invocation"],
    );
}

#[test]
fn log_bad_input_names_the_line() {
    let e = err("INFO  jepsen.util - 3\t:invok\t:read\tnil\n", "j.log");
    assert_err(
        &e,
        "j.log",
        1,
        &["expected :type to be one of :invoke :ok :fail :info, found :invok"],
    );
    let e = err(
        "noise\nINFO  jepsen.util - x\t:invoke\t:read\tnil\n",
        "j.log",
    );
    assert_err(
        &e,
        "j.log",
        2,
        &["process x is a symbol: a client process is an integer; only :nemesis may be named"],
    );
    let e = err("INFO  jepsen.util - 3\t:invoke\n", "j.log");
    assert_err(&e, "j.log", 1, &["expected a tab and the op's function"]);
    let e = err("INFO  jepsen.util - 3\t:invoke\t:read\t[1 2\n", "j.log");
    assert_err(&e, "j.log", 1, &["in the op's value", "expected `]`"]);
    let e = err("INFO  jepsen.util - 3\t:invoke\t:read\t1 2\n", "j.log");
    assert_err(
        &e,
        "j.log",
        1,
        &["expected a tab and the op's error after its value, found `2`"],
    );
    let e = err("INFO  jepsen.util - 3\t:ok\t:read\t1\n", "j.log");
    assert_err(&e, "j.log", 1, &["has no open invocation"]);
}

#[test]
fn file_problems_name_the_file() {
    let e = read_path(Path::new("/nonexistent/h.edn"), &opts()).unwrap_err();
    assert_eq!(e.file, "/nonexistent/h.edn");
    assert_eq!(e.line, None);
    assert!(
        e.to_string()
            .starts_with("/nonexistent/h.edn: cannot read the history"),
        "{e}"
    );
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("h.jsonl");
    std::fs::write(
        &bin,
        b"{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n\xff\xfe\n",
    )
    .unwrap();
    let e = read_path(&bin, &opts()).unwrap_err();
    assert_eq!(e.line, Some(2), "{e}");
    assert!(e.message.contains("expected UTF-8 text"), "{e}");
    // Empty files are empty histories.
    let empty = dir.path().join("empty.edn");
    std::fs::write(&empty, "; nothing yet\n").unwrap();
    assert!(read_path(&empty, &opts()).unwrap().is_empty());
}

// ----------------------------------------------------------------- streaming

fn register_op(i: u64) -> Op {
    let p = i / 2 % 10;
    let kind = if i.is_multiple_of(2) {
        OpType::Invoke
    } else {
        OpType::Ok
    };
    let mut op = Op::new(Process::Client(p), kind, "write", Value::Int(i as i64 / 2));
    op.index = i;
    op.time = Some(i as i64 * 1000);
    op
}

#[test]
fn streamed_history_cut_mid_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    let ops: Vec<Op> = (0..1000).map(register_op).collect();
    {
        let mut w = JsonlWriter::new(std::fs::File::create(&path).unwrap());
        for op in &ops {
            w.write(op).unwrap();
        }
        w.flush().unwrap();
    }
    // Complete: reads back exactly.
    assert_eq!(read_path(&path, &opts()).unwrap().ops(), &ops[..]);
    // Cut the last line in half, as a controller killed mid-write leaves it.
    let len = std::fs::metadata(&path).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len - 30)
        .unwrap();
    let e = read_path(&path, &opts()).unwrap_err();
    assert_err(
        &e,
        &path.display().to_string(),
        1000,
        &["last line is cut off", "allow a truncated tail"],
    );
    let lenient = ReadOptions {
        allow_truncated_tail: true,
        ..opts()
    };
    let loaded = splitbrain_history::codec::load_path(&path, &lenient).unwrap();
    assert_eq!(loaded.history.ops(), &ops[..999]);
    assert_eq!(loaded.warnings.len(), 1);
    assert_eq!(loaded.warnings[0].line, Some(1000));
    assert!(
        loaded.warnings[0]
            .to_string()
            .contains(":1000: the last line is cut off")
    );
    // The dropped completion leaves its invocation open: indeterminate.
    assert_eq!(loaded.history.completion(998), None);

    // Appending continues the file; a bad line in the middle is never forgiven.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    writeln!(f).unwrap();
    drop(f);
    let e = read_path(&path, &lenient).unwrap_err();
    assert_eq!(e.line, Some(1000), "{e}");
}

#[test]
fn truncated_log_tail() {
    let cut = "INFO  jepsen.util - 3\t:invoke\t:read\tnil\nINFO  jepsen.util - 3\t:ok\t:read\t[1 ";
    let e = err(cut, "j.log");
    assert_eq!(e.line, Some(2));
    let lenient = ReadOptions {
        allow_truncated_tail: true,
        ..opts()
    };
    let loaded = load_str(cut, "j.log", &lenient).unwrap();
    assert_eq!(loaded.history.len(), 1);
    assert_eq!(loaded.warnings.len(), 1);
}

#[test]
fn files_larger_than_a_chunk_read_like_strings() {
    // ~2.6 MB over three 1 MiB chunks, with multi-line op maps, comments and a
    // string holding a newline, so chunk cuts land inside ops.
    let mut text = String::from("; big\n[");
    for i in 0..20_000u64 {
        let p = i % 50;
        text.push_str(&format!(
            "{{:type :invoke,\n  :f :read, :value [{} nil], :process {p}}}\n ; op {i}\n",
            i % 7
        ));
        text.push_str(&format!(
            "{{:type :ok, :f :read, :value [{} {i}], :process {p}, :note \"a\nb\"}}\n",
            i % 7
        ));
    }
    text.push_str("]\n");
    assert!(
        text.len() > 2 << 20,
        "{} bytes: spans three chunks",
        text.len()
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.edn");
    std::fs::write(&path, &text).unwrap();
    let from_file = splitbrain_history::codec::load_path(&path, &opts()).unwrap();
    let from_str = load_str(&text, "big.edn", &opts()).unwrap();
    assert!(from_file.split_independent);
    assert_eq!(from_file.history.len(), 40_000);
    assert_eq!(from_file.history.ops(), from_str.history.ops());
    // Line numbers survive the chunking: break the last op.
    let bad = text.replacen(
        ":type :ok, :f :read, :value [0 19999]",
        ":type :ok, :f :read, :value [0 19999], :time x",
        1,
    );
    std::fs::write(&path, &bad).unwrap();
    let e = read_path(&path, &opts()).unwrap_err();
    let expected_line = bad.lines().position(|l| l.contains(":time x")).unwrap() + 1;
    assert_eq!(e.line, Some(expected_line), "{e}");
    assert!(e.message.contains("expected :time to be an integer"), "{e}");
}
