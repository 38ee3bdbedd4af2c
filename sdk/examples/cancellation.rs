//! Cancellation (spec §5.12): a client cancels a running workflow; the workflow's activity
//! learns it through its heartbeats and stops (§5.12.2, §5.12.4); the workflow runs a
//! cleanup activity on a context the cancel does not reach (Go's `NewDisconnectedContext`)
//! and closes as canceled (§5.12.1).
//!
//! `cargo run -p endure --example cancellation [STORE_FILE]`

use std::time::Duration;

use endure::activity::ActivityDefinition;
use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::{
    ActivityContext, ActivityOptions, StartWorkflowOptions, TaskQueueName, Worker, WorkerOptions,
    WorkflowId,
};

/// A long activity that heartbeats its progress.
struct ProcessFile;

impl ActivityDefinition for ProcessFile {
    const NAME: &'static str = "ProcessFile";
    type Input = String;
    type Output = String;
}

async fn process_file(ctx: ActivityContext, file: String) -> Result<String, ActivityError> {
    for chunk in 0u32.. {
        // The heartbeat's answer says whether the workflow asked to cancel this activity.
        if ctx.heartbeat(&chunk).await {
            println!("ProcessFile: canceled at chunk {chunk} of {file}");
            return Err(ActivityError::canceled(None));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    unreachable!("the loop ends only by cancellation")
}

/// The cleanup that must run even though the workflow was canceled.
struct CleanUp;

impl ActivityDefinition for CleanUp {
    const NAME: &'static str = "CleanUp";
    type Input = String;
    type Output = ();
}

async fn clean_up(_ctx: ActivityContext, file: String) -> Result<(), ActivityError> {
    println!("CleanUp: removing partial output of {file}");
    Ok(())
}

async fn file_workflow(ctx: WorkflowContext, file: String) -> Result<String, WorkflowError> {
    let options = ActivityOptions {
        heartbeat_timeout: Some(Duration::from_secs(5)),
        ..ActivityOptions::with_start_to_close_timeout(Duration::from_secs(60))
            // Wait for the activity to acknowledge the cancel before resolving its future.
            .wait_for_cancellation(true)
    };
    let ctx = ctx.with_activity_options(options);
    let outcome = ctx.run_activity::<ProcessFile>(&file).await;
    if ctx.is_canceled() {
        // The workflow's context is canceled; a disconnected one can still run activities.
        ctx.disconnected().run_activity::<CleanUp>(&file).await?;
        return Err(WorkflowError::Canceled);
    }
    Ok(outcome?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let store = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "endure-cancellation.redb".into());
    let _ = std::fs::remove_file(&store);
    let client = endure::embedded::open(&store).await?;

    let queue = TaskQueueName::new("files")?;
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    worker.register_workflow("FileWorkflow", file_workflow);
    worker.register_activity::<ProcessFile, _, _>(process_file);
    worker.register_activity::<CleanUp, _, _>(clean_up);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));

    let options = StartWorkflowOptions::new(WorkflowId::new("file-7")?, queue);
    let handle = client
        .start_workflow(options, "FileWorkflow", &"report.csv")
        .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // §5.12.3: Go's `client.CancelWorkflow`.
    println!("Client: canceling {}", handle.workflow_id());
    handle.cancel().await?;
    match handle.result::<String>().await {
        Ok(result) => println!("Workflow result: {result}"),
        Err(error) => println!("Workflow closed: {error}"),
    }
    println!("History:");
    for event in handle.history().await? {
        println!("  {:>3} {}", event.event_id, event.event_type());
    }
    let _ = stop.send(());
    running.await?;
    Ok(())
}
