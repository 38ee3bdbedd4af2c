//! Temporal's Python SDK on a three-node cluster, reaching one node only: its client and
//! worker connect to node 1's gRPC front end, and run orders whose workflow ids fall in
//! every node's shards. Node 1's gateway polls every member for the worker, so each order
//! runs to its end, and every task of it went to that worker. Skips (saying why) without
//! `ENDURE_TEST_POSTGRES` or `ENDURE_TEST_PYTHON`.
#![allow(
    clippy::disallowed_methods,
    reason = "real processes, waited for on the wall clock"
)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use endure::{Client, Namespace, WorkflowId};
use endure_core::history::EventType;
use endure_core::{EventAttributes, EventId, HistoryEvent};
use endure_server::storage::postgres::testing;

use crate::cluster::{Node, describe, free_port, runtime_and_database, settled};

/// Orders the scenario runs (`CLUSTER_ORDERS` in `scenarios.py`).
const ORDERS: usize = 24;

/// The Quick Start's events, each with the events it refers back to.
const QUICKSTART: [(EventType, &[u64]); 16] = {
    use EventType::*;
    [
        (WorkflowExecutionStarted, &[]),
        (WorkflowTaskScheduled, &[]),
        (WorkflowTaskStarted, &[2]),
        (WorkflowTaskCompleted, &[2, 3]),
        (ActivityTaskScheduled, &[4]),
        (ActivityTaskStarted, &[5]),
        (ActivityTaskCompleted, &[5, 6]),
        (WorkflowTaskScheduled, &[]),
        (WorkflowTaskStarted, &[8]),
        (WorkflowTaskCompleted, &[8, 9]),
        (TimerStarted, &[10]),
        (TimerFired, &[11]),
        (WorkflowTaskScheduled, &[]),
        (WorkflowTaskStarted, &[13]),
        (WorkflowTaskCompleted, &[13, 14]),
        (WorkflowExecutionCompleted, &[15]),
    ]
};

/// The events `event` refers back to, and the identity of the worker it names (if any).
fn references(event: &HistoryEvent) -> (Vec<EventId>, Option<&str>) {
    match &event.attributes {
        EventAttributes::WorkflowTaskStarted(a) => {
            (vec![a.scheduled_event_id], Some(a.identity.as_str()))
        }
        EventAttributes::WorkflowTaskCompleted(a) => (
            vec![a.scheduled_event_id, a.started_event_id],
            Some(a.identity.as_str()),
        ),
        EventAttributes::ActivityTaskScheduled(a) => {
            (vec![a.workflow_task_completed_event_id], None)
        }
        EventAttributes::ActivityTaskStarted(a) => {
            (vec![a.scheduled_event_id], Some(a.identity.as_str()))
        }
        EventAttributes::ActivityTaskCompleted(a) => (
            vec![a.scheduled_event_id, a.started_event_id],
            Some(a.identity.as_str()),
        ),
        EventAttributes::TimerStarted(a) => (vec![a.workflow_task_completed_event_id], None),
        EventAttributes::TimerFired(a) => (vec![a.started_event_id], None),
        EventAttributes::WorkflowExecutionCompleted(a) => {
            (vec![a.workflow_task_completed_event_id], None)
        }
        _ => (Vec::new(), None),
    }
}

#[test]
fn temporals_python_sdk_through_one_node_runs_workflows_of_every_nodes_shards() {
    let Some(admin) = testing::admin_url() else {
        return;
    };
    let Some(python) = std::env::var_os("ENDURE_TEST_PYTHON") else {
        eprintln!("skipped: set ENDURE_TEST_PYTHON (scripts/temporal-sdk-venv makes one)");
        return;
    };
    let (runtime, url) = runtime_and_database(&admin);
    let nodes: Vec<Node> = ["n1", "n2", "n3"]
        .iter()
        .map(|name| Node::start(&url, name, free_port()))
        .collect();
    let addresses: Vec<String> = nodes.iter().map(|node| node.address.clone()).collect();
    settled(&addresses[0], 3, Duration::from_secs(30));

    // The orders' workflows fall in every node's shards.
    let description = describe(&addresses[0]);
    let shard_count = u32::try_from(description["shard_count"].as_u64().unwrap()).unwrap();
    let id = |index: usize| WorkflowId::new(format!("py-cluster-{index}")).unwrap();
    let serving: BTreeSet<String> = (0..ORDERS)
        .map(|index| {
            let shard =
                endure_core::storage::shard_of(&Namespace::default(), &id(index), shard_count);
            description["shards"][shard.0 as usize]["owner"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        serving.len(),
        3,
        "the orders fall in every node's shards: {serving:?}"
    );

    // Temporal's Python SDK, client and worker, reaching node 1 only.
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../grpc/tests/python/scenarios.py");
    let mut sdk = Command::new(python)
        .arg(script)
        .args(["cluster", &addresses[0]])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while sdk.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            let _ = sdk.kill();
            let output = sdk.wait_with_output().unwrap();
            panic!(
                "the orders did not finish within 120 s through one node:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = sdk.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the Python SDK failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let expected: Vec<String> = (0..ORDERS)
        .map(|index| format!("workflow_completed_sent to user_{index}"))
        .collect();
    assert_eq!(seen["results"], serde_json::json!(expected));
    println!(
        "cluster gRPC test: {ORDERS} orders over {} nodes' shards done in {:?} through one node",
        serving.len(),
        started.elapsed()
    );

    // Each history, event by event: the Quick Start's events with their back-references,
    // and every task handed to the one worker.
    let seeds: Vec<&str> = addresses.iter().map(String::as_str).collect();
    let client = Client::connect_cluster(&seeds, Namespace::default());
    let mut workers = BTreeSet::new();
    runtime.block_on(async {
        for index in 0..ORDERS {
            let history = client.handle(id(index), None).history().await.unwrap();
            let kinds: Vec<EventType> = history.iter().map(HistoryEvent::event_type).collect();
            let expected: Vec<EventType> = QUICKSTART.iter().map(|(kind, _)| *kind).collect();
            assert_eq!(kinds, expected, "order {index}");
            for (event, (_, refers)) in history.iter().zip(QUICKSTART) {
                let (references, identity) = references(event);
                let refers: Vec<EventId> =
                    refers.iter().map(|id| EventId::new(*id).unwrap()).collect();
                assert_eq!(
                    references, refers,
                    "order {index}, event {}",
                    event.event_id
                );
                workers.extend(identity.map(str::to_owned));
            }
        }
    });
    assert_eq!(workers.len(), 1, "one worker took every task: {workers:?}");
    // The gateway's node stops cleanly on SIGTERM: its polls of the members end with it.
    let mut nodes = nodes.into_iter();
    let first = nodes.next().unwrap();
    let stopping = Instant::now();
    assert!(first.terminate(), "node 1 stops cleanly on SIGTERM");
    assert!(
        stopping.elapsed() < Duration::from_secs(5),
        "node 1 took {:?} to stop",
        stopping.elapsed()
    );
}
