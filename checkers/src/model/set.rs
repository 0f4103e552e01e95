//! A set: `add x`, and `read` returning the whole set.
//!
//! States are interned sets of interned elements, so a state is a `u32` and a
//! read compiles to "the state is exactly this set": one integer comparison.
//! Transitions of `add` are memoized per (state, element).

use splitbrain_history::Value;

use super::{CallView, Interner, Model, Outcome, mix32, show_list};
use crate::equality::{self, TypeClash};
use crate::hash::{FastMap, SeqInterner};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetOp {
    Add(u32),
    /// The read saw exactly the interned set with this id.
    Read(u32),
}

#[derive(Clone)]
pub struct SetModel {
    elements: Interner<Value>,
    /// Sorted element ids.
    states: SeqInterner,
    adds: FastMap<(u32, u32), u32>,
}

impl Default for SetModel {
    fn default() -> SetModel {
        let mut states = SeqInterner::default();
        states.intern(&[]);
        SetModel {
            elements: Interner::default(),
            states,
            adds: FastMap::default(),
        }
    }
}

impl Model for SetModel {
    type State = u32;
    type Op = SetOp;

    fn object(&self) -> &'static str {
        "set"
    }

    fn compile(&mut self, call: &CallView) -> Result<Option<SetOp>, String> {
        match call.f {
            "add" => Ok(Some(SetOp::Add(
                self.elements.intern(call.argument().clone()),
            ))),
            "read" => {
                if call.outcome == Outcome::Info {
                    return Ok(None);
                }
                let items: &[Value] = match call.complete.unwrap_or(&Value::Nil) {
                    Value::Nil => &[],
                    Value::List(l) => l,
                    other => {
                        return Err(format!(
                            "a set read returns the whole set as a list, found {} ({other})",
                            other.kind_name()
                        ));
                    }
                };
                let mut ids: Vec<u32> = items
                    .iter()
                    .map(|v| self.elements.intern(v.clone()))
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                Ok(Some(SetOp::Read(self.states.intern(&ids))))
            }
            f => Err(format!(
                "the set model has no operation `{f}`; expected add or read"
            )),
        }
    }

    fn init(&mut self) -> u32 {
        0
    }

    fn step(&mut self, s: u32, op: SetOp) -> Option<u32> {
        match op {
            SetOp::Read(r) => (r == s).then_some(s),
            SetOp::Add(x) => {
                if let Some(&t) = self.adds.get(&(s, x)) {
                    return Some(t);
                }
                let cur = self.states.get(s);
                let t = match cur.binary_search(&x) {
                    Ok(_) => s,
                    Err(at) => {
                        let mut next = Vec::with_capacity(cur.len() + 1);
                        next.extend_from_slice(&cur[..at]);
                        next.push(x);
                        next.extend_from_slice(&cur[at..]);
                        self.states.intern(&next)
                    }
                };
                self.adds.insert((s, x), t);
                Some(t)
            }
        }
    }

    fn finite_states(&self) -> bool {
        true
    }

    fn is_read_only(&self, op: SetOp) -> bool {
        matches!(op, SetOp::Read(_))
    }

    fn hash_state(&self, s: u32) -> u64 {
        mix32(s)
    }

    fn memory_bytes(&self) -> u64 {
        self.states.bytes() + self.adds.capacity() as u64 * 16
    }

    fn show_state(&self, s: u32) -> String {
        let mut shown = show_list(&self.elements, self.states.get(s));
        shown.replace_range(0..1, "#{");
        shown.pop();
        shown.push('}');
        shown
    }

    fn explain(&mut self, s: u32, op: SetOp) -> String {
        match op {
            SetOp::Read(r) => {
                let (have, saw) = (self.states.get(s), self.states.get(r));
                let missing: Vec<u32> = have
                    .iter()
                    .filter(|x| saw.binary_search(x).is_err())
                    .copied()
                    .collect();
                let extra: Vec<u32> = saw
                    .iter()
                    .filter(|x| have.binary_search(x).is_err())
                    .copied()
                    .collect();
                let mut why = format!("the read saw {}", self.show_state(r));
                if !missing.is_empty() {
                    why += &format!(", missing {}", show_list(&self.elements, &missing));
                }
                if !extra.is_empty() {
                    why += &format!(
                        ", including {} never added by then",
                        show_list(&self.elements, &extra)
                    );
                }
                if let Some(c) = self.type_clash(s, op) {
                    let c = c.contrast();
                    why += &format!(" ({} is not {}{})", c.found, c.held, c.tail);
                }
                why
            }
            SetOp::Add(_) => "an add always succeeds".into(),
        }
    }

    /// An element read that was never added, looking the same as one added
    /// but missing from the read.
    fn type_clash(&mut self, s: u32, op: SetOp) -> Option<TypeClash> {
        let SetOp::Read(r) = op else { return None };
        let (have, saw) = (self.states.get(s), self.states.get(r));
        saw.iter()
            .filter(|x| have.binary_search(x).is_err())
            .find_map(|&x| {
                have.iter()
                    .filter(|y| saw.binary_search(y).is_err())
                    .find_map(|&y| equality::clash(self.elements.get(x), self.elements.get(y)))
            })
    }
}
