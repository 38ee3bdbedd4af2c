//! The cluster transport over members faked in process: the gateway's calls and polls, the
//! polls of each worker kept apart, members' polls closed when unwanted, kept tasks dropped
//! at their age.

use std::collections::VecDeque;
use std::sync::atomic::AtomicU64;

use endure_core::cluster::{Member, NodeName};
use endure_core::protocol::{
    ClusterDescription, ClusterMember, HealthRequest, PollWorkflowTaskRequest, QueryTaskForWorker,
    RespondQueryTaskRequest, SignalWorkflowRequest,
};
use endure_core::{EventId, ExecutionKey, Header, Payloads, RunId, TaskQueueName, WorkflowType};
use tokio::sync::Notify;

use super::*;

const HOME: &str = "10.0.0.1:7233";
const PEER: &str = "10.0.0.2:7233";

/// A member: answers `DescribeCluster` with both members, hands its polls the tasks it is
/// given (a poll with none waits until one is given or it is cancelled), and counts calls.
#[derive(Default)]
struct FakeMember {
    tasks: Mutex<VecDeque<Response>>,
    given: Notify,
    calls: Mutex<Vec<&'static str>>,
    /// Polls open now (a cancelled poll's future is dropped, which closes it).
    open_polls: AtomicUsize,
}

impl FakeMember {
    fn give(&self, response: Response) {
        self.tasks.lock().push_back(response);
        self.given.notify_waiters();
    }

    fn calls(&self) -> Vec<&'static str> {
        self.calls.lock().clone()
    }

    fn open_polls(&self) -> usize {
        self.open_polls.load(Ordering::SeqCst)
    }
}

struct OpenPoll<'a>(&'a AtomicUsize);

impl Drop for OpenPoll<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Transport for FakeMember {
    fn call(&self, request: Request) -> TransportFuture<'_> {
        self.calls.lock().push(request.name());
        Box::pin(async move {
            match request {
                Request::DescribeCluster(_) => {
                    let member = |name: &str, address: &str| ClusterMember {
                        member: Member::new(NodeName::new(name).unwrap(), address).unwrap(),
                        heartbeat_age: Duration::ZERO,
                        shards: 4,
                    };
                    Ok(Response::DescribeCluster(Box::new(ClusterDescription {
                        node: None,
                        shard_count: 8,
                        members: vec![member("home", HOME), member("peer", PEER)],
                        shards: Vec::new(),
                    })))
                }
                Request::PollWorkflowTask(_) => {
                    self.open_polls.fetch_add(1, Ordering::SeqCst);
                    let _open = OpenPoll(&self.open_polls);
                    loop {
                        let given = self.given.notified();
                        if let Some(task) = self.tasks.lock().pop_front() {
                            return Ok(task);
                        }
                        given.await;
                    }
                }
                _ => Ok(Response::Health(endure_core::protocol::Health {
                    store_stopped: None,
                })),
            }
        })
    }
}

struct Gateway {
    transport: ClusterTransport,
    home: Arc<FakeMember>,
    peer: Arc<FakeMember>,
}

fn gateway(options: ClusterOptions) -> Gateway {
    let home = Arc::new(FakeMember::default());
    let peer = Arc::new(FakeMember::default());
    let to_peer = Arc::clone(&peer);
    let connect: MemberConnector = Arc::new(move |address: &str| -> Arc<dyn Transport> {
        assert_eq!(address, PEER, "only the peer is reached by connection");
        Arc::clone(&to_peer) as Arc<dyn Transport>
    });
    let transport = ClusterTransport::gateway(
        HOME.into(),
        Arc::clone(&home) as Arc<dyn Transport>,
        connect,
        options,
    );
    Gateway {
        transport,
        home,
        peer,
    }
}

fn options() -> ClusterOptions {
    ClusterOptions {
        poll_wait: Duration::from_secs(60),
        idle_poll_close_after: Duration::from_secs(5),
        held_task_max_age: Duration::from_secs(60),
        ..ClusterOptions::default()
    }
}

fn poll(identity: &str) -> Request {
    PollWorkflowTaskRequest {
        namespace: Namespace::default(),
        task_queue: TaskQueueName::new("orders").unwrap(),
        identity: identity.into(),
        deployment_version: None,
        normal_queue: None,
    }
    .into_request()
}

static QUERY_IDS: AtomicU64 = AtomicU64::new(1);

/// A query task of workflow `workflow`.
fn task(workflow: &str) -> (u64, Response) {
    let query_id = QUERY_IDS.fetch_add(1, Ordering::Relaxed);
    let task = QueryTaskForWorker {
        execution: ExecutionKey {
            namespace: Namespace::default(),
            workflow_id: WorkflowId::new(workflow).unwrap(),
            run_id: RunId::from_u128(7),
        },
        workflow_type: WorkflowType::new("Order").unwrap(),
        query_id,
        query_type: "status".into(),
        args: Payloads::empty(),
        header: Header::new(),
        history: Vec::new(),
        next_page: None,
        previous_started_event_id: EventId::new(3).unwrap(),
    };
    let response = Response::PollWorkflowTask(Some(PolledWorkflowTask::Query(Box::new(task))));
    (query_id, response)
}

fn query_id(response: &Response) -> Option<u64> {
    match response {
        Response::PollWorkflowTask(Some(PolledWorkflowTask::Query(query))) => Some(query.query_id),
        _ => None,
    }
}

/// A poll of worker 1 that no member answers within its wait: it leaves one poll open on
/// each member.
async fn poll_unanswered(gateway: &Gateway) {
    let polled = gateway.transport.call(poll("worker-1")).await.unwrap();
    assert_eq!(query_id(&polled), None);
    settle().await;
    assert_eq!(
        (gateway.home.open_polls(), gateway.peer.open_polls()),
        (1, 1)
    );
}

/// Lets the spawned polls run (time is paused: sleeps end at once when all else waits).
async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_gateway_calls_its_own_node_and_polls_every_member() {
    let gateway = gateway(options());
    gateway
        .transport
        .call(HealthRequest.into_request())
        .await
        .unwrap();
    assert_eq!(gateway.home.calls(), ["DescribeCluster", "Health"]);
    assert!(gateway.peer.calls().is_empty(), "calls stay on the node");

    // A task of the peer's shard reaches a poll made at the gateway.
    let (id, task) = task("of-the-peer");
    gateway.peer.give(task);
    let polled = gateway.transport.call(poll("worker-1")).await.unwrap();
    assert_eq!(query_id(&polled), Some(id));
    settle().await;
    assert_eq!(gateway.home.calls().last(), Some(&"PollWorkflowTask"));
    assert_eq!(gateway.peer.calls(), ["PollWorkflowTask"]);

    // Its answer goes straight to the member that handed it out.
    let answer = RespondQueryTaskRequest {
        execution: ExecutionKey {
            namespace: Namespace::default(),
            workflow_id: WorkflowId::new("of-the-peer").unwrap(),
            run_id: RunId::from_u128(7),
        },
        query_id: id,
        answer: Ok(None),
    };
    gateway.transport.call(answer.into_request()).await.unwrap();
    assert_eq!(gateway.peer.calls().last(), Some(&"RespondQueryTask"));
}

#[tokio::test(start_paused = true)]
async fn each_workers_polls_are_its_own() {
    let gateway = Arc::new(gateway(options()));
    // Worker 1 polls; both members answer at once: one task is its, the other kept for it.
    let (first, task_1) = task("a");
    let (second, task_2) = task("b");
    gateway.home.give(task_1);
    gateway.peer.give(task_2);
    let polled = gateway.transport.call(poll("worker-1")).await.unwrap();
    settle().await;
    let got = query_id(&polled).unwrap();
    let kept = if got == first { second } else { first };
    // Worker 2's poll does not get worker 1's kept task: it waits for its own.
    let other = {
        let gateway = Arc::clone(&gateway);
        tokio::spawn(async move { gateway.transport.call(poll("worker-2")).await })
    };
    settle().await;
    assert!(!other.is_finished(), "worker 2 got worker 1's task");
    let (third, task_3) = task("c");
    gateway.peer.give(task_3);
    let polled = other.await.unwrap().unwrap();
    assert_eq!(query_id(&polled), Some(third));
    // Worker 1's next poll takes the task kept for it.
    let polled = gateway.transport.call(poll("worker-1")).await.unwrap();
    assert_eq!(query_id(&polled), Some(kept));
}

#[tokio::test(start_paused = true)]
async fn members_polls_close_when_no_poll_waits_and_the_queue_is_forgotten() {
    let options = ClusterOptions {
        poll_wait: Duration::from_secs(2),
        ..options()
    };
    let gateway = gateway(options);
    // A poll that nothing answers: it opens a poll on each member and gives up at 2 s.
    poll_unanswered(&gateway).await;
    assert_eq!(gateway.transport.shared.poll_queues(), 1);
    // No poll of the worker waits: within 1.25 × 5 s the members' polls are cancelled,
    // and nothing is left of the queue.
    tokio::time::sleep(Duration::from_secs(4)).await;
    settle().await;
    assert_eq!(
        (gateway.home.open_polls(), gateway.peer.open_polls()),
        (1, 1),
        "not yet"
    );
    tokio::time::sleep(Duration::from_millis(2_300)).await;
    settle().await;
    assert_eq!(
        (gateway.home.open_polls(), gateway.peer.open_polls()),
        (0, 0)
    );
    assert_eq!(gateway.transport.shared.poll_queues(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_kept_task_no_poll_takes_is_dropped_at_its_age() {
    let options = ClusterOptions {
        poll_wait: Duration::from_secs(1),
        idle_poll_close_after: Duration::from_secs(600),
        held_task_max_age: Duration::from_secs(30),
        ..options()
    };
    let gateway = gateway(options);
    let polled = gateway.transport.call(poll("worker-1")).await.unwrap();
    assert_eq!(query_id(&polled), None);
    // A task arrives after the worker's poll gave up: it is kept…
    let (_, task) = task("late");
    gateway.peer.give(task);
    settle().await;
    assert_eq!(gateway.transport.shared.poll_queues(), 1);
    // …and dropped after 30 s with no poll. (The home member's poll is still open.)
    tokio::time::sleep(Duration::from_secs(31)).await;
    settle().await;
    let polled = gateway.transport.call(poll("worker-1")).await.unwrap();
    assert_eq!(query_id(&polled), None, "the kept task was dropped");
}

#[test]
fn only_reads_and_identified_writes_are_repeated() {
    assert!(safe_to_repeat(&HealthRequest.into_request()));
    let mut signal = SignalWorkflowRequest {
        namespace: Namespace::default(),
        workflow_id: endure_core::WorkflowId::new("w").unwrap(),
        run_id: None,
        signal: endure_core::execution::SignalRequest {
            signal_name: endure_core::SignalName::new("s").unwrap(),
            input: endure_core::Payloads::empty(),
            identity: "i".into(),
            header: endure_core::Header::new(),
            request_id: None,
        },
    };
    assert!(!safe_to_repeat(&signal.clone().into_request()));
    signal.signal.request_id = Some(endure_core::RequestId::new("r").unwrap());
    assert!(safe_to_repeat(&signal.into_request()));
}

#[tokio::test(start_paused = true)]
async fn dropping_the_transport_cancels_the_members_polls_and_lets_go_of_them() {
    let gateway = gateway(ClusterOptions {
        poll_wait: Duration::from_secs(1),
        idle_poll_close_after: Duration::from_secs(600),
        ..options()
    });
    poll_unanswered(&gateway).await;
    let Gateway {
        transport,
        home,
        peer,
    } = gateway;
    drop(transport);
    settle().await;
    assert_eq!((home.open_polls(), peer.open_polls()), (0, 0));
    // The polls ended, and with them the last hold on the transport's state: nothing holds
    // either member any more.
    assert_eq!((Arc::strong_count(&home), Arc::strong_count(&peer)), (1, 1));
}
