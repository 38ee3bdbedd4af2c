//! A client of a cluster: several engine nodes over one store, reached through any of a
//! few seed addresses.
//!
//! - **Calls** go to one node at a time (any node forwards a call to the node serving its
//!   workflow). When that node is unreachable or answers `Unavailable` (its shard is
//!   moving), the client turns to the next member; a call that is safe to repeat — a read,
//!   or a start or signal carrying its request id — is sent again, with a growing pause,
//!   for up to [`ClusterOptions::retry_for`]; any other returns the error, as on one node.
//! - **Polls** reach every member: a node hands out only the tasks of the shards it
//!   serves, so for each queue polled the client keeps as many long polls open on each
//!   member as the worker has polls waiting, and gives the worker whichever task comes
//!   first. A task that arrives while no poll waits is kept for the next one, so a worker
//!   may briefly hold a few more tasks than its slots (at most its pollers × members).
//! - **Members** are read with `DescribeCluster` when the client starts and every
//!   [`ClusterOptions::refresh_every`]; the seeds are used until one answers.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use endure_core::protocol::{
    DescribeClusterRequest, ErrorKind, PolledWorkflowTask, RemoteError, Request, Response, Rpc,
    Transport, TransportFuture,
};
use endure_core::{Namespace, WorkflowId};
use parking_lot::Mutex;
use tokio::sync::Notify;

use super::{RemoteOptions, TcpTransport};
use crate::Client;

/// How a cluster client behaves.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    /// Each node's connection.
    pub remote: RemoteOptions,
    /// How long a call safe to repeat is retried across members while they answer
    /// `Unavailable` (a shard moving after a node failed takes up to its lease).
    pub retry_for: Duration,
    /// How often the member list is read again.
    pub refresh_every: Duration,
    /// Pause after a member's poll failed before polling it again.
    pub poll_failure_pause: Duration,
    /// How long a worker's poll waits for a task from any member before answering none
    /// (the members' own long polls stay open).
    pub poll_wait: Duration,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            remote: RemoteOptions::default(),
            retry_for: Duration::from_secs(30),
            refresh_every: Duration::from_secs(5),
            poll_failure_pause: Duration::from_millis(500),
            poll_wait: Duration::from_secs(60),
        }
    }
}

/// The first pause between retries of a call; it doubles up to [`RETRY_PAUSE_MAX`].
const RETRY_PAUSE_INITIAL: Duration = Duration::from_millis(50);
/// The longest pause between retries of a call.
const RETRY_PAUSE_MAX: Duration = Duration::from_secs(1);
/// Most members a client keeps connections to.
pub const CLUSTER_MEMBERS_MAX: usize = 64;

/// The Transport to a cluster.
pub struct ClusterTransport {
    shared: Arc<Shared>,
}

struct Shared {
    options: ClusterOptions,
    seeds: Vec<String>,
    /// The members' addresses, as last read (the seeds until then).
    members: Mutex<Vec<String>>,
    links: Mutex<BTreeMap<String, Arc<TcpTransport>>>,
    /// The member calls go to, as an index into `members`.
    current: AtomicUsize,
    /// When the members were last read (`None`: never).
    refreshed: Mutex<Option<tokio::time::Instant>>,
    polls: Mutex<BTreeMap<String, Arc<PollQueue>>>,
    /// The member that last handed out a task of each workflow: its answers go straight
    /// there (the node serving the workflow's shard), not through another node.
    served_by: Mutex<BTreeMap<(Namespace, WorkflowId), String>>,
}

/// Most workflows whose serving member a client remembers; past it the memory starts
/// over (an answer then takes one forward more).
pub const SERVED_BY_MAX: usize = 10_000;

/// The tasks polled for one queue, and which members have a poll open.
#[derive(Default)]
struct PollQueue {
    state: Mutex<PollState>,
    arrived: Notify,
}

#[derive(Default)]
struct PollState {
    tasks: VecDeque<Response>,
    /// Polls open on each member.
    open: BTreeMap<String, usize>,
    /// The worker's polls waiting now: each member gets as many open polls, so a worker's
    /// pollers poll every member as they would poll one server.
    waiting: usize,
}

/// Counts a worker's poll as waiting while it lives.
struct Waiting(Arc<PollQueue>);

impl Waiting {
    fn new(queue: &Arc<PollQueue>) -> Self {
        queue.state.lock().waiting += 1;
        Self(Arc::clone(queue))
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let mut state = self.0.state.lock();
        state.waiting = state.waiting.saturating_sub(1);
    }
}

impl ClusterTransport {
    /// A transport to the cluster reachable through `seeds` (`host:port` each).
    pub fn new(seeds: Vec<String>, options: ClusterOptions) -> Self {
        Self {
            shared: Arc::new(Shared {
                members: Mutex::new(seeds.clone()),
                seeds,
                options,
                links: Mutex::new(BTreeMap::new()),
                current: AtomicUsize::new(0),
                refreshed: Mutex::new(None),
                polls: Mutex::new(BTreeMap::new()),
                served_by: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    /// The members' addresses as last read.
    pub fn members(&self) -> Vec<String> {
        self.shared.members.lock().clone()
    }
}

impl Shared {
    fn link(&self, address: &str) -> Arc<TcpTransport> {
        let mut links = self.links.lock();
        if let Some(link) = links.get(address) {
            return Arc::clone(link);
        }
        if links.len() >= CLUSTER_MEMBERS_MAX
            && let Some(oldest) = links.keys().next().cloned()
        {
            links.remove(&oldest);
        }
        let link = Arc::new(TcpTransport::new(address, self.options.remote.clone()));
        links.insert(address.to_owned(), Arc::clone(&link));
        link
    }

    /// The member calls go to now.
    fn current(&self) -> String {
        let members = self.members.lock();
        let index = self.current.load(Ordering::Relaxed) % members.len().max(1);
        members
            .get(index)
            .cloned()
            .or_else(|| self.seeds.first().cloned())
            .unwrap_or_default()
    }

    /// Turns to the next member.
    fn next_member(&self) {
        self.current.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads the members again if they are due (or never read).
    async fn refresh_if_due(&self) {
        let due = self
            .refreshed
            .lock()
            .is_none_or(|at| at.elapsed() >= self.options.refresh_every);
        if due {
            self.refresh().await;
        }
    }

    /// Reads the members from the current member, else from each seed in turn.
    async fn refresh(&self) {
        *self.refreshed.lock() = Some(tokio::time::Instant::now());
        let mut asked = vec![self.current()];
        asked.extend(self.seeds.iter().cloned());
        for address in asked {
            let answer = self
                .link(&address)
                .call(DescribeClusterRequest.into_request())
                .await;
            let Ok(response) = answer else { continue };
            let Ok(description) = DescribeClusterRequest::from_response(response) else {
                continue;
            };
            let mut members: Vec<String> = description
                .members
                .iter()
                .map(|record| record.member.address.clone())
                .take(CLUSTER_MEMBERS_MAX)
                .collect();
            if members.is_empty() {
                // A single node: it is the cluster.
                members.push(address.clone());
            }
            let position = members.iter().position(|member| *member == address);
            *self.members.lock() = members;
            if let Some(position) = position {
                self.current.store(position, Ordering::Relaxed);
            }
            return;
        }
    }

    async fn call(self: Arc<Self>, request: Request) -> Result<Response, RemoteError> {
        self.refresh_if_due().await;
        if is_poll(&request) {
            return self.poll(request).await;
        }
        let repeatable = safe_to_repeat(&request);
        let started = tokio::time::Instant::now();
        let mut pause = RETRY_PAUSE_INITIAL;
        let mut direct = self.server_of(&request);
        loop {
            let address = direct.take().unwrap_or_else(|| self.current());
            let result = self.link(&address).call(request.clone()).await;
            match result {
                Err(error) if error.kind == ErrorKind::Unavailable => {
                    self.next_member();
                    if !repeatable || started.elapsed() + pause > self.options.retry_for {
                        return Err(error);
                    }
                    tracing::debug!(%address, %error, "cluster call retried on another member");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(RETRY_PAUSE_MAX);
                    self.refresh().await;
                }
                other => return other,
            }
        }
    }

    /// A long poll over every member: the first task from any, else empty when every
    /// member's poll came back empty.
    async fn poll(self: Arc<Self>, request: Request) -> Result<Response, RemoteError> {
        let key = poll_key(&request);
        let queue = Arc::clone(self.polls.lock().entry(key).or_default());
        let deadline = tokio::time::Instant::now() + self.options.poll_wait;
        let _waiting = Waiting::new(&queue);
        loop {
            let arrived = queue.arrived.notified();
            let mut arrived = std::pin::pin!(arrived);
            // Registered before the state is read: a task arriving in between wakes it.
            arrived.as_mut().enable();
            let members = self.members.lock().clone();
            {
                let mut state = queue.state.lock();
                if let Some(task) = state.tasks.pop_front() {
                    return Ok(task);
                }
                let wanted = state.waiting;
                for member in &members {
                    let open = state.open.entry(member.clone()).or_default();
                    while *open < wanted {
                        *open += 1;
                        tokio::spawn(Arc::clone(&self).pump(
                            Arc::clone(&queue),
                            member.clone(),
                            request.clone(),
                        ));
                    }
                }
                if state.open.values().all(|open| *open == 0) {
                    return Ok(empty(&request));
                }
            }
            tokio::select! {
                biased;
                () = arrived => {}
                () = tokio::time::sleep_until(deadline) => {
                    // The polls stay open; what they bring waits for the next poll.
                    let task = queue.state.lock().tasks.pop_front();
                    return Ok(task.unwrap_or_else(|| empty(&request)));
                }
            }
        }
    }

    /// The member that handed out the last task of the request's workflow, if known.
    fn server_of(&self, request: &Request) -> Option<String> {
        let (namespace, workflow_id) = request.routed_workflow()?;
        self.served_by
            .lock()
            .get(&(namespace.clone(), workflow_id.into_owned()))
            .cloned()
    }

    /// Remembers that `member` handed out a task of the run in `response`.
    fn remember_server(&self, response: &Response, member: &str) {
        let execution = match response {
            Response::PollWorkflowTask(Some(PolledWorkflowTask::Task(task))) => &task.execution,
            Response::PollWorkflowTask(Some(PolledWorkflowTask::Query(query))) => &query.execution,
            Response::PollActivityTask(Some(task)) => &task.execution,
            _ => return,
        };
        let mut served_by = self.served_by.lock();
        if served_by.len() >= SERVED_BY_MAX {
            served_by.clear();
        }
        served_by.insert(
            (execution.namespace.clone(), execution.workflow_id.clone()),
            member.to_owned(),
        );
    }

    /// One long poll of `member`: a task is queued for the next poll; then the member
    /// may be polled again.
    async fn pump(self: Arc<Self>, queue: Arc<PollQueue>, member: String, request: Request) {
        let result = self.link(&member).call(request).await;
        let failed = match result {
            Ok(response) if !is_empty_poll(&response) => {
                self.remember_server(&response, &member);
                queue.state.lock().tasks.push_back(response);
                false
            }
            Ok(_) => false,
            Err(error) => {
                tracing::debug!(%member, %error, "a member's poll failed");
                true
            }
        };
        if failed {
            tokio::time::sleep(self.options.poll_failure_pause).await;
        }
        {
            let mut state = queue.state.lock();
            if let Some(open) = state.open.get_mut(&member) {
                *open = open.saturating_sub(1);
            }
        }
        queue.arrived.notify_waiters();
    }
}

impl Transport for ClusterTransport {
    fn call(&self, request: Request) -> TransportFuture<'_> {
        Box::pin(Arc::clone(&self.shared).call(request))
    }
}

fn is_poll(request: &Request) -> bool {
    matches!(
        request,
        Request::PollWorkflowTask(_) | Request::PollActivityTask(_)
    )
}

fn is_empty_poll(response: &Response) -> bool {
    matches!(
        response,
        Response::PollWorkflowTask(None) | Response::PollActivityTask(None)
    )
}

fn empty(request: &Request) -> Response {
    match request {
        Request::PollWorkflowTask(_) => Response::PollWorkflowTask(None),
        _ => Response::PollActivityTask(None),
    }
}

/// The queue a poll is for: polls of one key share their members' open polls.
fn poll_key(request: &Request) -> String {
    match request {
        Request::PollWorkflowTask(poll) => format!(
            "workflow\u{0}{}\u{0}{}\u{0}{:?}",
            poll.namespace, poll.task_queue, poll.deployment_version
        ),
        Request::PollActivityTask(poll) => format!(
            "activity\u{0}{}\u{0}{}\u{0}{:?}",
            poll.namespace, poll.task_queue, poll.deployment_version
        ),
        other => other.name().to_owned(),
    }
}

/// Whether sending `request` twice does what sending it once does: reads, and starts and
/// signals that carry their request id (the engine keeps the first and answers the second
/// with its outcome).
fn safe_to_repeat(request: &Request) -> bool {
    match request {
        Request::StartWorkflow(start) => start.options.request_id.is_some(),
        Request::SignalWorkflow(signal) => signal.signal.request_id.is_some(),
        Request::SignalWithStartWorkflow(both) => {
            both.start.options.request_id.is_some() && both.signal.request_id.is_some()
        }
        Request::GetHistory(_)
        | Request::GetHistoryPage(_)
        | Request::ListWorkflows(_)
        | Request::CountWorkflows(_)
        | Request::AwaitWorkflowClose(_)
        | Request::DescribeWorkflow(_)
        | Request::QueryWorkflow(_)
        | Request::DescribeTaskQueue(_)
        | Request::DescribeNamespace(_)
        | Request::ListNamespaces(_)
        | Request::Health(_)
        | Request::DescribeSchedule(_)
        | Request::ListSchedules(_)
        | Request::DescribeWorkerDeployment(_)
        | Request::ListWorkerDeployments(_)
        | Request::ListSearchAttributes(_)
        | Request::PollUpdate(_)
        | Request::DescribeCluster(_) => true,
        _ => false,
    }
}

/// A client of the cluster reachable through `seeds`, for `namespace`.
pub fn connect_cluster(seeds: &[&str], namespace: Namespace) -> Client {
    Client::connect_cluster_with(seeds, namespace, ClusterOptions::default())
}

impl Client {
    /// A client of a cluster of engine nodes, reached through any of `seeds` (`host:port`
    /// each): calls follow the members as nodes come and go, and a worker built on its
    /// [`transport`](Client::transport) polls every member.
    pub fn connect_cluster(seeds: &[&str], namespace: Namespace) -> Self {
        connect_cluster(seeds, namespace)
    }

    /// [`connect_cluster`](Self::connect_cluster) with `options`.
    pub fn connect_cluster_with(
        seeds: &[&str],
        namespace: Namespace,
        options: ClusterOptions,
    ) -> Self {
        let seeds = seeds.iter().map(|seed| (*seed).to_owned()).collect();
        Self::new(Arc::new(ClusterTransport::new(seeds, options)), namespace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use endure_core::protocol::{HealthRequest, SignalWorkflowRequest};

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
}
