//! Histories larger than a page (1 MiB): a workflow task carries its first page and the
//! worker reads the rest, with and without the run cached; queries likewise.

use std::time::Duration;

use endure::workflow::{WorkflowContext, WorkflowError};
use endure::*;
use endure_core::history::EventType;

use crate::store_client;

/// Sums the lengths of three `blob` signals.
#[endure::workflow(name = "Blobs")]
async fn blobs(ctx: WorkflowContext) -> Result<usize, WorkflowError> {
    let received = std::sync::Arc::new(parking_lot::Mutex::new(0usize));
    let answer = std::sync::Arc::clone(&received);
    ctx.set_query_handler("received", move |(): ()| {
        Ok::<_, std::convert::Infallible>(*answer.lock())
    });
    let channel = ctx.signal_channel("blob");
    let mut total = 0;
    for _ in 0..3 {
        let blob: String = channel.recv_json().await?;
        total += blob.len();
        *received.lock() = total;
    }
    let _ = ctx.sleep(Duration::from_millis(10)).await;
    Ok(total)
}

async fn run_blobs(cache: usize, id: &str) {
    let (client, _store) = store_client().await;
    let queue = TaskQueueName::new("blobs").unwrap();
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions {
            max_cached_workflows: cache,
            ..WorkerOptions::default()
        },
    );
    worker.register::<blobs>();
    let (stop, running) = crate::spawn_worker(worker);
    let handle = client
        .start::<blobs>(
            StartWorkflowOptions::new(WorkflowId::new(id).unwrap(), queue),
            &(),
        )
        .await
        .unwrap();
    // Wait for the first task, so the three signals land in one later task.
    while !handle
        .history()
        .await
        .unwrap()
        .iter()
        .any(|event| event.event_type() == EventType::WorkflowTaskCompleted)
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let blob = "x".repeat(450 * 1024);
    for _ in 0..3 {
        handle.signal("blob", &blob).await.unwrap();
    }
    assert_eq!(handle.result::<usize>().await.unwrap(), 3 * blob.len());
    let history = handle.history().await.unwrap();
    let page = handle
        .history_page(endure_core::EventId::FIRST)
        .await
        .unwrap();
    assert!(page.next_event_id.is_some(), "the history spans pages");
    assert!(page.events.len() < history.len());
    // A query replays the paged history too.
    assert_eq!(
        handle.query::<_, usize>("received", &()).await.unwrap(),
        3 * blob.len()
    );
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test]
async fn a_sticky_task_larger_than_a_page_is_read_in_pages() {
    run_blobs(10, "blobs-sticky").await;
}

#[tokio::test]
async fn a_full_history_larger_than_a_page_is_read_in_pages() {
    run_blobs(0, "blobs-uncached").await;
}
