//! Shell templates (`Script`) against hostile values, in real shells.
//!
//! The promise of a database definition's shell commands: what runs is the template's own
//! words with each `{{placeholder}}` replaced by one shell word holding exactly its value.
//! Here thousands of templates are built around a placeholder with every character a shell
//! cares about next to it (backslashes, quotes, `$`, backticks, `#`, `~`, brackets, braces,
//! an adjacent placeholder, ...). Each template is either refused by `Script::check`, or,
//! when accepted, run under every shell on the machine with each hostile value (every
//! character from U+0001 to U+00FF alone and all together, quotes, newlines, `$(...)`,
//! reserved words, ...). The oracle: the output must be the output of the same template
//! with a plain token as the value, with the token replaced by the value; and a canary
//! file that the hostile values try to create must never appear.

use std::path::Path;
use std::process::{Command, Stdio};

use splitbrain_control::db::{DbDef, Script, Vars};

const TOKEN_V: &str = "SBTOKENV";
const TOKEN_W: &str = "SBTOKENW";
/// Separates the runs of one template in a batch.
const SEP: &str = "\n@@sb-sep@@\n";

/// Whole templates; `HOLE` is where the near context and the placeholder go.
const WRAPPERS: &[&str] = &[
    "printf '<%s>\\n' HOLE",
    "x=HOLE; printf '<%s>\\n' \"$x\"",
    "printf '<%s>\\n' --opt=HOLE tail",
    "for a in HOLE; do printf '<%s>\\n' \"$a\"; done",
    "{ printf '<%s>\\n' HOLE; }",
    "if true; then printf '<%s>\\n' HOLE; fi",
    "f() { printf '<%s>\\n' \"$@\"; }; f HOLE",
    "export X=HOLE; printf '<%s>\\n' \"$X\"",
    "case HOLE in *) printf '<matched>\\n';; esac",
    "printf '<%s>\\n' HOLE # the comment's quote",
    "printf '<%s>\\n' HOLE \\\n  next-line",
];

/// Wrappers that fork a process per run: tried with fewer values, to keep the test quick.
const FORKING_WRAPPERS: &[&str] = &[
    "printf '<%s>\\n' \"$(printf '[%s]' HOLE)\"",
    "x=$(printf '[%s]' HOLE) && printf '<%s>\\n' \"$x\"",
    "(printf '<%s>\\n' HOLE)",
];

/// What may stand right before the placeholder.
const BEFORE: &[&str] = &[
    "",
    "\\",
    "\\\\",
    "\\\\\\",
    "\\'",
    "\\\"",
    "'a'",
    "''",
    "\"a\"",
    "\"\"",
    "'\\'",
    "$",
    "$$",
    "\\$",
    "#",
    "a#",
    "~",
    "~/",
    "a~",
    "=",
    "a=",
    "[",
    "[a]",
    "a[",
    "{",
    "{a,",
    "{a}",
    "}",
    "]",
    "!",
    "%",
    "^",
    ":",
    ",",
    "@",
    "+",
    "-",
    "{{w}}",
    "a{{w}}",
    "{{w}}=",
    "$x",
    "a=$x",
    "a=$x_",
    "a=$1",
    "a=${x}",
    "$((1))",
    "$(printf x)",
    "${HOME:+h}",
    "`printf x`",
    "\\\n",
    "'",
    "\"",
    "`",
    "$'",
    "$\"",
    "${",
    "$((",
];

/// What may stand right after it.
const AFTER: &[&str] = &[
    "",
    "\\\\",
    "\\ ",
    "'a'",
    "\"a\"",
    "$",
    "$x",
    "#",
    "#x",
    "~",
    "=",
    "=x",
    "[a]",
    "]",
    "}",
    "{a,b}",
    "{{w}}",
    "={{w}}",
    "a",
    ":",
    "%",
    "`printf x`",
    "$(printf y)",
    "${x:-y}",
    "'",
    "\"",
    "`",
    ")",
];

fn canary(dir: &Path) -> String {
    dir.join("pwned").display().to_string()
}

/// Hostile values: every character U+0001..=U+00FF alone and all together, and values
/// built to break out of quoting or to mean something to the shell.
fn values(canary: &str) -> Vec<String> {
    let mut v: Vec<String> = (1u32..=255)
        .map(|c| char::from_u32(c).unwrap().to_string())
        .collect();
    v.push((1u32..=255).map(|c| char::from_u32(c).unwrap()).collect());
    for s in [
        "",
        "plain",
        "if",
        "then",
        "done",
        "root",
        "~root",
        "~",
        "PATH=/nonexistent",
        "a=b",
        "a,b",
        "{a,b}",
        "-n",
        "*",
        "#x",
        "a b\tc\nd",
        "\n",
        "x\n\n",
        "'",
        "''",
        "'\\''",
        "\\",
        "\\'",
        "\"",
        "\\\"",
        "$'\\x41'",
        "$HOME ${PATH} $1 $@ $$",
        "é ünïcödé ✓",
        "1+1",
        "a[$(touch CANARY)]",
        "$(touch CANARY)",
        "`touch CANARY`",
        "; touch CANARY;",
        "';touch CANARY;'",
        "\";touch CANARY;\"",
        "\\';touch CANARY;'",
        "'\";touch CANARY;#",
        "\ntouch CANARY\n",
        "x)\ntouch CANARY\n(",
        "}; touch CANARY; {",
        "))); touch CANARY; (((",
        "`; touch CANARY; `",
        ";touch CANARY;'",
    ] {
        v.push(s.replace("CANARY", canary));
    }
    v
}

fn shells() -> Vec<Vec<&'static str>> {
    let mut found = vec![vec!["sh"]];
    for s in [vec!["bash"], vec!["busybox", "sh"]] {
        let ok = Command::new(s[0])
            .args(&s[1..])
            .args(["-c", "true"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|st| st.success());
        if ok {
            found.push(s);
        } else {
            eprintln!("template_hostile: {} not available, not tried", s.join(" "));
        }
    }
    found
}

struct Ran {
    status: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

fn run(shell: &[&str], script: &str, cwd: &Path) -> Ran {
    let out = Command::new(shell[0])
        .args(&shell[1..])
        .arg("-c")
        .arg(script)
        .current_dir(cwd)
        .env("HOME", "/nonexistent-home")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Ran {
        status: out.status.code(),
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

fn replace(hay: &[u8], from: &str, to: &str) -> Vec<u8> {
    let (from, to) = (from.as_bytes(), to.as_bytes());
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

fn vars(v: &str, w: &str) -> Vars {
    [("v", v), ("w", w)]
        .into_iter()
        .map(|(k, x)| (k.to_string(), x.to_string()))
        .collect()
}

/// [`check_templates`] on both cores.
fn check_in_parallel(
    templates: &[String],
    values: &[String],
    cwd: &Path,
    shells: &[Vec<&str>],
) -> (usize, usize) {
    let half = templates.len().div_ceil(2);
    std::thread::scope(|s| {
        let parts: Vec<_> = templates
            .chunks(half.max(1))
            .map(|part| s.spawn(|| check_templates(part, values, cwd, shells)))
            .collect();
        parts
            .into_iter()
            .map(|p| p.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .fold((0, 0), |(a, r), (a2, r2)| (a + a2, r + r2))
    })
}

/// Every accepted template, run with every value: exactly the token run with the token
/// replaced by the value. Returns how many templates were accepted and refused.
fn check_templates(
    templates: &[String],
    values: &[String],
    cwd: &Path,
    shells: &[Vec<&str>],
) -> (usize, usize) {
    let (mut accepted, mut refused) = (0, 0);
    // `w`, when used, gets the next value: both placeholders are hostile at once.
    let pairs: Vec<(&str, &str)> = values
        .iter()
        .zip(values.iter().cycle().skip(1))
        .map(|(v, w)| (v.as_str(), w.as_str()))
        .collect();
    let expect = |token: &[u8], v: &str, w: &str| replace(&replace(token, TOKEN_V, v), TOKEN_W, w);
    for text in templates {
        let script = Script::new(text.as_str());
        if script.check(&["v", "w"]).is_err() {
            refused += 1;
            continue;
        }
        accepted += 1;
        // One shell process runs the token first, then every value, each from a clean
        // state and followed by a separator.
        let lines: Vec<String> = std::iter::once((TOKEN_V, TOKEN_W))
            .chain(pairs.iter().copied())
            .map(|(v, w)| script.render(&vars(v, w)))
            .collect();
        // An accepted template renders every placeholder (not the refusal of an unchecked
        // one, which would pass the comparison below without proving anything).
        for (token, name) in [(TOKEN_V, "{{v}}"), (TOKEN_W, "{{w}}")] {
            assert_eq!(
                lines[0].matches(token).count(),
                text.matches(name).count(),
                "template {text:?} rendered as {:?}",
                lines[0]
            );
        }
        let mut batch = String::new();
        for line in &lines {
            batch.push_str("unset x a X; unset -f f\n");
            batch.push_str(line);
            batch.push_str(&format!("\nprintf '{}'\n", SEP.replace('\n', "\\n")));
        }
        for shell in shells {
            let got = run(shell, &batch, cwd);
            let parts = split(&got.stdout, SEP.as_bytes());
            let clean = got.status == Some(0) && got.stderr.is_empty();
            if clean && parts.len() == lines.len() + 1 {
                let token = parts[0];
                let ok = pairs
                    .iter()
                    .zip(&parts[1..])
                    .all(|((v, w), got)| *got == expect(token, v, w).as_slice());
                if ok {
                    continue;
                }
            }
            // Something differed, or the template itself fails (then nothing can be
            // batched): each value in a shell of its own, for the exact culprit.
            let token = run(shell, &lines[0], cwd);
            for ((v, w), line) in pairs.iter().zip(&lines[1..]) {
                let one = run(shell, line, cwd);
                assert_eq!(
                    (one.status, String::from_utf8_lossy(&one.stdout)),
                    (
                        token.status,
                        String::from_utf8_lossy(&expect(&token.stdout, v, w))
                    ),
                    "{shell:?}: template {text:?}, v={v:?} w={w:?}: rendered {line:?}, stderr {:?}",
                    String::from_utf8_lossy(&one.stderr)
                );
            }
            assert!(
                !clean,
                "{shell:?}: template {text:?} failed only when batched: {:?}",
                String::from_utf8_lossy(&got.stderr)
            );
        }
    }
    (accepted, refused)
}

/// `hay` cut at every `sep`.
fn split<'a>(hay: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + sep.len() <= hay.len() {
        if &hay[i..i + sep.len()] == sep {
            out.push(&hay[start..i]);
            i += sep.len();
            start = i;
        } else {
            i += 1;
        }
    }
    out.push(&hay[start..]);
    out
}

#[test]
fn accepted_templates_give_each_value_as_one_literal_word_in_real_shells() {
    let cwd = tempfile::tempdir().unwrap(); // empty: globs around a value match nothing
    let traps = tempfile::tempdir().unwrap();
    let canary = canary(traps.path());
    let values = values(&canary);
    // The values that mean something to a shell (the single characters that are plain
    // text left out), for the larger sets of templates.
    let special: Vec<String> = values
        .iter()
        .filter(|v| {
            v.chars().count() != 1
                || v.chars()
                    .all(|c| c.is_ascii_punctuation() || c.is_ascii_whitespace())
        })
        .cloned()
        .collect();
    let one_side = |wrappers: &[&str]| {
        let mut out = Vec::new();
        for wrapper in wrappers {
            for before in BEFORE {
                out.push(wrapper.replace("HOLE", &format!("{before}{{{{v}}}}")));
            }
            for after in AFTER {
                out.push(wrapper.replace("HOLE", &format!("{{{{v}}}}{after}")));
            }
        }
        out
    };
    // Every pair of near contexts, in the plainest wrapper.
    let mut pairs = Vec::new();
    for before in BEFORE {
        for after in AFTER {
            pairs.push(WRAPPERS[0].replace("HOLE", &format!("{before}{{{{v}}}}{after}")));
        }
    }
    let shells = shells();
    let started = std::time::Instant::now();
    let mut accepted = 0;
    let mut templates = 0;
    for (set, vals) in [
        (one_side(WRAPPERS), &values),
        (one_side(FORKING_WRAPPERS), &special),
        (pairs, &special),
    ] {
        let t = std::time::Instant::now();
        let (a, r) = check_in_parallel(&set, vals, cwd.path(), &shells);
        eprintln!(
            "template_hostile: {a} templates accepted and run with {} values each, {r} refused ({:.1}s)",
            vals.len(),
            t.elapsed().as_secs_f64()
        );
        accepted += a;
        templates += a + r;
    }
    eprintln!("template_hostile: {:.1}s", started.elapsed().as_secs_f64());
    assert!(
        !Path::new(&canary).exists(),
        "a hostile value ran a command"
    );
    // The checker must not get its safety by refusing everything.
    assert!(
        accepted > templates / 3,
        "only {accepted} of {templates} accepted"
    );
    assert!(
        std::fs::read_dir(cwd.path()).unwrap().next().is_none(),
        "something wrote into the working directory"
    );
}

#[test]
fn the_usual_ways_of_writing_a_command_are_accepted() {
    for wrapper in WRAPPERS.iter().chain(FORKING_WRAPPERS) {
        let text = wrapper.replace("HOLE", "{{v}}");
        Script::new(text.as_str())
            .check(&["v", "w"])
            .unwrap_or_else(|e| panic!("{text:?}: {e}"));
    }
    // Commands as definitions write them (dbs/etcd.yaml, control/tests/db.rs).
    for text in [
        "etcdctl --endpoints={{v}} --dial-timeout=1s endpoint status | awk -F', ' '{ exit !($5 == \"true\") }'",
        "test -f /opt/quoting/never-{{v}}",
        "mkdir -p /opt/q && printf '%s\\n' {{v}} {{w}} > /opt/q/install.out",
        "test -s /opt/q/env && test {{v}} = \"$(cat /opt/q/env)\"",
        "test {{v}} = 1 && test -n {{w}}",
        "for f in {{v}}/*.log; do gzip -9 \"$f\"; done",
        "cd {{v}} && ./bin/start --data={{w}} >>{{w}}/log 2>&1 &",
    ] {
        Script::new(text)
            .check(&["v", "w"])
            .unwrap_or_else(|e| panic!("{text:?}: {e}"));
    }
    for near in ["'a'", "\"a\"", "a=", "{{w}}", "$(printf x)", "\\\\", ":"] {
        let text = format!("printf %s {near}{{{{v}}}} {{{{v}}}}{near}");
        Script::new(text.as_str())
            .check(&["v", "w"])
            .unwrap_or_else(|e| panic!("{text:?}: {e}"));
    }
}

#[test]
fn a_backslash_before_a_placeholder_is_refused_when_the_definition_loads() {
    // The reported hole: `echo \{{node}}` rendered as `echo \'…'`.
    for (text, line) in [
        ("leader:\n  command: echo \\{{node}}\n", 10),
        ("leader: {command: 'echo \\{{node}}'}\n", 9),
        (
            // A block scalar is placed where its text starts; the message adds the line in it.
            "leader:\n  command: |\n    true\n    echo \"\\{{node}}\"\n",
            11,
        ),
    ] {
        let yaml = format!(
            "name: t\ndata_dir: /var/lib/t\ndaemon:\n  command: [sleep, '100']\n  pid_file: /run/t.pid\n  log_file: /var/log/t.log\nready:\n  tcp: 1234\n{text}"
        );
        let err = DbDef::parse(&yaml, Path::new("dbs/t.yaml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!("dbs/t.yaml:{line}:")) && err.contains("leader.command"),
            "{text:?}: {err}"
        );
        assert!(
            err.contains("backslash") || err.contains("double quotes"),
            "{text:?}: {err}"
        );
    }
}
