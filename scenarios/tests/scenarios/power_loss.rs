//! The engine runs on the real redb store over a simulated disk and loses power inside its
//! commits, three times, while clients start and signal workflows; then an fsync fails
//! with EIO, the store stops acknowledging (fail-stop) and the node is restarted. Every
//! acknowledged start and signal survives (exactly once), and every workflow completes.
//! Run with `RUSTFLAGS="--cfg madsim"`.

use std::sync::Arc;
use std::time::Duration;

use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::*;
use endure_core::protocol::Transport;
use endure_sim::cluster::{Cluster, ClusterConfig, StoreChoice};
use endure_sim::disk::CrashPoint;
use endure_sim::faults::FaultKind;
use endure_sim::invariants::{check_all, check_signals_exactly_once};
use endure_sim::seeds::run_seeds;
use madsim::rand::Rng;
use parking_lot::Mutex;

const WORKFLOWS: u32 = 16;

#[endure::activity(name = "Debit")]
async fn debit(_ctx: ActivityContext, cents: u32) -> Result<u32, ActivityError> {
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(cents)
}

/// Debits, waits for its `go` signal, pauses, debits again.
#[endure::workflow(name = "Transfer")]
async fn transfer(ctx: WorkflowContext, cents: u32) -> Result<String, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions {
        start_to_close_timeout: Some(Duration::from_secs(5)),
        retry_policy: Some(RetryPolicy {
            initial_interval: Duration::from_millis(500),
            ..RetryPolicy::default()
        }),
        ..ActivityOptions::default()
    });
    let first = ctx.run_activity::<debit>(&cents).await?;
    let go: String = ctx.signal_channel("go").recv_json().await?;
    let _ = ctx.sleep(Duration::from_secs(2)).await;
    let second = ctx.run_activity::<debit>(&cents).await?;
    Ok(format!("{go}:{}", first + second))
}

fn register(worker: &mut Worker) {
    worker.register::<transfer>().register::<debit>();
}

fn worker(
    name: &'static str,
) -> impl Fn(Arc<dyn Transport>, &WorkerOptions) -> Worker + Send + Sync + 'static {
    endure_sim::cluster::worker(name, "transfers", register)
}

fn options(item: u32) -> StartWorkflowOptions {
    let mut options = StartWorkflowOptions::new(
        WorkflowId::new(format!("transfer-{item}")).unwrap(),
        TaskQueueName::new("transfers").unwrap(),
    );
    options.request_id = Some(format!("start-{item}").parse().unwrap());
    options
}

async fn scenario(seed: u64) {
    let cluster = Cluster::start(ClusterConfig {
        store: StoreChoice::Disk { seed },
        ..ClusterConfig::default()
    });
    cluster.add_worker("worker-1", worker("worker-1"));
    cluster.add_worker("worker-2", worker("worker-2"));
    // Starts and signals retried with the same request id until acknowledged.
    let acknowledged = Arc::new(Mutex::new(Vec::<(u32, String)>::new()));
    let client = cluster.client();
    let acked = Arc::clone(&acknowledged);
    let driver = cluster.add_client_node("driver");
    let driving = driver.spawn(async move {
        for item in 0..WORKFLOWS {
            while client
                .start::<transfer>(options(item), &(item * 100))
                .await
                .is_err()
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        for item in 0..WORKFLOWS {
            let handle = client.handle(WorkflowId::new(format!("transfer-{item}")).unwrap(), None);
            let value = format!("go-{item}");
            let request_id = format!("signal-{item}");
            while handle
                .signal_with_request_id("go", &value, &request_id)
                .await
                .is_err()
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            acked.lock().push((item, value));
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    });

    // Three power losses, each inside a commit: after the k-th write or sync from now.
    let mut inside_commits = 0;
    for _ in 0..3 {
        let (wait, point) = {
            let mut rng = madsim::rand::thread_rng();
            let point = if rng.gen_bool(0.5) {
                CrashPoint::AfterWrite(rng.gen_range(1..8))
            } else {
                CrashPoint::AfterSync(rng.gen_range(1..4))
            };
            (rng.gen_range(200..1_500), point)
        };
        tokio::time::sleep(Duration::from_millis(wait)).await;
        cluster.arm_crash(point);
        let disk = cluster.disk().unwrap().clone();
        for _ in 0..200 {
            if disk.is_crashed() {
                inside_commits += 1;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Fired inside a commit, or (if nothing committed in ten seconds) now.
        cluster.power_loss();
    }
    // An fsync fails: the store stops; a supervisor restarts the node (what the failed
    // commit had written may or may not be there, as after a power loss).
    tokio::time::sleep(Duration::from_millis(300)).await;
    cluster.fail_next_fsync();
    let disk = cluster.disk().unwrap().clone();
    for _ in 0..200 {
        if disk.sync_failures() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cluster.power_loss();
    driving.await.unwrap();
    assert_eq!(cluster.faults.count(FaultKind::PowerLoss), 4);
    assert_eq!(cluster.faults.count(FaultKind::FsyncError), 1);
    assert_eq!(cluster.disk().unwrap().crashes(), 4);
    assert!(
        inside_commits >= 2,
        "only {inside_commits} crash points fired inside commits"
    );

    // Liveness: every workflow completes once power stays on.
    let ids = (0..WORKFLOWS)
        .map(|item| format!("transfer-{item}"))
        .collect();
    let results: Vec<String> = cluster.results(ids, Duration::from_secs(300)).await;
    assert_eq!(
        results,
        (0..WORKFLOWS)
            .map(|item| format!("go-{item}:{}", item * 200))
            .collect::<Vec<_>>()
    );
    let histories = cluster.histories().await;
    assert_eq!(
        histories.len(),
        WORKFLOWS as usize,
        "{:?}",
        histories.keys()
    );
    check_all(&histories, &Replayer::for_workflow::<transfer>()).unwrap();
    for (item, value) in acknowledged.lock().iter() {
        let (run, history) = histories
            .iter()
            .find(|(run, _)| run.starts_with(&format!("transfer-{item}/")))
            .unwrap();
        check_signals_exactly_once(run, history, std::slice::from_ref(value)).unwrap();
    }
}

#[test]
fn power_losses_inside_commits_lose_nothing_acknowledged() {
    run_seeds(
        "power_losses_inside_commits_lose_nothing_acknowledged",
        &[1, 2, 3, 4, 5],
        Duration::from_secs(900),
        scenario,
    );
}
