//! Engine A: Wing–Gong–Lowe depth-first search.
//!
//! The history is a doubly linked list of call and return entries. The search
//! repeatedly linearizes an op whose call comes before the first remaining
//! return (the *frontier*), lifting both its entries out of the list, and
//! backtracks when it meets a return whose op it could not place. A memo of
//! visited configurations — (linearized set, model state) — cuts every
//! subtree that was already explored; the linearized set is hashed
//! incrementally (Zobrist: one random 128-bit key per op, XORed in and out),
//! so a step costs a model step and a table probe, and allocates nothing.
//!
//! Pruning, each sound on its own:
//! - **read-only ops are committed greedily**: if a frontier op that cannot
//!   change the state fits now, any linearization can be rearranged to place
//!   it now, so the search places it and tries no alternative;
//! - **identical ops**: among frontier ops equal in (f, input, output) only the
//!   one returning first is tried (swapping two identical ops in a
//!   linearization keeps it valid when the earlier-returning one goes first);
//! - **info ops** are optional and never return; identical ones are used in a
//!   fixed order, so only the count used per class matters.
//!
//! The memo stores 128-bit fingerprints, not the sets themselves: a false
//! match needs two of the visited configurations to collide in 128 random
//! bits (odds below 2^-64 for 2^32 entries). It is what keeps a step at a few
//! nanoseconds and a memo entry at 16 bytes.
//!
//! Fast when the history is valid: the search mostly walks straight through.
//! When it is not, it must exhaust every configuration before the failure;
//! the JIT engine is the better tool there, and the two race.

use crate::engine::{Answer, Survivor, TRAIL};
use crate::hash::{FpSet, SplitMix, mix64};
use crate::limits::{Control, Halt};
use crate::model::Model;
use crate::problem::{NEVER, Problem};

const NIL: u32 = u32::MAX;

struct Frame<S> {
    op: u32,
    prev: S,
    /// Index of this op in the candidate list of the configuration below.
    cand: u32,
    /// Committed greedily: no alternative is worth trying.
    forced: bool,
}

struct Wgl<'p, M: Model> {
    p: &'p Problem<M>,
    model: M,
    next: Vec<u32>,
    prev: Vec<u32>,
    head: u32,
    tail: u32,
    keys: Vec<u128>,
    /// Info ops per class, in invocation order, and the classes having any.
    info_members: Vec<Vec<u32>>,
    info_classes: Vec<u32>,
    used: Vec<u32>,

    state: M::State,
    zob: u128,
    remaining: usize,
    stack: Vec<Frame<M::State>>,
    memo: FpSet,

    frontier: Vec<u32>,
    /// The op whose return entry ends the frontier, and its position.
    stuck: u32,
    horizon: u32,
    cands: Vec<u32>,
    scratch: Vec<(u8, u32)>,
    best: Vec<u32>,
    best_stamp: Vec<u32>,
    stamp: u32,

    max_stuck: u32,
    failing: u32,
    survivors: Vec<Survivor<M::State>>,
}

pub(crate) fn check<M: Model>(p: &Problem<M>, ctl: &mut Control, max_steps: u64) -> Answer<M> {
    let mut w = Wgl::new(p);
    let answer = w.run(ctl, max_steps);
    ctl.count_configurations(w.memo.len() as u64);
    answer
}

impl<'p, M: Model> Wgl<'p, M> {
    fn new(p: &'p Problem<M>) -> Wgl<'p, M> {
        let n = p.len();
        let head = 2 * n as u32;
        let tail = head + 1;
        // Entries of ok ops in history order: call entry 2i, return entry 2i+1.
        let mut entries: Vec<(u32, u32)> = Vec::with_capacity(2 * n);
        let mut info_members: Vec<Vec<u32>> = vec![Vec::new(); p.classes];
        let mut info_classes = Vec::new();
        let mut remaining = 0;
        for i in 0..n {
            if p.ret[i] == NEVER {
                let c = p.class[i] as usize;
                if info_members[c].is_empty() {
                    info_classes.push(c as u32);
                }
                info_members[c].push(i as u32);
            } else {
                entries.push((p.call[i], 2 * i as u32));
                entries.push((p.ret[i], 2 * i as u32 + 1));
                remaining += 1;
            }
        }
        entries.sort_unstable();
        let mut next = vec![NIL; 2 * n + 2];
        let mut prev = vec![NIL; 2 * n + 2];
        let mut last = head;
        for &(_, e) in &entries {
            next[last as usize] = e;
            prev[e as usize] = last;
            last = e;
        }
        next[last as usize] = tail;
        prev[tail as usize] = last;
        info_classes.sort_unstable();
        let mut rng = SplitMix(0x5b1c_e7a1_0000_0000 ^ n as u64);
        let keys = (0..n)
            .map(|_| ((rng.next_u64() as u128) << 64) | rng.next_u64() as u128)
            .collect();
        let mut model = p.model.clone();
        let state = model.init();
        Wgl {
            p,
            model,
            next,
            prev,
            head,
            tail,
            keys,
            info_members,
            info_classes,
            used: vec![0; p.classes],
            state,
            zob: 0,
            remaining,
            stack: Vec::new(),
            memo: FpSet::new(),
            frontier: Vec::new(),
            stuck: NIL,
            horizon: NEVER,
            cands: Vec::new(),
            scratch: Vec::new(),
            best: vec![0; p.classes],
            best_stamp: vec![0; p.classes],
            stamp: 0,
            max_stuck: 0,
            failing: NIL,
            survivors: Vec::new(),
        }
    }

    fn run(&mut self, ctl: &mut Control, max_steps: u64) -> Answer<M> {
        let mut steps: u64 = 0;
        'arrive: loop {
            if self.remaining == 0 {
                return Answer::Valid;
            }
            steps += 1;
            if steps & 0xfff == 0 {
                if let Err(h) = ctl.poll().and_then(|_| ctl.hold(self.bytes())) {
                    return Answer::Unknown(h);
                }
                if steps > max_steps {
                    return Answer::Unknown(Halt::Steps);
                }
            }
            if self.memo.len() * 2 + 2 > self.memo.bytes() as usize / 16 {
                // The memo is about to double, the new table allocated while the
                // old one is live: ask first.
                if let Err(h) = ctl
                    .hold(self.bytes() + self.memo.bytes())
                    .and_then(|_| ctl.room(2 * self.memo.bytes()))
                {
                    return Answer::Unknown(h);
                }
            }
            self.scan();
            // A read-only op that fits now is placed now, and nothing else is tried.
            let forced = self.frontier.iter().copied().find(|&o| {
                self.p.read_only[o as usize]
                    && self
                        .model
                        .step(self.state, self.p.ops[o as usize])
                        .is_some()
            });
            let placed = match forced {
                Some(o) => self.push(o, self.state, 0, true),
                None => {
                    self.build_candidates();
                    self.try_from(0)
                }
            };
            if placed {
                continue 'arrive;
            }
            self.note_stuck();
            // Backtrack to the deepest configuration with an untried candidate.
            loop {
                let Some(f) = self.stack.pop() else {
                    return Answer::Invalid {
                        op: self.failing,
                        survivors: std::mem::take(&mut self.survivors),
                        model: self.model.clone(),
                    };
                };
                self.undo(&f);
                if f.forced {
                    continue;
                }
                self.scan();
                self.build_candidates();
                if self.try_from(f.cand as usize + 1) {
                    continue 'arrive;
                }
                self.note_stuck();
            }
        }
    }

    fn bytes(&self) -> u64 {
        self.memo.bytes()
            + (self.stack.capacity() * std::mem::size_of::<Frame<M::State>>()) as u64
            + self.model.memory_bytes()
    }

    /// The frontier: ok calls before the first remaining return.
    fn scan(&mut self) {
        self.frontier.clear();
        let mut e = self.next[self.head as usize];
        while e != self.tail && e & 1 == 0 {
            self.frontier.push(e / 2);
            e = self.next[e as usize];
        }
        if e == self.tail {
            self.stuck = NIL;
            self.horizon = NEVER;
        } else {
            self.stuck = e / 2;
            self.horizon = self.p.ret[self.stuck as usize];
        }
    }

    /// Candidates of the current configuration, in a fixed order (so that
    /// backtracking can resume after the one it tried): frontier ops, only the
    /// earliest-returning of each class, then one info op per class.
    fn build_candidates(&mut self) {
        let p = self.p;
        self.stamp = self.stamp.wrapping_add(1);
        self.cands.clear();
        for &o in &self.frontier {
            let (o, c) = (o as usize, p.class[o as usize] as usize);
            if p.read_only[o] {
                continue;
            }
            if self.best_stamp[c] != self.stamp || p.ret[o] < p.ret[self.best[c] as usize] {
                self.best[c] = o as u32;
                self.best_stamp[c] = self.stamp;
            }
        }
        for &o in &self.frontier {
            let c = p.class[o as usize] as usize;
            if !p.read_only[o as usize] && self.best[c] == o && self.best_stamp[c] == self.stamp {
                self.cands.push(o);
            }
        }
        for &c in &self.info_classes {
            let c = c as usize;
            if self.best_stamp[c] == self.stamp {
                continue; // an identical ok op returns earlier: try that one
            }
            if let Some(&o) = self.info_members[c].get(self.used[c] as usize)
                && p.call[o as usize] < self.horizon
            {
                self.cands.push(o);
            }
        }
        self.order_by_urgency();
    }

    /// Goal-directed order: the op whose return comes first must be placed
    /// soonest, so try it first, then the ops after which it fits, then the
    /// rest (ok ops before info ops). Any fixed order is complete; this one
    /// finds a linearization with little backtracking.
    fn order_by_urgency(&mut self) {
        let p = self.p;
        let y = self.stuck;
        if y == NIL || self.cands.len() < 2 {
            return;
        }
        let yop = p.ops[y as usize];
        self.scratch.clear();
        let rank = |o: u32, model: &mut M, s: M::State| -> u8 {
            if o == y {
                return 0;
            }
            match model.step(s, p.ops[o as usize]) {
                Some(s2) if model.step(s2, yop).is_some() => 1,
                Some(_) => 2,
                None => 3,
            }
        };
        for &o in &self.cands {
            let r = rank(o, &mut self.model, self.state);
            self.scratch.push((r, o));
        }
        // Stable: keeps frontier (call) order within a rank.
        self.scratch.sort_by_key(|&(r, _)| r);
        self.cands.clear();
        self.cands.extend(self.scratch.iter().map(|&(_, o)| o));
    }

    fn try_from(&mut self, from: usize) -> bool {
        for i in from..self.cands.len() {
            let o = self.cands[i];
            if let Some(s2) = self.model.step(self.state, self.p.ops[o as usize])
                && self.push(o, s2, i as u32, false)
            {
                return true;
            }
        }
        false
    }

    /// Linearizes `o` leading to state `s2`, unless that configuration was seen.
    fn push(&mut self, o: u32, s2: M::State, cand: u32, forced: bool) -> bool {
        let zob = self.zob ^ self.keys[o as usize];
        let h = self.model.hash_state(s2);
        let fp = zob ^ (((h as u128) << 64) | mix64(h ^ 0x2545_f491_4f6c_dd1d) as u128);
        if !self.memo.insert(fp) {
            return false;
        }
        self.stack.push(Frame {
            op: o,
            prev: self.state,
            cand,
            forced,
        });
        self.state = s2;
        self.zob = zob;
        let i = o as usize;
        if self.p.ret[i] == NEVER {
            self.used[self.p.class[i] as usize] += 1;
        } else {
            self.unlink(2 * o);
            self.unlink(2 * o + 1);
            self.remaining -= 1;
        }
        true
    }

    fn undo(&mut self, f: &Frame<M::State>) {
        self.state = f.prev;
        self.zob ^= self.keys[f.op as usize];
        let i = f.op as usize;
        if self.p.ret[i] == NEVER {
            self.used[self.p.class[i] as usize] -= 1;
        } else {
            self.relink(2 * f.op + 1);
            self.relink(2 * f.op);
            self.remaining += 1;
        }
    }

    #[inline]
    fn unlink(&mut self, e: u32) {
        let (p, n) = (self.prev[e as usize], self.next[e as usize]);
        self.next[p as usize] = n;
        self.prev[n as usize] = p;
    }

    #[inline]
    fn relink(&mut self, e: u32) {
        let (p, n) = (self.prev[e as usize], self.next[e as usize]);
        self.next[p as usize] = e;
        self.prev[n as usize] = e;
    }

    /// Every candidate of the current configuration failed at the return of
    /// `stuck`. The deepest such return is where every linearization dies;
    /// keep a few configurations that reached it, for the counterexample.
    fn note_stuck(&mut self) {
        if self.stuck == NIL {
            return;
        }
        if self.failing == NIL || self.horizon > self.max_stuck {
            self.max_stuck = self.horizon;
            self.failing = self.stuck;
            self.survivors.clear();
        } else if self.horizon < self.max_stuck {
            return;
        }
        if self.survivors.len() >= 8 || self.survivors.iter().any(|s| s.state == self.state) {
            return;
        }
        let depth = self.stack.len();
        let from = depth.saturating_sub(TRAIL);
        let trail = (from..depth)
            .map(|k| {
                let after = if k + 1 < depth {
                    self.stack[k + 1].prev
                } else {
                    self.state
                };
                (self.stack[k].op, after)
            })
            .collect();
        let mut pending = self.frontier.clone();
        self.build_candidates();
        pending.extend(self.cands.iter().filter(|&&o| self.p.is_info(o)));
        self.survivors.push(Survivor {
            state: self.state,
            trail,
            pending,
        });
    }
}
