//! Real heap accounting: a counting global allocator.
//!
//! Estimates of what the engines hold miss what they do not know about (the
//! history, interned values, hash maps, allocator overhead), so a memory
//! limit enforced on estimates is overshot. A program that installs
//! [`CountingAlloc`] as its global allocator
//!
//! ```
//! #[global_allocator]
//! static ALLOC: splitbrain_checkers::heap::CountingAlloc = splitbrain_checkers::heap::CountingAlloc;
//!
//! fn main() {
//!     let history = vec![0u8; 1 << 20];
//!     assert!(splitbrain_checkers::heap::live().unwrap() >= history.len());
//! }
//! ```
//!
//! lets every check measure the live heap of the whole process instead: the
//! engines stop with `unknown` when it reaches [`Limits::memory_bytes`](crate::Limits),
//! and a watchdog can poll [`live`] while a phase that does not poll (reading a
//! file) runs. Without it installed, [`live`] is `None` and the engines fall back
//! to their own estimates.
//!
//! Each block is counted as malloc lays it out (its size plus an 8-byte
//! header, rounded up to 16 bytes, at least 32; large blocks in whole pages),
//! not as requested: a history is millions of small blocks, and their
//! overhead is real memory.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// [`System`], counting the live heap and its peak. Two relaxed atomic
/// operations per allocation; no locks.
pub struct CountingAlloc;

/// glibc's block size for a request: 8 bytes of header, 16-byte granules, at
/// least 32 bytes; requests past its mmap threshold take whole pages.
#[inline]
fn footprint(size: usize) -> usize {
    if size >= 128 * 1024 {
        (size + 16 + 4095) & !4095
    } else {
        ((size + 8 + 15) & !15).max(32)
    }
}

#[inline]
fn grew(bytes: usize) {
    let now = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    // A load first: the read-modify-write is needed only at a new peak.
    if now > PEAK.load(Ordering::Relaxed) {
        PEAK.fetch_max(now, Ordering::Relaxed);
    }
}

#[inline]
fn shrank(bytes: usize) {
    LIVE.fetch_sub(bytes, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to `System` unchanged; the counters never
// affect what is allocated.
unsafe impl GlobalAlloc for CountingAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(footprint(layout.size()));
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(footprint(layout.size()));
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        shrank(footprint(layout.size()));
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Count the new block before the old one goes: a moving realloc holds both.
        let (old, new) = (footprint(layout.size()), footprint(new_size));
        if new > old {
            grew(new - old);
        }
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() {
            if new > old {
                shrank(new - old);
            }
        } else if new < old {
            shrank(old - new);
        }
        p
    }
}

/// Bytes of heap live now, or `None` when [`CountingAlloc`] is not the
/// global allocator (nothing was ever counted).
#[inline]
pub fn live() -> Option<usize> {
    if PEAK.load(Ordering::Relaxed) == 0 {
        return None;
    }
    Some(LIVE.load(Ordering::Relaxed))
}

/// The most heap live at once since the start (or the last [`reset_peak`]).
pub fn peak() -> Option<usize> {
    match PEAK.load(Ordering::Relaxed) {
        0 => None,
        p => Some(p),
    }
}

/// Starts a new peak from the heap live now (e.g. before one check of many).
pub fn reset_peak() {
    if PEAK.load(Ordering::Relaxed) != 0 {
        PEAK.store(LIVE.load(Ordering::Relaxed).max(1), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::footprint;

    #[test]
    fn blocks_are_counted_as_malloc_lays_them_out() {
        assert_eq!(footprint(0), 32);
        assert_eq!(footprint(24), 32);
        assert_eq!(footprint(25), 48);
        assert_eq!(footprint(1000), 1008);
        // Large blocks are whole pages.
        assert_eq!(footprint(1 << 20), (1 << 20) + 4096);
    }
}
