//! The Quick Start (spec §2) through client, worker and the embedded redb engine, asserting
//! the history event by event; plus the worker's handling of failures it cannot run.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use endure::activity::ActivityDefinition;
use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::*;
use endure_core::EventAttributes;
use endure_core::history::{EventType, check_well_formed};

struct SendEmail;

impl ActivityDefinition for SendEmail {
    const NAME: &'static str = "SendEmail";
    type Input = (String, String);
    type Output = String;
}

async fn order_workflow(ctx: WorkflowContext, user_id: String) -> Result<String, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions {
        start_to_close_timeout: Some(Duration::from_secs(10)),
        retry_policy: Some(RetryPolicy {
            initial_interval: Duration::from_millis(50),
            ..RetryPolicy::with_maximum_attempts(3)
        }),
        ..ActivityOptions::default()
    });
    let sent = ctx
        .run_activity::<SendEmail>(&(user_id, "Order Created".to_owned()))
        .await?;
    let _ = ctx.sleep(Duration::from_millis(50)).await;
    Ok(format!("workflow_completed_{sent}"))
}

/// Runs a worker with the Quick Start registered until the returned sender fires.
fn start_worker(
    client: &Client,
    attempts: Arc<AtomicU32>,
    fail_first: bool,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let queue = TaskQueueName::new("my-task-queue").unwrap();
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue,
        WorkerOptions::default(),
    );
    worker.register_workflow("OrderWorkflow", order_workflow);
    worker.register_activity::<SendEmail, _, _>(
        move |ctx: ActivityContext, (user, subject): (String, String)| {
            let attempts = Arc::clone(&attempts);
            async move {
                attempts.fetch_add(1, Ordering::SeqCst);
                assert_eq!(
                    (user.as_str(), subject.as_str()),
                    ("user_123", "Order Created")
                );
                if fail_first && ctx.info().attempt == 1 {
                    return Err(ActivityError::application("smtp busy", "SmtpError"));
                }
                Ok("sent".to_owned())
            }
        },
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));
    (stop, running)
}

#[tokio::test]
async fn quickstart_runs_on_the_embedded_redb_engine() {
    let directory = tempfile::tempdir().unwrap();
    let client = endure::embedded::open(directory.path().join("store.redb"))
        .await
        .unwrap();
    let attempts = Arc::new(AtomicU32::new(0));
    let (stop, running) = start_worker(&client, Arc::clone(&attempts), false);
    let options = StartWorkflowOptions::new(
        WorkflowId::new("order_42").unwrap(),
        TaskQueueName::new("my-task-queue").unwrap(),
    );
    let handle = client
        .start_workflow(options, "OrderWorkflow", &"user_123")
        .await
        .unwrap();
    let result: String = handle.result().await.unwrap();
    assert_eq!(result, "workflow_completed_sent");
    let history = handle.history().await.unwrap();
    check_well_formed(&history).unwrap();
    let types: Vec<EventType> = history.iter().map(|event| event.event_type()).collect();
    assert_eq!(
        types,
        endure_core::history::samples::quickstart_history()
            .events
            .iter()
            .map(|e| e.event_type())
            .collect::<Vec<_>>()
    );
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
    let EventAttributes::ActivityTaskScheduled(scheduled) = &history[4].attributes else {
        panic!()
    };
    assert_eq!(scheduled.activity_type.as_str(), "SendEmail");
    assert_eq!(scheduled.retry_policy.maximum_attempts, 3);
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test]
async fn a_failed_attempt_is_retried_and_the_final_attempt_recorded() {
    let client = endure::embedded::in_memory().await.unwrap();
    let attempts = Arc::new(AtomicU32::new(0));
    let (stop, running) = start_worker(&client, Arc::clone(&attempts), true);
    let options = StartWorkflowOptions::new(
        WorkflowId::new("order_retry").unwrap(),
        TaskQueueName::new("my-task-queue").unwrap(),
    );
    let result: String = client
        .execute_workflow(options, "OrderWorkflow", &"user_123")
        .await
        .unwrap();
    assert_eq!(result, "workflow_completed_sent");
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    let history = client
        .handle(WorkflowId::new("order_retry").unwrap(), None)
        .history()
        .await
        .unwrap();
    let EventAttributes::ActivityTaskStarted(started) = &history[5].attributes else {
        panic!("{:?}", history[5])
    };
    assert_eq!(started.attempt, 2);
    assert_eq!(
        started
            .last_failure
            .as_ref()
            .map(|failure| failure.message.as_str()),
        Some("smtp busy")
    );
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test]
async fn an_unregistered_workflow_type_fails_the_task_not_the_workflow() {
    let client = endure::embedded::in_memory().await.unwrap();
    let (stop, running) = start_worker(&client, Arc::new(AtomicU32::new(0)), false);
    let options = StartWorkflowOptions::new(
        WorkflowId::new("unknown").unwrap(),
        TaskQueueName::new("my-task-queue").unwrap(),
    );
    let handle = client
        .start_workflow(options, "NoSuchWorkflow", &())
        .await
        .unwrap();
    let mut failed = false;
    for _ in 0..200 {
        let history = handle.history().await.unwrap();
        if let Some(EventAttributes::WorkflowTaskFailed(failure)) =
            history.last().map(|event| &event.attributes)
        {
            assert_eq!(
                failure.cause,
                endure_core::WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure
            );
            assert!(
                failure
                    .failure
                    .as_ref()
                    .unwrap()
                    .message
                    .contains("NoSuchWorkflow is not registered")
            );
            failed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(failed, "the workflow task failed");
    assert_eq!(
        handle.describe().await.unwrap().status,
        WorkflowExecutionStatus::Running,
        "the workflow did not fail"
    );
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test]
async fn dynamic_workflows_and_activities_receive_raw_values_and_renamed_copies_both_run() {
    let client = endure::embedded::in_memory().await.unwrap();
    let queue = TaskQueueName::new("dynamic").unwrap();
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    // §5.13.3: the same function under its old and its new name.
    worker.register_workflow("OrderWorkflow", order_workflow);
    worker.register_workflow("OrderWorkflowV2", order_workflow);
    worker.register_activity::<SendEmail, _, _>(|_ctx, _input: (String, String)| async {
        Ok::<_, ActivityError>("sent".to_owned())
    });
    // §5.10: fallbacks for every other type.
    worker.register_dynamic_workflow(
        |ctx: WorkflowContext, workflow_type: String, input: Payloads| async move {
            let ctx = ctx.with_activity_options(ActivityOptions::with_start_to_close_timeout(
                Duration::from_secs(5),
            ));
            let echoed = ctx.execute_activity_raw("AnythingGoes", input).await?;
            let text: String = echoed
                .and_then(|p| p.0.into_iter().next())
                .map(|p| p.decode())
                .transpose()?
                .unwrap_or_default();
            Ok(Some(Payloads::one(Payload::json(&format!(
                "{workflow_type}:{text}"
            ))?)))
        },
    );
    worker.register_dynamic_activity(
        |ctx: ActivityContext, activity_type: String, input: Payloads| async move {
            assert_eq!(ctx.info().activity_type.as_str(), activity_type);
            let value: String = input.0[0]
                .decode()
                .map_err(|e| ActivityError::application(e.to_string(), "Decode"))?;
            Ok(Some(Payloads::one(
                Payload::json(&format!("{activity_type}({value})")).unwrap(),
            )))
        },
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));
    let start = |id: &str| StartWorkflowOptions::new(WorkflowId::new(id).unwrap(), queue.clone());
    let dynamic: String = client
        .execute_workflow(start("dynamic-1"), "ShipmentWorkflow", &"box-7")
        .await
        .unwrap();
    assert_eq!(dynamic, "ShipmentWorkflow:AnythingGoes(box-7)");
    let old: String = client
        .execute_workflow(start("old-name"), "OrderWorkflow", &"user_123")
        .await
        .unwrap();
    let new: String = client
        .execute_workflow(start("new-name"), "OrderWorkflowV2", &"user_123")
        .await
        .unwrap();
    assert_eq!(
        (old.as_str(), new.as_str()),
        ("workflow_completed_sent", "workflow_completed_sent")
    );
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test]
async fn list_and_paged_history_through_the_client() {
    use endure_core::storage::VisibilityQuery;
    let client = endure::embedded::in_memory().await.unwrap();
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

struct Transcode;

impl ActivityDefinition for Transcode {
    const NAME: &'static str = "Transcode";
    type Input = u32;
    type Output = String;
}

#[tokio::test]
async fn a_cancelled_activity_learns_it_through_heartbeats_and_is_recorded_canceled() {
    let client = endure::embedded::in_memory().await.unwrap();
    let queue = TaskQueueName::new("media").unwrap();
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    worker.register_workflow("Media", |ctx: WorkflowContext, (): ()| async move {
        let (scoped, cancel) = ctx.with_cancel();
        let scoped = scoped.with_activity_options(ActivityOptions {
            heartbeat_timeout: Some(Duration::from_secs(10)),
            ..ActivityOptions::with_start_to_close_timeout(Duration::from_secs(60))
                .wait_for_cancellation(true)
        });
        let transcoding = scoped.run_activity::<Transcode>(&3);
        ctx.spawn(async move {
            transcoding.await.ok();
        });
        let _ = ctx.sleep(Duration::from_millis(100)).await;
        cancel.cancel();
        // Give the cancellation time to reach the activity and come back.
        let _ = ctx.sleep(Duration::from_secs(2)).await;
        Ok::<_, WorkflowError>("done".to_owned())
    });
    worker.register_activity::<Transcode, _, _>(|ctx: ActivityContext, _chunks: u32| async move {
        for chunk in 0u32.. {
            if ctx.heartbeat(&chunk).await {
                return Err(ActivityError::canceled(None));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        unreachable!("the loop only ends by cancellation")
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));
    let options = StartWorkflowOptions::new(WorkflowId::new("media-1").unwrap(), queue);
    let result: String = client
        .execute_workflow(options, "Media", &())
        .await
        .unwrap();
    assert_eq!(result, "done");
    let history = client
        .handle(WorkflowId::new("media-1").unwrap(), None)
        .history()
        .await
        .unwrap();
    check_well_formed(&history).unwrap();
    let types: Vec<EventType> = history.iter().map(|event| event.event_type()).collect();
    assert!(
        types.contains(&EventType::ActivityTaskCancelRequested),
        "{types:?}"
    );
    assert!(
        types.contains(&EventType::ActivityTaskCanceled),
        "the activity acknowledged the cancel: {types:?}"
    );
    assert!(!types.contains(&EventType::ActivityTaskFailed));
    let _ = stop.send(());
    running.await.unwrap();
}

struct Charge;

impl ActivityDefinition for Charge {
    const NAME: &'static str = "Charge";
    type Input = u32;
    type Output = String;
}

/// A workflow running one `Charge` activity with a fast retry.
async fn charge_workflow(ctx: WorkflowContext, cents: u32) -> Result<String, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions {
        retry_policy: Some(RetryPolicy {
            initial_interval: Duration::from_millis(50),
            ..RetryPolicy::with_maximum_attempts(3)
        }),
        ..ActivityOptions::with_start_to_close_timeout(Duration::from_secs(3))
    });
    Ok(ctx.run_activity::<Charge>(&cents).await?)
}

fn charge_worker(client: &Client, queue: &TaskQueueName, grace: Duration) -> Worker {
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions {
            graceful_shutdown_timeout: Some(grace),
            ..WorkerOptions::default()
        },
    );
    worker.register_workflow("Charge", charge_workflow);
    worker
}

#[tokio::test]
async fn shutdown_warns_then_cancels_running_activities_and_another_worker_retries_them() {
    let client = endure::embedded::in_memory().await.unwrap();
    let queue = TaskQueueName::new("payments").unwrap();
    let (started, mut running_activity) = tokio::sync::mpsc::unbounded_channel::<()>();
    let observed = Arc::new(parking_lot::Mutex::new(Vec::<String>::new()));
    let mut first = charge_worker(&client, &queue, Duration::from_millis(100));
    let seen = Arc::clone(&observed);
    first.register_activity::<Charge, _, _>(move |ctx: ActivityContext, _cents: u32| {
        let (started, seen) = (started.clone(), Arc::clone(&seen));
        async move {
            let _ = started.send(());
            ctx.worker_stopping().await;
            seen.lock()
                .push(format!("stopping, canceled: {}", ctx.is_canceled()));
            // Heartbeats still go through while the worker shuts down.
            ctx.heartbeat(&"halfway").await;
            let reason = ctx.cancelled().await;
            seen.lock().push(format!("canceled: {reason:?}"));
            Err::<String, _>(ActivityError::canceled(None))
        }
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let first = tokio::spawn(first.run(async {
        let _ = stopped.await;
    }));
    let id = WorkflowId::new("charge-1").unwrap();
    let handle = client
        .start_workflow(
            StartWorkflowOptions::new(id.clone(), queue.clone()),
            "Charge",
            &250u32,
        )
        .await
        .unwrap();
    running_activity.recv().await.unwrap();
    let _ = stop.send(());
    first.await.unwrap();
    assert_eq!(
        *observed.lock(),
        ["stopping, canceled: false", "canceled: WorkerShutdown"]
    );

    // A second worker gets the retry, with the first attempt's heartbeat to resume from.
    let mut second = charge_worker(&client, &queue, Duration::from_millis(100));
    second.register_activity::<Charge, _, _>(|ctx: ActivityContext, cents: u32| async move {
        let resumed: Option<String> = ctx.heartbeat_details().and_then(Result::ok);
        Ok(format!(
            "charged {cents} on attempt {} from {resumed:?}",
            ctx.info().attempt
        ))
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let second = tokio::spawn(second.run(async {
        let _ = stopped.await;
    }));
    let result: String = handle.result().await.unwrap();
    assert_eq!(result, "charged 250 on attempt 2 from Some(\"halfway\")");
    let history = handle.history().await.unwrap();
    check_well_formed(&history).unwrap();
    let types: Vec<EventType> = history.iter().map(|event| event.event_type()).collect();
    assert_eq!(
        types,
        [
            EventType::WorkflowExecutionStarted,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
            EventType::WorkflowTaskCompleted,
            EventType::ActivityTaskScheduled,
            EventType::ActivityTaskStarted,
            EventType::ActivityTaskCompleted,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
            EventType::WorkflowTaskCompleted,
            EventType::WorkflowExecutionCompleted,
        ]
    );
    let EventAttributes::ActivityTaskStarted(started) = &history[5].attributes else {
        panic!("event 6 is {:?}", history[5]);
    };
    assert_eq!(started.attempt, 2);
    assert_eq!(
        started
            .last_failure
            .as_ref()
            .map(|failure| failure.message.as_str()),
        Some("the worker shut down before the activity finished")
    );
    let _ = stop.send(());
    second.await.unwrap();
}

#[tokio::test]
async fn an_activity_ignoring_the_shutdown_cancel_is_dropped_and_shutdown_completes() {
    let client = endure::embedded::in_memory().await.unwrap();
    let queue = TaskQueueName::new("stubborn").unwrap();
    let (started, mut running_activity) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut worker = charge_worker(&client, &queue, Duration::from_millis(50));
    worker.register_activity::<Charge, _, _>(move |_ctx: ActivityContext, _cents: u32| {
        let started = started.clone();
        async move {
            let _ = started.send(());
            std::future::pending::<()>().await;
            Ok::<String, ActivityError>("never".to_owned())
        }
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));
    client
        .start_workflow(
            StartWorkflowOptions::new(WorkflowId::new("stubborn-1").unwrap(), queue),
            "Charge",
            &1u32,
        )
        .await
        .unwrap();
    running_activity.recv().await.unwrap();
    let _ = stop.send(());
    // A liveness guard only: shutdown must end although the activity never returns.
    tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .expect("shutdown completes")
        .unwrap();
}
