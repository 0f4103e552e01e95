//! Engine B: Lowe's just-in-time linearization, swept over time.
//!
//! The history is read once, in order, keeping the set of *configurations*
//! the object can be in: a model state plus which pending ops are already
//! linearized. An invocation adds a pending op; a return forces that op to be
//! linearized in every configuration, by any sequence of pending ops ending
//! with it — and only then ("just in time"), so no configuration takes a
//! decision it was not forced to take. Configurations that cannot place the
//! returning op die; when none survives, that op is where every linearization
//! dies, found without exhausting an exponential tree: a depth-first checker
//! is at its worst exactly on such invalid histories.
//!
//! A configuration is `(state, bitmap over pending ok ops, info usage)`:
//! - pending `ok` ops get slots in a fixed-width bitmap (`W` 64-bit words,
//!   chosen from the most ops ever pending at once), freed at their return;
//! - `info` ops never return and are optional; identical ones are used in a
//!   fixed order, so a configuration only records how many of each class it
//!   used, as an interned sparse vector.
//!
//! Kept small by:
//! - deduplication (hash set per sweep step, cleared in O(1) by generation);
//! - dominance: of two configurations equal but for their info usage, the one
//!   that used no more of every class can do all the other can, so the other
//!   is dropped;
//! - read-only ops that fit a configuration's state are linearized at once
//!   (any linearization can be rearranged to do so);
//! - among pending identical ops only the earliest-returning is linearized
//!   next.

use std::collections::HashMap;

use crate::engine::{Answer, Survivor, Trail};
use crate::hash::mix64;
use crate::limits::{Control, Halt};
use crate::model::Model;
use crate::problem::{NEVER, Problem};

const NIL: u32 = u32::MAX;

pub(crate) fn check<M: Model>(p: &Problem<M>, ctl: &mut Control, trace: bool) -> Answer<M> {
    let mut events: Vec<(u32, u32)> = Vec::with_capacity(2 * p.len());
    for i in 0..p.len() {
        events.push((p.call[i], 2 * i as u32));
        if p.ret[i] != NEVER {
            events.push((p.ret[i], 2 * i as u32 + 1));
        }
    }
    events.sort_unstable();
    let (mut pending, mut most) = (0usize, 0usize);
    for &(_, e) in &events {
        if p.ret[(e / 2) as usize] == NEVER {
            continue;
        }
        if e & 1 == 0 {
            pending += 1;
            most = most.max(pending);
        } else {
            pending -= 1;
        }
    }
    let sweep = |relaxed: bool, ctl: &mut Control| match most.div_ceil(64) {
        0 | 1 => Jit::<M, 1>::new(p, trace, relaxed).run(&events, ctl),
        2 => Jit::<M, 2>::new(p, trace, relaxed).run(&events, ctl),
        3 | 4 => Jit::<M, 4>::new(p, trace, relaxed).run(&events, ctl),
        5..=8 => Jit::<M, 8>::new(p, trace, relaxed).run(&events, ctl),
        9..=16 => Jit::<M, 16>::new(p, trace, relaxed).run(&events, ctl),
        _ => Answer::Unknown(Halt::TooConcurrent),
    };
    // Info ops make configurations that used different ones incomparable, and
    // those pile up. Allowing each info op to be used any number of times
    // removes that dimension and only adds behaviours: if even this relaxed
    // sweep dies, the history is certainly not linearizable. It costs about
    // what a history without info ops costs, so it goes first.
    // Models whose states can grow without end (a queue reusing an info
    // enqueue) skip it: their relaxed space is infinite.
    if p.model.finite_states() && p.ret.contains(&NEVER) {
        match sweep(true, ctl) {
            Answer::Valid => {}
            decided => return decided,
        }
    }
    sweep(false, ctl)
}

/// Interned info-usage vectors: sorted (class, count) pairs; id 0 is "none used".
struct Usages {
    vecs: Vec<Box<[(u32, u32)]>>,
    ids: HashMap<Box<[(u32, u32)]>, u32>,
    inc: HashMap<(u32, u32), u32>,
    bytes: u64,
}

impl Usages {
    fn new() -> Usages {
        let empty: Box<[(u32, u32)]> = Box::new([]);
        let mut ids = HashMap::new();
        ids.insert(empty.clone(), 0);
        Usages {
            vecs: vec![empty],
            ids,
            inc: HashMap::new(),
            bytes: 0,
        }
    }

    fn get(&self, id: u32) -> &[(u32, u32)] {
        &self.vecs[id as usize]
    }

    /// `id` with one more op of `class` used.
    fn inc(&mut self, id: u32, class: u32) -> u32 {
        if let Some(&r) = self.inc.get(&(id, class)) {
            return r;
        }
        let mut v = self.vecs[id as usize].to_vec();
        match v.binary_search_by_key(&class, |&(c, _)| c) {
            Ok(at) => v[at].1 += 1,
            Err(at) => v.insert(at, (class, 1)),
        }
        let v = v.into_boxed_slice();
        let r = match self.ids.get(&v) {
            Some(&r) => r,
            None => {
                let r = self.vecs.len() as u32;
                self.bytes += 2 * (v.len() as u64 * 8 + 48);
                self.vecs.push(v.clone());
                self.ids.insert(v, r);
                r
            }
        };
        self.bytes += 24;
        self.inc.insert((id, class), r);
        r
    }

    /// Whether usage `a` is no more than `b` in every class.
    fn le(&self, a: u32, b: u32) -> bool {
        if a == b || a == 0 {
            return true;
        }
        let (a, b) = (self.get(a), self.get(b));
        let mut j = 0;
        for &(c, n) in a {
            while j < b.len() && b[j].0 < c {
                j += 1;
            }
            if j == b.len() || b[j].0 != c || b[j].1 < n {
                return false;
            }
        }
        true
    }
}

/// A set of configurations with dedup and info-usage dominance.
struct Configs<S: Copy, const W: usize> {
    state: Vec<S>,
    hash: Vec<u64>,
    bits: Vec<[u64; W]>,
    usage: Vec<u32>,
    alive: Vec<bool>,
    /// Next configuration with the same (state, bits), differing in usage.
    chain: Vec<u32>,
    trail: Vec<Trail<S>>,
    /// (config index, generation); an entry of another generation is empty.
    table: Vec<(u32, u32)>,
    generation: u32,
    groups: usize,
    live: usize,
}

impl<S: Copy + Eq, const W: usize> Configs<S, W> {
    fn new() -> Configs<S, W> {
        Configs {
            state: Vec::new(),
            hash: Vec::new(),
            bits: Vec::new(),
            usage: Vec::new(),
            alive: Vec::new(),
            chain: Vec::new(),
            trail: Vec::new(),
            table: vec![(0, 0); 256],
            generation: 1,
            groups: 0,
            live: 0,
        }
    }

    fn len(&self) -> usize {
        self.state.len()
    }

    fn clear(&mut self) {
        self.state.clear();
        self.hash.clear();
        self.bits.clear();
        self.usage.clear();
        self.alive.clear();
        self.chain.clear();
        self.trail.clear();
        self.groups = 0;
        self.live = 0;
        if self.generation == u32::MAX {
            self.table.fill((0, 0));
            self.generation = 0;
        }
        self.generation += 1;
    }

    /// Bytes per configuration in the parallel vectors other than `trail`:
    /// state, hash, bits, usage, alive, chain.
    const ROW: usize = std::mem::size_of::<S>() + 8 + 8 * W + 4 + 1 + 4;

    fn bytes(&self) -> u64 {
        (self.state.capacity() * Self::ROW
            + self.trail.capacity() * std::mem::size_of::<Trail<S>>()
            + self.table.len() * 8) as u64
    }

    /// Bytes per configuration, over the parallel vectors.
    fn per_config(&self) -> usize {
        let trail = if self.trail.capacity() > 0 {
            std::mem::size_of::<Trail<S>>()
        } else {
            0
        };
        Self::ROW + trail
    }

    /// Asks the budget before the vectors double (the new blocks are
    /// allocated while the old ones are live: the step that could jump past
    /// the limit); near the limit, grows them by what still fits.
    #[cold]
    fn reserve_more(&mut self, ctl: &Control) -> Result<(), Halt> {
        let per = self.per_config() as u64;
        let doubling = self.state.capacity().max(4) as u64 * per;
        if ctl.room(doubling).is_ok() {
            return Ok(());
        }
        // With a margin for the rest of the engine, rather than stop at half the limit.
        let more = (ctl.headroom().unwrap_or(0) / 8 * 7 / per) as usize;
        if more < 1024 {
            return Err(Halt::Memory);
        }
        self.state.reserve_exact(more);
        self.hash.reserve_exact(more);
        self.bits.reserve_exact(more);
        self.usage.reserve_exact(more);
        self.alive.reserve_exact(more);
        self.chain.reserve_exact(more);
        if self.trail.capacity() > 0 {
            self.trail.reserve_exact(more);
        }
        Ok(())
    }

    #[inline]
    fn slot_of(hash: u64, mask: usize) -> usize {
        (hash >> 20) as usize & mask
    }

    /// Adds a configuration unless it, or one dominating it, is present.
    // The hot path: a parameter struct would cost a copy per insert.
    #[allow(clippy::too_many_arguments)]
    fn insert(
        &mut self,
        s: S,
        h: u64,
        bits: [u64; W],
        usage: u32,
        trail: Option<Trail<S>>,
        usages: &Usages,
        ctl: &Control,
    ) -> Result<bool, Halt> {
        if (self.groups + 1) * 2 > self.table.len() {
            // The new table is allocated while the old one is live.
            ctl.room(self.table.len() as u64 * 16)?;
            self.grow();
        }
        let mask = self.table.len() - 1;
        let mut i = Self::slot_of(h, mask);
        loop {
            let (idx, g) = self.table[i];
            if g != self.generation {
                if self.state.len() == self.state.capacity() {
                    self.reserve_more(ctl)?;
                }
                self.table[i] = (self.len() as u32, self.generation);
                self.groups += 1;
                self.push(s, h, bits, usage, trail, NIL);
                return Ok(true);
            }
            let head = idx as usize;
            if self.hash[head] == h && self.state[head] == s && self.bits[head] == bits {
                let mut j = head as u32;
                while j != NIL {
                    let k = j as usize;
                    if self.alive[k] && usages.le(self.usage[k], usage) {
                        return Ok(false);
                    }
                    j = self.chain[k];
                }
                let mut j = head as u32;
                while j != NIL {
                    let k = j as usize;
                    if self.alive[k] && usages.le(usage, self.usage[k]) {
                        self.alive[k] = false;
                        self.live -= 1;
                    }
                    j = self.chain[k];
                }
                if self.state.len() == self.state.capacity() {
                    self.reserve_more(ctl)?;
                }
                let new = self.len() as u32;
                let after = self.chain[head];
                self.chain[head] = new;
                self.push(s, h, bits, usage, trail, after);
                return Ok(true);
            }
            i = (i + 1) & mask;
        }
    }

    fn push(
        &mut self,
        s: S,
        h: u64,
        bits: [u64; W],
        usage: u32,
        trail: Option<Trail<S>>,
        chain: u32,
    ) {
        self.state.push(s);
        self.hash.push(h);
        self.bits.push(bits);
        self.usage.push(usage);
        self.alive.push(true);
        self.chain.push(chain);
        if let Some(t) = trail {
            self.trail.push(t);
        }
        self.live += 1;
    }

    fn grow(&mut self) {
        self.table = vec![(0, 0); self.table.len() * 2];
        self.generation = 1;
        let mask = self.table.len() - 1;
        // Chain heads come first in index order: place each index unless its
        // (state, bits) already has a head.
        for k in 0..self.len() {
            let mut i = Self::slot_of(self.hash[k], mask);
            loop {
                let (idx, g) = self.table[i];
                if g != self.generation {
                    self.table[i] = (k as u32, self.generation);
                    break;
                }
                let h = idx as usize;
                if self.hash[h] == self.hash[k]
                    && self.state[h] == self.state[k]
                    && self.bits[h] == self.bits[k]
                {
                    break;
                }
                i = (i + 1) & mask;
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Cand {
    Op(u32),
    /// Class, and the op of that class next in line.
    Info(u32, u32),
}

struct Jit<'p, M: Model, const W: usize> {
    p: &'p Problem<M>,
    model: M,
    trace: bool,
    /// Info ops may be used any number of times (an over-approximation).
    relaxed: bool,
    slot: Vec<u32>,
    free: Vec<u32>,
    /// Pending ok ops that may change the state, by return position.
    pending: Vec<u32>,
    /// Pending read-only ok ops.
    reads: Vec<u32>,
    /// Per class: info ops invoked so far, and the classes with any.
    pool: Vec<u32>,
    info_members: Vec<Vec<u32>>,
    active: Vec<u32>,
    usages: Usages,
    cur: Configs<M::State, W>,
    next: Configs<M::State, W>,
    visited: Configs<M::State, W>,
    seen: Vec<u32>,
    stamp: u32,
    cands: Vec<Cand>,
    configurations: u64,
}

#[inline]
fn has<const W: usize>(b: &[u64; W], slot: u32) -> bool {
    b[(slot / 64) as usize] & (1 << (slot % 64)) != 0
}

#[inline]
fn set<const W: usize>(b: &mut [u64; W], slot: u32) {
    b[(slot / 64) as usize] |= 1 << (slot % 64);
}

#[inline]
fn config_hash<const W: usize>(state_hash: u64, b: &[u64; W]) -> u64 {
    let mut h = state_hash;
    for &w in b {
        h = (h.rotate_left(26) ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    mix64(h)
}

impl<'p, M: Model, const W: usize> Jit<'p, M, W> {
    fn new(p: &'p Problem<M>, trace: bool, relaxed: bool) -> Jit<'p, M, W> {
        let mut info_members = vec![Vec::new(); p.classes];
        for i in 0..p.len() {
            if p.ret[i] == NEVER {
                info_members[p.class[i] as usize].push(i as u32);
            }
        }
        Jit {
            p,
            model: p.model.clone(),
            trace,
            relaxed,
            slot: vec![NIL; p.len()],
            free: (0..(W * 64) as u32).rev().collect(),
            pending: Vec::new(),
            reads: Vec::new(),
            pool: vec![0; p.classes],
            info_members,
            active: Vec::new(),
            usages: Usages::new(),
            cur: Configs::new(),
            next: Configs::new(),
            visited: Configs::new(),
            seen: vec![0; p.classes],
            stamp: 0,
            cands: Vec::new(),
            configurations: 0,
        }
    }

    fn bytes(&self) -> u64 {
        self.cur.bytes()
            + self.next.bytes()
            + self.visited.bytes()
            + self.usages.bytes
            + self.model.memory_bytes()
    }

    fn run(mut self, events: &[(u32, u32)], ctl: &mut Control) -> Answer<M> {
        let init = self.model.init();
        let h = self.model.hash_state(init);
        let trail = self.trace.then(|| Trail::new(init));
        if let Err(halt) = self.cur.insert(
            init,
            config_hash(h, &[0; W]),
            [0; W],
            0,
            trail,
            &self.usages,
            ctl,
        ) {
            return Answer::Unknown(halt);
        }
        let answer = self.sweep(events, ctl);
        ctl.count_configurations(self.configurations);
        answer
    }

    fn sweep(&mut self, events: &[(u32, u32)], ctl: &mut Control) -> Answer<M> {
        for (n, &(_, e)) in events.iter().enumerate() {
            let o = e / 2;
            if e & 1 == 0 {
                self.invoke(o);
            } else if let Err(answer) = self.complete(o, ctl) {
                return answer;
            }
            if n & 0xff == 0
                && let Err(h) = ctl.poll().and_then(|_| ctl.hold(self.bytes()))
            {
                return Answer::Unknown(h);
            }
        }
        Answer::Valid
    }

    fn invoke(&mut self, o: u32) {
        let i = o as usize;
        let p = self.p;
        if p.ret[i] == NEVER {
            let c = p.class[i];
            if self.pool[c as usize] == 0 {
                let at = self.active.partition_point(|&a| a < c);
                self.active.insert(at, c);
            }
            self.pool[c as usize] += 1;
            return;
        }
        let slot = self
            .free
            .pop()
            .expect("slots sized to the most pending ops");
        self.slot[i] = slot;
        if p.read_only[i] {
            self.reads.push(o);
            // Linearize it at once wherever it fits.
            for k in 0..self.cur.len() {
                if !self.cur.alive[k] {
                    continue;
                }
                let s = self.cur.state[k];
                if self.model.step(s, p.ops[i]).is_some() {
                    set(&mut self.cur.bits[k], slot);
                    if self.trace {
                        self.cur.trail[k].push(o, s);
                    }
                }
            }
        } else {
            let at = self
                .pending
                .partition_point(|&q| p.ret[q as usize] < p.ret[i]);
            self.pending.insert(at, o);
        }
    }

    /// The return of `x`: every configuration must linearize it now.
    fn complete(&mut self, x: u32, ctl: &mut Control) -> Result<(), Answer<M>> {
        let p = self.p;
        let sx = self.slot[x as usize];
        let (xw, xb) = ((sx / 64) as usize, 1u64 << (sx % 64));
        self.next.clear();
        self.visited.clear();
        for k in 0..self.cur.len() {
            if !self.cur.alive[k] {
                continue;
            }
            let (s, mut b, u) = (self.cur.state[k], self.cur.bits[k], self.cur.usage[k]);
            let t = self.trace.then(|| self.cur.trail[k]);
            if b[xw] & xb != 0 {
                b[xw] &= !xb;
                let h = config_hash(self.model.hash_state(s), &b);
                self.next
                    .insert(s, h, b, u, t, &self.usages, ctl)
                    .map_err(Answer::Unknown)?;
            } else {
                // (Not cur's stored hash: invocations of reads set bits in place.)
                let h = config_hash(self.model.hash_state(s), &b);
                self.visited
                    .insert(s, h, b, u, t, &self.usages, ctl)
                    .map_err(Answer::Unknown)?;
            }
        }
        // Breadth-first over sequences of pending ops, until x is placed.
        let mut k = 0;
        while k < self.visited.len() {
            if k & 0x3ff == 0x3ff
                && let Err(h) = ctl.poll().and_then(|_| ctl.hold(self.bytes()))
            {
                return Err(Answer::Unknown(h));
            }
            if !self.visited.alive[k] {
                k += 1;
                continue;
            }
            let (s, b, u) = (
                self.visited.state[k],
                self.visited.bits[k],
                self.visited.usage[k],
            );
            let t = self.trace.then(|| self.visited.trail[k]);
            self.candidates(&b, u);
            for c in 0..self.cands.len() {
                let (o, u2) = match self.cands[c] {
                    Cand::Op(o) => (o, u),
                    Cand::Info(_, o) if self.relaxed => (o, u),
                    Cand::Info(class, o) => (o, self.usages.inc(u, class)),
                };
                let Some(s2) = self.model.step(s, p.ops[o as usize]) else {
                    continue;
                };
                let mut b2 = b;
                if let Cand::Op(o) = self.cands[c] {
                    set(&mut b2, self.slot[o as usize]);
                }
                let mut t2 = t;
                if let Some(t2) = t2.as_mut() {
                    t2.push(o, s2);
                }
                self.close_reads(s2, &mut b2, &mut t2);
                self.configurations += 1;
                if b2[xw] & xb != 0 {
                    b2[xw] &= !xb;
                    let h = config_hash(self.model.hash_state(s2), &b2);
                    self.next
                        .insert(s2, h, b2, u2, t2, &self.usages, ctl)
                        .map_err(Answer::Unknown)?;
                } else {
                    let h = config_hash(self.model.hash_state(s2), &b2);
                    self.visited
                        .insert(s2, h, b2, u2, t2, &self.usages, ctl)
                        .map_err(Answer::Unknown)?;
                }
            }
            k += 1;
        }
        if self.next.live == 0 {
            return Err(Answer::Invalid {
                op: x,
                survivors: if self.trace {
                    self.survivors()
                } else {
                    Vec::new()
                },
                model: self.model.clone(),
            });
        }
        if p.read_only[x as usize] {
            self.reads.retain(|&r| r != x);
        } else {
            self.pending.retain(|&r| r != x);
        }
        self.free.push(sx);
        std::mem::swap(&mut self.cur, &mut self.next);
        Ok(())
    }

    /// Linearizes every pending read-only op that fits state `s`.
    #[inline]
    fn close_reads(&mut self, s: M::State, b: &mut [u64; W], t: &mut Option<Trail<M::State>>) {
        for &r in &self.reads {
            let slot = self.slot[r as usize];
            if !has(b, slot) && self.model.step(s, self.p.ops[r as usize]).is_some() {
                set(b, slot);
                if let Some(t) = t.as_mut() {
                    t.push(r, s);
                }
            }
        }
    }

    /// What a configuration may linearize next: each class's earliest-returning
    /// unlinearized pending op, else its next unused info op.
    fn candidates(&mut self, b: &[u64; W], u: u32) {
        let p = self.p;
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.seen.fill(0);
            self.stamp = 1;
        }
        self.cands.clear();
        for &o in &self.pending {
            if has(b, self.slot[o as usize]) {
                continue;
            }
            let c = p.class[o as usize] as usize;
            if self.seen[c] != self.stamp {
                self.seen[c] = self.stamp;
                self.cands.push(Cand::Op(o));
            }
        }
        let used = self.usages.get(u);
        let mut j = 0;
        for &c in &self.active {
            if self.seen[c as usize] == self.stamp {
                continue;
            }
            while j < used.len() && used[j].0 < c {
                j += 1;
            }
            let n = if j < used.len() && used[j].0 == c {
                used[j].1
            } else {
                0
            };
            let n = if self.relaxed { 0 } else { n };
            if n < self.pool[c as usize] {
                self.cands
                    .push(Cand::Info(c, self.info_members[c as usize][n as usize]));
            }
        }
    }

    /// The configurations alive before the failing return (a few, with
    /// different states first).
    fn survivors(&mut self) -> Vec<Survivor<M::State>> {
        let mut picked: Vec<usize> = Vec::new();
        for pass in 0..2 {
            for k in 0..self.cur.len() {
                if picked.len() >= 16 {
                    break;
                }
                if !self.cur.alive[k] || picked.contains(&k) {
                    continue;
                }
                let s = self.cur.state[k];
                if pass == 0 && picked.iter().any(|&q| self.cur.state[q] == s) {
                    continue;
                }
                picked.push(k);
            }
        }
        picked
            .into_iter()
            .map(|k| {
                let b = self.cur.bits[k];
                let mut pending: Vec<u32> = self
                    .pending
                    .iter()
                    .chain(&self.reads)
                    .copied()
                    .filter(|&o| !has(&b, self.slot[o as usize]))
                    .collect();
                self.candidates(&b, self.cur.usage[k]);
                pending.extend(self.cands.iter().filter_map(|c| match *c {
                    Cand::Info(_, o) => Some(o),
                    Cand::Op(_) => None,
                }));
                Survivor {
                    state: self.cur.state[k],
                    trail: self.cur.trail[k].entries(),
                    pending,
                }
            })
            .collect()
    }
}
