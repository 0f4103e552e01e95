//! What the engines share: their answers, and the configurations they report
//! at a failure (from which the counterexample is drawn).

use crate::limits::Halt;
use crate::model::Model;

/// A configuration alive just before the failing op's completion: every op
/// that completed earlier is linearized, and `state` is where that left the
/// model.
#[derive(Debug, Clone)]
pub(crate) struct Survivor<S> {
    pub state: S,
    /// The most recently linearized ops, oldest first, with the state after each.
    pub trail: Vec<(u32, S)>,
    /// Ops that could still be placed next: pending `ok` ops not yet
    /// linearized (the failing op among them) and the available `info` ops.
    pub pending: Vec<u32>,
}

pub(crate) enum Answer<M: Model> {
    Valid,
    /// No linearization survives the completion of `op`. `survivors` may be
    /// empty when the engine did not keep them; their states are interned in
    /// `model`, the engine's own copy.
    Invalid {
        op: u32,
        survivors: Vec<Survivor<M::State>>,
        model: M,
    },
    Unknown(Halt),
}

/// How many recent ops a survivor remembers.
pub(crate) const TRAIL: usize = 8;

/// A fixed-size ring of the last [`TRAIL`] linearized ops; no allocation.
#[derive(Clone, Copy)]
pub(crate) struct Trail<S: Copy> {
    ops: [u32; TRAIL],
    states: [S; TRAIL],
    len: u8,
    head: u8,
}

impl<S: Copy> Trail<S> {
    pub fn new(fill: S) -> Trail<S> {
        Trail {
            ops: [0; TRAIL],
            states: [fill; TRAIL],
            len: 0,
            head: 0,
        }
    }

    #[inline]
    pub fn push(&mut self, op: u32, state: S) {
        let at = (self.head as usize + self.len as usize) % TRAIL;
        self.ops[at] = op;
        self.states[at] = state;
        if (self.len as usize) < TRAIL {
            self.len += 1;
        } else {
            self.head = ((self.head as usize + 1) % TRAIL) as u8;
        }
    }

    pub fn entries(&self) -> Vec<(u32, S)> {
        (0..self.len as usize)
            .map(|i| {
                let at = (self.head as usize + i) % TRAIL;
                (self.ops[at], self.states[at])
            })
            .collect()
    }
}
