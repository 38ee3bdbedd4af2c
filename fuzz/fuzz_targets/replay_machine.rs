//! Fuzz target: `endure_core::fuzzing::replay_machine` (see its documentation). The body lives in
//! core so that `cargo test` replays `fuzz/corpus/replay_machine` through the same code.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    endure_core::fuzzing::replay_machine(data);
});
