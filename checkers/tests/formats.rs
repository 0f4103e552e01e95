//! Property test: one history, three formats, one answer.
//!
//! Random histories (single-object and Jepsen independent multi-key, with
//! `info` and `fail` ops, nemesis ops, and values that are nil, integers,
//! strings, keywords, booleans and nested lists) are written as JSON Lines
//! (the crate's own writer), as Jepsen EDN and as Jepsen log lines (writers
//! local to this test, varying the spellings Jepsen and Knossos produce),
//! read back through `splitbrain_history::codec`, and must give the same ops
//! and the same linearizability verdict in all three.
//!
//! Log lines carry no `time`, so they are compared with times removed.

use std::fmt::Write as _;
use std::path::PathBuf;

use splitbrain_checkers::testing::Rng;
use splitbrain_checkers::{Limits, ModelKind, ModelSpec, Verdict, check_linearizable};
use splitbrain_history::codec::{self, Format, ReadOptions};
use splitbrain_history::{History, Op, OpType, Process, Value};

// ---------------------------------------------------------------------------
// Random histories: a cas-register per key, driven by concurrent clients.

/// A random register value. Strings that could be keywords are written as
/// either by the EDN and log writers; both must read back as the same string.
fn random_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 1 { 4 } else { 6 }) {
        0 => Value::Int(rng.below(5) as i64),
        1 => Value::Int(
            [
                -1,
                -7,
                1_000_000_007,
                i64::MAX,
                i64::MIN,
                i64::MIN + 1,
                -4_611_686_018_427_387_904,
            ][rng.below(7) as usize],
        ),
        2 => Value::str(
            [
                "a",
                "hello world",
                "tab\there",
                "new\nline",
                "quote\"d",
                "back\\slash",
                "é日本",
                "",
                "nil",
                "12",
                ":colon",
                "ctl\u{1}\u{7f}",
                "emoji 🦀",
            ][rng.below(13) as usize],
        ),
        3 => Value::str(["x", "foo-bar", "ok?", "read", "a.b/c-d", "x1"][rng.below(6) as usize]),
        4 if rng.chance(80) => Value::Bool(rng.chance(50)),
        // Integers beyond 64 bits (Jepsen's counters and bank totals can be).
        4 => Value::BigInt(
            [
                "9223372036854775808",
                "-9223372036854775809",
                "123456789012345678901234567890",
            ][rng.below(3) as usize]
                .into(),
        ),
        _ => {
            let n = rng.below(4) as usize;
            Value::List((0..n).map(|_| random_value(rng, depth + 1)).collect())
        }
    }
}

fn random_key(rng: &mut Rng) -> Value {
    match rng.below(3) {
        0 => Value::Int(rng.below(4) as i64),
        1 => Value::str(["k1", "k2"][rng.below(2) as usize]),
        _ => Value::from(vec![Value::Int(rng.below(2) as i64), Value::str("shard")]),
    }
}

struct Pending {
    process: u64,
    key: Option<Value>,
    f: &'static str,
    arg: Value,
    /// The result once the op took effect; `Err` once it certainly could not.
    effect: Option<Result<Value, ()>>,
}

fn nemesis_value(rng: &mut Rng) -> Value {
    let nodes = |rng: &mut Rng| {
        let n = 1 + rng.below(3);
        Value::List((1..=n).map(|i| Value::str(format!("n{i}"))).collect())
    };
    match rng.below(4) {
        0 => Value::Nil,
        1 => nodes(rng),
        // Jepsen's partition grudge: node -> nodes it cannot reach (keys sorted,
        // so a reader that sorts maps reads the same).
        2 => Value::Map(vec![
            (Value::str("n1"), nodes(rng)),
            (Value::str("n2"), nodes(rng)),
        ]),
        // A two-element nemesis value must never be mistaken for a tuple.
        _ => Value::from(vec![Value::str("isolated"), nodes(rng)]),
    }
}

struct Generated {
    ops: Vec<Op>,
    independent: bool,
}

fn random_history(rng: &mut Rng) -> Generated {
    let independent = rng.chance(50);
    let workers = 1 + rng.below(5) as usize;
    let calls = 1 + rng.below(40) as usize;
    let info_rate = [0, 10, 40][rng.below(3) as usize];
    let fail_rate = [0, 10, 30][rng.below(3) as usize];
    let timed = rng.chance(70);
    let mut state: Vec<(Option<Value>, Value)> = Vec::new();
    let mut procs: Vec<u64> = (0..workers as u64).collect();
    let mut next_process = workers as u64;
    let mut slots: Vec<Option<Pending>> = (0..workers).map(|_| None).collect();
    let mut ops: Vec<Op> = Vec::new();
    let mut invoked = 0;
    let hang = rng.chance(20);
    let mut guard = 0;
    let lookup = |state: &mut Vec<(Option<Value>, Value)>, key: &Option<Value>| -> usize {
        match state.iter().position(|(k, _)| k == key) {
            Some(i) => i,
            None => {
                state.push((key.clone(), Value::Nil));
                state.len() - 1
            }
        }
    };
    let apply = |state: &mut Vec<(Option<Value>, Value)>, p: &Pending| -> Result<Value, ()> {
        let i = lookup(state, &p.key);
        let cur = &mut state[i].1;
        match p.f {
            "read" => Ok(cur.clone()),
            "write" => {
                *cur = p.arg.clone();
                Ok(p.arg.clone())
            }
            _ => {
                let l = p.arg.as_list().unwrap();
                if *cur == l[0] {
                    *cur = l[1].clone();
                    Ok(p.arg.clone())
                } else {
                    Err(())
                }
            }
        }
    };
    while (invoked < calls || slots.iter().any(Option::is_some)) && guard < 10_000 {
        guard += 1;
        if invoked >= calls && hang {
            break;
        }
        if rng.chance(3) {
            let f = ["start", "stop"][rng.below(2) as usize];
            let v = nemesis_value(rng);
            for _ in 0..2 {
                ops.push(Op::new(Process::Nemesis, OpType::Info, f, v.clone()));
            }
            continue;
        }
        let w = rng.below(workers as u64) as usize;
        match &mut slots[w] {
            None => {
                if invoked >= calls {
                    continue;
                }
                // The first op is a read, so that independent tuples are
                // detected (detection wants at least one read).
                let (f, arg) = match if invoked == 0 { 0 } else { rng.below(3) } {
                    0 => ("read", Value::Nil),
                    1 => ("write", random_value(rng, 0)),
                    _ => {
                        let old = if rng.chance(30) {
                            Value::Nil
                        } else {
                            random_value(rng, 0)
                        };
                        ("cas", Value::from(vec![old, random_value(rng, 0)]))
                    }
                };
                let key = independent.then(|| random_key(rng));
                let mut op = Op::new(Process::Client(procs[w]), OpType::Invoke, f, arg.clone());
                op.key = key.clone();
                ops.push(op);
                slots[w] = Some(Pending {
                    process: procs[w],
                    key,
                    f,
                    arg,
                    effect: None,
                });
                invoked += 1;
            }
            Some(p) if p.effect.is_none() && rng.chance(50) => {
                p.effect = Some(apply(&mut state, p));
            }
            Some(_) => {
                let mut p = slots[w].take().unwrap();
                let (kind, value, error) = match p.effect.take() {
                    None if rng.chance(fail_rate) => {
                        (OpType::Fail, p.arg.clone(), Some(random_error(rng)))
                    }
                    effect if rng.chance(info_rate) => {
                        // Unknown outcome: it may or may not have happened.
                        if effect.is_none() && rng.chance(50) {
                            let _ = apply(&mut state, &p);
                        }
                        (OpType::Info, p.arg.clone(), Some(random_error(rng)))
                    }
                    effect => {
                        let effect = effect.unwrap_or_else(|| apply(&mut state, &p));
                        match effect {
                            Ok(v) => (OpType::Ok, v, None),
                            Err(()) => (OpType::Fail, p.arg.clone(), Some(random_error(rng))),
                        }
                    }
                };
                let mut op = Op::new(Process::Client(p.process), kind, p.f, value);
                op.key = p.key;
                op.error = error.filter(|_| rng.chance(70));
                ops.push(op);
                if kind == OpType::Info {
                    procs[w] = next_process;
                    next_process += 1;
                }
            }
        }
    }
    // Corrupt a read now and then, so that some histories are invalid.
    if rng.chance(40) {
        let reads: Vec<usize> = (0..ops.len())
            .filter(|&i| ops[i].kind == OpType::Ok && &*ops[i].f == "read")
            .collect();
        if !reads.is_empty() {
            let i = reads[rng.below(reads.len() as u64) as usize];
            ops[i].value = random_value(rng, 0);
        }
    }
    let mut t = 0i64;
    for (i, op) in ops.iter_mut().enumerate() {
        op.index = i as u64;
        t += 1 + rng.below(1_000_000) as i64;
        op.time = timed.then_some(t);
    }
    Generated { ops, independent }
}

fn random_error(rng: &mut Rng) -> Value {
    match rng.below(4) {
        0 => Value::str("timeout"),
        1 => Value::str("connection refused: n3:2379"),
        2 => Value::from(vec![Value::str("not-found"), Value::Int(3)]),
        _ => Value::Map(vec![(Value::str("type"), Value::str("etcd-error"))]),
    }
}

// ---------------------------------------------------------------------------
// Writers for the imported formats, in the spellings Jepsen uses.

fn is_keyword_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "-?!*./".contains(c))
        && !s.ends_with('/')
        && s.matches('/').count() <= 1
}

/// EDN text of `v`. Keyword-like strings become keywords half of the time;
/// sequences are vectors or lists; separators are spaces or commas.
fn edn(v: &Value, rng: &mut Rng, out: &mut String) {
    match v {
        Value::Nil => out.push_str("nil"),
        Value::Bool(b) => write!(out, "{b}").unwrap(),
        Value::Int(i) => write!(out, "{i}").unwrap(),
        // Clojure marks big integers with N; EDN readers take the bare digits too.
        Value::BigInt(digits) if rng.chance(50) => write!(out, "{digits}N").unwrap(),
        Value::BigInt(digits) => out.push_str(digits),
        Value::Float(x) => write!(out, "{x:?}").unwrap(),
        Value::Decimal(d) => write!(out, "{d}M").unwrap(),
        Value::Str(s) if is_keyword_name(s) && rng.chance(50) => write!(out, ":{s}").unwrap(),
        Value::Str(s) => edn_string(s, out),
        Value::List(items) => {
            let (open, close) = if rng.chance(70) {
                ('[', ']')
            } else {
                ('(', ')')
            };
            out.push(open);
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(if rng.chance(30) { ", " } else { " " });
                }
                edn(item, rng, out);
            }
            out.push(close);
        }
        Value::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                edn(k, rng, out);
                out.push(' ');
                edn(v, rng, out);
            }
            out.push('}');
        }
    }
}

fn edn_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => write!(out, "\\u{:04x}", c as u32).unwrap(),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The value as Jepsen records it: an independent op's is the tuple `[key value]`.
fn recorded_value(op: &Op) -> Value {
    match &op.key {
        Some(k) => Value::from(vec![k.clone(), op.value.clone()]),
        None => op.value.clone(),
    }
}

fn process_edn(p: &Process) -> String {
    match p {
        Process::Client(n) => n.to_string(),
        Process::Nemesis => ":nemesis".into(),
    }
}

/// A Jepsen `history.edn`: a vector, a list, or one map per line; fields in
/// any order; sometimes `#jepsen.history.Op` records and a comment header.
fn write_edn(ops: &[Op], rng: &mut Rng) -> String {
    let mut out = String::new();
    if rng.chance(30) {
        out.push_str("; written by formats.rs\n");
    }
    let container = rng.below(3);
    match container {
        0 => out.push('['),
        1 => out.push('('),
        _ => {}
    }
    for (i, op) in ops.iter().enumerate() {
        if i > 0 {
            out.push_str(if container == 2 || rng.chance(70) {
                "\n "
            } else {
                ", "
            });
        }
        if rng.chance(15) {
            out.push_str("#jepsen.history.Op");
        }
        let mut fields: Vec<String> = Vec::new();
        let mut val = String::new();
        edn(&recorded_value(op), rng, &mut val);
        fields.push(format!(":process {}", process_edn(&op.process)));
        fields.push(format!(":type :{}", op.kind));
        fields.push(format!(":f :{}", op.f));
        fields.push(format!(":value {val}"));
        if rng.chance(60) {
            fields.push(format!(":index {}", op.index));
        }
        if let Some(t) = op.time {
            fields.push(format!(":time {t}"));
        }
        if let Some(e) = &op.error {
            let mut s = String::new();
            edn(e, rng, &mut s);
            fields.push(format!(":error {s}"));
        }
        // Field order is free in a map.
        for j in (1..fields.len()).rev() {
            fields.swap(j, rng.below(j as u64 + 1) as usize);
        }
        let sep = if rng.chance(50) { ", " } else { " " };
        write!(out, "{{{}}}", fields.join(sep)).unwrap();
    }
    match container {
        0 => out.push_str("]\n"),
        1 => out.push_str(")\n"),
        _ => out.push('\n'),
    }
    out
}

/// `jepsen.log` with other log output between op lines, or `history.txt`.
fn write_log(ops: &[Op], rng: &mut Rng) -> String {
    let bare = rng.chance(25); // history.txt: no log prefix at all
    let mut out = String::new();
    for op in ops {
        if !bare && rng.chance(15) {
            out.push_str(
                [
                    "INFO  jepsen.core - Running test etcd-register\n",
                    "INFO  jepsen.util - Relative time begins now\n",
                    "WARN  jepsen.nemesis - Partition: {:n1 #{:n2}}\n",
                    "\n",
                ][rng.below(4) as usize],
            );
        }
        if !bare {
            match rng.below(2) {
                0 => out.push_str("INFO  jepsen.util - "),
                _ => write!(
                    out,
                    "2017-03-21 15:00:00,123{{GMT}}\tINFO\t[jepsen worker {}] jepsen.util: ",
                    op.process
                )
                .unwrap(),
            }
        }
        let mut val = String::new();
        edn(&recorded_value(op), rng, &mut val);
        write!(
            out,
            "{}\t:{}\t:{}\t{val}",
            process_edn(&op.process),
            op.kind,
            op.f
        )
        .unwrap();
        if let Some(e) = &op.error {
            out.push('\t');
            edn(e, rng, &mut out);
        }
        out.push('\n');
    }
    out
}

fn write_jsonl(ops: &[Op]) -> String {
    let mut buf = Vec::new();
    codec::write_jsonl(ops, &mut buf).unwrap();
    String::from_utf8(buf).unwrap()
}

// ---------------------------------------------------------------------------
// Reading back and comparing.

fn without_time(ops: &[Op]) -> Vec<Op> {
    ops.iter()
        .cloned()
        .map(|mut o| {
            o.time = None;
            o
        })
        .collect()
}

/// The overall verdict, the verdict per key, and the op the counterexample names.
type Judgement = (Verdict, Vec<(Option<Value>, Verdict)>, Option<u64>);

/// What must not depend on the format: the verdict, per key, and the op
/// the counterexample names.
fn verdict(h: &History) -> Judgement {
    let limits = Limits {
        threads: Some(1),
        time: Some(std::time::Duration::from_secs(20)),
        ..Limits::default()
    };
    let r = check_linearizable(h, &ModelSpec::new(ModelKind::CasRegister), &limits).unwrap();
    let keys = r.keys.iter().map(|k| (k.key.clone(), k.verdict)).collect();
    let failed = r.counterexample.and_then(|c| c.failed_op.complete_index);
    (r.verdict, keys, failed)
}

struct Files {
    dir: PathBuf,
}

impl Files {
    fn new() -> Files {
        let dir = std::env::temp_dir().join(format!("splitbrain-formats-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Files { dir }
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Reads `text` as `format`, by one of the ways a user would: from memory
/// with the format detected from the name or the content, forced, or from a
/// file on disk (the chunked reader).
fn read_back(
    text: &str,
    format: Format,
    independent: Option<bool>,
    rng: &mut Rng,
    files: &Files,
    what: &str,
) -> History {
    let ext = match format {
        Format::Jsonl => "jsonl",
        Format::Edn => "edn",
        Format::JepsenLog => "log",
    };
    let mut opts = ReadOptions {
        independent,
        ..ReadOptions::default()
    };
    let loaded = match rng.below(4) {
        0 => codec::load_str(text, &format!("history.{ext}"), &opts),
        // No telling extension: detected from the content.
        1 => codec::load_str(text, "history.txt", &opts),
        2 => {
            opts.format = Some(format);
            codec::load_str(text, "history", &opts)
        }
        _ => {
            let path = files.dir.join(format!("history.{ext}"));
            std::fs::write(&path, text).unwrap();
            codec::load_path(&path, &opts)
        }
    };
    let loaded =
        loaded.unwrap_or_else(|e| panic!("{what}: cannot read the {format} form: {e}\n{text}"));
    assert_eq!(
        loaded.format, format,
        "{what}: detected the wrong format\n{text}"
    );
    assert!(loaded.warnings.is_empty(), "{what}: {:?}", loaded.warnings);
    loaded.history
}

#[test]
fn every_format_reads_back_the_same_ops_and_verdict() {
    let mut rng = Rng(0x5eed_f0a7);
    let files = Files::new();
    let (mut valid, mut invalid, mut multi, mut with_info, mut with_fail, mut with_nemesis) =
        (0, 0, 0, 0, 0, 0);
    const HISTORIES: usize = 4000;
    for n in 0..HISTORIES {
        let g = random_history(&mut rng);
        let what = format!("history #{n}");
        let original = History::new(g.ops.clone()).expect("the generator writes valid histories");
        let expected = verdict(&original);

        // Independent histories: detected, or forced; single-object ones:
        // detected, or forced off.
        let independent = match rng.below(3) {
            0 => Some(g.independent),
            _ => None,
        };
        let jsonl = write_jsonl(&g.ops);
        let edn = write_edn(&g.ops, &mut rng);
        let log = write_log(&g.ops, &mut rng);
        let from_jsonl = read_back(&jsonl, Format::Jsonl, independent, &mut rng, &files, &what);
        let from_edn = read_back(&edn, Format::Edn, independent, &mut rng, &files, &what);
        let from_log = read_back(
            &log,
            Format::JepsenLog,
            independent,
            &mut rng,
            &files,
            &what,
        );

        assert_eq!(from_jsonl.ops(), &g.ops[..], "{what}: JSON Lines\n{jsonl}");
        assert_eq!(from_edn.ops(), &g.ops[..], "{what}: EDN\n{edn}");
        assert_eq!(
            from_log.ops(),
            &without_time(&g.ops)[..],
            "{what}: log lines\n{log}"
        );
        for (h, name, text) in [
            (&from_jsonl, "JSON Lines", &jsonl),
            (&from_edn, "EDN", &edn),
            (&from_log, "log lines", &log),
        ] {
            assert_eq!(verdict(h), expected, "{what}: verdict from {name}\n{text}");
        }

        match expected.0 {
            Verdict::Valid => valid += 1,
            Verdict::Invalid => invalid += 1,
            // Too little to judge: no ok call at all.
            Verdict::Unknown => {
                assert!(
                    original.calls().all(|c| c.outcome() != OpType::Ok),
                    "{what}: unknown on a small history with ok calls"
                );
            }
        }
        multi += usize::from(g.independent);
        let kinds = |k: OpType| g.ops.iter().any(|o| o.is_client() && o.kind == k);
        with_info += usize::from(kinds(OpType::Info));
        with_fail += usize::from(kinds(OpType::Fail));
        with_nemesis += usize::from(g.ops.iter().any(|o| o.process == Process::Nemesis));
    }
    println!(
        "{HISTORIES} histories: {valid} valid, {invalid} invalid, {multi} multi-key, {with_info} with info, {with_fail} with fail, {with_nemesis} with nemesis ops"
    );
    // A generator that makes one kind of history only tests little.
    for (count, what) in [
        (valid, "valid"),
        (invalid, "invalid"),
        (multi, "multi-key"),
        (HISTORIES - multi, "single-object"),
        (with_info, "with info"),
        (with_fail, "with fail"),
        (with_nemesis, "with nemesis ops"),
    ] {
        assert!(count > HISTORIES / 10, "only {count} {what} histories");
    }
}

/// The writers above must produce the spellings they claim to; if they
/// wrote one spelling only, the property would test little.
#[test]
fn the_test_writers_vary_their_spellings() {
    let mut rng = Rng(7);
    let (mut edn_all, mut log_all) = (String::new(), String::new());
    for _ in 0..200 {
        let g = random_history(&mut rng);
        edn_all.push_str(&write_edn(&g.ops, &mut rng));
        log_all.push_str(&write_log(&g.ops, &mut rng));
    }
    for needle in [
        "#jepsen.history.Op{",
        ":process :nemesis",
        ":type :info",
        ":type :fail",
        ":error",
        "(",
        "[",
        ":foo-bar",
        "\"foo-bar\"",
        "\\t",
        "\\u0001",
        "-9223372036854775808",
        "; written",
    ] {
        assert!(edn_all.contains(needle), "EDN never has {needle}");
    }
    for needle in [
        "INFO  jepsen.util - ",
        "[jepsen worker",
        ":nemesis\t:info\t:",
        "\t:fail\t:",
        "\n0\t:invoke\t:read\t",
    ] {
        assert!(log_all.contains(needle), "log never has {needle:?}");
    }
}
