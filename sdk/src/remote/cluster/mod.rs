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
//!   Member polls close once no poll of the worker has waited for
//!   [`ClusterOptions::idle_poll_close_after`], and a kept task no poll took within
//!   [`ClusterOptions::held_task_max_age`] is dropped (the engine times it out and retries
//!   it, as for a worker that died holding it).
//! - **Members** are read with `DescribeCluster` when the client starts and every
//!   [`ClusterOptions::refresh_every`]; the seeds are used until one answers.
//!
//! A cluster node serves clients that reach only it — Temporal's SDKs over gRPC — through
//! the same transport as a [gateway](ClusterTransport::gateway): its calls go to the node
//! itself, in process, and its polls reach every member as a cluster client's do.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use endure_core::protocol::{
    DescribeClusterRequest, ErrorKind, PolledWorkflowTask, RemoteError, Request, Response, Rpc,
    Transport, TransportFuture,
};
use endure_core::{Namespace, WorkflowId};
use parking_lot::Mutex;

use super::{RemoteOptions, TcpTransport};
use crate::Client;

mod polls;

use polls::{PollKey, PollQueue};

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
    /// How long the members' polls of a queue stay open with no poll of the worker waiting
    /// for them (checked four times in that span); then they are cancelled, so a worker
    /// whose slots are all busy, or that stopped, is not handed tasks it cannot take. A
    /// worker polls again as soon as it has a slot, so a second is ample; a task a member
    /// hands out in that second waits for the worker's next poll.
    pub idle_poll_close_after: Duration,
    /// How long a task that arrived while no poll waited is kept for the next poll; then
    /// it is dropped, and the engine times it out and retries it.
    pub held_task_max_age: Duration,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            remote: RemoteOptions::default(),
            retry_for: Duration::from_secs(30),
            refresh_every: Duration::from_secs(5),
            poll_failure_pause: Duration::from_millis(500),
            poll_wait: Duration::from_secs(60),
            idle_poll_close_after: Duration::from_secs(1),
            held_task_max_age: Duration::from_secs(60),
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

/// Opens the connection to the member at an address.
pub type MemberConnector = Arc<dyn Fn(&str) -> Arc<dyn Transport> + Send + Sync>;

struct Shared {
    options: ClusterOptions,
    seeds: Vec<String>,
    /// A gateway's own node: its address, whose link is in process. Calls go there first,
    /// and the members are read there first.
    home: Option<String>,
    /// The members' addresses, as last read (the seeds until then).
    members: Mutex<Vec<String>>,
    connect: MemberConnector,
    links: Mutex<BTreeMap<String, Arc<dyn Transport>>>,
    /// The member calls go to, as an index into `members`.
    current: AtomicUsize,
    /// When the members were last read (`None`: never).
    refreshed: Mutex<Option<tokio::time::Instant>>,
    /// The open polls and kept tasks of each queue a worker polls (empty ones are removed).
    polls: Mutex<BTreeMap<PollKey, Arc<PollQueue>>>,
    /// The member that last handed out a task of each workflow: its answers go straight
    /// there (the node serving the workflow's shard), not through another node.
    served_by: Mutex<BTreeMap<(Namespace, WorkflowId), String>>,
    /// Set when the transport is dropped: the members' polls still open are cancelled.
    closing: tokio::sync::watch::Sender<bool>,
}

/// Most workflows whose serving member a client remembers; past it the memory starts
/// over (an answer then takes one forward more).
pub const SERVED_BY_MAX: usize = 10_000;

impl ClusterTransport {
    /// A transport to the cluster reachable through `seeds` (`host:port` each).
    pub fn new(seeds: Vec<String>, options: ClusterOptions) -> Self {
        let remote = options.remote.clone();
        let connect: MemberConnector = Arc::new(move |address: &str| -> Arc<dyn Transport> {
            Arc::new(TcpTransport::new(address, remote.clone()))
        });
        Self::with_connector(seeds, None, connect, options)
    }

    /// The gateway of the cluster node at `home_address`, for callers that reach only that
    /// node (Temporal's SDKs over its gRPC front end): calls go to `home` — the node's own
    /// front door, in process, which forwards a workflow's calls to the node serving it —
    /// and polls reach every member, the other members through `connect` (the node's
    /// connections to its peers), as a cluster client's polls do. The polls of each worker
    /// (by identity) are kept apart, so a task goes to a poll of the worker it was polled
    /// for and its history names that worker.
    pub fn gateway(
        home_address: String,
        home: Arc<dyn Transport>,
        connect: MemberConnector,
        options: ClusterOptions,
    ) -> Self {
        let home_link = home;
        let own = home_address.clone();
        let connect: MemberConnector = Arc::new(move |address: &str| {
            if address == own {
                Arc::clone(&home_link)
            } else {
                connect(address)
            }
        });
        Self::with_connector(
            vec![home_address.clone()],
            Some(home_address),
            connect,
            options,
        )
    }

    fn with_connector(
        seeds: Vec<String>,
        home: Option<String>,
        connect: MemberConnector,
        options: ClusterOptions,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                members: Mutex::new(seeds.clone()),
                seeds,
                home,
                options,
                connect,
                links: Mutex::new(BTreeMap::new()),
                current: AtomicUsize::new(0),
                refreshed: Mutex::new(None),
                polls: Mutex::new(BTreeMap::new()),
                served_by: Mutex::new(BTreeMap::new()),
                closing: tokio::sync::watch::Sender::new(false),
            }),
        }
    }

    /// The members' addresses as last read.
    pub fn members(&self) -> Vec<String> {
        self.shared.members.lock().clone()
    }
}

impl Shared {
    fn link(&self, address: &str) -> Arc<dyn Transport> {
        let mut links = self.links.lock();
        if let Some(link) = links.get(address) {
            return Arc::clone(link);
        }
        if links.len() >= CLUSTER_MEMBERS_MAX
            && let Some(oldest) = links.keys().next().cloned()
        {
            links.remove(&oldest);
        }
        let link = (self.connect)(address);
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

    /// Reads the members from the current member (a gateway: its own node), else from each
    /// seed in turn; calls then go to the member that answered.
    async fn refresh(&self) {
        *self.refreshed.lock() = Some(tokio::time::Instant::now());
        let mut asked = vec![self.home.clone().unwrap_or_else(|| self.current())];
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
        if let Some(key) = PollKey::of(&request) {
            return self.poll(key, request).await;
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
}

impl Drop for ClusterTransport {
    /// Cancels the members' polls still open and lets go of the connections (a gateway's
    /// link to its own node holds that node's engine).
    fn drop(&mut self) {
        self.shared.closing.send_replace(true);
        self.shared.links.lock().clear();
    }
}

impl Transport for ClusterTransport {
    fn call(&self, request: Request) -> TransportFuture<'_> {
        Box::pin(Arc::clone(&self.shared).call(request))
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
mod tests;
