//! A FIFO queue: `enqueue x`, and `dequeue` returning the head.
//!
//! Decisions (Knossos' fifo-queue, made explicit):
//! - an ok `dequeue` returning `nil` says the queue was empty: it is possible
//!   only on an empty queue (and changes nothing, so it is read-only);
//! - an ok `dequeue` returning `x` is possible only when `x` is at the head;
//!   a dequeue on an empty queue returning a value is impossible;
//! - an `info` dequeue's result is unknown, but a FIFO dequeue can only take
//!   the head, so its effect is still determined: it removes the head if there
//!   is one (and, like every info op, it may also never have happened).
//!
//! States are interned sequences; transitions are memoized.

use splitbrain_history::Value;

use super::{CallView, Interner, Model, Outcome, mix32, show_list};
use crate::equality::{self, TypeClash};
use crate::hash::{FastMap, SeqInterner};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueOp {
    Enqueue(u32),
    /// An ok dequeue that returned this element.
    Dequeue(u32),
    /// An ok dequeue that returned nil: the queue was empty.
    DequeueEmpty,
    /// An info dequeue: removes the head, whatever it is.
    DequeueAny,
}

#[derive(Clone)]
pub struct FifoQueue {
    elements: Interner<Value>,
    states: SeqInterner,
    memo: FastMap<(u32, QueueOp), Option<u32>>,
    scratch: Vec<u32>,
}

impl Default for FifoQueue {
    fn default() -> FifoQueue {
        let mut states = SeqInterner::default();
        states.intern(&[]);
        FifoQueue {
            elements: Interner::default(),
            states,
            memo: FastMap::default(),
            scratch: Vec::new(),
        }
    }
}

impl Model for FifoQueue {
    type State = u32;
    type Op = QueueOp;

    fn object(&self) -> &'static str {
        "queue"
    }

    fn compile(&mut self, call: &CallView) -> Result<Option<QueueOp>, String> {
        match call.f {
            "enqueue" => Ok(Some(QueueOp::Enqueue(
                self.elements.intern(call.argument().clone()),
            ))),
            "dequeue" => Ok(Some(match (call.outcome, call.complete) {
                (Outcome::Info, _) => QueueOp::DequeueAny,
                (Outcome::Ok, None | Some(Value::Nil)) => QueueOp::DequeueEmpty,
                (Outcome::Ok, Some(v)) => QueueOp::Dequeue(self.elements.intern(v.clone())),
            })),
            f => Err(format!(
                "the fifo-queue model has no operation `{f}`; expected enqueue or dequeue"
            )),
        }
    }

    fn init(&mut self) -> u32 {
        0
    }

    fn step(&mut self, s: u32, op: QueueOp) -> Option<u32> {
        if let QueueOp::DequeueEmpty = op {
            return self.states.get(s).is_empty().then_some(s);
        }
        if let Some(&t) = self.memo.get(&(s, op)) {
            return t;
        }
        let cur = self.states.get(s);
        self.scratch.clear();
        let t = match op {
            QueueOp::Enqueue(x) => {
                self.scratch.extend_from_slice(cur);
                self.scratch.push(x);
                Some(self.states.intern(&self.scratch))
            }
            QueueOp::Dequeue(x) if cur.first() == Some(&x) => {
                self.scratch.extend_from_slice(&cur[1..]);
                Some(self.states.intern(&self.scratch))
            }
            QueueOp::DequeueAny if !cur.is_empty() => {
                self.scratch.extend_from_slice(&cur[1..]);
                Some(self.states.intern(&self.scratch))
            }
            _ => None,
        };
        self.memo.insert((s, op), t);
        t
    }

    fn is_read_only(&self, op: QueueOp) -> bool {
        matches!(op, QueueOp::DequeueEmpty)
    }

    fn hash_state(&self, s: u32) -> u64 {
        mix32(s)
    }

    fn memory_bytes(&self) -> u64 {
        self.states.bytes() + self.memo.capacity() as u64 * 24
    }

    fn show_state(&self, s: u32) -> String {
        show_list(&self.elements, self.states.get(s))
    }

    fn explain(&mut self, s: u32, op: QueueOp) -> String {
        let cur = self.states.get(s);
        match op {
            QueueOp::Dequeue(x) => match cur.first() {
                None => format!(
                    "can't dequeue {} from an empty queue",
                    equality::shown(self.elements.get(x))
                ),
                Some(&h) => {
                    let c = equality::contrast(self.elements.get(x), self.elements.get(h));
                    format!(
                        "can't dequeue {} from a queue whose head is {}{}",
                        c.found, c.held, c.tail
                    )
                }
            },
            QueueOp::DequeueEmpty => format!(
                "a dequeue found the queue empty, but it held {}",
                show_list(&self.elements, cur)
            ),
            QueueOp::DequeueAny => "can't dequeue from an empty queue".into(),
            QueueOp::Enqueue(_) => "an enqueue always succeeds".into(),
        }
    }

    fn type_clash(&mut self, s: u32, op: QueueOp) -> Option<TypeClash> {
        match (op, self.states.get(s).first()) {
            (QueueOp::Dequeue(x), Some(&h)) if x != h => {
                equality::clash(self.elements.get(x), self.elements.get(h))
            }
            _ => None,
        }
    }
}
