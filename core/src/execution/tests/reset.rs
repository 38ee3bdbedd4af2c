//! Reset: the new run's history event by event (prefix, WorkflowTaskFailed(RESET_WORKFLOW),
//! reapplied signals and updates, a new task), pending work restarted, refused points, and
//! reapplied updates that survive the codec and task failures.

use std::time::Duration;

use super::harness::*;
use super::updates::{accept, complete_with, id, respond, start_with_updates, update};
use crate::enums::{UpdateAdmittedEventOrigin, WorkflowTaskFailedCause};
use crate::execution::*;
use crate::failure::FailureInfo;
use crate::history::{EventAttributes, HistoryEvent, check_well_formed};
use crate::ids::{EventId, RunId};

const NEW_RUN: RunId = RunId::from_u128(77);

fn request(point: ResetPoint, reapply: ResetReapply) -> ResetRequest {
    ResetRequest {
        point,
        reason: "bad deploy".into(),
        reapply,
        identity: "operator".into(),
        request_id: None,
    }
}

/// Resets `run` with nothing after it, checking what every reset must hold.
fn reset(run: &Run, request: &ResetRequest) -> Result<(ExecutionMachine, Effects), ResetError> {
    let fork = ResetFork {
        base: &run.machine,
        history: &run.history,
        successors: &[],
        request,
        new_run_id: NEW_RUN,
    };
    let (machine, effects) = ExecutionMachine::reset(fork, run.now)?;
    check_well_formed(&effects.events).expect("the new history is well formed");
    let failed = effects
        .events
        .iter()
        .find_map(|event| match &event.attributes {
            EventAttributes::WorkflowTaskFailed(failed)
                if failed.cause == WorkflowTaskFailedCause::ResetWorkflow =>
            {
                Some((event.event_id, failed.clone()))
            }
            _ => None,
        })
        .expect("WorkflowTaskFailed(RESET_WORKFLOW) is written");
    let prefix = (failed.0.get() - 1) as usize;
    assert_eq!(
        effects.events[..prefix],
        run.history[..prefix],
        "the prefix is copied"
    );
    assert_eq!(failed.1.base_run_id, Some(run.machine.run_id()));
    assert_eq!(failed.1.new_run_id, Some(NEW_RUN));
    assert_eq!(failed.1.identity, "operator");
    let failure = failed.1.failure.expect("the reason is written");
    assert_eq!(failure.message, "bad deploy");
    assert!(matches!(failure.info, FailureInfo::ResetWorkflow { .. }));
    assert_eq!(machine.run_id(), NEW_RUN);
    assert_eq!(
        machine.status(),
        crate::enums::WorkflowExecutionStatus::Running
    );
    assert_eq!(
        machine.next_event_id(),
        EventId::new(effects.events.len() as u64 + 1).unwrap()
    );
    Ok((machine, effects))
}

/// A run continuing a reset: its machine and history.
fn continue_run(machine: ExecutionMachine, effects: &Effects, now: crate::time::Timestamp) -> Run {
    let mut run = Run::start(options()).0;
    run.machine = machine;
    run.history = effects.events.clone();
    run.now = now;
    run
}

/// A run that scheduled an activity and a timer, got the activity's result and a signal,
/// and completed.
fn finished_run() -> Run {
    let (mut run, _) = Run::start(options());
    run.run_task(vec![
        activity_command(schedule_activity("a", Duration::from_secs(10))),
        start_timer("t", Duration::from_secs(3600)),
    ]);
    let token = run.start_activity(5);
    run.apply(Input::ActivityTaskCompleted {
        token,
        result: Some(json("sent")),
        identity: "activity-worker".into(),
    });
    run.run_task(vec![]);
    run.signal("approve", Some("sig-1")).unwrap();
    run.run_task(vec![complete("done")]);
    check(
        &run.history,
        "1 WorkflowExecutionStarted
         2 WorkflowTaskScheduled
         3 WorkflowTaskStarted scheduled=2
         4 WorkflowTaskCompleted scheduled=2 started=3
         5 ActivityTaskScheduled wtc=4
         6 TimerStarted wtc=4
         7 ActivityTaskStarted scheduled=5 attempt=1
         8 ActivityTaskCompleted scheduled=5 started=7
         9 WorkflowTaskScheduled
         10 WorkflowTaskStarted scheduled=9
         11 WorkflowTaskCompleted scheduled=9 started=10
         12 WorkflowExecutionSignaled approve
         13 WorkflowTaskScheduled
         14 WorkflowTaskStarted scheduled=13
         15 WorkflowTaskCompleted scheduled=13 started=14
         16 WorkflowExecutionCompleted wtc=15",
    );
    run
}

#[test]
fn reset_to_the_first_task_runs_the_workflow_again_with_later_signals() {
    let mut run = finished_run();
    run.advance(Duration::from_secs(60));
    let request = request(ResetPoint::FirstWorkflowTask, ResetReapply::default());
    let (machine, effects) = reset(&run, &request).unwrap();
    check(
        &effects.events,
        "1 WorkflowExecutionStarted
         2 WorkflowTaskScheduled
         3 WorkflowTaskStarted scheduled=2
         4 WorkflowTaskFailed scheduled=2 started=3 ResetWorkflow
         5 WorkflowExecutionSignaled approve
         6 WorkflowTaskScheduled",
    );
    assert!(machine.activities().is_empty() && machine.timers().is_empty());
    assert!(matches!(
        effects.tasks.as_slice(),
        [Task::WorkflowTask { scheduled_event_id, attempt: 1, speculative: false, .. }]
            if scheduled_event_id.get() == 6
    ));
    // The new run goes on like any other: its task completes the workflow.
    let mut new_run = continue_run(machine, &effects, run.now);
    new_run.run_task(vec![complete("again")]);
    check(
        &new_run.history[6..],
        "7 WorkflowTaskStarted scheduled=6
         8 WorkflowTaskCompleted scheduled=6 started=7
         9 WorkflowExecutionCompleted wtc=8",
    );
}

#[test]
fn reset_restarts_pending_activities_and_keeps_timers() {
    let mut run = finished_run();
    run.advance(Duration::from_secs(60));
    // Event 4 ends the first task: the activity (5) and the timer (6) come after it, so
    // they are not in the prefix; reset to event 11 instead, where both are pending.
    let request = request(
        ResetPoint::Event(EventId::new(11).unwrap()),
        ResetReapply::default(),
    );
    let (machine, effects) = reset(&run, &request).unwrap();
    check(
        &effects.events[10..],
        "11 WorkflowTaskFailed scheduled=9 started=10 ResetWorkflow
         12 WorkflowExecutionSignaled approve
         13 WorkflowTaskScheduled",
    );
    assert!(
        machine.activities().is_empty(),
        "the activity completed before the point"
    );
    let timer = &machine.timers()[&crate::ids::TimerId::new("t").unwrap()];
    assert_eq!(timer.started_event_id.get(), 6);
    assert_eq!(
        timer.expiry_time,
        T0.saturating_add(Duration::from_secs(3600))
    );

    // Reset to the end of the first task: the activity and timer were scheduled by it.
    let (mut run, _) = Run::start(options());
    run.run_task(vec![
        activity_command(schedule_activity("a", Duration::from_secs(10))),
        start_timer("t", Duration::from_secs(3600)),
    ]);
    run.start_activity(5);
    run.signal("nudge", None).unwrap();
    run.run_task(vec![]);
    run.advance(Duration::from_secs(30));
    let request = request_at(10);
    let (machine, effects) = reset(&run, &request).unwrap();
    check(
        &effects.events[8..],
        "9 WorkflowTaskStarted scheduled=8
         10 WorkflowTaskFailed scheduled=8 started=9 ResetWorkflow
         11 WorkflowTaskScheduled",
    );
    let activity = &machine.activities()[&EventId::new(5).unwrap()];
    assert_eq!(activity.attempt, 1);
    assert!(
        activity.started.is_none(),
        "the activity is dispatched afresh"
    );
    assert_eq!(
        activity.attempt_scheduled_time, run.now,
        "timeouts count from the reset"
    );
    assert!(effects.tasks.iter().any(|task| matches!(
        task,
        Task::ActivityTask { scheduled_event_id, attempt: 1, .. } if scheduled_event_id.get() == 5
    )));
    assert_eq!(machine.timers().len(), 1);
}

fn request_at(event_id: u64) -> ResetRequest {
    request(
        ResetPoint::Event(EventId::new(event_id).unwrap()),
        ResetReapply::default(),
    )
}

#[test]
fn reapply_none_or_signals_only() {
    let run = finished_run();
    let none = request(ResetPoint::FirstWorkflowTask, ResetReapply::None);
    let (_, effects) = reset(&run, &none).unwrap();
    check(
        &effects.events[3..],
        "4 WorkflowTaskFailed scheduled=2 started=3 ResetWorkflow
         5 WorkflowTaskScheduled",
    );
    let signals = request(ResetPoint::LastWorkflowTask, ResetReapply::Signals);
    let (_, effects) = reset(&run, &signals).unwrap();
    check(
        &effects.events[13..],
        "14 WorkflowTaskStarted scheduled=13
         15 WorkflowTaskFailed scheduled=13 started=14 ResetWorkflow
         16 WorkflowTaskScheduled",
    );
}

#[test]
fn points_that_are_not_a_task_end_are_refused() {
    let run = finished_run();
    for event_id in [1, 3, 5, 12, 16, 99] {
        assert_eq!(
            reset(&run, &request_at(event_id)).unwrap_err(),
            ResetError::NotAWorkflowTaskEnd(EventId::new(event_id).unwrap()),
            "event {event_id}"
        );
    }
    let (fresh, _) = Run::start(options());
    for point in [ResetPoint::FirstWorkflowTask, ResetPoint::LastWorkflowTask] {
        assert_eq!(
            reset(&fresh, &request(point, ResetReapply::default())).unwrap_err(),
            ResetError::NoCompletedWorkflowTask
        );
    }
    let long = ResetRequest {
        reason: "x".repeat(RESET_REASON_BYTES_MAX + 1),
        ..request(ResetPoint::FirstWorkflowTask, ResetReapply::default())
    };
    assert!(matches!(reset(&run, &long), Err(ResetError::Invalid(_))));
}

#[test]
fn a_corrupt_history_is_an_error_not_a_panic() {
    let run = finished_run();
    let mut history: Vec<HistoryEvent> = run.history.clone();
    let EventAttributes::ActivityTaskCompleted(completed) = &mut history[7].attributes else {
        unreachable!("event 8 completes the activity")
    };
    completed.scheduled_event_id = EventId::new(99).unwrap();
    let fork = ResetFork {
        base: &run.machine,
        history: &history,
        successors: &[],
        request: &request(ResetPoint::LastWorkflowTask, ResetReapply::default()),
        new_run_id: NEW_RUN,
    };
    let error = ExecutionMachine::reset(fork, run.now).unwrap_err();
    assert_eq!(
        error.to_string(),
        "history cannot be rebuilt at event 8: an activity closes that is not pending"
    );
    assert!(matches!(
        error,
        ResetError::Rebuild(RebuildError::Inconsistent { event_id: 8, .. })
    ));
}

/// A run that accepted and completed update u1 after its first task, then completed.
fn run_with_update() -> Run {
    let (mut run, _) = Run::start(options());
    run.run_task(vec![start_timer("t", Duration::from_secs(3600))]);
    run.apply(update("u1"));
    let (token, _) = start_with_updates(&mut run);
    let (accept_command, accepted) = accept("u1");
    let (respond_command, responded) = respond("u1", "ok");
    complete_with(
        &mut run,
        token,
        vec![accept_command, respond_command],
        vec![accepted, responded],
    );
    run.signal("finish", None).unwrap();
    run.run_task(vec![complete("done")]);
    run
}

#[test]
fn excluding_signals_or_updates_leaves_the_rest_as_temporal_combines_them() {
    use ResetReapply::{None, Signals, SignalsAndUpdates, Updates};
    // (asked, exclude signals, exclude updates) -> reapplied
    let table = [
        (SignalsAndUpdates, false, false, SignalsAndUpdates),
        (SignalsAndUpdates, true, false, Updates),
        (SignalsAndUpdates, false, true, Signals),
        (SignalsAndUpdates, true, true, None),
        (Signals, false, false, Signals),
        (Signals, true, false, None),
        (Signals, false, true, Signals),
        (Updates, false, true, None),
        (Updates, true, false, Updates),
        (None, false, false, None),
    ];
    for (asked, signals, updates, left) in table {
        assert_eq!(
            asked.excluding(signals, updates),
            left,
            "{asked:?} without signals {signals}, updates {updates}"
        );
    }
}

#[test]
fn a_reset_reapplying_updates_only_leaves_the_signals_out() {
    let run = run_with_update();
    let request = request(ResetPoint::FirstWorkflowTask, ResetReapply::Updates);
    let (_, effects) = reset(&run, &request).unwrap();
    check(
        &effects.events[3..],
        "4 WorkflowTaskFailed scheduled=2 started=3 ResetWorkflow
         5 WorkflowExecutionUpdateAdmitted
         6 WorkflowTaskScheduled",
    );
    let signals_only = request_with(ResetReapply::Signals);
    let (_, effects) = reset(&run, &signals_only).unwrap();
    check(
        &effects.events[3..],
        "4 WorkflowTaskFailed scheduled=2 started=3 ResetWorkflow
         5 WorkflowExecutionSignaled finish
         6 WorkflowTaskScheduled",
    );
}

fn request_with(reapply: ResetReapply) -> ResetRequest {
    request(ResetPoint::FirstWorkflowTask, reapply)
}

#[test]
fn accepted_updates_are_reapplied_as_admitted_and_delivered_again() {
    let run = run_with_update();
    let request = request(ResetPoint::FirstWorkflowTask, ResetReapply::default());
    let (machine, effects) = reset(&run, &request).unwrap();
    check(
        &effects.events[3..],
        "4 WorkflowTaskFailed scheduled=2 started=3 ResetWorkflow
         5 WorkflowExecutionUpdateAdmitted
         6 WorkflowExecutionSignaled finish
         7 WorkflowTaskScheduled",
    );
    let EventAttributes::WorkflowExecutionUpdateAdmitted(admitted) = &effects.events[4].attributes
    else {
        unreachable!()
    };
    assert_eq!(admitted.origin, UpdateAdmittedEventOrigin::Reapply);
    assert_eq!(admitted.request.update_id, id("u1"));

    // The reapplied update is durable: it survives the codec and is delivered with the
    // next task; a failed task does not abort it; accepting it clears it.
    let bytes = crate::codec::encode(&machine).unwrap();
    let decoded: ExecutionMachine = crate::codec::decode(&bytes).unwrap();
    assert!(!decoded.durable_state_eq(&Run::start(options()).0.machine));
    let mut new_run = continue_run(decoded, &effects, run.now);
    let (token, delivered) = start_with_updates(&mut new_run);
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].request.update_id, id("u1"));
    let effects = new_run.apply(Input::WorkflowTaskFailed {
        token,
        cause: WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure,
        failure: None,
        identity: "worker".into(),
    });
    assert!(
        effects.updates.is_empty(),
        "a reapplied update is not aborted"
    );
    let (token, delivered) = start_with_updates(&mut new_run);
    assert_eq!(delivered.len(), 1, "delivered again after the failure");
    let (accept_command, accepted) = accept("u1");
    let effects = complete_with(&mut new_run, token, vec![accept_command], vec![accepted]);
    assert!(effects.events.iter().any(|event| matches!(
        event.attributes,
        EventAttributes::WorkflowExecutionUpdateAccepted(_)
    )));
    assert!(new_run.machine.update_record(&id("u1")).is_some());
    assert!(!new_run.machine.has_admitted_updates());

    // Reset to after the acceptance: the update is in the prefix, not reapplied.
    let (_, effects) = reset(&run, &request_at(14)).unwrap();
    assert!(!effects.events.iter().any(|event| matches!(
        event.attributes,
        EventAttributes::WorkflowExecutionUpdateAdmitted(_)
    )));
}

#[test]
fn a_reset_of_a_reset_run_reapplies_its_admitted_updates() {
    let run = run_with_update();
    let request = request(ResetPoint::FirstWorkflowTask, ResetReapply::default());
    let (machine, effects) = reset(&run, &request).unwrap();
    let mut second = continue_run(machine, &effects, run.now);
    second.run_task(vec![]);
    // u1 is admitted (not answered) in the second run; resetting it to the task that saw
    // it keeps it admitted, from the prefix's UpdateAdmitted.
    let fork = ResetFork {
        base: &second.machine,
        history: &second.history,
        successors: &[],
        request: &request,
        new_run_id: RunId::from_u128(78),
    };
    let (third, effects) = ExecutionMachine::reset(fork, second.now).unwrap();
    check(
        &effects.events[4..],
        "5 WorkflowExecutionUpdateAdmitted
         6 WorkflowExecutionSignaled finish
         7 WorkflowTaskScheduled
         8 WorkflowTaskStarted scheduled=7
         9 WorkflowTaskFailed scheduled=7 started=8 ResetWorkflow
         10 WorkflowTaskScheduled",
    );
    assert!(third.has_admitted_updates());
}
