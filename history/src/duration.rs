//! The one duration grammar of splitbrain, for flags, test definitions,
//! database definitions and stored `test.yaml` files alike.
//!
//! A duration is one or more `<number><unit>` parts, optionally separated by
//! spaces (`500ms`, `15s`, `1m30s`, `1h 30m`, `1.5s`), or a plain number of
//! seconds (`60`, `2.5`, as Jepsen's `--time-limit 60`). In YAML a number
//! (`15`, `1.5`) is seconds too. Units, case-sensitive:
//!
//! | unit | names |
//! | --- | --- |
//! | nanoseconds | `ns`, `nsec`, `nanos` |
//! | microseconds | `us`, `µs`, `usec` |
//! | milliseconds | `ms`, `msec`, `millis` |
//! | seconds | `s`, `sec`, `secs`, `second`, `seconds` |
//! | minutes | `m`, `min`, `mins`, `minute`, `minutes` |
//! | hours | `h`, `hr`, `hrs`, `hour`, `hours` |
//! | days | `d`, `day`, `days` |
//! | weeks | `w`, `wk`, `wks`, `week`, `weeks` |
//!
//! (humantime's months and years are recognised only to say they are too long.)
//!
//! Every duration is at most [`MAX`] (7 days): no test phase, timeout or fault
//! needs more, and the bound means that nothing downstream (`Instant + d`,
//! timers, `interval * 3`, milliseconds as `u64`) can overflow. Negative
//! values, NaN and infinities are rejected; parts below a nanosecond are cut.
//!
//! [`option`] and [`required`] are serde helpers for YAML fields: their errors
//! are raised inside the deserializer, so serde-saphyr attaches the field's
//! line and column.

use std::fmt;
use std::time::Duration;

/// The longest duration accepted anywhere: 7 days.
pub const MAX: Duration = Duration::from_secs(7 * 24 * 3600);
/// [`MAX`] as users write it.
pub const MAX_TEXT: &str = "7d";

const NS_PER_SEC: u128 = 1_000_000_000;
const MAX_NS: u128 = MAX.as_secs() as u128 * NS_PER_SEC;
/// Significant digits kept from a number: enough for nanoseconds up to [`MAX`]
/// (15 digits) with room to spare, and small enough that `digits * unit` fits a `u128`.
const KEPT_DIGITS: usize = 20;

/// A text or number that is not an acceptable duration. The message says what was
/// wrong and what is expected; callers add the file, line or flag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("duration `{0}` is longer than the maximum {MAX_TEXT}")]
    TooLong(String),
    #[error("duration `{0}` is negative; a duration is 0 or more, e.g. 500ms or 15s")]
    Negative(String),
    #[error(
        "duration `{0}` is not a finite number; expected e.g. 500ms, 15s, 1m30s, or a number of seconds"
    )]
    NotFinite(String),
    #[error(
        "`{text}` is not a duration ({why}); expected e.g. 500ms, 15s, 1m30s, 2h, or a number of seconds (at most {MAX_TEXT})"
    )]
    Syntax { text: String, why: String },
}

/// Parses a duration written by a user: `500ms`, `15s`, `1m30s`, `1h 30m`, `2.5`
/// (seconds). See the module documentation for the grammar.
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let t = text.trim();
    let syntax = |why: String| DurationError::Syntax {
        text: t.to_string(),
        why,
    };
    if t.is_empty() {
        return Err(syntax("it is empty".into()));
    }
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    if matches!(
        unsigned.to_ascii_lowercase().as_str(),
        "nan" | ".nan" | "inf" | ".inf" | "infinity"
    ) {
        return Err(DurationError::NotFinite(t.to_string()));
    }
    if t.starts_with('-') {
        return Err(DurationError::Negative(t.to_string()));
    }
    // A plain number is seconds; it may use an exponent, as YAML and JSON floats do.
    if let Some(number) = Number::scan(t, true)
        && number.len == t.len()
    {
        return number
            .nanos(NS_PER_SEC)
            .map(from_nanos)
            .ok_or_else(|| DurationError::TooLong(t.to_string()));
    }
    let mut rest = t;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let offset = t.len() - rest.len();
        let number = Number::scan(rest, false)
            .ok_or_else(|| syntax(format!("expected a number at character {}", offset + 1)))?;
        rest = rest[number.len..].trim_start();
        let unit_len = rest
            .find(|c: char| !(c.is_alphabetic()))
            .unwrap_or(rest.len());
        let (unit, after) = rest.split_at(unit_len);
        if unit.is_empty() {
            let got = after.chars().next().map_or("the end".to_string(), |c| {
                format!("`{c}` at character {}", t.len() - after.len() + 1)
            });
            return Err(syntax(format!(
                "expected a unit (ms, s, m, h, ...) after `{}`, got {got}",
                number.text
            )));
        }
        let unit_ns = unit_nanos(unit).ok_or_else(|| {
            syntax(format!(
                "unknown unit `{unit}`; expected ns, us, ms, s, m, h, d or w"
            ))
        })?;
        let part = number
            .nanos(unit_ns)
            .ok_or_else(|| DurationError::TooLong(t.to_string()))?;
        total += part;
        if total > MAX_NS {
            return Err(DurationError::TooLong(t.to_string()));
        }
        rest = after.trim_start();
    }
    Ok(from_nanos(total))
}

/// A number of seconds from YAML or JSON, with the same bounds as [`parse`].
pub fn from_secs_f64(secs: f64) -> Result<Duration, DurationError> {
    let text = || {
        // `1e300`, not three hundred zeros.
        if secs.abs() >= 1e15 || (secs != 0.0 && secs.abs() < 1e-6) {
            format!("{secs:e}")
        } else {
            format!("{secs}")
        }
    };
    if !secs.is_finite() {
        return Err(DurationError::NotFinite(text()));
    }
    if secs < 0.0 {
        return Err(DurationError::Negative(text()));
    }
    if secs > MAX.as_secs_f64() {
        return Err(DurationError::TooLong(text()));
    }
    // In range by now (and -0.0 is zero).
    Ok(Duration::try_from_secs_f64(secs.abs()).unwrap_or(MAX))
}

/// A duration from anywhere else (code, arithmetic), with the same bound as [`parse`].
pub fn check(d: Duration) -> Result<Duration, DurationError> {
    if d > MAX {
        return Err(DurationError::TooLong(format(d)));
    }
    Ok(d)
}

/// A whole number of seconds, with the same bound as [`parse`].
pub fn from_secs(secs: u128) -> Result<Duration, DurationError> {
    if secs > u128::from(MAX.as_secs()) {
        return Err(DurationError::TooLong(secs.to_string()));
    }
    Ok(Duration::from_secs(secs as u64))
}

/// The compact form [`parse`] reads back: `1m30s`, `500ms`, `1h`, `0s`.
pub fn format(d: Duration) -> String {
    const UNITS: [(&str, u128); 7] = [
        ("d", 86_400 * NS_PER_SEC),
        ("h", 3_600 * NS_PER_SEC),
        ("m", 60 * NS_PER_SEC),
        ("s", NS_PER_SEC),
        ("ms", 1_000_000),
        ("us", 1_000),
        ("ns", 1),
    ];
    let mut ns = d.as_nanos();
    if ns == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (name, size) in UNITS {
        if ns >= size {
            out.push_str(&format!("{}{name}", ns / size));
            ns %= size;
        }
    }
    out
}

fn from_nanos(ns: u128) -> Duration {
    debug_assert!(ns <= MAX_NS);
    Duration::new(
        (ns / NS_PER_SEC) as u64,
        (ns % NS_PER_SEC) as u32, // < 1e9
    )
}

fn unit_nanos(unit: &str) -> Option<u128> {
    const MONTH: u128 = 2_630_016; // humantime's 30.44 days
    const YEAR: u128 = 31_557_600; // 365.25 days
    Some(match unit {
        "ns" | "nsec" | "nanos" => 1,
        "us" | "µs" | "usec" => 1_000,
        "ms" | "msec" | "millis" => 1_000_000,
        "s" | "sec" | "secs" | "second" | "seconds" => NS_PER_SEC,
        "m" | "min" | "mins" | "minute" | "minutes" => 60 * NS_PER_SEC,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3_600 * NS_PER_SEC,
        "d" | "day" | "days" => 86_400 * NS_PER_SEC,
        "w" | "wk" | "wks" | "week" | "weeks" => 7 * 86_400 * NS_PER_SEC,
        "M" | "month" | "months" => MONTH * NS_PER_SEC,
        "y" | "yr" | "yrs" | "year" | "years" => YEAR * NS_PER_SEC,
        _ => return None,
    })
}

/// A decimal number at the start of a text: `15`, `1.5`, `.5`, and with
/// `exponent`, `1e300` or `2.5E-3`.
struct Number<'a> {
    text: &'a str,
    /// Bytes of the text it covers.
    len: usize,
    /// The significant digits, leading zeros removed, at most [`KEPT_DIGITS`].
    digits: u128,
    /// The value is `digits * 10^exp10`.
    exp10: i64,
    /// `digits` is zero.
    zero: bool,
}

impl<'a> Number<'a> {
    fn scan(text: &'a str, exponent: bool) -> Option<Number<'a>> {
        let b = text.as_bytes();
        let mut i = 0;
        let mut digits: u128 = 0;
        let mut kept = 0usize;
        let mut exp10: i64 = 0;
        let mut seen_digit = false;
        let mut push = |d: u8, fractional: bool, exp10: &mut i64| {
            if kept == 0 && d == 0 {
                // A leading zero says nothing, except in the fraction where it moves the point.
                if fractional {
                    *exp10 -= 1;
                }
                return;
            }
            if kept < KEPT_DIGITS {
                digits = digits * 10 + u128::from(d);
                kept += 1;
                if fractional {
                    *exp10 -= 1;
                }
            } else if !fractional {
                // A digit dropped from the integer part still scales the value.
                *exp10 += 1;
            }
        };
        while i < b.len() && b[i].is_ascii_digit() {
            push(b[i] - b'0', false, &mut exp10);
            seen_digit = true;
            i += 1;
        }
        if i < b.len() && b[i] == b'.' {
            let dot = i;
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                push(b[i] - b'0', true, &mut exp10);
                seen_digit = true;
                i += 1;
            }
            if !seen_digit {
                i = dot;
            }
        }
        if !seen_digit {
            return None;
        }
        if exponent && i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            let mut j = i + 1;
            let negative = j < b.len() && b[j] == b'-';
            if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
                j += 1;
            }
            let start = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            if j > start {
                // Absurd exponents saturate: the value is then 0 or too long either way.
                let e: i64 = text[start..j].parse().unwrap_or(i64::MAX / 4).min(1 << 40);
                exp10 += if negative { -e } else { e };
                i = j;
            }
        }
        Some(Number {
            text: &text[..i],
            len: i,
            digits,
            exp10,
            zero: kept == 0,
        })
    }

    /// `self * unit_ns` in nanoseconds (fractions of a nanosecond cut), or `None`
    /// when that is more than [`MAX`].
    fn nanos(&self, unit_ns: u128) -> Option<u128> {
        if self.zero {
            return Some(0);
        }
        // digits < 10^20 and unit_ns < 10^17: the product fits a u128 (< 3.4 * 10^38).
        let scaled = self.digits * unit_ns;
        let ns = if self.exp10 >= 0 {
            let pow = 10u128.checked_pow(u32::try_from(self.exp10).ok()?)?;
            scaled.checked_mul(pow)?
        } else {
            match u32::try_from(-self.exp10)
                .ok()
                .and_then(|k| 10u128.checked_pow(k))
            {
                Some(pow) => scaled / pow,
                None => 0, // divided by more than 10^38: below a nanosecond
            }
        };
        (ns <= MAX_NS).then_some(ns)
    }
}

/// serde for `Option<Duration>` fields: `#[serde(default, with = "splitbrain_history::duration::option")]`.
///
/// Reads a duration text or a number of seconds; writes the compact text.
pub mod option {
    use std::time::Duration;

    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&super::format(*d)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        d.deserialize_option(OptionVisitor)
    }

    struct OptionVisitor;

    impl<'de> serde::de::Visitor<'de> for OptionVisitor {
        type Value = Option<Duration>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            super::expecting(f)
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            super::required::deserialize(d).map(Some)
        }
    }
}

/// serde for `Duration` fields: `#[serde(with = "splitbrain_history::duration::required")]`
/// (or `deserialize_with = "splitbrain_history::duration::required::deserialize"`).
pub mod required {
    use std::time::Duration;

    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        d.deserialize_any(super::DurationVisitor)
    }
}

fn expecting(f: &mut fmt::Formatter) -> fmt::Result {
    write!(
        f,
        "a duration such as 500ms, 15s or 1m30s, or a number of seconds (at most {MAX_TEXT})"
    )
}

/// Raising the error inside the visitor lets the deserializer attach the position.
struct DurationVisitor;

impl<'de> serde::de::Visitor<'de> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        expecting(f)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Duration, E> {
        parse(v).map_err(E::custom)
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Duration, E> {
        from_secs(u128::from(v)).map_err(E::custom)
    }

    fn visit_u128<E: serde::de::Error>(self, v: u128) -> Result<Duration, E> {
        from_secs(v).map_err(E::custom)
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Duration, E> {
        self.visit_i128(i128::from(v))
    }

    fn visit_i128<E: serde::de::Error>(self, v: i128) -> Result<Duration, E> {
        match u128::try_from(v) {
            Ok(v) => from_secs(v).map_err(E::custom),
            Err(_) => Err(E::custom(DurationError::Negative(v.to_string()))),
        }
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Duration, E> {
        from_secs_f64(v).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn what_users_write_today() {
        assert_eq!(parse("500ms").unwrap(), ms(500));
        assert_eq!(parse("15s").unwrap(), ms(15_000));
        assert_eq!(parse("1m30s").unwrap(), ms(90_000));
        assert_eq!(parse("1h 30m").unwrap(), ms(5_400_000));
        assert_eq!(parse("2h").unwrap(), ms(7_200_000));
        assert_eq!(parse("1.5s").unwrap(), ms(1_500));
        assert_eq!(parse(".5s").unwrap(), ms(500));
        assert_eq!(parse("15 s").unwrap(), ms(15_000));
        assert_eq!(parse("2 minutes").unwrap(), ms(120_000));
        assert_eq!(parse("  10s ").unwrap(), ms(10_000));
        assert_eq!(parse("3us").unwrap(), Duration::from_micros(3));
        assert_eq!(parse("3µs").unwrap(), Duration::from_micros(3));
        assert_eq!(parse("7ns").unwrap(), Duration::from_nanos(7));
        assert_eq!(parse("1w").unwrap(), MAX);
        assert_eq!(parse("7d").unwrap(), MAX);
        assert_eq!(parse("0").unwrap(), Duration::ZERO);
        assert_eq!(parse("0s").unwrap(), Duration::ZERO);
        // Plain numbers are seconds (Jepsen's `--time-limit 60`), exponents allowed.
        assert_eq!(parse("60").unwrap(), ms(60_000));
        assert_eq!(parse("2.5").unwrap(), ms(2_500));
        assert_eq!(parse("1e3").unwrap(), ms(1_000_000));
        assert_eq!(parse("2.5E-3").unwrap(), ms(2) + Duration::from_micros(500));
        // Exact, not through floating point.
        assert_eq!(
            parse("0.000000001s").unwrap(),
            Duration::from_nanos(1),
            "one nanosecond"
        );
        assert_eq!(parse("0.1").unwrap(), ms(100));
        assert_eq!(
            parse("0.0000000001s").unwrap(),
            Duration::ZERO,
            "below 1ns is cut"
        );
    }

    #[test]
    fn what_humantime_wrote_into_old_test_yaml_files_reads_back() {
        assert_eq!(parse("1h 30m 5s 500ms").unwrap(), ms(5_405_500));
        assert_eq!(
            parse("1s 2ms 3us 4ns").unwrap(),
            Duration::new(1, 2_003_004)
        );
    }

    #[test]
    fn format_round_trips() {
        for d in [
            Duration::ZERO,
            ms(500),
            ms(90_000),
            Duration::new(3_661, 1_002_003),
            MAX,
        ] {
            assert_eq!(parse(&format(d)).unwrap(), d, "{}", format(d));
        }
        assert_eq!(format(ms(90_000)), "1m30s");
        assert_eq!(format(ms(15_000)), "15s");
        assert_eq!(format(Duration::ZERO), "0s");
    }

    #[test]
    fn too_long_says_the_maximum() {
        for text in [
            "1e300",
            "1e20",
            "99999999999999999999s",
            "604801",
            "7d1ns",
            "8d",
            "2w",
            "1y",
            "1M",
            "169h",
            "1e1000000000000000000000",
            "100000000000000000000000000000000000000000000000000ms",
            "6d 23h 59m 59s 1000ms 1ns",
        ] {
            let err = parse(text).unwrap_err();
            assert_eq!(err, DurationError::TooLong(text.into()), "{text}");
            assert_eq!(
                err.to_string(),
                format!("duration `{text}` is longer than the maximum 7d")
            );
        }
        assert_eq!(parse("6d 23h 59m 59s 1000ms").unwrap(), MAX);
        assert_eq!(parse("604800").unwrap(), MAX);
        assert_eq!(
            parse("604799.999999999").unwrap(),
            MAX - Duration::from_nanos(1)
        );
    }

    #[test]
    fn negative_nan_infinite_and_nonsense_are_rejected() {
        assert!(matches!(parse("-1s"), Err(DurationError::Negative(_))));
        assert!(matches!(parse("-5"), Err(DurationError::Negative(_))));
        for t in ["nan", "NaN", ".nan", "inf", "-inf", "+Infinity", ".inf"] {
            assert!(
                matches!(parse(t), Err(DurationError::NotFinite(_))),
                "{t}: {:?}",
                parse(t)
            );
        }
        for t in [
            "",
            " ",
            "soon",
            "5x",
            "s",
            "1.5.5s",
            "1e3s",
            "15s garbage",
            "1m30",
            ".",
            "1 2s",
            "1s,2s",
        ] {
            let err = parse(t).unwrap_err();
            assert!(matches!(err, DurationError::Syntax { .. }), "{t}: {err}");
            let msg = err.to_string();
            assert!(msg.contains("expected e.g. 500ms"), "{msg}");
        }
        let msg = parse("5x").unwrap_err().to_string();
        assert!(msg.contains("unknown unit `x`"), "{msg}");
        let msg = parse("1m30").unwrap_err().to_string();
        assert!(msg.contains("after `30`"), "{msg}");
    }

    #[test]
    fn numbers_of_seconds_have_the_same_bounds() {
        assert_eq!(from_secs_f64(1.5).unwrap(), ms(1_500));
        assert_eq!(
            from_secs_f64(1e300).unwrap_err().to_string(),
            "duration `1e300` is longer than the maximum 7d"
        );
        assert_eq!(
            from_secs_f64(1e20).unwrap_err(),
            DurationError::TooLong("1e20".into())
        );
        assert!(matches!(
            from_secs_f64(f64::NAN),
            Err(DurationError::NotFinite(_))
        ));
        assert!(matches!(
            from_secs_f64(f64::INFINITY),
            Err(DurationError::NotFinite(_))
        ));
        assert!(matches!(
            from_secs_f64(-0.5),
            Err(DurationError::Negative(_))
        ));
        assert_eq!(check(MAX).unwrap(), MAX);
        assert_eq!(
            check(MAX + Duration::from_nanos(1))
                .unwrap_err()
                .to_string(),
            "duration `7d1ns` is longer than the maximum 7d"
        );
        assert_eq!(from_secs(604_800).unwrap(), MAX);
        assert!(from_secs(604_801).is_err());
        assert!(from_secs(u128::MAX).is_err());
    }

    #[test]
    fn serde_helpers_read_text_and_numbers_and_write_text() {
        #[derive(serde::Deserialize, serde::Serialize, Debug)]
        struct T {
            #[serde(default, with = "option")]
            a: Option<Duration>,
            #[serde(with = "required")]
            b: Duration,
        }
        let t: T = serde_json::from_str(r#"{"a": "1m30s", "b": 1.5}"#).unwrap();
        assert_eq!((t.a, t.b), (Some(ms(90_000)), ms(1_500)));
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"a":"1m30s","b":"1s500ms"}"#
        );
        let t: T = serde_json::from_str(r#"{"a": null, "b": 15}"#).unwrap();
        assert_eq!((t.a, t.b), (None, ms(15_000)));
        let t: T = serde_json::from_str(r#"{"b": "2h"}"#).unwrap();
        assert_eq!(t.a, None);
        for (json, want) in [
            (r#"{"b": 1e300}"#, "longer than the maximum 7d"),
            (r#"{"b": 1e20}"#, "duration `1e20` is longer"),
            (r#"{"b": 99999999999999999999}"#, "longer than the maximum"),
            (r#"{"b": -3}"#, "negative"),
            (r#"{"b": "soon"}"#, "not a duration"),
            (r#"{"a": "1e300", "b": 1}"#, "longer than the maximum 7d"),
            (r#"{"b": true}"#, "a duration such as 500ms"),
        ] {
            let err = serde_json::from_str::<T>(json).unwrap_err().to_string();
            assert!(err.contains(want), "{json}: {err}");
            assert!(err.contains("line 1"), "position missing: {err}");
        }
    }
}
