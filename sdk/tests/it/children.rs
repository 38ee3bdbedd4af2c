//! Child workflows end to end (spec §5.20) on the embedded engine over redb: fan-out and
//! fan-in with the histories' back-references checked, a child's failure reaching the
//! parent as a child workflow failure caused by it, a child that cannot start, waiting for
//! the start only, the parent close policies TERMINATE and ABANDON, and a cancelled parent
//! cancelling its child.

use std::time::Duration;

use endure::workflow::{ChildWorkflowError, ChildWorkflowOptions, WorkflowContext, WorkflowError};
use endure::*;
use endure_core::history::{EventType, HistoryEvent, check_well_formed};
use endure_core::{EventAttributes, EventId, ParentClosePolicy};

use crate::store_client;

async fn square(_ctx: WorkflowContext, n: u64) -> Result<u64, WorkflowError> {
    Ok(n * n)
}

async fn out_of_stock(_ctx: WorkflowContext, (): ()) -> Result<(), WorkflowError> {
    Err(Failure::application("out of stock", "OutOfStock").into())
}

/// Waits for a `finish` signal, then returns its value.
async fn waits(ctx: WorkflowContext, (): ()) -> Result<String, WorkflowError> {
    Ok(ctx.signal_channel("finish").recv_json::<String>().await?)
}

/// Fans out one `Square` child per number, then adds up their results.
async fn sum_of_squares(ctx: WorkflowContext, numbers: Vec<u64>) -> Result<u64, WorkflowError> {
    let children: Vec<_> = numbers
        .iter()
        .map(|n| {
            let options = ChildWorkflowOptions {
                workflow_id: Some(format!("square-{n}")),
                ..ChildWorkflowOptions::default()
            };
            ctx.start_child_workflow("Square", n, options)
        })
        .collect();
    for child in &children {
        child.started().await?;
    }
    let mut sum = 0;
    for child in children {
        sum += child.result::<u64>().await?;
    }
    Ok(sum)
}

/// Runs an `OutOfStock` child and fails with its error.
async fn orders(ctx: WorkflowContext, (): ()) -> Result<(), WorkflowError> {
    let options = ChildWorkflowOptions {
        workflow_id: Some("reserve".into()),
        ..ChildWorkflowOptions::default()
    };
    ctx.execute_child_workflow::<_, ()>("OutOfStock", &(), options)
        .await?;
    Ok(())
}

/// Starts a `Waits` child with id `id` and the given policy, waits for its start only,
/// then returns the child's run id.
async fn starter(
    ctx: WorkflowContext,
    (id, abandon): (String, bool),
) -> Result<String, WorkflowError> {
    let options = ChildWorkflowOptions {
        workflow_id: Some(id),
        parent_close_policy: if abandon {
            ParentClosePolicy::Abandon
        } else {
            ParentClosePolicy::Terminate
        },
        ..ChildWorkflowOptions::default()
    };
    let child = ctx.start_child_workflow("Waits", &(), options);
    match child.started().await {
        Ok(execution) => Ok(execution
            .run_id
            .map(|run| run.to_string())
            .unwrap_or_default()),
        Err(ChildWorkflowError(failure)) => Ok(format!("not started: {}", failure.message)),
    }
}

/// Waits for a `Waits` child's result; a cancel request reaches the child.
async fn patient(ctx: WorkflowContext, (): ()) -> Result<String, WorkflowError> {
    let options = ChildWorkflowOptions {
        workflow_id: Some("patient-child".into()),
        ..ChildWorkflowOptions::default()
    };
    match ctx
        .execute_child_workflow::<_, String>("Waits", &(), options)
        .await
    {
        Ok(result) => Ok(result),
        Err(_) if ctx.is_canceled() => Err(WorkflowError::Canceled),
        Err(error) => Err(error.into()),
    }
}

/// Starts a `Waits` child, signals it `finish` through its handle once it started, and
/// returns what the child returned.
async fn signaller(ctx: WorkflowContext, (): ()) -> Result<String, WorkflowError> {
    let child = ctx.start_child_workflow(
        "Waits",
        &(),
        ChildWorkflowOptions {
            workflow_id: Some("signalled-child".into()),
            ..ChildWorkflowOptions::default()
        },
    );
    child
        .started()
        .await
        .map_err(|error| WorkflowError::Failed(Box::new(error.0.as_ref().clone())))?;
    child
        .signal("finish", &"by my parent")
        .await
        .map_err(|error| Failure::application(error.to_string(), "SignalFailed"))?;
    child
        .result::<String>()
        .await
        .map_err(|error| WorkflowError::Failed(Box::new(error.0.as_ref().clone())))
}

fn start_worker(
    client: &Client,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        TaskQueueName::new("family").unwrap(),
        WorkerOptions::default(),
    );
    worker.register_workflow("Square", square);
    worker.register_workflow("OutOfStock", out_of_stock);
    worker.register_workflow("Waits", waits);
    worker.register_workflow("SumOfSquares", sum_of_squares);
    worker.register_workflow("Orders", orders);
    worker.register_workflow("Starter", starter);
    worker.register_workflow("Patient", patient);
    worker.register_workflow("Signaller", signaller);
    crate::spawn_worker(worker)
}

fn options(id: &str) -> StartWorkflowOptions {
    StartWorkflowOptions::new(
        WorkflowId::new(id).unwrap(),
        TaskQueueName::new("family").unwrap(),
    )
}

fn event(history: &[HistoryEvent], id: EventId) -> &HistoryEvent {
    &history[(id.get() - 1) as usize]
}

/// Every child event of a parent's history refers to the right events: Started and
/// StartFailed to an Initiated event, a close to its Started event of the same child.
fn check_child_references(history: &[HistoryEvent]) {
    for current in history {
        match &current.attributes {
            EventAttributes::ChildWorkflowExecutionStarted(a) => {
                assert_eq!(
                    event(history, a.initiated_event_id).event_type(),
                    EventType::StartChildWorkflowExecutionInitiated
                );
            }
            EventAttributes::ChildWorkflowExecutionCompleted(a) => {
                let EventAttributes::ChildWorkflowExecutionStarted(started) =
                    &event(history, a.child.started_event_id).attributes
                else {
                    panic!("event {} refers to a non-Started event", current.event_id)
                };
                assert_eq!(started.initiated_event_id, a.child.initiated_event_id);
                assert_eq!(started.workflow_execution, a.child.workflow_execution);
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn children_fan_out_and_fan_in() {
    let (client, _store) = store_client().await;
    let (stop, running) = start_worker(&client);
    let sum: u64 = client
        .execute_workflow(options("sum-1"), "SumOfSquares", &vec![1_u64, 2, 3])
        .await
        .unwrap();
    assert_eq!(sum, 14);
    let parent = client.handle(WorkflowId::new("sum-1").unwrap(), None);
    let history = parent.history().await.unwrap();
    check_well_formed(&history).unwrap();
    check_child_references(&history);
    let count = |event_type: EventType| {
        history
            .iter()
            .filter(|event| event.event_type() == event_type)
            .count()
    };
    assert_eq!(count(EventType::StartChildWorkflowExecutionInitiated), 3);
    assert_eq!(count(EventType::ChildWorkflowExecutionStarted), 3);
    assert_eq!(count(EventType::ChildWorkflowExecutionCompleted), 3);
    // The three commands are one task's.
    let initiated: Vec<u64> = history
        .iter()
        .filter(|event| event.event_type() == EventType::StartChildWorkflowExecutionInitiated)
        .map(|event| event.event_id.get())
        .collect();
    assert_eq!(initiated, [5, 6, 7]);
    for n in [1, 2, 3] {
        let child = client.handle(WorkflowId::new(format!("square-{n}")).unwrap(), None);
        let child_history = child.history().await.unwrap();
        let EventAttributes::WorkflowExecutionStarted(started) = &child_history[0].attributes
        else {
            unreachable!()
        };
        let parent_info = started.parent.as_ref().expect("a child knows its parent");
        assert_eq!(parent_info.workflow_execution.workflow_id.as_str(), "sum-1");
        assert_eq!(parent_info.initiated_event_id.get(), 4 + n);
    }
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test]
async fn a_child_failure_reaches_the_parent_with_its_cause() {
    let (client, _store) = store_client().await;
    let (stop, running) = start_worker(&client);
    let handle = client
        .start_workflow(options("orders-1"), "Orders", &())
        .await
        .unwrap();
    let Err(ClientError::WorkflowFailed(failure)) = handle.result::<()>().await else {
        panic!("the parent fails with its child")
    };
    let chain: Vec<&Failure> = failure.chain().collect();
    assert!(
        matches!(&chain[0].info, FailureInfo::ChildWorkflowExecution { workflow_type, .. } if workflow_type.as_str() == "OutOfStock"),
        "{failure:?}"
    );
    assert_eq!(chain[1].message, "out of stock");
    assert_eq!(chain[1].application_error_type(), Some("OutOfStock"));
    let history = handle.history().await.unwrap();
    let failed = history
        .iter()
        .find(|event| event.event_type() == EventType::ChildWorkflowExecutionFailed)
        .expect("the child's failure is in the parent's history");
    let EventAttributes::ChildWorkflowExecutionFailed(a) = &failed.attributes else {
        unreachable!()
    };
    assert_eq!(a.failure.message, "out of stock");
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test]
async fn waiting_for_the_start_only_and_the_close_policies() {
    let (client, _store) = store_client().await;
    let (stop, running) = start_worker(&client);
    // TERMINATE (the default): the child dies with its parent.
    let run: String = client
        .execute_workflow(
            options("starter-1"),
            "Starter",
            &("doomed-child".to_owned(), false),
        )
        .await
        .unwrap();
    assert!(!run.is_empty() && !run.starts_with("not started"), "{run}");
    let doomed = client.handle(WorkflowId::new("doomed-child").unwrap(), None);
    let result = doomed.result::<String>().await;
    assert!(
        matches!(&result, Err(ClientError::WorkflowClosed(why)) if why.contains("erminated")),
        "{result:?}"
    );
    // ABANDON: the child outlives its parent and finishes on its own.
    client
        .execute_workflow::<_, String>(
            options("starter-2"),
            "Starter",
            &("orphan-child".to_owned(), true),
        )
        .await
        .unwrap();
    let orphan = client.handle(WorkflowId::new("orphan-child").unwrap(), None);
    orphan.signal("finish", &"on my own").await.unwrap();
    assert_eq!(orphan.result::<String>().await.unwrap(), "on my own");
    // A child whose id is taken by a running workflow cannot start.
    client
        .start_workflow(options("taken"), "Waits", &())
        .await
        .unwrap();
    let refused: String = client
        .execute_workflow(
            options("starter-3"),
            "Starter",
            &("taken".to_owned(), false),
        )
        .await
        .unwrap();
    assert!(refused.starts_with("not started"), "{refused}");
    let history = client
        .handle(WorkflowId::new("starter-3").unwrap(), None)
        .history()
        .await
        .unwrap();
    assert!(history.iter().any(|event| matches!(
        &event.attributes,
        EventAttributes::StartChildWorkflowExecutionFailed(a)
            if a.cause == endure_core::StartChildWorkflowExecutionFailedCause::WorkflowAlreadyExists
    )));
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test]
async fn a_cancelled_parent_cancels_its_child() {
    let (client, _store) = store_client().await;
    let (stop, running) = start_worker(&client);
    let handle = client
        .start_workflow(options("patient-1"), "Patient", &())
        .await
        .unwrap();
    let child = client.handle(WorkflowId::new("patient-child").unwrap(), None);
    for _ in 0..500 {
        if child.describe().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    handle.cancel().await.unwrap();
    let result = handle.result::<String>().await;
    assert!(
        matches!(&result, Err(ClientError::WorkflowClosed(why)) if why.contains("anceled")),
        "{result:?}"
    );
    let child_history = child.history().await.unwrap();
    assert!(
        child_history
            .iter()
            .any(|event| event.event_type() == EventType::WorkflowExecutionCancelRequested),
        "the child was asked to cancel"
    );
    let _ = stop.send(());
    running.await.unwrap();
}

/// A parent signals its child through the child's handle (Go's `SignalChildWorkflow`):
/// recorded as only for a child, delivered to the child's run, its outcome in the parent.
#[tokio::test]
async fn a_parent_signals_its_child_through_the_handle() {
    let (client, _store) = store_client().await;
    let (stop, running) = start_worker(&client);
    let result: String = client
        .execute_workflow(options("signaller"), "Signaller", &())
        .await
        .unwrap();
    assert_eq!(result, "by my parent");
    let parent = client
        .handle(WorkflowId::new("signaller").unwrap(), None)
        .history()
        .await
        .unwrap();
    let (initiated, attributes) = parent
        .iter()
        .find_map(|event| match &event.attributes {
            EventAttributes::SignalExternalWorkflowExecutionInitiated(a) => Some((event, a)),
            _ => None,
        })
        .expect("the signal's Initiated event");
    assert!(attributes.child_workflow_only);
    assert_eq!(attributes.signal_name.as_str(), "finish");
    assert_eq!(
        attributes.workflow_execution.workflow_id.as_str(),
        "signalled-child"
    );
    assert!(
        attributes.workflow_execution.run_id.is_some(),
        "addressed to the child's run"
    );
    let delivered = parent
        .iter()
        .find_map(|event| match &event.attributes {
            EventAttributes::ExternalWorkflowExecutionSignaled(a) => Some(a),
            _ => None,
        })
        .expect("the outcome in the parent");
    assert_eq!(delivered.initiated_event_id, initiated.event_id);
    check_well_formed(&parent).unwrap();
    let child = client
        .handle(WorkflowId::new("signalled-child").unwrap(), None)
        .history()
        .await
        .unwrap();
    let signalled = child
        .iter()
        .find_map(|event| match &event.attributes {
            EventAttributes::WorkflowExecutionSignaled(a) => Some(a),
            _ => None,
        })
        .expect("the signal in the child");
    assert_eq!(
        signalled
            .external_workflow_execution
            .as_ref()
            .map(|sender| sender.workflow_id.as_str()),
        Some("signaller")
    );
    let _ = stop.send(());
    running.await.unwrap();
}
