//! History limits end to end (§5.21.1): a workflow that never continues as new is told to
//! (the suggestion in WorkflowTaskStarted from 4,096 events), and once its history passes
//! 51,200 events the engine terminates it.

use std::time::Duration;

use endure::workflow::{WorkflowContext, WorkflowError};
use endure::*;
use endure_core::EventAttributes;
use endure_core::execution::{ENGINE_IDENTITY, HISTORY_LIMIT_TERMINATE_REASON};
use endure_core::history::check_well_formed;
use endure_core::limits::{HISTORY_EVENTS_MAX, HISTORY_EVENTS_SUGGEST_CONTINUE_AS_NEW};

use crate::store_client;

/// Records 20,000 side effects per workflow task, forever.
async fn chatty(ctx: WorkflowContext, (): ()) -> Result<(), WorkflowError> {
    loop {
        for _ in 0..20_000 {
            ctx.side_effect(|| 1_u8)?;
        }
        ctx.sleep(Duration::from_millis(1)).await?;
    }
}

#[tokio::test]
async fn a_history_past_the_limit_is_terminated_after_the_suggestion() {
    let (client, _store) = store_client().await;
    let queue = TaskQueueName::new("chatty").unwrap();
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    worker.register_workflow("Chatty", chatty);
    let (stop, running) = crate::spawn_worker(worker);
    let options = StartWorkflowOptions::new(WorkflowId::new("chatty-1").unwrap(), queue);
    let handle = client.start_workflow(options, "Chatty", &()).await.unwrap();
    let result = handle.result::<()>().await;
    assert!(
        matches!(&result, Err(ClientError::WorkflowClosed(why)) if why.contains("erminated")),
        "{result:?}"
    );
    let history = handle.history().await.unwrap();
    check_well_formed(&history).unwrap();
    assert!(history.len() as u64 > HISTORY_EVENTS_MAX);
    let EventAttributes::WorkflowExecutionTerminated(terminated) =
        &history.last().unwrap().attributes
    else {
        panic!("the run ends terminated")
    };
    assert_eq!(terminated.reason, HISTORY_LIMIT_TERMINATE_REASON);
    assert_eq!(terminated.identity, ENGINE_IDENTITY);
    // Every task started past 4,096 events suggested continuing as new.
    for event in &history {
        if let EventAttributes::WorkflowTaskStarted(started) = &event.attributes {
            assert_eq!(
                started.suggest_continue_as_new,
                event.event_id.get() > HISTORY_EVENTS_SUGGEST_CONTINUE_AS_NEW,
                "event {}",
                event.event_id
            );
        }
    }
    let _ = stop.send(());
    running.await.unwrap();
}

/// Returns a result over the 2 MiB payload limit.
async fn oversized(_ctx: WorkflowContext, (): ()) -> Result<String, WorkflowError> {
    Ok("x".repeat(3 << 20))
}

/// Schedules three activities of 1.5 MiB inputs each: each is under the payload limit,
/// together they are over what one workflow task completion may carry.
async fn big_batch(ctx: WorkflowContext, (): ()) -> Result<(), WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions::with_start_to_close_timeout(
        Duration::from_secs(10),
    ));
    let parts: Vec<_> = (0..3)
        .map(|_| ctx.execute_activity::<_, ()>("Store", &"x".repeat(3 << 19)))
        .collect();
    for part in parts {
        part.await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_completion_over_the_message_limit_ends_the_run() {
    let (client, _store) = store_client().await;
    let queue = TaskQueueName::new("big-batch").unwrap();
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    worker.register_workflow("BigBatch", big_batch);
    let (stop, running) = crate::spawn_worker(worker);
    let options = StartWorkflowOptions::new(WorkflowId::new("big-batch").unwrap(), queue);
    let handle = client
        .start_workflow(options, "BigBatch", &())
        .await
        .unwrap();
    let result = handle.result::<()>().await;
    assert!(
        matches!(&result, Err(ClientError::WorkflowClosed(why)) if why.contains("erminated")),
        "{result:?}"
    );
    let history = handle.history().await.unwrap();
    let EventAttributes::WorkflowExecutionTerminated(terminated) =
        &history.last().unwrap().attributes
    else {
        panic!("the run is terminated")
    };
    assert!(
        terminated.reason.contains("workflow task completion"),
        "{}",
        terminated.reason
    );
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test]
async fn payloads_over_the_limit_are_refused_or_end_the_run() {
    let (client, _store) = store_client().await;
    let queue = TaskQueueName::new("oversized").unwrap();
    // A client's oversized input is refused before it is sent, with a typed error.
    let options = StartWorkflowOptions::new(WorkflowId::new("big-input").unwrap(), queue.clone());
    let refused = client
        .start_workflow(options, "Oversized", &"x".repeat(3 << 20))
        .await;
    assert!(
        matches!(
            refused,
            Err(ClientError::Invalid(
                ValidationError::PayloadTooLarge { .. }
            ))
        ),
        "{refused:?}"
    );
    // A workflow's oversized result cannot be recorded: the engine terminates the run
    // rather than retry a task that can never succeed.
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    worker.register_workflow("Oversized", oversized);
    let (stop, running) = crate::spawn_worker(worker);
    let options = StartWorkflowOptions::new(WorkflowId::new("big-result").unwrap(), queue);
    let handle = client
        .start_workflow(options, "Oversized", &())
        .await
        .unwrap();
    let result = handle.result::<String>().await;
    assert!(
        matches!(&result, Err(ClientError::WorkflowClosed(why)) if why.contains("erminated")),
        "{result:?}"
    );
    let history = handle.history().await.unwrap();
    check_well_formed(&history).unwrap();
    let types: Vec<String> = history
        .iter()
        .map(|event| event.event_type().to_string())
        .collect();
    assert_eq!(
        types,
        [
            "WorkflowExecutionStarted",
            "WorkflowTaskScheduled",
            "WorkflowTaskStarted",
            "WorkflowTaskFailed",
            "WorkflowExecutionTerminated",
        ]
    );
    let EventAttributes::WorkflowTaskFailed(failed) = &history[3].attributes else {
        unreachable!()
    };
    assert_eq!(
        failed.cause,
        endure_core::WorkflowTaskFailedCause::PayloadsTooLarge
    );
    let _ = stop.send(());
    running.await.unwrap();
}
