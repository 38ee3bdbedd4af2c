//! Round trips of every persisted type through postcard and JSON, and decoding of bad bytes.

use proptest::prelude::*;

use super::*;
use crate::enums::*;
use crate::history::EventType;

fn round_trip<T: Record + PartialEq + std::fmt::Debug>(value: &T) -> Result<(), TestCaseError> {
    let bytes = encode(value).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(bytes[0], FORMAT_VERSION);
    prop_assert_eq!(bytes[1], T::KIND as u8);
    let decoded: T = decode(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&decoded, value);
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
    fn random_bodies_with_valid_header_never_panic(kind in 1u8..14, body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut bytes = vec![FORMAT_VERSION, kind];
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
    ];
    for (event_type, number) in expected {
        assert_eq!(event_type.number(), number, "{event_type}");
    }
    // 1–41 and 43, 46, 47: Temporal's single-cluster events without Nexus and the
    // reserved or never-written ones (42 UpdateRejected, 44, 45).
    assert_eq!(EventType::ALL.len(), 44);
}
