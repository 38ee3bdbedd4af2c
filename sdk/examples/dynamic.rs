//! Dynamic workflows and activities (spec §5.10): a worker with no registered types runs
//! whatever it is asked to through its two fallbacks, which receive the type name and the
//! raw encoded arguments and decode them themselves (Go's `EncodedValues.Get`).
//!
//! `cargo run -p endure --example dynamic`

use std::time::Duration;

use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::{
    ActivityContext, ActivityOptions, Payload, Payloads, StartWorkflowOptions, TaskQueueName,
    Worker, WorkerOptions, WorkflowId, decode_arguments,
};

/// The spec's `DynamicWorkflow`: decodes two strings, asks a (dynamic) activity to format
/// them and returns its answer.
async fn dynamic_workflow(
    ctx: WorkflowContext,
    workflow_type: String,
    args: Payloads,
) -> Result<Option<Payloads>, WorkflowError> {
    let (arg1, arg2): (String, String) = decode_arguments(&args)?;
    ctx.logger().info(&format!(
        "dynamic workflow {workflow_type} got {arg1}, {arg2}"
    ));
    let ctx = ctx.with_activity_options(ActivityOptions::with_start_to_close_timeout(
        Duration::from_secs(10),
    ));
    // Any activity type: none is registered, the dynamic activity takes it.
    Ok(ctx.execute_activity_raw("FormatGreeting", args).await?)
}

/// The spec's `DynamicActivity`: `"<workflow type> - arg1 - arg2"`.
async fn dynamic_activity(
    ctx: ActivityContext,
    activity_type: String,
    args: Payloads,
) -> Result<Option<Payloads>, ActivityError> {
    let (arg1, arg2): (String, String) = decode_arguments(&args).map_err(|error| {
        ActivityError::application(error.to_string(), "BadArguments").non_retryable()
    })?;
    println!(
        "dynamic activity {activity_type} runs for {}",
        ctx.info().workflow_type
    );
    let text = format!("{} - {arg1} - {arg2}", ctx.info().workflow_type);
    let payload = Payload::json(&text)
        .map_err(|error| ActivityError::application(error.to_string(), "Encode"))?;
    Ok(Some(Payloads::one(payload)))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let directory = tempfile::tempdir()?;
    let client = endure::embedded::open(directory.path().join("dynamic.redb")).await?;
    let queue = TaskQueueName::new("dynamic")?;
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    // One of each per worker; nothing else is registered.
    worker
        .register_dynamic_workflow(dynamic_workflow)
        .register_dynamic_activity(dynamic_activity);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));

    for workflow_type in ["GreetingWorkflow", "FarewellWorkflow"] {
        let id = WorkflowId::new(format!("dynamic-{workflow_type}"))?;
        let result: String = client
            .execute_workflow(
                StartWorkflowOptions::new(id, queue.clone()),
                workflow_type,
                &("hello", "world"),
            )
            .await?;
        println!("{workflow_type} returned: {result}");
    }
    let _ = stop.send(());
    running.await?;
    Ok(())
}
