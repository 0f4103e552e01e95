//! `set`: lost, unexpected, failed-yet-present and recovered elements, and the
//! timeline around the first lost add.

use splitbrain_checkers::Verdict;
use splitbrain_checkers::set::SetResult;
use splitbrain_history::Value;

use super::{Detail, LIST_LIMIT, Page, View, text_list, with_reason};
use crate::digest::Digest;
use crate::results::CheckerOutcome;
use crate::text::thousands;
use crate::timeline::Focus;

pub(super) struct Set;

pub(crate) struct ValueGroup {
    pub title: &'static str,
    pub explain: &'static str,
    pub values: Vec<String>,
    pub more: usize,
    pub bad: bool,
}

pub(crate) struct SetView {
    pub counts: Vec<(String, String)>,
    pub groups: Vec<ValueGroup>,
    pub reason: Option<String>,
}

impl View for Set {
    fn page(&self, c: &CheckerOutcome, page: &mut Page<'_>) -> Option<Detail> {
        let s = c.finding::<SetResult>()?;
        // Recovered elements are worth showing even when the set is valid.
        if c.verdict == Verdict::Valid && s.recovered.is_empty() {
            return None;
        }
        if page.focus.is_none() && !s.lost.is_empty() {
            page.focus = set_focus(page.digest, &s.lost);
        }
        if page.lead.is_none() && c.verdict == Verdict::Invalid {
            page.lead = set_lead(&s);
        }
        Some(Detail::Set(set_view(&s)))
    }

    fn text(&self, c: &CheckerOutcome) -> String {
        let mut s = String::new();
        let Some(r) = c.finding::<SetResult>() else {
            return s;
        };
        text_list(&mut s, "lost", &r.lost);
        text_list(&mut s, "unexpected", &r.unexpected);
        text_list(&mut s, "failed yet present", &r.failed_present);
        with_reason(s, r.reason.as_deref())
    }
}

fn set_focus(d: &Digest, lost: &[Value]) -> Option<Focus> {
    let ops = d.ops();
    let mut marked = Vec::new();
    let mut first = None;
    for c in &d.calls {
        let inv = &ops[c.inv];
        if &*inv.f == "add" && lost.contains(&inv.value) && marked.len() < 100 {
            marked.push(inv.index);
            first.get_or_insert(c.inv);
        }
    }
    Some(Focus {
        pos: first?,
        why: "around the first add that was lost".into(),
        marked,
    })
}

/// "2 acknowledged adds were lost: 17, 42."
fn set_lead(s: &SetResult) -> Option<String> {
    let list = |v: &[Value]| {
        let shown: Vec<String> = v.iter().take(10).map(|x| x.to_string()).collect();
        let more = if v.len() > 10 {
            format!(" and {} more", v.len() - 10)
        } else {
            String::new()
        };
        format!("{}{more}", shown.join(", "))
    };
    let plural = |n: usize, one: &str, many: &str| {
        if n == 1 {
            one.to_string()
        } else {
            format!("{n} {many}")
        }
    };
    let mut parts = Vec::new();
    if !s.lost.is_empty() {
        parts.push(format!(
            "{} lost: {}",
            plural(
                s.lost.len(),
                "an acknowledged add was",
                "acknowledged adds were"
            ),
            list(&s.lost)
        ));
    }
    if !s.unexpected.is_empty() {
        parts.push(format!(
            "{} never added: {}",
            plural(
                s.unexpected.len(),
                "an element was read that was",
                "elements were read that were"
            ),
            list(&s.unexpected)
        ));
    }
    if !s.failed_present.is_empty() {
        parts.push(format!(
            "{} present anyway: {}",
            plural(
                s.failed_present.len(),
                "an add that failed is",
                "adds that failed are"
            ),
            list(&s.failed_present)
        ));
    }
    (!parts.is_empty()).then(|| {
        let mut s = parts.join("; ");
        if let Some(c) = s.get(..1) {
            s = c.to_uppercase() + &s[1..];
        }
        s + "."
    })
}

fn set_view(s: &SetResult) -> SetView {
    let group = |title, explain, values: &[Value], bad| ValueGroup {
        title,
        explain,
        values: values
            .iter()
            .take(LIST_LIMIT)
            .map(|v| v.to_string())
            .collect(),
        more: values.len().saturating_sub(LIST_LIMIT),
        bad,
    };
    let mut groups = Vec::new();
    for g in [
        group(
            "Lost",
            "acknowledged (ok) adds missing from a final read",
            &s.lost,
            true,
        ),
        group("Unexpected", "read, but never added", &s.unexpected, true),
        group(
            "Failed yet present",
            "adds that returned fail, yet appear in a final read",
            &s.failed_present,
            true,
        ),
        group(
            "Recovered",
            "adds with unknown outcome (info) that did take effect: allowed",
            &s.recovered,
            false,
        ),
    ] {
        if !g.values.is_empty() {
            groups.push(g);
        }
    }
    SetView {
        counts: vec![
            (
                "elements attempted".into(),
                thousands(s.attempt_count as u64),
            ),
            (
                "acknowledged".into(),
                thousands(s.acknowledged_count as u64),
            ),
            (
                "present in every final read".into(),
                thousands(s.ok_count as u64),
            ),
            ("final reads".into(), thousands(s.final_read_count as u64)),
        ],
        groups,
        reason: s.reason.clone(),
    }
}
