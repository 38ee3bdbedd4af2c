//! The spec's Quick Start (§2) in three processes, as people run Temporal: a dev server, a
//! worker hosting the workflow and the activity, and a starter that runs the workflow and
//! waits for its result — the worker and the starter reach the server over TCP.
//!
//! ```sh
//! cargo run -p endure-cli -- server start-dev --db :memory:      # terminal 1: the server
//! cargo run -p endure --example quickstart_remote -- worker       # terminal 2: the worker
//! cargo run -p endure --example quickstart_remote -- start        # terminal 3: the starter
//! ```
//!
//! Both take the server's address as a second argument (default `127.0.0.1:7233`).

#[path = "shared/order.rs"]
mod order;

use endure::{
    Client, Namespace, StartWorkflowOptions, TaskQueueName, Worker, WorkerOptions, WorkflowId,
};
use order::{order_workflow, send_email};

const USAGE: &str = "usage: quickstart_remote worker|start [ADDRESS]";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut arguments = std::env::args().skip(1);
    let role = arguments.next().ok_or(USAGE)?;
    let address = arguments.next().unwrap_or_else(|| "127.0.0.1:7233".into());
    let client = Client::connect(address.clone(), Namespace::default());
    let queue = TaskQueueName::new("my-task-queue")?;
    match role.as_str() {
        // §2.3: the worker, until Ctrl-C (it finishes its running activities first).
        "worker" => {
            let mut worker = Worker::new(
                client.transport(),
                client.namespace().clone(),
                queue,
                WorkerOptions::default(),
            );
            worker.register::<order_workflow>().register::<send_email>();
            println!("Worker polling my-task-queue on {address}; Ctrl-C stops it");
            worker
                .run(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await;
        }
        // §2.4: the starter.
        "start" => {
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
        }
        _ => return Err(USAGE.into()),
    }
    Ok(())
}
