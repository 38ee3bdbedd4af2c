//! Signal-with-start and update-with-start while the engine is killed, loses power inside
//! its commits and sees requests twice: tabs are opened by whichever call reaches them
//! first — a signal or an update, each carrying the start — and every later call lands on
//! the same run. Every acknowledged signal is in the one run's history exactly once, every
//! update id is accepted and completed once, each tab has exactly one run, and its result
//! holds every signal and charge. Run with `RUSTFLAGS="--cfg madsim"`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use endure::workflow::{WorkflowContext, WorkflowError};
use endure::*;
use endure_core::protocol::Transport;
use endure_sim::cluster::{Cluster, ClusterConfig, StoreChoice};
use endure_sim::faults::FaultKind;
use endure_sim::invariants::{check_all, check_signals_exactly_once, check_updates_once};
use endure_sim::seeds::run_seeds;
use endure_sim::swarm;
use parking_lot::Mutex;

const TABS: u32 = 3;
const SIGNALS: u32 = 4;
const CHARGES: u32 = 3;
const FAULTS_MAX: u32 = 30;

/// What a tab returns: its items (signals) and charges (updates), sorted.
type Bill = (Vec<String>, Vec<u64>);

/// Takes `item` signals and `charge` updates (`(id, amount)`, applied once per id) until it
/// has every one it expects.
#[endure::workflow(name = "Tab")]
async fn tab(ctx: WorkflowContext, (items, charges): (u32, u32)) -> Result<Bill, WorkflowError> {
    let charged = Arc::new(Mutex::new(BTreeMap::<String, u64>::new()));
    let handler_charges = Arc::clone(&charged);
    ctx.set_update_handler(
        "charge",
        move |_ctx: WorkflowContext, (id, amount): (String, u64)| {
            let charged = Arc::clone(&handler_charges);
            async move {
                let mut charged = charged.lock();
                charged.entry(id).or_insert(amount);
                Ok(charged.values().sum::<u64>())
            }
        },
    );
    let channel = ctx.signal_channel("item");
    let mut received = Vec::new();
    for _ in 0..items {
        received.push(channel.recv_json::<String>().await?);
    }
    let watched = Arc::clone(&charged);
    ctx.wait_condition(move || watched.lock().len() as u32 >= charges)
        .await;
    ctx.all_handlers_finished().await;
    received.sort();
    let mut amounts: Vec<u64> = charged.lock().values().copied().collect();
    amounts.sort_unstable();
    Ok((received, amounts))
}

fn worker(
    name: &'static str,
) -> impl Fn(Arc<dyn Transport>, &WorkerOptions) -> Worker + Send + Sync + 'static {
    endure_sim::cluster::worker(name, "tabs", |worker| {
        worker.register::<tab>();
    })
}

fn item(tab: u32, index: u32) -> String {
    format!("t{tab}-item{index}")
}

fn charge_id(tab: u32, index: u32) -> String {
    format!("t{tab}-charge{index}")
}

/// Options that open tab `tab`, with `request_id` making a retry of this very call a
/// duplicate.
fn opening(tab: u32, request_id: &str) -> StartWorkflowOptions {
    let mut options = StartWorkflowOptions::new(
        WorkflowId::new(format!("tab-{tab}")).unwrap(),
        TaskQueueName::new("tabs").unwrap(),
    );
    options.request_id = Some(request_id.parse().unwrap());
    options.id_conflict_policy = WorkflowIdConflictPolicy::UseExisting;
    options.task_timeout = Some(Duration::from_secs(1));
    options
}

async fn scenario(seed: u64) {
    let cluster = Cluster::start(ClusterConfig {
        store: StoreChoice::Disk { seed },
        max_commit_delay: Duration::from_millis(20),
        duplicate_requests: 0.2,
        ..ClusterConfig::default()
    });
    cluster.add_worker("worker-1", worker("worker-1"));
    cluster.add_worker("worker-2", worker("worker-2"));
    let client = cluster.client();
    let acknowledged = Arc::new(Mutex::new(Vec::<(u32, String)>::new()));
    let finished = Arc::new(AtomicBool::new(false));
    let (acked, done) = (Arc::clone(&acknowledged), Arc::clone(&finished));
    let driving = cluster.add_client_node("driver").spawn(async move {
        // Odd tabs are opened by an update, even ones by a signal; then they alternate.
        for round in 0..SIGNALS.max(CHARGES) {
            for tab in 0..TABS {
                let update_first = tab % 2 == 1;
                for update in [update_first, !update_first] {
                    if update && round < CHARGES {
                        send_charge(&client, tab, round).await;
                    }
                    if !update && round < SIGNALS {
                        let label = item(tab, round);
                        let request_id = format!("sws-{tab}-{round}");
                        loop {
                            match client
                                .signal_with_start::<tab, _>(
                                    opening(tab, &request_id),
                                    &(SIGNALS, CHARGES),
                                    "item",
                                    &label,
                                )
                                .await
                            {
                                Ok(handle) => {
                                    tracing::info!(%label, run = ?handle.run_id(), "signal-with-start acknowledged");
                                    break;
                                }
                                Err(error) => tracing::info!(%label, %error, "signal-with-start failed"),
                            }
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        acked.lock().push((tab, label));
                    }
                }
            }
        }
        done.store(true, Ordering::SeqCst);
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (kills, power_losses) = swarm::kills_and_power_losses(
        &cluster,
        || finished.load(Ordering::SeqCst),
        FAULTS_MAX,
        100..400,
    )
    .await;
    driving.await.unwrap();
    assert_eq!(cluster.faults.count(FaultKind::Kill), kills);
    assert_eq!(cluster.faults.count(FaultKind::PowerLoss), power_losses);
    assert!(kills + power_losses > 0, "faults fired while the calls ran");

    let bills: Vec<Bill> = cluster
        .results(
            (0..TABS).map(|tab| format!("tab-{tab}")).collect(),
            Duration::from_secs(300),
        )
        .await;
    for (tab, (items, amounts)) in bills.iter().enumerate() {
        let tab = tab as u32;
        let expected: BTreeSet<String> = (0..SIGNALS).map(|index| item(tab, index)).collect();
        assert_eq!(items.iter().cloned().collect::<BTreeSet<_>>(), expected);
        assert_eq!(items.len(), SIGNALS as usize, "tab-{tab}: each item once");
        let charged: Vec<u64> = (0..CHARGES).map(|index| charge(tab, index)).collect();
        assert_eq!(amounts, &charged, "tab-{tab}");
    }

    let histories = cluster.histories().await;
    assert_eq!(
        histories.len(),
        TABS as usize,
        "one run per tab: {histories:?}"
    );
    check_all(&histories, &Replayer::for_workflow::<tab>()).unwrap();
    let acknowledged = acknowledged.lock().clone();
    for (run, history) in &histories {
        let labels: Vec<String> = acknowledged
            .iter()
            .filter(|(tab, _)| run.starts_with(&format!("tab-{tab}/")))
            .map(|(_, label)| label.clone())
            .collect();
        assert_eq!(labels.len(), SIGNALS as usize, "{run}");
        check_signals_exactly_once(run, history, &labels).unwrap();
        let accepted = check_updates_once(run, history).unwrap();
        assert_eq!(accepted.len(), CHARGES as usize, "{run}");
    }
}

/// The amount of charge `index` of `tab`.
fn charge(tab: u32, index: u32) -> u64 {
    u64::from(tab * 100 + index + 1)
}

/// Sends charge `index` to `tab` by update-with-start, retried with the same ids until it
/// has its answer.
async fn send_charge(client: &Client, tab: u32, index: u32) {
    let id = charge_id(tab, index);
    let update = UpdateOptions {
        update_id: Some(id.clone()),
        ..UpdateOptions::default()
    };
    let request_id = format!("uws-{tab}-{index}");
    loop {
        let sent = client
            .update_with_start_workflow(
                opening(tab, &request_id),
                "Tab",
                &(SIGNALS, CHARGES),
                "charge",
                &(id.clone(), charge(tab, index)),
                update.clone(),
            )
            .await;
        match sent {
            Ok((workflow, handle)) => match handle.result::<u64>().await {
                Ok(total) => {
                    tracing::info!(%id, run = ?workflow.run_id(), total, "update-with-start answered");
                    return;
                }
                Err(ClientError::Remote(_)) => {}
                Err(error) => panic!("charge {id} failed: {error}"),
            },
            Err(ClientError::Remote(_)) => {}
            Err(error) => panic!("charge {id} failed: {error}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn signal_and_update_with_start_reach_one_run_once_through_crashes() {
    run_seeds(
        "signal_and_update_with_start_reach_one_run_once_through_crashes",
        // 5000000001: a signal-with-start sent twice, the second copy arriving after the
        // run it signalled had completed, started a second run carrying the signal again
        // (fixed: the signal's request record answers it).
        &[1, 2, 3, 4, 5, 5_000_000_001],
        Duration::from_secs(900),
        scenario,
    );
}
