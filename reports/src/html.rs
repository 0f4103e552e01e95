//! `report.html`: one self-contained page per run (inline CSS and SVG, no
//! script, no network), rendered with askama, which escapes every value it
//! writes; a Content-Security-Policy forbids scripts as a second line of defence.

use std::path::Path;

use askama::Template;
use serde::Deserialize;
use splitbrain_checkers::counter::{CounterError, CounterResult};
use splitbrain_checkers::set::SetResult;
use splitbrain_checkers::stats::{Counts, StatsResult};
use splitbrain_checkers::{LinearizabilityResult, Verdict};
use splitbrain_history::{History, Value};

use crate::charts::{self, Chart, thousands};
use crate::digest::{Digest, value_text};
use crate::explain::{self, PrefixTable};
use crate::results::Results;
use crate::timeline::{self, Focus};
use crate::{ReportError, VERSION};

/// Everything a report is drawn from.
pub struct RunReport<'a> {
    pub results: &'a Results,
    /// The history the results are about (as read back from the store).
    pub history: &'a History,
    /// Files to link from the report, relative to it (`history.jsonl`, `nodes/n1/etcd.log`, ...).
    pub files: Vec<String>,
    /// Where the store's index is, relative to the report, when the run is in a store.
    pub index_href: Option<String>,
}

impl<'a> RunReport<'a> {
    /// A report linking to every file in `dir` (the run directory it will be written to).
    pub fn for_dir(results: &'a Results, history: &'a History, dir: &Path) -> RunReport<'a> {
        RunReport {
            results,
            history,
            files: list_files(dir),
            index_href: None,
        }
    }

    /// Renders the page.
    pub fn render(&self) -> Result<String, ReportError> {
        let page = build_page(self)?;
        page.render()
            .map_err(|e| ReportError::Render(e.to_string()))
    }
}

/// Files of a run directory worth linking: top-level files and node logs, sorted,
/// without the report itself.
fn list_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    let mut top: Vec<_> = entries.flatten().collect();
    top.sort_by_key(|e| e.file_name());
    for e in top {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        if path.is_file() && name != crate::REPORT_FILE {
            out.push(name);
        } else if path.is_dir() {
            let mut stack = vec![(path, name)];
            while let Some((p, rel)) = stack.pop() {
                let Ok(children) = std::fs::read_dir(&p) else {
                    continue;
                };
                let mut children: Vec<_> = children.flatten().collect();
                children.sort_by_key(|c| std::cmp::Reverse(c.file_name()));
                for c in children {
                    let r = format!("{rel}/{}", c.file_name().to_string_lossy());
                    if c.path().is_dir() {
                        stack.push((c.path(), r));
                    } else if out.len() < 500 {
                        out.push(r);
                    }
                }
            }
        }
    }
    out
}

pub(crate) fn verdict_class(v: Verdict) -> &'static str {
    v.as_str()
}

#[derive(Template)]
#[template(path = "counterexample.svg")]
struct CxSvg<'a> {
    d: &'a explain::Diagram,
}

#[derive(Template)]
#[template(path = "timeline.svg")]
struct TimelineSvg<'a> {
    t: &'a timeline::Timeline,
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage<'a> {
    test: &'a str,
    run: &'a str,
    verdict: &'static str,
    lead: String,
    index_href: Option<String>,
    config: Vec<(String, String)>,
    checkers: Vec<CheckerView>,
    anomalies: Vec<AnomalyView>,
    stats: Option<StatsView>,
    charts: Vec<Chart>,
    no_charts: Option<String>,
    faults: Vec<FaultRow>,
    timeline: Option<TimelineView>,
    files: Vec<FileLink>,
    notes: &'a [String],
    footer: String,
}

struct CheckerView {
    name: String,
    verdict: &'static str,
    summary: String,
}

struct AnomalyView {
    name: String,
    verdict: &'static str,
    detail: Detail,
}

enum Detail {
    Lin(Box<LinView>),
    Set(SetView),
    Counter(CounterView),
    Text(String),
}

struct LinView {
    model: String,
    sentence: Option<String>,
    message: Option<String>,
    diagram: Option<String>,
    prefixes: Vec<PrefixTable>,
    failed: Option<String>,
    failed_anchor: Option<String>,
    keys_line: String,
    bad_keys: Vec<String>,
    unknown_reason: Option<String>,
}

struct ValueGroup {
    title: &'static str,
    explain: &'static str,
    values: Vec<String>,
    more: usize,
    bad: bool,
}

struct SetView {
    counts: Vec<(String, String)>,
    groups: Vec<ValueGroup>,
    reason: Option<String>,
}

struct CounterRow {
    index: u64,
    process: String,
    value: String,
    lower: i64,
    upper: i64,
    anchor: Option<String>,
}

struct CounterView {
    read_count: usize,
    errors: Vec<CounterRow>,
    more: usize,
    reason: Option<String>,
}

struct StatsRow {
    f: String,
    count: String,
    ok: String,
    fail: String,
    info: String,
    bad: bool,
}

struct StatsView {
    rows: Vec<StatsRow>,
}

struct FaultRow {
    fault: String,
    color: &'static str,
    start: String,
    stop: String,
    length: String,
    nodes: String,
    detail: String,
    error: Option<String>,
}

struct TimelineView {
    svg: String,
    note: Option<String>,
    jump: Option<String>,
}

struct FileLink {
    href: String,
    label: String,
}

/// How many values of a set anomaly, or counter errors, are listed.
const LIST_LIMIT: usize = 200;

fn build_page<'a>(r: &'a RunReport<'a>) -> Result<ReportPage<'a>, ReportError> {
    let res = r.results;
    let d = Digest::new(r.history);
    let mut anomalies = Vec::new();
    let mut focus: Option<Focus> = None;
    let mut stats = None;
    let mut lead: Option<String> = None;
    for c in &res.checkers {
        let bad = c.verdict != Verdict::Valid;
        // The checkers' own result types, read back; a result this version cannot
        // read (another version's) falls back to the checker's summary line.
        let detail = match c.name.as_str() {
            "linearizable" => match LinearizabilityResult::deserialize(&c.result) {
                Ok(l) if bad => {
                    let view = lin_view(&l, &d, &mut focus);
                    if lead.is_none() {
                        lead = view
                            .sentence
                            .as_ref()
                            .map(|s| format!("Not linearizable: {s}."));
                    }
                    Some(Detail::Lin(Box::new(view)))
                }
                _ => None,
            },
            // Recovered elements are worth showing even when the set is valid.
            "set" => match SetResult::deserialize(&c.result) {
                Ok(s) if bad || !s.recovered.is_empty() => {
                    if focus.is_none() && !s.lost.is_empty() {
                        focus = set_focus(&d, &s.lost);
                    }
                    if lead.is_none() && c.verdict == Verdict::Invalid {
                        lead = set_lead(&s);
                    }
                    Some(Detail::Set(set_view(s)))
                }
                _ => None,
            },
            "counter" => match CounterResult::deserialize(&c.result) {
                Ok(k) if bad => Some(Detail::Counter(counter_view(k, &d, &mut focus))),
                _ => None,
            },
            "stats" => {
                stats = StatsResult::deserialize(&c.result)
                    .ok()
                    .map(|s| stats_view(&s));
                None
            }
            _ => None,
        };
        let detail = match detail {
            Some(detail) => detail,
            None if bad => Detail::Text(c.summary.clone()),
            None => continue,
        };
        anomalies.push(AnomalyView {
            name: c.name.clone(),
            verdict: verdict_class(c.verdict),
            detail,
        });
    }
    let lead = lead.unwrap_or_else(|| lead_for(res));

    let mut charts = Vec::new();
    for chart in [
        charts::latency_points(&d),
        charts::latency_quantiles(&d),
        charts::throughput(&d),
        charts::clock_offsets(&d),
    ] {
        if let Some(c) = chart.map_err(ReportError::Render)? {
            charts.push(c);
        }
    }
    let no_charts = (charts.is_empty()).then(|| {
        if d.calls.is_empty() {
            "The history has no client operations to chart.".to_string()
        } else {
            "The history has no timestamps (`time`), so latency and throughput cannot be charted; the timeline below orders ops by their position in the history.".to_string()
        }
    });

    let timeline = match timeline::build(&d, res.config.concurrency, focus.as_ref()) {
        Some(t) => {
            let svg = TimelineSvg { t: &t }
                .render()
                .map_err(|e| ReportError::Render(e.to_string()))?;
            Some(TimelineView {
                svg,
                note: t.note.clone(),
                jump: focus
                    .as_ref()
                    .and_then(|f| f.marked.first())
                    .map(|i| format!("op-{i}")),
            })
        }
        None => None,
    };

    let footer = format!(
        "Generated by splitbrain {VERSION} at {}.",
        jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M:%S UTC")
    );
    Ok(ReportPage {
        test: &res.test,
        run: &res.run,
        verdict: verdict_class(res.verdict),
        lead,
        index_href: r.index_href.clone(),
        config: config_rows(res),
        checkers: res
            .checkers
            .iter()
            .map(|c| CheckerView {
                name: c.name.clone(),
                verdict: verdict_class(c.verdict),
                summary: c.summary.clone(),
            })
            .collect(),
        anomalies,
        stats,
        charts,
        no_charts,
        faults: fault_rows(&d),
        timeline,
        files: r
            .files
            .iter()
            .map(|f| FileLink {
                href: href(f),
                label: f.clone(),
            })
            .collect(),
        notes: &res.notes,
        footer,
    })
}

/// The headline when no counterexample sentence is at hand.
fn lead_for(res: &Results) -> String {
    let first_bad = res
        .checkers
        .iter()
        .find(|c| c.verdict == res.verdict && c.verdict != Verdict::Valid);
    match (res.verdict, first_bad) {
        (Verdict::Valid, _) if res.checkers.is_empty() => "No checker ran.".into(),
        (Verdict::Valid, _) => format!(
            "Every checker found the history valid ({} over {} client ops).",
            res.checkers
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            thousands(res.ops.invoke)
        ),
        (Verdict::Invalid, Some(c)) => format!(
            "{} found an anomaly: {}.",
            c.name,
            c.summary.trim_end_matches('.')
        ),
        (Verdict::Unknown, Some(c)) => format!(
            "No verdict: {} could not decide ({}).",
            c.name,
            c.summary.trim_end_matches('.')
        ),
        _ => String::new(),
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

fn set_view(s: SetResult) -> SetView {
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
        reason: s.reason,
    }
}

fn counter_view(k: CounterResult, d: &Digest, focus: &mut Option<Focus>) -> CounterView {
    let ops = d.ops();
    // The error names the read's completion; the timeline marks invocations.
    let inv_index = |idx: u64| -> Option<(usize, u64)> {
        let pos = d.position(idx)?;
        let inv = d.history.invocation(pos)?;
        Some((inv, ops[inv].index))
    };
    let total = k.errors.len();
    let shown: Vec<(CounterError, Option<(usize, u64)>)> = k
        .errors
        .into_iter()
        .take(LIST_LIMIT)
        .map(|e| {
            let at = inv_index(e.index);
            (e, at)
        })
        .collect();
    if focus.is_none()
        && let Some((_, Some((pos, _)))) = shown.first()
    {
        *focus = Some(Focus {
            pos: *pos,
            why: "around the first read out of bounds".into(),
            marked: shown.iter().filter_map(|(_, a)| a.map(|a| a.1)).collect(),
        });
    }
    CounterView {
        read_count: k.read_count,
        more: total.saturating_sub(LIST_LIMIT),
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
        reason: k.reason,
    }
}

fn stats_view(s: &StatsResult) -> StatsView {
    let row = |f: &str, c: &Counts| StatsRow {
        f: f.to_string(),
        count: thousands(c.count),
        ok: thousands(c.ok_count),
        fail: thousands(c.fail_count),
        info: thousands(c.info_count),
        bad: c.count > 0 && c.ok_count == 0,
    };
    let mut rows: Vec<StatsRow> = s.by_f.iter().map(|(f, c)| row(f, c)).collect();
    rows.push(row("all", &s.total));
    StatsView { rows }
}

fn config_rows(r: &Results) -> Vec<(String, String)> {
    let c = &r.config;
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            rows.push((k.to_string(), v));
        }
    };
    put(
        "database",
        Some(
            c.db.clone()
                .unwrap_or_else(|| "none (in-process client)".into()),
        ),
    );
    put("client", c.client.clone());
    put("workload", c.workload.clone());
    put(
        "nemesis",
        Some(if c.nemesis.is_empty() {
            "none".into()
        } else {
            let mut s = c.nemesis.join(", ");
            if let Some(i) = c.nemesis_interval_s {
                s.push_str(&format!(" every {}", charts::seconds(i)));
            }
            s
        }),
    );
    put("seed", c.seed.map(|s| s.to_string()));
    put(
        "concurrency",
        c.concurrency
            .map(|n| format!("{n} worker{}", if n == 1 { "" } else { "s" })),
    );
    put(
        "rate",
        Some(
            c.rate
                .map_or("unthrottled".into(), |r| format!("{r} ops/s")),
        ),
    );
    put("time limit", c.time_limit_s.map(charts::seconds));
    put(
        "nodes",
        Some(if c.nodes.is_empty() {
            "none".into()
        } else {
            c.nodes.join(", ")
        }),
    );
    put("started", r.started.clone().map(|s| pretty_time(&s)));
    put("duration", r.duration_s.map(charts::seconds));
    put(
        "client ops",
        Some(format!(
            "{} invoked: {} ok, {} fail, {} info",
            thousands(r.ops.invoke),
            thousands(r.ops.ok),
            thousands(r.ops.fail),
            thousands(r.ops.info)
        )),
    );
    if !r.faults.is_empty() {
        put(
            "faults injected",
            Some(
                r.faults
                    .iter()
                    .map(|f| format!("{} ×{}", f.fault, f.count))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        );
    }
    if r.truncated {
        put(
            "history",
            Some("cut short (controller killed); last line dropped".into()),
        );
    }
    rows
}

/// `2026-11-25T10:15:00.123Z` → `2026-11-25 10:15:00 UTC`.
pub(crate) fn pretty_time(s: &str) -> String {
    match s.parse::<jiff::Timestamp>() {
        Ok(t) => t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
        Err(_) => s.to_string(),
    }
}

fn fault_rows(d: &Digest) -> Vec<FaultRow> {
    d.faults
        .iter()
        .map(|f| {
            let at = |p: usize| {
                if d.timed {
                    format!("{:.3} s", d.secs(p))
                } else {
                    format!("op {}", d.ops()[p].index)
                }
            };
            let length = match (d.timed, f.end_pos) {
                (true, Some(e)) => charts::seconds(d.secs(e) - d.secs(f.start_pos)),
                (true, None) => format!(
                    "{} (to the end)",
                    charts::seconds(d.end_secs() - d.secs(f.start_pos))
                ),
                _ => String::new(),
            };
            FaultRow {
                fault: f.fault.clone(),
                color: charts::fault_color(&f.fault),
                start: at(f.start_pos),
                stop: f.end_pos.map(at).unwrap_or_else(|| "never healed".into()),
                length,
                nodes: f.nodes.join(", "),
                detail: explain::ellipsize(&f.detail, 300),
                error: f.error.clone(),
            }
        })
        .collect()
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
    fn hrefs_are_percent_encoded_per_segment() {
        assert_eq!(href("nodes/n1/etcd.log"), "nodes/n1/etcd.log");
        assert_eq!(href("nodes/a b/<x>.log"), "nodes/a%20b/%3Cx%3E.log");
    }
}
