//! The engine as one node of a cluster: several engines sharing one store, each serving
//! the shards it holds a lease on (see [`endure_core::cluster`] for placement and the
//! lease rules, and `membership.rs` for the task that applies them).
//!
//! [`Engine::join_cluster`] opens an engine that serves no shard until its membership task
//! takes leases; requests for a shard this node does not serve are refused with
//! [`EngineError::NotServed`] (retryable), and [`Engine::route`] says which node serves
//! it, for a front end that forwards. [`Engine::cluster_view`] is what `endure cluster
//! describe` shows.

mod front;
mod membership;
mod peer_calls;

pub(crate) use peer_calls::PeerRouter;

pub use front::{ClusterFront, PEER_LINKS_MAX, PeerConnector, Peers};

use std::sync::Arc;

use endure_core::clock::Clock;
use endure_core::cluster::{LeaseConfig, Member, NodeName, ShardLease};
use endure_core::protocol::{ClusterDescription, ClusterMember, ShardOwnership};
use endure_core::storage::{ClusterStore, MemberRecord, ShardId, Storage, shard_of};
use endure_core::{Namespace, WorkflowId};
use parking_lot::RwLock;
use tokio::sync::watch;

use super::api::EngineError;
use super::runtime::{Engine, EngineConfig};

/// How a node joins its cluster.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// This node: its name and the address its peers, clients and workers reach it at.
    pub member: Member,
    /// Lease and heartbeat timings.
    pub leases: LeaseConfig,
    /// How the node reaches the others: to forward requests (its front door) and deliver
    /// its outbox to runs they serve. `None`: it reaches none (a test of leases alone).
    pub peers: Option<Peers>,
}

/// The cluster as this node last read it.
#[derive(Clone, Debug, Default)]
pub struct ClusterView {
    /// This node, once joined.
    pub me: Option<Member>,
    /// The live members, by name.
    pub members: Vec<MemberRecord>,
    /// Every shard's lease, by shard.
    pub leases: Vec<ShardLease>,
    /// The shards this node serves now.
    pub served: Vec<ShardId>,
}

/// Where a workflow's shard is served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// Here.
    Local,
    /// By another live member.
    Remote(Member),
    /// Nowhere known right now (its lease is moving): retry shortly.
    Unknown,
}

/// The running membership task of a node.
pub(crate) struct NodeHandle {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    refresher: tokio::task::JoinHandle<()>,
    view: Arc<RwLock<ClusterView>>,
    peers: Option<Peers>,
}

impl NodeHandle {
    /// Hands every shard back and leaves the membership, then returns.
    pub(crate) async fn leave(self) {
        self.refresher.abort();
        let _ = self.refresher.await;
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Keeps a node's copy of the namespace records current with what other nodes write:
/// every `every`, reads them all and takes the newer ones (their deployments' routing
/// into matching, and a scheduler worker for a namespace new here).
async fn refresh_namespaces<S: Storage, C: Clock>(
    inner: std::sync::Weak<super::runtime::Inner<S, C>>,
    storage: Arc<S>,
    clock: Arc<C>,
    every: std::time::Duration,
) {
    loop {
        let next = clock.now().saturating_add(every);
        clock.sleep_until(next).await;
        let records = match storage.list_namespaces().await {
            Ok(records) => records,
            Err(error) => {
                tracing::warn!(%error, "reading namespaces failed; retried");
                continue;
            }
        };
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let engine = Engine { inner };
        for record in engine.inner.namespaces.absorb(records) {
            for (name, deployment) in &record.deployments {
                engine.inner.matching.configure_deployment(
                    &record.name,
                    name,
                    deployment.routing.clone(),
                );
            }
            if record.name.as_str() != endure_core::storage::SYSTEM_NAMESPACE {
                engine.inner.schedulers.serve(&engine, &record.name);
            }
        }
    }
}

impl<S: ClusterStore, C: Clock> Engine<S, C> {
    /// Opens this engine as node `cluster.member` of the cluster on `storage`: it serves
    /// the shards placement gives it, taking each as its lease is free, and hands them
    /// back on [`shutdown`](Engine::shutdown). Returns once the first round of leases is
    /// taken.
    pub async fn join_cluster(
        storage: Arc<S>,
        clock: Arc<C>,
        config: EngineConfig,
        cluster: ClusterConfig,
    ) -> Result<Self, EngineError> {
        cluster.leases.check().map_err(EngineError::BadRequest)?;
        let cluster_peers = cluster.peers.clone();
        let (engine, parts) = Self::assemble(storage, clock, config, false).await?;
        let parts = parts.ok_or_else(|| EngineError::BadRequest("no shard parts".into()))?;
        let view = Arc::new(RwLock::new(ClusterView {
            me: Some(cluster.member.clone()),
            ..ClusterView::default()
        }));
        let mut membership = membership::Membership::new(
            cluster,
            parts,
            Arc::clone(&engine.inner.shards),
            Arc::clone(&view),
            engine.inner.config.shard_inbox_max,
        );
        membership.tick().await;
        let (stop, stopped) = watch::channel(false);
        let every = membership.refresh_every();
        let task = tokio::spawn(membership.run(stopped));
        let refresher = tokio::spawn(refresh_namespaces(
            Arc::downgrade(&engine.inner),
            Arc::clone(&engine.inner.storage),
            Arc::clone(&engine.inner.clock),
            every,
        ));
        if let Some(peers) = &cluster_peers {
            let router = PeerRouter {
                view: Arc::clone(&view),
                peers: peers.clone(),
            };
            let _ = engine.inner.router.set(Arc::new(router));
        }
        let node = NodeHandle {
            stop,
            task,
            refresher,
            view,
            peers: cluster_peers,
        };
        if engine.inner.node.set(node).is_err() {
            return Err(EngineError::BadRequest("the node joined twice".into()));
        }
        Ok(engine)
    }
}

impl<S, C: Clock> Engine<S, C> {
    /// The peers this node reaches, if it is a cluster node that reaches any.
    pub fn peers(&self) -> Option<&Peers> {
        self.inner.node.get()?.peers.as_ref()
    }

    /// The cluster as this node last read it; `None` for a single-node engine.
    pub fn cluster_view(&self) -> Option<ClusterView> {
        let node = self.inner.node.get()?;
        let mut view = node.view.read().clone();
        view.served = self.inner.shards.served();
        Some(view)
    }

    /// The cluster as `endure cluster describe` shows it: this node, the members with
    /// how many shards each holds, and every shard's lease. A single-node engine names no
    /// node and lists none.
    pub fn cluster_description(&self) -> ClusterDescription {
        let shard_count = self.inner.shards.count();
        let Some(view) = self.cluster_view() else {
            return ClusterDescription {
                node: None,
                shard_count,
                members: Vec::new(),
                shards: Vec::new(),
            };
        };
        let held_by = |node: &NodeName| {
            view.leases
                .iter()
                .filter(|lease| lease.owner.as_ref() == Some(node) && !lease.remaining.is_zero())
                .count() as u32
        };
        ClusterDescription {
            node: view.me.clone(),
            shard_count,
            members: view
                .members
                .iter()
                .map(|record| ClusterMember {
                    member: record.member.clone(),
                    heartbeat_age: record.heartbeat_age,
                    shards: held_by(&record.member.node),
                })
                .collect(),
            shards: view
                .leases
                .iter()
                .map(|lease| ShardOwnership {
                    shard: lease.shard.0,
                    owner: lease.owner.clone(),
                    range: lease.range.0,
                    lease_remaining: lease.remaining,
                })
                .collect(),
        }
    }

    /// Where the shard of `namespace`/`workflow_id` is served.
    pub fn route(&self, namespace: &Namespace, workflow_id: &WorkflowId) -> Route {
        let shard = shard_of(namespace, workflow_id, self.inner.shards.count());
        if self
            .inner
            .shards
            .sender(shard, self.inner.clock.now())
            .is_some()
        {
            return Route::Local;
        }
        let Some(node) = self.inner.node.get() else {
            return Route::Unknown;
        };
        match peer_calls::remote_owner(&node.view.read(), shard) {
            Some(member) => Route::Remote(member),
            None => Route::Unknown,
        }
    }
}
