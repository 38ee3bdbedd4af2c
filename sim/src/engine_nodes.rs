//! Several engine nodes as one cluster under the simulator: each node runs the real engine
//! as a cluster member ([`Engine::join_cluster`]) over one shared in-memory store
//! ([`NodeStore`]: the same lease and range rules as PostgreSQL, one conformance suite for
//! both), behind its own front door on madsim's network, with a clock skewed its own way.
//! Clients and workers reach the cluster through [`Client::connect_cluster`], or — as
//! Temporal's SDKs reach a node's gRPC front end — through one node's gateway
//! ([`ClusterTransport::gateway`], on [`GATEWAY_PORT`]), which polls every member for them.
//!
//! Faults: kill and restart a node (its leases run out; on restart it takes its share back
//! by handoff), stop one gracefully (it hands its shards on), pause one past its lease, cut one off from the store, partition two nodes.
//! The store's commit log checks that at most one node wrote each shard at any instant.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::Duration;

use endure::remote::{
    ClusterOptions, ClusterTransport, MemberConnector, RemoteOptions, TcpTransport,
};
use endure::{Client, ClientError, ErrorKind, StartWorkflowOptions, Worker};
use endure_core::Namespace;
use endure_core::cluster::{LeaseConfig, Member, NodeName};
use endure_core::protocol::Transport;
use endure_server::clock::SystemClock;
use endure_server::engine::{
    ClusterConfig, ClusterFront, Engine, EngineConfig, PeerConnector, Peers,
};
use endure_server::storage::{CommitLog, MemoryStorage, NodeStore, StoreClock};
use endure_server::tcp::{TcpServer, TcpServerConfig};
use madsim::rand::Rng;
use madsim::runtime::{Handle, NodeHandle};
use parking_lot::Mutex;
use tokio::sync::watch;

use crate::adapters::SkewedClock;
use crate::cluster::cut_between;
use crate::faults::{FaultKind, FaultLog};

/// The port every engine node listens on.
pub const NODE_PORT: u16 = 7233;

/// The port of each engine node's gateway: what its gRPC front end serves in production
/// (calls to the node, polls over every member), for callers that reach that node alone.
pub const GATEWAY_PORT: u16 = 7234;

/// How the simulated cluster is laid out.
#[derive(Clone, Debug)]
pub struct NodesConfig {
    /// How many engine nodes (named `node-1`, `node-2`, …).
    pub count: u8,
    /// Each node's engine configuration.
    pub engine: EngineConfig,
    /// Lease and heartbeat timings.
    pub leases: LeaseConfig,
    /// Each node start gets a clock off by up to this much, either way.
    pub max_clock_skew: Duration,
    /// Clients', workers' and peers' connections.
    pub remote: RemoteOptions,
}

impl Default for NodesConfig {
    fn default() -> Self {
        Self {
            count: 3,
            engine: EngineConfig {
                shard_count: 8,
                poll_wait: Duration::from_secs(10),
                ..EngineConfig::default()
            },
            leases: LeaseConfig {
                duration: Duration::from_secs(5),
                renew_every: Duration::from_secs(1),
                margin: Duration::from_secs(1),
                heartbeat_every: Duration::from_secs(1),
                member_ttl: Duration::from_secs(5),
            },
            max_clock_skew: Duration::from_secs(2),
            remote: RemoteOptions {
                keepalive_interval: Duration::from_secs(2),
                ..RemoteOptions::default()
            },
        }
    }
}

/// The simulated cluster; create it inside a madsim runtime.
pub struct EngineNodes {
    handle: Handle,
    config: NodesConfig,
    log: Arc<CommitLog>,
    nodes: Mutex<BTreeMap<String, NodeHandle>>,
    /// Each engine node's switch cutting it off from the store.
    cuts: BTreeMap<String, Arc<AtomicBool>>,
    /// Each engine node's stop signal: a bump stops it gracefully.
    stops: BTreeMap<String, Arc<watch::Sender<u64>>>,
    next_ip: AtomicU8,
    counts: Arc<RpcCounts>,
    /// The faults injected so far.
    pub faults: FaultLog,
}

fn engine_ip(index: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 1, index))
}

/// A fault of engine nodes that [`EngineNodes::hold_fault`] injects and then heals.
#[derive(Clone, Copy, Debug)]
pub enum NodeFault<'a> {
    /// The node is killed, then restarted.
    Kill(&'a str),
    /// The node is frozen, then let run.
    Pause(&'a str),
    /// The node is cut off from the store, then joined again.
    StoreCut(&'a str),
    /// The two nodes are cut off from each other, then healed.
    Partition(&'a str, &'a str),
}

/// Whether a client's call failed in a way to send it again: the node was unreachable or
/// its shard moving (`Unavailable`), or the call ran out of time.
pub fn retryable(error: &ClientError) -> bool {
    matches!(
        error,
        ClientError::Remote(error)
            if matches!(error.kind, ErrorKind::Unavailable | ErrorKind::DeadlineExceeded)
    )
}

/// Starts a workflow through `client`, sending the start again (every 200 ms) while it
/// fails in a [`retryable`] way: `options` must carry a request id, so a start that
/// landed is not made twice.
pub async fn start_retrying(
    client: &Client,
    options: StartWorkflowOptions,
    workflow_type: &str,
    input: &str,
) {
    debug_assert!(
        options.request_id.is_some(),
        "a retried start carries its request id"
    );
    loop {
        match client
            .start_workflow(options.clone(), workflow_type, &input)
            .await
        {
            Ok(_) => return,
            Err(error) if retryable(&error) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(error) => panic!("{}: start failed: {error}", options.id),
        }
    }
}

/// Every call the engine nodes' front doors took, by RPC, and how many polls came back
/// with a task: the simulated message counts per workflow.
#[derive(Debug, Default)]
pub struct RpcCounts {
    calls: Mutex<BTreeMap<&'static str, u64>>,
    tasks_polled: std::sync::atomic::AtomicU64,
}

impl RpcCounts {
    /// The calls so far, by RPC name.
    pub fn calls(&self) -> BTreeMap<&'static str, u64> {
        self.calls.lock().clone()
    }

    /// Polls answered with a task (or a query).
    pub fn tasks_polled(&self) -> u64 {
        self.tasks_polled.load(Ordering::Relaxed)
    }
}

/// A node's front door, counting what it serves.
struct Counting {
    front: Arc<dyn Transport>,
    counts: Arc<RpcCounts>,
}

impl Transport for Counting {
    fn call(
        &self,
        request: endure_core::protocol::Request,
    ) -> endure_core::protocol::TransportFuture<'_> {
        *self.counts.calls.lock().entry(request.name()).or_default() += 1;
        Box::pin(async move {
            let response = self.front.call(request).await;
            if matches!(
                response,
                Ok(endure_core::protocol::Response::PollWorkflowTask(Some(_))
                    | endure_core::protocol::Response::PollActivityTask(Some(_)))
            ) {
                self.counts.tasks_polled.fetch_add(1, Ordering::Relaxed);
            }
            response
        })
    }
}

/// Peers over the simulated network, with the production TCP client.
struct SimPeers(RemoteOptions);

impl PeerConnector for SimPeers {
    fn connect(&self, address: &str) -> Arc<dyn Transport> {
        Arc::new(TcpTransport::new(address, self.0.clone()))
    }
}

impl EngineNodes {
    /// Starts the engine nodes over one new store.
    pub fn start(config: NodesConfig) -> Self {
        let handle = Handle::current();
        let store = Arc::new(MemoryStorage::with_clock(StoreClock::new(Arc::new(
            SystemClock,
        ))));
        let log = Arc::new(CommitLog::default());
        let counts = Arc::new(RpcCounts::default());
        let mut nodes = BTreeMap::new();
        let mut cuts = BTreeMap::new();
        let mut stops = BTreeMap::new();
        for index in 1..=config.count {
            let name = format!("node-{index}");
            let cut = Arc::new(AtomicBool::new(false));
            let stop = Arc::new(watch::Sender::new(0u64));
            let node_stop = Arc::clone(&stop);
            let (store, log, node_cut) = (Arc::clone(&store), Arc::clone(&log), Arc::clone(&cut));
            let node_counts = Arc::clone(&counts);
            let (config, node_name) = (config.clone(), name.clone());
            let node = handle
                .create_node()
                .name(name.as_str())
                .ip(engine_ip(index))
                .init(move || {
                    let storage = NodeStore::new(
                        Arc::clone(&store),
                        node_name.clone(),
                        Arc::clone(&node_cut),
                        Arc::clone(&log),
                    );
                    run_node(
                        node_name.clone(),
                        index,
                        storage,
                        config.clone(),
                        Arc::clone(&node_counts),
                        node_stop.subscribe(),
                    )
                })
                .build();
            nodes.insert(name.clone(), node);
            cuts.insert(name.clone(), cut);
            stops.insert(name, stop);
        }
        Self {
            handle,
            config,
            log,
            nodes: Mutex::new(nodes),
            cuts,
            stops,
            next_ip: AtomicU8::new(1),
            counts,
            faults: FaultLog::new(),
        }
    }

    /// Every engine node's address.
    pub fn seeds(&self) -> Vec<String> {
        (1..=self.config.count)
            .map(|index| SocketAddr::new(engine_ip(index), NODE_PORT).to_string())
            .collect()
    }

    /// What the nodes' front doors served.
    pub fn rpc_counts(&self) -> &RpcCounts {
        &self.counts
    }

    /// The writes the store accepted, by node.
    pub fn commit_log(&self) -> &CommitLog {
        &self.log
    }

    fn options(&self) -> ClusterOptions {
        ClusterOptions {
            remote: self.config.remote.clone(),
            ..ClusterOptions::default()
        }
    }

    /// A client of the cluster through every seed (use it on a client or worker node).
    pub fn client(&self) -> Client {
        let seeds = self.seeds();
        let seeds: Vec<&str> = seeds.iter().map(String::as_str).collect();
        Client::connect_cluster_with(&seeds, Namespace::default(), self.options())
    }

    fn next_ip(&self) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(
            10,
            0,
            2,
            self.next_ip.fetch_add(1, Ordering::Relaxed),
        ))
    }

    /// The address of engine node `index`'s (1-based) gateway.
    pub fn gateway(&self, index: u8) -> String {
        SocketAddr::new(engine_ip(index), GATEWAY_PORT).to_string()
    }

    /// A client reaching only engine node `index`'s gateway, as Temporal's SDKs reach one
    /// address.
    pub fn gateway_client(&self, index: u8) -> Client {
        let transport = TcpTransport::new(self.gateway(index), self.config.remote.clone());
        Client::new(Arc::new(transport), Namespace::default())
    }

    /// A worker node running the worker `build` makes from a transport to engine node
    /// `index`'s gateway alone.
    pub fn add_gateway_worker(
        &self,
        name: &str,
        index: u8,
        build: impl Fn(Arc<dyn Transport>) -> Worker + Send + Sync + 'static,
    ) -> NodeHandle {
        let address = self.gateway(index);
        let remote = self.config.remote.clone();
        self.add_worker_node(
            name,
            move || Arc::new(TcpTransport::new(&address, remote.clone())),
            build,
        )
    }

    /// A worker node running the worker `build` makes from the transport `connect` opens
    /// (again at each restart of the node).
    fn add_worker_node(
        &self,
        name: &str,
        connect: impl Fn() -> Arc<dyn Transport> + Send + Sync + 'static,
        build: impl Fn(Arc<dyn Transport>) -> Worker + Send + Sync + 'static,
    ) -> NodeHandle {
        let build = Arc::new(build);
        let connect = Arc::new(connect);
        let node = self
            .handle
            .create_node()
            .name(name)
            .ip(self.next_ip())
            .init(move || {
                let worker = build(connect());
                async move { worker.run(std::future::pending()).await }
            })
            .build();
        self.nodes.lock().insert(name.to_owned(), node.clone());
        node
    }

    /// A node for client code: spawn on it.
    pub fn add_client_node(&self, name: &str) -> NodeHandle {
        let node = self
            .handle
            .create_node()
            .name(name)
            .ip(self.next_ip())
            .build();
        self.nodes.lock().insert(name.to_owned(), node.clone());
        node
    }

    /// A worker node running the worker `build` makes from a cluster client's transport.
    pub fn add_worker(
        &self,
        name: &str,
        build: impl Fn(Arc<dyn Transport>) -> Worker + Send + Sync + 'static,
    ) -> NodeHandle {
        let seeds = self.seeds();
        let options = self.options();
        let connect = move || {
            let seeds: Vec<&str> = seeds.iter().map(String::as_str).collect();
            Client::connect_cluster_with(&seeds, Namespace::default(), options.clone()).transport()
        };
        self.add_worker_node(name, connect, build)
    }

    /// Injects `fault` for `lasting`, then heals it.
    pub async fn hold_fault(&self, fault: NodeFault<'_>, lasting: Duration) {
        match fault {
            NodeFault::Kill(node) => {
                self.kill(node);
                tokio::time::sleep(lasting).await;
                self.restart(node);
            }
            NodeFault::Pause(node) => {
                self.pause(node);
                tokio::time::sleep(lasting).await;
                self.resume(node);
            }
            NodeFault::StoreCut(node) => {
                self.cut_from_store(node);
                tokio::time::sleep(lasting).await;
                self.heal_store(node);
            }
            NodeFault::Partition(a, b) => {
                self.partition(a, b);
                tokio::time::sleep(lasting).await;
                self.heal(a, b);
            }
        }
    }

    fn id(&self, name: &str) -> madsim::task::NodeId {
        self.nodes
            .lock()
            .get(name)
            .unwrap_or_else(|| panic!("no node named {name}"))
            .id()
    }

    /// Kills a node: its tasks are dropped, its leases left to run out.
    pub fn kill(&self, name: &str) {
        self.faults.record(FaultKind::Kill, name);
        self.handle.kill(self.id(name));
    }

    /// Stops a node gracefully, as SIGTERM does: it stops taking calls, hands every shard
    /// on and leaves the membership; [`restart`](Self::restart) starts it again.
    pub fn stop(&self, name: &str) {
        self.faults.record(FaultKind::Stop, name);
        self.stops[name].send_modify(|generation| *generation += 1);
    }

    /// Starts a killed or stopped node again: it joins under the same name.
    pub fn restart(&self, name: &str) {
        self.faults.record(FaultKind::Restart, name);
        self.handle.restart(self.id(name));
    }

    /// Freezes a node (a long GC pause, a stopped VM): its clock and its peers' run on.
    pub fn pause(&self, name: &str) {
        self.faults.record(FaultKind::Pause, name);
        self.handle.pause(self.id(name));
    }

    /// Lets a frozen node run again.
    pub fn resume(&self, name: &str) {
        self.faults.record(FaultKind::Resume, name);
        self.handle.resume(self.id(name));
    }

    /// Cuts both directions between two nodes.
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

    /// Cuts an engine node off from the store (its every call fails) until healed.
    pub fn cut_from_store(&self, name: &str) {
        self.faults
            .record(FaultKind::Partition, format!("{name} | store"));
        self.cuts[name].store(true, Ordering::Release);
    }

    /// Joins an engine node to the store again.
    pub fn heal_store(&self, name: &str) {
        self.faults
            .record(FaultKind::Heal, format!("{name} | store"));
        self.cuts[name].store(false, Ordering::Release);
    }
}

/// One engine node: joins the cluster (retrying while the store is out of reach) and
/// serves its front door until killed.
async fn run_node(
    name: String,
    index: u8,
    storage: NodeStore,
    config: NodesConfig,
    counts: Arc<RpcCounts>,
    mut stop: watch::Receiver<u64>,
) {
    stop.mark_unchanged();
    let limit = i64::try_from(config.max_clock_skew.as_millis()).unwrap_or(i64::MAX);
    let skew = madsim::rand::thread_rng().gen_range(-limit..=limit);
    let clock = Arc::new(SkewedClock::new(Arc::new(SystemClock), skew));
    let storage = Arc::new(storage);
    let address = SocketAddr::new(engine_ip(index), NODE_PORT).to_string();
    let member = Member::new(NodeName::new(name.as_str()).expect("a valid name"), address)
        .expect("a valid member");
    tracing::info!(node = %name, skew_millis = skew, "engine node starting");
    let engine = loop {
        let cluster = ClusterConfig {
            member: member.clone(),
            leases: config.leases,
            peers: Some(Peers::new(Arc::new(SimPeers(config.remote.clone())))),
        };
        let joined = Engine::join_cluster(
            Arc::clone(&storage),
            Arc::clone(&clock),
            config.engine.clone(),
            cluster,
        )
        .await;
        match joined {
            Ok(engine) => break engine,
            Err(error) => {
                tracing::warn!(node = %name, %error, "joining failed; retried");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    let front: Arc<dyn Transport> = Arc::new(Counting {
        front: Arc::new(ClusterFront::new(engine.clone())),
        counts,
    });
    let peers = engine.peers().cloned().expect("a node reaches its peers");
    let connect: MemberConnector = Arc::new(move |address: &str| peers.link(address));
    let gateway: Arc<dyn Transport> = Arc::new(ClusterTransport::gateway(
        member.address.clone(),
        Arc::clone(&front),
        connect,
        ClusterOptions {
            remote: config.remote.clone(),
            ..ClusterOptions::default()
        },
    ));
    let listen = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), NODE_PORT);
    let mut gateway_stop = stop.clone();
    let stopped = async move {
        let _ = stop.changed().await;
    };
    let gateway_stopped = async move {
        let _ = gateway_stop.changed().await;
    };
    let gateway_listen = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), GATEWAY_PORT);
    let gateway_server = TcpServer::bind(gateway_listen, gateway, TcpServerConfig::default())
        .await
        .expect("the gateway's port is free");
    let server = TcpServer::bind(listen, front, TcpServerConfig::default())
        .await
        .expect("the node's port is free");
    tokio::join!(server.serve(stopped), gateway_server.serve(gateway_stopped));
    // As `endure server` on SIGTERM: the engine stops once its last handle is this one
    // (calls of the closed connections end with them).
    tracing::info!(node = %name, "engine node stopping");
    let mut engine = engine;
    loop {
        match engine.shutdown().await {
            Ok(()) => break,
            Err(still_shared) => {
                engine = still_shared;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    tracing::info!(node = %name, "engine node stopped");
}
