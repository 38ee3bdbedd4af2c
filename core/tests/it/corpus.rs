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
