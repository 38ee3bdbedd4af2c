//! Queries (spec §5.19.1): the workflow keeps `current_state` and `progress` and answers
//! queries about them while it runs ten one-second steps; the client asks as it goes, and
//! once more after the workflow completed (answered by replaying its history). A query
//! handler reads memory only: it gets no context, so it cannot sleep, await or run
//! activities.
//!
//! `cargo run -p endure --example queries`

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use endure::workflow::{WorkflowContext, WorkflowError};
use endure::{StartWorkflowOptions, TaskQueueName, Worker, WorkerOptions, WorkflowId};
use parking_lot::Mutex;

/// The spec's `MyWorkflow`: a state and a counter, both queryable.
#[endure::workflow(name = "MyWorkflow")]
async fn my_workflow(ctx: WorkflowContext) -> Result<(), WorkflowError> {
    // 1. The internal state.
    let current_state = Arc::new(Mutex::new("Started".to_owned()));
    let items_processed = Arc::new(Mutex::new(0u32));

    // 2. The query handlers.
    let state = Arc::clone(&current_state);
    ctx.set_query_handler("current_state", move |(): ()| {
        Ok::<_, Infallible>(state.lock().clone())
    });
    let progress = Arc::clone(&items_processed);
    ctx.set_query_handler("progress", move |(): ()| {
        Ok::<_, Infallible>(*progress.lock())
    });

    // 3. The work, updating the state.
    *current_state.lock() = "Running".into();
    for _ in 0..10 {
        let _ = ctx.sleep(Duration::from_secs(1)).await;
        *items_processed.lock() += 1;
    }
    *current_state.lock() = "Completed".into();
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let directory = tempfile::tempdir()?;
    let client = endure::embedded::open(directory.path().join("queries.redb")).await?;
    let queue = TaskQueueName::new("queries")?;
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    worker.register::<my_workflow>();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));

    let handle = client
        .start::<my_workflow>(
            StartWorkflowOptions::new(WorkflowId::new("query-demo")?, queue),
            &(),
        )
        .await?;
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let state: String = handle.query("current_state", &()).await?;
        let progress: u32 = handle.query("progress", &()).await?;
        println!("current state: {state}, progress: {progress}/10");
    }
    handle.result::<()>().await?;
    let state: String = handle.query("current_state", &()).await?;
    let progress: u32 = handle.query("progress", &()).await?;
    println!("after completion (by replay): {state}, progress: {progress}/10");
    println!(
        "history: {} events, none of them from the queries",
        handle.history().await?.len()
    );
    let _ = stop.send(());
    running.await?;
    Ok(())
}
