//! A cluster node's front door: the Transport its TCP server serves. A request bound to a
//! workflow ([`Request::routed_workflow`]) whose shard another node serves is forwarded
//! there, wrapped as [`ForwardedRequest`] so it is never forwarded again; every other
//! request — and one whose shard is moving — is served here (a shard this node does not
//! serve answers `Unavailable`, and the caller retries).
//!
//! Peers are reached through the [`Peers`] the node joined with (a [`PeerConnector`]: the
//! TCP client lives in the SDK crate, so the server binary hands one in).

use std::collections::BTreeMap;
use std::sync::Arc;

use endure_core::clock::Clock;
use endure_core::protocol::{
    ErrorKind, ForwardedRequest, RemoteError, Request, Response, Transport, TransportFuture,
};
use endure_core::storage::Storage;
use parking_lot::Mutex;

use super::Route;
use crate::engine::{Engine, InProcessTransport};

/// Opens a connection to the node listening at an address.
pub trait PeerConnector: Send + Sync + 'static {
    /// A transport to the node at `address` (`host:port`); it connects on first use.
    fn connect(&self, address: &str) -> Arc<dyn Transport>;
}

/// Most peer connections kept open; past it the first address's link is dropped
/// (members that left leave theirs behind).
pub const PEER_LINKS_MAX: usize = 64;

/// A node's connections to its peers, opened on first use and shared by its front door
/// and its outbox.
#[derive(Clone)]
pub struct Peers {
    connector: Arc<dyn PeerConnector>,
    links: Arc<Mutex<BTreeMap<String, Arc<dyn Transport>>>>,
}

impl Peers {
    /// Peers reached through `connector`.
    pub fn new(connector: Arc<dyn PeerConnector>) -> Self {
        Self {
            connector,
            links: Arc::default(),
        }
    }

    /// The connection to the node at `address`, opened on first use.
    pub fn link(&self, address: &str) -> Arc<dyn Transport> {
        let mut links = self.links.lock();
        if let Some(link) = links.get(address) {
            return Arc::clone(link);
        }
        if links.len() >= PEER_LINKS_MAX
            && let Some(first) = links.keys().next().cloned()
        {
            links.remove(&first);
        }
        let link = self.connector.connect(address);
        links.insert(address.to_owned(), Arc::clone(&link));
        link
    }
}

impl std::fmt::Debug for Peers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peers")
            .field("links", &self.links.lock().len())
            .finish_non_exhaustive()
    }
}

/// The front door of a cluster node.
pub struct ClusterFront<S, C> {
    engine: Engine<S, C>,
    local: InProcessTransport<S, C>,
}

impl<S, C> ClusterFront<S, C> {
    /// The front door of node `engine`: it forwards through the peers the node joined
    /// with (none: it serves everything here).
    pub fn new(engine: Engine<S, C>) -> Self {
        Self {
            local: InProcessTransport::new(engine.clone()),
            engine,
        }
    }
}

impl<S: Storage, C: Clock> Transport for ClusterFront<S, C> {
    fn call(&self, request: Request) -> TransportFuture<'_> {
        let route = match request.routed_workflow() {
            Some((namespace, workflow_id)) => self.engine.route(namespace, &workflow_id),
            None => Route::Local,
        };
        let (Route::Remote(member), Some(peers)) = (route, self.engine.peers()) else {
            return self.local.call(request);
        };
        let link = peers.link(&member.address);
        Box::pin(async move {
            let forwarded = Request::Forwarded(ForwardedRequest {
                request: Box::new(request),
            });
            match link.call(forwarded).await? {
                Response::Forwarded(response) => Ok(*response),
                other => Err(RemoteError {
                    kind: ErrorKind::Internal,
                    message: format!(
                        "node {} answered a forwarded request with {other:?}",
                        member.node
                    ),
                    run_id: None,
                }),
            }
        })
    }
}
