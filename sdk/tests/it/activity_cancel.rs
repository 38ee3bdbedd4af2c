//! Cancellation the workflow requests, learned by the activity through heartbeats
//! (spec §5.12.2, §5.12.4) and acknowledged as `ActivityTaskCanceled`; the three
//! cancellation types (try-cancel, wait for the cancellation to complete, abandon) and the
//! events each writes.

use std::time::Duration;

use endure::activity::ActivityDefinition;
use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::*;
use endure_core::history::{EventType, check_well_formed};

use crate::store_client;

struct Transcode;

impl ActivityDefinition for Transcode {
    const NAME: &'static str = "Transcode";
    type Input = u32;
    type Output = String;
}

#[tokio::test]
async fn a_cancelled_activity_learns_it_through_heartbeats_and_is_recorded_canceled() {
    let (client, _store) = store_client().await;
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
    let (stop, running) = crate::spawn_worker(worker);
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

/// Runs one heartbeating activity in a cancellable scope with `cancellation_type`,
/// cancels the scope, awaits the activity and completes.
async fn cancel_with(cancellation_type: ActivityCancellationType, id: &str) -> Vec<EventType> {
    let (client, _store) = store_client().await;
    let queue = TaskQueueName::new("cancel-types").unwrap();
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    worker.register_workflow(
        "Cancelling",
        move |ctx: WorkflowContext, (): ()| async move {
            let (scoped, cancel) = ctx.with_cancel();
            let scoped = scoped.with_activity_options(ActivityOptions {
                heartbeat_timeout: Some(Duration::from_secs(10)),
                cancellation_type,
                ..ActivityOptions::with_start_to_close_timeout(Duration::from_secs(60))
            });
            let transcoding = scoped.run_activity::<Transcode>(&1);
            let _ = ctx.sleep(Duration::from_millis(200)).await;
            cancel.cancel();
            let outcome = transcoding.await;
            Ok::<_, WorkflowError>(outcome.is_err())
        },
    );
    worker.register_activity::<Transcode, _, _>(|ctx: ActivityContext, _chunks: u32| async move {
        loop {
            if ctx.heartbeat(&0u32).await {
                return Err(ActivityError::canceled(None));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let (stop, running) = crate::spawn_worker(worker);
    let handle = client
        .start_workflow(
            StartWorkflowOptions::new(WorkflowId::new(id).unwrap(), queue),
            "Cancelling",
            &(),
        )
        .await
        .unwrap();
    assert!(
        handle.result::<bool>().await.unwrap(),
        "the activity ended canceled"
    );
    let history = handle.history().await.unwrap();
    check_well_formed(&history).unwrap();
    let _ = stop.send(());
    running.await.unwrap();
    history.iter().map(|event| event.event_type()).collect()
}

/// The events after the timer that preceded the cancel.
fn after_timer(types: &[EventType]) -> Vec<EventType> {
    let fired = types
        .iter()
        .position(|t| *t == EventType::TimerFired)
        .expect("the timer fired");
    types[fired + 1..].to_vec()
}

#[tokio::test]
async fn try_cancel_requests_the_cancel_and_resolves_at_once() {
    use EventType::*;
    let types = cancel_with(ActivityCancellationType::TryCancel, "try-cancel").await;
    assert_eq!(
        after_timer(&types),
        [
            WorkflowTaskScheduled,
            WorkflowTaskStarted,
            WorkflowTaskCompleted,
            ActivityTaskCancelRequested,
            WorkflowExecutionCompleted
        ]
    );
}

#[tokio::test]
async fn wait_cancellation_completed_resolves_only_when_the_activity_acknowledges() {
    use EventType::*;
    let types = cancel_with(
        ActivityCancellationType::WaitCancellationCompleted,
        "wait-cancel",
    )
    .await;
    let tail = after_timer(&types);
    assert_eq!(
        tail[..4],
        [
            WorkflowTaskScheduled,
            WorkflowTaskStarted,
            WorkflowTaskCompleted,
            ActivityTaskCancelRequested
        ]
    );
    assert!(tail.contains(&ActivityTaskCanceled), "{tail:?}");
    let canceled = tail
        .iter()
        .position(|t| *t == ActivityTaskCanceled)
        .unwrap();
    let completed = tail
        .iter()
        .position(|t| *t == WorkflowExecutionCompleted)
        .unwrap();
    assert!(canceled < completed, "{tail:?}");
}

#[tokio::test]
async fn abandon_resolves_at_once_and_asks_nothing_of_the_activity() {
    use EventType::*;
    let types = cancel_with(ActivityCancellationType::Abandon, "abandon").await;
    assert_eq!(
        after_timer(&types),
        [
            WorkflowTaskScheduled,
            WorkflowTaskStarted,
            WorkflowTaskCompleted,
            WorkflowExecutionCompleted
        ]
    );
    assert!(!types.contains(&ActivityTaskCancelRequested));
}
