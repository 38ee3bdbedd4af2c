//! The spec's Quick Start (§2), in Rust, on the embedded engine with its redb file store:
//! an activity that sends an email, a workflow that runs it, sleeps 5 seconds and returns,
//! a worker hosting both, and a client that starts the workflow and waits for its result.
//!
//! `cargo run --release -p endure --example quickstart [STORE_FILE]`

use std::time::Duration;

use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::{
    ActivityContext, ActivityOptions, RetryPolicy, StartWorkflowOptions, TaskQueueName, Worker,
    WorkerOptions, WorkflowId,
};

/// §2.1: the activity, `SendEmail(userID, subject) -> "sent"`. Its type name would be
/// `send_email`, the function's; `name` keeps the Go worker's name.
#[endure::activity(name = "SendEmail")]
async fn send_email(
    _ctx: ActivityContext,
    user_id: String,
    subject: String,
) -> Result<String, ActivityError> {
    println!("Sending email to {user_id} with subject {subject}");
    Ok("sent".into())
}

/// §2.2: the workflow.
#[endure::workflow(name = "OrderWorkflow")]
async fn order_workflow(ctx: WorkflowContext, user_id: String) -> Result<String, WorkflowError> {
    // 1. Activity options: timeout and retry policy.
    let ctx = ctx.with_activity_options(ActivityOptions {
        start_to_close_timeout: Some(Duration::from_secs(10)),
        retry_policy: Some(RetryPolicy::with_maximum_attempts(3)),
        ..ActivityOptions::default()
    });
    // 2. Run the activity.
    let result = ctx
        .run_activity::<send_email>(&(user_id, "Order Created".to_owned()))
        .await?;
    // 3. A durable sleep (never std::thread::sleep or tokio::time::sleep).
    ctx.logger().info("sleeping for 5 seconds");
    let _ = ctx.sleep(Duration::from_secs(5)).await;
    Ok(format!("workflow_completed_{result}"))
}

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
