//! A worker crashes in the middle of a heartbeating activity: the heartbeat timeout fires,
//! the engine retries the activity, and another worker (on another node) runs it to the
//! end. Built on the public simulation API (`endure_sim::simulation`). Run with
//! `RUSTFLAGS="--cfg madsim"`.

use std::time::Duration;

use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::*;
use endure_sim::faults::FaultKind;
use endure_sim::invariants::retried_after_timeout;
use endure_sim::simulation::{Simulation, check};
use madsim::rand::Rng;

/// Ten steps of a second each, heartbeating after each.
#[endure::activity(name = "Charge")]
async fn charge(ctx: ActivityContext, cents: u32) -> Result<String, ActivityError> {
    let start = ctx
        .heartbeat_details::<u32>()
        .and_then(Result::ok)
        .unwrap_or(0);
    for step in start..10 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        ctx.heartbeat(&(step + 1)).await;
    }
    Ok(format!("charged {cents} (resumed at step {start})"))
}

#[endure::workflow(name = "Payment")]
async fn payment(ctx: WorkflowContext, cents: u32) -> Result<String, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions {
        start_to_close_timeout: Some(Duration::from_secs(60)),
        heartbeat_timeout: Some(Duration::from_secs(3)),
        retry_policy: Some(RetryPolicy {
            initial_interval: Duration::from_secs(1),
            ..RetryPolicy::with_maximum_attempts(5)
        }),
        ..ActivityOptions::default()
    });
    Ok(ctx.run_activity::<charge>(&cents).await?)
}

fn register(worker: &mut Worker) {
    worker.register::<payment>().register::<charge>();
}

/// The seed's simulation, built on the public API (`endure_sim::simulation`): one worker
/// that the scenario kills partway through the activity, a second that takes over.
fn simulation(_seed: u64) -> Simulation {
    Simulation::new("payments")
        .workers(1, register)
        .replay::<payment>()
        .invariant("one kill, of worker-1", |outcome| {
            let kills: Vec<_> = outcome
                .faults
                .iter()
                .filter(|fault| fault.kind == FaultKind::Kill)
                .collect();
            match kills.as_slice() {
                [kill] if kill.detail == "worker-1" => Ok(()),
                other => Err(format!("{other:?}")),
            }
        })
        .invariant(
            "the attempt recorded finished on worker-2 after a heartbeat timeout",
            |outcome| {
                let history = outcome.histories.values().next().ok_or("no run")?;
                let started = retried_after_timeout(history, TimeoutType::Heartbeat)?;
                if started.identity == "worker-2" {
                    Ok(())
                } else {
                    Err(format!("{started:?}"))
                }
            },
        )
        .scenario(|driver| async move {
            let handle = driver
                .client
                .start::<payment>(
                    StartWorkflowOptions::new(
                        WorkflowId::new("payment-1").unwrap(),
                        TaskQueueName::new("payments").unwrap(),
                    ),
                    &250,
                )
                .await
                .map_err(|error| error.to_string())?;
            // The activity starts within milliseconds and runs ten seconds; kill worker-1
            // partway. (ActivityTaskStarted is written only when an attempt ends, so
            // history cannot say.)
            let partway = madsim::rand::thread_rng().gen_range(1_000..9_000);
            tokio::time::sleep(Duration::from_millis(partway)).await;
            driver.cluster.kill("worker-1");
            driver.cluster.add_worker(
                "worker-2",
                endure_sim::cluster::worker("worker-2", "payments", register),
            );
            let result = handle
                .result::<String>()
                .await
                .map_err(|error| error.to_string())?;
            if result.starts_with("charged 250") {
                Ok(())
            } else {
                Err(result)
            }
        })
}

#[test]
fn a_crashed_workers_activity_times_out_and_finishes_on_another_worker() {
    check(
        "a_crashed_workers_activity_times_out_and_finishes_on_another_worker",
        [1, 2, 3, 4, 5],
        simulation,
    )
    .unwrap_or_else(|failure| panic!("{failure}"));
}

#[test]
fn one_seed_reproduces_its_histories_and_faults() {
    let name = "one_seed_reproduces_its_histories_and_faults";
    let first = check(name, [42], simulation).unwrap_or_else(|failure| panic!("{failure}"));
    let second = check(name, [42], simulation).unwrap_or_else(|failure| panic!("{failure}"));
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].faults, second[0].faults);
    assert_eq!(first[0].histories, second[0].histories);
    assert_eq!(
        first[0].digest, second[0].digest,
        "seed 42 gave two different outcomes"
    );
}
