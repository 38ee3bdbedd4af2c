//! Replays the committed fuzz corpus (`fuzz/corpus/*`) through the fuzz targets' bodies, so
//! every input the fuzzer ever found interesting stays covered by `cargo test`.

use std::fs;
use std::path::Path;

fn replay(target: &str, body: fn(&[u8])) {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut inputs = 0;
    for entry in fs::read_dir(&corpus).unwrap_or_else(|e| panic!("{}: {e}", corpus.display())) {
        let path = entry.unwrap().path();
        body(&fs::read(&path).unwrap());
        inputs += 1;
    }
    assert!(inputs > 0, "{} is empty", corpus.display());
}

#[test]
fn fuzz_corpus_replays() {
    replay("decode_records", endure_core::fuzzing::decode_records);
}

#[test]
fn frame_corpus_replays() {
    replay("decode_frames", endure_core::fuzzing::decode_frames);
}

#[test]
fn execution_machine_corpus_replays() {
    replay("execution_machine", endure_core::fuzzing::execution_machine);
}

#[test]
fn replay_machine_corpus_replays() {
    replay("replay_machine", endure_core::fuzzing::replay_machine);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Random input sequences, between fuzzing campaigns.
    #[test]
    fn random_bytes_drive_the_machines(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
        endure_core::fuzzing::execution_machine(&bytes);
        endure_core::fuzzing::replay_machine(&bytes);
    }
}
