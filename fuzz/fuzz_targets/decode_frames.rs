//! Fuzz target: arbitrary bytes fed to the TCP frame decoder in arbitrary chunks never
//! panic, and decoded frames round-trip. The body lives in `endure_core::fuzzing` so that
//! `cargo test` replays `fuzz/corpus/decode_frames` through the same code.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    endure_core::fuzzing::decode_frames(data);
});
