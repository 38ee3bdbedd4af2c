//! Worker versioning (spec §5.13.1): build 1 of deployment `orders` serves a pinned and an
//! auto-upgrade workflow; build 2 rolls out (ramped to 50 %, then current). The pinned run
//! finishes on build 1, the auto-upgrade run moves to build 2, build 1 drains and is retired.
//!
//! `cargo run -p endure --example deployments [STORE_FILE]`

use std::time::Duration;

use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::{
    ActivityContext, ActivityOptions, Client, StartWorkflowOptions, TaskQueueName,
    VersioningBehavior, Worker, WorkerDeploymentOptions, WorkerDeploymentVersion, WorkerOptions,
    WorkflowId, WorkflowRegisterOptions,
};

/// Two steps around a signal; each step answers the build that ran it.
async fn order(ctx: WorkflowContext, _: ()) -> Result<Vec<String>, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions::with_start_to_close_timeout(
        Duration::from_secs(10),
    ));
    let first: String = ctx.execute_activity("Step", &()).await?;
    ctx.signal_channel("continue").recv().await;
    let second: String = ctx.execute_activity("Step", &()).await?;
    Ok(vec![first, second])
}

/// A worker of `build`: `Order` pinned (the default), `OrderAuto` auto-upgrade.
fn worker(
    client: &Client,
    build: &'static str,
) -> Result<Worker, Box<dyn std::error::Error + Send + Sync>> {
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        TaskQueueName::new("orders")?,
        WorkerOptions {
            identity: format!("orders-build-{build}"),
            sticky_schedule_to_start_timeout: Duration::from_millis(200),
            deployment_options: Some(WorkerDeploymentOptions {
                use_versioning: true,
                version: WorkerDeploymentVersion::new("orders", build)?,
                default_versioning_behavior: VersioningBehavior::Pinned,
            }),
            ..WorkerOptions::default()
        },
    );
    worker
        .register_workflow("Order", order)
        .register_workflow_with_options(
            "OrderAuto",
            order,
            WorkflowRegisterOptions {
                versioning_behavior: VersioningBehavior::AutoUpgrade,
            },
        )
        .register_dynamic_activity(move |_ctx: ActivityContext, _, _| async move {
            let answer = endure::Payload::encode(&format!("build {build}"))
                .map_err(|e| ActivityError::application(e.to_string(), "PayloadError"))?;
            Ok(Some(endure::Payloads::one(answer)))
        });
    Ok(worker)
}

fn spawn(
    worker: Worker,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    (
        stop,
        tokio::spawn(worker.run(async { drop(stopped.await) })),
    )
}

/// Waits until a worker of `build` has polled, so the deployment knows the version.
async fn known(client: &Client, build: &str) {
    while !client
        .deployments()
        .describe("orders")
        .await
        .is_ok_and(|d| d.versions.iter().any(|v| v.version.build_id == build))
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn statuses(client: &Client) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let described = client.deployments().describe("orders").await?;
    Ok(described
        .versions
        .iter()
        .map(|v| format!("build {} {:?}", v.version.build_id, v.status))
        .collect::<Vec<_>>()
        .join(", "))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let store = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "endure-deployments.redb".into());
    let _ = std::fs::remove_file(&store);
    let client = endure::embedded::open(&store).await?;
    let deployments = client.deployments();

    let (stop_1, running_1) = spawn(worker(&client, "1")?);
    known(&client, "1").await;
    deployments.set_current_version("orders", Some("1")).await?;
    println!("Build 1 is current: {}", statuses(&client).await?);
    let start = |workflow_type: &'static str, id: &'static str| {
        let client = client.clone();
        async move {
            let options =
                StartWorkflowOptions::new(WorkflowId::new(id)?, TaskQueueName::new("orders")?);
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(
                client.start_workflow(options, workflow_type, &()).await?,
            )
        }
    };
    let pinned = start("Order", "order-pinned").await?;
    let auto = start("OrderAuto", "order-auto").await?;
    // Both take their first step on build 1.
    for handle in [&pinned, &auto] {
        while handle.describe().await?.versioning.version.is_none() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    let (stop_2, running_2) = spawn(worker(&client, "2")?);
    known(&client, "2").await;
    deployments
        .set_ramping_version("orders", Some("2"), 50.0)
        .await?;
    println!("Build 2 ramps to 50 %: {}", statuses(&client).await?);
    deployments.set_current_version("orders", Some("2")).await?;
    println!("Build 2 is current: {}", statuses(&client).await?);

    pinned.signal("continue", &()).await?;
    auto.signal("continue", &()).await?;
    let pinned_steps: Vec<String> = pinned.result().await?;
    let auto_steps: Vec<String> = auto.result().await?;
    println!("Pinned run (Order):           {pinned_steps:?} — stays on the build it started on");
    println!("Auto-upgrade run (OrderAuto): {auto_steps:?} — moves to the current build");
    println!("Its pinned runs closed: {}", statuses(&client).await?);

    let _ = stop_1.send(());
    running_1.await?;
    deployments
        .delete_version(&WorkerDeploymentVersion::new("orders", "1")?)
        .await?;
    println!("Build 1 retired: {}", statuses(&client).await?);
    let _ = stop_2.send(());
    running_2.await?;
    Ok(())
}
