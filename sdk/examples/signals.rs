//! Signals and a selector (spec §5.19.2, §5.16): an expense workflow waits for an
//! "approve" signal or a one-day deadline, whichever comes first, using a `Selector` over
//! the signal channel and a durable timer; a client sends the signal.
//!
//! `cargo run -p endure --example signals [STORE_FILE]`

use std::time::Duration;

use endure::workflow::{Selector, WorkflowContext, WorkflowError};
use endure::{StartWorkflowOptions, TaskQueueName, Worker, WorkerOptions, WorkflowId};
use serde::{Deserialize, Serialize};

/// The signal's payload.
#[derive(Serialize, Deserialize, Debug)]
struct Approval {
    approver: String,
    approved: bool,
}

/// What the selector saw first.
enum Outcome {
    Decided(Result<Approval, endure::PayloadError>),
    TimedOut,
}

async fn expense_workflow(ctx: WorkflowContext, amount: u32) -> Result<String, WorkflowError> {
    let approvals = ctx.signal_channel("approve");
    let mut selector = Selector::new();
    selector.add_future(approvals.recv_json::<Approval>(), Outcome::Decided);
    selector.add_future(ctx.sleep(Duration::from_secs(24 * 60 * 60)), |_| {
        Outcome::TimedOut
    });
    Ok(match selector.select().await {
        Some(Outcome::Decided(approval)) => {
            let approval = approval?;
            let verdict = if approval.approved {
                "approved"
            } else {
                "rejected"
            };
            format!("expense of {amount} {verdict} by {}", approval.approver)
        }
        Some(Outcome::TimedOut) | None => format!("expense of {amount} expired unapproved"),
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let store = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "endure-signals.redb".into());
    let _ = std::fs::remove_file(&store);
    let client = endure::embedded::open(&store).await?;

    let queue = TaskQueueName::new("expenses")?;
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    worker.register_workflow("ExpenseWorkflow", expense_workflow);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));

    let options = StartWorkflowOptions::new(WorkflowId::new("expense-19")?, queue);
    let handle = client
        .start_workflow(options, "ExpenseWorkflow", &120u32)
        .await?;
    // Go's `client.SignalWorkflow(ctx, "expense-19", "", "approve", approval)`.
    let approval = Approval {
        approver: "dana".into(),
        approved: true,
    };
    println!("Client: signaling {approval:?}");
    handle.signal("approve", &approval).await?;
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
