//! Jepsen EDN histories: the fast reader and its clojure-reader fallback.
//! No input may panic or overflow the stack; what reads must survive a JSON
//! Lines round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use splitbrain_fuzz::{assert_jsonl_round_trip, read};
use splitbrain_history::codec::Format;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(h) = read(text, Format::Edn, false) {
        assert_jsonl_round_trip(&h);
    }
});
