//! Small text helpers every part of the report uses: numbers, durations, values,
//! shortened labels, links and escaping. They depend on nothing else in the crate,
//! so the modules that draw (charts, timeline, page, views) never need each other
//! for them.

use splitbrain_history::Value;

/// `1,234,567`: the checkers' own formatting, so summaries and pages agree.
pub(crate) use splitbrain_checkers::thousands;

/// A short duration: `250 ms`, `2 s`, `1.5 s`.
pub(crate) fn seconds(s: f64) -> String {
    if s < 0.01 {
        format!("{} ms", trim((s * 1000.0 * 100.0).round() / 100.0))
    } else if s < 1.0 {
        format!("{} ms", (s * 1000.0).round())
    } else if s < 120.0 {
        format!("{} s", trim((s * 10.0).round() / 10.0))
    } else {
        let m = (s / 60.0).floor();
        format!("{} min {} s", m, (s - m * 60.0).round())
    }
}

fn trim(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A value as people read it: strings without quotes, everything else in EDN-like notation.
pub(crate) fn value_text(v: &Value) -> String {
    match v {
        Value::Str(s) => s.to_string(),
        other => other.to_string(),
    }
}

/// `s`, cut to at most `max` characters with `…` when longer.
pub(crate) fn ellipsize(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// `2026-11-25T10:15:00.123Z` → `2026-11-25 10:15:00 UTC`.
pub(crate) fn pretty_time(s: &str) -> String {
    match s.parse::<jiff::Timestamp>() {
        Ok(t) => t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
        Err(_) => s.to_string(),
    }
}

/// A relative link to a file, each path segment percent-encoded.
pub(crate) fn href(rel: &str) -> String {
    rel.split('/')
        .map(|seg| {
            let mut out = String::new();
            for b in seg.bytes() {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    out.push(b as char);
                } else {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
            out
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Escapes text for an XML/HTML attribute value (for the few strings built outside askama).
pub(crate) fn escape_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_durations_and_labels() {
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!(seconds(0.25), "250 ms");
        assert_eq!(seconds(15.0), "15 s");
        assert_eq!(seconds(150.0), "2 min 30 s");
        assert_eq!(ellipsize("abcdef", 4), "abc…");
        assert_eq!(ellipsize("abc", 4), "abc");
        assert_eq!(ellipsize("abc", 0), "…");
        assert_eq!(value_text(&Value::str("x")), "x");
        assert_eq!(
            escape_attr("<a href=\"x\">"),
            "&lt;a href=&quot;x&quot;&gt;"
        );
    }

    #[test]
    fn hrefs_are_percent_encoded_per_segment() {
        assert_eq!(href("nodes/n1/etcd.log"), "nodes/n1/etcd.log");
        assert_eq!(href("nodes/a b/<x>.log"), "nodes/a%20b/%3Cx%3E.log");
    }
}
