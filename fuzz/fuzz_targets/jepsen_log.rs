//! Jepsen log lines (`jepsen.log`, `history.txt`), strict and with a
//! truncated tail allowed. Run with a small `-max_len` (run-all uses 4096):
//! the reader is line by line, so long inputs only slow the search down.
#![no_main]

use libfuzzer_sys::fuzz_target;
use splitbrain_fuzz::{assert_jsonl_round_trip, check_tolerant_reading};
use splitbrain_history::codec::Format;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(h) = check_tolerant_reading(text, Format::JepsenLog) {
        assert_jsonl_round_trip(&h);
    }
});
