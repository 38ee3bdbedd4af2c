//! An activity completed from outside its worker (Go's `activity.ErrResultPending` and
//! `client.CompleteActivity`): a refund above the limit waits for a person's approval. The
//! activity hands its completion token to the back office and returns `result_pending`;
//! the worker reports nothing and its slot is free. The back office — here a task in the
//! same process; in life a web form, a queue consumer, `endure activity complete` —
//! answers with the token (or the workflow and activity ids), and the workflow goes on.
//!
//! `cargo run -p endure --example async_activities [STORE_FILE]`

use std::time::Duration;

use endure::activity::ActivityDefinition;
use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::{
    ActivityCompletionToken, ActivityContext, ActivityOptions, StartWorkflowOptions, TaskQueueName,
    Worker, WorkerOptions, WorkflowId,
};
use tokio::sync::mpsc;

/// Asks a person to approve a refund; answered from outside the worker.
struct RequestApproval;

impl ActivityDefinition for RequestApproval {
    const NAME: &'static str = "RequestApproval";
    type Input = u32;
    type Output = String;
}

async fn refund_workflow(ctx: WorkflowContext, cents: u32) -> Result<String, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions {
        // A person may take a while: a day to answer, and a heartbeat from the back office
        // at least hourly while they think.
        heartbeat_timeout: Some(Duration::from_secs(3600)),
        ..ActivityOptions::with_start_to_close_timeout(Duration::from_secs(24 * 3600))
    });
    let decision = ctx.run_activity::<RequestApproval>(&cents).await?;
    Ok(format!("refund of {cents} cents: {decision}"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let store = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "endure-async-activities.redb".into());
    let _ = std::fs::remove_file(&store);
    let client = endure::embedded::open(&store).await?;

    // The back office's inbox: tokens of refunds waiting for a person.
    let (inbox, mut requests) = mpsc::unbounded_channel::<(u32, ActivityCompletionToken)>();
    let queue = TaskQueueName::new("refunds")?;
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    worker.register_workflow("RefundWorkflow", refund_workflow);
    worker.register_activity::<RequestApproval, _, _>(move |ctx: ActivityContext, cents: u32| {
        let inbox = inbox.clone();
        async move {
            // The token as text travels anywhere: an email link, a queue, a database row.
            let token = ctx.completion_token();
            println!("RequestApproval: {cents} cents waits for approval (token {token})");
            let _ = inbox.send((cents, token));
            Err(ActivityError::result_pending())
        }
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));

    // A person at the back office approves, heartbeating while they look.
    let back_office = client.clone().with_identity("back-office@example.com");
    let approving = tokio::spawn(async move {
        while let Some((cents, token)) = requests.recv().await {
            let handle = back_office.async_activity(token);
            let cancel_requested = handle.heartbeat(&"looking at it").await?;
            tokio::time::sleep(Duration::from_millis(300)).await;
            if cancel_requested {
                handle.report_cancellation(None).await?;
            } else {
                println!("Back office: approving {cents} cents");
                handle.complete(&"approved by back office").await?;
            }
        }
        Ok::<_, endure::ClientError>(())
    });

    let options = StartWorkflowOptions::new(WorkflowId::new("refund-17")?, queue);
    let result: String = client
        .execute_workflow(options, "RefundWorkflow", &25_000u32)
        .await?;
    println!("Workflow result: {result}");
    println!("History (the completion names the back office, not the worker):");
    let handle = client.handle(WorkflowId::new("refund-17")?, None);
    for event in handle.history().await? {
        let who = match &event.attributes {
            endure::EventAttributes::ActivityTaskStarted(started) => started.identity.clone(),
            endure::EventAttributes::ActivityTaskCompleted(completed) => completed.identity.clone(),
            _ => String::new(),
        };
        println!("  {:>3} {} {who}", event.event_id, event.event_type());
    }
    let _ = stop.send(());
    running.await?;
    approving.abort();
    Ok(())
}
