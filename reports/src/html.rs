//! `report.html`: one self-contained page per run (inline CSS and SVG, no
//! script, no network), rendered with askama, which escapes every value it
//! writes; a Content-Security-Policy forbids scripts as a second line of defence.

use std::path::Path;

use askama::Template;
use splitbrain_checkers::Verdict;
use splitbrain_history::History;

use crate::charts::{self, Chart};
use crate::digest::Digest;
use crate::results::Results;
use crate::style::{FaultColours, verdict_class};
use crate::text::{ellipsize, href, pretty_time, seconds, thousands};
use crate::timeline;
use crate::views::{self, Detail, Page, StatsView};
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
    /// The colour of each fault.
    pub fault_colours: FaultColours,
}

impl<'a> RunReport<'a> {
    /// A report linking to every file in `dir` (the run directory it will be written to).
    pub fn for_dir(results: &'a Results, history: &'a History, dir: &Path) -> RunReport<'a> {
        RunReport {
            results,
            history,
            files: list_files(dir),
            index_href: None,
            fault_colours: FaultColours::default(),
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

struct FaultRow {
    fault: String,
    color: String,
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

fn build_page<'a>(r: &'a RunReport<'a>) -> Result<ReportPage<'a>, ReportError> {
    let res = r.results;
    let d = Digest::new(r.history);
    let mut anomalies = Vec::new();
    let mut page = Page {
        digest: &d,
        focus: None,
        lead: None,
        stats: None,
    };
    for c in &res.checkers {
        // The checker's view, when this version has one that can read its result;
        // else its summary line, when there is something to say.
        let detail = match views::view(&c.name).and_then(|v| v.page(c, &mut page)) {
            Some(detail) => detail,
            None if c.verdict != Verdict::Valid => Detail::Text(c.summary.clone()),
            None => continue,
        };
        anomalies.push(AnomalyView {
            name: c.name.clone(),
            verdict: verdict_class(c.verdict),
            detail,
        });
    }
    let Page {
        focus, lead, stats, ..
    } = page;
    let lead = lead.unwrap_or_else(|| lead_for(res));

    let mut charts = Vec::new();
    for chart in [
        charts::latency_points(&d, &r.fault_colours),
        charts::latency_quantiles(&d, &r.fault_colours),
        charts::throughput(&d, &r.fault_colours),
        charts::clock_offsets(&d, &r.fault_colours),
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

    let timeline =
        match timeline::build(&d, res.config.concurrency, focus.as_ref(), &r.fault_colours) {
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
        faults: fault_rows(&d, &r.fault_colours),
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
                s.push_str(&format!(" every {}", seconds(i)));
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
    put("time limit", c.time_limit_s.map(seconds));
    put(
        "nodes",
        Some(if c.nodes.is_empty() {
            "none".into()
        } else {
            c.nodes.join(", ")
        }),
    );
    put("started", r.started.clone().map(|s| pretty_time(&s)));
    put("duration", r.duration_s.map(seconds));
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

fn fault_rows(d: &Digest, colours: &FaultColours) -> Vec<FaultRow> {
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
                (true, Some(e)) => seconds(d.secs(e) - d.secs(f.start_pos)),
                (true, None) => format!(
                    "{} (to the end)",
                    seconds(d.end_secs() - d.secs(f.start_pos))
                ),
                _ => String::new(),
            };
            FaultRow {
                fault: f.fault.clone(),
                color: colours.colour(&f.fault).to_string(),
                start: at(f.start_pos),
                stop: f.end_pos.map(at).unwrap_or_else(|| "never healed".into()),
                length,
                nodes: f.nodes.join(", "),
                detail: ellipsize(&f.detail, 300),
                error: f.error.clone(),
            }
        })
        .collect()
}
