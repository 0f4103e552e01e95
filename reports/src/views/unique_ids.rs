//! `unique-ids`: the ids returned more than once, linked to the timeline.

use std::fmt::Write;

use splitbrain_checkers::Verdict;
use splitbrain_checkers::unique_ids::UniqueIdsResult;

use super::{Detail, LIST_LIMIT, Page, TEXT_LIMIT, View, with_reason};
use crate::digest::Digest;
use crate::results::CheckerOutcome;
use crate::text::thousands;
use crate::timeline::Focus;

pub(super) struct UniqueIds;

pub(crate) struct DuplicateRow {
    pub id: String,
    pub count: usize,
    /// The first two `ok` completions that returned the id, each with its timeline anchor.
    pub ops: [(u64, Option<String>); 2],
}

pub(crate) struct UniqueIdsView {
    pub acknowledged: String,
    pub rows: Vec<DuplicateRow>,
    pub more: usize,
    pub reason: Option<String>,
}

impl View for UniqueIds {
    fn page(&self, c: &CheckerOutcome, page: &mut Page<'_>) -> Option<Detail> {
        if c.verdict == Verdict::Valid {
            return None;
        }
        let u = c.finding::<UniqueIdsResult>()?;
        let d = page.digest;
        let rows: Vec<DuplicateRow> = u
            .duplicated
            .iter()
            .take(LIST_LIMIT)
            .map(|dup| DuplicateRow {
                id: dup.id.to_string(),
                count: dup.count,
                ops: dup
                    .ops
                    .map(|i| (i, invocation(d, i).map(|(_, inv)| format!("op-{inv}")))),
            })
            .collect();
        if page.focus.is_none()
            && let Some(first) = u.duplicated.first()
            && let Some((pos, _)) = invocation(d, first.ops[1])
        {
            page.focus = Some(Focus {
                pos,
                why: format!("around the second generate that returned {}", first.id),
                marked: first
                    .ops
                    .iter()
                    .filter_map(|&i| invocation(d, i).map(|(_, inv)| inv))
                    .collect(),
            });
        }
        Some(Detail::UniqueIds(UniqueIdsView {
            acknowledged: thousands(u.acknowledged_count as u64),
            rows,
            more: u.duplicated.len().saturating_sub(LIST_LIMIT),
            reason: u.reason.clone(),
        }))
    }

    fn text(&self, c: &CheckerOutcome) -> String {
        let mut s = String::new();
        let Some(u) = c.finding::<UniqueIdsResult>() else {
            return s;
        };
        for dup in u.duplicated.iter().take(TEXT_LIMIT) {
            let _ = writeln!(
                s,
                "id {} generated {} times (ops {}, {})",
                dup.id, dup.count, dup.ops[0], dup.ops[1]
            );
        }
        if u.duplicated.len() > TEXT_LIMIT {
            let _ = writeln!(s, "… and {} more", u.duplicated.len() - TEXT_LIMIT);
        }
        with_reason(s, u.reason.as_deref())
    }
}

/// The position and `index` of the invocation of the op whose completion's `index` is `index`.
fn invocation(d: &Digest, index: u64) -> Option<(usize, u64)> {
    let inv = d.history.invocation(d.position(index)?)?;
    Some((inv, d.ops()[inv].index))
}
