//! Swarm testing: each seed enables its own random subset of the fault catalogue and its
//! own knobs (clock skew, slow commits, duplicated requests), then throws those faults at a
//! workload of orders — activities with retries and heartbeats, timers, signals — until the
//! workload is done. Afterwards every order completes, every acknowledged signal is in its
//! history exactly once, and every history is well formed, never early and replays. Run
//! with `RUSTFLAGS="--cfg madsim"`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::*;
use endure_core::protocol::Transport;
use endure_sim::cluster::Cluster;
use endure_sim::faults::FaultKind;
use endure_sim::invariants::{check_all, check_signals_exactly_once};
use endure_sim::seeds::run_seeds;
use endure_sim::swarm;
use parking_lot::Mutex;

const ORDERS: u32 = 8;
const FAULTS_MAX: u32 = 20;
const WORKERS: [&str; 2] = ["worker-1", "worker-2"];

/// Reserves stock in a few heartbeated steps.
#[endure::activity(name = "Reserve")]
async fn reserve(ctx: ActivityContext, order: u32) -> Result<u32, ActivityError> {
    let from = ctx
        .heartbeat_details::<u32>()
        .and_then(Result::ok)
        .unwrap_or(0);
    for step in from..3 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        ctx.heartbeat(&(step + 1)).await;
    }
    Ok(order * 10)
}

/// Reserves, waits for payment (a signal) with a reminder timer, pauses, ships.
#[endure::workflow(name = "Order")]
async fn order(ctx: WorkflowContext, (number, nap): (u32, u64)) -> Result<String, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions {
        start_to_close_timeout: Some(Duration::from_secs(4)),
        heartbeat_timeout: Some(Duration::from_secs(2)),
        retry_policy: Some(RetryPolicy {
            initial_interval: Duration::from_millis(300),
            maximum_interval: Some(Duration::from_secs(2)),
            ..RetryPolicy::default()
        }),
        ..ActivityOptions::default()
    });
    let reserved = ctx.run_activity::<reserve>(&number).await?;
    let paid: String = ctx.signal_channel("pay").recv_json().await?;
    let _ = ctx.sleep(Duration::from_millis(nap)).await;
    let shipped = ctx.run_activity::<reserve>(&(number + 100)).await?;
    Ok(format!("{reserved}:{paid}:{shipped}"))
}

fn register(worker: &mut Worker) {
    worker.register::<order>().register::<reserve>();
}

fn worker(
    name: &'static str,
) -> impl Fn(Arc<dyn Transport>, &WorkerOptions) -> Worker + Send + Sync + 'static {
    endure_sim::cluster::worker(name, "swarm", register)
}

async fn scenario(seed: u64) {
    scenario_from(seed, &swarm::CATALOGUE).await;
}

/// The scenario with faults chosen from `catalogue`.
async fn scenario_from(seed: u64, catalogue: &[swarm::Fault]) {
    // The seed's swarm: which faults, which knobs.
    let (enabled, config) = swarm::choose_from(seed, catalogue);
    let short_writes = config.short_writes;
    let cluster = Cluster::start(config);
    for name in WORKERS {
        cluster.add_worker(name, worker(name));
    }
    let acknowledged = Arc::new(Mutex::new(Vec::<(u32, String)>::new()));
    let done = Arc::new(AtomicBool::new(false));
    let client = cluster.client();
    let driver = cluster.add_client_node("driver");
    let (acked, finished) = (Arc::clone(&acknowledged), Arc::clone(&done));
    let driving = driver.spawn(async move {
        for number in 0..ORDERS {
            let mut options = StartWorkflowOptions::new(
                WorkflowId::new(format!("order-{number}")).unwrap(),
                TaskQueueName::new("swarm").unwrap(),
            );
            options.request_id = Some(format!("start-{number}").parse().unwrap());
            let nap = 200 + u64::from(number % 4) * 700;
            loop {
                match client.start::<order>(options.clone(), &(number, nap)).await {
                    Ok(handle) => {
                        tracing::info!(number, run = ?handle.run_id(), "order started");
                        break;
                    }
                    Err(error) => tracing::info!(number, %error, "order start failed"),
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        for number in 0..ORDERS {
            let handle = client.handle(WorkflowId::new(format!("order-{number}")).unwrap(), None);
            let value = format!("paid-{number}");
            while handle
                .signal_with_request_id("pay", &value, &format!("pay-{number}"))
                .await
                .is_err()
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            tracing::info!(number, "order paid");
            acked.lock().push((number, value));
        }
        finished.store(true, Ordering::SeqCst);
    });
    // Faults from the seed's subset, one after another, until the workload is done.
    let closed = cluster.watch_closed(
        (0..ORDERS)
            .map(|number| format!("order-{number}"))
            .collect(),
    );
    swarm::throw(
        &cluster,
        &WORKERS,
        &enabled,
        || done.load(Ordering::SeqCst) && closed.load(Ordering::SeqCst),
        3,
        FAULTS_MAX,
    )
    .await;
    driving.await.unwrap();
    let thrown = cluster
        .faults
        .entries()
        .iter()
        .filter(|fault| fault.kind != FaultKind::ShortWrites)
        .count();
    assert_eq!(thrown == 0, enabled.is_empty());
    if short_writes {
        assert!(cluster.writes_cut_short() > 0, "short writes were on");
    }

    // Liveness once the faults stop.
    let results: Vec<String> = cluster
        .results(
            (0..ORDERS)
                .map(|number| format!("order-{number}"))
                .collect(),
            Duration::from_secs(600),
        )
        .await;
    for (number, result) in results.iter().enumerate() {
        let number = number as u32;
        assert_eq!(
            result,
            &format!("{}:paid-{number}:{}", number * 10, (number + 100) * 10),
            "{enabled:?}"
        );
    }
    let histories = cluster.histories().await;
    assert_eq!(histories.len(), ORDERS as usize, "one run each");
    check_all(&histories, &Replayer::for_workflow::<order>()).unwrap();
    let acknowledged = acknowledged.lock().clone();
    for (run, history) in &histories {
        let labels: Vec<String> = acknowledged
            .iter()
            .filter(|(number, _)| run.starts_with(&format!("order-{number}/")))
            .map(|(_, label)| label.clone())
            .collect();
        check_signals_exactly_once(run, history, &labels).unwrap();
    }
}

#[test]
fn each_seed_throws_its_own_subset_of_the_fault_catalogue() {
    run_seeds(
        "each_seed_throws_its_own_subset_of_the_fault_catalogue",
        &[1, 2, 3, 4, 5, 6, 7, 8],
        Duration::from_secs(1_800),
        scenario,
    );
}

/// Regression (seed 777000000): a run's timer came due while the write completing the run
/// was still in flight; once that write settled the shard took the due timer for the end of
/// the run's retention and deleted a run that had closed a moment before, so its result was
/// never found. (Changes to the harness since — the engine's task report, the server's
/// limits — move this seed's schedule off the race; the engine test `deadline_race` plays
/// it every time.)
#[test]
fn regression_a_deadline_due_while_the_run_closes_does_not_delete_it() {
    run_seeds(
        "regression_a_deadline_due_while_the_run_closes_does_not_delete_it",
        &[777_000_000],
        Duration::from_secs(1_800),
        // Found before the slow-peer and corrupt-read faults: chosen as it was then.
        |seed| scenario_from(seed, swarm::FIRST_CATALOGUE),
    );
}

/// Regression (seed 777100268, the whole catalogue): the same race as seed 777000000, found
/// again with the harness of today (a soak of the engine without its fix): `order-2`
/// completed while its timer came due and was deleted at once.
#[test]
fn regression_a_deadline_due_while_the_run_closes_does_not_delete_it_again() {
    run_seeds(
        "regression_a_deadline_due_while_the_run_closes_does_not_delete_it_again",
        &[777_100_268],
        Duration::from_secs(1_800),
        scenario,
    );
}
