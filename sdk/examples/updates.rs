//! Updates (spec §5.19.3): the spec's `MyWorkflow` keeps a counter that the `add_amount`
//! update raises after a one-second durable sleep; its validator refuses amounts that are
//! not positive before anything is written. The client waits for each update's result
//! (Go's `UpdateWorkflow` with `WaitForStage: Completed`, then `Get`), sees a rejection
//! as an error, and finally reads the history: accepted updates are there, the rejected one
//! is not.
//!
//! `cargo run -p endure --example updates`

use std::sync::Arc;
use std::time::Duration;

use endure::EventAttributes;
use endure::workflow::{WorkflowContext, WorkflowError};
use endure::{ClientError, StartWorkflowOptions, TaskQueueName, Worker, WorkerOptions, WorkflowId};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// The update's input.
#[derive(Debug, Serialize, Deserialize)]
struct UpdateInput {
    amount: i64,
}

/// The spec's `MyWorkflow`: a counter raised by `add_amount` updates; it ends once the
/// client sends `finish` and every handler finished.
#[endure::workflow(name = "MyWorkflow")]
async fn my_workflow(ctx: WorkflowContext) -> Result<i64, WorkflowError> {
    let counter = Arc::new(Mutex::new(0i64));
    let finished = Arc::new(Mutex::new(false));

    // 1. The handler: may block (here a durable one-second sleep), returns the new value.
    // 2. The validator: read-only, synchronous; an `Err` rejects the update.
    let total = Arc::clone(&counter);
    ctx.set_update_handler_with_validator(
        "add_amount",
        move |ctx: WorkflowContext, input: UpdateInput| {
            let total = Arc::clone(&total);
            async move {
                ctx.sleep(Duration::from_secs(1)).await?;
                let mut total = total.lock();
                *total += input.amount;
                Ok(*total)
            }
        },
        |input: &UpdateInput| {
            if input.amount <= 0 {
                Err("amount must be positive")
            } else {
                Ok(())
            }
        },
    );
    let done = Arc::clone(&finished);
    ctx.set_update_handler("finish", move |_ctx: WorkflowContext, (): ()| {
        let done = Arc::clone(&done);
        async move {
            *done.lock() = true;
            Ok(())
        }
    });

    // 3. Wait for the end, and for running handlers to finish.
    let done = Arc::clone(&finished);
    ctx.wait_condition(move || *done.lock()).await;
    ctx.all_handlers_finished().await;
    let total = *counter.lock();
    Ok(total)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let directory = tempfile::tempdir()?;
    let client = endure::embedded::open(directory.path().join("updates.redb")).await?;
    let queue = TaskQueueName::new("updates")?;
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
            StartWorkflowOptions::new(WorkflowId::new("my-workflow-id")?, queue),
            &(),
        )
        .await?;
    for amount in [10, 32] {
        let counter: i64 = handle.update("add_amount", &UpdateInput { amount }).await?;
        println!("Update succeeded, counter is now {counter}");
    }
    match handle
        .update::<_, i64>("add_amount", &UpdateInput { amount: -5 })
        .await
    {
        Err(ClientError::UpdateFailed(failure)) => {
            println!("Update rejected by the validator: {}", failure.message);
        }
        other => println!("unexpected: {other:?}"),
    }
    handle.update::<_, ()>("finish", &()).await?;
    println!("Update finish succeeded: the workflow ends once its handlers are done");
    let total: i64 = handle.result().await?;
    println!("Workflow result: {total}");
    let history = handle.history().await?;
    let accepted = history
        .iter()
        .filter(|event| {
            matches!(
                event.attributes,
                EventAttributes::WorkflowExecutionUpdateAccepted(_)
            )
        })
        .count();
    println!(
        "history: {} events, {accepted} updates accepted (add_amount twice and finish; the rejected one left no trace)",
        history.len()
    );
    let _ = stop.send(());
    running.await?;
    Ok(())
}
