//! Fuzz target: `endure_core::fuzzing::execution_machine` (see its documentation). The body lives in
//! core so that `cargo test` replays `fuzz/corpus/execution_machine` through the same code.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    endure_core::fuzzing::execution_machine(data);
});
