//! Replays the committed fuzz corpus (`fuzz/corpus/*`) through the fuzz targets' bodies, so
//! every input the fuzzer ever found interesting stays covered by `cargo test`.

use std::fs;
use std::path::Path;

#[test]
fn fuzz_corpus_replays() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/decode_records");
    let mut inputs = 0;
    for entry in fs::read_dir(&corpus).unwrap_or_else(|e| panic!("{}: {e}", corpus.display())) {
        let path = entry.unwrap().path();
        endure_core::fuzzing::decode_records(&fs::read(&path).unwrap());
        inputs += 1;
    }
    assert!(inputs > 0, "{} is empty", corpus.display());
}
