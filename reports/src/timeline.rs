//! The per-process timeline, after Jepsen's `timeline.html`: a column per
//! worker (or process), time flowing down, each op a bar from its invocation to
//! its completion coloured by outcome, the nemesis's faults in their own column
//! and shaded across the others.
//!
//! Vertical position is the op's position in the history (as Jepsen's), so that
//! short ops stay visible. The timeline is bounded: past [`MAX_OPS`] history
//! entries it shows a window of that many around the first anomaly (or the
//! first fault, or the start), and says so.

use std::collections::BTreeMap;

use splitbrain_history::{OpType, Process};

use crate::digest::Digest;
use crate::style::FaultColours;
use crate::text::{ellipsize, thousands, value_text};

/// At most this many history entries (invocations and completions) are drawn.
pub const MAX_OPS: usize = 10_000;
/// Pixels per history entry.
const PX: u32 = 6;
const TOP: u32 = 34;
const LEFT: u32 = 64;
const COL_W: u32 = 118;
/// Past this many processes (without a known worker count), columns are shared.
const MAX_COLUMNS: u64 = 64;

#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub x: u32,
    pub label: String,
}

#[derive(Debug, Clone)]
pub(crate) struct TBar {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
    /// `ok`, `fail`, `info` or `fault`.
    pub class: &'static str,
    pub color: Option<String>,
    pub label: Option<String>,
    pub title: String,
    /// `op-<index>` for ops an anomaly names, so the page can link to them.
    pub id: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct TShade {
    pub y: u32,
    pub h: u32,
    pub color: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Tick {
    pub y: u32,
    pub label: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Timeline {
    pub width: u32,
    pub height: u32,
    pub columns: Vec<Column>,
    pub bars: Vec<TBar>,
    pub shades: Vec<TShade>,
    pub ticks: Vec<Tick>,
    /// What part of the history is shown, when not all of it.
    pub note: Option<String>,
    pub left: u32,
}

/// Where to centre the window of a large history, and why.
pub(crate) struct Focus {
    pub pos: usize,
    pub why: String,
    /// `index`es of the ops to mark (anomalies).
    pub marked: Vec<u64>,
}

pub(crate) fn build(
    d: &Digest,
    concurrency: Option<u64>,
    focus: Option<&Focus>,
    colours: &FaultColours,
) -> Option<Timeline> {
    let ops = d.ops();
    if d.calls.is_empty() {
        return None;
    }
    let n = ops.len();
    let (start, end, note) = if n <= MAX_OPS {
        (0, n, None)
    } else {
        let (centre, why) = match focus {
            Some(f) => (f.pos, f.why.clone()),
            None => match d.faults.first() {
                Some(f) => (
                    f.start_pos + MAX_OPS / 4,
                    format!("from just before the first {} fault", f.fault),
                ),
                None => (MAX_OPS / 2, "from the start".to_string()),
            },
        };
        let start = centre.saturating_sub(MAX_OPS / 2).min(n - MAX_OPS);
        let end = start + MAX_OPS;
        let note = format!(
            "The history has {} entries; the timeline shows entries {}–{} ({}). The whole history is in history.jsonl.",
            thousands(n as u64),
            thousands(start as u64),
            thousands(end as u64 - 1),
            why
        );
        (start, end, Some(note))
    };
    let y_of = |pos: usize| TOP + (pos.clamp(start, end) - start) as u32 * PX;

    // Columns: the nemesis first (when it did anything), then workers or processes.
    let clients: Vec<u64> = {
        let mut v: Vec<u64> = d
            .calls
            .iter()
            .filter_map(|c| match ops[c.inv].process {
                Process::Client(p) => Some(p),
                _ => None,
            })
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let fold = match concurrency {
        Some(c) if c > 0 && clients.len() as u64 > c => Some((c, "worker")),
        _ if clients.len() as u64 > MAX_COLUMNS => Some((MAX_COLUMNS, "processes mod 64 =")),
        _ => None,
    };
    let mut col_of: BTreeMap<u64, usize> = BTreeMap::new();
    let has_nemesis = !d.faults.is_empty();
    let first = usize::from(has_nemesis);
    let mut columns: Vec<Column> = Vec::new();
    if has_nemesis {
        columns.push(Column {
            x: LEFT,
            label: "nemesis".into(),
        });
    }
    match fold {
        Some((m, word)) => {
            let mut keys: Vec<u64> = clients.iter().map(|p| p % m).collect();
            keys.sort_unstable();
            keys.dedup();
            let mut key_col = BTreeMap::new();
            for (i, k) in keys.iter().enumerate() {
                columns.push(Column {
                    x: LEFT + COL_W * (first + i) as u32,
                    label: format!("{word} {k}"),
                });
                key_col.insert(*k, first + i);
            }
            col_of = clients.iter().map(|p| (*p, key_col[&(p % m)])).collect();
        }
        None => {
            for (i, p) in clients.iter().enumerate() {
                columns.push(Column {
                    x: LEFT + COL_W * (first + i) as u32,
                    label: format!("process {p}"),
                });
                col_of.insert(*p, first + i);
            }
        }
    }

    let marked: &[u64] = focus.map(|f| f.marked.as_slice()).unwrap_or(&[]);
    let mut bars = Vec::new();
    let mut shades = Vec::new();
    for f in &d.faults {
        let e = f.end_pos.unwrap_or(n);
        if e < start || f.start_pos >= end {
            continue;
        }
        let (y0, y1) = (y_of(f.start_pos), y_of(e));
        let color = colours.colour(&f.fault);
        shades.push(TShade {
            y: y0,
            h: (y1 - y0).max(2),
            color: color.to_string(),
        });
        let mut title = format!(
            "{} on {}",
            f.fault,
            if f.nodes.is_empty() {
                "?".into()
            } else {
                f.nodes.join(", ")
            }
        );
        if !f.detail.is_empty() {
            title.push_str(&format!(" — {}", f.detail));
        }
        if f.end_pos.is_none() {
            title.push_str(" (not healed before the history ends)");
        }
        if let Some(e) = &f.error {
            title.push_str(&format!(" — error: {e}"));
        }
        bars.push(TBar {
            x: LEFT + 4,
            y: y0,
            w: COL_W - 8,
            h: (y1 - y0).max(PX),
            class: "fault",
            color: Some(color.to_string()),
            label: Some(ellipsize(&format!("{} {}", f.fault, f.nodes.join(" ")), 20)),
            title: ellipsize(&title, 400),
            id: None,
        });
    }
    for c in &d.calls {
        let inv = &ops[c.inv];
        let e = c.comp.unwrap_or(n);
        if e < start || c.inv >= end {
            continue;
        }
        let Process::Client(p) = inv.process else {
            continue;
        };
        let col = col_of[&p];
        let (y0, y1) = (y_of(c.inv), y_of(e));
        let h = (y1 - y0).max(PX - 1);
        let comp = c.comp.map(|p| &ops[p]);
        let shown = match comp {
            Some(o) if o.kind == OpType::Ok => &o.value,
            _ => &inv.value,
        };
        let key = inv
            .key
            .as_ref()
            .map(|k| format!("k{} ", value_text(k)))
            .unwrap_or_default();
        let text = match (&*inv.f, c.outcome) {
            ("read", OpType::Ok) => format!("{key}read → {shown}"),
            (f, _) if shown.is_nil() => format!("{key}{f}"),
            (f, _) => format!("{key}{f} {shown}"),
        };
        let mut title = format!("process {p}: {text} — {}", c.outcome);
        if d.timed
            && let Some(l) = d.latency_ms(c)
        {
            title.push_str(&format!(", {l:.2} ms"));
        }
        title.push_str(&format!(" (op {}", inv.index));
        if let Some(o) = comp {
            title.push_str(&format!("–{}", o.index));
        }
        title.push(')');
        if let Some(node) = &inv.node {
            title.push_str(&format!(" on {}", value_text(node)));
        }
        if let Some(err) = comp.and_then(|o| o.error.as_ref()) {
            title.push_str(&format!(" — error: {}", value_text(err)));
        }
        let is_marked = marked.contains(&inv.index);
        bars.push(TBar {
            x: LEFT + COL_W * col as u32 + 4,
            y: y0,
            w: COL_W - 8,
            h,
            class: match (is_marked, c.outcome) {
                (true, _) => "anomaly",
                (_, OpType::Ok) => "ok",
                (_, OpType::Fail) => "fail",
                _ => "info",
            },
            color: None,
            label: (h >= 13).then(|| ellipsize(&text, 19)),
            title: ellipsize(&title, 400),
            id: is_marked.then(|| format!("op-{}", inv.index)),
        });
    }

    // A tick every 100 px: time when known, else the history position.
    let mut ticks = Vec::new();
    let step = (100 / PX) as usize;
    let mut pos = start;
    while pos < end {
        ticks.push(Tick {
            y: y_of(pos),
            label: if d.timed {
                format!("{:.3} s", d.secs(pos))
            } else {
                format!("#{pos}")
            },
        });
        pos += step;
    }
    let width = LEFT + COL_W * columns.len() as u32 + 8;
    let height = y_of(end) + 10;
    Some(Timeline {
        width,
        height,
        columns,
        bars,
        shades,
        ticks,
        note,
        left: LEFT,
    })
}
