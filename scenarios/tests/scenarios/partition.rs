//! A worker is cut off from the engine for longer than its activity's start-to-close
//! timeout: the attempt times out on the engine, the worker's late result is refused when
//! the partition heals, and the retry completes the workflow. Run with
//! `RUSTFLAGS="--cfg madsim"`.

use std::sync::Arc;
use std::time::Duration;

use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::*;
use endure_core::EventAttributes;
use endure_core::protocol::Transport;
use endure_sim::cluster::{Cluster, ClusterConfig, ENGINE};
use endure_sim::faults::FaultKind;
use endure_sim::invariants::check_all;
use endure_sim::seeds::run_seeds;
use madsim::rand::Rng;

#[endure::activity(name = "Ship")]
async fn ship(_ctx: ActivityContext, parcel: String) -> Result<String, ActivityError> {
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(format!("shipped {parcel}"))
}

#[endure::workflow(name = "Shipment")]
async fn shipment(ctx: WorkflowContext, parcel: String) -> Result<String, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions {
        start_to_close_timeout: Some(Duration::from_secs(10)),
        retry_policy: Some(RetryPolicy {
            initial_interval: Duration::from_secs(1),
            ..RetryPolicy::with_maximum_attempts(10)
        }),
        ..ActivityOptions::default()
    });
    Ok(ctx.run_activity::<ship>(&parcel).await?)
}

fn register(worker: &mut Worker) {
    worker.register::<shipment>().register::<ship>();
}

fn worker(
    name: &'static str,
) -> impl Fn(Arc<dyn Transport>, &WorkerOptions) -> Worker + Send + Sync + 'static {
    endure_sim::cluster::worker(name, "shipping", register)
}

async fn scenario(_seed: u64) {
    let cluster = Cluster::start(ClusterConfig::default());
    cluster.add_worker("worker-1", worker("worker-1"));
    let client = cluster.client();
    let handle = cluster
        .on_client("starter", async move {
            client
                .start::<shipment>(
                    StartWorkflowOptions::new(
                        WorkflowId::new("shipment-1").unwrap(),
                        TaskQueueName::new("shipping").unwrap(),
                    ),
                    &"parcel-9".to_owned(),
                )
                .await
                .unwrap()
        })
        .await;
    // Cut the worker off while its attempt runs, for longer than start-to-close.
    tokio::time::sleep(Duration::from_millis(500)).await;
    cluster.partition("worker-1", ENGINE);
    let cut = madsim::rand::thread_rng().gen_range(15..45);
    tokio::time::sleep(Duration::from_secs(cut)).await;
    cluster.heal("worker-1", ENGINE);

    let result = cluster
        .on_client("waiter", async move { handle.result::<String>().await })
        .await
        .expect("the shipment completes after the partition heals");
    assert_eq!(result, "shipped parcel-9");
    assert_eq!(cluster.faults.count(FaultKind::Partition), 1);
    assert_eq!(cluster.faults.count(FaultKind::Heal), 1);

    let histories = cluster.histories().await;
    check_all(&histories, &Replayer::for_workflow::<shipment>()).unwrap();
    let history = histories.values().next().expect("one run");
    let started = history
        .iter()
        .find_map(|e| match &e.attributes {
            EventAttributes::ActivityTaskStarted(started) => Some(started),
            _ => None,
        })
        .unwrap();
    assert!(started.attempt >= 2, "{started:?}");
    let failure = started
        .last_failure
        .as_ref()
        .expect("the timeout is recorded");
    assert!(
        matches!(
            failure.info,
            endure_core::FailureInfo::Timeout {
                timeout_type: TimeoutType::StartToClose,
                ..
            }
        ),
        "{failure:?}"
    );
}

#[test]
fn a_partition_longer_than_start_to_close_times_the_attempt_out_and_the_retry_completes() {
    run_seeds(
        "a_partition_longer_than_start_to_close_times_the_attempt_out_and_the_retry_completes",
        &[1, 2, 3, 4, 5],
        Duration::from_secs(900),
        scenario,
    );
}
