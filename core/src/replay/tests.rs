//! Replay machine checks on canned histories: activations cut per logical task, commands
//! matched to events, nondeterminism reported with both sides.

use std::time::Duration;

use super::*;
use crate::history::samples::{SAMPLE_RUN_ID, SAMPLE_START, quickstart_history};
use crate::history::{
    HistoryBuilder, TimerFiredEventAttributes, TimerStartedEventAttributes,
    WorkflowExecutionSignaledEventAttributes, WorkflowTaskFailedEventAttributes,
};
use crate::ids::{ActivityType, SignalName, TaskQueueName, WorkflowType};
use crate::payload::{Header, Payload, Payloads};
use crate::retry::RetryPolicy;

fn json(value: &str) -> Payloads {
    Payloads::one(Payload::json(value).unwrap())
}

fn send_email() -> WorkflowCommand {
    WorkflowCommand::ScheduleActivity {
        seq: 1,
        attributes: Box::new(ScheduleActivityTaskCommandAttributes {
            activity_id: ActivityId::new("1").unwrap(),
            activity_type: ActivityType::new("SendEmail").unwrap(),
            task_queue: None,
            header: Header::new(),
            input: json("user_123"),
            schedule_to_close_timeout: None,
            schedule_to_start_timeout: None,
            start_to_close_timeout: Some(Duration::from_secs(10)),
            heartbeat_timeout: None,
            retry_policy: Some(RetryPolicy::with_maximum_attempts(3)),
            request_eager_execution: false,
        }),
    }
}

fn sleep(seq: u32) -> WorkflowCommand {
    WorkflowCommand::StartTimer {
        seq,
        duration: Duration::from_secs(5),
    }
}

fn complete(result: &str) -> WorkflowCommand {
    WorkflowCommand::Complete(CompleteWorkflowExecutionCommandAttributes {
        result: Some(json(result)),
    })
}

/// A short rendering of jobs for data-driven expectations.
fn jobs(activation: &Activation) -> Vec<String> {
    activation
        .jobs
        .iter()
        .map(|job| match job {
            Job::InitializeWorkflow { start, .. } => format!("init {}", start.workflow_type),
            Job::UpdateRandomSeed { .. } => "reseed".into(),
            Job::Signal { signal_name, .. } => format!("signal {signal_name}"),
            Job::CancelWorkflow { .. } => "cancel".into(),
            Job::FireTimer { seq } => format!("fire timer {seq}"),
            Job::ResolveActivity { seq, resolution } => match resolution {
                ActivityResolution::Completed(_) => format!("activity {seq} completed"),
                ActivityResolution::Failed(_) => format!("activity {seq} failed"),
                ActivityResolution::Canceled(_) => format!("activity {seq} canceled"),
            },
            Job::ResolveSignalExternalWorkflow { seq, .. } => format!("signal sent {seq}"),
            Job::ResolveRequestCancelExternalWorkflow { seq, .. } => format!("cancel sent {seq}"),
            Job::ResolveChildWorkflowStart { seq, outcome } => match outcome {
                Ok(_) => format!("child {seq} started"),
                Err(_) => format!("child {seq} failed to start"),
            },
            Job::ResolveChildWorkflow { seq, resolution } => match resolution {
                crate::replay::ChildResolution::Completed(_) => format!("child {seq} completed"),
                crate::replay::ChildResolution::Failed(_) => format!("child {seq} failed"),
            },
            Job::DoUpdate {
                update_id,
                run_validator,
                ..
            } => format!(
                "update {update_id}{}",
                if *run_validator { " (validate)" } else { "" }
            ),
        })
        .collect()
}

fn replayed(events: &[HistoryEvent]) -> ReplayMachine {
    let mut machine = ReplayMachine::new();
    machine.feed(events.iter().cloned()).unwrap();
    machine
}

#[test]
fn quickstart_replays_task_by_task() {
    let mut machine = replayed(&quickstart_history().events);
    let first = machine.next_activation().unwrap().unwrap();
    assert!(first.is_replaying);
    assert_eq!(jobs(&first), ["init OrderWorkflow"]);
    assert_eq!(
        first.timestamp, machine.history[2].event_time,
        "now is the task's Started time"
    );
    assert_eq!(
        machine.complete(vec![send_email()]).unwrap(),
        vec![],
        "replay sends nothing"
    );
    let second = machine.next_activation().unwrap().unwrap();
    assert_eq!(jobs(&second), ["activity 1 completed"]);
    machine.complete(vec![sleep(1)]).unwrap();
    let third = machine.next_activation().unwrap().unwrap();
    assert_eq!(jobs(&third), ["fire timer 1"]);
    machine
        .complete(vec![complete("workflow_completed_sent")])
        .unwrap();
    assert_eq!(machine.next_activation().unwrap(), None);
}

#[test]
fn a_different_command_is_nondeterminism_naming_both_sides() {
    let mut machine = replayed(&quickstart_history().events);
    machine.next_activation().unwrap();
    let error = machine.complete(vec![sleep(1)]).unwrap_err();
    assert_eq!(
        error,
        ReplayError::Nondeterminism(Nondeterminism {
            event_id: EventId::new(5).unwrap(),
            expected: "ActivityTaskScheduled (activity 1 of type SendEmail)".into(),
            actual: "StartTimer (timer 1)".into(),
        })
    );
}

#[test]
fn missing_and_extra_commands_are_nondeterminism() {
    let mut machine = replayed(&quickstart_history().events);
    machine.next_activation().unwrap();
    let missing = machine.complete(vec![]).unwrap_err();
    assert!(
        matches!(missing, ReplayError::Nondeterminism(Nondeterminism { ref actual, .. }) if actual == "no command"),
        "{missing}"
    );

    let mut machine = replayed(&quickstart_history().events);
    machine.next_activation().unwrap();
    let extra = machine.complete(vec![send_email(), sleep(1)]).unwrap_err();
    assert_eq!(
        extra,
        ReplayError::Nondeterminism(Nondeterminism {
            event_id: EventId::new(4).unwrap(),
            expected: "no further command in this workflow task".into(),
            actual: "StartTimer (timer 1)".into(),
        })
    );
}

#[test]
fn live_tasks_return_commands_and_bind_them_when_their_events_arrive() {
    let history = quickstart_history().events;
    let mut machine = replayed(&history[..3]);
    let first = machine.next_activation().unwrap().unwrap();
    assert!(!first.is_replaying, "the last task fed is live");
    let commands = machine.complete(vec![send_email()]).unwrap();
    assert!(
        matches!(&commands[..], [Command::ScheduleActivityTask(a)] if a.activity_id.as_str() == "1")
    );
    assert_eq!(machine.next_activation().unwrap(), None, "nothing new yet");
    machine.feed(history[3..9].iter().cloned()).unwrap();
    let second = machine.next_activation().unwrap().unwrap();
    assert!(!second.is_replaying);
    assert_eq!(
        jobs(&second),
        ["activity 1 completed"],
        "the activity result found the activity through its event id"
    );
    let commands = machine.complete(vec![sleep(1)]).unwrap();
    assert!(matches!(&commands[..], [Command::StartTimer(a)] if a.timer_id.as_str() == "1"));
}

#[test]
fn a_live_task_is_extended_with_later_commands_and_they_bind_like_the_rest() {
    let history = quickstart_history().events;
    let mut machine = replayed(&history[..3]);
    assert!(
        matches!(
            machine.extend_live(vec![sleep(1)]),
            Err(ReplayError::Misuse(_))
        ),
        "nothing was completed yet"
    );
    machine.next_activation().unwrap().unwrap();
    assert!(
        matches!(
            machine.extend_live(vec![sleep(1)]),
            Err(ReplayError::Misuse(_))
        ),
        "an activation is open"
    );
    assert!(machine.complete(Vec::new()).unwrap().is_empty());
    // What a local activity's resolution issued after the activation was answered.
    let commands = machine.extend_live(vec![send_email()]).unwrap();
    assert!(
        matches!(&commands[..], [Command::ScheduleActivityTask(a)] if a.activity_id.as_str() == "1")
    );
    // The extension binds to the task's events like the task's own commands: replaying the
    // quickstart further finds no nondeterminism.
    machine.feed(history[3..9].iter().cloned()).unwrap();
    let second = machine.next_activation().unwrap().unwrap();
    assert_eq!(jobs(&second), ["activity 1 completed"]);
    machine.complete(vec![sleep(1)]).unwrap();
}

#[test]
fn a_history_ending_mid_task_waits_for_more_events() {
    let history = quickstart_history().events;
    let mut machine = replayed(&history[..8]);
    machine.next_activation().unwrap();
    machine.complete(vec![send_email()]).unwrap();
    assert_eq!(
        machine.next_activation().unwrap(),
        None,
        "the second task has not started"
    );
    machine.feed(history[8..].iter().cloned()).unwrap();
    let second = machine.next_activation().unwrap().unwrap();
    assert_eq!(
        jobs(&second),
        ["activity 1 completed"],
        "jobs seen before the task started are kept"
    );
}

fn signal(name: &str) -> EventAttributes {
    EventAttributes::WorkflowExecutionSignaled(WorkflowExecutionSignaledEventAttributes {
        signal_name: SignalName::new(name).unwrap(),
        input: json(name),
        identity: String::new(),
        header: Header::new(),
        request_id: None,
        external_workflow_execution: None,
    })
}

#[test]
fn failed_tasks_merge_into_the_next_and_a_reset_reseeds() {
    let queue = TaskQueueName::new("q").unwrap();
    let mut builder = HistoryBuilder::new(SAMPLE_START, Duration::from_millis(1));
    builder.add_workflow_execution_started(
        WorkflowType::new("W").unwrap(),
        queue.clone(),
        Payloads::empty(),
        SAMPLE_RUN_ID,
    );
    let scheduled = builder.add_workflow_task_scheduled(queue.clone());
    let started = builder.add_workflow_task_started(scheduled);
    builder.add(EventAttributes::WorkflowTaskFailed(
        WorkflowTaskFailedEventAttributes {
            scheduled_event_id: scheduled,
            started_event_id: started,
            cause: WorkflowTaskFailedCause::ResetWorkflow,
            failure: None,
            identity: "reset".into(),
            base_run_id: Some(SAMPLE_RUN_ID),
            new_run_id: Some(crate::ids::RunId::from_u128(99)),
        },
    ));
    builder.add(signal("go"));
    let scheduled = builder.add_workflow_task_scheduled(queue);
    builder.add_workflow_task_started(scheduled);
    let mut machine = replayed(&builder.build().events);
    let activation = machine.next_activation().unwrap().unwrap();
    assert_eq!(jobs(&activation), ["init W", "reseed", "signal go"]);
    let Job::UpdateRandomSeed {
        randomness_seed: seed,
    } = activation.jobs[1]
    else {
        panic!()
    };
    assert_eq!(seed, randomness_seed(crate::ids::RunId::from_u128(99)));
}

#[test]
fn signals_come_before_other_jobs_and_markers_are_looked_ahead() {
    let queue = TaskQueueName::new("q").unwrap();
    let mut builder = HistoryBuilder::new(SAMPLE_START, Duration::from_millis(1));
    builder.add_workflow_execution_started(
        WorkflowType::new("W").unwrap(),
        queue.clone(),
        Payloads::empty(),
        SAMPLE_RUN_ID,
    );
    let completed = builder.add_workflow_task(queue.clone());
    let timer = builder.add(EventAttributes::TimerStarted(TimerStartedEventAttributes {
        timer_id: TimerId::new("1").unwrap(),
        start_to_fire_timeout: Duration::from_secs(1),
        workflow_task_completed_event_id: completed,
    }));
    builder.add(EventAttributes::TimerFired(TimerFiredEventAttributes {
        timer_id: TimerId::new("1").unwrap(),
        started_event_id: timer,
    }));
    builder.add(signal("late"));
    let completed = builder.add_workflow_task(queue);
    builder.add(EventAttributes::MarkerRecorded(
        crate::history::MarkerRecordedEventAttributes {
            marker_name: crate::ids::MarkerName::new("Version").unwrap(),
            details: [("change_id".to_owned(), json("fix-1"))].into(),
            workflow_task_completed_event_id: completed,
            header: Header::new(),
            failure: None,
        },
    ));
    let mut machine = replayed(&builder.build().events);
    machine.next_activation().unwrap();
    machine.complete(vec![sleep(1)]).unwrap();
    let second = machine.next_activation().unwrap().unwrap();
    assert_eq!(
        jobs(&second),
        ["signal late", "fire timer 1"],
        "signals first, then history order"
    );
    assert_eq!(
        second.markers.len(),
        1,
        "the task's marker is visible before the code runs"
    );
    assert_eq!(second.markers[0].marker_name.as_str(), "Version");
}

#[test]
fn a_timer_started_and_cancelled_in_one_activation_is_never_sent() {
    let history = quickstart_history().events;
    let mut machine = replayed(&history[..3]);
    machine.next_activation().unwrap();
    let commands = machine
        .complete(vec![
            sleep(7),
            WorkflowCommand::CancelTimer { seq: 7 },
            send_email(),
        ])
        .unwrap();
    assert_eq!(commands.len(), 1);
    assert!(matches!(commands[0], Command::ScheduleActivityTask(_)));
}

#[test]
fn misuse_is_refused() {
    let mut machine = replayed(&quickstart_history().events);
    assert_eq!(
        machine.complete(vec![]),
        Err(ReplayError::Misuse("complete without an activation"))
    );
    machine.next_activation().unwrap();
    assert!(matches!(
        machine.next_activation(),
        Err(ReplayError::Misuse(_))
    ));
    let mut gap = ReplayMachine::new();
    let history = quickstart_history().events;
    assert!(matches!(
        gap.feed(history[1..].iter().cloned()),
        Err(ReplayError::MalformedHistory { .. })
    ));
}

/// Found by the schedules scenario: a cancellation and a timer's firing in one activation
/// (the code sees the cancellation first and cancels its sleep) made the SDK send a
/// CancelTimer for a fired timer, which the engine refuses — the task failed forever.
#[test]
fn a_cancel_of_a_timer_that_fired_in_the_same_activation_is_never_sent() {
    let queue = TaskQueueName::new("q").unwrap();
    let mut builder = HistoryBuilder::new(SAMPLE_START, Duration::from_millis(1));
    builder.add_workflow_execution_started(
        WorkflowType::new("W").unwrap(),
        queue.clone(),
        Payloads::empty(),
        SAMPLE_RUN_ID,
    );
    let completed = builder.add_workflow_task(queue.clone());
    let timer = builder.add(EventAttributes::TimerStarted(TimerStartedEventAttributes {
        timer_id: TimerId::new("1").unwrap(),
        start_to_fire_timeout: Duration::from_secs(1),
        workflow_task_completed_event_id: completed,
    }));
    builder.add(EventAttributes::WorkflowExecutionCancelRequested(
        crate::history::WorkflowExecutionCancelRequestedEventAttributes {
            cause: "stop".into(),
            external_initiated_event_id: None,
            external_workflow_execution: None,
            identity: "client".into(),
        },
    ));
    builder.add(EventAttributes::TimerFired(TimerFiredEventAttributes {
        timer_id: TimerId::new("1").unwrap(),
        started_event_id: timer,
    }));
    let scheduled = builder.add_workflow_task_scheduled(queue);
    builder.add_workflow_task_started(scheduled);
    let mut machine = replayed(&builder.build().events);
    machine.next_activation().unwrap();
    machine.complete(vec![sleep(1)]).unwrap();
    let second = machine.next_activation().unwrap().unwrap();
    assert_eq!(jobs(&second), ["cancel", "fire timer 1"]);
    let commands = machine
        .complete(vec![
            WorkflowCommand::CancelTimer { seq: 1 },
            complete("done"),
        ])
        .unwrap();
    assert_eq!(commands.len(), 1, "{commands:?}");
    assert!(matches!(commands[0], Command::CompleteWorkflowExecution(_)));
}
