//! Three engine nodes as one cluster over a shared store, under node faults: each seed
//! runs orders — a parent workflow whose child (most often on another node's shard) runs
//! an activity — while one node is killed and restarted, paused past its lease, cut off
//! from the store, cut off from another node, or every node restarted in turn, each
//! stopped gracefully first (`seed % 5` picks which; the moment is the seed's). Every order completes exactly once with a well-formed history, and the
//! store's commit log shows at most one node writing each shard at any instant. Run with
//! `RUSTFLAGS="--cfg madsim"`.

use std::time::Duration;

use endure::workflow::{ActivityError, ChildWorkflowOptions, WorkflowContext, WorkflowError};
use endure::*;
use endure_core::history::{EventType, check_well_formed};
use endure_sim::engine_nodes::{EngineNodes, NodeFault, NodesConfig, retryable, start_retrying};
use endure_sim::seeds::run_seeds;
use madsim::rand::Rng;

const ORDERS: usize = 12;
const QUEUE: &str = "orders";

#[endure::activity(name = "Charge")]
async fn charge(_ctx: ActivityContext, order: String) -> Result<String, ActivityError> {
    tokio::time::sleep(Duration::from_millis(300)).await;
    Ok(format!("charged {order}"))
}

/// Charges through an activity.
#[endure::workflow(name = "Payment")]
async fn payment(ctx: WorkflowContext, order: String) -> Result<String, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions {
        start_to_close_timeout: Some(Duration::from_secs(10)),
        ..ActivityOptions::default()
    });
    Ok(ctx.run_activity::<charge>(&order).await?)
}

/// Pays in a child (`<id>-payment`), then waits a second on a timer.
#[endure::workflow(name = "Order")]
async fn order(ctx: WorkflowContext, order: String) -> Result<String, WorkflowError> {
    let id = ctx.info().workflow_id().clone();
    let options = ChildWorkflowOptions {
        workflow_id: Some(format!("{id}-payment")),
        ..ChildWorkflowOptions::default()
    };
    let paid = ctx
        .start_child_workflow("Payment", &order, options)
        .result::<String>()
        .await?;
    ctx.sleep(Duration::from_secs(1)).await?;
    Ok(paid)
}

fn id(index: usize) -> WorkflowId {
    WorkflowId::new(format!("order-{index}")).unwrap()
}

async fn scenario(seed: u64) {
    let nodes = EngineNodes::start(NodesConfig::default());
    nodes.add_worker("worker-1", |transport| {
        let mut worker = Worker::new(
            transport,
            Namespace::default(),
            TaskQueueName::new(QUEUE).unwrap(),
            WorkerOptions::default(),
        );
        worker
            .register::<order>()
            .register::<payment>()
            .register::<charge>();
        worker
    });
    // Let the nodes take their leases and see each other.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let client = nodes.client();
    let client_node = nodes.add_client_node("client");
    let runner = client_node.spawn({
        let client = client.clone();
        async move {
            for index in 0..ORDERS {
                let mut options =
                    StartWorkflowOptions::new(id(index), TaskQueueName::new(QUEUE).unwrap());
                options.request_id =
                    Some(endure_core::RequestId::new(format!("order-start-{index}")).unwrap());
                start_retrying(&client, options, "Order", &format!("#{index}")).await;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    });
    // The fault, at a moment of the seed's.
    let at = madsim::rand::thread_rng().gen_range(200..2_000);
    tokio::time::sleep(Duration::from_millis(at)).await;
    let victim = format!("node-{}", madsim::rand::thread_rng().gen_range(1..=3));
    let lasting = Duration::from_secs(madsim::rand::thread_rng().gen_range(6..15));
    let other = if victim == "node-1" {
        "node-2"
    } else {
        "node-1"
    };
    match seed % 5 {
        0 => nodes.hold_fault(NodeFault::Kill(&victim), lasting).await,
        1 => nodes.hold_fault(NodeFault::Pause(&victim), lasting).await,
        2 => {
            nodes
                .hold_fault(NodeFault::StoreCut(&victim), lasting)
                .await
        }
        3 => {
            nodes
                .hold_fault(NodeFault::Partition(&victim, other), lasting)
                .await;
        }
        _ => {
            // A rolling restart: each node stopped gracefully, then started again.
            for node in ["node-1", "node-2", "node-3"] {
                nodes.stop(node);
                tokio::time::sleep(Duration::from_secs(2)).await;
                nodes.restart(node);
                tokio::time::sleep(Duration::from_secs(3)).await;
            }
        }
    }
    runner.await.expect("the client ran");
    let results = client_node
        .spawn({
            let client = client.clone();
            async move {
                let mut results = Vec::new();
                for index in 0..ORDERS {
                    let handle = client.handle(id(index), None);
                    let result = loop {
                        match handle.result::<String>().await {
                            Ok(result) => break result,
                            Err(error) if retryable(&error) => {
                                tokio::time::sleep(Duration::from_millis(200)).await;
                            }
                            Err(error) => panic!("order {index}: {error}"),
                        }
                    };
                    let parent = handle.history().await.expect("the order's history");
                    let child = client
                        .handle(
                            WorkflowId::new(format!("order-{index}-payment")).unwrap(),
                            None,
                        )
                        .history()
                        .await
                        .expect("the payment's history");
                    results.push((result, parent, child));
                }
                results
            }
        })
        .await
        .expect("the client ran");
    let faults = nodes.faults.entries();
    for (index, (result, parent, child)) in results.iter().enumerate() {
        assert_eq!(result, &format!("charged #{index}"), "faults: {faults:?}");
        for (what, history) in [("order", parent), ("payment", child)] {
            check_well_formed(history)
                .unwrap_or_else(|error| panic!("{what} {index}: {error}; faults: {faults:?}"));
            let closes = history
                .iter()
                .filter(|event| event.event_type() == EventType::WorkflowExecutionCompleted)
                .count();
            assert_eq!(closes, 1, "{what} {index} closed once; faults: {faults:?}");
        }
        let count = |wanted| {
            parent
                .iter()
                .filter(|event| event.event_type() == wanted)
                .count()
        };
        assert_eq!(count(EventType::StartChildWorkflowExecutionInitiated), 1);
        assert_eq!(count(EventType::ChildWorkflowExecutionStarted), 1);
        assert_eq!(count(EventType::ChildWorkflowExecutionCompleted), 1);
        assert_eq!(count(EventType::TimerFired), 1);
        let charged = child
            .iter()
            .filter(|event| event.event_type() == EventType::ActivityTaskCompleted)
            .count();
        assert_eq!(
            charged, 1,
            "payment {index} charged once; faults: {faults:?}"
        );
    }
    assert!(!nodes.commit_log().is_empty());
    nodes
        .commit_log()
        .check_single_writer()
        .unwrap_or_else(|error| panic!("{error}; faults: {faults:?}"));
}

#[test]
fn a_three_node_cluster_completes_every_order_once_through_node_faults() {
    run_seeds(
        "a_three_node_cluster_completes_every_order_once_through_node_faults",
        &(0..20).collect::<Vec<u64>>(),
        Duration::from_secs(600),
        scenario,
    );
}

/// One activity, nothing else: the workflow the message counts are for.
#[endure::workflow(name = "Single")]
async fn single(ctx: WorkflowContext, order: String) -> Result<String, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions {
        start_to_close_timeout: Some(Duration::from_secs(10)),
        ..ActivityOptions::default()
    });
    Ok(ctx.run_activity::<charge>(&order).await?)
}

/// The messages a one-activity workflow costs on three nodes, without faults: every call
/// the front doors served, per workflow (printed: the figure `docs/cluster.md` quotes).
/// Forwarded calls stay within the start and the result wait (2 per workflow), no
/// node-to-node outbox call is made, and two polls per workflow bring its two workflow
/// tasks (its activity comes started with the first task completion's reply, eager).
#[test]
fn a_one_activity_workflow_costs_two_forwards_at_most_on_three_nodes() {
    const WORKFLOWS: u64 = 30;
    run_seeds(
        "a_one_activity_workflow_costs_two_forwards_at_most_on_three_nodes",
        &[0, 1, 2],
        Duration::from_secs(600),
        |_seed| async {
            let nodes = EngineNodes::start(NodesConfig::default());
            nodes.add_worker("worker-1", |transport| {
                let mut worker = Worker::new(
                    transport,
                    Namespace::default(),
                    TaskQueueName::new(QUEUE).unwrap(),
                    WorkerOptions::default(),
                );
                worker.register::<single>().register::<charge>();
                worker
            });
            tokio::time::sleep(Duration::from_secs(3)).await;
            let client = nodes.client();
            let before = nodes.rpc_counts().calls();
            nodes
                .add_client_node("client")
                .spawn(async move {
                    for index in 0..WORKFLOWS {
                        let options = StartWorkflowOptions::new(
                            WorkflowId::new(format!("single-{index}")).unwrap(),
                            TaskQueueName::new(QUEUE).unwrap(),
                        );
                        let handle = client
                            .start_workflow(options, "Single", &format!("#{index}"))
                            .await
                            .expect("a start without faults");
                        handle
                            .result::<String>()
                            .await
                            .expect("a result without faults");
                    }
                })
                .await
                .expect("the client ran");
            let after = nodes.rpc_counts().calls();
            let per_workflow = |name: &str| {
                let delta =
                    after.get(name).copied().unwrap_or(0) - before.get(name).copied().unwrap_or(0);
                delta as f64 / WORKFLOWS as f64
            };
            let line: Vec<String> = after
                .keys()
                .filter(|name| !name.starts_with("Poll") && **name != "DescribeCluster")
                .map(|name| format!("{name} {:.2}", per_workflow(name)))
                .collect();
            println!(
                "messages per one-activity workflow on three nodes: {}; tasks polled {:.2}",
                line.join(", "),
                nodes.rpc_counts().tasks_polled() as f64 / WORKFLOWS as f64
            );
            assert!(per_workflow("Forwarded") <= 2.0, "{line:?}");
            assert_eq!(per_workflow("ApplyToRun"), 0.0);
            assert_eq!(per_workflow("StartChild"), 0.0);
            assert_eq!(per_workflow("StartWorkflow"), 1.0);
            assert_eq!(
                nodes.rpc_counts().tasks_polled(),
                2 * WORKFLOWS,
                "two workflow tasks polled per workflow; the activity came eagerly"
            );
        },
    );
}
