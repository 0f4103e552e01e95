//! Issue 11 ("Trust"): inputs that used to read as something they are not.
//! Big numbers collapsing onto their neighbours, named processes left out of
//! every check, independent tuples missed, hostile EDN crashing the reader,
//! endless input. Small fixtures are in `fixtures/hostile/`; the large
//! hostile inputs are generated here.

use std::cell::Cell;
use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use splitbrain_history::codec::{
    self, Format, Loaded, ReadError, ReadOptions, load_path, load_str, read_str, write_jsonl,
};
use splitbrain_history::{Op, OpType, Process, Value};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hostile")
        .join(name)
}

fn load(name: &str) -> Result<Loaded, ReadError> {
    load_path(&fixture(name), &ReadOptions::default())
}

fn values(loaded: &Loaded) -> Vec<Value> {
    loaded
        .history
        .ops()
        .iter()
        .map(|op| op.value.clone())
        .collect()
}

/// The value of a one-op history in each format, `text` written as is.
fn read_everywhere(text: &str) -> [Value; 3] {
    let jsonl = format!(r#"{{"process":0,"type":"invoke","f":"write","value":{text}}}"#);
    let edn = format!("{{:process 0, :type :invoke, :f :write, :value {text}}}");
    let log = format!("INFO  jepsen.util - 0\t:invoke\t:write\t{text}\n");
    let one = |t: &str, name: &str| {
        let h = read_str(t, name, &ReadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        h.ops()[0].value.clone()
    };
    [
        one(&jsonl, "h.jsonl"),
        one(&edn, "h.edn"),
        one(&log, "jepsen.log"),
    ]
}

fn big(s: &str) -> Value {
    Value::BigInt(s.into())
}

fn dec(s: &str) -> Value {
    Value::Decimal(s.into())
}

// ------------------------------------------------------------------ numbers

#[test]
fn big_integers_do_not_collapse_onto_their_neighbours() {
    for name in ["big-integers.jsonl", "big-integers.edn", "big-integers.log"] {
        let loaded = load(name).unwrap_or_else(|e| panic!("{e}"));
        let v = values(&loaded);
        assert_eq!(v[0], big("18446744073709551615"), "{name}");
        assert_eq!(v[1], big("18446744073709551615"), "{name}: 123N is 123");
        assert_eq!(v[3], big("18446744073709551000"), "{name}");
        assert_ne!(v[1], v[3], "{name}: the read is not the write");
        assert_eq!(v[3].kind_name(), "a big integer");
    }
}

#[test]
fn decimals_do_not_collapse_onto_floats_or_each_other() {
    let edn = values(&load("decimals.edn").unwrap());
    assert_eq!(edn[1], dec("1.00000000000000000001"));
    assert_eq!(edn[3], dec("1"), "1.0M is the decimal 1");
    assert_ne!(edn[1], edn[3]);
    assert_eq!(edn[1].kind_name(), "a decimal");
    // JSON has no decimals: more digits than an f64 keeps read exactly...
    let json = values(&load("decimals.jsonl").unwrap());
    assert_eq!(json[1], dec("1.00000000000000000001"));
    // ...and the same text reads the same in EDN.
    assert_eq!(json[1], edn[1]);
    // A float an f64 holds stays a float, and differs from the decimal.
    assert_eq!(json[3], Value::Float(1.0));
    assert_ne!(json[1], json[3]);
}

#[test]
fn every_format_reads_a_number_text_the_same() {
    let huge = format!("1{}", "0".repeat(400));
    for (text, expected) in [
        ("9223372036854775807", Value::Int(i64::MAX)),
        ("-9223372036854775808", Value::Int(i64::MIN)),
        ("18446744073709551615", big("18446744073709551615")),
        ("-18446744073709551616", big("-18446744073709551616")),
        (
            "123456789012345678901234567890123456789012345678901234567890",
            big("123456789012345678901234567890123456789012345678901234567890"),
        ),
        // Beyond f64's range, which serde_json refuses on its own.
        (huge.as_str(), big(&huge)),
        ("1.5", Value::Float(1.5)),
        ("0.1", Value::Float(0.1)),
        ("-2.5e-3", Value::Float(-0.0025)),
        ("0.30000000000000004", Value::Float(0.30000000000000004)),
        ("1.00000000000000000001", dec("1.00000000000000000001")),
        ("0.10000000000000001", dec("0.10000000000000001")),
        ("1e400", dec("1E400")),
        ("-1e-400", dec("-1E-400")),
    ] {
        let [jsonl, edn, log] = read_everywhere(text);
        assert_eq!(jsonl, expected, "JSON Lines: {text}");
        assert_eq!(edn, expected, "EDN: {text}");
        assert_eq!(log, expected, "log lines: {text}");
    }
}

#[test]
fn numbers_in_nested_values_and_other_fields_are_exact_too() {
    let line = r#"{"process":0,"type":"invoke","f":"w","value":[1,{"a":[18446744073709551616,1.00000000000000000001]}],"extra":1e400}"#;
    let h = read_str(line, "h.jsonl", &ReadOptions::default()).unwrap();
    let op = &h.ops()[0];
    assert_eq!(
        op.value,
        Value::List(vec![
            Value::Int(1),
            Value::Map(vec![(
                Value::str("a"),
                Value::List(vec![
                    big("18446744073709551616"),
                    dec("1.00000000000000000001")
                ])
            )])
        ])
    );
    assert_eq!(op.extra, vec![("extra".into(), dec("1E400"))]);
    // Numbers inside strings are text, whatever they look like.
    let line =
        r#"{"process":0,"type":"invoke","f":"w","value":"1e400","note":"-1.5 \" 2e9999","n":2.5}"#;
    let h = read_str(line, "h.jsonl", &ReadOptions::default()).unwrap();
    assert_eq!(h.ops()[0].value, Value::str("1e400"));
    assert_eq!(h.ops()[0].extra[1].1, Value::Float(2.5));
}

#[test]
fn edn_decimal_and_bigint_literals_are_canonical() {
    let [a, b, c] = ["1.50M", "1.5M", "+0001.5000M"].map(read_everywhere_edn);
    assert_eq!(a, dec("1.5"));
    assert_eq!(a, b);
    assert_eq!(b, c);
    assert_eq!(read_everywhere_edn("12N"), Value::Int(12));
    assert_eq!(read_everywhere_edn("1e3M"), dec("1000"));
    assert_ne!(read_everywhere_edn("1.5M"), Value::Float(1.5));
    assert_eq!(read_everywhere_edn("##Inf"), Value::Float(f64::INFINITY));
    assert_eq!(
        read_everywhere_edn("99999999999999999999N"),
        big("99999999999999999999")
    );
}

fn read_everywhere_edn(text: &str) -> Value {
    let edn = format!("{{:process 0, :type :invoke, :f :write, :value {text}}}");
    let log = format!("0\t:invoke\t:write\t{text}\n");
    let a = read_str(&edn, "h.edn", &ReadOptions::default()).unwrap();
    let b = read_str(&log, "history.txt", &ReadOptions::default()).unwrap();
    assert_eq!(a.ops()[0].value, b.ops()[0].value, "{text}");
    a.ops()[0].value.clone()
}

#[test]
fn big_numbers_survive_jsonl_round_trips() {
    let huge = format!("-9{}", "8".repeat(60));
    let edn = format!(
        "[{{:process 0, :type :invoke, :f :write, :value [18446744073709551615 {huge} 1.00000000000000000001M 1e400M 170141183460469231731687303715884105728]}}]"
    );
    let h = read_str(&edn, "h.edn", &ReadOptions::default()).unwrap();
    let mut buf = Vec::new();
    write_jsonl(h.ops(), &mut buf).unwrap();
    let text = String::from_utf8(buf).unwrap();
    assert!(
        text.contains(&format!(
            "[18446744073709551615,{huge},1.00000000000000000001,1E400,170141183460469231731687303715884105728]"
        )),
        "exact digits, as JSON numbers: {text}"
    );
    let back = read_str(&text, "h.jsonl", &ReadOptions::default()).unwrap();
    assert_eq!(back.ops(), h.ops());
    // What JSON cannot say: a decimal an f64 holds reads back as that float.
    let h = read_str(
        "{:process 0, :type :invoke, :f :w, :value 1.5M}",
        "h.edn",
        &ReadOptions::default(),
    )
    .unwrap();
    let mut buf = Vec::new();
    write_jsonl(h.ops(), &mut buf).unwrap();
    let back = read_str(
        std::str::from_utf8(&buf).unwrap(),
        "h.jsonl",
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(back.ops()[0].value, Value::Float(1.5));
}

#[test]
fn big_values_display_hash_and_deserialize_exactly() {
    assert_eq!(
        big("18446744073709551615").to_string(),
        "18446744073709551615"
    );
    assert_eq!(dec("1.5").to_string(), "1.5M");
    let set: HashSet<Value> = [
        big("18446744073709551615"),
        big("18446744073709551000"),
        dec("1"),
        Value::Int(1),
        Value::Float(1.0),
        big("18446744073709551615"),
    ]
    .into_iter()
    .collect();
    assert_eq!(set.len(), 5);
    // Plain serde (outside the history reader) keeps u64s exact as well.
    let v: Value = serde_json::from_str("[18446744073709551615,18446744073709551000]").unwrap();
    assert_eq!(
        v,
        Value::List(vec![
            big("18446744073709551615"),
            big("18446744073709551000")
        ])
    );
}

// ---------------------------------------------------------------- processes

#[test]
fn named_processes_other_than_the_nemesis_are_errors() {
    let file = fixture("string-processes.jsonl");
    let e = load("string-processes.jsonl").unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}:1: process \"1\" is a string: a client process is an integer; only \"nemesis\" may be named",
            file.display()
        )
    );
    let e = load("keyword-process.edn").unwrap_err();
    assert_eq!(e.line, Some(3), "{e}");
    assert_eq!(
        e.message,
        "process :worker-1 is a keyword: a client process is an integer; only :nemesis may be named"
    );
    let e = load("string-process.log").unwrap_err();
    assert_eq!(e.line, Some(3), "{e}");
    assert_eq!(
        e.message,
        "process \"1\" is a string: a client process is an integer; only :nemesis may be named"
    );
    // The nemesis is still the nemesis, in every spelling Jepsen uses.
    for (text, name) in [
        (
            r#"{"process":"nemesis","type":"info","f":"start","value":null}"#,
            "h.jsonl",
        ),
        (
            "{:process :nemesis, :type :info, :f :start, :value nil}",
            "h.edn",
        ),
        (":nemesis\t:info\t:start\tnil\n", "history.txt"),
    ] {
        let h = read_str(text, name, &ReadOptions::default()).unwrap();
        assert_eq!(h.ops()[0].process, Process::Nemesis, "{name}");
    }
    // Plain serde refuses them too.
    let e = serde_json::from_str::<Process>(r#""worker""#).unwrap_err();
    assert!(
        e.to_string().contains("only \"nemesis\" may be named"),
        "{e}"
    );
    assert_eq!(
        serde_json::from_str::<Process>("7").unwrap(),
        Process::Client(7)
    );
}

// --------------------------------------------------------- independent keys

#[test]
fn a_nil_completion_does_not_hide_independent_tuples() {
    let loaded = load("independent-nil-completion.edn").unwrap();
    assert!(loaded.split_independent);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let ops = loaded.history.ops();
    let keys: Vec<_> = ops.iter().map(|op| op.key.clone()).collect();
    let k = |i: i64| Some(Value::Int(i));
    assert_eq!(keys, vec![k(1), k(1), k(2), k(2), k(1), k(1), k(2), k(2)]);
    assert_eq!(ops[5].value, Value::Int(5));
    // The failed read keeps its nil and takes its invocation's key.
    assert_eq!(ops[7].kind, OpType::Fail);
    assert!(ops[7].value.is_nil());
}

#[test]
fn independent_tuples_without_reads_are_found_from_their_cas_ops() {
    let loaded = load("independent-no-reads.edn").unwrap();
    assert!(loaded.split_independent);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let ops = loaded.history.ops();
    assert_eq!(ops[2].key, Some(Value::Int(2)));
    assert_eq!(ops[2].value, Value::from(vec![6i64, 7]));
}

#[test]
fn ambiguous_pairs_are_read_whole_with_a_warning() {
    let loaded = load("ambiguous-pairs.edn").unwrap();
    assert!(!loaded.split_independent);
    assert_eq!(loaded.history.ops()[0].value, Value::from(vec![1i64, 2]));
    assert_eq!(loaded.warnings.len(), 1);
    let w = &loaded.warnings[0];
    assert_eq!(w.line, Some(2), "the first invocation");
    for part in ["2-element list", "--independent", "--no-independent"] {
        assert!(w.message.contains(part), "{part}: {w}");
    }
    // Deciding either way silences it.
    for (independent, split) in [(Some(true), true), (Some(false), false)] {
        let opts = ReadOptions {
            independent,
            ..ReadOptions::default()
        };
        let loaded = load_path(&fixture("ambiguous-pairs.edn"), &opts).unwrap();
        assert_eq!(loaded.split_independent, split);
        assert!(loaded.warnings.is_empty());
    }
    // Two-op transactions are pairs too: read whole, with the warning.
    let txn = "[{:process 0, :type :invoke, :f :txn, :value [[:r :x nil] [:w :y 1]]}\n\
               {:process 0, :type :ok, :f :txn, :value [[:r :x 2] [:w :y 1]]}]";
    let loaded = load_str(txn, "h.edn", &ReadOptions::default()).unwrap();
    assert!(!loaded.split_independent);
    assert_eq!(loaded.warnings.len(), 1);
    // Keys may be anything, lists too, once a read gives tuples away.
    let listed = "[{:process 0, :type :invoke, :f :read, :value [[0 :shard] nil]}\n\
                  {:process 0, :type :ok, :f :read, :value [[0 :shard] 3]}]";
    let loaded = load_str(listed, "h.edn", &ReadOptions::default()).unwrap();
    assert!(loaded.split_independent);
    assert_eq!(
        loaded.history.ops()[1].key,
        Some(Value::from(vec![Value::Int(0), Value::str("shard")]))
    );
}

// ------------------------------------------------------------ hostile EDN

fn op_with_value(value: &str) -> String {
    format!("[{{:process 0, :type :invoke, :f :write, :value {value}}}]\n")
}

#[test]
fn a_long_discard_chain_is_an_error_not_a_stack_overflow() {
    // The shape of the issue: `[` + `#_` * 100000 + ` 1 ...]`, ~200 KB.
    let text = format!("[{} 1 {{:a 1}}]\n", "#_".repeat(100_000));
    assert!(text.len() > 200_000);
    let e = read_str(&text, "d.edn", &ReadOptions::default()).unwrap_err();
    assert_eq!(e.line, Some(1), "{e}");
    assert!(e.message.contains("expected a value"), "{e}");
    // A chain that discards exactly what follows reads fine.
    let ok = format!(
        "[#_ #_ #_ 1 2 3 {}]",
        "{:process 0, :type :invoke, :f :read}"
    );
    assert_eq!(
        read_str(&ok, "d.edn", &ReadOptions::default())
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn nesting_inside_discards_and_tags_is_bounded() {
    // One form per line, so the line of the error shows where reading
    // stopped: near the 128th level (a tag and its map count one each), not
    // after reading all 100,000.
    for (open, close) in [("[#_", "]"), ("#:ns{:a ", "}"), ("#tag [", "]")] {
        let n = 100_000;
        let text = op_with_value(&format!(
            "{}1{}",
            format!("{open}\n").repeat(n),
            close.repeat(n)
        ));
        let e = read_str(&text, "n.edn", &ReadOptions::default()).unwrap_err();
        assert!(e.message.contains("nested at most 128 deep"), "{open}: {e}");
        let line = e.line.unwrap();
        assert!((60..140).contains(&line), "{open}: stopped at line {line}");
    }
    // Namespaced maps read as their map; anything else after `#:ns` is refused.
    let h = read_str(
        &op_with_value("#:ns{:a 1}"),
        "n.edn",
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(
        h.ops()[0].value,
        Value::Map(vec![(Value::str("a"), Value::Int(1))])
    );
    let e = read_str(&op_with_value("#:ns [1]"), "n.edn", &ReadOptions::default()).unwrap_err();
    assert!(
        e.message
            .contains("expected a map after the namespace #:ns"),
        "{e}"
    );
}

#[test]
fn reader_macros_that_are_not_edn_are_refused_with_their_line() {
    for bad in ["#'x", "#(inc %)", "#?(:clj 1)", "#=(+ 1 2)", "##Foo"] {
        let text = format!(
            "{{:process 0, :type :invoke, :f :read}}\n{}",
            op_with_value(bad)
        );
        let e = read_str(&text, "m.edn", &ReadOptions::default()).unwrap_err();
        assert_eq!(e.line, Some(2), "{bad}: {e}");
        assert!(e.message.starts_with("expected"), "{bad}: {e}");
    }
    // Characters still go through clojure-reader, one token at a time.
    let h = read_str(
        &op_with_value(r"[\a \newline \( 0x10 1/2]"),
        "c.edn",
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(
        h.ops()[0].value,
        Value::List(vec![
            Value::str("a"),
            Value::str("\n"),
            Value::str("("),
            Value::Int(16),
            Value::Float(0.5)
        ])
    );
}

#[test]
fn depth_limit_is_a_read_option_in_every_format() {
    let opts = ReadOptions {
        max_depth: 2,
        ..ReadOptions::default()
    };
    let ok = "[[1]]";
    let deep = "[[[[1]]]]";
    for (fmt, name) in [
        (
            "{{\"process\":0,\"type\":\"invoke\",\"f\":\"w\",\"value\":{v}}}",
            "h.jsonl",
        ),
        ("{{:process 0, :type :invoke, :f :w, :value {v}}}", "h.edn"),
        ("0\t:invoke\t:w\t{v}\n", "history.txt"),
    ] {
        let text = |v: &str| fmt.replace("{v}", v).replace("{{", "{").replace("}}", "}");
        assert!(read_str(&text(ok), name, &opts).is_ok(), "{name}");
        let e = read_str(&text(deep), name, &opts).unwrap_err();
        assert_eq!(e.line, Some(1), "{name}: {e}");
        assert!(e.message.contains("nested at most 2 deep"), "{name}: {e}");
    }
    // JSON Lines past serde_json's own limit says the same kind of thing.
    let json = format!(
        r#"{{"process":0,"type":"invoke","f":"w","value":{}1{}}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    let e = read_str(&json, "h.jsonl", &ReadOptions::default()).unwrap_err();
    assert!(e.message.contains("nested at most"), "{e}");
}

// ------------------------------------------------------------------ limits

#[test]
fn dev_zero_fails_at_the_line_limit() {
    let zero = Path::new("/dev/zero");
    if !zero.exists() {
        eprintln!("skipping: no /dev/zero");
        return;
    }
    let e = load_path(zero, &ReadOptions::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "/dev/zero:1: line longer than 16 MiB (the limit, ReadOptions::max_line_bytes); expected one op per line: is this a history file?"
    );
    // As EDN it is not an op map, at once.
    let edn = ReadOptions {
        format: Some(Format::Edn),
        ..ReadOptions::default()
    };
    let e = load_path(zero, &edn).unwrap_err();
    assert!(e.message.contains("expected an op map"), "{e}");
}

#[test]
fn long_lines_are_refused_in_line_formats_and_long_ops_in_edn() {
    let opts = ReadOptions {
        max_line_bytes: 100,
        ..ReadOptions::default()
    };
    let short = r#"{"process":0,"type":"invoke","f":"w","value":1}"#;
    let long = format!(
        r#"{{"process":0,"type":"ok","f":"w","value":"{}"}}"#,
        "x".repeat(100)
    );
    let text = format!("{short}\n{long}\n");
    let e = read_str(&text, "h.jsonl", &opts).unwrap_err();
    assert_eq!(
        e.to_string(),
        "h.jsonl:2: line longer than 100 bytes (the limit, ReadOptions::max_line_bytes); expected one op per line: is this a history file?"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.jsonl");
    std::fs::write(&path, &text).unwrap();
    assert_eq!(load_path(&path, &opts).unwrap_err().line, Some(2));
    let log = format!("0\t:invoke\t:w\t\"{}\"\n", "x".repeat(100));
    assert_eq!(
        read_str(&log, "history.txt", &opts).unwrap_err().line,
        Some(1)
    );
    // EDN: one line may hold many ops, so an op is what must fit.
    let ops: String = (0..1000)
        .map(|i| format!("{{:process {i}, :type :invoke, :f :w, :value {i}}} "))
        .collect();
    let path = dir.path().join("one-line.edn");
    std::fs::write(&path, format!("[{ops}]")).unwrap();
    let loaded = load_path(&path, &opts).unwrap();
    assert_eq!(loaded.history.len(), 1000);
    let big_op = format!(
        "[{{:process 0, :type :invoke, :f :w, :value [{}]}}]",
        "1 ".repeat(1000)
    );
    std::fs::write(&path, &big_op).unwrap();
    let e = load_path(&path, &opts).unwrap_err();
    assert!(e.message.contains("an op longer than 100 bytes"), "{e}");
}

/// An endless source: `prefix`, then `repeat` forever. Counts what was
/// taken from it.
struct Endless {
    prefix: &'static [u8],
    repeat: &'static [u8],
    served: Rc<Cell<u64>>,
}

impl Endless {
    fn new(prefix: &'static [u8], repeat: &'static [u8]) -> (Endless, Rc<Cell<u64>>) {
        let served = Rc::new(Cell::new(0));
        let src = Endless {
            prefix,
            repeat,
            served: served.clone(),
        };
        (src, served)
    }
}

impl std::io::Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        for (n, b) in buf.iter_mut().enumerate() {
            let at = self.served.get() as usize + n;
            *b = match self.prefix.get(at) {
                Some(&c) => c,
                None => self.repeat[(at - self.prefix.len()) % self.repeat.len()],
            };
        }
        self.served.set(self.served.get() + buf.len() as u64);
        Ok(buf.len())
    }
}

#[test]
fn an_endless_stream_of_ops_stops_at_the_op_limit() {
    // A FIFO fed forever stands for `splitbrain check` on a pipe.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("endless.jsonl");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipping: cannot make a FIFO");
        return;
    }
    let writer_path = fifo.clone();
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&writer_path)
            .unwrap();
        let line = b"{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":1}\n";
        // Ends when the reader closes the FIFO.
        while f.write_all(line).is_ok() {}
    });
    let opts = ReadOptions {
        max_ops: 100_000,
        ..ReadOptions::default()
    };
    let e = load_path(&fifo, &opts).unwrap_err();
    writer.join().unwrap();
    assert!(
        e.message
            .contains("more than 100000 ops (the limit, ReadOptions::max_ops)"),
        "{e}"
    );
    assert_eq!(e.line, Some(100_001));

    // The byte limit ends anything else, reading at most one byte past it.
    let (src, served) = Endless::new(b"", b"INFO noise that is not an op\n");
    let opts = ReadOptions {
        format: Some(Format::JepsenLog),
        max_bytes: 3 << 20,
        ..ReadOptions::default()
    };
    let e = codec::load_reader(src, "stdin", &opts).unwrap_err();
    assert!(
        e.message
            .contains("larger than 3 MiB (the limit, ReadOptions::max_bytes)"),
        "{e}"
    );
    assert_eq!(served.get(), (3 << 20) + 1);
}

#[test]
fn an_endless_line_stops_in_bounded_memory() {
    for (format, prefix, repeat) in [
        (
            Format::Jsonl,
            &b"{\"process\":0,\"value\":\""[..],
            &b"x"[..],
        ),
        (Format::Edn, &b"[{:process 0, :value ["[..], &b"1 "[..]),
    ] {
        let (src, served) = Endless::new(prefix, repeat);
        let opts = ReadOptions {
            format: Some(format),
            max_line_bytes: 4 << 20,
            ..ReadOptions::default()
        };
        let e = codec::load_reader(src, "stdin", &opts).unwrap_err();
        assert!(e.message.contains("longer than 4 MiB"), "{format}: {e}");
        // Read no more than a little beyond the limit: bounded memory.
        assert!(served.get() < 12 << 20, "{format}: read {}", served.get());
    }
}

#[test]
fn limits_have_sane_defaults() {
    let o = ReadOptions::default();
    assert_eq!(o.max_line_bytes, 16 << 20);
    assert_eq!(o.max_depth, 128);
    assert_eq!(o.max_ops, codec::DEFAULT_MAX_OPS);
    assert!(o.max_ops >= 10_000_000);
    assert_eq!(o.max_bytes, codec::DEFAULT_MAX_BYTES);
    assert!(o.max_bytes >= 4 << 30);
}

// A history of ops that is not hostile reads as before through all of this.
#[test]
fn plain_ops_are_untouched() {
    let ops: Vec<Op> = (0..10)
        .map(|i| {
            let mut op = Op::new(
                Process::Client(i / 2 % 3),
                if i % 2 == 0 {
                    OpType::Invoke
                } else {
                    OpType::Ok
                },
                "write",
                Value::Int(i as i64 / 2),
            );
            op.index = i;
            op
        })
        .collect();
    let mut buf = Vec::new();
    write_jsonl(&ops, &mut buf).unwrap();
    let back = read_str(
        std::str::from_utf8(&buf).unwrap(),
        "h.jsonl",
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(back.ops(), &ops[..]);
}
