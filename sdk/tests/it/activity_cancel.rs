//! Cancellation the workflow requests, learned by the activity through heartbeats
//! (spec §5.12.2, §5.12.4) and acknowledged as `ActivityTaskCanceled`.

use std::time::Duration;

use endure::activity::ActivityDefinition;
use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::*;
use endure_core::history::{EventType, check_well_formed};

use crate::redb_client;

struct Transcode;

impl ActivityDefinition for Transcode {
    const NAME: &'static str = "Transcode";
    type Input = u32;
    type Output = String;
}

#[tokio::test]
async fn a_cancelled_activity_learns_it_through_heartbeats_and_is_recorded_canceled() {
    let (client, _store) = redb_client().await;
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
