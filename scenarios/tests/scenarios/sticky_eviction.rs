//! The worker a run is sticky to dies between two workflow tasks: the next task waits on
//! its sticky queue, falls back to the normal queue after the sticky schedule-to-start
//! timeout, and another worker — with nothing cached — rebuilds the run by replaying its
//! whole history and finishes it. Run with `RUSTFLAGS="--cfg madsim"`.

use std::sync::Arc;
use std::time::Duration;

use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::*;
use endure_core::protocol::Transport;
use endure_core::{EventAttributes, TaskQueueKind};
use endure_sim::cluster::{Cluster, ClusterConfig};
use endure_sim::faults::FaultKind;
use endure_sim::invariants::check_all;
use endure_sim::seeds::run_seeds;
use madsim::rand::Rng;

#[endure::activity(name = "Step")]
async fn step(_ctx: ActivityContext, number: u32) -> Result<u32, ActivityError> {
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(number * 10)
}

/// Five steps, one activity each, with a durable pause between them.
#[endure::workflow(name = "Steps")]
async fn steps(ctx: WorkflowContext, count: u32) -> Result<u32, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions::with_start_to_close_timeout(
        Duration::from_secs(10),
    ));
    let mut total = 0;
    for number in 1..=count {
        total += ctx.run_activity::<step>(&number).await?;
        let _ = ctx.sleep(Duration::from_secs(2)).await;
    }
    Ok(total)
}

fn register(worker: &mut Worker) {
    worker.register::<steps>().register::<step>();
}

fn worker(
    name: &'static str,
) -> impl Fn(Arc<dyn Transport>, &WorkerOptions) -> Worker + Send + Sync + 'static {
    endure_sim::cluster::worker(name, "steps", register)
}

async fn scenario(_seed: u64) {
    let cluster = Cluster::start(ClusterConfig::default());
    cluster.add_worker("worker-1", worker("worker-1"));
    let client = cluster.client();
    let handle = cluster
        .on_client("starter", async move {
            client
                .start::<steps>(
                    StartWorkflowOptions::new(
                        WorkflowId::new("steps-1").unwrap(),
                        TaskQueueName::new("steps").unwrap(),
                    ),
                    &5,
                )
                .await
                .unwrap()
        })
        .await;
    // Each step takes about three seconds; kill worker-1 somewhere in steps 1 to 3.
    let at = madsim::rand::thread_rng().gen_range(1_500..9_000);
    tokio::time::sleep(Duration::from_millis(at)).await;
    cluster.kill("worker-1");
    cluster.add_worker("worker-2", worker("worker-2"));

    let result = cluster
        .on_client("waiter", async move { handle.result::<u32>().await })
        .await
        .expect("worker-2 finishes the run");
    assert_eq!(result, 150);
    assert_eq!(cluster.faults.count(FaultKind::Kill), 1);

    let histories = cluster.histories().await;
    check_all(&histories, &Replayer::for_workflow::<steps>()).unwrap();
    let history = histories.values().next().expect("one run");
    // Worker-1 asked for stickiness; after its death a sticky task timed out to the normal
    // queue — waiting on the dead worker's queue (schedule-to-start), or taken by it just
    // before it died (start-to-close, which clears stickiness) — and worker-2 completed
    // tasks with nothing cached: a full replay.
    let kinds: Vec<TaskQueueKind> = history
        .iter()
        .filter_map(|e| match &e.attributes {
            EventAttributes::WorkflowTaskScheduled(scheduled) => Some(scheduled.task_queue.kind),
            _ => None,
        })
        .collect();
    assert_eq!(kinds.first(), Some(&TaskQueueKind::Normal));
    assert!(kinds.contains(&TaskQueueKind::Sticky), "{kinds:?}");
    let fallbacks = history
        .iter()
        .filter(|e| {
            matches!(&e.attributes, EventAttributes::WorkflowTaskTimedOut(t)
                if matches!(t.timeout_type, TimeoutType::ScheduleToStart | TimeoutType::StartToClose))
        })
        .count();
    assert!(
        fallbacks >= 1,
        "a sticky task fell back to the normal queue"
    );
    let completed_by_worker_2 = history.iter().any(|e| {
        matches!(&e.attributes, EventAttributes::WorkflowTaskCompleted(c) if c.identity == "worker-2")
    });
    assert!(completed_by_worker_2);
}

#[test]
fn a_dead_sticky_workers_run_falls_back_and_is_replayed_elsewhere() {
    run_seeds(
        "a_dead_sticky_workers_run_falls_back_and_is_replayed_elsewhere",
        // The soak's seed 79000311: the worker died holding a started sticky task, which
        // timed out start-to-close rather than schedule-to-start.
        &[1, 2, 3, 4, 5, 79_000_311],
        Duration::from_secs(900),
        scenario,
    );
}
