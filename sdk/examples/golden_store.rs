//! Writes a golden store: a redb file holding runs of one workflow in four states, for the
//! format tests of later builds (`tests/it/golden_stores.rs`). Run once per format version:
//! `cargo run -p endure --example golden_store OUT.redb`, then
//! `gzip -9 -c OUT.redb > sdk/tests/golden/stores/v<FORMAT_VERSION>.redb.gz` (docs/format.md).
//! The API it uses is kept the same as in the earliest versions, so the file built then
//! and now is the same.

use std::time::Duration;

use endure::{StartWorkflowOptions, TaskQueueName, Worker, WorkerOptions, WorkflowId};

#[path = "shared/golden_order.rs"]
mod golden_workflow;

use golden_workflow::{charge, golden_order};

async fn wait_for(
    client: &endure::Client,
    id: &str,
    event: &str,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    loop {
        let history = client.handle(WorkflowId::new(id)?, None).history().await?;
        let types: Vec<String> = history
            .iter()
            .map(|e| format!("{:?}", e.event_type()))
            .collect();
        if let Some(at) = types.iter().position(|t| t == event) {
            // Wait for the workflow task that saw it to complete too.
            if types[at..]
                .iter()
                .filter(|t| *t == "WorkflowTaskCompleted")
                .count()
                >= 1
                || event == "TimerStarted"
            {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let store = std::env::args().nth(1).expect("output file");
    let _ = std::fs::remove_file(&store);
    let client = endure::embedded::open(&store).await?;
    let queue = TaskQueueName::new("golden")?;
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    worker.register::<golden_order>().register::<charge>();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));

    let start = |id: &'static str, order: &'static str| {
        let client = client.clone();
        let queue = queue.clone();
        async move {
            let options = StartWorkflowOptions::new(WorkflowId::new(id)?, queue);
            client
                .start::<golden_order>(options, &order.to_owned())
                .await
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
        }
    };
    let done = start("golden-done", "quick-1").await?;
    done.signal("ship", &"dhl".to_owned()).await?;
    let result: String = done.result().await?;
    println!("golden-done: {result}");

    start("golden-awaiting-signal", "order-2").await?;
    wait_for(&client, "golden-awaiting-signal", "ActivityTaskCompleted").await?;

    let timer = start("golden-timer", "order-3").await?;
    timer.signal("ship", &"ups".to_owned()).await?;
    wait_for(&client, "golden-timer", "TimerStarted").await?;

    let _ = stop.send(());
    running.await?;
    start("golden-unstarted", "order-4").await?;
    for id in [
        "golden-done",
        "golden-awaiting-signal",
        "golden-timer",
        "golden-unstarted",
    ] {
        let history = client.handle(WorkflowId::new(id)?, None).history().await?;
        let types: Vec<String> = history
            .iter()
            .map(|e| format!("{:?}", e.event_type()))
            .collect();
        println!("{id}: {}", types.join(" "));
    }
    Ok(())
}
