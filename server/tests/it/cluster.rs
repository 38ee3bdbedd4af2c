//! Engines as nodes of a cluster over one shared store: they split the shards by
//! placement, refuse (retryably) the workflows of shards they do not serve and say who
//! serves them, hand their shards on when they leave, and stop serving — before another
//! node can take over — when cut off from the store.

use std::sync::Arc;
use std::time::Duration;

use endure_core::cluster::{LeaseConfig, Member, NodeName, placement};
use endure_core::execution::WorkflowTaskCompletion;
use endure_core::history::{EventAttributes, EventType};
use endure_core::protocol::{DescribeClusterRequest, RemoteError, Rpc, Transport};
use endure_core::storage::{ShardId, shard_of};
use endure_core::*;
use endure_server::clock::SystemClock;
use endure_server::engine::{
    ClusterConfig, ClusterFront, Engine, EngineConfig, EngineError, PeerConnector, Peers, Route,
    StartWorkflowRequest,
};
use endure_server::storage::{CommitLog, MemoryStorage, NodeStore};

type Node = Engine<NodeStore, SystemClock>;

const SHARDS: u32 = 8;

fn leases() -> LeaseConfig {
    LeaseConfig {
        duration: Duration::from_millis(1_500),
        renew_every: Duration::from_millis(200),
        margin: Duration::from_millis(500),
        heartbeat_every: Duration::from_millis(100),
        member_ttl: Duration::from_millis(600),
    }
}

fn member(name: &str) -> Member {
    Member::new(NodeName::new(name).unwrap(), format!("{name}.test:7233")).unwrap()
}

async fn join(
    store: &Arc<MemoryStorage>,
    name: &str,
) -> (Node, Arc<std::sync::atomic::AtomicBool>) {
    join_with(store, name, None).await
}

async fn join_with(
    store: &Arc<MemoryStorage>,
    name: &str,
    peers: Option<Peers>,
) -> (Node, Arc<std::sync::atomic::AtomicBool>) {
    let cut = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let node_store = NodeStore::new(
        Arc::clone(store),
        name,
        Arc::clone(&cut),
        Arc::new(CommitLog::default()),
    );
    let config = EngineConfig {
        shard_count: SHARDS,
        poll_wait: Duration::from_millis(300),
        ..EngineConfig::default()
    };
    let cluster = ClusterConfig {
        member: member(name),
        leases: leases(),
        peers,
    };
    let node = Engine::join_cluster(Arc::new(node_store), Arc::new(SystemClock), config, cluster)
        .await
        .unwrap();
    (node, cut)
}

fn served(node: &Node) -> Vec<ShardId> {
    node.cluster_view().unwrap().served
}

/// Waits (at most `limit`) until `done` holds.
async fn eventually(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = tokio::time::Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn queue() -> TaskQueueName {
    TaskQueueName::new("cluster").unwrap()
}

fn start_request(id: &WorkflowId) -> StartWorkflowRequest {
    StartWorkflowRequest {
        namespace: Namespace::default(),
        options: StartWorkflowOptions::new(id.clone(), queue()),
        workflow_type: WorkflowType::new("Clustered").unwrap(),
        input: Payloads::empty(),
        header: Header::new(),
        identity: "test".into(),
    }
}

/// Polls `node` for the workflow task of `id` and completes the run.
async fn complete(node: &Node, id: &WorkflowId) {
    let execution = answer(node, "cluster", vec![crate::children::complete_command()]).await;
    assert_eq!(&execution.workflow_id, id);
    let history = node.history(&execution).await.unwrap();
    let types: Vec<EventType> = history.iter().map(HistoryEvent::event_type).collect();
    assert_eq!(
        types,
        vec![
            EventType::WorkflowExecutionStarted,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
            EventType::WorkflowTaskCompleted,
            EventType::WorkflowExecutionCompleted,
        ]
    );
}

/// A workflow id whose shard is `shard`.
fn id_on(shard: ShardId) -> WorkflowId {
    (0..)
        .map(|index| WorkflowId::new(format!("order-{index}")).unwrap())
        .find(|id| shard_of(&Namespace::default(), id, SHARDS) == shard)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_split_the_shards_route_to_each_other_and_hand_shards_on_when_leaving() {
    let store = Arc::new(MemoryStorage::new());
    let (a, _) = join(&store, "a").await;
    assert_eq!(
        served(&a).len(),
        SHARDS as usize,
        "a lone node serves every shard"
    );
    let (b, _) = join(&store, "b").await;
    let names = [NodeName::new("a").unwrap(), NodeName::new("b").unwrap()];
    let placed = placement(SHARDS, &names);
    let of = |name: &str| -> Vec<ShardId> {
        placed
            .iter()
            .filter(|(_, node)| node.as_str() == name)
            .map(|(shard, _)| *shard)
            .collect()
    };
    let (on_a, on_b) = (of("a"), of("b"));
    assert!(!on_a.is_empty() && !on_b.is_empty(), "{placed:?}");
    eventually(Duration::from_secs(5), "placement reached", || {
        served(&a) == on_a && served(&b) == on_b
    })
    .await;

    // Each node takes its own shards' workflows and refuses the other's, naming it.
    let (mine, theirs) = (id_on(on_a[0]), id_on(on_b[0]));
    assert_eq!(a.route(&Namespace::default(), &mine), Route::Local);
    eventually(Duration::from_secs(2), "a knows b's address", || {
        a.route(&Namespace::default(), &theirs) == Route::Remote(member("b"))
    })
    .await;
    a.start_workflow(start_request(&mine)).await.unwrap();
    assert!(matches!(
        a.start_workflow(start_request(&theirs)).await,
        Err(EngineError::NotServed { shard }) if shard == on_b[0].0
    ));
    b.start_workflow(start_request(&theirs)).await.unwrap();
    complete(&b, &theirs).await;

    // a leaves gracefully: b takes a's shards as they are handed on, well before a's
    // leases would have run out, and finishes the workflow a started.
    let left = tokio::time::Instant::now();
    a.shutdown().await.ok().expect("the last handle");
    eventually(Duration::from_secs(1), "b serves every shard", || {
        served(&b).len() == SHARDS as usize
    })
    .await;
    assert!(left.elapsed() < leases().duration, "handed on, not expired");
    complete(&b, &mine).await;
    // b's view of the leases is as of its last tick: wait for the one after its takes.
    eventually(
        Duration::from_secs(2),
        "b's view shows it holds every shard",
        || {
            let view = b.cluster_view().unwrap();
            view.leases.len() == SHARDS as usize
                && view
                    .leases
                    .iter()
                    .all(|lease| lease.owner.as_ref().map(NodeName::as_str) == Some("b"))
        },
    )
    .await;
    let view = b.cluster_view().unwrap();
    let members: Vec<&str> = view
        .members
        .iter()
        .map(|record| record.member.node.as_str())
        .collect();
    assert_eq!(members, vec!["b"], "a left the membership");
    assert!(
        view.leases
            .iter()
            .all(|lease| lease.owner.as_ref().map(NodeName::as_str) == Some("b")),
        "{:?}",
        view.leases
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_cut_off_from_the_store_stops_serving_before_another_takes_over() {
    let store = Arc::new(MemoryStorage::new());
    let (a, cut_a) = join(&store, "a").await;
    let (b, _) = join(&store, "b").await;
    eventually(Duration::from_secs(5), "both serve", || {
        !served(&a).is_empty() && !served(&b).is_empty()
    })
    .await;
    let shard = served(&a)[0];
    let id = id_on(shard);
    a.start_workflow(start_request(&id)).await.unwrap();

    cut_a.store(true, std::sync::atomic::Ordering::Release);
    let cut_at = tokio::time::Instant::now();
    // a stops serving its shards within its lease less the margin.
    eventually(leases().duration, "a stops serving", || {
        served(&a).is_empty()
    })
    .await;
    let stopped_after = cut_at.elapsed();
    assert!(
        stopped_after <= leases().duration - leases().margin + Duration::from_millis(300),
        "a stopped only after {stopped_after:?}"
    );
    assert!(matches!(
        a.start_workflow(start_request(&WorkflowId::new("late").unwrap()))
            .await,
        Err(EngineError::NotServed { .. } | EngineError::Storage(_))
    ));
    // b takes every shard once a's leases and member row have run out.
    eventually(Duration::from_secs(5), "b serves every shard", || {
        served(&b).len() == SHARDS as usize
    })
    .await;
    assert!(cut_at.elapsed() >= leases().duration - leases().margin);
    complete(&b, &id).await;

    // Healed, a rejoins and gets its share back by handoff.
    cut_a.store(false, std::sync::atomic::Ordering::Release);
    eventually(Duration::from_secs(5), "a serves again", || {
        !served(&a).is_empty() && served(&a).len() + served(&b).len() == SHARDS as usize
    })
    .await;
    a.shutdown().await.ok().expect("the last handle");
    b.shutdown().await.ok().expect("the last handle");
}

/// Sends `request` through `transport`.
async fn call<R: Rpc>(
    transport: &Arc<dyn Transport>,
    request: R,
) -> Result<R::Response, RemoteError> {
    let response = transport.call(request.into_request()).await?;
    Ok(R::from_response(response).unwrap_or_else(|other| panic!("answered {other:?}")))
}

/// Reaches peers in this process: each address names a node's front door.
#[derive(Default)]
struct InProcessPeers(parking_lot::Mutex<std::collections::BTreeMap<String, Arc<dyn Transport>>>);

impl PeerConnector for InProcessPeers {
    fn connect(&self, address: &str) -> Arc<dyn Transport> {
        let front = self
            .0
            .lock()
            .get(address)
            .map(Arc::downgrade)
            .unwrap_or_else(|| panic!("no node at {address}"));
        Arc::new(Weakly(front))
    }
}

/// A front door held weakly, as a TCP connection does not keep its server alive.
struct Weakly(std::sync::Weak<dyn Transport>);

impl Transport for Weakly {
    fn call(
        &self,
        request: endure_core::protocol::Request,
    ) -> endure_core::protocol::TransportFuture<'_> {
        match self.0.upgrade() {
            Some(front) => Box::pin(async move { front.call(request).await }),
            None => Box::pin(async {
                Err(RemoteError {
                    kind: endure_core::protocol::ErrorKind::Unavailable,
                    message: "the node is gone".into(),
                    run_id: None,
                })
            }),
        }
    }
}

/// Two nodes over one store, each behind its front door, reaching each other in process.
async fn two_nodes_with_front_doors() -> (
    Node,
    Node,
    Arc<dyn Transport>,
    Arc<dyn Transport>,
    Arc<InProcessPeers>,
) {
    let store = Arc::new(MemoryStorage::new());
    let peers = Arc::new(InProcessPeers::default());
    let (a, _) = join_with(&store, "a", Some(Peers::new(peers.clone()))).await;
    let (b, _) = join_with(&store, "b", Some(Peers::new(peers.clone()))).await;
    let front_a: Arc<dyn Transport> = Arc::new(ClusterFront::new(a.clone()));
    let front_b: Arc<dyn Transport> = Arc::new(ClusterFront::new(b.clone()));
    peers
        .0
        .lock()
        .insert(member("a").address, Arc::clone(&front_a));
    peers
        .0
        .lock()
        .insert(member("b").address, Arc::clone(&front_b));
    (a, b, front_a, front_b, peers)
}

/// Stops both nodes of [`two_nodes_with_front_doors`].
async fn stop(
    a: Node,
    b: Node,
    front_a: Arc<dyn Transport>,
    front_b: Arc<dyn Transport>,
    peers: Arc<InProcessPeers>,
) {
    peers.0.lock().clear();
    drop((front_a, front_b, peers));
    a.shutdown().await.ok().expect("the last handle");
    b.shutdown().await.ok().expect("the last handle");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn either_front_door_serves_every_workflow_by_forwarding_to_its_node() {
    let (a, b, front_a, front_b, peers) = two_nodes_with_front_doors().await;
    eventually(
        Duration::from_secs(5),
        "both serve and know each other",
        || {
            let (on_a, on_b) = (served(&a), served(&b));
            !on_a.is_empty()
                && on_a.len() + on_b.len() == SHARDS as usize
                && a.cluster_view().unwrap().members.len() == 2
                && b.cluster_view().unwrap().members.len() == 2
        },
    )
    .await;
    let theirs = id_on(served(&b)[0]);
    eventually(Duration::from_secs(2), "a routes to b", || {
        a.route(&Namespace::default(), &theirs) == Route::Remote(member("b"))
    })
    .await;
    // Through a's door: the start is forwarded to b, which serves the shard.
    let started = call(&front_a, start_request(&theirs)).await;
    let run_id = started.expect("forwarded start").run_id;
    let description = b
        .describe_workflow(&Namespace::default(), &theirs, None)
        .await
        .unwrap();
    assert_eq!(description.execution.run_id, run_id);
    // A cluster description through either door lists both members and every shard —
    // once the door's node has read the leases after the last handoff (its view is as of
    // its last tick, and b takes a handed-on shard at its own next one).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let described = loop {
        let described = call(&front_a, DescribeClusterRequest).await.unwrap();
        let held: u32 = described.members.iter().map(|m| m.shards).sum();
        if held == SHARDS || tokio::time::Instant::now() >= deadline {
            break described;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(described.node, Some(member("a")));
    assert_eq!(described.shard_count, SHARDS);
    assert_eq!(described.members.len(), 2);
    assert_eq!(
        described.members.iter().map(|m| m.shards).sum::<u32>(),
        SHARDS,
        "{described:?}"
    );
    // A namespace created through b is known to a within a refresh.
    b.create_namespace(Namespace::new("shipping").unwrap(), Default::default())
        .await
        .unwrap();
    let shipping = Namespace::new("shipping").unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while a.describe_namespace(&shipping).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "a never saw the namespace"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    complete(&b, &theirs).await;
    // The fronts hold each other through the peers: break the cycle.
    stop(a, b, front_a, front_b, peers).await;
}

/// Polls `node` for a workflow task on `queue` and answers it with `commands`.
async fn answer(node: &Node, queue: &str, commands: Vec<Command>) -> ExecutionKey {
    let task = node
        .poll_workflow_task(
            &Namespace::default(),
            &TaskQueueName::new(queue).unwrap(),
            "worker",
        )
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("a workflow task on {queue}"));
    let completion = WorkflowTaskCompletion::new(task.token, commands, "worker");
    node.complete_workflow_task(&task.execution, completion)
        .await
        .unwrap();
    task.execution
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_on_one_node_runs_a_child_on_another_through_the_outboxes() {
    let (a, b, front_a, front_b, peers) = two_nodes_with_front_doors().await;
    eventually(
        Duration::from_secs(5),
        "both serve, and see each other",
        || {
            let (on_a, on_b) = (served(&a), served(&b));
            let owned = |node: &Node| {
                let view = node.cluster_view().unwrap();
                view.members.len() == 2 && view.leases.iter().all(|lease| lease.owner.is_some())
            };
            !on_a.is_empty()
                && !on_b.is_empty()
                && on_a.len() + on_b.len() == SHARDS as usize
                && owned(&a)
                && owned(&b)
        },
    )
    .await;
    let parent = id_on(served(&a)[0]);
    let child = (0..)
        .map(|index| format!("child-{index}"))
        .find(|id| {
            shard_of(
                &Namespace::default(),
                &WorkflowId::new(id.as_str()).unwrap(),
                SHARDS,
            ) == served(&b)[0]
        })
        .unwrap();
    a.start_workflow(start_request(&parent)).await.unwrap();
    // The parent (on a) starts the child (on b): a's outbox starts it through b.
    let parent_run = answer(
        &a,
        "cluster",
        vec![crate::children::child_command(
            &child,
            ParentClosePolicy::Terminate,
        )],
    )
    .await;
    // The child's first task waits on b, the node serving its shard.
    answer(&b, "children", vec![crate::children::complete_command()]).await;
    // b's outbox reports the child's close to the parent on a.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let history = a.history(&parent_run).await.unwrap();
        if history
            .iter()
            .any(|event| event.event_type() == EventType::ChildWorkflowExecutionCompleted)
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{history:#?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    answer(&a, "cluster", vec![crate::children::complete_command()]).await;
    let history = a.history(&parent_run).await.unwrap();
    let types: Vec<EventType> = history.iter().map(HistoryEvent::event_type).collect();
    assert_eq!(
        types,
        vec![
            EventType::WorkflowExecutionStarted,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
            EventType::WorkflowTaskCompleted,
            EventType::StartChildWorkflowExecutionInitiated,
            EventType::ChildWorkflowExecutionStarted,
            EventType::WorkflowTaskScheduled,
            EventType::ChildWorkflowExecutionCompleted,
            EventType::WorkflowTaskStarted,
            EventType::WorkflowTaskCompleted,
            EventType::WorkflowExecutionCompleted,
        ],
        "{history:#?}"
    );
    let initiated = history[4].event_id;
    for event in [&history[5], &history[7]] {
        let initiated_of = match &event.attributes {
            EventAttributes::ChildWorkflowExecutionStarted(attributes) => {
                attributes.initiated_event_id
            }
            EventAttributes::ChildWorkflowExecutionCompleted(attributes) => {
                attributes.child.initiated_event_id
            }
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(initiated_of, initiated);
    }
    endure_core::history::check_well_formed(&history).unwrap();
    stop(a, b, front_a, front_b, peers).await;
}
