//! Workflow cancellation under faults (spec §5.12): clients cancel running workflows while
//! requests are duplicated and a worker is killed; each workflow learns it on its context,
//! its heartbeating activity acknowledges the cancel (or, on the dead worker, times out —
//! final once a cancel was requested, as in Temporal), a cleanup activity runs on a
//! disconnected context, and every run closes as canceled exactly once. Run with `RUSTFLAGS="--cfg madsim"`.

use std::sync::Arc;
use std::time::Duration;

use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::*;
use endure_core::history::EventType;
use endure_core::protocol::Transport;
use endure_sim::cluster::{Cluster, ClusterConfig};
use endure_sim::faults::FaultKind;
use endure_sim::invariants::{check_closed, check_replays, check_run, check_timers_not_early};
use endure_sim::seeds::run_seeds;
use madsim::rand::Rng;

const WORKFLOWS: u32 = 6;

/// Heartbeats until canceled.
#[endure::activity(name = "Process")]
async fn process(ctx: ActivityContext, _file: u32) -> Result<(), ActivityError> {
    loop {
        if ctx.heartbeat(&0u32).await {
            return Err(ActivityError::canceled(None));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[endure::activity(name = "CleanUp")]
async fn clean_up(_ctx: ActivityContext, _file: u32) -> Result<(), ActivityError> {
    Ok(())
}

/// The spec's defer example: on cancel, clean up on a disconnected context.
#[endure::workflow(name = "File")]
async fn file(ctx: WorkflowContext, file: u32) -> Result<(), WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions {
        heartbeat_timeout: Some(Duration::from_secs(2)),
        retry_policy: Some(RetryPolicy {
            initial_interval: Duration::from_millis(500),
            ..RetryPolicy::default()
        }),
        ..ActivityOptions::with_start_to_close_timeout(Duration::from_secs(600))
            .wait_for_cancellation(true)
    });
    let outcome = ctx.run_activity::<process>(&file).await;
    if ctx.is_canceled() {
        ctx.disconnected().run_activity::<clean_up>(&file).await?;
        return Err(WorkflowError::Canceled);
    }
    outcome?;
    Ok(())
}

fn register(worker: &mut Worker) {
    worker
        .register::<file>()
        .register::<process>()
        .register::<clean_up>();
}

fn worker(
    name: &'static str,
) -> impl Fn(Arc<dyn Transport>, &WorkerOptions) -> Worker + Send + Sync + 'static {
    endure_sim::cluster::worker(name, "files", register)
}

async fn scenario(_seed: u64) {
    let cluster = Cluster::start(ClusterConfig {
        duplicate_requests: 0.2,
        ..ClusterConfig::default()
    });
    cluster.add_worker("worker-1", worker("worker-1"));
    cluster.add_worker("worker-2", worker("worker-2"));
    let client = cluster.client();
    let ids: Vec<String> = (0..WORKFLOWS).map(|item| format!("file-{item}")).collect();
    let starting = ids.clone();
    cluster
        .on_client("starter", async move {
            for (item, id) in starting.iter().enumerate() {
                let options = StartWorkflowOptions::new(
                    WorkflowId::new(id.as_str()).unwrap(),
                    TaskQueueName::new("files").unwrap(),
                );
                client.start::<file>(options, &(item as u32)).await.unwrap();
            }
        })
        .await;
    // Kill a worker while activities run, then cancel every workflow.
    let (kill_at, victim) = {
        let mut rng = madsim::rand::thread_rng();
        (
            rng.gen_range(300..2_000),
            if rng.gen_bool(0.5) {
                "worker-1"
            } else {
                "worker-2"
            },
        )
    };
    tokio::time::sleep(Duration::from_millis(kill_at)).await;
    cluster.kill(victim);
    let client = cluster.client();
    let cancelling = ids.clone();
    cluster
        .on_client("canceller", async move {
            for id in cancelling {
                let handle = client.handle(WorkflowId::new(id.as_str()).unwrap(), None);
                while handle.cancel().await.is_err() {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        })
        .await;
    assert_eq!(cluster.faults.count(FaultKind::Kill), 1);
    let mut acknowledged = 0;

    // Liveness: every run closes, as canceled.
    let client = cluster.client();
    let errors = cluster
        .on_client("waiter", async move {
            let mut errors = Vec::new();
            for id in ids {
                let handle = client.handle(WorkflowId::new(id.as_str()).unwrap(), None);
                errors.push(handle.result::<()>().await.unwrap_err());
            }
            errors
        })
        .await;
    assert!(
        errors.iter().all(|error| matches!(
            error,
            ClientError::WorkflowClosed(status) if status.contains("Canceled")
        )),
        "{errors:?}"
    );
    let histories = cluster.histories().await;
    assert_eq!(histories.len(), WORKFLOWS as usize);
    let replayer = Replayer::for_workflow::<file>();
    for (run, history) in &histories {
        check_run(run, history).unwrap();
        check_closed(run, history).unwrap();
        check_timers_not_early(run, history).unwrap();
        check_replays(run, history, &replayer).unwrap();
        let types: Vec<EventType> = history.iter().map(|event| event.event_type()).collect();
        assert_eq!(
            types
                .iter()
                .filter(|t| **t == EventType::WorkflowExecutionCancelRequested)
                .count(),
            1,
            "{run}: one cancel request however often it was sent"
        );
        assert!(
            types.contains(&EventType::ActivityTaskCancelRequested),
            "{run}"
        );
        assert!(
            types.contains(&EventType::ActivityTaskCanceled)
                || types.contains(&EventType::ActivityTaskTimedOut),
            "{run}: the work ended by acknowledging the cancel or timing out: {types:?}"
        );
        assert_eq!(
            types.last(),
            Some(&EventType::WorkflowExecutionCanceled),
            "{run}"
        );
        acknowledged += usize::from(types.contains(&EventType::ActivityTaskCanceled));
        let activities = history
            .iter()
            .filter(|event| event.event_type() == EventType::ActivityTaskScheduled)
            .count();
        assert_eq!(activities, 2, "{run}: the work and its cleanup");
    }
    assert!(
        acknowledged > 0,
        "the surviving worker acknowledged its cancels"
    );
}

#[test]
fn cancelled_workflows_clean_up_and_close_as_canceled_under_faults() {
    run_seeds(
        "cancelled_workflows_clean_up_and_close_as_canceled_under_faults",
        &[1, 2, 3, 4, 5],
        Duration::from_secs(900),
        scenario,
    );
}
