//! Child workflows, the parent's side: the start reported back (or refused), the child's
//! close written with its back-references — buffered while a task is in flight, or
//! preceded by its Started event when the close is reported first — and the tasks a close
//! leaves: the parent close policy for each child, the report to a parent.

use std::time::Duration;

use super::harness::*;
use crate::command::*;
use crate::enums::{
    ParentClosePolicy, RetryState, StartChildWorkflowExecutionFailedCause, WorkflowExecutionStatus,
    WorkflowIdReusePolicy,
};
use crate::execution::*;
use crate::failure::Failure;
use crate::history::{EventAttributes, ParentExecutionInfo};
use crate::ids::*;
use crate::payload::{Header, Memo};
use crate::search_attributes::SearchAttributes;

const CHILD_RUN: RunId = RunId::from_u128(500);

fn start_child(id: &str, policy: ParentClosePolicy) -> Command {
    Command::StartChildWorkflowExecution(Box::new(StartChildWorkflowExecutionCommandAttributes {
        namespace: None,
        workflow_id: WorkflowId::new(id).unwrap(),
        workflow_type: WorkflowType::new("Shipment").unwrap(),
        task_queue: None,
        input: json("box"),
        workflow_execution_timeout: None,
        workflow_run_timeout: None,
        workflow_task_timeout: None,
        parent_close_policy: policy,
        workflow_id_reuse_policy: WorkflowIdReusePolicy::default(),
        retry_policy: None,
        cron_schedule: None,
        header: Header::new(),
        memo: Memo::default(),
        search_attributes: SearchAttributes::default(),
    }))
}

fn initiated(event_id: u64) -> EventId {
    EventId::new(event_id).unwrap()
}

fn started(event_id: u64) -> Input {
    Input::ChildWorkflowStarted {
        initiated_event_id: initiated(event_id),
        run_id: CHILD_RUN,
        header: Header::new().with("trace", json_value(event_id)),
    }
}

fn json_value(value: u64) -> crate::Payload {
    crate::Payload::json(&value).unwrap()
}

fn closed(event_id: u64, outcome: ChildOutcome) -> Input {
    Input::ChildWorkflowClosed {
        initiated_event_id: initiated(event_id),
        run_id: CHILD_RUN,
        outcome,
    }
}

/// A parent whose first task initiated one child (event 5).
fn parent(policy: ParentClosePolicy) -> (Run, Effects) {
    let (mut run, _) = Run::start(options());
    let effects = run.run_task(vec![start_child("shipment-1", policy)]);
    (run, effects)
}

#[test]
fn a_child_started_then_completed_is_written_with_its_references() {
    let (mut run, effects) = parent(ParentClosePolicy::Terminate);
    check(
        &effects.events,
        "4 WorkflowTaskCompleted scheduled=2 started=3
         5 StartChildWorkflowExecutionInitiated wtc=4",
    );
    assert_eq!(
        effects.tasks,
        [Task::StartChildWorkflow {
            initiated_event_id: initiated(5)
        }]
    );
    let started_events = run.apply(started(5)).events;
    check(
        &started_events,
        "6 ChildWorkflowExecutionStarted initiated=5
         7 WorkflowTaskScheduled",
    );
    // Started repeats the header the child was started with, as Temporal does.
    let EventAttributes::ChildWorkflowExecutionStarted(child) = &started_events[0].attributes
    else {
        unreachable!()
    };
    assert_eq!(child.header, Header::new().with("trace", json_value(5)));
    // A repeated report of the same start changes nothing.
    assert!(run.apply(started(5)).events.is_empty());
    run.run_task(vec![]);
    let effects = run.apply(closed(5, ChildOutcome::Completed(Some(json("shipped")))));
    check(
        &effects.events,
        "10 ChildWorkflowExecutionCompleted initiated=5 started=6
         11 WorkflowTaskScheduled",
    );
    let EventAttributes::ChildWorkflowExecutionCompleted(completed) = &effects.events[0].attributes
    else {
        unreachable!()
    };
    assert_eq!(completed.child.workflow_execution.run_id, Some(CHILD_RUN));
    assert_eq!(completed.result, Some(json("shipped")));
    assert!(run.machine.children().is_empty());
    // Once closed, the child is unknown: a late report is refused.
    assert!(matches!(
        run.try_apply(closed(5, ChildOutcome::Terminated)),
        Err(Rejected::NotFound(_))
    ));
}

#[test]
fn reports_during_a_task_are_buffered_and_keep_their_references() {
    let (mut run, _) = parent(ParentClosePolicy::Terminate);
    run.signal("wake", None).unwrap();
    let token = run.start_task();
    assert!(run.apply(started(5)).events.is_empty(), "buffered");
    let failure = Failure::application("lost in transit", "Lost");
    assert!(
        run.apply(closed(
            5,
            ChildOutcome::Failed {
                failure: Box::new(failure),
                retry_state: RetryState::RetryPolicyNotSet
            }
        ))
        .events
        .is_empty(),
        "buffered"
    );
    // The runtime may report the close again (a redelivery): it is refused, not doubled.
    assert!(matches!(
        run.try_apply(closed(5, ChildOutcome::Terminated)),
        Err(Rejected::NotFound(_))
    ));
    let input = run.completion(token, vec![]);
    check(
        &run.apply(input).events,
        "9 WorkflowTaskCompleted scheduled=7 started=8
         10 ChildWorkflowExecutionStarted initiated=5
         11 ChildWorkflowExecutionFailed initiated=5 started=10
         12 WorkflowTaskScheduled",
    );
}

#[test]
fn a_close_reported_before_the_start_writes_both() {
    let (mut run, _) = parent(ParentClosePolicy::Terminate);
    let effects = run.apply(closed(5, ChildOutcome::Canceled(None)));
    check(
        &effects.events,
        "6 ChildWorkflowExecutionStarted initiated=5
         7 WorkflowTaskScheduled
         8 ChildWorkflowExecutionCanceled initiated=5 started=6",
    );
    // The start's own report comes late and finds nothing to do.
    assert!(matches!(
        run.try_apply(started(5)),
        Err(Rejected::NotFound(_))
    ));
    // A close naming another run is refused.
    let (mut run, _) = parent(ParentClosePolicy::Terminate);
    run.apply(started(5));
    let other = Input::ChildWorkflowClosed {
        initiated_event_id: initiated(5),
        run_id: RunId::from_u128(501),
        outcome: ChildOutcome::Terminated,
    };
    assert!(matches!(run.try_apply(other), Err(Rejected::NotFound(_))));
}

#[test]
fn a_child_that_cannot_start_is_reported_and_forgotten() {
    let (mut run, _) = parent(ParentClosePolicy::Terminate);
    let effects = run.apply(Input::StartChildWorkflowFailed {
        initiated_event_id: initiated(5),
        cause: StartChildWorkflowExecutionFailedCause::WorkflowAlreadyExists,
    });
    check(
        &effects.events,
        "6 StartChildWorkflowExecutionFailed initiated=5 wtc=4
         7 WorkflowTaskScheduled",
    );
    assert!(run.machine.children().is_empty());
}

#[test]
fn closing_the_parent_applies_each_childs_close_policy() {
    let (mut run, _) = Run::start(options());
    run.run_task(vec![
        start_child("terminate-me", ParentClosePolicy::Terminate),
        start_child("cancel-me", ParentClosePolicy::RequestCancel),
        start_child("leave-me", ParentClosePolicy::Abandon),
    ]);
    run.apply(started(5));
    let effects = run.run_task(vec![complete("done")]);
    assert_eq!(run.machine.status(), WorkflowExecutionStatus::Completed);
    let policies: Vec<&Task> = effects
        .tasks
        .iter()
        .filter(|task| matches!(task, Task::ApplyParentClosePolicy { .. }))
        .collect();
    // The started child and the one whose start is still on its way; not the abandoned.
    assert_eq!(
        policies,
        [
            &Task::ApplyParentClosePolicy {
                initiated_event_id: initiated(5)
            },
            &Task::ApplyParentClosePolicy {
                initiated_event_id: initiated(6)
            },
        ]
    );
    assert_eq!(run.machine.children().len(), 3, "kept for the policy");
    assert!(
        !effects.tasks.contains(&Task::RecordChildCompletion),
        "no parent to tell"
    );
}

#[test]
fn continue_as_new_applies_the_policy_too() {
    let (mut run, _) = parent(ParentClosePolicy::Terminate);
    run.apply(started(5));
    let effects = run.run_task(vec![Command::ContinueAsNewWorkflowExecution(Box::new(
        ContinueAsNewWorkflowExecutionCommandAttributes {
            workflow_type: None,
            task_queue: None,
            input: json("next"),
            workflow_run_timeout: None,
            workflow_task_timeout: None,
            backoff_start_interval: None,
            retry_policy: None,
            cron_schedule: None,
            header: Header::new(),
            memo: None,
            search_attributes: None,
        },
    ))]);
    assert!(effects.tasks.contains(&Task::ApplyParentClosePolicy {
        initiated_event_id: initiated(5)
    }));
    let next = effects.next_run.expect("the next run");
    assert!(
        next.machine.children().is_empty(),
        "children stay with the run that started them"
    );
}

/// A child run: started with a parent.
fn child_run(options: crate::options::StartWorkflowOptions) -> Run {
    let mut request = StartRequest::from_options(
        Namespace::default(),
        &options,
        RunId::from_u128(1),
        WorkflowType::new("Shipment").unwrap(),
        json("box"),
        Header::new(),
        "engine".into(),
        T0,
    )
    .unwrap();
    request.parent = Some(ParentExecutionInfo {
        namespace: Namespace::default(),
        workflow_execution: WorkflowExecution {
            workflow_id: WorkflowId::new("order_42").unwrap(),
            run_id: Some(RunId::from_u128(9)),
        },
        initiated_event_id: initiated(5),
    });
    Run::start_request(request).0
}

#[test]
fn a_child_reports_only_when_its_chain_ends() {
    let mut child = child_run(options());
    let effects = child.run_task(vec![complete("shipped")]);
    assert!(effects.tasks.contains(&Task::RecordChildCompletion));
    let outcome = ChildOutcome::from_closing_event(&effects.events.last().unwrap().attributes);
    assert_eq!(
        outcome,
        Some(ChildOutcome::Completed(Some(json("shipped"))))
    );

    // A failure that is retried does not end the chain: no report until the last run.
    let mut child = child_run(crate::options::StartWorkflowOptions {
        retry_policy: Some(crate::retry::RetryPolicy {
            maximum_attempts: 2,
            initial_interval: Duration::from_secs(1),
            ..crate::retry::RetryPolicy::default()
        }),
        ..options()
    });
    let fail = Command::FailWorkflowExecution(FailWorkflowExecutionCommandAttributes {
        failure: Failure::application("no truck", "NoTruck"),
    });
    let effects = child.run_task(vec![fail.clone()]);
    assert!(!effects.tasks.contains(&Task::RecordChildCompletion));
    assert_eq!(
        ChildOutcome::from_closing_event(&effects.events.last().unwrap().attributes),
        None
    );
    let next = effects.next_run.expect("a retry");
    assert!(
        next.machine.parent().is_some(),
        "the retry is still the parent's child"
    );
    let mut retry = child_run(options());
    retry.machine = next.machine;
    retry.history = next.effects.events;
    retry.now = T0.saturating_add(Duration::from_secs(1));
    retry.fire();
    let effects = retry.run_task(vec![fail]);
    assert!(effects.tasks.contains(&Task::RecordChildCompletion));
    assert!(matches!(
        ChildOutcome::from_closing_event(&effects.events.last().unwrap().attributes),
        Some(ChildOutcome::Failed {
            retry_state: RetryState::MaximumAttemptsReached,
            ..
        })
    ));
    assert_eq!(retry.machine.first_execution_run_id(), RunId::from_u128(1));
}
