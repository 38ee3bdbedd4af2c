//! Accounts taking deposits as updates while the engine is killed and loses power inside
//! its commits, and the accounts continue as new every few deposits: every deposit a
//! client sent is applied exactly once (retries carry the same update id; the workflow
//! also remembers deposit ids across runs, as Temporal advises, since update ids are
//! deduplicated per run), invalid deposits are rejected and leave no trace in any history,
//! no run accepts an update id twice, and every run is well formed and replays (with
//! validators off). Run with `RUSTFLAGS="--cfg madsim"`.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use endure::workflow::{WorkflowContext, WorkflowError};
use endure::*;
use endure_core::protocol::Transport;
use endure_sim::cluster::{Cluster, ClusterConfig, StoreChoice};
use endure_sim::faults::FaultKind;
use endure_sim::invariants::{check_all, check_updates_once};
use endure_sim::seeds::run_seeds;
use endure_sim::swarm;
use parking_lot::Mutex;

const ACCOUNTS: u32 = 3;
const DEPOSITS: u32 = 8;
const PER_RUN: usize = 3;
const FAULTS_MAX: u32 = 30;

/// The account's state, carried from run to run.
type Ledger = (u64, Vec<String>);

/// Takes `deposit` updates (`(id, amount)`, amount positive) until `expected` distinct
/// deposits are in, continuing as new after `PER_RUN` of them in one run.
#[endure::workflow(name = "Account")]
async fn account(
    ctx: WorkflowContext,
    (ledger, expected): (Ledger, u32),
) -> Result<Ledger, WorkflowError> {
    let state = Arc::new(Mutex::new((ledger, 0usize)));
    let handler_state = Arc::clone(&state);
    ctx.set_update_handler_with_validator(
        "deposit",
        move |ctx: WorkflowContext, (id, amount): (String, u64)| {
            let state = Arc::clone(&handler_state);
            async move {
                ctx.sleep(Duration::from_millis(50)).await?;
                let mut state = state.lock();
                let ((balance, applied), in_this_run) = &mut *state;
                if !applied.contains(&id) {
                    *balance += amount;
                    applied.push(id);
                    *in_this_run += 1;
                }
                Ok(*balance)
            }
        },
        |(_, amount): &(String, u64)| {
            if *amount == 0 {
                Err("a deposit must be positive")
            } else {
                Ok(())
            }
        },
    );
    let watched = Arc::clone(&state);
    ctx.wait_condition(move || {
        let state = watched.lock();
        state.0.1.len() as u32 >= expected || state.1 >= PER_RUN
    })
    .await;
    ctx.all_handlers_finished().await;
    let (ledger, _) = state.lock().clone();
    if ledger.1.len() as u32 >= expected {
        return Ok(ledger);
    }
    Err(ctx.continue_as_new(&(ledger, expected)))
}

fn register(worker: &mut Worker) {
    worker.register::<account>();
}

fn worker(
    name: &'static str,
) -> impl Fn(Arc<dyn Transport>, &WorkerOptions) -> Worker + Send + Sync + 'static {
    endure_sim::cluster::worker(name, "accounts", register)
}

fn deposit_id(account: u32, deposit: u32) -> String {
    format!("a{account}-d{deposit}")
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
    let driver = cluster.add_client_node("driver");
    let finished = Arc::new(AtomicBool::new(false));
    let done = Arc::clone(&finished);
    let driving = driver.spawn(async move {
        for account in 0..ACCOUNTS {
            let mut options = StartWorkflowOptions::new(
                WorkflowId::new(format!("account-{account}")).unwrap(),
                TaskQueueName::new("accounts").unwrap(),
            );
            options.request_id = Some(format!("start-{account}").parse().unwrap());
            options.task_timeout = Some(Duration::from_secs(1));
            let ledger: Ledger = (0, Vec::new());
            while client
                .start::<account>(options.clone(), &(ledger.clone(), DEPOSITS))
                .await
                .is_err()
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        let mut rejections = 0;
        for deposit in 0..DEPOSITS {
            for account in 0..ACCOUNTS {
                let handle =
                    client.handle(WorkflowId::new(format!("account-{account}")).unwrap(), None);
                // Every third round also sends an invalid deposit: always refused.
                if deposit % 3 == 0 {
                    let bad = UpdateOptions {
                        update_id: Some(format!("bad-{}", deposit_id(account, deposit))),
                        ..UpdateOptions::default()
                    };
                    loop {
                        match handle
                            .start_update("deposit", &(format!("bad-{deposit}"), 0u64), bad.clone())
                            .await
                        {
                            Err(ClientError::UpdateFailed(failure)) => {
                                assert!(failure.message.contains("positive"), "{failure:?}");
                                rejections += 1;
                                break;
                            }
                            Err(ClientError::Remote(_)) => {
                                tokio::time::sleep(Duration::from_millis(50)).await;
                            }
                            other => panic!("an invalid deposit was not rejected: {other:?}"),
                        }
                    }
                }
                let id = deposit_id(account, deposit);
                let options = UpdateOptions {
                    update_id: Some(id.clone()),
                    ..UpdateOptions::default()
                };
                // Retried with the same update id until it answers.
                loop {
                    let sent = handle
                        .start_update(
                            "deposit",
                            &(id.clone(), u64::from(deposit) + 1),
                            options.clone(),
                        )
                        .await;
                    match sent {
                        Ok(update) => match update.result::<u64>().await {
                            Ok(_) => break,
                            Err(ClientError::Remote(_)) => {}
                            Err(error) => panic!("deposit {id} failed: {error}"),
                        },
                        Err(ClientError::Remote(_)) => {}
                        Err(error) => panic!("deposit {id} failed: {error}"),
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        assert!(rejections > 0);
        done.store(true, Ordering::SeqCst);
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
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

    // Every deposit applied once: the balance is the sum of all of them.
    let results: Vec<Ledger> = cluster
        .results(
            (0..ACCOUNTS)
                .map(|account| format!("account-{account}"))
                .collect(),
            Duration::from_secs(300),
        )
        .await;
    let total: u64 = (1..=u64::from(DEPOSITS)).sum();
    for (account, (balance, applied)) in results.iter().enumerate() {
        assert_eq!(*balance, total, "account-{account}: {applied:?}");
        let distinct: BTreeSet<&String> = applied.iter().collect();
        assert_eq!(distinct.len(), DEPOSITS as usize, "account-{account}");
    }

    let histories = cluster.histories().await;
    check_all(&histories, &Replayer::for_workflow::<account>()).unwrap();
    let mut accepted_anywhere = 0;
    for (run, history) in &histories {
        // Runs wait for their handlers before closing: whatever they accepted, they completed.
        let accepted = check_updates_once(run, history).unwrap();
        assert!(
            accepted.iter().all(|id| !id.starts_with("bad-")),
            "{run}: a rejected update is in history"
        );
        accepted_anywhere += accepted.len();
    }
    assert!(accepted_anywhere >= (ACCOUNTS * DEPOSITS) as usize);
}

#[test]
fn deposits_as_updates_are_applied_once_through_crashes() {
    run_seeds(
        "deposits_as_updates_are_applied_once_through_crashes",
        // 0: a retried update whose run had completed meanwhile (fixed: a closed run still
        // answers updates it completed). 167: a worker kept its cached run after a
        // completion the engine refused, then reused it for a task with the same event ids
        // (fixed: the worker drops a run whenever a completion is not taken as sent).
        &[0, 1, 2, 3, 4, 5, 167],
        Duration::from_secs(900),
        scenario,
    );
}
