//! Updates: admission in memory, delivery with a (speculative) workflow task, a rejection
//! leaving no trace, acceptance and completion written in order, deduplication by id, and
//! the abort matrix.

use std::time::Duration;

use super::harness::*;
use crate::command::{Command, ProtocolMessageCommandAttributes};
use crate::execution::*;
use crate::failure::Failure;
use crate::ids::{EventId, UpdateId, UpdateName};
use crate::limits::UPDATES_IN_FLIGHT_MAX;
use crate::payload::Header;
use crate::update::*;

pub(super) fn update(id: &str) -> Input {
    Input::Update {
        request: UpdateRequest {
            update_id: UpdateId::new(id).unwrap(),
            identity: "client".into(),
            name: UpdateName::new("SetDiscount").unwrap(),
            header: Header::new(),
            args: json("10%"),
        },
        ends_start_delay: false,
    }
}

fn message(id: &str, suffix: &str, body: UpdateMessageBody) -> UpdateMessage {
    UpdateMessage {
        id: format!("{id}/{suffix}"),
        update_id: UpdateId::new(id).unwrap(),
        body,
    }
}

fn protocol(id: &str, suffix: &str) -> Command {
    Command::ProtocolMessage(ProtocolMessageCommandAttributes {
        message_id: format!("{id}/{suffix}"),
    })
}

pub(super) fn accept(id: &str) -> (Command, UpdateMessage) {
    (
        protocol(id, "accept"),
        message(id, "accept", UpdateMessageBody::Acceptance),
    )
}

pub(super) fn respond(id: &str, result: &str) -> (Command, UpdateMessage) {
    (
        protocol(id, "complete"),
        message(
            id,
            "complete",
            UpdateMessageBody::Response(UpdateOutcome::Success(json(result))),
        ),
    )
}

fn reject(id: &str) -> UpdateMessage {
    message(
        id,
        "reject",
        UpdateMessageBody::Rejection(Failure::application("amount must be positive", "Invalid")),
    )
}

pub(super) fn complete_with(
    run: &mut Run,
    token: WorkflowTaskToken,
    commands: Vec<Command>,
    messages: Vec<UpdateMessage>,
) -> Effects {
    let Input::WorkflowTaskCompleted(mut completion) = run.completion(token, commands) else {
        unreachable!("completion builds a completion")
    };
    completion.messages = messages;
    run.apply(Input::WorkflowTaskCompleted(completion))
}

/// Starts the pending task, returning its token and the updates it delivers.
pub(super) fn start_with_updates(run: &mut Run) -> (WorkflowTaskToken, Vec<UpdateDelivery>) {
    let scheduled_event_id = run.machine.workflow_task().unwrap().scheduled_event_id;
    let effects = run.apply(Input::WorkflowTaskStarted {
        scheduled_event_id,
        request_id: format!("poll-{scheduled_event_id}"),
        identity: "worker".into(),
    });
    let Reply::WorkflowTaskStarted(reply) = effects.reply else {
        panic!("not started: {:?}", effects.reply)
    };
    (reply.token, reply.updates)
}

pub(super) fn id(value: &str) -> UpdateId {
    UpdateId::new(value).unwrap()
}

/// A run whose first task set a timer: idle, nothing pending but the timer.
fn idle_run() -> Run {
    let (mut run, _) = Run::start(options());
    run.run_task(vec![start_timer("t", Duration::from_secs(3600))]);
    assert!(run.machine.workflow_task().is_none());
    run
}

#[test]
fn a_rejected_update_leaves_no_history() {
    let mut run = idle_run();
    let before = run.history.len();
    let effects = run.apply(update("u1"));
    assert_eq!(
        effects.reply,
        Reply::Update {
            stage: UpdateStage::Admitted,
            completed_event_id: None
        }
    );
    assert!(effects.events.is_empty(), "admission writes nothing");
    assert!(
        matches!(
            effects.tasks.as_slice(),
            [Task::WorkflowTask {
                speculative: true,
                ..
            }]
        ),
        "{:?}",
        effects.tasks
    );
    let (token, delivered) = start_with_updates(&mut run);
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].request.update_id, id("u1"));
    assert_eq!(delivered[0].message_id, "u1/request");
    let effects = complete_with(&mut run, token, vec![], vec![reject("u1")]);
    assert!(matches!(effects.reply, Reply::WorkflowTaskDiscarded { .. }));
    assert!(effects.events.is_empty());
    assert!(matches!(
        effects.updates.as_slice(),
        [(update_id, UpdateNotice::Rejected(_))] if *update_id == id("u1")
    ));
    assert_eq!(run.history.len(), before, "no trace in history");
    assert!(run.machine.workflow_task().is_none());
    assert!(!run.machine.has_admitted_updates());
    // A rejected update is forgotten: the same id is admitted afresh.
    assert_eq!(
        run.apply(update("u1")).reply,
        Reply::Update {
            stage: UpdateStage::Admitted,
            completed_event_id: None
        }
    );
}

#[test]
fn an_accepted_update_writes_accepted_then_completed_and_its_id_deduplicates() {
    let mut run = idle_run();
    run.apply(update("u1"));
    // Admitting the same id again writes nothing; it only offers the pending speculative
    // task again (its row may have been lost).
    let before = run.machine.clone();
    let again = run.apply(update("u1"));
    assert!(again.events.is_empty());
    assert_eq!(run.machine, before);
    let (token, delivered) = start_with_updates(&mut run);
    assert_eq!(delivered.len(), 1, "an update is delivered once per task");
    let (accept_command, accept_message) = accept("u1");
    let (respond_command, respond_message) = respond("u1", "done");
    let effects = complete_with(
        &mut run,
        token,
        vec![accept_command, respond_command],
        vec![accept_message, respond_message],
    );
    check(
        &effects.events,
        "6 WorkflowTaskScheduled
         7 WorkflowTaskStarted scheduled=6
         8 WorkflowTaskCompleted scheduled=6 started=7
         9 WorkflowExecutionUpdateAccepted accepted_request_sequencing_event_id=6
         10 WorkflowExecutionUpdateCompleted accepted_event_id=9",
    );
    assert_eq!(
        effects.updates,
        vec![
            (id("u1"), UpdateNotice::Accepted),
            (
                id("u1"),
                UpdateNotice::Completed(UpdateOutcome::Success(json("done")))
            ),
        ]
    );
    let record = run.machine.update_record(&id("u1")).unwrap();
    assert_eq!(record.accepted_event_id, EventId::new(9).unwrap());
    assert_eq!(record.completed_event_id, EventId::new(10));
    let again = run.apply(update("u1"));
    assert_eq!(
        again.reply,
        Reply::Update {
            stage: UpdateStage::Completed,
            completed_event_id: EventId::new(10)
        }
    );
    assert!(again.events.is_empty() && again.tasks.is_empty());
    // Once the run closed, a retry still finds the outcome; a new update is refused.
    run.signal("finish", None).unwrap();
    run.run_task(vec![complete("done")]);
    assert_eq!(
        run.apply(update("u1")).reply,
        Reply::Update {
            stage: UpdateStage::Completed,
            completed_event_id: EventId::new(10)
        }
    );
    assert_eq!(
        run.try_apply(update("u2")).unwrap_err(),
        Rejected::WorkflowClosed
    );
}

#[test]
fn a_handler_that_blocks_completes_in_a_later_task() {
    let mut run = idle_run();
    run.apply(update("u1"));
    let (token, _) = start_with_updates(&mut run);
    let (accept_command, accept_message) = accept("u1");
    complete_with(
        &mut run,
        token,
        vec![
            accept_command,
            start_timer("handler", Duration::from_secs(1)),
        ],
        vec![accept_message],
    );
    assert_eq!(
        run.apply(update("u1")).reply,
        Reply::Update {
            stage: UpdateStage::Accepted,
            completed_event_id: None
        }
    );
    run.fire_next_deadline();
    let token = run.start_task();
    let (respond_command, respond_message) = respond("u1", "later");
    let effects = complete_with(
        &mut run,
        token,
        vec![respond_command],
        vec![respond_message],
    );
    check(
        &effects.events,
        "14 WorkflowTaskCompleted scheduled=12 started=13
         15 WorkflowExecutionUpdateCompleted accepted_event_id=9",
    );
}

#[test]
fn an_update_arriving_during_a_task_is_delivered_with_the_next() {
    let (mut run, _) = Run::start(options());
    let token = run.start_task();
    let effects = run.apply(update("u1"));
    assert!(
        effects.tasks.is_empty(),
        "the task in flight is not disturbed"
    );
    let input = run.completion(token, vec![start_timer("t", Duration::from_secs(60))]);
    let effects = run.apply(input);
    assert!(
        matches!(
            effects.tasks.as_slice(),
            [Task::WorkflowTask {
                speculative: true,
                ..
            }]
        ),
        "{:?}",
        effects.tasks
    );
    let (_, delivered) = start_with_updates(&mut run);
    assert_eq!(delivered.len(), 1);
}

#[test]
fn an_unanswered_update_is_delivered_again() {
    let mut run = idle_run();
    run.apply(update("u1"));
    let (token, _) = start_with_updates(&mut run);
    // The worker answers nothing but records a marker: the task is kept, the update waits.
    let effects = complete_with(
        &mut run,
        token,
        vec![start_timer("other", Duration::from_secs(5))],
        vec![],
    );
    assert!(effects.updates.is_empty());
    let (_, delivered) = start_with_updates(&mut run);
    assert_eq!(delivered.len(), 1);
}

#[test]
fn updates_abort_when_the_run_closes_or_its_task_fails() {
    // Completed while an update waited: the update fails for good.
    let (mut run, _) = Run::start(options());
    let token = run.start_task();
    run.apply(update("late"));
    let input = run.completion(token, vec![complete("done")]);
    let effects = run.apply(input);
    assert_eq!(
        effects.updates,
        vec![(
            id("late"),
            UpdateNotice::Aborted(UpdateAbort::WorkflowClosed)
        )]
    );
    assert_eq!(
        run.try_apply(update("after")).unwrap_err(),
        Rejected::WorkflowClosed
    );

    // Continued as new: the update is retryable, on the new run.
    let (mut run, _) = Run::start(options());
    let token = run.start_task();
    run.apply(update("moving"));
    let input = run.completion(token, vec![super::close::continue_as_new("next", None)]);
    let effects = run.apply(input);
    assert!(matches!(
        effects.updates.as_slice(),
        [(_, UpdateNotice::Aborted(UpdateAbort::RunContinued))]
    ));
    assert!(UpdateAbort::RunContinued.is_retryable());

    // The normal task that received it failed: aborted, for the client to send again.
    let mut run = idle_run();
    run.apply(Input::Signal(signal("go", None)));
    run.apply(update("u1"));
    let (token, delivered) = start_with_updates(&mut run);
    assert_eq!(delivered.len(), 1);
    let effects = run.apply(Input::WorkflowTaskFailed {
        token,
        cause: crate::enums::WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure,
        failure: None,
        identity: "worker".into(),
    });
    assert_eq!(
        effects.updates,
        vec![(
            id("u1"),
            UpdateNotice::Aborted(UpdateAbort::WorkflowTaskFailed)
        )]
    );
    assert!(!run.machine.has_admitted_updates());

    // Accepted, then the workflow completed before the handler finished.
    let mut run = idle_run();
    run.apply(update("u1"));
    let (token, _) = start_with_updates(&mut run);
    let (accept_command, accept_message) = accept("u1");
    let effects = complete_with(
        &mut run,
        token,
        vec![accept_command, complete("done")],
        vec![accept_message],
    );
    assert_eq!(
        effects.updates,
        vec![
            (id("u1"), UpdateNotice::Accepted),
            (
                id("u1"),
                UpdateNotice::Aborted(UpdateAbort::AcceptedUpdateNotCompleted)
            )
        ]
    );
}

#[test]
fn bad_update_messages_fail_the_task() {
    let mut run = idle_run();
    run.apply(update("u1"));
    let (token, _) = start_with_updates(&mut run);
    // A response to an update never accepted.
    let (respond_command, respond_message) = respond("u1", "x");
    let effects = complete_with(
        &mut run,
        token,
        vec![respond_command],
        vec![respond_message],
    );
    assert!(matches!(
        effects.reply,
        Reply::WorkflowTaskCommandsRefused {
            cause: crate::enums::WorkflowTaskFailedCause::BadUpdateWorkflowExecutionMessage,
            ..
        }
    ));
    // A protocol command naming a message the completion does not carry.
    let token = run.start_task();
    let effects = complete_with(&mut run, token, vec![protocol("u9", "accept")], vec![]);
    assert!(matches!(
        effects.reply,
        Reply::WorkflowTaskCommandsRefused {
            cause: crate::enums::WorkflowTaskFailedCause::BadUpdateWorkflowExecutionMessage,
            ..
        }
    ));
}

#[test]
fn in_flight_updates_are_limited() {
    let mut run = idle_run();
    for index in 0..UPDATES_IN_FLIGHT_MAX {
        run.apply(update(&format!("u{index}")));
    }
    assert!(matches!(
        run.try_apply(update("one-too-many")),
        Err(Rejected::UpdateLimitExceeded(_))
    ));
}

#[test]
fn update_with_start_ends_the_start_delay_and_rides_the_first_task() {
    let mut options = options();
    options.start_delay = Some(Duration::from_secs(600));
    let (mut run, _) = Run::start(options);
    assert!(run.machine.workflow_task().is_none());
    let Input::Update { request, .. } = update("u1") else {
        unreachable!()
    };
    let effects = run.apply(Input::Update {
        request,
        ends_start_delay: true,
    });
    check(&effects.events, "2 WorkflowTaskScheduled");
    let (_, delivered) = start_with_updates(&mut run);
    assert_eq!(delivered.len(), 1);
}

#[test]
fn admitted_updates_are_not_durable_state() {
    let mut run = idle_run();
    let before = run.machine.clone();
    run.apply(update("u1"));
    // The speculative task is in memory too; the durable state differs only by it.
    let mut after = run.machine.clone();
    assert!(after.has_admitted_updates());
    assert_ne!(after, before);
    let bytes = crate::codec::encode(&after).unwrap();
    let decoded: ExecutionMachine = crate::codec::decode(&bytes).unwrap();
    assert!(!decoded.has_admitted_updates(), "never persisted");
    after = decoded;
    assert!(after.update_record(&id("u1")).is_none());
}

#[test]
fn after_a_restart_an_update_sent_again_offers_the_speculative_task_again() {
    let mut run = idle_run();
    run.apply(update("u1"));
    // The process goes away: the machine comes back from its stored bytes, the admitted
    // update and the offered task's row with it.
    let bytes = crate::codec::encode(&run.machine).unwrap();
    run.machine = crate::codec::decode(&bytes).unwrap();
    assert!(!run.machine.has_admitted_updates());
    let effects = run.apply(update("u1"));
    assert!(
        matches!(
            effects.tasks.as_slice(),
            [Task::WorkflowTask {
                speculative: true,
                ..
            }]
        ),
        "{:?}",
        effects.tasks
    );
    let (_, delivered) = start_with_updates(&mut run);
    assert_eq!(delivered.len(), 1);
}

#[test]
fn continuing_as_new_is_suggested_at_nine_tenths_of_the_updates_a_run_may_take() {
    let mut run = idle_run();
    let limit = crate::limits::UPDATES_PER_EXECUTION_MAX / 10 * 9;
    // Straight on the machine: checking the whole history after each step would be slow.
    let now = run.now;
    for index in 0..limit {
        let id = format!("u{index}");
        run.machine.apply(update(&id), now).unwrap();
        let scheduled_event_id = run.machine.workflow_task().unwrap().scheduled_event_id;
        let started = run
            .machine
            .apply(
                Input::WorkflowTaskStarted {
                    scheduled_event_id,
                    request_id: format!("poll-{index}"),
                    identity: "worker".into(),
                },
                now,
            )
            .unwrap();
        let Reply::WorkflowTaskStarted(started) = started.reply else {
            panic!("not started")
        };
        let (accept_command, accept_message) = accept(&id);
        let (respond_command, respond_message) = respond(&id, "ok");
        let Input::WorkflowTaskCompleted(mut completion) =
            run.completion(started.token, vec![accept_command, respond_command])
        else {
            unreachable!()
        };
        completion.messages = vec![accept_message, respond_message];
        let effects = run
            .machine
            .apply(Input::WorkflowTaskCompleted(completion), now)
            .unwrap();
        run.history.extend(effects.events);
    }
    run.signal("next", None).unwrap();
    run.start_task();
    let started = run.history.last().unwrap();
    assert!(
        matches!(
            &started.attributes,
            crate::history::EventAttributes::WorkflowTaskStarted(a) if a.suggest_continue_as_new
        ),
        "{started:?}"
    );
}

/// A speculative task whose worker fails it (an update handler that panicked, say) is
/// written as Temporal writes it — Scheduled, Started, Failed — and the update it carried
/// is kept and delivered again with the retried task, where it can still be accepted.
#[test]
fn a_failed_speculative_task_is_written_and_its_update_delivered_again() {
    let mut run = idle_run();
    run.apply(update("u1"));
    let (token, delivered) = start_with_updates(&mut run);
    assert_eq!(delivered.len(), 1);
    let effects = run.apply(Input::WorkflowTaskFailed {
        token,
        cause: crate::enums::WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure,
        failure: None,
        identity: "worker".into(),
    });
    check(
        &effects.events,
        "6 WorkflowTaskScheduled
         7 WorkflowTaskStarted scheduled=6
         8 WorkflowTaskFailed scheduled=6 started=7 WorkflowWorkerUnhandledFailure",
    );
    assert!(effects.updates.is_empty(), "{:?}", effects.updates);
    assert!(run.machine.has_admitted_updates());
    // The retry (attempt 2, transient) delivers it again; accepting and completing it
    // writes the retry's events and the update's.
    let (token, delivered) = start_with_updates(&mut run);
    assert_eq!(delivered.len(), 1, "delivered again");
    assert_eq!(delivered[0].request.update_id, id("u1"));
    assert_eq!(
        delivered[0].sequencing_event_id.get(),
        9,
        "after the event before the retry's WorkflowTaskStarted"
    );
    let (accept_command, accept_message) = accept("u1");
    let (respond_command, respond_message) = respond("u1", "done");
    let effects = complete_with(
        &mut run,
        token,
        vec![accept_command, respond_command],
        vec![accept_message, respond_message],
    );
    check(
        &effects.events,
        "9 WorkflowTaskScheduled attempt=2
         10 WorkflowTaskStarted scheduled=9
         11 WorkflowTaskCompleted scheduled=9 started=10
         12 WorkflowExecutionUpdateAccepted accepted_request_sequencing_event_id=9
         13 WorkflowExecutionUpdateCompleted accepted_event_id=12",
    );
    assert_eq!(
        effects.updates,
        vec![
            (id("u1"), UpdateNotice::Accepted),
            (
                id("u1"),
                UpdateNotice::Completed(UpdateOutcome::Success(json("done")))
            ),
        ]
    );
}
