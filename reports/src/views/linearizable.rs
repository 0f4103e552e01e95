//! `linearizable`: the counterexample drawn (after Knossos and Porcupine), its
//! sentence, the longest linearizable prefixes, and the keys that failed.

use std::fmt::Write;

use askama::Template;
use splitbrain_checkers::{LinearizabilityResult, Verdict};

use super::{Detail, Page, View};
use crate::digest::Digest;
use crate::explain::{self, PrefixTable};
use crate::results::CheckerOutcome;
use crate::text::{thousands, value_text};
use crate::timeline::Focus;

pub(super) struct Linearizable;

pub(crate) struct LinView {
    pub model: String,
    pub sentence: Option<String>,
    pub message: Option<String>,
    pub diagram: Option<String>,
    pub prefixes: Vec<PrefixTable>,
    pub failed: Option<String>,
    pub failed_anchor: Option<String>,
    pub keys_line: String,
    pub bad_keys: Vec<String>,
    pub unknown_reason: Option<String>,
}

#[derive(Template)]
#[template(path = "counterexample.svg")]
struct CxSvg<'a> {
    d: &'a explain::Diagram,
}

impl View for Linearizable {
    fn page(&self, c: &CheckerOutcome, page: &mut Page<'_>) -> Option<Detail> {
        if c.verdict == Verdict::Valid {
            return None;
        }
        let l = c.finding::<LinearizabilityResult>()?;
        let view = lin_view(&l, page.digest, &mut page.focus);
        if page.lead.is_none() {
            page.lead = view
                .sentence
                .as_ref()
                .map(|s| format!("Not linearizable: {s}."));
        }
        Some(Detail::Lin(Box::new(view)))
    }

    fn text(&self, c: &CheckerOutcome) -> String {
        let mut s = String::new();
        let Some(l) = c.finding::<LinearizabilityResult>() else {
            return s;
        };
        if let Some(cx) = &l.counterexample {
            let _ = writeln!(s, "{}", explain::sentence(&l.model, cx));
            let _ = writeln!(s, "{}", cx.message);
            for (i, p) in cx.prefixes.iter().enumerate() {
                let _ = writeln!(
                    s,
                    "longest linearizable prefix {} (last ops, in order):",
                    i + 1
                );
                for (k, op) in p.ops.iter().enumerate() {
                    let _ = writeln!(
                        s,
                        "  {:>2}. process {} {} (op {}) => {}",
                        k + 1,
                        op.op.process,
                        op.op.describe(),
                        op.op.index,
                        op.state_after
                    );
                }
                for u in cx.unplaceable.iter().filter(|u| u.prefix == i) {
                    let _ = writeln!(
                        s,
                        "   ✗ process {} {} (op {}): {}",
                        u.op.process,
                        u.op.describe(),
                        u.op.index,
                        u.reason
                    );
                }
            }
        }
        if let Some(u) = &l.unknown_reason {
            let _ = writeln!(s, "unknown: {u}");
        }
        s
    }

    fn sentence(&self, c: &CheckerOutcome) -> Option<String> {
        let l = c.finding::<LinearizabilityResult>()?;
        l.counterexample
            .as_ref()
            .map(|cx| explain::sentence(&l.model, cx))
    }

    fn elapsed_ms(&self, c: &CheckerOutcome) -> Option<f64> {
        c.finding::<LinearizabilityResult>()
            .map(|l| l.stats.elapsed_ms)
    }
}

fn lin_view(l: &LinearizabilityResult, d: &Digest, focus: &mut Option<Focus>) -> LinView {
    let bad: Vec<String> = l
        .keys
        .iter()
        .filter(|k| k.verdict == Verdict::Invalid)
        .map(|k| {
            k.key
                .as_ref()
                .map(value_text)
                .unwrap_or_else(|| "(single object)".into())
        })
        .collect();
    let unknown = l
        .keys
        .iter()
        .filter(|k| k.verdict == Verdict::Unknown)
        .count();
    let multi_key = l.keys.len() > 1 || l.keys.first().is_some_and(|k| k.key.is_some());
    let keys_line = if multi_key {
        format!(
            "{} keys checked independently: {} invalid, {} unknown, {} valid; {} ops in {:.0} ms.",
            l.keys.len(),
            bad.len(),
            unknown,
            l.keys.len() - bad.len() - unknown,
            thousands(l.stats.calls),
            l.stats.elapsed_ms
        )
    } else {
        format!(
            "{} ops checked in {:.0} ms.",
            thousands(l.stats.calls),
            l.stats.elapsed_ms
        )
    };
    let mut view = LinView {
        model: l.model.clone(),
        sentence: None,
        message: None,
        diagram: None,
        prefixes: Vec::new(),
        failed: None,
        failed_anchor: None,
        keys_line,
        // A single-object history has no keys to list.
        bad_keys: if multi_key {
            bad.into_iter().take(50).collect()
        } else {
            Vec::new()
        },
        unknown_reason: l.unknown_reason.clone(),
    };
    if let Some(cx) = &l.counterexample {
        view.sentence = Some(explain::sentence(&l.model, cx));
        view.message = Some(cx.message.clone());
        view.prefixes = explain::prefix_tables(cx);
        view.failed = Some(format!(
            "process {}'s {} (op {})",
            cx.failed_op.process,
            cx.failed_op.describe(),
            cx.failed_op.index
        ));
        view.diagram = explain::diagram(cx, d).and_then(|dg| CxSvg { d: &dg }.render().ok());
        if let Some(pos) = d.position(cx.failed_op.index) {
            let mut marked = vec![cx.failed_op.index];
            marked.extend(cx.unplaceable.iter().map(|u| u.op.index));
            view.failed_anchor = Some(format!("op-{}", cx.failed_op.index));
            if focus.is_none() {
                *focus = Some(Focus {
                    pos,
                    why: format!(
                        "around op {}, which cannot be linearized",
                        cx.failed_op.index
                    ),
                    marked,
                });
            }
        }
    }
    view
}
