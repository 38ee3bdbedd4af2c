//! Versioning (spec §5.13): a workflow changed while a run of its old code is in flight.
//!
//! 1. Worker v1 runs `PizzaWorkflow`, which calls `ActivityA` and then waits for a signal.
//! 2. The code changes to call `ActivityC` instead, behind `get_version("Step1", …)`
//!    (§5.13.2). Worker v2 replaces worker v1: the old run replays through the default
//!    branch and keeps its `ActivityA`, a new run takes the new branch and calls `ActivityC`.
//! 3. The same change *without* `get_version` is caught by the Replayer before deploying.
//! 4. Cutover (§5.13.3): a renamed copy, `PizzaWorkflowV2`, registered beside the old name.
//!
//! `cargo run -p endure --example versioning`

use std::time::Duration;

use endure::EventAttributes;
use endure::workflow::{ActivityError, DEFAULT_VERSION, WorkflowContext, WorkflowError};
use endure::{
    ActivityContext, ActivityOptions, Client, Replayer, StartWorkflowOptions, TaskQueueName,
    Worker, WorkerOptions, WorkflowHandle, WorkflowId,
};

#[endure::activity(name = "ActivityA")]
async fn activity_a(_ctx: ActivityContext, data: String) -> Result<String, ActivityError> {
    Ok(format!("A({data})"))
}

#[endure::activity(name = "ActivityC")]
async fn activity_c(_ctx: ActivityContext, data: String) -> Result<String, ActivityError> {
    Ok(format!("C({data})"))
}

fn with_timeout(ctx: WorkflowContext) -> WorkflowContext {
    ctx.with_activity_options(ActivityOptions::with_start_to_close_timeout(
        Duration::from_secs(10),
    ))
}

/// The code as first deployed.
#[endure::workflow(name = "PizzaWorkflow")]
async fn pizza_v1(ctx: WorkflowContext, data: String) -> Result<String, WorkflowError> {
    let ctx = with_timeout(ctx);
    let result = ctx.run_activity::<activity_a>(&data).await?;
    let _bake: String = ctx.signal_channel("bake").recv_json().await?;
    Ok(result)
}

/// The change, patched: runs that started before it keep calling `ActivityA`.
#[endure::workflow(name = "PizzaWorkflow")]
async fn pizza_v2(ctx: WorkflowContext, data: String) -> Result<String, WorkflowError> {
    let ctx = with_timeout(ctx);
    let version = ctx.get_version("Step1", DEFAULT_VERSION, 1);
    let result = if version == DEFAULT_VERSION {
        ctx.run_activity::<activity_a>(&data).await?
    } else {
        ctx.run_activity::<activity_c>(&data).await?
    };
    let _bake: String = ctx.signal_channel("bake").recv_json().await?;
    Ok(result)
}

/// The same change made carelessly: old runs would fail to replay.
#[endure::workflow(name = "PizzaWorkflow")]
async fn pizza_unpatched(ctx: WorkflowContext, data: String) -> Result<String, WorkflowError> {
    let ctx = with_timeout(ctx);
    let result = ctx.run_activity::<activity_c>(&data).await?;
    let _bake: String = ctx.signal_channel("bake").recv_json().await?;
    Ok(result)
}

/// §5.13.3: a renamed copy; new runs start it by its new name, old runs finish on the old.
#[endure::workflow(name = "PizzaWorkflowV2")]
async fn pizza_workflow_v2(ctx: WorkflowContext, data: String) -> Result<String, WorkflowError> {
    Ok(with_timeout(ctx).run_activity::<activity_c>(&data).await?)
}

fn worker(client: &Client, queue: &TaskQueueName) -> Worker {
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    worker.register::<activity_a>().register::<activity_c>();
    worker
}

/// Waits until the run has scheduled and completed its first activity.
async fn wait_for_activity(handle: &WorkflowHandle) -> Result<(), endure::ClientError> {
    loop {
        let history = handle.history().await?;
        if history
            .iter()
            .any(|event| matches!(event.attributes, EventAttributes::ActivityTaskCompleted(_)))
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The activity types and version markers of a run, in order.
async fn summary(handle: &WorkflowHandle) -> Result<Vec<String>, endure::ClientError> {
    Ok(handle
        .history()
        .await?
        .iter()
        .filter_map(|event| match &event.attributes {
            EventAttributes::ActivityTaskScheduled(scheduled) => {
                Some(format!("activity {}", scheduled.activity_type))
            }
            EventAttributes::MarkerRecorded(marker) => {
                Some(format!("marker {}", marker.marker_name))
            }
            _ => None,
        })
        .collect())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let directory = tempfile::tempdir()?;
    let client = endure::embedded::open(directory.path().join("versioning.redb")).await?;
    let queue = TaskQueueName::new("pizza")?;
    let start = |id: &str| -> Result<StartWorkflowOptions, endure::ValidationError> {
        Ok(StartWorkflowOptions::new(
            WorkflowId::new(id)?,
            queue.clone(),
        ))
    };

    // 1. Version 1 is deployed and a run starts.
    let mut v1 = worker(&client, &queue);
    v1.register::<pizza_v1>();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(v1.run(async {
        let _ = stopped.await;
    }));
    let old = client
        .start::<pizza_v1>(start("pizza-old")?, &"margherita".to_owned())
        .await?;
    wait_for_activity(&old).await?;
    let _ = stop.send(());
    running.await?;
    println!("worker v1 stopped with pizza-old waiting for its signal");

    // 3 first: check the change against the old run's history before deploying it.
    let old_history = old.history().await?;
    match Replayer::for_workflow::<pizza_unpatched>().replay_history(&old_history) {
        Ok(()) => println!("unpatched change: replays (unexpected)"),
        Err(error) => println!("unpatched change refused by the Replayer: {error}"),
    }
    Replayer::for_workflow::<pizza_v2>().replay_history(&old_history)?;
    println!("patched change: the old history replays");

    // 2. Version 2 (and the renamed copy) replaces version 1.
    let mut v2 = worker(&client, &queue);
    v2.register::<pizza_v2>().register::<pizza_workflow_v2>();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(v2.run(async {
        let _ = stopped.await;
    }));
    let new = client
        .start::<pizza_v2>(start("pizza-new")?, &"funghi".to_owned())
        .await?;
    wait_for_activity(&new).await?;
    for handle in [&old, &new] {
        handle.signal("bake", &"now").await?;
    }
    println!("pizza-old returned {}", old.result::<String>().await?);
    println!("  history: {:?}", summary(&old).await?);
    println!("pizza-new returned {}", new.result::<String>().await?);
    println!("  history: {:?}", summary(&new).await?);

    // 4. Cutover: the renamed copy runs beside the old name.
    let cutover: String = client
        .execute::<pizza_workflow_v2>(start("pizza-cutover")?, &"diavola".to_owned())
        .await?;
    println!("PizzaWorkflowV2 returned {cutover}");
    let _ = stop.send(());
    running.await?;
    Ok(())
}
