//! Workflows made of local activities — a chain of them, a parallel pair, one that fails
//! twice with short backoffs (retried in the worker) and one with a long backoff (retried
//! through a durable timer) — while the engine is killed and loses power inside its
//! commits: every workflow returns what its activities add up to, each history records one
//! successful marker per activity with the attempts it took, and every run is well formed
//! and replays. Run with `RUSTFLAGS="--cfg madsim"`.

use std::sync::Arc;
use std::time::Duration;

use endure::activity::ActivityDefinition;
use endure::workflow::{ActivityError, LocalActivityOptions, WorkflowContext, WorkflowError};
use endure::*;
use endure_core::history::{EventAttributes, HistoryEvent};
use endure_core::protocol::Transport;
use endure_sim::cluster::{Cluster, ClusterConfig, StoreChoice};
use endure_sim::driver;
use endure_sim::invariants::check_all;
use endure_sim::seeds::run_seeds;

const WORKFLOWS: u64 = 4;
const FAULTS_MAX: u32 = 25;

struct Add;

impl ActivityDefinition for Add {
    const NAME: &'static str = "Add";
    type Input = (u64, u64);
    type Output = u64;
}

/// Fails its first two attempts.
struct Stubborn;

impl ActivityDefinition for Stubborn {
    const NAME: &'static str = "Stubborn";
    type Input = u64;
    type Output = u64;
}

fn retrying(initial: Duration) -> LocalActivityOptions {
    LocalActivityOptions {
        retry_policy: Some(RetryPolicy {
            initial_interval: initial,
            backoff_coefficient: 1.0,
            ..RetryPolicy::default()
        }),
        local_retry_threshold: Some(Duration::from_millis(500)),
        ..LocalActivityOptions::with_start_to_close_timeout(Duration::from_secs(2))
    }
}

/// n + 1 + 2, then (x + 10) + (x + 20), then two stubborn ones adding 100 and 1000.
#[endure::workflow(name = "Ledger")]
async fn ledger(ctx: WorkflowContext, n: u64) -> Result<u64, WorkflowError> {
    let short = retrying(Duration::from_millis(50));
    let x: u64 = ctx
        .execute_local_activity("Add", &(n, 1), short.clone())
        .await?;
    let x: u64 = ctx
        .execute_local_activity("Add", &(x, 2), short.clone())
        .await?;
    let left = ctx.execute_local_activity::<_, u64>("Add", &(x, 10), short.clone());
    let right = ctx.execute_local_activity::<_, u64>("Add", &(x, 20), short.clone());
    let x = left.await? + right.await?;
    let x: u64 = ctx
        .execute_local_activity("Stubborn", &(x + 100), short)
        .await?;
    let long = retrying(Duration::from_secs(1));
    Ok(ctx
        .execute_local_activity("Stubborn", &(x + 1000), long)
        .await?)
}

fn expected(n: u64) -> u64 {
    let x = n + 3;
    (x + 10) + (x + 20) + 100 + 1000
}

fn worker(
    name: &'static str,
) -> impl Fn(Arc<dyn Transport>, &WorkerOptions) -> Worker + Send + Sync + 'static {
    move |transport, options| {
        let mut worker = Worker::new(
            transport,
            Namespace::default(),
            TaskQueueName::new("ledgers").unwrap(),
            WorkerOptions {
                identity: name.into(),
                ..options.clone()
            },
        );
        worker.register::<ledger>();
        worker.register_activity::<Add, _, _>(|_ctx, (a, b): (u64, u64)| async move {
            Ok::<_, ActivityError>(a + b)
        });
        worker.register_activity::<Stubborn, _, _>(|ctx: ActivityContext, value: u64| async move {
            if ctx.info().attempt < 3 {
                return Err(ActivityError::application("not yet", "Stubborn"));
            }
            Ok(value)
        });
        worker
    }
}

async fn scenario(seed: u64) {
    let cluster = Cluster::start(ClusterConfig {
        store: StoreChoice::Disk { seed },
        max_commit_delay: Duration::from_millis(20),
        ..ClusterConfig::default()
    });
    cluster.add_worker("worker-1", worker("worker-1"));
    cluster.add_worker("worker-2", worker("worker-2"));
    let client = cluster.client();
    driver::through_kills_and_power_losses(&cluster, FAULTS_MAX, async move {
        let mut handles = Vec::new();
        for n in 0..WORKFLOWS {
            let mut options = StartWorkflowOptions::new(
                WorkflowId::new(format!("ledger-{n}")).unwrap(),
                TaskQueueName::new("ledgers").unwrap(),
            );
            options.request_id = Some(format!("start-{n}").parse().unwrap());
            options.task_timeout = Some(Duration::from_secs(2));
            handles.push(driver::start_until_taken::<ledger>(&client, options, &n).await);
        }
        for (n, handle) in handles.iter().enumerate() {
            driver::result_when_reachable::<u64>(handle)
                .await
                .unwrap_or_else(|error| panic!("ledger-{n}: {error}"));
        }
    })
    .await;

    let ids: Vec<String> = (0..WORKFLOWS).map(|n| format!("ledger-{n}")).collect();
    let results: Vec<u64> = cluster.results(ids, Duration::from_secs(300)).await;
    for (n, result) in results.iter().enumerate() {
        assert_eq!(*result, expected(n as u64), "ledger-{n}");
    }
    let histories = cluster.histories().await;
    check_all(&histories, &Replayer::for_workflow::<ledger>()).unwrap();
    for (run, history) in &histories {
        check_markers(run, history);
    }
}

/// One successful marker per activity (six), the stubborn ones at attempt 3; the long
/// backoff's failed attempts recorded with it.
fn check_markers(run: &str, history: &[HistoryEvent]) {
    let mut succeeded = Vec::new();
    let mut failed = 0;
    for event in history {
        if let EventAttributes::MarkerRecorded(marker) = &event.attributes {
            assert_eq!(marker.marker_name.as_str(), "LocalActivity", "{run}");
            let data = endure::workflow::LocalActivityMarkerData::of(marker).unwrap();
            let attempt = data.attempt;
            if marker.failure.is_some() {
                failed += 1;
                assert!(
                    data.backoff_nanos > 0,
                    "{run}: a failed attempt retried by timer"
                );
            } else {
                succeeded.push(attempt);
            }
        }
    }
    assert_eq!(succeeded, [1, 1, 1, 1, 3, 3], "{run}");
    assert_eq!(failed, 2, "{run}: the long backoff's two failed attempts");
}

#[test]
fn local_activities_complete_through_crashes() {
    run_seeds(
        "local_activities_complete_through_crashes",
        &[0, 1, 2, 3, 4, 5],
        Duration::from_secs(900),
        scenario,
    );
}
