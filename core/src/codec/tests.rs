//! Round trips of every persisted type through its body encoding, JSON and (positional kinds)
//! the current snapshot's transcoder; tagged bodies growing without a bump; decoding of bad bytes.

use proptest::prelude::*;

use super::*;
use crate::enums::*;
use crate::history::EventType;

/// The snapshot of the current format version (`schemas/v<FORMAT_VERSION>.json`).
fn current_snapshot() -> &'static schema::Registry {
    static SNAPSHOT: std::sync::OnceLock<schema::Registry> = std::sync::OnceLock::new();
    SNAPSHOT.get_or_init(|| {
        serde_json::from_str(include_str!("schemas/v5.json")).expect("the snapshot parses")
    })
}

fn round_trip<T: Record + PartialEq + std::fmt::Debug>(value: &T) -> Result<(), TestCaseError> {
    let bytes = encode(value).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(bytes[0], FORMAT_VERSION);
    prop_assert_eq!(bytes[1], T::KIND as u8);
    let decoded: T = decode(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&decoded, value);
    // The tagged encoding carries it too (a run's state holds events, commands, failures
    // and payloads).
    let tagged = super::tagged::to_extend(value, Vec::new())
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let from_tagged: T =
        decode_tagged::<T, T>(&tagged).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&from_tagged, value);
    // A positional body read through the current version's snapshot and the transcoder
    // (the path every older body takes) is the same value.
    if T::BODY == BodyEncoding::Positional {
        let tagged = transcode::transcode(
            current_snapshot(),
            &schema::root(T::KIND),
            &bytes[HEADER_BYTES..],
        )
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let via_snapshot: T =
            decode_tagged::<T, T>(&tagged).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&via_snapshot, value);
    }
    // Every strict prefix is refused, never accepted or panicking.
    for len in [0, 1, 2, bytes.len() / 2, bytes.len() - 1] {
        if len < bytes.len() {
            prop_assert!(
                decode::<T>(&bytes[..len]).is_err(),
                "prefix of {} bytes decoded",
                len
            );
        }
    }
    // The JSON form (the history export format) round-trips too.
    let json = serde_json::to_string(value).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let from_json: T =
        serde_json::from_str(&json).map_err(|e| TestCaseError::fail(format!("{e}: {json}")))?;
    prop_assert_eq!(&from_json, value);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn history_events_round_trip(event in any::<crate::HistoryEvent>()) {
        round_trip(&event)?;
    }

    #[test]
    fn commands_round_trip(command in any::<crate::Command>()) {
        round_trip(&command)?;
    }

    #[test]
    fn activity_options_round_trip(options in any::<crate::ActivityOptions>()) {
        round_trip(&options)?;
    }

    #[test]
    fn start_workflow_options_round_trip(options in any::<crate::StartWorkflowOptions>()) {
        round_trip(&options)?;
    }

    #[test]
    fn failures_round_trip(failure in any::<crate::Failure>()) {
        round_trip(&failure)?;
    }

    #[test]
    fn payloads_round_trip(payloads in any::<crate::Payloads>()) {
        round_trip(&payloads)?;
    }

    #[test]
    fn histories_round_trip(events in proptest::collection::vec(any::<crate::HistoryEvent>(), 0..6)) {
        round_trip(&crate::History { events })?;
    }

    #[test]
    fn small_enums_round_trip(
        a in any::<TimeoutType>(), b in any::<RetryState>(), c in any::<WorkflowTaskFailedCause>(),
        d in any::<WorkflowExecutionStatus>(), e in any::<EventType>(), f in any::<crate::CommandType>(),
    ) {
        let value = (a, b, c, d, e, f);
        let bytes = postcard::to_allocvec(&value).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(postcard::from_bytes::<(TimeoutType, RetryState, WorkflowTaskFailedCause, WorkflowExecutionStatus, EventType, crate::CommandType)>(&bytes).ok(), Some(value));
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        crate::fuzzing::decode_records(&bytes);
    }

    #[test]
    fn random_bodies_with_valid_header_never_panic(
        version in prop_oneof![Just(FORMAT_VERSION), 1u8..FORMAT_VERSION],
        kind in 1u8..=14,
        body in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let mut bytes = vec![version, kind];
        bytes.extend(body);
        crate::fuzzing::decode_records(&bytes);
    }
}

#[test]
fn header_errors() {
    let payloads = crate::Payloads::empty();
    let good = encode(&payloads).unwrap();
    assert_eq!(
        decode::<crate::Payloads>(&[]),
        Err(DecodeError::Truncated { len: 0 })
    );
    assert_eq!(
        decode::<crate::Payloads>(&[1]),
        Err(DecodeError::Truncated { len: 1 })
    );
    let mut future = good.clone();
    future[0] = 200;
    assert_eq!(
        decode::<crate::Payloads>(&future),
        Err(DecodeError::UnknownVersion { found: 200 })
    );
    assert_eq!(
        decode::<crate::Failure>(&good),
        Err(DecodeError::WrongKind {
            expected: RecordKind::Failure,
            found: RecordKind::Payloads as u8
        })
    );
    let mut trailing = good.clone();
    trailing.push(0);
    assert_eq!(
        decode::<crate::Payloads>(&trailing),
        Err(DecodeError::TrailingBytes {
            kind: RecordKind::Payloads,
            count: 1
        })
    );
    let message = DecodeError::UnknownVersion { found: 200 }.to_string();
    assert!(message.contains("newer Endure"), "{message}");
}

#[test]
fn record_kind_tags_are_fixed() {
    let kinds = [
        (RecordKind::HistoryEvent, 1),
        (RecordKind::History, 2),
        (RecordKind::Command, 3),
        (RecordKind::ActivityOptions, 4),
        (RecordKind::StartWorkflowOptions, 5),
        (RecordKind::Failure, 6),
        (RecordKind::Payloads, 7),
        (RecordKind::ExecutionRow, 8),
        (RecordKind::CurrentRun, 9),
        (RecordKind::DispatchRow, 10),
        (RecordKind::RequestRecord, 11),
        (RecordKind::VisibilityRow, 12),
        (RecordKind::ExecutionMachine, 13),
        (RecordKind::NamespaceRecord, 14),
    ];
    for (kind, tag) in kinds {
        assert_eq!(kind as u8, tag);
        assert_eq!(RecordKind::from_tag(tag), Some(kind));
    }
    assert_eq!(RecordKind::from_tag(0), None);
    assert_eq!(RecordKind::from_tag(15), None);
}

#[test]
fn encoding_an_over_deep_failure_is_an_error() {
    let deep = (0..100).fold(crate::Failure::terminated("root"), |cause, _| {
        crate::Failure::terminated("outer").caused_by(cause)
    });
    // Validation refuses such a failure with its depth before it gets here
    // (`Failure::validate`); the codec still refuses rather than writing what it cannot read.
    let error = encode(&deep).unwrap_err();
    assert_eq!(error.kind, RecordKind::Failure);
    assert!(matches!(
        deep.validate(),
        Err(crate::ValidationError::FailureTooDeep { depth: 101, .. })
    ));
}

#[test]
fn event_type_numbers_are_temporals() {
    let expected = [
        (EventType::WorkflowExecutionStarted, 1),
        (EventType::WorkflowTaskScheduled, 5),
        (EventType::ActivityTaskScheduled, 10),
        (EventType::TimerStarted, 17),
        (EventType::MarkerRecorded, 25),
        (EventType::WorkflowExecutionSignaled, 26),
        (EventType::WorkflowExecutionContinuedAsNew, 28),
        (EventType::ChildWorkflowExecutionTerminated, 36),
        (EventType::UpsertWorkflowSearchAttributes, 40),
        (EventType::WorkflowExecutionUpdateAccepted, 41),
        (EventType::WorkflowExecutionUpdateCompleted, 43),
        (EventType::WorkflowPropertiesModified, 46),
        (EventType::WorkflowExecutionUpdateAdmitted, 47),
        (EventType::WorkflowExecutionOptionsUpdated, 55),
    ];
    for (event_type, number) in expected {
        assert_eq!(event_type.number(), number, "{event_type}");
    }
    // 1–41, 43, 46, 47 and 55: Temporal's single-cluster events without Nexus and the
    // reserved or never-written ones (42 UpdateRejected, 44, 45).
    assert_eq!(EventType::ALL.len(), 45);
}

/// A row type as one build wrote it, and as a later build with one more field reads it.
#[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
struct RowBefore {
    name: String,
    count: u64,
}

#[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
struct RowAfter {
    name: String,
    count: u64,
    #[serde(default)]
    labels: Vec<String>,
    added_later: Option<u32>,
}

impl Record for RowBefore {
    const KIND: RecordKind = RecordKind::CurrentRun;
    const BODY: BodyEncoding = BodyEncoding::Tagged;
}

impl Record for RowAfter {
    const KIND: RecordKind = RecordKind::CurrentRun;
    const BODY: BodyEncoding = BodyEncoding::Tagged;
}

#[test]
fn a_tagged_body_grows_without_a_version_bump() {
    let before = RowBefore {
        name: "a".into(),
        count: 3,
    };
    let bytes = encode(&before).unwrap();
    // A field added with a default decodes as the default from an older body ...
    assert_eq!(
        decode::<RowAfter>(&bytes).unwrap(),
        RowAfter {
            name: "a".into(),
            count: 3,
            labels: Vec::new(),
            added_later: None,
        }
    );
    // ... and an older build reads a newer body, skipping what it does not know.
    let after = RowAfter {
        name: "b".into(),
        count: 4,
        labels: vec!["x".into()],
        added_later: Some(7),
    };
    assert_eq!(
        decode::<RowBefore>(&encode(&after).unwrap()).unwrap(),
        RowBefore {
            name: "b".into(),
            count: 4
        }
    );
}

#[test]
fn tagged_bodies_nested_too_deep_are_refused_not_a_stack_overflow() {
    // 100,000 nested one-element arrays, where a string is expected: skipping or reading
    // them stops at the nesting limit.
    let mut bytes = vec![FORMAT_VERSION, RecordKind::CurrentRun as u8];
    bytes.extend(std::iter::repeat_n(0x91, 100_000));
    bytes.push(0xc0);
    assert!(decode::<RowBefore>(&bytes).is_err());
    let mut map = vec![
        FORMAT_VERSION,
        RecordKind::CurrentRun as u8,
        0x81,
        0xa1,
        b'z',
    ];
    map.extend(std::iter::repeat_n(0x91, 100_000));
    map.push(0xc0);
    assert!(decode::<RowBefore>(&map).is_err());
}

#[test]
fn the_machine_of_every_golden_version_reads_the_same_through_the_snapshot() {
    // The machine's version-3 golden body and its version-4 one are the same run.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let v3 = std::fs::read(root.join("v3/execution-machine-quickstart.bin")).unwrap();
    let v4 = std::fs::read(root.join("v4/execution-machine-quickstart.bin")).unwrap();
    let from_v3: crate::execution::ExecutionMachine = decode(&v3).unwrap();
    let from_v4: crate::execution::ExecutionMachine = decode(&v4).unwrap();
    assert_eq!(from_v3, from_v4);
}
