//! The client: listing workflows by visibility filters, paging history, deduplicated signals.

use std::sync::Arc;
use std::sync::atomic::AtomicU32;

use endure::*;

use crate::quickstart::start_worker;
use crate::store_client;

#[tokio::test]
async fn list_and_paged_history_through_the_client() {
    use endure_core::storage::VisibilityQuery;
    let (client, _store) = store_client().await;
    let (stop, running) = start_worker(&client, Arc::new(AtomicU32::new(0)), false);
    let queue = TaskQueueName::new("my-task-queue").unwrap();
    for id in ["list-a", "list-b"] {
        let _: String = client
            .execute_workflow(
                StartWorkflowOptions::new(WorkflowId::new(id).unwrap(), queue.clone()),
                "OrderWorkflow",
                &"user_123",
            )
            .await
            .unwrap();
    }
    let open = client
        .start_workflow(
            StartWorkflowOptions::new(WorkflowId::new("list-c").unwrap(), queue.clone()),
            "Unregistered",
            &(),
        )
        .await
        .unwrap();
    let all = client
        .list_workflows(VisibilityQuery::default(), 0, 10)
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    let completed = VisibilityQuery {
        status: Some(WorkflowExecutionStatus::Completed),
        ..VisibilityQuery::default()
    };
    let mut ids: Vec<String> = client
        .list_workflows(completed, 0, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.execution.workflow_id.to_string())
        .collect();
    ids.sort();
    assert_eq!(ids, ["list-a", "list-b"]);
    let running_only = VisibilityQuery {
        status: Some(WorkflowExecutionStatus::Running),
        ..VisibilityQuery::default()
    };
    let rows = client.list_workflows(running_only, 0, 10).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0].execution.workflow_id, open.workflow_id());
    let page = client
        .handle(WorkflowId::new("list-a").unwrap(), None)
        .history_page(endure_core::EventId::FIRST)
        .await
        .unwrap();
    assert_eq!(page.events.len(), 16);
    assert_eq!(page.next_event_id, None, "a short history fits one page");
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test]
async fn a_signal_resent_with_its_request_id_is_recorded_once() {
    use endure_core::history::EventType;
    let (client, _store) = store_client().await;
    // No worker: the run stays open and only its history matters.
    let handle = client
        .start_workflow(
            StartWorkflowOptions::new(
                WorkflowId::new("signalled").unwrap(),
                TaskQueueName::new("nobody").unwrap(),
            ),
            "Waiting",
            &(),
        )
        .await
        .unwrap();
    for _ in 0..3 {
        handle
            .signal_with_request_id("go", &"once", "signal-1")
            .await
            .unwrap();
    }
    handle.signal("go", &"plain").await.unwrap();
    handle.signal("go", &"plain").await.unwrap();
    let history = handle.history().await.unwrap();
    let signals: Vec<String> = history
        .iter()
        .filter(|event| event.event_type() == EventType::WorkflowExecutionSignaled)
        .map(|event| match &event.attributes {
            endure_core::EventAttributes::WorkflowExecutionSignaled(signal) => {
                signal.input.0[0].decode::<String>().unwrap()
            }
            _ => unreachable!(),
        })
        .collect();
    // The deduplicated one once; signals without a request id are distinct sends.
    assert_eq!(signals, ["once", "plain", "plain"]);
    assert!(
        handle.signal_with_request_id("go", &"x", "").await.is_err(),
        "an empty request id is refused"
    );
}

/// Deleting a workflow (Temporal's `DeleteWorkflowExecution`): a running run is
/// terminated, then it and its history are gone; the id may be used again even by a start
/// that refuses duplicates; a run deleted twice is not found.
#[tokio::test]
async fn a_deleted_workflow_is_terminated_then_gone() {
    let (client, _store) = store_client().await;
    let queue = TaskQueueName::new("nobody-polls").unwrap();
    let id = WorkflowId::new("doomed").unwrap();
    let options = StartWorkflowOptions::new(id.clone(), queue.clone());
    let handle = client.start_workflow(options, "Doomed", &()).await.unwrap();
    let run = handle.clone();
    handle.delete().await.unwrap();
    let described = run.describe().await;
    assert!(
        matches!(&described, Err(ClientError::Remote(remote)) if remote.kind == ErrorKind::NotFound),
        "{described:?}"
    );
    assert!(run.history().await.unwrap_or_default().is_empty());
    let rows = client
        .list_workflows(VisibilityQuery::default(), 0, 10)
        .await
        .unwrap();
    assert!(rows.is_empty(), "{rows:?}");
    // The id is free again, even for a start refusing duplicates.
    let mut again = StartWorkflowOptions::new(id.clone(), queue);
    again.id_reuse_policy = WorkflowIdReusePolicy::RejectDuplicate;
    let second = client.start_workflow(again, "Doomed", &()).await.unwrap();
    assert_ne!(second.run_id(), run.run_id());
    // Deleting what is gone says so.
    let twice = run.delete().await;
    assert!(
        matches!(&twice, Err(ClientError::Remote(remote)) if remote.kind == ErrorKind::NotFound),
        "{twice:?}"
    );
}

/// Describe shows what a run has pending, as Temporal's: each activity with its state,
/// attempt and last failure while it waits out a retry, each child with its run, and the
/// run's memo and search attributes.
#[tokio::test]
async fn describe_shows_pending_activities_children_memo_and_search_attributes() {
    use std::time::Duration;

    use endure::workflow::{ActivityError, ChildWorkflowOptions, WorkflowContext, WorkflowError};

    let (client, _store) = store_client().await;
    let queue = TaskQueueName::new("describe").unwrap();
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    worker.register_workflow("Busy", |ctx: WorkflowContext, (): ()| async move {
        let ctx = ctx.with_activity_options(ActivityOptions {
            retry_policy: Some(RetryPolicy {
                initial_interval: Duration::from_secs(3600),
                ..RetryPolicy::default()
            }),
            ..ActivityOptions::with_start_to_close_timeout(Duration::from_secs(10))
        });
        let child = ctx.start_child_workflow(
            "Idle",
            &(),
            ChildWorkflowOptions {
                workflow_id: Some("busy-child".into()),
                ..ChildWorkflowOptions::default()
            },
        );
        let charged = ctx.execute_activity::<(), ()>("Charge", &());
        let _ = charged.await;
        let _ = child.await;
        Ok::<_, WorkflowError>(())
    });
    worker.register_workflow("Idle", |ctx: WorkflowContext, (): ()| async move {
        ctx.cancelled().await;
        Ok::<_, WorkflowError>(())
    });
    struct Charge;
    impl endure::activity::ActivityDefinition for Charge {
        const NAME: &'static str = "Charge";
        type Input = ();
        type Output = ();
    }
    worker.register_activity::<Charge, _, _>(|_ctx, (): ()| async move {
        Err::<(), _>(ActivityError::application("card declined", "Declined"))
    });
    let (stop, running) = crate::spawn_worker(worker);
    let mut options = StartWorkflowOptions::new(WorkflowId::new("busy").unwrap(), queue);
    options
        .memo
        .0
        .insert("note".into(), Payload::json(&"gift").unwrap());
    options
        .search_attributes
        .insert("Customer", SearchAttributeValue::Keyword("ada".into()));
    let handle = client.start_workflow(options, "Busy", &()).await.unwrap();
    let mut description = handle.describe().await.unwrap();
    for _ in 0..500 {
        let ready = description
            .pending_activity_details
            .first()
            .is_some_and(|activity| activity.attempt == 2)
            && description
                .pending_child_details
                .first()
                .is_some_and(|child| child.run_id.is_some());
        if ready {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        description = handle.describe().await.unwrap();
    }
    let activity = &description.pending_activity_details[0];
    assert_eq!(activity.activity_type.as_str(), "Charge");
    assert_eq!(activity.state, PendingActivityState::Scheduled);
    assert_eq!(activity.attempt, 2);
    assert_eq!(
        activity
            .last_failure
            .as_ref()
            .map(|failure| failure.message.as_str()),
        Some("card declined")
    );
    assert!(
        activity.next_attempt_schedule_time.is_some(),
        "waits out its backoff"
    );
    let child = &description.pending_child_details[0];
    assert_eq!(child.workflow_id.as_str(), "busy-child");
    assert_eq!(child.workflow_type.as_str(), "Idle");
    assert!(child.run_id.is_some());
    assert!(description.memo.0.contains_key("note"));
    assert_eq!(
        description.search_attributes.0.get("Customer"),
        Some(&SearchAttributeValue::Keyword("ada".into()))
    );
    handle.terminate("done").await.unwrap();
    let _ = stop.send(());
    running.await.unwrap();
}
