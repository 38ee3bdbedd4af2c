//! Orders that fail on a bug in their charge activity are reset to their first workflow
//! task once the bug is fixed, while the engine is killed and loses power inside its
//! commits: every order's reset happens once although clients retry it (one request id),
//! the new run receives every item signal again exactly once and charges the full total
//! (the last order's reset leaves its signals out, and they are sent to the new run anew),
//! the failed runs are left as they were, and every run is well formed and replays. Run
//! with `RUSTFLAGS="--cfg madsim"`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use endure::activity::ActivityDefinition;
use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::*;
use endure_core::WorkflowTaskFailedCause;
use endure_core::history::{EventAttributes, EventType};
use endure_core::protocol::Transport;
use endure_sim::cluster::{Cluster, ClusterConfig, StoreChoice};
use endure_sim::driver;
use endure_sim::invariants::check_all;
use endure_sim::seeds::run_seeds;

const ORDERS: u32 = 3;
const ITEMS: u32 = 4;
const FAULTS_MAX: u32 = 30;

/// Adds up `items` prices sent as `item` signals, then charges the total.
#[endure::workflow(name = "Order")]
async fn order(ctx: WorkflowContext, items: u32) -> Result<u64, WorkflowError> {
    let prices = ctx.signal_channel("item");
    let mut total = 0u64;
    for _ in 0..items {
        let price: u64 = prices.recv_json().await?;
        total += price;
    }
    let ctx = ctx.with_activity_options(ActivityOptions {
        start_to_close_timeout: Some(Duration::from_secs(5)),
        retry_policy: Some(RetryPolicy {
            initial_interval: Duration::from_millis(100),
            ..RetryPolicy::with_maximum_attempts(5)
        }),
        ..ActivityOptions::default()
    });
    Ok(ctx.run_activity::<Charge>(&total).await?)
}

struct Charge;

impl ActivityDefinition for Charge {
    const NAME: &'static str = "Charge";
    type Input = u64;
    type Output = u64;
}

/// A worker whose charge fails (not retryably) until `fixed` is set.
fn worker(
    name: &'static str,
    fixed: Arc<AtomicBool>,
) -> impl Fn(Arc<dyn Transport>, &WorkerOptions) -> Worker + Send + Sync + 'static {
    move |transport, options| {
        let mut worker = Worker::new(
            transport,
            Namespace::default(),
            TaskQueueName::new("orders").unwrap(),
            WorkerOptions {
                identity: name.into(),
                ..options.clone()
            },
        );
        worker.register::<order>();
        let fixed = Arc::clone(&fixed);
        worker.register_activity::<Charge, _, _>(move |_ctx: ActivityContext, total: u64| {
            let fixed = fixed.load(Ordering::SeqCst);
            async move {
                if fixed {
                    Ok(total)
                } else {
                    Err(ActivityError::application("charge bug", "Bug").non_retryable())
                }
            }
        });
        worker
    }
}

fn order_id(order: u32) -> WorkflowId {
    WorkflowId::new(format!("order-{order}")).unwrap()
}

fn price(order: u32, item: u32) -> u64 {
    u64::from(order * 10 + item + 1)
}

async fn scenario(seed: u64) {
    let cluster = Cluster::start(ClusterConfig {
        store: StoreChoice::Disk { seed },
        max_commit_delay: Duration::from_millis(20),
        ..ClusterConfig::default()
    });
    let fixed = Arc::new(AtomicBool::new(false));
    cluster.add_worker("worker-1", worker("worker-1", Arc::clone(&fixed)));
    cluster.add_worker("worker-2", worker("worker-2", Arc::clone(&fixed)));
    let client = cluster.client();
    driver::through_kills_and_power_losses(&cluster, FAULTS_MAX, async move {
        for order in 0..ORDERS {
            let mut options =
                StartWorkflowOptions::new(order_id(order), TaskQueueName::new("orders").unwrap());
            options.request_id = Some(format!("start-{order}").parse().unwrap());
            options.task_timeout = Some(Duration::from_secs(1));
            driver::start_until_taken::<order>(&client, options, &ITEMS).await;
        }
        for item in 0..ITEMS {
            for order in 0..ORDERS {
                let handle = client.handle(order_id(order), None);
                let request_id = format!("item-{order}-{item}");
                while handle
                    .signal_with_request_id("item", &price(order, item), &request_id)
                    .await
                    .is_err()
                {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        // Every order fails on the bug.
        for order in 0..ORDERS {
            let handle = client.handle(order_id(order), None);
            match driver::result_when_reachable::<u64>(&handle).await {
                Err(ClientError::WorkflowFailed(_)) => {}
                other => panic!("order-{order} did not fail: {other:?}"),
            }
        }
        fixed.store(true, Ordering::SeqCst);
        // Reset each failed run to its first task; a lost answer is retried with the
        // same request id, so the reset happens once.
        for order in 0..ORDERS {
            let handle = client.handle(order_id(order), None);
            // The last order's reset leaves its signals out (Temporal's
            // `--reapply-exclude Signal`): its items are sent again to the new run.
            let excluded = order == ORDERS - 1;
            let options = ResetOptions {
                request_id: Some(format!("reset-{order}")),
                reapply: ResetReapply::default().excluding(excluded, false),
                ..ResetOptions::new(ResetPoint::FirstWorkflowTask, "charge fixed")
            };
            let mut new_run = None;
            while new_run.is_none() {
                match handle.reset(options.clone()).await {
                    Ok(run_id) => new_run = Some(run_id),
                    Err(ClientError::Remote(_)) => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Err(error) => panic!("order-{order}: reset refused: {error}"),
                }
            }
            // A retry after the answer arrived still names the same run.
            let again = loop {
                match handle.reset(options.clone()).await {
                    Ok(run_id) => break run_id,
                    Err(ClientError::Remote(_)) => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Err(error) => panic!("order-{order}: reset refused: {error}"),
                }
            };
            assert_eq!(
                Some(again),
                new_run,
                "order-{order}: one reset per request id"
            );
            if excluded {
                let handle = client.handle(order_id(order), new_run);
                for item in 0..ITEMS {
                    let request_id = format!("again-{order}-{item}");
                    while handle
                        .signal_with_request_id("item", &price(order, item), &request_id)
                        .await
                        .is_err()
                    {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        }
    })
    .await;

    // The reset runs charge every item once.
    let results: Vec<u64> = cluster
        .results(
            (0..ORDERS).map(|order| format!("order-{order}")).collect(),
            Duration::from_secs(300),
        )
        .await;
    for (order, charged) in (0..ORDERS).zip(&results) {
        let expected: u64 = (0..ITEMS).map(|item| price(order, item)).sum();
        assert_eq!(*charged, expected, "order-{order}");
    }

    let histories = cluster.histories().await;
    check_all(&histories, &Replayer::for_workflow::<order>()).unwrap();
    let mut resets: BTreeMap<String, usize> = BTreeMap::new();
    for (run, history) in &histories {
        let workflow_id = run.split('/').next().unwrap().to_owned();
        let reset = history.iter().any(|event| {
            matches!(
                &event.attributes,
                EventAttributes::WorkflowTaskFailed(failed)
                    if failed.cause == WorkflowTaskFailedCause::ResetWorkflow
            )
        });
        let last = history.last().unwrap().event_type();
        if reset {
            *resets.entry(workflow_id.clone()).or_default() += 1;
            assert_eq!(last, EventType::WorkflowExecutionCompleted, "{run}");
            // Each item once: reapplied (its first request id), or for the order whose
            // reset left signals out, sent again (a new one).
            let prefix = if workflow_id == format!("order-{}", ORDERS - 1) {
                "again-"
            } else {
                "item-"
            };
            let signals: Vec<&str> = history
                .iter()
                .filter_map(|event| match &event.attributes {
                    EventAttributes::WorkflowExecutionSignaled(signal) => {
                        signal.request_id.as_ref().map(|id| id.as_str())
                    }
                    _ => None,
                })
                .collect();
            assert_eq!(signals.len(), ITEMS as usize, "{run}: each item once");
            assert!(
                signals.iter().all(|id| id.starts_with(prefix)),
                "{run}: {signals:?}"
            );
        } else {
            assert_eq!(
                last,
                EventType::WorkflowExecutionFailed,
                "{run}: the failed run is left as it was"
            );
        }
    }
    let expected: BTreeMap<String, usize> = (0..ORDERS)
        .map(|order| (format!("order-{order}"), 1))
        .collect();
    assert_eq!(resets, expected, "each order is reset exactly once");
}

#[test]
fn failed_orders_are_reset_once_and_complete_through_crashes() {
    run_seeds(
        "failed_orders_are_reset_once_and_complete_through_crashes",
        &[0, 1, 2, 3, 4, 5],
        Duration::from_secs(900),
        scenario,
    );
}
