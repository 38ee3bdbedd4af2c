//! Timers, markers, signals, cancel requests and terminate.

use std::time::Duration;

use super::harness::*;
use crate::command::{CancelTimerCommandAttributes, Command, RecordMarkerCommandAttributes};
use crate::enums::WorkflowTaskFailedCause;
use crate::execution::*;
use crate::ids::{MarkerName, TimerId};
use crate::limits::SIGNALS_PER_EXECUTION_MAX;
use crate::payload::Header;
use crate::time::Timestamp;

fn cancel_timer(id: &str) -> Command {
    Command::CancelTimer(CancelTimerCommandAttributes {
        timer_id: TimerId::new(id).unwrap(),
    })
}

#[test]
fn timers_fire_at_their_time_never_before() {
    let (mut run, _) = Run::start(options());
    run.run_task(vec![
        start_timer("a", Duration::from_secs(30)),
        start_timer("b", Duration::from_secs(10)),
    ]);
    assert_eq!(
        run.machine.next_deadline(),
        Some(T0.saturating_add(Duration::from_secs(10)))
    );
    run.advance(Duration::from_millis(9_999));
    assert!(run.fire().events.is_empty());
    run.advance(Duration::from_millis(1));
    check(
        &run.fire().events,
        "7 TimerFired started=6\n8 WorkflowTaskScheduled",
    );
    run.advance(Duration::from_secs(60));
    check(&run.fire().events, "9 TimerFired started=5");
}

#[test]
fn cancelling_a_timer_whose_fire_is_buffered_drops_the_fire() {
    let (mut run, _) = Run::start(options());
    run.run_task(vec![start_timer("t", Duration::from_secs(5))]);
    run.signal("wake", None).unwrap();
    let token = run.start_task();
    run.advance(Duration::from_secs(5));
    assert!(run.fire().events.is_empty(), "the fire is buffered");
    let input = run.completion(token, vec![cancel_timer("t")]);
    let effects = run.apply(input);
    check(
        &effects.events,
        "9 WorkflowTaskCompleted scheduled=7 started=8
         10 TimerCanceled started=5 wtc=9",
    );
    assert!(
        run.machine.workflow_task().is_none(),
        "nothing new for the workflow to see"
    );
}

#[test]
fn timer_id_rules() {
    let (mut run, _) = Run::start(options());
    let effects = run.run_task(vec![
        start_timer("t", Duration::from_secs(1)),
        start_timer("t", Duration::from_secs(1)),
    ]);
    assert!(matches!(
        effects.reply,
        Reply::WorkflowTaskCommandsRefused {
            cause: WorkflowTaskFailedCause::StartTimerDuplicateId,
            ..
        }
    ));
    let effects = run.run_task(vec![cancel_timer("never-started")]);
    assert!(matches!(
        effects.reply,
        Reply::WorkflowTaskCommandsRefused {
            cause: WorkflowTaskFailedCause::BadCancelTimerAttributes,
            ..
        }
    ));
    // Start and cancel in one completion is fine.
    let effects = run.run_task(vec![
        start_timer("t", Duration::from_secs(1)),
        cancel_timer("t"),
    ]);
    assert!(
        matches!(effects.reply, Reply::Accepted),
        "{:?}",
        effects.reply
    );
    assert!(run.machine.timers().is_empty());
}

#[test]
fn markers_are_recorded() {
    let (mut run, _) = Run::start(options());
    let effects = run.run_task(vec![Command::RecordMarker(RecordMarkerCommandAttributes {
        marker_name: MarkerName::new("SideEffect").unwrap(),
        details: [("data".to_owned(), json("uuid-1"))].into(),
        header: Header::new(),
        failure: None,
    })]);
    check(
        &effects.events,
        "4 WorkflowTaskCompleted scheduled=2 started=3\n5 MarkerRecorded wtc=4",
    );
}

#[test]
fn signals_are_deduplicated_by_request_id_and_limited() {
    let (mut run, _) = Run::start(options());
    let effects = run.signal("pay", Some("req-1")).unwrap();
    check(&effects.events, "3 WorkflowExecutionSignaled pay");
    let again = run.signal("pay", Some("req-1")).unwrap();
    assert_eq!(again.reply, Reply::Duplicate);
    assert!(again.events.is_empty());
    for _ in 1..SIGNALS_PER_EXECUTION_MAX {
        run.signal("many", None).unwrap();
    }
    assert_eq!(
        run.signal("one-too-many", None).unwrap_err(),
        Rejected::SignalLimitExceeded(SIGNALS_PER_EXECUTION_MAX)
    );
}

#[test]
fn cancel_requests_are_written_once() {
    let (mut run, _) = Run::start(options());
    run.run_task(vec![]);
    let cancel = || Input::RequestCancel {
        reason: "user asked".into(),
        identity: "client".into(),
        request_id: None,
    };
    let effects = run.apply(cancel());
    check(
        &effects.events,
        "5 WorkflowExecutionCancelRequested\n6 WorkflowTaskScheduled",
    );
    assert!(run.machine.cancel_requested());
    assert_eq!(run.apply(cancel()).reply, Reply::Duplicate);
}

#[test]
fn terminate_fails_the_running_task_and_flushes_buffered_events_first() {
    let (mut run, _) = Run::start(options());
    run.start_task();
    run.signal("late", None).unwrap();
    let effects = run.apply(Input::Terminate {
        reason: "operator".into(),
        details: None,
        identity: "cli".into(),
    });
    check(
        &effects.events,
        "4 WorkflowTaskFailed scheduled=2 started=3 ForceCloseCommand
         5 WorkflowExecutionSignaled late
         6 WorkflowExecutionTerminated",
    );
    assert_eq!(run.machine.next_deadline(), None);
    let again = run.try_apply(Input::Terminate {
        reason: "again".into(),
        details: None,
        identity: "cli".into(),
    });
    assert_eq!(again.unwrap_err(), Rejected::WorkflowClosed);
}

#[test]
fn signals_taken_during_a_task_are_listed_as_buffered_until_the_task_ends() {
    let (mut run, _) = Run::start(options());
    let token = run.start_task();
    assert_eq!(run.machine.buffered_signals().count(), 0);
    run.signal("first", None).unwrap();
    run.advance(Duration::from_secs(1));
    run.signal("second", None).unwrap();
    let buffered: Vec<(Timestamp, &str)> = run
        .machine
        .buffered_signals()
        .map(|(time, signal)| (time, signal.signal_name.as_str()))
        .collect();
    assert_eq!(
        buffered,
        [
            (T0, "first"),
            (T0.saturating_add(Duration::from_secs(1)), "second")
        ],
        "in arrival order, with their arrival times"
    );
    let completion = run.completion(token, vec![]);
    let effects = run.apply(completion);
    check(
        &effects.events,
        "4 WorkflowTaskCompleted scheduled=2 started=3
         5 WorkflowExecutionSignaled first
         6 WorkflowExecutionSignaled second
         7 WorkflowTaskScheduled",
    );
    assert_eq!(
        run.machine.buffered_signals().count(),
        0,
        "written, no longer buffered"
    );
}
