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
