//! `counter`: the reads outside their bounds, linked to the timeline.

use std::fmt::Write;

use splitbrain_checkers::Verdict;
use splitbrain_checkers::counter::{CounterError, CounterResult};

use super::{Detail, LIST_LIMIT, Page, TEXT_LIMIT, View, with_reason};
use crate::results::CheckerOutcome;
use crate::timeline::Focus;

pub(super) struct Counter;

pub(crate) struct CounterRow {
    pub index: u64,
    pub process: String,
    pub value: String,
    pub lower: i64,
    pub upper: i64,
    pub anchor: Option<String>,
}

pub(crate) struct CounterView {
    pub read_count: usize,
    pub errors: Vec<CounterRow>,
    pub more: usize,
    pub reason: Option<String>,
}

impl View for Counter {
    fn page(&self, c: &CheckerOutcome, page: &mut Page<'_>) -> Option<Detail> {
        if c.verdict == Verdict::Valid {
            return None;
        }
        let k = c.finding::<CounterResult>()?;
        let d = page.digest;
        let ops = d.ops();
        // The error names the read's completion; the timeline marks invocations.
        let inv_index = |idx: u64| -> Option<(usize, u64)> {
            let pos = d.position(idx)?;
            let inv = d.history.invocation(pos)?;
            Some((inv, ops[inv].index))
        };
        let shown: Vec<(&CounterError, Option<(usize, u64)>)> = k
            .errors
            .iter()
            .take(LIST_LIMIT)
            .map(|e| (e, inv_index(e.index)))
            .collect();
        if page.focus.is_none()
            && let Some((_, Some((pos, _)))) = shown.first()
        {
            page.focus = Some(Focus {
                pos: *pos,
                why: "around the first read out of bounds".into(),
                marked: shown.iter().filter_map(|(_, a)| a.map(|a| a.1)).collect(),
            });
        }
        Some(Detail::Counter(CounterView {
            read_count: k.read_count,
            more: k.errors.len().saturating_sub(LIST_LIMIT),
            errors: shown
                .into_iter()
                .map(|(e, at)| CounterRow {
                    index: e.index,
                    process: e.process.to_string(),
                    value: e.value.to_string(),
                    lower: e.lower,
                    upper: e.upper,
                    anchor: at.map(|a| format!("op-{}", a.1)),
                })
                .collect(),
            reason: k.reason.clone(),
        }))
    }

    fn text(&self, c: &CheckerOutcome) -> String {
        let mut s = String::new();
        let Some(k) = c.finding::<CounterResult>() else {
            return s;
        };
        for e in k.errors.iter().take(TEXT_LIMIT) {
            let _ = writeln!(
                s,
                "op {}: process {} read {}, allowed {}..={}",
                e.index, e.process, e.value, e.lower, e.upper
            );
        }
        if k.errors.len() > TEXT_LIMIT {
            let _ = writeln!(s, "… and {} more", k.errors.len() - TEXT_LIMIT);
        }
        with_reason(s, k.reason.as_deref())
    }
}
