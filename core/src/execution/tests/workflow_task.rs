//! Workflow task transitions: start, completion, buffering, failures, timeouts, transient
//! and sticky tasks.

use std::time::Duration;

use super::harness::*;
use crate::enums::{TaskQueueKind, WorkflowTaskFailedCause};
use crate::execution::*;
use crate::history::EventType;
use crate::history::samples::quickstart_history;
use crate::ids::{EventId, TaskQueueName};
use crate::retry::RetryPolicy;

#[test]
fn start_writes_started_and_schedules_the_first_task() {
    let (run, effects) = Run::start(options());
    check(
        &effects.events,
        "1 WorkflowExecutionStarted\n2 WorkflowTaskScheduled",
    );
    assert_eq!(effects.tasks.len(), 1);
    assert!(matches!(
        &effects.tasks[0],
        Task::WorkflowTask { attempt: 1, .. }
    ));
    assert_eq!(
        run.machine.next_deadline(),
        None,
        "a normal-queue task waits without a deadline"
    );
}

#[test]
fn quickstart_writes_the_history_temporal_writes() {
    let (mut run, _) = Run::start(options());
    let mut attributes = schedule_activity("1", Duration::from_secs(10));
    attributes.retry_policy = Some(RetryPolicy::with_maximum_attempts(3));
    run.run_task(vec![activity_command(attributes)]);
    let token = run.start_activity(5);
    run.apply(Input::ActivityTaskCompleted {
        token,
        result: Some(json("sent")),
        identity: "w".into(),
    });
    run.run_task(vec![start_timer("1", Duration::from_secs(5))]);
    run.advance(Duration::from_secs(5));
    run.fire();
    run.run_task(vec![complete("workflow_completed_sent")]);
    check(
        &run.history,
        "1 WorkflowExecutionStarted
         2 WorkflowTaskScheduled
         3 WorkflowTaskStarted scheduled=2
         4 WorkflowTaskCompleted scheduled=2 started=3
         5 ActivityTaskScheduled wtc=4
         6 ActivityTaskStarted scheduled=5 attempt=1
         7 ActivityTaskCompleted scheduled=5 started=6
         8 WorkflowTaskScheduled
         9 WorkflowTaskStarted scheduled=8
         10 WorkflowTaskCompleted scheduled=8 started=9
         11 TimerStarted wtc=10
         12 TimerFired started=11
         13 WorkflowTaskScheduled
         14 WorkflowTaskStarted scheduled=13
         15 WorkflowTaskCompleted scheduled=13 started=14
         16 WorkflowExecutionCompleted wtc=15",
    );
    let expected: Vec<EventType> = quickstart_history()
        .events
        .iter()
        .map(|e| e.event_type())
        .collect();
    let actual: Vec<EventType> = run.history.iter().map(|e| e.event_type()).collect();
    assert_eq!(actual, expected);
    assert_eq!(run.machine.next_deadline(), None);
}

#[test]
fn signal_during_an_in_flight_task_is_buffered_and_flushed_after_the_commands() {
    let (mut run, _) = Run::start(options());
    let token = run.start_task();
    let buffered = run.signal("approve", None).unwrap();
    assert!(buffered.events.is_empty(), "buffered, not written");
    assert_eq!(run.machine.buffered_event_count(), 1);
    let input = run.completion(token, vec![start_timer("1", Duration::from_secs(60))]);
    let effects = run.apply(input);
    check(
        &effects.events,
        "4 WorkflowTaskCompleted scheduled=2 started=3
         5 TimerStarted wtc=4
         6 WorkflowExecutionSignaled approve
         7 WorkflowTaskScheduled",
    );
}

#[test]
fn closing_with_buffered_events_fails_with_unhandled_command_and_refuses_signals_on_retry() {
    let (mut run, _) = Run::start(options());
    let token = run.start_task();
    run.signal("first", None).unwrap();
    let input = run.completion(token, vec![complete("done")]);
    let effects = run.apply(input);
    assert!(matches!(
        effects.reply,
        Reply::WorkflowTaskCommandsRefused {
            cause: WorkflowTaskFailedCause::UnhandledCommand,
            ..
        }
    ));
    check(
        &effects.events,
        "4 WorkflowTaskFailed scheduled=2 started=3 UnhandledCommand
         5 WorkflowExecutionSignaled first
         6 WorkflowTaskScheduled",
    );
    let token = run.start_task();
    assert_eq!(
        run.signal("second", None).unwrap_err(),
        Rejected::WorkflowClosing
    );
    let input = run.completion(token, vec![complete("done")]);
    let effects = run.apply(input);
    check(
        &effects.events,
        "8 WorkflowTaskCompleted scheduled=6 started=7
         9 WorkflowExecutionCompleted wtc=8",
    );
    assert_eq!(
        run.signal("late", None).unwrap_err(),
        Rejected::WorkflowClosed
    );
}

#[test]
fn completion_after_the_task_timed_out_is_refused() {
    let (mut run, _) = Run::start(options());
    let token = run.start_task();
    assert_eq!(
        run.machine.next_deadline(),
        Some(T0.saturating_add(Duration::from_secs(10)))
    );
    let effects = run.fire_next_deadline();
    check(
        &effects.events,
        "4 WorkflowTaskTimedOut scheduled=2 started=3 StartToClose",
    );
    assert!(
        matches!(&effects.tasks[..], [Task::WorkflowTask { attempt: 2, .. }]),
        "{:?}",
        effects.tasks
    );
    let input = run.completion(token, vec![complete("late")]);
    assert!(matches!(run.try_apply(input), Err(Rejected::NotFound(_))));
}

#[test]
fn transient_tasks_write_nothing_until_they_complete() {
    let (mut run, _) = Run::start(options());
    let token = run.start_task();
    let effects = run.apply(Input::WorkflowTaskFailed {
        token,
        cause: WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure,
        failure: Some(crate::Failure::application("panic", "Panic")),
        identity: "worker".into(),
    });
    check(
        &effects.events,
        "4 WorkflowTaskFailed scheduled=2 started=3 WorkflowWorkerUnhandledFailure",
    );
    assert_eq!(
        run.machine.workflow_task().unwrap().kind,
        WorkflowTaskKind::Transient
    );
    // Attempt 2 starts and fails again: nothing is written.
    let token = run.start_task();
    assert_eq!(token.attempt, 2);
    let effects = run.apply(Input::WorkflowTaskFailed {
        token,
        cause: WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure,
        failure: None,
        identity: "worker".into(),
    });
    assert!(effects.events.is_empty());
    // Attempt 3 starts: the worker gets the synthetic events; completing writes them.
    let scheduled_event_id = run.machine.workflow_task().unwrap().scheduled_event_id;
    let effects = run.apply(Input::WorkflowTaskStarted {
        scheduled_event_id,
        request_id: "poll-x".into(),
        identity: "worker".into(),
    });
    let Reply::WorkflowTaskStarted(reply) = effects.reply else {
        panic!("not started")
    };
    assert!(effects.events.is_empty());
    check(
        &reply.transient_events,
        "5 WorkflowTaskScheduled attempt=3\n6 WorkflowTaskStarted scheduled=5",
    );
    let input = run.completion(reply.token, vec![complete("done")]);
    let effects = run.apply(input);
    check(
        &effects.events,
        "5 WorkflowTaskScheduled attempt=3
         6 WorkflowTaskStarted scheduled=5
         7 WorkflowTaskCompleted scheduled=5 started=6
         8 WorkflowExecutionCompleted wtc=7",
    );
}

#[test]
fn an_event_arriving_for_a_scheduled_transient_task_makes_it_normal() {
    let (mut run, _) = Run::start(options());
    let token = run.start_task();
    run.apply(Input::WorkflowTaskFailed {
        token,
        cause: WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure,
        failure: None,
        identity: "worker".into(),
    });
    let effects = run.signal("wake", None).unwrap();
    check(
        &effects.events,
        "5 WorkflowExecutionSignaled wake\n6 WorkflowTaskScheduled attempt=2",
    );
    assert_eq!(
        run.machine.workflow_task().unwrap().kind,
        WorkflowTaskKind::Normal
    );
    let token = run.start_task();
    assert_eq!(token.scheduled_event_id.get(), 6);
}

#[test]
fn sticky_task_falls_back_to_the_normal_queue_without_counting_an_attempt() {
    let (mut run, _) = Run::start(options());
    complete_sticky(&mut run);
    let effects = run.signal("go", None).unwrap();
    check(
        &effects.events,
        "5 WorkflowExecutionSignaled go\n6 WorkflowTaskScheduled sticky",
    );
    let effects = run.fire_next_deadline();
    check(
        &effects.events,
        "7 WorkflowTaskTimedOut scheduled=6 ScheduleToStart\n8 WorkflowTaskScheduled",
    );
    assert_eq!(run.machine.workflow_task().unwrap().attempt, 1);
}

/// Completes the pending task asking for stickiness to `worker-1-sticky`.
fn complete_sticky(run: &mut Run) {
    let token = run.start_task();
    let next_run_id = run.next_run_id();
    run.apply(Input::WorkflowTaskCompleted(Box::new(
        WorkflowTaskCompletion {
            token,
            commands: vec![],
            identity: "worker".into(),
            sticky: Some(StickyAttributes {
                task_queue: TaskQueueName::new("worker-1-sticky").unwrap(),
                schedule_to_start_timeout: Duration::from_secs(5),
            }),
            force_create_workflow_task: false,
            sdk_metadata: Default::default(),
            next_run_id,
            messages: Vec::new(),
            deployment_version: None,
            versioning_behavior: Default::default(),
        },
    )));
}

fn started_reply(effects: Effects) -> WorkflowTaskStartedReply {
    match effects.reply {
        Reply::WorkflowTaskStarted(reply) => *reply,
        other => panic!("unexpected reply {other:?}"),
    }
}

#[test]
fn a_sticky_task_says_so_and_names_the_task_its_worker_completed_last() {
    let (mut run, _) = Run::start(options());
    complete_sticky(&mut run);
    run.signal("go", None).unwrap();
    let scheduled_event_id = run.machine.workflow_task().unwrap().scheduled_event_id;
    let reply = started_reply(run.apply(Input::WorkflowTaskStarted {
        scheduled_event_id,
        request_id: "poll-sticky".into(),
        identity: "worker".into(),
    }));
    assert!(reply.sticky);
    assert_eq!(reply.previous_started_event_id, EventId::new(3));
    assert_eq!(reply.workflow_type.as_str(), "OrderWorkflow");
}

#[test]
fn resetting_stickiness_sends_the_next_task_to_the_normal_queue() {
    let (mut run, _) = Run::start(options());
    complete_sticky(&mut run);
    let effects = run.apply(Input::ResetStickyTaskQueue);
    assert!(effects.events.is_empty() && effects.tasks.is_empty());
    run.signal("go", None).unwrap();
    let task = run.machine.workflow_task().unwrap();
    assert_eq!(task.task_queue.kind, TaskQueueKind::Normal);
    let scheduled_event_id = task.scheduled_event_id;
    let reply = started_reply(run.apply(Input::WorkflowTaskStarted {
        scheduled_event_id,
        request_id: "poll-normal".into(),
        identity: "worker".into(),
    }));
    assert!(!reply.sticky);
}

#[test]
fn starting_twice_with_the_same_request_is_idempotent() {
    let (mut run, _) = Run::start(options());
    let scheduled_event_id = run.machine.workflow_task().unwrap().scheduled_event_id;
    let start = |request_id: &str| Input::WorkflowTaskStarted {
        scheduled_event_id,
        request_id: request_id.into(),
        identity: "worker".into(),
    };
    let first = run.apply(start("poll-1"));
    let again = run.apply(start("poll-1"));
    assert!(again.events.is_empty());
    assert_eq!(first.reply, again.reply);
    assert!(matches!(
        run.try_apply(start("poll-2")),
        Err(Rejected::NotFound(_))
    ));
}

#[test]
fn commands_after_the_closing_command_are_refused() {
    let (mut run, _) = Run::start(options());
    let effects = run.run_task(vec![
        complete("done"),
        start_timer("1", Duration::from_secs(1)),
    ]);
    assert!(matches!(
        effects.reply,
        Reply::WorkflowTaskCommandsRefused {
            cause: WorkflowTaskFailedCause::BadStartTimerAttributes,
            ..
        }
    ));
    check(
        &effects.events,
        "4 WorkflowTaskFailed scheduled=2 started=3 BadStartTimerAttributes",
    );
    let retry = run.machine.workflow_task().unwrap();
    assert_eq!(
        (retry.kind, retry.attempt),
        (WorkflowTaskKind::Transient, 2),
        "the retry is transient"
    );
    assert!(!run.machine.status().is_closed());
}

#[test]
fn start_delay_holds_the_first_task_until_signal_with_start() {
    let delayed = crate::options::StartWorkflowOptions {
        start_delay: Some(Duration::from_secs(3600)),
        ..options()
    };
    let (mut run, effects) = Run::start(delayed);
    check(&effects.events, "1 WorkflowExecutionStarted");
    assert_eq!(
        run.machine.next_deadline(),
        Some(T0.saturating_add(Duration::from_secs(3600)))
    );
    let effects = run.signal("plain", None).unwrap();
    check(&effects.events, "2 WorkflowExecutionSignaled plain");
    assert!(
        run.machine.workflow_task().is_none(),
        "a plain signal does not end the delay"
    );
    let effects = run.apply(Input::SignalWithStart(signal("with-start", None)));
    check(
        &effects.events,
        "3 WorkflowExecutionSignaled with-start\n4 WorkflowTaskScheduled",
    );
}

#[test]
fn start_delay_ends_at_its_deadline() {
    let delayed = crate::options::StartWorkflowOptions {
        start_delay: Some(Duration::from_secs(60)),
        ..options()
    };
    let (mut run, _) = Run::start(delayed);
    run.advance(Duration::from_secs(59));
    assert!(run.fire().events.is_empty(), "nothing fires early");
    run.advance(Duration::from_secs(1));
    check(&run.fire().events, "2 WorkflowTaskScheduled");
}

/// Schedules a speculative task as the update path will, recording its effects.
fn schedule_speculative(run: &mut Run) -> Effects {
    let mut effects = Effects::default();
    assert!(
        run.machine
            .schedule_speculative_workflow_task(&mut effects, run.now)
    );
    run.history.extend(effects.events.iter().cloned());
    effects
}

/// A run whose first task completed with no commands (it waits for input).
fn idle_run() -> Run {
    let (mut run, _) = Run::start(options());
    run.run_task(vec![]);
    run
}

#[test]
fn a_speculative_task_that_records_nothing_leaves_no_trace() {
    let mut run = idle_run();
    let effects = schedule_speculative(&mut run);
    assert!(effects.events.is_empty());
    assert!(matches!(
        &effects.tasks[..],
        [Task::WorkflowTask {
            speculative: true,
            ..
        }]
    ));
    let token = run.start_task();
    let input = run.completion(token, vec![]);
    let effects = run.apply(input);
    assert!(effects.events.is_empty());
    assert_eq!(
        effects.reply,
        Reply::WorkflowTaskDiscarded {
            reset_history_event_id: EventId::new(3)
        }
    );
    assert!(run.machine.workflow_task().is_none());
    assert_eq!(run.machine.next_event_id(), EventId::new(5).unwrap());
}

#[test]
fn a_speculative_task_with_commands_is_written_in_full() {
    let mut run = idle_run();
    schedule_speculative(&mut run);
    let effects = run.run_task(vec![start_timer("1", Duration::from_secs(1))]);
    check(
        &effects.events,
        "5 WorkflowTaskScheduled
         6 WorkflowTaskStarted scheduled=5
         7 WorkflowTaskCompleted scheduled=5 started=6
         8 TimerStarted wtc=7",
    );
}

#[test]
fn a_speculative_task_becomes_normal_when_an_event_arrives_or_no_poller_takes_it() {
    let mut run = idle_run();
    schedule_speculative(&mut run);
    let effects = run.signal("s", None).unwrap();
    check(
        &effects.events,
        "5 WorkflowExecutionSignaled s\n6 WorkflowTaskScheduled",
    );
    assert!(matches!(
        &effects.tasks[..],
        [Task::WorkflowTask {
            speculative: false,
            ..
        }]
    ));

    let mut run = idle_run();
    schedule_speculative(&mut run);
    assert_eq!(
        run.machine.next_deadline(),
        Some(run.now.saturating_add(Duration::from_secs(5)))
    );
    let effects = run.fire_next_deadline();
    check(&effects.events, "5 WorkflowTaskScheduled");
}
