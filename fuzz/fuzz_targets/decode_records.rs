//! Fuzz target: arbitrary bytes decoded as every record kind must never panic, and whatever
//! decodes must re-encode to a fixed point. The body lives in `endure_core::fuzzing` so that
//! `cargo test` replays `fuzz/corpus/decode_records` through the same code.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    endure_core::fuzzing::decode_records(data);
});
