//! The workflows and activities the benchmarks run, and the worker that hosts them.

use std::time::Duration;

use endure::workflow::{ActivityError, LocalActivityOptions, WorkflowContext, WorkflowError};
use endure::{ActivityContext, ActivityOptions, Client, TaskQueueName, Worker, WorkerOptions};

/// The queue of every benchmark workflow.
pub(crate) const QUEUE: &str = "bench";

/// Returns its input.
#[endure::activity(name = "Echo")]
async fn echo(_ctx: ActivityContext, input: String) -> Result<String, ActivityError> {
    Ok(input)
}

fn with_timeout(ctx: WorkflowContext) -> WorkflowContext {
    ctx.with_activity_options(ActivityOptions {
        start_to_close_timeout: Some(Duration::from_secs(30)),
        ..ActivityOptions::default()
    })
}

/// `hello` and `latency`: one activity, then its result.
#[endure::workflow(name = "BenchHello")]
pub(crate) async fn hello(ctx: WorkflowContext, name: String) -> Result<String, WorkflowError> {
    Ok(with_timeout(ctx).run_activity::<echo>(&name).await?)
}

/// `steps` and `replay`: `count` sequential activities.
#[endure::workflow(name = "BenchSteps")]
pub(crate) async fn steps(ctx: WorkflowContext, count: u32) -> Result<u32, WorkflowError> {
    let ctx = with_timeout(ctx);
    for step in 0..count {
        ctx.run_activity::<echo>(&step.to_string()).await?;
    }
    Ok(count)
}

/// `steps` with local activities: `count` sequential local activities.
#[endure::workflow(name = "BenchLocalSteps")]
pub(crate) async fn local_steps(ctx: WorkflowContext, count: u32) -> Result<u32, WorkflowError> {
    for step in 0..count {
        let _: String = ctx
            .execute_local_activity(
                "Echo",
                &step.to_string(),
                LocalActivityOptions::with_start_to_close_timeout(Duration::from_secs(30)),
            )
            .await?;
    }
    Ok(count)
}

/// `timers` and `idle`: sleeps, then completes.
#[endure::workflow(name = "BenchSleep")]
pub(crate) async fn sleep(ctx: WorkflowContext, millis: u64) -> Result<(), WorkflowError> {
    ctx.sleep(Duration::from_millis(millis)).await?;
    Ok(())
}

/// `signals`: completes after `count` signals named `tick`.
#[endure::workflow(name = "BenchSignals")]
pub(crate) async fn signals(ctx: WorkflowContext, count: u32) -> Result<u32, WorkflowError> {
    let ticks = ctx.signal_channel("tick");
    for _ in 0..count {
        let _: u32 = ticks.recv_json().await?;
    }
    Ok(count)
}

/// A worker hosting every benchmark workflow and the activity, with enough pollers for a
/// hundred workflows in flight.
pub(crate) fn worker(client: &Client) -> Worker {
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        TaskQueueName::new(QUEUE).expect("a valid queue name"),
        WorkerOptions {
            workflow_pollers: 32,
            activity_pollers: 64,
            identity: "endure-bench".into(),
            ..WorkerOptions::default()
        },
    );
    worker
        .register::<hello>()
        .register::<steps>()
        .register::<local_steps>()
        .register::<sleep>()
        .register::<signals>()
        .register::<echo>();
    worker
}
