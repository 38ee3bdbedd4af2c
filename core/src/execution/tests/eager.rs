//! Eager activity execution: a completion's activities asking for it start in the same
//! transition, for the completing worker, with no task on their queue.

use std::time::Duration;

use super::harness::*;
use crate::command::{Command, RequestCancelActivityTaskCommandAttributes};
use crate::enums::TimeoutType;
use crate::execution::*;
use crate::history::EventAttributes;
use crate::ids::EventId;

fn eager(id: &str) -> Command {
    let mut attributes = schedule_activity(id, Duration::from_secs(10));
    attributes.request_eager_execution = true;
    activity_command(attributes)
}

fn started(effects: &Effects) -> &[ActivityTaskStartedReply] {
    match &effects.reply {
        Reply::EagerActivityTasks(started) => started,
        other => panic!("expected eager activity tasks, got {other:?}"),
    }
}

#[test]
fn an_eager_activity_starts_in_the_completion_for_its_worker() {
    let (mut run, _) = Run::start(options());
    let effects = run.run_task(vec![
        eager("1"),
        activity_command(schedule_activity("2", Duration::from_secs(10))),
    ]);
    check(
        &effects.events,
        "4 WorkflowTaskCompleted scheduled=2 started=3
         5 ActivityTaskScheduled wtc=4
         6 ActivityTaskScheduled wtc=4",
    );
    // Only the one not asking for it goes to the queue.
    assert!(matches!(
        &effects.tasks[..],
        [Task::ActivityTask { scheduled_event_id, attempt: 1, .. }] if scheduled_event_id.get() == 6
    ));
    let [task] = started(&effects) else {
        panic!("one eager task expected")
    };
    assert_eq!(
        task.token,
        ActivityTaskToken {
            scheduled_event_id: EventId::new(5).unwrap(),
            attempt: 1
        }
    );
    assert_eq!(task.scheduled.activity_id.as_str(), "1");
    assert_eq!(task.started_time, run.now);
    assert_eq!(task.current_attempt_scheduled_time, run.now);
    let info = &run.machine.activities()[&EventId::new(5).unwrap()];
    let attempt = info.started.as_ref().expect("started");
    assert_eq!(attempt.identity, "worker");
    assert_eq!(attempt.request_id, "eager-5");
    // A poll for it now is refused: it runs already.
    let late_poll = run.try_apply(Input::ActivityTaskStarted {
        token: task.token,
        request_id: "poll-9".into(),
        identity: "other".into(),
    });
    assert!(matches!(late_poll, Err(Rejected::NotFound(_))));

    // Its close writes the start the completion recorded.
    run.advance(Duration::from_millis(5));
    let effects = run.apply(Input::ActivityTaskCompleted {
        token: task.token,
        result: Some(json("sent")),
        identity: "worker".into(),
    });
    check(
        &effects.events,
        "7 ActivityTaskStarted scheduled=5 attempt=1
         8 ActivityTaskCompleted scheduled=5 started=7
         9 WorkflowTaskScheduled",
    );
    let EventAttributes::ActivityTaskStarted(start) = &effects.events[0].attributes else {
        unreachable!()
    };
    assert_eq!(
        (start.identity.as_str(), start.request_id.as_str()),
        ("worker", "eager-5")
    );
}

#[test]
fn an_eager_attempt_that_is_never_answered_times_out_and_retries_through_the_queue() {
    let (mut run, _) = Run::start(options());
    let effects = run.run_task(vec![eager("1")]);
    assert_eq!(started(&effects).len(), 1);
    assert!(effects.tasks.is_empty(), "no task on the queue");
    assert_eq!(
        run.machine.next_deadline(),
        Some(run.now.saturating_add(Duration::from_secs(10))),
        "start-to-close runs from the eager start"
    );
    run.fire_next_deadline();
    // The retry backoff passes, then attempt 2 is dispatched to the queue.
    let effects = run.fire_next_deadline();
    assert!(matches!(
        &effects.tasks[..],
        [Task::ActivityTask { attempt: 2, .. }]
    ));
    let token = run.start_activity(5);
    let effects = run.apply(Input::ActivityTaskCompleted {
        token,
        result: None,
        identity: "activity-worker".into(),
    });
    let EventAttributes::ActivityTaskStarted(start) = &effects.events[0].attributes else {
        panic!("ActivityTaskStarted first")
    };
    assert_eq!(start.attempt, 2);
    let EventAttributes::ActivityTaskCompleted(_) = &effects.events[1].attributes else {
        panic!("then ActivityTaskCompleted")
    };
    // The first attempt timed out on start-to-close (the retry's last failure says so).
    let last_failure = start.last_failure.as_ref().expect("attempt 1 failed");
    assert!(matches!(
        last_failure.info,
        crate::failure::FailureInfo::Timeout {
            timeout_type: TimeoutType::StartToClose,
            ..
        }
    ));
}

#[test]
fn no_eager_start_when_the_completion_closes_the_run_or_cancels_the_activity() {
    // Scheduled, then canceled by the same completion: canceled at once, never started.
    let (mut run, _) = Run::start(options());
    let effects = run.run_task(vec![
        eager("1"),
        Command::RequestCancelActivityTask(RequestCancelActivityTaskCommandAttributes {
            scheduled_event_id: EventId::new(5).unwrap(),
        }),
    ]);
    assert_eq!(effects.reply, Reply::Accepted);
    assert!(run.machine.activities().is_empty());

    // Scheduled, then the run closed by the same completion: nothing is started for a
    // closed run (Temporal's history service checks the same).
    let (mut run, _) = Run::start(options());
    let effects = run.run_task(vec![eager("1"), complete("done")]);
    assert_eq!(effects.reply, Reply::Accepted);
    assert!(run.machine.status().is_closed());
}

#[test]
fn only_activities_asking_for_it_start_eagerly_and_in_command_order() {
    let (mut run, _) = Run::start(options());
    let effects = run.run_task(vec![eager("b"), eager("a")]);
    let ids: Vec<&str> = started(&effects)
        .iter()
        .map(|task| task.scheduled.activity_id.as_str())
        .collect();
    assert_eq!(ids, ["b", "a"]);
    assert!(effects.tasks.is_empty());
    let (mut run, _) = Run::start(options());
    let effects = run.run_task(vec![activity_command(schedule_activity(
        "1",
        Duration::from_secs(10),
    ))]);
    assert_eq!(effects.reply, Reply::Accepted, "not asked for, not eager");
    assert_eq!(effects.tasks.len(), 1);
}
