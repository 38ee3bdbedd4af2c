//! A worker crashes in the middle of a heartbeating activity: the heartbeat timeout fires,
//! the engine retries the activity, and another worker (on another node) runs it to the
//! end. Run with `RUSTFLAGS="--cfg madsim"`.

use std::sync::Arc;
use std::time::Duration;

use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::*;
use endure_core::EventAttributes;
use endure_core::protocol::Transport;
use endure_sim::cluster::{Cluster, ClusterConfig};
use endure_sim::digest::outcome_digest;
use endure_sim::faults::FaultKind;
use endure_sim::invariants::*;
use endure_sim::seeds::{run_seed, run_seeds};
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

fn worker(
    name: &'static str,
) -> impl Fn(Arc<dyn Transport>, &WorkerOptions) -> Worker + Send + Sync + 'static {
    endure_sim::cluster::worker(name, "payments", register)
}

/// One seed: returns the digest of the outcome.
async fn scenario(_seed: u64) -> u64 {
    let cluster = Arc::new(Cluster::start(ClusterConfig::default()));
    cluster.add_worker("worker-1", worker("worker-1"));
    let client_node = cluster.add_client_node("client");
    let client = cluster.client();
    let handle = client_node
        .spawn(async move {
            client
                .start::<payment>(
                    StartWorkflowOptions::new(
                        WorkflowId::new("payment-1").unwrap(),
                        TaskQueueName::new("payments").unwrap(),
                    ),
                    &250,
                )
                .await
                .unwrap()
        })
        .await
        .unwrap();
    // The activity starts within milliseconds and runs ten seconds; kill worker-1 partway.
    // (ActivityTaskStarted is written only when an attempt ends, so history cannot say.)
    let partway = madsim::rand::thread_rng().gen_range(1_000..9_000);
    tokio::time::sleep(Duration::from_millis(partway)).await;
    cluster.kill("worker-1");
    cluster.add_worker("worker-2", worker("worker-2"));

    let result = client_node
        .spawn(async move { handle.result::<String>().await })
        .await
        .unwrap()
        .expect("the payment completes on worker-2");
    assert!(result.starts_with("charged 250"), "{result}");

    // Invariants and the fault that must have fired.
    assert_eq!(cluster.faults.count(FaultKind::Kill), 1);
    let histories = cluster.histories().await;
    let replayer = Replayer::for_workflow::<payment>();
    for (run, history) in &histories {
        check_run(run, history).unwrap();
        check_closed(run, history).unwrap();
        check_timers_not_early(run, history).unwrap();
        check_replays(run, history, &replayer).unwrap();
    }
    let history = histories.values().next().expect("one run");
    let started = history
        .iter()
        .find_map(|e| match &e.attributes {
            EventAttributes::ActivityTaskStarted(started) => Some(started),
            _ => None,
        })
        .unwrap();
    // The attempt recorded is the one that finished, on worker-2, after a heartbeat timeout.
    assert!(started.attempt >= 2, "{started:?}");
    assert_eq!(started.identity, "worker-2");
    let failure = started
        .last_failure
        .as_ref()
        .expect("the timeout is recorded");
    assert!(
        matches!(
            failure.info,
            endure_core::FailureInfo::Timeout {
                timeout_type: TimeoutType::Heartbeat,
                ..
            }
        ),
        "{failure:?}"
    );
    outcome_digest(&histories, &cluster.faults.entries())
}

const LIMIT: Duration = Duration::from_secs(600);

#[test]
fn a_crashed_workers_activity_times_out_and_finishes_on_another_worker() {
    run_seeds(
        "a_crashed_workers_activity_times_out_and_finishes_on_another_worker",
        &[1, 2, 3, 4, 5],
        LIMIT,
        scenario,
    );
}

#[test]
fn one_seed_reproduces_its_histories_and_faults() {
    let name = "one_seed_reproduces_its_histories_and_faults";
    let first = run_seed(name, 42, LIMIT, &scenario);
    let second = run_seed(name, 42, LIMIT, &scenario);
    assert_eq!(first, second, "seed 42 gave two different outcomes");
}
