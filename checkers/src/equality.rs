//! When values are equal, and how to say so when it decides a verdict.
//!
//! The models compare values with [`Value`]'s own equality: integers and
//! floats are distinct (`1` is not `1.0`), keywords and strings are the same
//! (`:x` is `"x"`), and every other kind compares within itself. A write of
//! `1` and a read of `1.0` is therefore a violation, and a message saying
//! "can't read 1 from a register holding 1" would be no help: [`clash`]
//! finds such pairs so that the explanation says which is which.

use serde::{Deserialize, Serialize};
use splitbrain_history::Value;

/// Two values that look alike but differ in type, as explanations show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeClash {
    /// The value an op saw or expected, as shown: `1.0`.
    pub found: String,
    /// Its kind: `a float`.
    pub found_kind: String,
    /// The value the object held: `1`.
    pub held: String,
    /// Its kind: `an integer`.
    pub held_kind: String,
    /// The rule: `integers and floats never compare equal`.
    pub rule: String,
}

impl TypeClash {
    /// `1.0 (a float)`.
    pub fn found_typed(&self) -> String {
        format!("{} ({})", self.found, self.found_kind)
    }

    /// `1 (an integer)`.
    pub fn held_typed(&self) -> String {
        format!("{} ({})", self.held, self.held_kind)
    }

    /// The rule as a sentence's tail: `: integers and floats never compare equal`.
    pub fn tail(&self) -> String {
        format!(": {}", self.rule)
    }

    /// Both values typed, and the rule as the tail.
    pub fn contrast(&self) -> Contrast {
        Contrast {
            found: self.found_typed(),
            held: self.held_typed(),
            tail: self.tail(),
        }
    }
}

/// Two values as a sentence contrasts them, "can't read {found} from a
/// register holding {held}{tail}": typed, with the rule as the tail, when they
/// clash; plainly shown, with no tail, otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contrast {
    pub found: String,
    pub held: String,
    pub tail: String,
}

/// [`Contrast`] of `found` (what an op saw) and `held` (what the object held):
/// the one wording of "which is which" that every explanation uses.
pub fn contrast(found: &Value, held: &Value) -> Contrast {
    match clash(found, held) {
        Some(c) => c.contrast(),
        None => Contrast {
            found: shown(found),
            held: shown(held),
            tail: String::new(),
        },
    }
}

/// A value as explanations print it: [`Value`]'s own notation, except that a
/// whole float keeps its point (`1.0`, not `1`), so that it does not read as
/// an integer.
pub fn shown(v: &Value) -> String {
    match v {
        Value::Float(_) => {
            let s = v.to_string();
            if s.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
                s + ".0"
            } else {
                s
            }
        }
        Value::List(items) => {
            let inner: Vec<String> = items.iter().map(shown).collect();
            format!("[{}]", inner.join(" "))
        }
        Value::Map(entries) => {
            let inner: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{} {}", shown(k), shown(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
        other => other.to_string(),
    }
}

/// Where `found` and `held` differ only in the type of values that look the
/// same (`1.0` and `1`; inside lists and maps too, at the first such pair),
/// that pair; `None` when they are equal or differ in what they say.
pub fn clash(found: &Value, held: &Value) -> Option<TypeClash> {
    if found == held {
        return None;
    }
    match (found, held) {
        (Value::List(a), Value::List(b)) if a.len() == b.len() => {
            let (x, y) = a.iter().zip(b).find(|(x, y)| x != y)?;
            clash(x, y)
        }
        (Value::Map(a), Value::Map(b)) if a.len() == b.len() => {
            let ((ka, va), (kb, vb)) = a.iter().zip(b).find(|(x, y)| x != y)?;
            if ka != kb {
                clash(ka, kb)
            } else {
                clash(va, vb)
            }
        }
        _ if found.kind_name() != held.kind_name() && alike(found, held) => Some(TypeClash {
            found: shown(found),
            found_kind: found.kind_name().to_string(),
            held: shown(held),
            held_kind: held.kind_name().to_string(),
            rule: format!(
                "{} and {} never compare equal",
                plural(held.kind_name()),
                plural(found.kind_name())
            ),
        }),
        _ => None,
    }
}

/// Whether two values print as the same number or text: `1`, `1.0`, `1.00M`
/// and `1N` are alike; `1` and `1.5` are not.
fn alike(a: &Value, b: &Value) -> bool {
    let (a, b) = (a.to_string(), b.to_string());
    a == b || number_text(&a).is_some_and(|x| number_text(&b) == Some(x))
}

/// A number's digits without EDN's `N`/`M` suffix and trailing fractional zeros.
fn number_text(s: &str) -> Option<&str> {
    let s = s.trim_end_matches(['N', 'M']);
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    Some(if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    })
}

/// `an integer` → `integers`, `a big integer` → `big integers`.
fn plural(kind: &str) -> String {
    let bare = kind
        .strip_prefix("an ")
        .or_else(|| kind.strip_prefix("a "))
        .unwrap_or(kind);
    format!("{bare}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_integer_and_a_float_that_print_alike_clash() {
        let c = clash(&Value::Float(1.0), &Value::Int(1)).unwrap();
        assert_eq!(c.found_typed(), "1.0 (a float)");
        assert_eq!(c.held_typed(), "1 (an integer)");
        assert_eq!(c.rule, "integers and floats never compare equal");
        // Inside a list, at the first differing element.
        let l = |v: Vec<Value>| Value::List(v);
        let c = clash(
            &l(vec![Value::Int(0), Value::Float(2.0)]),
            &l(vec![Value::Int(0), Value::Int(2)]),
        )
        .unwrap();
        assert_eq!(c.found, "2.0");
    }

    #[test]
    fn a_contrast_is_typed_only_when_the_values_clash() {
        let c = contrast(&Value::Float(1.0), &Value::Int(1));
        assert_eq!(c.found, "1.0 (a float)");
        assert_eq!(c.held, "1 (an integer)");
        assert_eq!(c.tail, ": integers and floats never compare equal");
        let c = contrast(&Value::Float(1.5), &Value::Int(1));
        assert_eq!((c.found.as_str(), c.held.as_str()), ("1.5", "1"));
        assert_eq!(c.tail, "");
    }

    #[test]
    fn values_that_differ_in_what_they_say_do_not_clash() {
        assert_eq!(clash(&Value::Int(1), &Value::Int(1)), None);
        assert_eq!(clash(&Value::Float(1.5), &Value::Int(1)), None);
        assert_eq!(clash(&Value::Int(2), &Value::Int(1)), None);
        // A string "1" prints with its quotes: visibly different already.
        assert_eq!(clash(&Value::str("1"), &Value::Int(1)), None);
        assert_eq!(clash(&Value::Nil, &Value::Bool(false)), None);
    }

    #[test]
    fn whole_floats_keep_their_point() {
        assert_eq!(shown(&Value::Float(1.0)), "1.0");
        assert_eq!(shown(&Value::Float(-3.0)), "-3.0");
        assert_eq!(shown(&Value::Float(2.5)), "2.5");
        assert_eq!(shown(&Value::Int(1)), "1");
        assert_eq!(
            shown(&Value::List(vec![Value::Float(1.0), Value::str("x")])),
            "[1.0 \"x\"]"
        );
        assert_eq!(number_text("1.00M"), Some("1"));
        assert_eq!(number_text("12N"), Some("12"));
        assert_eq!(number_text("x"), None);
    }
}
