//! JSON Lines histories, strict and with a truncated tail allowed. What
//! reads must read back the same once written by the crate's own writer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use splitbrain_fuzz::{assert_jsonl_round_trip, check_tolerant_reading};
use splitbrain_history::codec::Format;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(h) = check_tolerant_reading(text, Format::Jsonl) {
        assert_jsonl_round_trip(&h);
    }
});
