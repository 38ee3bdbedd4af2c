//! A worker is cut off from the engine for longer than its activity's start-to-close
//! timeout: the attempt times out on the engine, the worker's late result is refused when
//! the partition heals, and the retry completes the workflow. Built on the public
//! simulation API (`endure_sim::simulation`). Run with `RUSTFLAGS="--cfg madsim"`.

use std::time::Duration;

use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::*;
use endure_sim::cluster::ENGINE;
use endure_sim::faults::FaultKind;
use endure_sim::invariants::retried_after_timeout;
use endure_sim::simulation::{Simulation, check};
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

/// The seed's simulation, on the public API (`endure_sim::simulation`): the scenario cuts
/// the worker off itself, at a moment of its choosing.
fn simulation(_seed: u64) -> Simulation {
    Simulation::new("shipping")
        .workers(1, register)
        .replay::<shipment>()
        .time_limit(Duration::from_secs(900))
        .invariant("one partition, healed", |outcome| {
            let kinds: Vec<FaultKind> = outcome.faults.iter().map(|fault| fault.kind).collect();
            if kinds == [FaultKind::Partition, FaultKind::Heal] {
                Ok(())
            } else {
                Err(format!("{kinds:?}"))
            }
        })
        .invariant(
            "the attempt recorded follows a start-to-close timeout",
            |outcome| {
                let history = outcome.histories.values().next().ok_or("no run")?;
                retried_after_timeout(history, TimeoutType::StartToClose).map(drop)
            },
        )
        .scenario(|driver| async move {
            let handle = driver
                .client
                .start::<shipment>(
                    StartWorkflowOptions::new(
                        WorkflowId::new("shipment-1").unwrap(),
                        TaskQueueName::new("shipping").unwrap(),
                    ),
                    &"parcel-9".to_owned(),
                )
                .await
                .map_err(|error| error.to_string())?;
            // Cut the worker off while its attempt runs, for longer than start-to-close.
            tokio::time::sleep(Duration::from_millis(500)).await;
            driver.cluster.partition("worker-1", ENGINE);
            let cut = madsim::rand::thread_rng().gen_range(15..45);
            tokio::time::sleep(Duration::from_secs(cut)).await;
            driver.cluster.heal("worker-1", ENGINE);
            let result = handle
                .result::<String>()
                .await
                .map_err(|error| error.to_string())?;
            if result == "shipped parcel-9" {
                Ok(())
            } else {
                Err(result)
            }
        })
}

#[test]
fn a_partition_longer_than_start_to_close_times_the_attempt_out_and_the_retry_completes() {
    check(
        "a_partition_longer_than_start_to_close_times_the_attempt_out_and_the_retry_completes",
        [1, 2, 3, 4, 5],
        simulation,
    )
    .unwrap_or_else(|failure| panic!("{failure}"));
}
