//! POSIX shell quoting.
//!
//! Every argument that reaches a remote shell goes through [`quote`]. A value is
//! wrapped in single quotes, inside which the shell interprets nothing; a single
//! quote in the value becomes `'\''` (close, escaped quote, reopen). Values made
//! only of characters no shell treats specially are left bare so that commands
//! in logs and errors stay readable.

/// Quotes `s` as one shell word that the shell reads back as exactly `s`.
///
/// ```
/// use splitbrain_control::quote;
/// assert_eq!(quote("etcd"), "etcd");
/// assert_eq!(quote("a b"), "'a b'");
/// assert_eq!(quote("it's"), r"'it'\''s'");
/// assert_eq!(quote("$(touch /tmp/x)"), "'$(touch /tmp/x)'");
/// assert_eq!(quote(""), "''");
/// ```
pub fn quote(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(is_bare) {
        return s.to_string();
    }
    single_quote(s)
}

/// Quotes `s` in single quotes even when it needs none: for a place where a bare word could
/// mean more than its characters (a command name that is a reserved word such as `if`, or
/// that looks like an assignment, `PATH=/x`).
///
/// ```
/// use splitbrain_control::quote::single_quote;
/// assert_eq!(single_quote("if"), "'if'");
/// assert_eq!(single_quote("it's"), r"'it'\''s'");
/// ```
pub fn single_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str(r"'\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// Quotes each word and joins them with spaces: a command line.
pub fn quote_words<I, S>(words: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    words
        .into_iter()
        .map(|w| quote(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Characters that are never special to a POSIX shell, anywhere in a word.
/// (`=` is safe in argument position; `~` only at the start of a word, so it is quoted.)
fn is_bare(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'_' | b'-' | b'.' | b'/' | b',' | b':' | b'@' | b'%' | b'+' | b'='
        )
}

/// Values a config file or a node name could smuggle into a command; shared by the unit tests.
#[cfg(test)]
pub(crate) mod tests_support {
    pub(crate) const HOSTILE: &[&str] = &[
        "plain",
        "",
        "with space",
        "it's",
        "''",
        "\"double\"",
        "$(touch /tmp/splitbrain-quote-pwned)",
        "`touch /tmp/splitbrain-quote-pwned`",
        "a; touch /tmp/splitbrain-quote-pwned",
        "a && touch /tmp/splitbrain-quote-pwned",
        "line1\nline2\ttab",
        "$HOME ${PATH} $1 $@ $$",
        "back\\slash\\",
        "*?[a-z]{1,2}~",
        "-n",
        "'; touch /tmp/splitbrain-quote-pwned; echo '",
        "é ünïcödé ✓",
        "#comment",
        "!bang",
        "a|b>c<d&e",
    ];
}

#[cfg(test)]
mod tests {
    use super::tests_support::HOSTILE;
    use super::*;
    use std::process::Command;

    #[test]
    fn hostile_values_arrive_literally_through_sh() {
        let marker = std::path::Path::new("/tmp/splitbrain-quote-pwned");
        let _ = std::fs::remove_file(marker);
        for value in HOSTILE {
            // printf %s prints its argument verbatim: what the shell passed is what we see.
            let script = format!("printf %s {}", quote(value));
            let out = Command::new("sh").arg("-c").arg(&script).output().unwrap();
            assert!(out.status.success(), "{script}");
            assert_eq!(String::from_utf8(out.stdout).unwrap(), *value, "{script}");
        }
        assert!(!marker.exists(), "a quoted value was executed");
    }

    #[test]
    fn words_stay_separate() {
        let script = format!(
            "for a in {}; do printf '<%s>' \"$a\"; done",
            quote_words(["a b", "", "c'd"])
        );
        let out = Command::new("sh").arg("-c").arg(&script).output().unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), "<a b><><c'd>");
    }
}
