//! Worker shutdown: running activities are told at once, canceled after the grace period
//! and retried by another worker; one that ignores the cancel is dropped.

use std::sync::Arc;
use std::time::Duration;

use endure::activity::ActivityDefinition;
use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::*;
use endure_core::EventAttributes;
use endure_core::history::{EventType, check_well_formed};

use crate::store_client;

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
    let (client, _store) = store_client().await;
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
    assert_eq!(types, crate::ONE_ACTIVITY_HISTORY);
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
    let (client, _store) = store_client().await;
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
    let (stop, running) = crate::spawn_worker(worker);
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

#[tokio::test]
async fn an_unbounded_grace_period_waits_for_running_activities_to_finish() {
    let (client, _store) = store_client().await;
    let queue = TaskQueueName::new("patient").unwrap();
    let (started, mut running_activity) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut worker = charge_worker(&client, &queue, Duration::MAX);
    worker.register_activity::<Charge, _, _>(move |ctx: ActivityContext, cents: u32| {
        let started = started.clone();
        async move {
            let _ = started.send(());
            ctx.worker_stopping().await;
            // Finishing during shutdown is allowed; the result is reported as usual.
            Ok::<_, ActivityError>(format!("charged {cents} while stopping"))
        }
    });
    let (stop, running) = crate::spawn_worker(worker);
    let handle = client
        .start_workflow(
            StartWorkflowOptions::new(WorkflowId::new("patient-1").unwrap(), queue.clone()),
            "Charge",
            &7u32,
        )
        .await
        .unwrap();
    running_activity.recv().await.unwrap();
    let _ = stop.send(());
    running.await.unwrap();
    let history = handle.history().await.unwrap();
    check_well_formed(&history).unwrap();
    // The activity's result was recorded; the next workflow task waits for a worker.
    let types: Vec<EventType> = history.iter().map(|event| event.event_type()).collect();
    assert_eq!(
        types[types.len() - 3..],
        [
            EventType::ActivityTaskStarted,
            EventType::ActivityTaskCompleted,
            EventType::WorkflowTaskScheduled,
        ]
    );
}
