//! The spec's Quick Start (§2), in Rust, on the embedded engine with its redb file store:
//! an activity that sends an email, a workflow that runs it, sleeps 5 seconds and returns,
//! a worker hosting both, and a client that starts the workflow and waits for its result.
//!
//! `cargo run --release -p endure --example quickstart [STORE_FILE]`

use endure::{StartWorkflowOptions, TaskQueueName, Worker, WorkerOptions, WorkflowId};

#[path = "shared/order.rs"]
mod order;
use order::{order_workflow, send_email};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let store = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "endure-quickstart.redb".into());
    // A fresh store, so the example runs the same every time.
    let _ = std::fs::remove_file(&store);
    let client = endure::embedded::open(&store).await?;
    println!("Engine open on {store}");

    // §2.3: a worker on "my-task-queue" hosting the workflow and the activity.
    let queue = TaskQueueName::new("my-task-queue")?;
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    worker.register::<order_workflow>().register::<send_email>();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));

    // §2.4: start the workflow and wait for its result.
    let options = StartWorkflowOptions::new(WorkflowId::new("order_42")?, queue);
    let handle = client
        .start::<order_workflow>(options, &"user_123".to_owned())
        .await?;
    println!(
        "Workflow started: ID={} RunID={}",
        handle.workflow_id(),
        handle.run_id().map(|id| id.to_string()).unwrap_or_default()
    );
    let result: String = handle.result().await?;
    println!("Workflow result: {result}");

    println!("History:");
    for event in handle.history().await? {
        println!("  {:>3} {}", event.event_id, event.event_type());
    }
    let _ = stop.send(());
    running.await?;
    Ok(())
}
