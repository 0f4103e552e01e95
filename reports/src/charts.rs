//! The report's charts, drawn with plotters' SVG backend and inlined in the page.
//!
//! - latency over time: a point per op at its invocation, its latency on a log
//!   scale, coloured by outcome (ok / fail / info) and shaped by function;
//! - latency quantiles over time (p50, p95, p99, max of `ok` ops per time bucket);
//! - throughput over time: completions per second by function and outcome;
//! - node clock offsets, when the nemesis measured them.
//!
//! Fault intervals are shaded and labelled on every chart. Large histories are
//! sampled (points) or bucketed (lines) so that a chart stays a few hundred
//! kilobytes at most; the caption says so. plotters escapes the text it writes
//! (labels carry function and node names from the history).

use std::collections::BTreeMap;

use plotters::coord::Shift;
use plotters::prelude::*;
use splitbrain_history::OpType;

use crate::digest::{CallRec, Digest};
use crate::style::{FaultColours, PALETTE, outcome_color};
use crate::text::{escape_attr, seconds, thousands};

const WIDTH: u32 = 1100;
const HEIGHT: u32 = 300;
/// At most this many points in the latency scatter chart.
pub const MAX_POINTS: usize = 2500;
/// About this many time buckets in the quantile chart, and in the throughput chart
/// (fewer: counts per bucket must be large enough to read as a rate).
const BUCKETS: f64 = 80.0;
const RATE_BUCKETS: f64 = 40.0;
const FONT: &str = "sans-serif";

/// One chart: an inline SVG document and what the page says about it.
#[derive(Debug, Clone)]
pub(crate) struct Chart {
    pub id: &'static str,
    pub title: &'static str,
    /// What is drawn, and how it was sampled.
    pub caption: String,
    pub svg: String,
    pub legend: Vec<LegendItem>,
}

/// An entry of a chart's legend (drawn by the page, not by plotters).
#[derive(Debug, Clone)]
pub(crate) struct LegendItem {
    pub label: String,
    pub color: String,
    pub shape: Shape,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Circle,
    Triangle,
    Cross,
    Square,
    Line,
    Band,
}

impl Shape {
    fn for_index(i: usize) -> Shape {
        [Shape::Circle, Shape::Triangle, Shape::Square, Shape::Cross][i % 4]
    }

    pub fn name(self) -> &'static str {
        match self {
            Shape::Circle => "circle",
            Shape::Triangle => "triangle",
            Shape::Cross => "cross",
            Shape::Square => "square",
            Shape::Line => "line",
            Shape::Band => "band",
        }
    }
}

fn rgb(hex: &str) -> RGBColor {
    let v = u32::from_str_radix(hex.trim_start_matches('#'), 16).unwrap_or(0x808080);
    RGBColor((v >> 16) as u8, (v >> 8) as u8, v as u8)
}

type DrawResult<T> = Result<T, String>;

fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

/// A shaded fault interval in chart coordinates.
struct Shade {
    label: String,
    color: RGBColor,
    x0: f64,
    x1: f64,
}

fn shades(d: &Digest, colours: &FaultColours) -> Vec<Shade> {
    let end = d.end_secs();
    d.faults
        .iter()
        .map(|f| Shade {
            label: f.fault.clone(),
            color: rgb(colours.colour(&f.fault)),
            x0: d.secs(f.start_pos),
            x1: f.end_pos.map_or(end, |p| d.secs(p)),
        })
        .collect()
}

/// The legend entries for the faults that appear.
fn fault_legend(d: &Digest, colours: &FaultColours) -> Vec<LegendItem> {
    let mut seen: Vec<&str> = Vec::new();
    for f in &d.faults {
        if !seen.contains(&f.fault.as_str()) {
            seen.push(&f.fault);
        }
    }
    seen.into_iter()
        .map(|f| LegendItem {
            label: f.to_string(),
            color: colours.colour(f).to_string(),
            shape: Shape::Band,
        })
        .collect()
}

/// Draws the fault intervals over the full height of the plot, labelled at the top.
fn draw_shades<DB, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
    shades: &[Shade],
    y: (f64, f64),
) -> DrawResult<()>
where
    DB: DrawingBackend,
    Y: Ranged<ValueType = f64>,
{
    chart
        .draw_series(
            shades
                .iter()
                .map(|s| Rectangle::new([(s.x0, y.0), (s.x1, y.1)], s.color.mix(0.13).filled())),
        )
        .map_err(err)?;
    // Stagger labels over three lines so that close intervals stay readable.
    chart
        .draw_series(shades.iter().enumerate().map(|(i, s)| {
            EmptyElement::at((s.x0, y.1))
                + Text::new(
                    s.label.clone(),
                    (3, 3 + 12 * (i % 3) as i32),
                    (FONT, 12).into_font().color(&s.color.mix(0.95)),
                )
        }))
        .map_err(err)?;
    Ok(())
}

fn new_area(svg: &mut String) -> DrawingArea<SVGBackend<'_>, Shift> {
    let root = SVGBackend::with_string(svg, (WIDTH, HEIGHT)).into_drawing_area();
    let _ = root.fill(&WHITE);
    root
}

/// Makes plotters' fixed-size SVG scale with the page.
fn responsive(svg: String, label: &str) -> String {
    let Some(end) = svg.find('>') else {
        return svg;
    };
    let escaped = escape_attr(label);
    format!(
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"{escaped}\"{}",
        &svg[end..]
    )
}

/// A round bucket width giving about `buckets` buckets over `span` seconds.
fn bucket_width(span: f64, buckets: f64) -> f64 {
    let raw = (span / buckets).max(1e-3);
    let mag = 10f64.powf(raw.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * mag >= raw {
            return m * mag;
        }
    }
    10.0 * mag
}

/// Functions in order of first appearance, for stable shapes.
fn functions<'a>(d: &Digest<'a>) -> Vec<&'a str> {
    let mut fs: Vec<&str> = Vec::new();
    for c in &d.calls {
        let f = &*d.ops()[c.inv].f;
        if !fs.contains(&f) {
            fs.push(f);
        }
    }
    fs
}

/// Takes at most `budget` items of `groups` in total: small groups whole, large
/// ones evenly strided, so that rare outcomes (fail, info) are never sampled away.
fn sample<T: Copy>(groups: &mut [Vec<T>], budget: usize) -> bool {
    let total: usize = groups.iter().map(Vec::len).sum();
    if total <= budget {
        return false;
    }
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by_key(|&i| groups[i].len());
    let mut left = budget;
    for (n, &i) in order.iter().enumerate() {
        let share = left / (order.len() - n);
        let g = &mut groups[i];
        if g.len() > share {
            let step = g.len() as f64 / share.max(1) as f64;
            *g = (0..share).map(|k| g[(k as f64 * step) as usize]).collect();
        }
        left -= g.len();
    }
    true
}

/// Latency of every op (sampled past [`MAX_POINTS`]) against its invocation time.
pub(crate) fn latency_points(d: &Digest, colours: &FaultColours) -> DrawResult<Option<Chart>> {
    if !d.timed || d.calls.is_empty() {
        return Ok(None);
    }
    let fs = functions(d);
    let outcomes = [OpType::Ok, OpType::Fail, OpType::Info];
    // (f, outcome) → points
    let mut keys: Vec<(usize, OpType)> = Vec::new();
    let mut groups: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut slot: BTreeMap<(usize, u8), usize> = BTreeMap::new();
    for c in &d.calls {
        let Some(lat) = d.latency_ms(c) else { continue };
        let fi = fs
            .iter()
            .position(|f| *f == &*d.ops()[c.inv].f)
            .unwrap_or(0);
        let oi = outcomes.iter().position(|o| *o == c.outcome).unwrap_or(2) as u8;
        let g = *slot.entry((fi, oi)).or_insert_with(|| {
            keys.push((fi, outcomes[oi as usize]));
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push((d.secs(c.inv), lat.max(1e-3)));
    }
    let total: usize = groups.iter().map(Vec::len).sum();
    if total == 0 {
        return Ok(None);
    }
    let sampled = sample(&mut groups, MAX_POINTS);
    let (mut lo, mut hi) = (f64::MAX, f64::MIN);
    for &(_, y) in groups.iter().flatten() {
        lo = lo.min(y);
        hi = hi.max(y);
    }
    let y = (lo / 1.5, hi * 1.5);
    let x_end = d.end_secs().max(1e-3);
    let shades = shades(d, colours);
    let mut svg = String::new();
    {
        let root = new_area(&mut svg);
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..x_end, (y.0..y.1).log_scale())
            .map_err(err)?;
        mesh(&mut chart, "time (s)", "latency (ms)")?;
        draw_shades(&mut chart, &shades, y)?;
        // Ok points first, so that the rarer fail and info points are drawn on top.
        let mut order: Vec<usize> = (0..groups.len()).collect();
        order.sort_by_key(|&i| keys[i].1 != OpType::Ok);
        for i in order {
            let (fi, o) = keys[i];
            let color = rgb(outcome_color(o));
            draw_points(&mut chart, &groups[i], Shape::for_index(fi), color)?;
        }
        root.present().map_err(err)?;
    }
    let mut legend: Vec<LegendItem> = fs
        .iter()
        .enumerate()
        .map(|(i, f)| LegendItem {
            label: f.to_string(),
            color: "#334155".into(),
            shape: Shape::for_index(i),
        })
        .collect();
    for o in outcomes {
        if keys.iter().any(|k| k.1 == o) {
            legend.push(LegendItem {
                label: o.as_str().into(),
                color: outcome_color(o).into(),
                shape: Shape::Circle,
            });
        }
    }
    legend.extend(fault_legend(d, colours));
    let shown: usize = groups.iter().map(Vec::len).sum();
    let caption = if sampled {
        format!(
            "Each point is an op at its invocation; its height is how long it took. Sampled: {} of {} ops shown (every fail and info op kept while the budget allows).",
            thousands(shown as u64),
            thousands(total as u64)
        )
    } else {
        format!(
            "Each point is an op at its invocation; its height is how long it took ({} ops).",
            thousands(total as u64)
        )
    };
    Ok(Some(Chart {
        id: "latency",
        title: "Latency",
        caption,
        svg: responsive(svg, "latency of every op over time"),
        legend,
    }))
}

fn mesh<DB, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
    x: &str,
    y: &str,
) -> DrawResult<()>
where
    DB: DrawingBackend,
    Y: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
{
    chart
        .configure_mesh()
        .x_desc(x)
        .y_desc(y)
        .axis_desc_style((FONT, 13))
        .label_style((FONT, 12).into_font().color(&RGBColor(0x47, 0x55, 0x69)))
        .bold_line_style(RGBColor(0xe2, 0xe8, 0xf0))
        .light_line_style(RGBColor(0xf8, 0xfa, 0xfc))
        .axis_style(RGBColor(0x94, 0xa3, 0xb8))
        .x_labels(12)
        .y_labels(8)
        .x_label_formatter(&|v| axis_number(*v))
        .y_label_formatter(&|v| axis_number(*v))
        .draw()
        .map_err(err)
}

fn draw_points<DB, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
    points: &[(f64, f64)],
    shape: Shape,
    color: RGBColor,
) -> DrawResult<()>
where
    DB: DrawingBackend,
    Y: Ranged<ValueType = f64>,
{
    let style = color.mix(0.75).filled();
    let it = points.iter().copied();
    match shape {
        Shape::Triangle => chart
            .draw_series(it.map(|p| TriangleMarker::new(p, 3, style)))
            .map(|_| ()),
        Shape::Cross => chart
            .draw_series(it.map(|p| Cross::new(p, 2, color.stroke_width(1))))
            .map(|_| ()),
        Shape::Square => chart
            .draw_series(
                it.map(|p| EmptyElement::at(p) + Rectangle::new([(-2, -2), (2, 2)], style)),
            )
            .map(|_| ()),
        _ => chart
            .draw_series(it.map(|p| Circle::new(p, 2, style)))
            .map(|_| ()),
    }
    .map_err(err)
}

/// p50, p95, p99 and max latency of `ok` ops per time bucket.
pub(crate) fn latency_quantiles(d: &Digest, colours: &FaultColours) -> DrawResult<Option<Chart>> {
    if !d.timed {
        return Ok(None);
    }
    let x_end = d.end_secs().max(1e-3);
    let dt = bucket_width(x_end, BUCKETS);
    let mut buckets: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    for c in d.calls.iter().filter(|c| c.outcome == OpType::Ok) {
        if let Some(l) = d.latency_ms(c) {
            buckets
                .entry((d.secs(c.inv) / dt) as u64)
                .or_default()
                .push(l.max(1e-3));
        }
    }
    if buckets.is_empty() {
        return Ok(None);
    }
    let qs: [(f64, &str, &'static str); 4] = [
        (0.5, "p50", "#16a34a"),
        (0.95, "p95", "#2563eb"),
        (0.99, "p99", "#9333ea"),
        (1.0, "max", "#dc2626"),
    ];
    let mut lines: Vec<Vec<(f64, f64)>> = vec![Vec::new(); qs.len()];
    for (b, v) in &mut buckets {
        v.sort_by(f64::total_cmp);
        let x = (*b as f64 + 0.5) * dt;
        for (i, (q, _, _)) in qs.iter().enumerate() {
            let k = ((v.len() - 1) as f64 * q).round() as usize;
            lines[i].push((x, v[k]));
        }
    }
    let lo = lines[0].iter().map(|p| p.1).fold(f64::MAX, f64::min);
    let hi = lines[3].iter().map(|p| p.1).fold(f64::MIN, f64::max);
    let y = (lo / 1.5, hi * 1.5);
    let shades = shades(d, colours);
    let mut svg = String::new();
    {
        let root = new_area(&mut svg);
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..x_end, (y.0..y.1).log_scale())
            .map_err(err)?;
        mesh(&mut chart, "time (s)", "latency (ms)")?;
        draw_shades(&mut chart, &shades, y)?;
        for (i, (_, _, color)) in qs.iter().enumerate() {
            let c = rgb(color);
            chart
                .draw_series(LineSeries::new(lines[i].iter().copied(), c.stroke_width(2)))
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    let mut legend: Vec<LegendItem> = qs
        .iter()
        .map(|(_, name, color)| LegendItem {
            label: name.to_string(),
            color: color.to_string(),
            shape: Shape::Line,
        })
        .collect();
    legend.extend(fault_legend(d, colours));
    Ok(Some(Chart {
        id: "quantiles",
        title: "Latency quantiles",
        caption: format!(
            "Latency of ok ops by when they were invoked, per {} bucket.",
            seconds(dt)
        ),
        svg: responsive(svg, "latency quantiles over time"),
        legend,
    }))
}

/// Completions per second by function and outcome.
pub(crate) fn throughput(d: &Digest, colours: &FaultColours) -> DrawResult<Option<Chart>> {
    if !d.timed || d.calls.is_empty() {
        return Ok(None);
    }
    let x_end = d.end_secs().max(1e-3);
    let dt = bucket_width(x_end, RATE_BUCKETS);
    let n = (x_end / dt).ceil() as usize + 1;
    let fs = functions(d);
    let outcomes = [OpType::Ok, OpType::Fail, OpType::Info];
    let mut series: BTreeMap<(usize, usize), Vec<f64>> = BTreeMap::new();
    let completion_secs = |c: &CallRec| c.comp.map(|p| d.secs(p));
    for c in &d.calls {
        let Some(t) = completion_secs(c) else {
            continue;
        };
        let fi = fs
            .iter()
            .position(|f| *f == &*d.ops()[c.inv].f)
            .unwrap_or(0);
        let oi = outcomes.iter().position(|o| *o == c.outcome).unwrap_or(2);
        let counts = series.entry((fi, oi)).or_insert_with(|| vec![0.0; n]);
        counts[((t / dt) as usize).min(n - 1)] += 1.0 / dt;
    }
    if series.is_empty() {
        return Ok(None);
    }
    let hi = series
        .values()
        .flatten()
        .copied()
        .fold(0.0f64, f64::max)
        .max(1.0);
    let y = (0.0, hi * 1.1);
    let shades = shades(d, colours);
    let mut svg = String::new();
    {
        let root = new_area(&mut svg);
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..x_end, y.0..y.1)
            .map_err(err)?;
        mesh(&mut chart, "time (s)", "ops/s")?;
        draw_shades(&mut chart, &shades, y)?;
        for (&(fi, oi), counts) in &series {
            let color = rgb(outcome_color(outcomes[oi]));
            let pts: Vec<(f64, f64)> = counts
                .iter()
                .enumerate()
                .map(|(b, &v)| ((b as f64 + 0.5) * dt, v))
                .filter(|p| p.0 <= x_end)
                .collect();
            chart
                .draw_series(LineSeries::new(
                    pts.iter().copied(),
                    color.mix(0.8).stroke_width(1),
                ))
                .map_err(err)?;
            // Markers on a subset of the buckets tell the functions apart.
            let every = (pts.len() / 25).max(1);
            let marks: Vec<(f64, f64)> = pts
                .iter()
                .copied()
                .enumerate()
                .filter(|(i, _)| (i + fi * 3) % every == 0)
                .map(|(_, p)| p)
                .collect();
            draw_points(&mut chart, &marks, Shape::for_index(fi), color)?;
        }
        root.present().map_err(err)?;
    }
    let mut legend: Vec<LegendItem> = fs
        .iter()
        .enumerate()
        .map(|(i, f)| LegendItem {
            label: f.to_string(),
            color: "#334155".into(),
            shape: Shape::for_index(i),
        })
        .collect();
    for (oi, o) in outcomes.iter().enumerate() {
        if series.keys().any(|k| k.1 == oi) {
            legend.push(LegendItem {
                label: o.as_str().into(),
                color: outcome_color(*o).into(),
                shape: Shape::Line,
            });
        }
    }
    legend.extend(fault_legend(d, colours));
    Ok(Some(Chart {
        id: "throughput",
        title: "Throughput",
        caption: format!(
            "Completions per second by function and outcome, per {} bucket.",
            seconds(dt)
        ),
        svg: responsive(svg, "throughput over time"),
        legend,
    }))
}

/// Every node's clock offset, as the nemesis measured it after each clock change.
pub(crate) fn clock_offsets(d: &Digest, colours: &FaultColours) -> DrawResult<Option<Chart>> {
    if d.clocks.is_empty() {
        return Ok(None);
    }
    let x_end = d.end_secs().max(1e-3);
    let mut nodes: Vec<&str> = Vec::new();
    for s in &d.clocks {
        for (n, _) in &s.offsets {
            if !nodes.contains(&n.as_str()) {
                nodes.push(n);
            }
        }
    }
    // Step lines: an offset holds until the next measurement.
    let mut lines: Vec<Vec<(f64, f64)>> = vec![Vec::new(); nodes.len()];
    for s in &d.clocks {
        let x = if d.timed { d.secs(s.pos) } else { 0.0 };
        for (n, v) in &s.offsets {
            let i = nodes.iter().position(|m| m == n).unwrap_or(0);
            if let Some(&(_, prev)) = lines[i].last() {
                lines[i].push((x, prev));
            }
            lines[i].push((x, *v));
        }
    }
    for l in &mut lines {
        if let Some(&(_, last)) = l.last() {
            l.push((x_end, last));
        }
    }
    let (mut lo, mut hi) = (0.0f64, 0.0f64);
    for &(_, v) in lines.iter().flatten() {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    let pad = ((hi - lo) * 0.1).max(1.0);
    let y = (lo - pad, hi + pad);
    let shades = shades(d, colours);
    let mut svg = String::new();
    {
        let root = new_area(&mut svg);
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..x_end, y.0..y.1)
            .map_err(err)?;
        mesh(&mut chart, "time (s)", "clock offset (ms)")?;
        draw_shades(&mut chart, &shades, y)?;
        for (i, l) in lines.iter().enumerate() {
            let c = rgb(PALETTE[i % PALETTE.len()]);
            chart
                .draw_series(LineSeries::new(l.iter().copied(), c.stroke_width(2)))
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    let mut legend: Vec<LegendItem> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| LegendItem {
            label: n.to_string(),
            color: PALETTE[i % PALETTE.len()].into(),
            shape: Shape::Line,
        })
        .collect();
    legend.extend(fault_legend(d, colours));
    Ok(Some(Chart {
        id: "clocks",
        title: "Node clock offsets",
        caption: format!(
            "Each node's clock offset as the database sees it, measured {} times after clock changes.",
            d.clocks.len()
        ),
        svg: responsive(svg, "node clock offsets over time"),
        legend,
    }))
}

/// An axis label: `0`, `0.0005`, `2.5`, `1000` (no trailing zeros).
fn axis_number(v: f64) -> String {
    let s = if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.4}")
    };
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" { "0".into() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_keeps_small_groups_whole() {
        let mut g = vec![vec![1; 10_000], vec![2; 30], vec![3; 5]];
        assert!(sample(&mut g, 1000));
        assert_eq!(g[1].len(), 30);
        assert_eq!(g[2].len(), 5);
        assert!(g.iter().map(Vec::len).sum::<usize>() <= 1000);
        let mut small = vec![vec![1; 10]];
        assert!(!sample(&mut small, 1000));
    }

    #[test]
    fn buckets_are_round() {
        assert_eq!(bucket_width(10.0, 100.0), 0.1);
        assert_eq!(bucket_width(60.0, 100.0), 1.0);
        assert_eq!(bucket_width(30.0, 100.0), 0.5);
        assert_eq!(bucket_width(60.0, 40.0), 2.0);
        assert_eq!(
            [0.0, 0.0005, 2.5, 10.0, 1000.0, -2500.0].map(axis_number),
            ["0", "0.0005", "2.5", "10", "1000", "-2500"]
        );
    }
}
