//! Signals and cancel requests between workflows: the sender's Initiated event and task,
//! the outcome the runtime reports, and the receiver's events.

use super::harness::*;
use crate::command::{
    Command, RequestCancelExternalWorkflowExecutionCommandAttributes,
    SignalExternalWorkflowExecutionCommandAttributes,
};
use crate::enums::{
    CancelExternalWorkflowExecutionFailedCause, SignalExternalWorkflowExecutionFailedCause,
};
use crate::execution::*;
use crate::history::EventAttributes;
use crate::ids::{EventId, Namespace, SignalName, WorkflowExecution, WorkflowId};
use crate::payload::Header;

fn target() -> WorkflowExecution {
    WorkflowExecution {
        workflow_id: WorkflowId::new("other").unwrap(),
        run_id: None,
    }
}

fn signal_other() -> Command {
    Command::SignalExternalWorkflowExecution(SignalExternalWorkflowExecutionCommandAttributes {
        namespace: None,
        workflow_execution: target(),
        signal_name: SignalName::new("ping").unwrap(),
        input: json("hello"),
        child_workflow_only: false,
        header: Header::new(),
    })
}

fn cancel_other() -> Command {
    Command::RequestCancelExternalWorkflowExecution(
        RequestCancelExternalWorkflowExecutionCommandAttributes {
            namespace: None,
            workflow_execution: target(),
            child_workflow_only: false,
            reason: "no longer needed".into(),
        },
    )
}

fn request(initiated: u64, completed: u64) -> ExternalRequest {
    ExternalRequest {
        initiated_event_id: EventId::new(initiated).unwrap(),
        workflow_task_completed_event_id: EventId::new(completed).unwrap(),
        namespace: Namespace::default_namespace(),
        workflow_execution: target(),
    }
}

#[test]
fn a_delivered_signal_is_recorded_and_wakes_the_workflow() {
    let (mut run, _) = Run::start(options());
    let effects = run.run_task(vec![signal_other()]);
    check(
        &effects.events,
        "4 WorkflowTaskCompleted scheduled=2 started=3
         5 SignalExternalWorkflowExecutionInitiated wtc=4",
    );
    assert_eq!(
        effects.tasks,
        vec![Task::SignalExternalWorkflow {
            initiated_event_id: EventId::new(5).unwrap()
        }]
    );
    assert_eq!(run.machine.pending_external_signals().len(), 1);
    let effects = run.apply(Input::ExternalSignalResolved {
        request: request(5, 4),
        failure: None,
    });
    check(
        &effects.events,
        "6 ExternalWorkflowExecutionSignaled initiated=5
         7 WorkflowTaskScheduled",
    );
    assert!(run.machine.pending_external_signals().is_empty());
    // A second report of the same signal (a redelivery after a crash) is refused.
    assert!(matches!(
        run.try_apply(Input::ExternalSignalResolved {
            request: request(5, 4),
            failure: None,
        }),
        Err(Rejected::NotFound(_))
    ));
}

#[test]
fn an_undeliverable_signal_fails_with_its_cause_and_is_buffered_during_a_task() {
    let (mut run, _) = Run::start(options());
    run.run_task(vec![
        signal_other(),
        start_timer("t", std::time::Duration::from_secs(60)),
    ]);
    run.signal("wake", None).unwrap();
    let token = run.start_task();
    let effects = run.apply(Input::ExternalSignalResolved {
        request: request(5, 4),
        failure: Some(
            SignalExternalWorkflowExecutionFailedCause::ExternalWorkflowExecutionNotFound,
        ),
    });
    assert!(effects.events.is_empty(), "buffered while the task runs");
    let completion = run.completion(token, vec![]);
    let effects = run.apply(completion);
    check(
        &effects.events,
        "10 WorkflowTaskCompleted scheduled=8 started=9
         11 SignalExternalWorkflowExecutionFailed wtc=4 initiated=5
         12 WorkflowTaskScheduled",
    );
    let EventAttributes::SignalExternalWorkflowExecutionFailed(failed) =
        &effects.events[1].attributes
    else {
        unreachable!()
    };
    assert_eq!(
        failed.cause,
        SignalExternalWorkflowExecutionFailedCause::ExternalWorkflowExecutionNotFound
    );
    assert_eq!(failed.workflow_execution, target());
}

#[test]
fn cancel_requests_to_other_workflows_resolve_once() {
    let (mut run, _) = Run::start(options());
    let effects = run.run_task(vec![cancel_other(), cancel_other()]);
    check(
        &effects.events,
        "4 WorkflowTaskCompleted scheduled=2 started=3
         5 RequestCancelExternalWorkflowExecutionInitiated wtc=4
         6 RequestCancelExternalWorkflowExecutionInitiated wtc=4",
    );
    assert_eq!(effects.tasks.len(), 2);
    let effects = run.apply(Input::ExternalCancelResolved {
        request: request(5, 4),
        failure: None,
    });
    check(
        &effects.events,
        "7 ExternalWorkflowExecutionCancelRequested initiated=5
         8 WorkflowTaskScheduled",
    );
    let effects = run.apply(Input::ExternalCancelResolved {
        request: request(6, 4),
        failure: Some(
            CancelExternalWorkflowExecutionFailedCause::ExternalWorkflowExecutionNotFound,
        ),
    });
    check(
        &effects.events,
        "9 RequestCancelExternalWorkflowExecutionFailed wtc=4 initiated=6",
    );
    assert!(run.machine.pending_external_cancels().is_empty());
    assert!(matches!(
        run.try_apply(Input::ExternalCancelResolved {
            request: request(6, 4),
            failure: None,
        }),
        Err(Rejected::NotFound(_))
    ));
}

#[test]
fn outcomes_for_a_closed_run_are_refused() {
    let (mut run, _) = Run::start(options());
    run.run_task(vec![signal_other(), complete("done")]);
    assert!(matches!(
        run.try_apply(Input::ExternalSignalResolved {
            request: request(5, 4),
            failure: None,
        }),
        Err(Rejected::WorkflowClosed)
    ));
}

#[test]
fn the_receiver_records_the_sender() {
    let (mut run, _) = Run::start(options());
    run.run_task(vec![]);
    let sender = WorkflowExecution {
        workflow_id: WorkflowId::new("sender").unwrap(),
        run_id: Some(crate::ids::RunId::from_u128(7)),
    };
    let effects = run.apply(Input::SignalFromWorkflow {
        signal: signal("ping", Some("sender-run-5")),
        sender: sender.clone(),
    });
    check(
        &effects.events,
        "5 WorkflowExecutionSignaled ping
         6 WorkflowTaskScheduled",
    );
    let EventAttributes::WorkflowExecutionSignaled(signaled) = &effects.events[0].attributes else {
        unreachable!()
    };
    assert_eq!(signaled.external_workflow_execution, Some(sender.clone()));
    // Redelivered with the same request id: applied once.
    let effects = run.apply(Input::SignalFromWorkflow {
        signal: signal("ping", Some("sender-run-5")),
        sender: sender.clone(),
    });
    assert!(effects.events.is_empty());
    assert_eq!(effects.reply, Reply::Duplicate);

    let effects = run.apply(Input::RequestCancelFromWorkflow {
        reason: "stop".into(),
        sender: sender.clone(),
        initiated_event_id: EventId::new(9).unwrap(),
    });
    check(&effects.events, "7 WorkflowExecutionCancelRequested");
    let EventAttributes::WorkflowExecutionCancelRequested(requested) =
        &effects.events[0].attributes
    else {
        unreachable!()
    };
    assert_eq!(requested.external_workflow_execution, Some(sender));
    assert_eq!(requested.external_initiated_event_id, EventId::new(9));
    assert_eq!(requested.identity, ENGINE_IDENTITY);
}
