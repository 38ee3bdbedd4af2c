//! Workers that reach one node each, as Temporal's SDKs reach a node's gRPC front end:
//! three engine nodes as one cluster, worker A through node 1's gateway, worker B through
//! node 2's, the client through node 3's. Each gateway polls every member for its worker,
//! so every order runs whichever node serves its shard. Under node faults — a kill and
//! restart, a pause past the lease, a cut from the store, a partition between two nodes
//! (`seed % 4` picks which, the victim and moment are the seed's) — every order completes
//! exactly once with a well-formed history — no worker reaches node 3, so the orders of its
//! shards complete only through the gateways' polls of it — each task was finished by the
//! worker it was handed to (its Started and Completed events name the same worker), and at
//! most one node wrote each shard at any instant. Run with `RUSTFLAGS="--cfg madsim"`.

use std::time::Duration;

use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::*;
use endure_core::history::{EventType, check_well_formed};
use endure_core::{EventAttributes, HistoryEvent};
use endure_sim::engine_nodes::{EngineNodes, NodeFault, NodesConfig, retryable, start_retrying};
use endure_sim::seeds::run_seeds;
use madsim::rand::Rng;

const ORDERS: usize = 12;
const QUEUE: &str = "gateway-orders";
const WORKERS: [&str; 2] = ["worker-a", "worker-b"];

#[endure::activity(name = "Pack")]
async fn pack(_ctx: ActivityContext, order: String) -> Result<String, ActivityError> {
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(format!("packed {order}"))
}

/// Packs through an activity, then waits half a second on a timer.
#[endure::workflow(name = "Parcel")]
async fn parcel(ctx: WorkflowContext, order: String) -> Result<String, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions {
        start_to_close_timeout: Some(Duration::from_secs(10)),
        ..ActivityOptions::default()
    });
    let packed = ctx.run_activity::<pack>(&order).await?;
    ctx.sleep(Duration::from_millis(500)).await?;
    Ok(packed)
}

fn id(index: usize) -> WorkflowId {
    WorkflowId::new(format!("parcel-{index}")).unwrap()
}

/// The identities a task's events name: (started, finished) for each workflow task and
/// activity attempt that closed.
fn task_identities(history: &[HistoryEvent]) -> Vec<(String, String)> {
    let started = |id: endure_core::EventId| match &history[id.get() as usize - 1].attributes {
        EventAttributes::WorkflowTaskStarted(a) => a.identity.clone(),
        EventAttributes::ActivityTaskStarted(a) => a.identity.clone(),
        other => panic!("event {id} is {other:?}"),
    };
    history
        .iter()
        .filter_map(|event| match &event.attributes {
            EventAttributes::WorkflowTaskCompleted(a) => {
                Some((started(a.started_event_id), a.identity.clone()))
            }
            EventAttributes::ActivityTaskCompleted(a) => {
                Some((started(a.started_event_id), a.identity.clone()))
            }
            _ => None,
        })
        .collect()
}

async fn scenario(seed: u64) {
    let nodes = EngineNodes::start(NodesConfig::default());
    for (index, identity) in (1..).zip(WORKERS) {
        nodes.add_gateway_worker(identity, index, move |transport| {
            let mut worker = Worker::new(
                transport,
                Namespace::default(),
                TaskQueueName::new(QUEUE).unwrap(),
                WorkerOptions {
                    identity: identity.into(),
                    ..WorkerOptions::default()
                },
            );
            worker.register::<parcel>().register::<pack>();
            worker
        });
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let client = nodes.gateway_client(3);
    let client_node = nodes.add_client_node("client");
    let runner = client_node.spawn({
        let client = client.clone();
        async move {
            for index in 0..ORDERS {
                let mut options =
                    StartWorkflowOptions::new(id(index), TaskQueueName::new(QUEUE).unwrap());
                options.request_id =
                    Some(endure_core::RequestId::new(format!("parcel-start-{index}")).unwrap());
                start_retrying(&client, options, "Parcel", &format!("#{index}")).await;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    });
    // The fault, at a moment of the seed's. The client's node (3) is left alone: a caller
    // that reaches one address waits for it, which says nothing of the gateway.
    let at = madsim::rand::thread_rng().gen_range(200..2_000);
    tokio::time::sleep(Duration::from_millis(at)).await;
    let victim = format!("node-{}", madsim::rand::thread_rng().gen_range(1..=2));
    let lasting = Duration::from_secs(madsim::rand::thread_rng().gen_range(6..15));
    let fault = match seed % 4 {
        0 => NodeFault::Kill(&victim),
        1 => NodeFault::Pause(&victim),
        2 => NodeFault::StoreCut(&victim),
        _ => NodeFault::Partition(&victim, "node-3"),
    };
    nodes.hold_fault(fault, lasting).await;
    runner.await.expect("the client ran");
    let histories = client_node
        .spawn({
            let client = client.clone();
            async move {
                let mut histories = Vec::new();
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
                    let history = loop {
                        match handle.history().await {
                            Ok(history) => break history,
                            Err(error) if retryable(&error) => {
                                tokio::time::sleep(Duration::from_millis(200)).await;
                            }
                            Err(error) => panic!("order {index}'s history: {error}"),
                        }
                    };
                    histories.push((result, history));
                }
                histories
            }
        })
        .await
        .expect("the client ran");
    let faults = nodes.faults.entries();
    let mut took = std::collections::BTreeMap::<String, usize>::new();
    for (index, (result, history)) in histories.iter().enumerate() {
        assert_eq!(result, &format!("packed #{index}"), "faults: {faults:?}");
        check_well_formed(history)
            .unwrap_or_else(|error| panic!("order {index}: {error}; faults: {faults:?}"));
        let count = |wanted| {
            history
                .iter()
                .filter(|event| event.event_type() == wanted)
                .count()
        };
        assert_eq!(count(EventType::WorkflowExecutionCompleted), 1);
        assert_eq!(count(EventType::ActivityTaskCompleted), 1, "packed once");
        assert_eq!(count(EventType::TimerFired), 1);
        for (started, finished) in task_identities(history) {
            assert_eq!(
                started, finished,
                "order {index}: a task handed to one worker was finished by another; \
                 faults: {faults:?}"
            );
            assert!(WORKERS.contains(&started.as_str()), "{started}");
            *took.entry(started).or_default() += 1;
        }
    }
    println!("seed {seed}: tasks finished by worker {took:?}; faults {faults:?}");
    nodes
        .commit_log()
        .check_single_writer()
        .unwrap_or_else(|error| panic!("{error}; faults: {faults:?}"));
}

#[test]
fn workers_reaching_one_node_each_complete_every_order_once_through_node_faults() {
    run_seeds(
        "workers_reaching_one_node_each_complete_every_order_once_through_node_faults",
        &(0..12).collect::<Vec<u64>>(),
        Duration::from_secs(600),
        scenario,
    );
}
