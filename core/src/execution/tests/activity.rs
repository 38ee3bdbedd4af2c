//! Activity transitions: retries, timeouts, heartbeats, cancellation, late completions.

use std::time::Duration;

use super::harness::*;
use crate::command::{Command, RequestCancelActivityTaskCommandAttributes};
use crate::enums::{RetryState, TimeoutType};
use crate::execution::*;
use crate::failure::{Failure, FailureInfo};
use crate::history::EventAttributes;
use crate::ids::EventId;
use crate::retry::RetryPolicy;

fn retry(maximum_attempts: u32) -> Option<RetryPolicy> {
    Some(RetryPolicy {
        maximum_attempts,
        ..RetryPolicy::default()
    })
}

/// A run whose first task scheduled one activity (event 5) with these attributes.
fn run_with_activity(attributes: crate::command::ScheduleActivityTaskCommandAttributes) -> Run {
    let (mut run, _) = Run::start(options());
    run.run_task(vec![activity_command(attributes)]);
    run
}

fn fail(run: &mut Run, token: ActivityTaskToken, failure: Failure) -> Effects {
    run.apply(Input::ActivityTaskFailed {
        token,
        failure,
        identity: "activity-worker".into(),
    })
}

#[test]
fn retries_write_nothing_until_the_final_attempt() {
    let mut run = run_with_activity(schedule_activity("1", Duration::from_secs(10)));
    let token = run.start_activity(5);
    let effects = fail(
        &mut run,
        token,
        Failure::application("smtp down", "SmtpError"),
    );
    assert!(effects.events.is_empty(), "a retry writes no event");
    assert_eq!(
        run.machine.next_deadline(),
        Some(run.now.saturating_add(Duration::from_secs(1)))
    );
    let effects = run.fire_next_deadline();
    assert!(effects.events.is_empty());
    assert!(matches!(
        &effects.tasks[..],
        [Task::ActivityTask { attempt: 2, .. }]
    ));
    // The first attempt's late completion is refused.
    let late = run.try_apply(Input::ActivityTaskCompleted {
        token,
        result: None,
        identity: "old".into(),
    });
    assert!(matches!(late, Err(Rejected::NotFound(_))));
    let token = run.start_activity(5);
    assert_eq!(token.attempt, 2);
    let effects = run.apply(Input::ActivityTaskCompleted {
        token,
        result: Some(json("sent")),
        identity: "w".into(),
    });
    check(
        &effects.events,
        "6 ActivityTaskStarted scheduled=5 attempt=2 last_failure
         7 ActivityTaskCompleted scheduled=5 started=6
         8 WorkflowTaskScheduled",
    );
}

#[test]
fn non_retryable_types_and_flags_fail_at_once() {
    let mut attributes = schedule_activity("1", Duration::from_secs(10));
    attributes.retry_policy = Some(RetryPolicy {
        non_retryable_error_types: vec!["InvalidOrderError".into()],
        ..RetryPolicy::default()
    });
    let mut run = run_with_activity(attributes);
    let token = run.start_activity(5);
    let effects = fail(
        &mut run,
        token,
        Failure::application("bad", "InvalidOrderError"),
    );
    check(
        &effects.events,
        "6 ActivityTaskStarted scheduled=5 attempt=1
         7 ActivityTaskFailed scheduled=5 started=6 NonRetryableFailure
         8 WorkflowTaskScheduled",
    );
    let mut run = run_with_activity(schedule_activity("1", Duration::from_secs(10)));
    let token = run.start_activity(5);
    let effects = fail(
        &mut run,
        token,
        Failure::application("bad", "Other").non_retryable(),
    );
    assert!(
        matches!(&effects.events[1].attributes, EventAttributes::ActivityTaskFailed(a) if a.retry_state == RetryState::NonRetryableFailure)
    );
}

#[test]
fn maximum_attempts_and_next_retry_delay() {
    let mut attributes = schedule_activity("1", Duration::from_secs(10));
    attributes.retry_policy = retry(2);
    let mut run = run_with_activity(attributes);
    let token = run.start_activity(5);
    let failed_at = run.now;
    fail(
        &mut run,
        token,
        Failure::application("x", "E").with_next_retry_delay(Duration::from_secs(30)),
    );
    assert_eq!(
        run.machine.next_deadline(),
        Some(failed_at.saturating_add(Duration::from_secs(30)))
    );
    run.fire_next_deadline();
    let token = run.start_activity(5);
    let effects = fail(&mut run, token, Failure::application("x", "E"));
    check(
        &effects.events,
        "6 ActivityTaskStarted scheduled=5 attempt=2 last_failure
         7 ActivityTaskFailed scheduled=5 started=6 MaximumAttemptsReached
         8 WorkflowTaskScheduled",
    );
}

#[test]
fn retries_stop_before_schedule_to_close() {
    let mut attributes = schedule_activity("1", Duration::from_secs(10));
    attributes.schedule_to_close_timeout = Some(Duration::from_secs(20));
    let mut run = run_with_activity(attributes);
    let token = run.start_activity(5);
    run.advance(Duration::from_secs(15));
    // The next attempt would start at 16 s with a 1 s backoff: inside 20 s, so it retries.
    fail(&mut run, token, Failure::application("x", "E"));
    run.fire_next_deadline();
    let token = run.start_activity(5);
    run.advance(Duration::from_secs(3));
    // At 19 s a 2 s backoff would pass 20 s: retrying stops, reported as a timeout.
    let effects = fail(&mut run, token, Failure::application("x", "E"));
    check(
        &effects.events,
        "6 ActivityTaskStarted scheduled=5 attempt=2 last_failure
         7 ActivityTaskFailed scheduled=5 started=6 Timeout
         8 WorkflowTaskScheduled",
    );
}

#[test]
fn start_to_close_timeout_retries_then_times_out() {
    let mut attributes = schedule_activity("1", Duration::from_secs(10));
    attributes.retry_policy = retry(2);
    let mut run = run_with_activity(attributes);
    let token = run.start_activity(5);
    let effects = run.fire_next_deadline();
    assert!(effects.events.is_empty(), "the first timeout is retried");
    run.fire_next_deadline();
    run.start_activity(5);
    let effects = run.fire_next_deadline();
    check(
        &effects.events,
        "6 ActivityTaskStarted scheduled=5 attempt=2 last_failure
         7 ActivityTaskTimedOut scheduled=5 started=6 StartToClose MaximumAttemptsReached
         8 WorkflowTaskScheduled",
    );
    let late = run.try_apply(Input::ActivityTaskCompleted {
        token,
        result: None,
        identity: "w".into(),
    });
    assert!(
        matches!(late, Err(Rejected::NotFound(_))),
        "completion after the timeout is refused"
    );
}

#[test]
fn schedule_to_start_timeout_is_not_retried() {
    let mut attributes = schedule_activity("1", Duration::from_secs(10));
    attributes.schedule_to_start_timeout = Some(Duration::from_secs(5));
    let mut run = run_with_activity(attributes);
    let effects = run.fire_next_deadline();
    check(
        &effects.events,
        "6 ActivityTaskTimedOut scheduled=5 ScheduleToStart NonRetryableFailure
         7 WorkflowTaskScheduled",
    );
}

#[test]
fn heartbeats_carry_details_to_the_next_attempt_and_report_cancellation() {
    let mut attributes = schedule_activity("1", Duration::from_secs(60));
    attributes.heartbeat_timeout = Some(Duration::from_secs(5));
    let mut run = run_with_activity(attributes);
    let token = run.start_activity(5);
    run.advance(Duration::from_secs(4));
    let effects = run.apply(Input::ActivityTaskHeartbeat {
        token,
        details: Some(json("50%")),
    });
    assert_eq!(
        effects.reply,
        Reply::Heartbeat {
            cancel_requested: false
        }
    );
    assert_eq!(
        run.machine.next_deadline(),
        Some(run.now.saturating_add(Duration::from_secs(5)))
    );
    let effects = run.fire_next_deadline();
    assert!(effects.events.is_empty(), "a heartbeat timeout is retried");
    run.fire_next_deadline();
    let token = run.machine.activities()[&EventId::new(5).unwrap()].current_token();
    let started = run.apply(Input::ActivityTaskStarted {
        token,
        request_id: "p".into(),
        identity: "w".into(),
    });
    let Reply::ActivityTaskStarted(reply) = started.reply else {
        panic!("not started")
    };
    assert_eq!(reply.heartbeat_details, Some(json("50%")));
    // The workflow cancels the running activity; the next heartbeat says so.
    run.signal("cancel-it", None).unwrap();
    let effects = run.run_task(vec![Command::RequestCancelActivityTask(
        RequestCancelActivityTaskCommandAttributes {
            scheduled_event_id: EventId::new(5).unwrap(),
        },
    )]);
    check(
        &effects.events,
        "9 WorkflowTaskCompleted scheduled=7 started=8
         10 ActivityTaskCancelRequested scheduled=5 wtc=9",
    );
    let effects = run.apply(Input::ActivityTaskHeartbeat {
        token,
        details: None,
    });
    assert_eq!(
        effects.reply,
        Reply::Heartbeat {
            cancel_requested: true
        }
    );
    let effects = run.apply(Input::ActivityTaskCanceled {
        token,
        details: Some(json("cleaned")),
        identity: "w".into(),
    });
    check(
        &effects.events,
        "11 ActivityTaskStarted scheduled=5 attempt=2 last_failure
         12 ActivityTaskCanceled cancel_requested=10 scheduled=5 started=11
         13 WorkflowTaskScheduled",
    );
}

#[test]
fn cancelling_an_activity_that_has_not_started_cancels_it_at_once() {
    let mut run = run_with_activity(schedule_activity("1", Duration::from_secs(10)));
    run.signal("cancel-it", None).unwrap();
    let effects = run.run_task(vec![Command::RequestCancelActivityTask(
        RequestCancelActivityTaskCommandAttributes {
            scheduled_event_id: EventId::new(5).unwrap(),
        },
    )]);
    check(
        &effects.events,
        "9 WorkflowTaskCompleted scheduled=7 started=8
         10 ActivityTaskCancelRequested scheduled=5 wtc=9
         11 ActivityTaskCanceled cancel_requested=10 scheduled=5
         12 WorkflowTaskScheduled",
    );
    assert!(run.machine.activities().is_empty());
}

#[test]
fn activity_results_during_an_in_flight_task_are_buffered_with_linked_ids() {
    let mut run = run_with_activity(schedule_activity("1", Duration::from_secs(10)));
    let activity = run.start_activity(5);
    // A signal makes a workflow task; while it runs the activity completes.
    run.signal("s", None).unwrap();
    let token = run.start_task();
    let effects = run.apply(Input::ActivityTaskCompleted {
        token: activity,
        result: None,
        identity: "w".into(),
    });
    assert!(effects.events.is_empty());
    let input = run.completion(token, vec![]);
    let effects = run.apply(input);
    check(
        &effects.events,
        "9 WorkflowTaskCompleted scheduled=7 started=8
         10 ActivityTaskStarted scheduled=5 attempt=1
         11 ActivityTaskCompleted scheduled=5 started=10
         12 WorkflowTaskScheduled",
    );
}

#[test]
fn timeouts_are_normalised() {
    let mut attributes = schedule_activity("1", Duration::from_secs(30));
    attributes.start_to_close_timeout = None;
    attributes.schedule_to_close_timeout = Some(Duration::from_secs(20));
    attributes.heartbeat_timeout = Some(Duration::from_secs(90));
    let run = run_with_activity(attributes);
    let info = &run.machine.activities()[&EventId::new(5).unwrap()].scheduled;
    assert_eq!(
        info.schedule_to_close_timeout,
        Some(Duration::from_secs(20))
    );
    assert_eq!(
        info.schedule_to_start_timeout,
        Some(Duration::from_secs(20))
    );
    assert_eq!(info.start_to_close_timeout, Duration::from_secs(20));
    assert_eq!(
        info.heartbeat_timeout,
        Some(Duration::from_secs(20)),
        "capped by start-to-close"
    );
    let capped = crate::options::StartWorkflowOptions {
        run_timeout: Some(Duration::from_secs(5)),
        ..options()
    };
    let (mut run, _) = Run::start(capped);
    run.run_task(vec![activity_command(schedule_activity(
        "1",
        Duration::from_secs(30),
    ))]);
    let info = &run.machine.activities()[&EventId::new(5).unwrap()].scheduled;
    assert_eq!(
        info.start_to_close_timeout,
        Duration::from_secs(5),
        "capped by the run timeout"
    );
    assert_eq!(info.schedule_to_close_timeout, Some(Duration::from_secs(5)));
}

#[test]
fn duplicate_activity_ids_are_refused() {
    let (mut run, _) = Run::start(options());
    let effects = run.run_task(vec![
        activity_command(schedule_activity("same", Duration::from_secs(1))),
        activity_command(schedule_activity("same", Duration::from_secs(1))),
    ]);
    assert!(matches!(
        effects.reply,
        Reply::WorkflowTaskCommandsRefused {
            cause: crate::enums::WorkflowTaskFailedCause::ScheduleActivityDuplicateId,
            ..
        }
    ));
    assert!(
        run.machine.activities().is_empty(),
        "refused commands leave nothing behind"
    );
}

#[test]
fn schedule_to_close_during_backoff_times_out_with_the_last_failure() {
    let mut attributes = schedule_activity("1", Duration::from_secs(10));
    attributes.schedule_to_close_timeout = Some(Duration::from_secs(100));
    attributes.retry_policy = Some(RetryPolicy {
        initial_interval: Duration::from_secs(90),
        maximum_interval: Some(Duration::from_secs(200)),
        ..RetryPolicy::default()
    });
    let mut run = run_with_activity(attributes);
    let token = run.start_activity(5);
    run.advance(Duration::from_secs(1));
    // 1 s + 90 s backoff < 100 s: retried; the deadline is the end of the backoff.
    fail(&mut run, token, Failure::application("x", "E"));
    run.fire_next_deadline();
    let effects = run.fire_next_deadline();
    check(
        &effects.events,
        "6 ActivityTaskTimedOut scheduled=5 ScheduleToClose Timeout
         7 WorkflowTaskScheduled",
    );
    let EventAttributes::ActivityTaskTimedOut(timed_out) = &effects.events[0].attributes else {
        panic!()
    };
    assert!(matches!(
        timed_out.failure.info,
        FailureInfo::Timeout {
            timeout_type: TimeoutType::ScheduleToClose,
            ..
        }
    ));
    assert_eq!(
        timed_out.failure.cause.as_ref().map(|c| c.message.as_str()),
        Some("x")
    );
}

/// What describe shows of a pending activity follows it: scheduled, started by a worker,
/// failed and waiting out its backoff (attempt 2, the failure kept), started again.
#[test]
fn a_pending_activity_is_described_by_its_state_attempt_and_last_failure() {
    use crate::execution::PendingActivityState;
    let mut run = run_with_activity(schedule_activity("1", Duration::from_secs(10)));
    let [pending] = &run.machine.pending_activities()[..] else {
        panic!("one pending activity");
    };
    assert_eq!(pending.state, PendingActivityState::Scheduled);
    assert_eq!(
        (pending.attempt, pending.last_worker_identity.as_ref()),
        (1, None)
    );
    let token = run.start_activity(5);
    let [pending] = &run.machine.pending_activities()[..] else {
        panic!("one pending activity");
    };
    assert_eq!(pending.state, PendingActivityState::Started);
    assert!(pending.last_started_time.is_some());
    fail(
        &mut run,
        token,
        Failure::application("smtp down", "SmtpError"),
    );
    let [pending] = &run.machine.pending_activities()[..] else {
        panic!("one pending activity");
    };
    assert_eq!(pending.state, PendingActivityState::Scheduled);
    assert_eq!(pending.attempt, 2);
    assert_eq!(
        pending.last_failure.as_ref().map(|f| f.message.as_str()),
        Some("smtp down")
    );
    assert_eq!(
        pending.next_attempt_schedule_time,
        Some(run.now.saturating_add(Duration::from_secs(1)))
    );
    assert!(run.machine.pending_children().is_empty());
}
