//! Hashing for the engines: a fast integer mixer, Zobrist keys, and an
//! open-addressing set of 128-bit fingerprints (the WGL memo).

/// SplitMix64's finalizer: a bijective, well-spreading mix of a 64-bit word.
#[inline]
pub(crate) fn mix64(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A deterministic stream of well-mixed 64-bit words (SplitMix64).
pub(crate) struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.0)
    }
}

/// A set of 128-bit fingerprints with linear probing. Zero marks an empty
/// slot, so a zero fingerprint is remapped. 16 bytes per slot, load kept
/// under one half.
pub(crate) struct FpSet {
    slots: Vec<u128>,
    len: usize,
}

impl FpSet {
    pub fn new() -> FpSet {
        FpSet {
            slots: vec![0; 1 << 10],
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn bytes(&self) -> u64 {
        (self.slots.len() * 16) as u64
    }

    /// Inserts `fp`; false if it was already there.
    #[inline]
    pub fn insert(&mut self, fp: u128) -> bool {
        let fp = if fp == 0 { 1 } else { fp };
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut i = (fp as u64 as usize) & mask;
        loop {
            let s = self.slots[i];
            if s == 0 {
                self.slots[i] = fp;
                self.len += 1;
                return true;
            }
            if s == fp {
                return false;
            }
            i = (i + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let bigger = vec![0; self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, bigger);
        let mask = self.slots.len() - 1;
        for fp in old.into_iter().filter(|&f| f != 0) {
            let mut i = (fp as u64 as usize) & mask;
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = fp;
        }
    }
}

/// A fast non-cryptographic hasher for small integer keys (model memo
/// tables): the inputs are our own interned ids, not adversarial.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

const FX: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl std::hash::Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(w));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.write_u64(i as u64);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(FX);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        mix64(self.0)
    }
}

pub(crate) type FastMap<K, V> =
    std::collections::HashMap<K, V, std::hash::BuildHasherDefault<FxHasher>>;

/// Interns sequences of `u32` (sets, queues, register vectors) into one flat
/// arena: a state is a `u32` id, and interning allocates nothing per state,
/// so millions of states cost a few large buffers (and free in an instant).
#[derive(Clone)]
pub(crate) struct SeqInterner {
    data: Vec<u32>,
    spans: Vec<(u32, u32)>,
    hashes: Vec<u64>,
    /// Open addressing: id + 1, 0 for empty.
    table: Vec<u32>,
}

impl Default for SeqInterner {
    fn default() -> SeqInterner {
        SeqInterner {
            data: Vec::new(),
            spans: Vec::new(),
            hashes: Vec::new(),
            table: vec![0; 64],
        }
    }
}

impl SeqInterner {
    fn hash(seq: &[u32]) -> u64 {
        let mut h = seq.len() as u64;
        for &x in seq {
            h = (h.rotate_left(5) ^ x as u64).wrapping_mul(FX);
        }
        mix64(h)
    }

    pub fn get(&self, id: u32) -> &[u32] {
        let (start, len) = self.spans[id as usize];
        &self.data[start as usize..(start + len) as usize]
    }

    pub fn bytes(&self) -> u64 {
        (self.data.capacity() * 4 + self.spans.capacity() * 16 + self.table.len() * 4) as u64
    }

    pub fn intern(&mut self, seq: &[u32]) -> u32 {
        let h = Self::hash(seq);
        let mask = self.table.len() - 1;
        let mut i = h as usize & mask;
        loop {
            let e = self.table[i];
            if e == 0 {
                break;
            }
            let id = e - 1;
            if self.hashes[id as usize] == h && self.get(id) == seq {
                return id;
            }
            i = (i + 1) & mask;
        }
        let id = self.spans.len() as u32;
        self.spans.push((self.data.len() as u32, seq.len() as u32));
        self.data.extend_from_slice(seq);
        self.hashes.push(h);
        self.table[i] = id + 1;
        if self.spans.len() * 2 > self.table.len() {
            self.grow();
        }
        id
    }

    fn grow(&mut self) {
        self.table = vec![0; self.table.len() * 2];
        let mask = self.table.len() - 1;
        for (id, &h) in self.hashes.iter().enumerate() {
            let mut i = h as usize & mask;
            while self.table[i] != 0 {
                i = (i + 1) & mask;
            }
            self.table[i] = id as u32 + 1;
        }
    }
}
