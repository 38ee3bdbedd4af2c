//! The cluster builder: an engine node, worker nodes and client nodes on madsim's simulated
//! network, all talking through the production TCP transport; faults on any of them.
//!
//! The engine node runs the real engine on a store that lives outside the node and serves
//! it over TCP: the in-memory store (a killed engine restarts on everything it had
//! acknowledged) or the real redb store on a [`SimDisk`] (a power loss keeps what was
//! synced and a seeded subset of the rest). Worker nodes
//! run a [`Worker`] built by the scenario; a restart builds a fresh one (an empty cache, as
//! after a process crash). Client code runs on client nodes.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, AtomicUsize, Ordering};
use std::time::Duration;

use endure::remote::{ApiKey, RemoteOptions, TcpTransport};
use endure::{Client, ClientError, CodecChain, CodecTransport, Worker, WorkerOptions};
use endure_core::Namespace;
use endure_core::history::HistoryEvent;
use endure_core::protocol::Transport;
use endure_core::storage::Storage;
use endure_core::storage::VisibilityQuery;
use endure_core::{WorkflowExecutionStatus, WorkflowId};
use endure_server::clock::SystemClock;
use endure_server::engine::{Engine, EngineConfig, EngineError, InProcessTransport};
use endure_server::security::{ApiKeyHash, CredentialStore, Security};
use endure_server::storage::{MemoryStorage, RedbStorage, WalConfig};
use endure_server::tcp::{TcpServer, TcpServerConfig};
use madsim::net::NetSim;
use madsim::rand::Rng;
use madsim::runtime::{Handle, NodeHandle};
use madsim::task::NodeId;
use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot};

use crate::adapters::{Delaying, Duplicating, SkewedClock, SlowCommits};
use crate::diagnosis::stuck_report;
use crate::disk::{CrashPoint, SimDisk};
use crate::faults::{FaultKind, FaultLog};

/// The port the engine listens on.
pub const ENGINE_PORT: u16 = 7233;

/// The engine node's name.
pub const ENGINE: &str = "engine";

/// How the cluster's parts are tuned.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// The engine's configuration (poll wait, shards…).
    pub engine: EngineConfig,
    /// The TCP server's limits.
    pub server: TcpServerConfig,
    /// Clients' and workers' connection tuning.
    pub remote: RemoteOptions,
    /// The engine's store.
    pub store: StoreChoice,
    /// Each engine start gets a clock off by up to this much, either way.
    pub max_clock_skew: Duration,
    /// Each commit is acknowledged up to this long after it is durable (slow fsync).
    pub max_commit_delay: Duration,
    /// Probability that a client's or worker's request is sent twice.
    pub duplicate_requests: f64,
    /// Each client or worker request waits up to this long before it is sent.
    pub max_request_delay: Duration,
    /// The options every worker starts from (a scenario may shrink the cache or the
    /// sticky timeout so eviction and fallback paths run).
    pub worker: WorkerOptions,
    /// Payload codecs every client and worker applies (none by default); see
    /// [`Cluster::raw_client`] to read what the engine holds.
    pub codecs: CodecChain,
    /// The credentials the engine's server requires (none: an open server). The store
    /// outlives engine restarts, so a scenario can revoke a key while the cluster runs;
    /// clients present `remote.api_key`, a worker its own ([`Cluster::add_worker_with_key`]).
    pub credentials: Option<Arc<CredentialStore>>,
    /// Every connection's stream takes a random part of each write, or none for a moment
    /// ([`endure_net::short_writes`]), as a real socket with a full buffer does.
    pub short_writes: bool,
}

/// Which store the engine node runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreChoice {
    /// The in-memory store, outliving the node.
    Memory,
    /// redb on a simulated disk seeded with this value.
    Disk {
        /// Chooses which unsynced writes survive a power loss.
        seed: u64,
    },
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            engine: EngineConfig::default(),
            server: TcpServerConfig::default(),
            // Faster failure detection than production, so scenarios stay short.
            remote: RemoteOptions {
                call_timeout: Duration::from_secs(75),
                keepalive_interval: Duration::from_secs(2),
                ..RemoteOptions::default()
            },
            store: StoreChoice::Memory,
            max_clock_skew: Duration::ZERO,
            max_commit_delay: Duration::ZERO,
            duplicate_requests: 0.0,
            max_request_delay: Duration::ZERO,
            worker: WorkerOptions::default(),
            codecs: CodecChain::default(),
            credentials: None,
            short_writes: false,
        }
    }
}

/// A simulated cluster; create it inside a madsim runtime.
pub struct Cluster {
    handle: Handle,
    config: ClusterConfig,
    nodes: Mutex<BTreeMap<String, NodeHandle>>,
    next_ip: AtomicU8,
    disk: Option<SimDisk>,
    /// The engine clock's offset from true time, in milliseconds (drawn at each start,
    /// moved by [`Cluster::jump_engine_clock`]).
    engine_clock_offset: Arc<AtomicI64>,
    /// The most writes one commit carried, over every engine start.
    most_writes_per_commit: Arc<AtomicUsize>,
    /// The faults injected so far.
    pub faults: FaultLog,
    /// What the running engine says of a workflow's queued tasks.
    tasks: TaskReporter,
}

/// Asks the engine node's current engine where a workflow's tasks wait. Each engine start
/// serves the questions from a task on the engine node, so the reporter holds no part of
/// the engine: a killed engine is gone (its store closed) and its questions go unanswered.
#[derive(Clone, Default)]
pub(crate) struct TaskReporter {
    questions: Arc<Mutex<Option<mpsc::UnboundedSender<TaskQuestion>>>>,
}

/// A workflow id and where its answer goes.
type TaskQuestion = (WorkflowId, oneshot::Sender<String>);

impl std::fmt::Debug for TaskReporter {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("TaskReporter")
    }
}

impl TaskReporter {
    /// Serves the questions with `engine` (call on the engine node, at each start).
    fn serve<S: Storage, C: endure_core::clock::Clock>(&self, engine: Engine<S, C>) {
        let (questions, mut asked) = mpsc::unbounded_channel::<TaskQuestion>();
        *self.questions.lock() = Some(questions);
        tokio::spawn(async move {
            while let Some((workflow_id, answer)) = asked.recv().await {
                let queued = engine.queued_tasks(&Namespace::default(), &workflow_id);
                let _ = answer.send(if queued.is_empty() {
                    "none queued in the engine's memory (handed out, not yet polled for, or none)"
                        .to_owned()
                } else {
                    format!("{queued:?}")
                });
            }
        });
    }

    pub(crate) async fn report(&self, workflow_id: &str) -> String {
        let Ok(workflow_id) = WorkflowId::new(workflow_id) else {
            return "not a workflow id".to_owned();
        };
        let Some(questions) = self.questions.lock().clone() else {
            return "no engine has started".to_owned();
        };
        let (answer, answered) = oneshot::channel();
        if questions.send((workflow_id, answer)).is_err() {
            return "the engine is down".to_owned();
        }
        match tokio::time::timeout(Duration::from_secs(5), answered).await {
            Ok(Ok(report)) => report,
            Ok(Err(_)) => "the engine is down".to_owned(),
            Err(_) => "the engine did not answer within 5 s (paused?)".to_owned(),
        }
    }
}

/// Cuts (or, with `cut` false, restores) both directions between two simulated nodes:
/// streams stall and new connections fail.
pub(crate) fn cut_between(a: NodeId, b: NodeId, cut: bool) {
    let net = NetSim::current();
    if cut {
        net.clog_link(a, b);
        net.clog_link(b, a);
    } else {
        net.unclog_link(a, b);
        net.unclog_link(b, a);
    }
}

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

impl Cluster {
    /// Starts the engine node.
    pub fn start(config: ClusterConfig) -> Self {
        let handle = Handle::current();
        let memory = Arc::new(MemoryStorage::new());
        let disk = match config.store {
            StoreChoice::Memory => None,
            StoreChoice::Disk { seed } => Some(SimDisk::new(seed)),
        };
        let (engine_config, server_config) = (config.engine.clone(), config.server.clone());
        let engine_disk = disk.clone();
        let engine_clock_offset = Arc::new(AtomicI64::new(0));
        let most_writes_per_commit = Arc::new(AtomicUsize::new(0));
        let tasks = TaskReporter::default();
        let faults = Faults {
            tasks: tasks.clone(),
            credentials: config.credentials.clone(),
            max_clock_skew: config.max_clock_skew,
            max_commit_delay: config.max_commit_delay,
            clock_offset: Arc::clone(&engine_clock_offset),
            most_writes_per_commit: Arc::clone(&most_writes_per_commit),
        };
        let engine = handle
            .create_node()
            .name(ENGINE)
            .ip(ip(1))
            .init(move || {
                let (memory, disk) = (Arc::clone(&memory), engine_disk.clone());
                let (engine_config, server_config) = (engine_config.clone(), server_config.clone());
                let faults = faults.clone();
                async move {
                    match disk {
                        None => run_engine(memory, faults, engine_config, server_config)
                            .await
                            .expect("the engine recovers its store"),
                        Some(disk) => run_on_disk(disk, faults, engine_config, server_config).await,
                    }
                }
            })
            .build();
        let mut nodes = BTreeMap::new();
        nodes.insert(ENGINE.to_owned(), engine);
        endure_net::short_writes::set(config.short_writes);
        let faults = FaultLog::new();
        if config.short_writes {
            faults.record(FaultKind::ShortWrites, "every connection, all along");
        }
        Self {
            handle,
            config,
            nodes: Mutex::new(nodes),
            next_ip: AtomicU8::new(2),
            disk,
            engine_clock_offset,
            most_writes_per_commit,
            faults,
            tasks,
        }
    }

    /// Writes the connections' sockets have cut short so far ([`ClusterConfig::short_writes`]):
    /// each left a frame partly written, for its connection's flusher to finish.
    pub fn writes_cut_short(&self) -> u64 {
        endure_net::short_writes::cut()
    }

    /// The most writes one storage commit has carried so far (group commit at work: with
    /// one shard, more than one means the shard pipelined writes of several workflows).
    pub fn most_writes_per_commit(&self) -> usize {
        self.most_writes_per_commit.load(Ordering::SeqCst)
    }

    /// Where the engine listens.
    pub fn engine_address(&self) -> String {
        SocketAddr::new(ip(1), ENGINE_PORT).to_string()
    }

    /// A new TCP transport to the engine (use it on a client or worker node), sending some
    /// requests twice if the configuration says so.
    pub fn transport(&self) -> Arc<dyn Transport> {
        transport_to(self.engine_address(), &self.link())
    }

    fn link(&self) -> Link {
        Link {
            remote: self.config.remote.clone(),
            duplicate: self.config.duplicate_requests,
            max_delay: self.config.max_request_delay,
            codecs: self.config.codecs.clone(),
        }
    }

    /// A client of the engine over TCP (use it on a client node), with the cluster's
    /// codecs.
    pub fn client(&self) -> Client {
        Client::new(self.transport(), Namespace::default())
    }

    /// A client without the cluster's codecs: it reads payloads as the engine stores them.
    pub fn raw_client(&self) -> Client {
        let link = Link {
            codecs: CodecChain::default(),
            ..self.link()
        };
        Client::new(
            transport_to(self.engine_address(), &link),
            Namespace::default(),
        )
    }

    fn add_node(&self, name: &str, node: NodeHandle) -> NodeHandle {
        self.nodes.lock().insert(name.to_owned(), node.clone());
        node
    }

    /// A node for client code: spawn on it.
    pub fn add_client_node(&self, name: &str) -> NodeHandle {
        let last = self.next_ip.fetch_add(1, Ordering::Relaxed);
        let node = self.handle.create_node().name(name).ip(ip(last)).build();
        self.add_node(name, node)
    }

    /// A worker node running the worker `build` makes from a transport to the engine; a
    /// restart builds a new one.
    pub fn add_worker(
        &self,
        name: &str,
        build: impl Fn(Arc<dyn Transport>, &WorkerOptions) -> Worker + Send + Sync + 'static,
    ) -> NodeHandle {
        self.add_worker_linked(name, self.link(), build)
    }

    /// [`add_worker`](Self::add_worker) presenting `api_key` instead of the clients' one.
    pub fn add_worker_with_key(
        &self,
        name: &str,
        api_key: ApiKey,
        build: impl Fn(Arc<dyn Transport>, &WorkerOptions) -> Worker + Send + Sync + 'static,
    ) -> NodeHandle {
        let mut link = self.link();
        link.remote.api_key = Some(api_key);
        self.add_worker_linked(name, link, build)
    }

    fn add_worker_linked(
        &self,
        name: &str,
        link: Link,
        build: impl Fn(Arc<dyn Transport>, &WorkerOptions) -> Worker + Send + Sync + 'static,
    ) -> NodeHandle {
        let last = self.next_ip.fetch_add(1, Ordering::Relaxed);
        let address = self.engine_address();
        let options = self.config.worker.clone();
        let build = Arc::new(build);
        let node = self
            .handle
            .create_node()
            .name(name)
            .ip(ip(last))
            .init(move || {
                let transport = transport_to(address.clone(), &link);
                let worker = build(transport, &options);
                async move { worker.run(std::future::pending()).await }
            })
            .build();
        self.add_node(name, node)
    }

    fn id(&self, name: &str) -> NodeId {
        self.nodes
            .lock()
            .get(name)
            .unwrap_or_else(|| panic!("no node named {name}"))
            .id()
    }

    /// Kills a node: its tasks are dropped and its connections reset.
    pub fn kill(&self, name: &str) {
        self.faults.record(FaultKind::Kill, name);
        self.handle.kill(self.id(name));
    }

    /// Starts a killed node again (its init runs anew).
    pub fn restart(&self, name: &str) {
        self.faults.record(FaultKind::Restart, name);
        self.handle.restart(self.id(name));
    }

    /// The engine's simulated disk, with [`StoreChoice::Disk`].
    pub fn disk(&self) -> Option<&SimDisk> {
        self.disk.as_ref()
    }

    /// Arms a power loss on the engine's disk at `point` (inside a coming commit).
    pub fn arm_crash(&self, point: CrashPoint) {
        let disk = self
            .disk
            .as_ref()
            .expect("the cluster runs on a simulated disk");
        self.faults
            .record(FaultKind::CrashPointArmed, format!("{point:?}"));
        disk.crash_at(point);
    }

    /// The engine's next fsync fails with EIO: its store must stop acknowledging anything
    /// (fail-stop) until the process is restarted.
    pub fn fail_next_fsync(&self) {
        let disk = self
            .disk
            .as_ref()
            .expect("the cluster runs on a simulated disk");
        self.faults.record(FaultKind::FsyncError, ENGINE);
        disk.fail_next_sync();
    }

    /// The engine loses power: its disk is fenced first (so nothing the dying process
    /// does reaches it), the node is killed, power returns to the disk, and the engine
    /// restarts on what the disk kept.
    pub fn power_loss(&self) {
        let disk = self
            .disk
            .as_ref()
            .expect("the cluster runs on a simulated disk");
        self.faults.record(FaultKind::PowerLoss, ENGINE);
        disk.crash();
        self.handle.kill(self.id(ENGINE));
        disk.recover();
        self.handle.restart(self.id(ENGINE));
    }

    /// Arms a crash at `point`, waits (up to a second) for a commit to reach it, and cuts
    /// the power: inside a commit, or — if nothing committed meanwhile — at once. Returns
    /// whether it fell inside a commit.
    pub async fn power_loss_inside_commit(&self, point: CrashPoint) -> bool {
        self.arm_crash(point);
        let disk = self
            .disk
            .as_ref()
            .expect("the cluster runs on a simulated disk")
            .clone();
        let mut inside = false;
        for _ in 0..40 {
            if disk.is_crashed() {
                inside = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        self.power_loss();
        inside
    }

    /// Closes every connection of a worker or client node (not the engine: that would
    /// close its listening socket too); its transports reconnect.
    pub fn drop_connections(&self, name: &str) {
        assert_ne!(
            name, ENGINE,
            "dropping the engine's sockets would close its listener"
        );
        self.faults.record(FaultKind::ConnectionsDropped, name);
        NetSim::current().reset_node(self.id(name));
    }

    /// Cuts both directions between two nodes (streams stall, new connections fail).
    pub fn partition(&self, a: &str, b: &str) {
        self.faults
            .record(FaultKind::Partition, format!("{a} | {b}"));
        cut_between(self.id(a), self.id(b), true);
    }

    /// Heals a partition.
    pub fn heal(&self, a: &str, b: &str) {
        self.faults.record(FaultKind::Heal, format!("{a} | {b}"));
        cut_between(self.id(a), self.id(b), false);
    }

    /// Moves the engine's clock by `millis` (back if negative) while it runs: a clock jump
    /// (NTP stepping the clock, a VM resumed). Runs must still never see time go back or a
    /// timer fire early by their own history.
    pub fn jump_engine_clock(&self, millis: i64) {
        self.faults
            .record(FaultKind::ClockJump, format!("{millis} ms"));
        self.engine_clock_offset.fetch_add(millis, Ordering::SeqCst);
    }

    /// Stops messages from `from` to `to`, one way: requests arrive but answers do not, or
    /// the reverse.
    pub fn clog(&self, from: &str, to: &str) {
        self.faults
            .record(FaultKind::Clog, format!("{from} -> {to}"));
        NetSim::current().clog_link(self.id(from), self.id(to));
    }

    /// Lifts a one-way clog.
    pub fn unclog(&self, from: &str, to: &str) {
        self.faults
            .record(FaultKind::Unclog, format!("{from} -> {to}"));
        NetSim::current().unclog_link(self.id(from), self.id(to));
    }

    /// Revokes, on the running server, the API key of `holder` (a node's name, for the
    /// fault log) that hashes to `hash`: its connections' next calls, and their long polls
    /// at once, are refused. Panics if the cluster requires no credentials.
    pub fn revoke_api_key(&self, holder: &str, hash: &ApiKeyHash) {
        self.faults.record(FaultKind::CredentialRevoked, holder);
        self.config
            .credentials
            .as_ref()
            .expect("revoking a key needs ClusterConfig::credentials")
            .revoke_api_key(hash);
    }

    /// Freezes a node: its tasks stop until [`resume`](Self::resume); the rest of the
    /// world (its peers, time) goes on.
    pub fn pause(&self, name: &str) {
        self.faults.record(FaultKind::Pause, name);
        self.handle.pause(self.id(name));
    }

    /// Lets a frozen node run again.
    pub fn resume(&self, name: &str) {
        self.faults.record(FaultKind::Resume, name);
        self.handle.resume(self.id(name));
    }

    /// Runs `future` on a new client node and returns its output.
    pub async fn on_client<T: Send + 'static>(
        &self,
        name: &str,
        future: impl std::future::Future<Output = T> + Send + 'static,
    ) -> T {
        let node = self.add_client_node(name);
        node.spawn(future).await.expect("the client task ran")
    }

    /// The liveness phase: waits (on a client node) for each workflow's result, retrying
    /// while the engine is unreachable, for at most `bound` of simulated time in all. A
    /// workflow still open then fails the run with its history.
    #[allow(
        clippy::disallowed_methods,
        reason = "the bound is on the simulator's clock, not an engine input"
    )]
    pub async fn results<T>(&self, workflow_ids: Vec<String>, bound: Duration) -> Vec<T>
    where
        T: serde::de::DeserializeOwned + Send + 'static,
    {
        let (client, faults, tasks) = (self.client(), self.faults.clone(), self.tasks.clone());
        self.on_client("liveness", async move {
            let deadline = tokio::time::Instant::now() + bound;
            let mut results = Vec::new();
            for id in workflow_ids {
                let handle = client.handle(WorkflowId::new(id.as_str()).expect("a valid id"), None);
                loop {
                    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                    match tokio::time::timeout(left, handle.result::<T>()).await {
                        Ok(Ok(result)) => break results.push(result),
                        Ok(Err(ClientError::Remote(_))) => {
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                        Ok(Err(error)) => panic!("{id}: {error}"),
                        Err(_) => {
                            let faults = faults.entries();
                            let tasks = tasks.report(&id).await;
                            panic!(
                                "{}",
                                stuck_report(&id, bound, &handle, tasks, &faults).await
                            );
                        }
                    }
                }
            }
            results
        })
        .await
    }

    /// Waits (up to `bound` of simulated time in all) until each workflow's latest run has
    /// closed, whatever its outcome, and returns the statuses: the liveness check for
    /// workflows that end canceled, failed or terminated. Panics with the history of the
    /// first still open.
    #[allow(
        clippy::disallowed_methods,
        reason = "the bound is on the simulator's clock, not an engine input"
    )]
    pub async fn closed(
        &self,
        workflow_ids: Vec<String>,
        bound: Duration,
    ) -> Vec<WorkflowExecutionStatus> {
        let (client, faults, tasks) = (self.client(), self.faults.clone(), self.tasks.clone());
        self.on_client("liveness", async move {
            let deadline = tokio::time::Instant::now() + bound;
            let mut statuses = Vec::new();
            for id in workflow_ids {
                let handle = client.handle(WorkflowId::new(id.as_str()).expect("a valid id"), None);
                loop {
                    if let Ok(description) = handle.describe().await
                        && description.status.is_closed()
                    {
                        statuses.push(description.status);
                        break;
                    }
                    if tokio::time::Instant::now() >= deadline {
                        let faults = faults.entries();
                        let tasks = tasks.report(&id).await;
                        panic!(
                            "{}",
                            stuck_report(&id, bound, &handle, tasks, &faults).await
                        );
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            statuses
        })
        .await
    }

    /// A flag that a client node sets once every workflow of `workflow_ids` has closed
    /// (its latest run), to know when to stop injecting faults.
    pub fn watch_closed(&self, workflow_ids: Vec<String>) -> Arc<AtomicBool> {
        let closed = Arc::new(AtomicBool::new(false));
        let (flag, client) = (Arc::clone(&closed), self.client());
        self.add_client_node("watcher").spawn(async move {
            for id in workflow_ids {
                let handle = client.handle(WorkflowId::new(id.as_str()).expect("a valid id"), None);
                while !handle
                    .describe()
                    .await
                    .is_ok_and(|description| description.status.is_closed())
                {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            flag.store(true, Ordering::SeqCst);
        });
        closed
    }

    /// What the running engine says of workflows' queued tasks (for stuck reports).
    pub(crate) fn tasks(&self) -> TaskReporter {
        self.tasks.clone()
    }

    /// Every run's final history, by workflow id (read over TCP from a client node).
    pub async fn histories(&self) -> BTreeMap<String, Vec<HistoryEvent>> {
        let client = self.client();
        let reader = self.add_client_node(&format!(
            "history-reader-{}",
            self.next_ip.load(Ordering::Relaxed)
        ));
        reader
            .spawn(async move {
                let rows = client
                    .list_workflows(VisibilityQuery::default(), 0, 100_000)
                    .await
                    .expect("list the runs");
                let mut histories = BTreeMap::new();
                for row in rows {
                    let id = row.execution.workflow_id.to_string();
                    let history = client
                        .handle(row.execution.workflow_id, Some(row.execution.run_id))
                        .history()
                        .await
                        .expect("read a history");
                    histories.insert(format!("{id}/{}", row.execution.run_id), history);
                }
                histories
            })
            .await
            .expect("the history reader ran")
    }
}

/// How clients and workers reach the engine: connection tuning and request faults.
#[derive(Clone)]
struct Link {
    remote: RemoteOptions,
    duplicate: f64,
    max_delay: Duration,
    codecs: CodecChain,
}

/// A TCP transport to `address`, delaying and doubling requests as `link` says.
fn transport_to(address: String, link: &Link) -> Arc<dyn Transport> {
    let mut transport: Arc<dyn Transport> =
        Arc::new(TcpTransport::new(address, link.remote.clone()));
    if link.duplicate > 0.0 {
        let duplicate = link.duplicate.min(1.0);
        transport = Arc::new(Duplicating::new(transport, move || {
            madsim::rand::thread_rng().gen_bool(duplicate)
        }));
    }
    if !link.max_delay.is_zero() {
        let limit = u64::try_from(link.max_delay.as_millis()).unwrap_or(u64::MAX);
        transport = Arc::new(Delaying::new(transport, move || {
            Duration::from_millis(madsim::rand::thread_rng().gen_range(0..=limit))
        }));
    }
    if !link.codecs.is_empty() {
        // Outermost: a request is encoded once, however often the link repeats it.
        transport = Arc::new(CodecTransport::new(transport, link.codecs.clone()));
    }
    transport
}

/// The faults the engine node runs with, drawn anew at each start.
#[derive(Clone, Debug)]
struct Faults {
    max_clock_skew: Duration,
    max_commit_delay: Duration,
    /// The engine clock's offset, shared with the cluster so it can jump.
    clock_offset: Arc<AtomicI64>,
    /// Raised to the writes of the largest commit.
    most_writes_per_commit: Arc<AtomicUsize>,
    /// Told how to reach each new engine's task queues.
    tasks: TaskReporter,
    /// The credentials the server requires, if any.
    credentials: Option<Arc<CredentialStore>>,
}

/// A worker on `task_queue` identified as `name`, with what `register` registers and the
/// cluster's worker options — the usual argument of [`Cluster::add_worker`].
pub fn worker(
    name: &'static str,
    task_queue: &'static str,
    register: fn(&mut Worker),
) -> impl Fn(Arc<dyn Transport>, &WorkerOptions) -> Worker + Send + Sync + 'static {
    move |transport, options| {
        let mut worker = Worker::new(
            transport,
            Namespace::default(),
            endure_core::TaskQueueName::new(task_queue).expect("a valid task queue name"),
            WorkerOptions {
                identity: name.into(),
                ..options.clone()
            },
        );
        register(&mut worker);
        worker
    }
}

/// The write-ahead log of a store on the simulated disk: small, so that checkpoints (and
/// power losses inside them) come every few hundred commits.
const WAL: WalConfig = WalConfig {
    capacity_bytes: 1 << 20,
    checkpoint_bytes: 256 << 10,
};

/// The engine node's program on redb over the simulated disk. A start that met a corrupt
/// read (the corrupt-read fault) is tried again, as a supervisor restarts a server whose
/// store stopped; any other failure to open what the disk kept is a bug.
async fn run_on_disk(disk: SimDisk, faults: Faults, config: EngineConfig, server: TcpServerConfig) {
    for attempt in 1.. {
        let corrupt_reads = disk.corrupt_reads();
        let started = match RedbStorage::with_backends(disk.backend(), disk.wal_backend(), WAL) {
            Ok(store) => {
                run_engine(
                    Arc::new(store),
                    faults.clone(),
                    config.clone(),
                    server.clone(),
                )
                .await
            }
            Err(error) => Err(EngineError::Storage(error)),
        };
        match started {
            Ok(()) => return,
            Err(error) if disk.corrupt_reads() > corrupt_reads && attempt < 3 => {
                tracing::warn!(%error, "the engine met a corrupt read while starting; starting again");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(error) => panic!("the engine recovers what the simulated disk kept: {error}"),
        }
    }
}

/// The engine node's program: the engine on `storage`, served over TCP.
async fn run_engine<S: Storage>(
    storage: Arc<S>,
    faults: Faults,
    config: EngineConfig,
    server: TcpServerConfig,
) -> Result<(), EngineError> {
    let skew_limit = i64::try_from(faults.max_clock_skew.as_millis()).unwrap_or(i64::MAX);
    let skew = madsim::rand::thread_rng().gen_range(-skew_limit..=skew_limit);
    faults.clock_offset.store(skew, Ordering::SeqCst);
    let clock = Arc::new(SkewedClock::with_offset(
        Arc::new(SystemClock),
        Arc::clone(&faults.clock_offset),
    ));
    let delay_limit = u64::try_from(faults.max_commit_delay.as_millis()).unwrap_or(u64::MAX);
    let storage = Arc::new(SlowCommits::new(
        storage,
        move || Duration::from_millis(madsim::rand::thread_rng().gen_range(0..=delay_limit)),
        Arc::clone(&faults.most_writes_per_commit),
    ));
    tracing::info!(skew_millis = skew, "engine starting");
    let engine = Engine::with_ports(storage, Arc::clone(&clock), config).await?;
    faults.tasks.serve(engine.clone());
    let transport = Arc::new(InProcessTransport::new(engine));
    let address = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), ENGINE_PORT);
    let mut server = TcpServer::bind(address, transport, server)
        .await
        .expect("the engine's port is free");
    if let Some(credentials) = faults.credentials.clone() {
        let security = Security::open()
            .with_authenticator(credentials)
            .with_clock(Arc::clone(&clock));
        server = server.with_security(Arc::new(security));
    }
    server.serve(std::future::pending()).await;
    Ok(())
}
