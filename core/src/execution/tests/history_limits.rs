//! History and payload limits: a warning once a threshold is crossed, termination by the
//! engine once the history passes 51,200 events or 50 MiB, or when a command carries a
//! payload over 2 MiB.

use std::collections::BTreeMap;

use super::harness::*;
use crate::command::{Command, RecordMarkerCommandAttributes};
use crate::enums::WorkflowExecutionStatus;
use crate::execution::*;
use crate::history::EventAttributes;
use crate::ids::MarkerName;
use crate::limits::{HISTORY_BYTES_MAX, HISTORY_EVENTS_MAX, HISTORY_EVENTS_WARN};
use crate::payload::{Header, Payload, Payloads};

fn marker(bytes: usize) -> Command {
    let mut details = BTreeMap::new();
    if bytes > 0 {
        details.insert(
            "data".to_owned(),
            Payloads::one(Payload::binary(vec![7_u8; bytes])),
        );
    }
    Command::RecordMarker(RecordMarkerCommandAttributes {
        marker_name: MarkerName::new("Note").unwrap(),
        details,
        header: Header::new(),
        failure: None,
    })
}

fn assert_terminated_by_limit(run: &Run, effects: &Effects) {
    assert_eq!(run.machine.status(), WorkflowExecutionStatus::Terminated);
    let last = effects.events.last().unwrap();
    let EventAttributes::WorkflowExecutionTerminated(terminated) = &last.attributes else {
        panic!("the last event is {:?}", last.event_type())
    };
    assert_eq!(terminated.reason, HISTORY_LIMIT_TERMINATE_REASON);
    assert_eq!(terminated.identity, ENGINE_IDENTITY);
}

#[test]
fn a_history_past_the_event_limit_is_terminated_after_one_warning() {
    let (mut run, _) = Run::start(options());
    // Up to the warning threshold: one warning, the run goes on.
    let effects = run.run_task(vec![marker(0); HISTORY_EVENTS_WARN as usize]);
    assert_eq!(
        effects.warnings,
        [HistoryWarning::Events(run.machine.history_length())]
    );
    assert_eq!(run.machine.status(), WorkflowExecutionStatus::Running);
    run.signal("more", None).unwrap();
    let effects = run.run_task(vec![marker(0); 100]);
    assert!(effects.warnings.is_empty(), "warned once");
    // Exactly at the limit the run lives; one event past it, it is terminated.
    let left = HISTORY_EVENTS_MAX - run.machine.history_length();
    run.signal("more", None).unwrap();
    // The signal wrote 2 events (Signaled, WorkflowTaskScheduled); the task writes 2 more.
    let effects = run.run_task(vec![marker(0); (left - 4) as usize]);
    assert_eq!(run.machine.history_length(), HISTORY_EVENTS_MAX);
    assert_eq!(run.machine.status(), WorkflowExecutionStatus::Running);
    assert!(effects.warnings.is_empty());
    // The next transition that writes anything passes the limit: a signal.
    let effects = run.signal("more", None).unwrap();
    assert_terminated_by_limit(&run, &effects);
    assert_eq!(run.machine.history_length(), HISTORY_EVENTS_MAX + 3);
    assert!(
        run.machine.next_deadline().is_none(),
        "nothing more happens"
    );
}

#[test]
fn a_history_past_the_size_limit_is_terminated() {
    let (mut run, _) = Run::start(options());
    let mebibyte = 1024 * 1024;
    let mut warnings = Vec::new();
    let mut tasks = 0;
    // Three 1 MiB markers per task (a completion may carry 4 MiB).
    while run.machine.status() == WorkflowExecutionStatus::Running {
        if tasks > 0 {
            run.signal("more", None).unwrap();
        }
        let effects = run.run_task(vec![marker(mebibyte); 3]);
        tasks += 1;
        warnings.extend(effects.warnings.iter().copied());
        if run.machine.history_size_bytes() > HISTORY_BYTES_MAX {
            assert_terminated_by_limit(&run, &effects);
        } else {
            assert_eq!(run.machine.status(), WorkflowExecutionStatus::Running);
        }
    }
    assert!(
        matches!(warnings.as_slice(), [HistoryWarning::Bytes(bytes)] if *bytes >= 10 * mebibyte as u64),
        "one warning, when 10 MiB was crossed: {warnings:?}"
    );
    assert_eq!(tasks, 17, "3 MiB a task passes 50 MiB on the seventeenth");
}

#[test]
fn a_command_with_a_payload_over_the_limit_terminates_the_run() {
    let (mut run, _) = Run::start(options());
    let mut attributes = schedule_activity("big", std::time::Duration::from_secs(10));
    attributes.input = Payloads::one(Payload::binary(vec![0_u8; 3 << 20]));
    let effects = run.run_task(vec![activity_command(attributes)]);
    check(
        &effects.events,
        "4 WorkflowTaskFailed scheduled=2 started=3 PayloadsTooLarge
         5 WorkflowExecutionTerminated",
    );
    assert!(matches!(
        effects.reply,
        Reply::WorkflowTaskCommandsRefused {
            cause: crate::enums::WorkflowTaskFailedCause::PayloadsTooLarge,
            ..
        }
    ));
    assert_eq!(run.machine.status(), WorkflowExecutionStatus::Terminated);
    let EventAttributes::WorkflowExecutionTerminated(terminated) = &effects.events[1].attributes
    else {
        unreachable!()
    };
    assert!(terminated.reason.contains("input"), "{}", terminated.reason);
    assert_eq!(terminated.identity, ENGINE_IDENTITY);
}

#[test]
fn a_completion_over_the_message_limit_terminates_the_run() {
    let (mut run, _) = Run::start(options());
    // Three activities under the 2 MiB payload limit each, 4.5 MiB together.
    let commands: Vec<Command> = (0..3)
        .map(|index| {
            let mut attributes =
                schedule_activity(&format!("part-{index}"), std::time::Duration::from_secs(10));
            attributes.input = Payloads::one(Payload::binary(vec![0_u8; 3 << 19]));
            activity_command(attributes)
        })
        .collect();
    let effects = run.run_task(commands);
    check(
        &effects.events,
        "4 WorkflowTaskFailed scheduled=2 started=3 PayloadsTooLarge
         5 WorkflowExecutionTerminated",
    );
    let EventAttributes::WorkflowExecutionTerminated(terminated) = &effects.events[1].attributes
    else {
        unreachable!()
    };
    assert!(
        terminated.reason.contains("completion"),
        "{}",
        terminated.reason
    );
}
