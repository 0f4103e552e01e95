//! A linearizability counterexample for people: one sentence saying what went
//! wrong, and a diagram in the spirit of Knossos's and Porcupine's — the ops
//! involved as bars on a per-process timeline, the longest linearizable prefix
//! numbered in its linearization order with the model state after each op, and
//! the op that cannot be placed.
//!
//! The diagram's horizontal axis is the order of events (invocations and
//! completions), not time: ops a few microseconds long next to a seconds-long
//! one stay visible, and what overlaps is exactly what was concurrent.

use std::collections::{BTreeMap, HashMap};

use splitbrain_checkers::equality;
use splitbrain_checkers::{Counterexample, OpRef, TypeClash};
use splitbrain_history::{OpType, Process, Value};

use crate::digest::Digest;
use crate::text::{ellipsize, value_text};

/// How many ops of the history, besides those the counterexample names, the
/// diagram shows for context (the ones nearest the failed op).
const CONTEXT_OPS: usize = 16;

/// One sentence: what went wrong, in the terms of `model` (`cas-register`, `mutex`, ...).
///
/// "read of key 3 returned 1 after a write of 2 had completed", when the
/// linearizable prefix ends with a completed write; otherwise the op that
/// cannot be placed and the states every linearization leaves.
pub fn sentence(model: &str, cx: &Counterexample) -> String {
    let failed = &cx.failed_op;
    let on_key = cx
        .key
        .as_ref()
        .map(|k| format!(" of key {}", value_text(k)))
        .unwrap_or_default();
    // Values that print alike but differ in type decide this verdict: say
    // which is which, and the rule.
    let clash = cx.type_clash.as_ref();
    let rule = clash.map(TypeClash::tail).unwrap_or_default();
    // Every state the longest prefixes reach, in order; the one that clashes typed.
    let mut states: Vec<String> = Vec::new();
    for p in &cx.prefixes {
        let s = match clash {
            Some(c) if p.state == c.held => c.held_typed(),
            _ => p.state.clone(),
        };
        if !states.contains(&s) {
            states.push(s);
        }
    }
    let leaves = (!states.is_empty()).then(|| leaves_phrase(model, &states));
    // The op that put the object in its last state: the last state-changing op of the prefix.
    let last_change = cx.prefixes.first().and_then(|p| {
        p.ops
            .iter()
            .rev()
            .find(|l| l.op.f != "read" && l.op.outcome == OpType::Ok)
    });
    // It tells the story when it had completed before the failed op began and left
    // something other than what a failed read returned.
    let completed_before = last_change
        .filter(|l| {
            l.op.complete_index.is_some_and(|c| c < failed.index)
                && (failed.f != "read" || written(&l.op) != Some(&failed.value))
        })
        .map(|l| {
            let typed = written(&l.op).and_then(|w| equality::clash(&failed.value, w));
            (describe_change(&l.op, typed.as_ref()), typed)
        });
    let found = |v: &Value| match clash {
        Some(c) if equality::shown(v) == c.found => c.found_typed(),
        _ => equality::shown(v),
    };
    match (failed.f.as_str(), completed_before, leaves) {
        ("read", Some((change, typed)), _) => {
            let (value, rule) = match &typed {
                Some(t) => (t.found_typed(), t.tail()),
                None => (equality::shown(&failed.value), String::new()),
            };
            format!("read{on_key} returned {value} after {change} had completed{rule}")
        }
        ("read", None, Some(leaves)) => format!(
            "read{on_key} returned {}, but every order of the operations before it {leaves}{rule}",
            found(&failed.value)
        ),
        ("cas", change, Some(leaves)) => {
            let (from, to) = match failed.value.as_list() {
                Some([a, b]) => (found(a), equality::shown(b)),
                _ => cas_pair(&failed.value),
            };
            let after = change
                .map(|(c, _)| format!(", after {c} had completed"))
                .unwrap_or_default();
            format!(
                "cas{on_key} from {from} to {to} succeeded, but every order of the operations before it {leaves}{after}{rule}"
            )
        }
        (_, _, _) => {
            let reason = cx
                .unplaceable
                .iter()
                .find(|u| u.op.index == failed.index)
                .map(|u| u.reason.clone());
            match reason {
                Some(r) => format!(
                    "process {}'s {}{on_key} cannot be placed after any order of the operations before it: {r}",
                    failed.process,
                    failed.describe()
                ),
                None => cx.message.clone(),
            }
        }
    }
}

/// "leaves the register holding 4, 2 or 0", "leaves the lock in state held".
fn leaves_phrase(model: &str, states: &[String]) -> String {
    let list = match states {
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
        [] => String::new(),
    };
    match model {
        "register" | "cas-register" => format!("leaves the register holding {list}"),
        "multi-register" => format!("leaves the registers holding {list}"),
        "mutex" => format!("leaves the lock {list}"),
        "set" => format!("leaves the set holding {list}"),
        "fifo-queue" => format!("leaves the queue holding {list}"),
        _ => format!("leaves the object in state {list}"),
    }
}

/// The value a write or cas leaves in a register.
fn written(op: &OpRef) -> Option<&Value> {
    match op.f.as_str() {
        "write" => Some(&op.value),
        "cas" => op.value.as_list().and_then(|l| l.get(1)),
        _ => None,
    }
}

/// "a write of 3", "a cas from 1 to 2"; the value written typed when it
/// clashes with what was read.
fn describe_change(op: &OpRef, typed: Option<&TypeClash>) -> String {
    let held = |v: &Value| match typed {
        Some(t) => t.held_typed(),
        None => equality::shown(v),
    };
    match op.f.as_str() {
        "write" => format!("a write of {}", held(&op.value)),
        "cas" => match op.value.as_list() {
            Some([a, b]) => format!("a cas from {} to {}", equality::shown(a), held(b)),
            _ => format!("a cas {}", equality::shown(&op.value)),
        },
        f => format!("{} {}", article(f), op.describe()),
    }
}

fn article(f: &str) -> &'static str {
    if f.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

fn cas_pair(v: &Value) -> (String, String) {
    match v.as_list() {
        Some([a, b]) => (equality::shown(a), equality::shown(b)),
        _ => (equality::shown(v), "?".into()),
    }
}

/// What a bar stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// In the longest linearizable prefix.
    Prefix,
    /// The op no linearization can fit.
    Failed,
    /// Could not be placed after the prefix (but is not the failed op).
    Unplaceable,
    /// Concurrent with the above; shown for context.
    Context,
}

impl Role {
    pub fn class(self) -> &'static str {
        match self {
            Role::Prefix => "prefix",
            Role::Failed => "failed",
            Role::Unplaceable => "unplaceable",
            Role::Context => "context",
        }
    }
}

/// One op of the diagram, laid out.
#[derive(Debug, Clone)]
pub(crate) struct Bar {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub role: &'static str,
    /// `read → 4`, `write 3`, `cas 1→2`
    pub label: String,
    /// Label above (true) or below the bar, alternating along a row.
    pub label_above: bool,
    /// Position in the linearization of the prefix (1-based).
    pub order: Option<usize>,
    /// The model state after the op, for prefix ops.
    pub state_after: Option<String>,
    /// Tooltip: everything about the op.
    pub title: String,
    /// The op never completed or ended `info`: it may take effect until the end.
    pub open: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub y: u32,
    pub label: String,
}

/// The counterexample drawn.
#[derive(Debug, Clone)]
pub(crate) struct Diagram {
    pub width: u32,
    pub height: u32,
    pub rows: Vec<Row>,
    pub bars: Vec<Bar>,
    /// x of the vertical line at the failed op's completion: by then no order works.
    pub fail_x: u32,
    pub plot_left: u32,
    pub plot_right: u32,
}

/// A prefix as a table: each op and the state after it.
#[derive(Debug, Clone)]
pub(crate) struct PrefixTable {
    pub rows: Vec<PrefixRow>,
    pub state: String,
    pub unplaceable: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub(crate) struct PrefixRow {
    pub order: usize,
    pub process: String,
    pub op: String,
    pub index: u64,
    pub state_after: String,
}

pub(crate) fn prefix_tables(cx: &Counterexample) -> Vec<PrefixTable> {
    cx.prefixes
        .iter()
        .enumerate()
        .map(|(i, p)| PrefixTable {
            rows: p
                .ops
                .iter()
                .enumerate()
                .map(|(k, l)| PrefixRow {
                    order: k + 1,
                    process: l.op.process.to_string(),
                    op: l.op.describe(),
                    index: l.op.index,
                    state_after: l.state_after.clone(),
                })
                .collect(),
            state: p.state.clone(),
            unplaceable: cx
                .unplaceable
                .iter()
                .filter(|u| u.prefix == i)
                .map(|u| {
                    (
                        format!("process {}'s {}", u.op.process, u.op.describe()),
                        u.reason.clone(),
                    )
                })
                .collect(),
        })
        .collect()
}

struct Item {
    inv: usize,
    comp: Option<usize>,
    role: Role,
    op: OpRef,
    order: Option<usize>,
    state_after: Option<String>,
}

#[derive(Default)]
struct Items {
    items: Vec<Item>,
    by_index: HashMap<u64, usize>,
}

impl Items {
    /// Adds an op in a role; `None` when the history has no such op.
    fn add(
        &mut self,
        d: &Digest,
        op: &OpRef,
        role: Role,
        order: Option<usize>,
        state: Option<String>,
    ) -> Option<()> {
        if let Some(&i) = self.by_index.get(&op.index) {
            let it = &mut self.items[i];
            // The failed op outranks its other roles; a prefix order is kept.
            if role == Role::Failed || it.role == Role::Context {
                it.role = role;
            }
            if it.order.is_none() {
                it.order = order;
                it.state_after = state;
            }
            return Some(());
        }
        let inv = d.position(op.index)?;
        let comp = op.complete_index.and_then(|c| d.position(c));
        self.by_index.insert(op.index, self.items.len());
        self.items.push(Item {
            inv,
            comp,
            role,
            op: op.clone(),
            order,
            state_after: state,
        });
        Some(())
    }
}

const ROW_H: u32 = 58;
const TOP: u32 = 30;
const LEFT: u32 = 110;
const BAR_H: u32 = 18;

/// Lays out the counterexample's ops (and concurrent ones for context) on a
/// per-process timeline. `d` gives positions and the context ops; without
/// positions for the counterexample's ops (a history that does not match),
/// returns `None`.
pub(crate) fn diagram(cx: &Counterexample, d: &Digest) -> Option<Diagram> {
    let mut set = Items::default();
    if let Some(p) = cx.prefixes.first() {
        for (k, l) in p.ops.iter().enumerate() {
            set.add(
                d,
                &l.op,
                Role::Prefix,
                Some(k + 1),
                Some(l.state_after.clone()),
            )?;
        }
    }
    for u in &cx.unplaceable {
        set.add(d, &u.op, Role::Unplaceable, None, None)?;
    }
    set.add(d, &cx.failed_op, Role::Failed, None, None)?;

    // Context: ops of the same key overlapping the window, nearest the failed op first.
    let lo = set.items.iter().map(|i| i.inv).min()?;
    let failed = &set.items[set.by_index[&cx.failed_op.index]];
    let hi = failed.comp.unwrap_or(failed.inv);
    let failed_inv = failed.inv;
    let ops = d.ops();
    let mut context: Vec<(usize, usize)> = d
        .calls
        .iter()
        .filter(|c| {
            c.outcome != OpType::Fail
                && c.inv <= hi
                && c.comp.is_none_or(|p| p >= lo)
                && ops[c.inv].key == cx.key
                && !set.by_index.contains_key(&ops[c.inv].index)
        })
        .map(|c| (c.inv.abs_diff(failed_inv), c.inv))
        .collect();
    context.sort();
    for (_, inv) in context.into_iter().take(CONTEXT_OPS) {
        let op = OpRef::from_history(d.history, inv);
        set.add(d, &op, Role::Context, None, None);
    }
    let mut items = set.items;

    // Event slots: every invocation and completion, in history order.
    let mut events: Vec<usize> = items
        .iter()
        .flat_map(|i| std::iter::once(i.inv).chain(i.comp))
        .collect();
    events.sort_unstable();
    events.dedup();
    let slot_of: HashMap<usize, usize> = events.iter().enumerate().map(|(s, &p)| (p, s)).collect();
    let slots = events.len() + 1;
    let slot_w = (900 / slots as u32).clamp(16, 64);
    let plot_right = LEFT + slot_w * slots as u32;
    let width = plot_right + 30;

    // Rows: processes in order.
    let mut procs: BTreeMap<Process, usize> = BTreeMap::new();
    for it in &items {
        procs.entry(it.op.process.clone()).or_default();
    }
    for (i, v) in procs.values_mut().enumerate() {
        *v = i;
    }
    let rows: Vec<Row> = procs
        .iter()
        .map(|(p, &i)| Row {
            y: TOP + ROW_H * i as u32,
            label: format!("process {p}"),
        })
        .collect();
    let height = TOP + ROW_H * rows.len() as u32 + 10;

    items.sort_by_key(|i| i.inv);
    let mut alternate: HashMap<usize, bool> = HashMap::new();
    let bars = items
        .iter()
        .map(|it| {
            let row = procs[&it.op.process];
            let above = alternate.entry(row).or_insert(false);
            *above = !*above;
            let x0 = LEFT + slot_w * slot_of[&it.inv] as u32 + slot_w / 2;
            let x1 = match it.comp {
                Some(c) if it.op.outcome != OpType::Info => {
                    LEFT + slot_w * slot_of[&c] as u32 + slot_w / 2
                }
                _ => plot_right,
            };
            Bar {
                x: x0,
                y: TOP + ROW_H * row as u32 + (ROW_H - BAR_H) / 2,
                w: x1.saturating_sub(x0).max(4),
                role: it.role.class(),
                label: short_label(&it.op),
                label_above: *above,
                order: it.order,
                state_after: it.state_after.clone(),
                title: title(&it.op, it.role, it.state_after.as_deref()),
                open: it.op.outcome == OpType::Info,
            }
        })
        .collect();
    let failed = &items[items.iter().position(|i| i.role == Role::Failed)?];
    let fail_x = LEFT + slot_w * slot_of[&failed.comp.unwrap_or(failed.inv)] as u32 + slot_w / 2;
    Some(Diagram {
        width,
        height,
        rows,
        bars,
        fail_x,
        plot_left: LEFT,
        plot_right,
    })
}

/// `write 3`, `read → 4`, `cas 1→2`.
pub(crate) fn short_label(op: &OpRef) -> String {
    let v = &op.value;
    let shown = equality::shown(v);
    let s = match op.f.as_str() {
        "read" if op.outcome == OpType::Ok => format!("read → {shown}"),
        "cas" => {
            let (a, b) = cas_pair(v);
            format!("cas {a}→{b}")
        }
        f if v.is_nil() => f.to_string(),
        f => format!("{f} {shown}"),
    };
    ellipsize(&s, 28)
}

fn title(op: &OpRef, role: Role, state: Option<&str>) -> String {
    let what = match role {
        Role::Prefix => "in the longest linearizable prefix",
        Role::Failed => "cannot be linearized",
        Role::Unplaceable => "could not be placed after the prefix",
        Role::Context => "concurrent (context)",
    };
    let mut s = format!(
        "process {}: {} — {} (op {}{})",
        op.process,
        op.describe(),
        what,
        op.index,
        op.complete_index
            .map(|c| format!("–{c}"))
            .unwrap_or_default()
    );
    if let Some(st) = state {
        s.push_str(&format!("; state after: {st}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use splitbrain_checkers::testing::history;
    use splitbrain_checkers::{Limits, ModelKind, ModelSpec, check_linearizable};
    use splitbrain_history::{OpType, Value};

    use super::sentence;

    use OpType::{Invoke, Ok};

    fn sentence_of(rows: &[(u64, OpType, &str, Value)]) -> String {
        let r = check_linearizable(
            &history(rows),
            &ModelSpec::new(ModelKind::CasRegister),
            &Limits::default(),
        )
        .unwrap();
        sentence(&r.model, r.counterexample.as_ref().expect("invalid"))
    }

    #[test]
    fn a_float_read_after_an_integer_write_says_which_is_which() {
        let s = sentence_of(&[
            (0, Invoke, "write", Value::Int(1)),
            (0, Ok, "write", Value::Int(1)),
            (1, Invoke, "read", Value::Nil),
            (1, Ok, "read", Value::Float(1.0)),
        ]);
        assert_eq!(
            s,
            "read returned 1.0 (a float) after a write of 1 (an integer) had completed: \
             integers and floats never compare equal"
        );
        // Concurrent with the write: the states every order leaves, typed.
        let s = sentence_of(&[
            (0, Invoke, "write", Value::Int(1)),
            (1, Invoke, "read", Value::Nil),
            (0, Ok, "write", Value::Int(1)),
            (1, Ok, "read", Value::Float(1.0)),
        ]);
        assert!(
            s.starts_with("read returned 1.0 (a float), but every order"),
            "{s}"
        );
        assert!(s.contains("1 (an integer)"), "{s}");
        assert!(
            s.ends_with(": integers and floats never compare equal"),
            "{s}"
        );
    }

    #[test]
    fn values_that_differ_visibly_get_no_type_words() {
        let s = sentence_of(&[
            (0, Invoke, "write", Value::Int(1)),
            (0, Ok, "write", Value::Int(1)),
            (1, Invoke, "read", Value::Nil),
            (1, Ok, "read", Value::Int(2)),
        ]);
        assert_eq!(s, "read returned 2 after a write of 1 had completed");
    }
}
