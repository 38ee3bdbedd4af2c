//! The engine node dies twice under load and comes back on what it had acknowledged:
//! workers and clients reconnect, the engine recovers its tasks, timers and deadlines, and
//! every workflow completes exactly once. Run with `RUSTFLAGS="--cfg madsim"`.

use std::sync::Arc;
use std::time::Duration;

use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::*;
use endure_core::protocol::Transport;
use endure_sim::cluster::{Cluster, ClusterConfig, ENGINE};
use endure_sim::faults::FaultKind;
use endure_sim::invariants::check_all;
use endure_sim::seeds::run_seeds;
use madsim::rand::Rng;

const WORKFLOWS: u32 = 12;

#[endure::activity(name = "Reserve")]
async fn reserve(_ctx: ActivityContext, item: u32) -> Result<u32, ActivityError> {
    tokio::time::sleep(Duration::from_millis(300)).await;
    Ok(item + 1000)
}

#[endure::workflow(name = "Order")]
async fn order(ctx: WorkflowContext, item: u32) -> Result<u32, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions {
        start_to_close_timeout: Some(Duration::from_secs(5)),
        retry_policy: Some(RetryPolicy {
            initial_interval: Duration::from_millis(500),
            ..RetryPolicy::default()
        }),
        ..ActivityOptions::default()
    });
    let reserved = ctx.run_activity::<reserve>(&item).await?;
    let _ = ctx.sleep(Duration::from_secs(3)).await;
    let confirmed = ctx.run_activity::<reserve>(&reserved).await?;
    Ok(confirmed)
}

fn register(worker: &mut Worker) {
    worker.register::<order>().register::<reserve>();
}

fn worker(
    name: &'static str,
) -> impl Fn(Arc<dyn Transport>, &WorkerOptions) -> Worker + Send + Sync + 'static {
    endure_sim::cluster::worker(name, "orders", register)
}

async fn scenario(_seed: u64) {
    let cluster = Cluster::start(ClusterConfig::default());
    cluster.add_worker("worker-1", worker("worker-1"));
    cluster.add_worker("worker-2", worker("worker-2"));
    let client = cluster.client();
    let starter = cluster.add_client_node("starter");
    // Starts are retried by the client with the same request id, as an application would
    // after an Unavailable; the engine deduplicates them.
    let starting = starter.spawn(async move {
        for item in 0..WORKFLOWS {
            let mut options = StartWorkflowOptions::new(
                WorkflowId::new(format!("order-{item}")).unwrap(),
                TaskQueueName::new("orders").unwrap(),
            );
            options.request_id = Some(format!("start-{item}").parse().unwrap());
            loop {
                match client.start::<order>(options.clone(), &item).await {
                    Ok(_) => break,
                    Err(_unavailable) => {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    });
    for _ in 0..2 {
        let (up, down) = {
            let mut rng = madsim::rand::thread_rng();
            (rng.gen_range(500..4_000), rng.gen_range(100..3_000))
        };
        tokio::time::sleep(Duration::from_millis(up)).await;
        cluster.kill(ENGINE);
        tokio::time::sleep(Duration::from_millis(down)).await;
        cluster.restart(ENGINE);
    }
    starting.await.unwrap();
    assert_eq!(cluster.faults.count(FaultKind::Kill), 2);
    assert_eq!(cluster.faults.count(FaultKind::Restart), 2);

    // Liveness: every workflow completes once the faults stop.
    let ids = (0..WORKFLOWS).map(|item| format!("order-{item}")).collect();
    let results: Vec<u32> = cluster.results(ids, Duration::from_secs(300)).await;
    assert_eq!(
        results,
        (0..WORKFLOWS).map(|item| item + 2000).collect::<Vec<_>>()
    );
    let histories = cluster.histories().await;
    assert_eq!(
        histories.len(),
        WORKFLOWS as usize,
        "one run per workflow: {:?}",
        histories.keys()
    );
    check_all(&histories, &Replayer::for_workflow::<order>()).unwrap();
}

#[test]
fn the_engine_dies_twice_under_load_and_every_workflow_completes_once() {
    run_seeds(
        "the_engine_dies_twice_under_load_and_every_workflow_completes_once",
        &[1, 2, 3, 4, 5],
        Duration::from_secs(900),
        scenario,
    );
}
