//! Golden files: the encoded bytes (and JSON form) of every sample, per format version.
//!
//! The current version's files must equal what this build encodes, byte for byte; the files
//! of every version ever released must decode, forever. After an intended change to the
//! samples of the current version, regenerate with
//! `ENDURE_BLESS=1 cargo test -p endure-core --test it golden`.

use std::fmt::Debug;
use std::fs;
use std::path::{Path, PathBuf};

use endure_core::codec::{self, FORMAT_VERSION, Record, RecordKind};
use endure_core::history::samples::quickstart_history;
use endure_core::*;
use endure_core::{execution, storage};

use crate::samples;

/// Checks that bytes decode to the sample they were made from.
type SampleCheck = Box<dyn Fn(&[u8]) -> Result<(), String>>;

/// One golden file: its name, the bytes and JSON this build writes, and a check that bytes
/// decode back to the sample.
pub(crate) struct Golden {
    name: String,
    bytes: Vec<u8>,
    json: String,
    decodes_to_sample: SampleCheck,
}

pub(crate) fn golden<T: Record + PartialEq + Debug + 'static>(name: String, value: T) -> Golden {
    let bytes = codec::encode(&value).unwrap();
    let json = serde_json::to_string_pretty(&value).unwrap() + "\n";
    Golden {
        name,
        bytes,
        json,
        decodes_to_sample: Box::new(move |bytes| match codec::decode::<T>(bytes) {
            Ok(decoded) if decoded == value => Ok(()),
            Ok(decoded) => Err(format!("decodes to {decoded:?}, expected {value:?}")),
            Err(error) => Err(error.to_string()),
        }),
    }
}

fn goldens() -> Vec<Golden> {
    let mut goldens = Vec::new();
    for (index, attributes) in samples::events().into_iter().enumerate() {
        let event_type = attributes.event_type();
        let event = HistoryEvent {
            event_id: EventId::new(index as u64 + 1).unwrap(),
            event_time: Timestamp::from_unix_nanos(1_795_860_000_123_456_789),
            attributes,
        };
        let name = format!("event-{:02}-{}", event_type.number(), event_type.name());
        goldens.push(golden(name, event));
    }
    for command in samples::commands() {
        let command_type = command.command_type();
        let name = format!(
            "command-{:02}-{}",
            command_type.number(),
            command_type.name()
        );
        goldens.push(golden(name, command));
    }
    goldens.push(golden("history-quickstart".into(), quickstart_history()));
    goldens.push(golden(
        "options-activity".into(),
        samples::activity_options(),
    ));
    goldens.push(golden(
        "options-start-workflow".into(),
        samples::start_workflow_options(),
    ));
    goldens.push(golden("failure".into(), samples::failure()));
    goldens.push(golden("payloads".into(), samples::payloads()));
    goldens.extend(samples::storage_rows());
    goldens.push(golden(
        "execution-machine-quickstart".into(),
        samples::execution_machine(),
    ));
    goldens
}

fn golden_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn bless() -> bool {
    std::env::var_os("ENDURE_BLESS").is_some()
}

#[test]
fn samples_cover_every_event_and_command_type() {
    let event_types: Vec<EventType> = samples::events()
        .iter()
        .map(EventAttributes::event_type)
        .collect();
    assert_eq!(event_types, EventType::ALL);
    let command_types: Vec<CommandType> = samples::commands()
        .iter()
        .map(Command::command_type)
        .collect();
    assert_eq!(command_types, CommandType::ALL);
}

#[test]
fn samples_are_valid() {
    samples::activity_options().validate().unwrap();
    samples::start_workflow_options().validate().unwrap();
    samples::failure().validate().unwrap();
    for command in samples::commands() {
        command.validate().unwrap();
    }
}

#[test]
fn current_version_matches_golden_files() {
    let directory = golden_root().join(format!("v{FORMAT_VERSION}"));
    if bless() {
        fs::create_dir_all(&directory).unwrap();
    }
    let goldens = goldens();
    for golden in &goldens {
        let bin_path = directory.join(format!("{}.bin", golden.name));
        let json_path = directory.join(format!("{}.json", golden.name));
        if bless() {
            fs::write(&bin_path, &golden.bytes).unwrap();
            fs::write(&json_path, &golden.json).unwrap();
        }
        let Ok(bytes) = fs::read(&bin_path) else {
            panic!(
                "{} is missing; create it with ENDURE_BLESS=1 cargo test -p endure-core --test it golden",
                bin_path.display()
            );
        };
        assert!(
            bytes == golden.bytes,
            "the encoding of {} changed. Encoded data must stay readable: bump FORMAT_VERSION and keep \
             a decoder for version {FORMAT_VERSION} (docs/format.md) instead of changing a persisted type in place",
            golden.name
        );
        if let Err(error) = (golden.decodes_to_sample)(&bytes) {
            panic!("{}: {error}", bin_path.display());
        }
        let json = fs::read_to_string(&json_path).unwrap_or_default();
        assert!(
            json == golden.json,
            "the JSON form of {} changed ({})",
            golden.name,
            json_path.display()
        );
    }
    let expected: Vec<String> = goldens
        .iter()
        .flat_map(|g| [format!("{}.bin", g.name), format!("{}.json", g.name)])
        .collect();
    for entry in fs::read_dir(&directory).unwrap() {
        let file_name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            expected.contains(&file_name),
            "{file_name} in {} has no sample; remove it",
            directory.display()
        );
    }
}

/// Decodes a record of whatever kind its header names.
fn decode_any(bytes: &[u8]) -> Result<(), String> {
    let kind = bytes
        .get(1)
        .copied()
        .and_then(RecordKind::from_tag)
        .ok_or("unknown record kind")?;
    let result = match kind {
        RecordKind::HistoryEvent => codec::decode::<HistoryEvent>(bytes).map(drop),
        RecordKind::History => codec::decode::<History>(bytes).map(drop),
        RecordKind::Command => codec::decode::<Command>(bytes).map(drop),
        RecordKind::ActivityOptions => codec::decode::<ActivityOptions>(bytes).map(drop),
        RecordKind::StartWorkflowOptions => codec::decode::<StartWorkflowOptions>(bytes).map(drop),
        RecordKind::Failure => codec::decode::<Failure>(bytes).map(drop),
        RecordKind::Payloads => codec::decode::<Payloads>(bytes).map(drop),
        RecordKind::ExecutionRow => codec::decode::<storage::ExecutionRow>(bytes).map(drop),
        RecordKind::CurrentRun => codec::decode::<storage::CurrentRun>(bytes).map(drop),
        RecordKind::DispatchRow => codec::decode::<storage::DispatchRow>(bytes).map(drop),
        RecordKind::RequestRecord => codec::decode::<storage::RequestRecord>(bytes).map(drop),
        RecordKind::VisibilityRow => codec::decode::<storage::VisibilityRow>(bytes).map(drop),
        RecordKind::NamespaceRecord => codec::decode::<storage::NamespaceRecord>(bytes).map(drop),
        RecordKind::ExecutionMachine => {
            codec::decode::<execution::ExecutionMachine>(bytes).map(drop)
        }
        other => return Err(format!("no decoder for {other:?}")),
    };
    result.map_err(|error| error.to_string())
}

#[test]
fn every_version_ever_written_still_decodes() {
    let mut versions = 0;
    for version in fs::read_dir(golden_root()).unwrap() {
        let version = version.unwrap().path();
        versions += 1;
        let mut files = 0;
        for file in fs::read_dir(&version).unwrap() {
            let path = file.unwrap().path();
            if path.extension().is_some_and(|e| e == "bin") {
                files += 1;
                let bytes = fs::read(&path).unwrap();
                if let Err(error) = decode_any(&bytes) {
                    panic!("{} no longer decodes: {error}", path.display());
                }
            }
        }
        assert!(files > 0, "{} holds no golden files", version.display());
    }
    assert!(
        versions >= 1,
        "no golden versions found under {}",
        golden_root().display()
    );
}

/// The checks' view of a stored run ([`storage::StoredRun::decode`], which skips the key
/// and the state) reads every version's execution row as the full decode does.
#[test]
fn stored_run_view_reads_every_version_of_the_execution_row() {
    let mut versions = 0;
    for version in fs::read_dir(golden_root()).unwrap() {
        let path = version.unwrap().path().join("storage-execution-row.bin");
        let bytes = fs::read(&path).unwrap();
        let row: storage::ExecutionRow = codec::decode(&bytes).unwrap();
        let view = storage::StoredRun::decode(&bytes)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        assert_eq!(view, storage::StoredRun::from(&row), "{}", path.display());
        // Rows of every version read as keeping no deadline and no history tail, and as
        // the same row under their key.
        let extras = storage::ExecutionRow::stored_extras(&bytes)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        assert_eq!(
            extras,
            storage::StoredExtras::default(),
            "{}",
            path.display()
        );
        let under_key = storage::ExecutionRow::decode_under_key(&bytes, row.key.clone());
        assert_eq!(under_key.as_ref(), Ok(&row), "{}", path.display());
        versions += 1;
    }
    assert!(versions >= 5, "the golden rows of versions 1–5 at least");
}

/// The view refuses what the full decode refuses: another record kind, and a row cut short.
#[test]
fn stored_run_view_refuses_what_is_not_an_execution_row() {
    let row = fs::read(golden_root().join("v5/storage-execution-row.bin")).unwrap();
    let other = fs::read(golden_root().join("v5/storage-current-run.bin")).unwrap();
    assert!(matches!(
        storage::StoredRun::decode(&other),
        Err(codec::DecodeError::WrongKind { .. })
    ));
    for cut in [1, 2, row.len() / 2, row.len() - 1] {
        assert!(
            storage::StoredRun::decode(&row[..cut]).is_err(),
            "a row cut at {cut} of {} bytes",
            row.len()
        );
    }
}
