//! Numbers read exactly as written.
//!
//! A number becomes [`Value::Int`] when it is an integer that fits in 64 bits,
//! [`Value::BigInt`] when it is an integer that does not, [`Value::Float`]
//! when it has a fraction or exponent and an `f64` holds it exactly (the
//! float's shortest text names the same number), and [`Value::Decimal`]
//! otherwise, or when EDN marks it with `M`. So `18446744073709551615` and
//! `18446744073709551000` stay apart, and so do `1.00000000000000000001`
//! and `1.0`: no two texts for different numbers read as one value. The same
//! rule holds in every codec.
//!
//! Big integers and decimals keep a canonical text, so equal numbers compare
//! equal however they were written: no sign `+`, no leading zeros, decimals
//! without trailing zeros (`1.50M` is `1.5M`, `1e3M` is `1000M`).

use crate::Value;

/// Exponents longer than this are refused rather than padded out.
const MAX_EXPONENT_DIGITS: usize = 15;

/// Zeros written out before switching to `E` notation in canonical text.
const MAX_PADDING: i64 = 20;

/// An integer literal `[+-]?[0-9]+`: `Int` when it fits in 64 bits, else `BigInt`.
/// `None` when `text` is not such a literal.
pub(crate) fn integer(text: &str) -> Option<Value> {
    let (neg, digits) = split_sign(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if let Ok(i) = text.parse::<i64>() {
        return Some(Value::Int(i));
    }
    let digits = digits.trim_start_matches('0');
    // Anything that is zero after the zeros are gone fits in an i64 above.
    let mut s = String::with_capacity(digits.len() + 1);
    if neg {
        s.push('-');
    }
    s.push_str(digits);
    Some(Value::BigInt(s.into()))
}

/// A literal with a fraction and/or exponent (`1.5`, `2e-3`, `1.`): `Float`
/// when an `f64` holds it exactly, else `Decimal`. `None` when `text` is not
/// such a literal; `Err` for an absurd exponent.
pub(crate) fn float(text: &str) -> Option<Result<Value, String>> {
    let parts = match Parts::parse(text)? {
        Ok(p) => p,
        Err(e) => return Some(Err(e)),
    };
    let exact = text
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .filter(|x| {
            // `{:e}` prints the shortest digits that read back as `x`. When two texts of
            // that length both read back as `x` (…116.2 and …116.3 for 1111111000001116.25),
            // writers break the tie differently (serde_json's ryu and std do), so the text
            // is the float's when it reads back as `x` with no more digits than the shortest.
            let shortest = format!("{x:e}");
            matches!(Parts::parse(&shortest), Some(Ok(p)) if p.digits.len() == parts.digits.len())
        });
    Some(Ok(match exact {
        Some(x) => Value::Float(x),
        None => Value::Decimal(parts.canonical().into()),
    }))
}

/// A decimal literal (EDN `1.5M` without its `M`): always `Decimal`.
pub(crate) fn decimal(text: &str) -> Option<Result<Value, String>> {
    Some(Parts::parse(text)?.map(|p| Value::Decimal(p.canonical().into())))
}

/// Any number text: an integer, else a float or decimal.
pub(crate) fn any(text: &str) -> Option<Result<Value, String>> {
    match integer(text) {
        Some(v) => Some(Ok(v)),
        None => float(text),
    }
}

fn split_sign(text: &str) -> (bool, &str) {
    match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    }
}

/// A number as `(-1)^neg × digits × 10^exp`, `digits` without leading or
/// trailing zeros (empty for zero, whose sign is dropped).
#[derive(Debug, PartialEq, Eq)]
struct Parts {
    neg: bool,
    digits: String,
    exp: i64,
}

impl Parts {
    /// Parses `[+-]?D*(.D*)?([eE][+-]?D+)?` with at least one mantissa digit.
    fn parse(text: &str) -> Option<Result<Parts, String>> {
        let (neg, rest) = split_sign(text);
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int.len() + frac.len() == 0 || !all_digits(int) || !all_digits(frac) {
            return None;
        }
        let mut exp: i64 = 0;
        if let Some(e) = exponent {
            let (eneg, edigits) = split_sign(e);
            if edigits.is_empty() || !all_digits(edigits) {
                return None;
            }
            let edigits = edigits.trim_start_matches('0');
            if edigits.len() > MAX_EXPONENT_DIGITS {
                return Some(Err(format!(
                    "expected a number with an exponent of at most {MAX_EXPONENT_DIGITS} digits, found {text}"
                )));
            }
            exp = edigits.parse::<i64>().unwrap_or(0);
            if eneg {
                exp = -exp;
            }
        }
        let mut digits = String::with_capacity(int.len() + frac.len());
        digits.push_str(int.trim_start_matches('0'));
        if digits.is_empty() {
            digits.push_str(frac.trim_start_matches('0'));
        } else {
            digits.push_str(frac);
        }
        // Both lengths are bounded by the text, far below i64's range.
        exp -= frac.len() as i64;
        let kept = digits.trim_end_matches('0').len();
        exp += (digits.len() - kept) as i64;
        digits.truncate(kept);
        if digits.is_empty() {
            return Some(Ok(Parts {
                neg: false,
                digits,
                exp: 0,
            }));
        }
        Some(Ok(Parts { neg, digits, exp }))
    }

    /// Plain notation while it needs at most [`MAX_PADDING`] zeros, else
    /// `d.dddE±n`: a function of the number alone, so it can be compared.
    fn canonical(&self) -> String {
        let d = &self.digits;
        if d.is_empty() {
            return "0".into();
        }
        let n = d.len() as i64;
        // The power of ten of the leading digit.
        let lead = self.exp + n - 1;
        let mut s = String::with_capacity(d.len() + 24);
        if self.neg {
            s.push('-');
        }
        if self.exp >= 0 && self.exp <= MAX_PADDING {
            s.push_str(d);
            s.extend(std::iter::repeat_n('0', self.exp as usize));
        } else if self.exp < 0 && lead >= 0 {
            let point = (n + self.exp) as usize;
            s.push_str(&d[..point]);
            s.push('.');
            s.push_str(&d[point..]);
        } else if self.exp < 0 && -lead - 1 <= MAX_PADDING {
            s.push_str("0.");
            s.extend(std::iter::repeat_n('0', (-lead - 1) as usize));
            s.push_str(d);
        } else {
            s.push_str(&d[..1]);
            if d.len() > 1 {
                s.push('.');
                s.push_str(&d[1..]);
            }
            s.push('E');
            s.push_str(&lead.to_string());
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> String {
        match decimal(text).unwrap().unwrap() {
            Value::Decimal(s) => s.into(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn integers_beyond_64_bits_stay_exact() {
        assert_eq!(integer("9223372036854775807"), Some(Value::Int(i64::MAX)));
        assert_eq!(integer("-9223372036854775808"), Some(Value::Int(i64::MIN)));
        assert_eq!(integer("+007"), Some(Value::Int(7)));
        assert_eq!(
            integer("18446744073709551615"),
            Some(Value::BigInt("18446744073709551615".into()))
        );
        assert_ne!(
            integer("18446744073709551615"),
            integer("18446744073709551000")
        );
        assert_eq!(
            integer("-000018446744073709551615"),
            Some(Value::BigInt("-18446744073709551615".into()))
        );
        assert_eq!(integer("1.0"), None);
        assert_eq!(integer("-"), None);
        assert_eq!(integer("12N"), None);
    }

    #[test]
    fn floats_that_f64_holds_stay_floats() {
        for (text, x) in [
            ("1.5", 1.5),
            ("1.0", 1.0),
            ("0.1", 0.1),
            ("-2.5e-3", -0.0025),
            ("1e21", 1e21),
            ("1.", 1.0),
            ("0.30000000000000004", 0.30000000000000004),
            ("1.7976931348623157e308", f64::MAX),
        ] {
            assert_eq!(float(text), Some(Ok(Value::Float(x))), "{text}");
        }
    }

    #[test]
    fn either_of_two_equally_short_texts_is_the_float() {
        // Found by fuzzing: serde_json wrote 1111111000001116.25 as `…116.2`, std's
        // shortest text is `…116.3`; both must read back as the float that was written.
        let x = 8888888000008930.0 / 8.0;
        for text in ["1111111000001116.2", "1111111000001116.3"] {
            assert_eq!(float(text), Some(Ok(Value::Float(x))), "{text}");
        }
        assert_eq!(serde_json::to_string(&x).unwrap(), "1111111000001116.2");
        // One digit more than the shortest is not the float's text.
        assert_eq!(
            float("1111111000001116.26"),
            Some(Ok(Value::Decimal("1111111000001116.26".into())))
        );
    }

    #[test]
    fn floats_with_more_digits_than_f64_keeps_become_decimals() {
        for (text, canonical) in [
            ("1.00000000000000000001", "1.00000000000000000001"),
            ("0.10000000000000001", "0.10000000000000001"),
            ("1e400", "1E400"),
            ("1e-400", "1E-400"),
            ("-1.5e-400", "-1.5E-400"),
        ] {
            assert_eq!(
                float(text),
                Some(Ok(Value::Decimal(canonical.into()))),
                "{text}"
            );
        }
        assert_ne!(float("1.00000000000000000001"), float("1.0"));
        assert!(float("1e9999999999999999999").unwrap().is_err());
        assert_eq!(float("abc"), None);
        assert_eq!(float("1e"), None);
    }

    #[test]
    fn decimal_text_is_canonical() {
        assert_eq!(dec("1.50"), "1.5");
        assert_eq!(dec("+001.500e1"), "15");
        assert_eq!(dec("1e3"), "1000");
        assert_eq!(dec("-0.000"), "0");
        assert_eq!(dec("0.00012"), "0.00012");
        assert_eq!(dec("123.456"), "123.456");
        assert_eq!(dec("1e30"), "1E30");
        assert_eq!(dec("12345e-30"), "1.2345E-26");
        assert_eq!(dec("1.00000000000000000001"), "1.00000000000000000001");
        // Canonical text reads back as itself.
        for t in ["1E30", "1.2345E-26", "0.00012", "-15"] {
            assert_eq!(dec(t), t);
        }
    }
}
