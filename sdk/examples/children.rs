//! Child workflows (spec §5.20): the spec's `ParallelParentWorkflow` starts ten
//! `MyChildWorkflow` children at once (fan-out), sleeps a second, then collects their
//! results (fan-in); the spec's fire-and-forget `ParentWorkflow` starts a child with the
//! ABANDON parent close policy, waits only for its start (Go's
//! `GetChildWorkflowExecution`) and ends, leaving the child running until it is signalled.
//!
//! `cargo run -p endure --example children`

use std::time::Duration;

use endure::workflow::{ChildWorkflowOptions, WorkflowContext, WorkflowError};
use endure::{
    ParentClosePolicy, StartWorkflowOptions, TaskQueueName, Worker, WorkerOptions, WorkflowId,
};

/// The child: doubles its number (or, for the fire-and-forget one, waits for `go`).
#[endure::workflow(name = "MyChildWorkflow")]
async fn my_child_workflow(ctx: WorkflowContext, n: i64) -> Result<String, WorkflowError> {
    if n < 0 {
        let word: String = ctx.signal_channel("go").recv_json().await?;
        return Ok(format!("orphan finished: {word}"));
    }
    Ok(format!("child {n} -> {}", n * 2))
}

/// Fan-out / fan-in: ten children in parallel, results in order.
#[endure::workflow(name = "ParallelParentWorkflow")]
async fn parallel_parent_workflow(ctx: WorkflowContext) -> Result<Vec<String>, WorkflowError> {
    // 1. Start ten children: nothing blocks here.
    let children: Vec<_> = (0..10)
        .map(|i| {
            let options = ChildWorkflowOptions {
                workflow_id: Some(format!("child-{i}")),
                ..ChildWorkflowOptions::default()
            };
            ctx.start_child_workflow("MyChildWorkflow", &i, options)
        })
        .collect();
    // 2. Do something else meanwhile.
    ctx.sleep(Duration::from_secs(1)).await?;
    // 3. Collect the results.
    let mut results = Vec::new();
    for child in children {
        results.push(child.result::<String>().await?);
    }
    Ok(results)
}

/// Fire and forget: the child outlives its parent (ABANDON).
#[endure::workflow(name = "ParentWorkflow")]
async fn parent_workflow(ctx: WorkflowContext) -> Result<String, WorkflowError> {
    let options = ChildWorkflowOptions {
        workflow_id: Some("async-child-123".into()),
        parent_close_policy: ParentClosePolicy::Abandon,
        ..ChildWorkflowOptions::default()
    };
    let child = ctx.start_child_workflow("MyChildWorkflow", &-1, options);
    let execution = child.started().await?;
    Ok(format!(
        "child {} started; the parent ends now",
        execution.workflow_id
    ))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let directory = tempfile::tempdir()?;
    let client = endure::embedded::open(directory.path().join("children.redb")).await?;
    let queue = TaskQueueName::new("children")?;
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    worker.register::<my_child_workflow>();
    worker.register::<parallel_parent_workflow>();
    worker.register::<parent_workflow>();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));

    let results: Vec<String> = client
        .execute_workflow(
            StartWorkflowOptions::new(WorkflowId::new("parallel-parent")?, queue.clone()),
            "ParallelParentWorkflow",
            &(),
        )
        .await?;
    for result in &results {
        println!("{result}");
    }

    let said: String = client
        .execute_workflow(
            StartWorkflowOptions::new(WorkflowId::new("fire-and-forget")?, queue),
            "ParentWorkflow",
            &(),
        )
        .await?;
    println!("{said}");
    let orphan = client.handle(WorkflowId::new("async-child-123")?, None);
    orphan.signal("go", &"on its own").await?;
    let finished: String = orphan.result().await?;
    println!("{finished}");

    let _ = stop.send(());
    running.await?;
    Ok(())
}
