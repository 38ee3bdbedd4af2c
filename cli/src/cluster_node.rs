//! `endure server start --node NAME`: the server as one node of a cluster over its
//! PostgreSQL database — its member address, lease timings, and a front door that reaches
//! the other nodes with the SDK's TCP client.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use endure::remote::{
    ApiKey, ClusterOptions, ClusterTransport, MemberConnector, RemoteOptions, TcpTransport,
};
use endure_core::clock::Clock;
use endure_core::cluster::{LeaseConfig, Member, NodeName};
use endure_core::protocol::Transport;
use endure_core::storage::Storage;
use endure_server::engine::{ClusterConfig, ClusterFront, Engine, PeerConnector, Peers};

use crate::error::{CliError, usage};

/// The credential a node presents to its peers when the cluster checks credentials (a
/// key holding `system:admin`).
const PEER_API_KEY_ENV: &str = "ENDURE_PEER_API_KEY";

/// The longest margin a node keeps between stopping and its lease's end.
const MARGIN_MAX: Duration = Duration::from_secs(2);

/// The lease timings for leases of `lease`: renewed and heartbeated every fifth of it,
/// served until a fifth (at most two seconds) before its end; a member silent for a whole
/// lease leaves the placement.
pub(crate) fn leases(lease: Duration) -> Result<LeaseConfig, CliError> {
    let fifth = lease / 5;
    let config = LeaseConfig {
        duration: lease,
        renew_every: fifth,
        margin: fifth.min(MARGIN_MAX),
        heartbeat_every: fifth,
        member_ttl: lease,
    };
    config
        .check()
        .map_err(|error| usage(format!("--lease {lease:?}: {error}")))?;
    if lease < Duration::from_secs(1) {
        return Err(usage("--lease: at least 1s"));
    }
    Ok(config)
}

/// How node `node` joins: its advertised address (`--advertise`, else the listening
/// address, which must then have a fixed port) and leases of `lease`.
pub(crate) fn config(
    node: &str,
    advertise: Option<&str>,
    listening: SocketAddr,
    lease: Duration,
) -> Result<ClusterConfig, CliError> {
    let name = NodeName::new(node).map_err(|error| usage(format!("--node: {error}")))?;
    let address = match advertise {
        Some(address) => address.to_owned(),
        None if listening.port() == 0 => {
            return Err(usage(
                "a cluster node needs a fixed --port (or --advertise), so its peers can reach it",
            ));
        }
        None if listening.ip().is_unspecified() => {
            return Err(usage(
                "listening on every interface: say with --advertise HOST:PORT where peers reach this node",
            ));
        }
        None => listening.to_string(),
    };
    let member =
        Member::new(name, address).map_err(|error| usage(format!("--advertise: {error}")))?;
    let options = RemoteOptions {
        api_key: std::env::var(PEER_API_KEY_ENV).ok().map(ApiKey::fixed),
        ..RemoteOptions::default()
    };
    Ok(ClusterConfig {
        member,
        leases: leases(lease)?,
        peers: Some(Peers::new(Arc::new(TcpPeers { options }))),
    })
}

/// Peers over TCP, with the node's credential when one is set.
struct TcpPeers {
    options: RemoteOptions,
}

impl PeerConnector for TcpPeers {
    fn connect(&self, address: &str) -> Arc<dyn Transport> {
        Arc::new(TcpTransport::new(address, self.options.clone()))
    }
}

/// The front door of `engine`: forwards to the node serving a workflow.
pub(crate) fn front<S: Storage, C: Clock>(engine: &Engine<S, C>) -> Arc<dyn Transport> {
    Arc::new(ClusterFront::new(engine.clone()))
}

/// What the gRPC front end of node `engine` (at `address`) serves: the node's front door
/// for calls, and polls over every member, so Temporal's SDKs — which reach one address —
/// get the tasks of every node's shards (a native cluster client polls every member
/// itself, so the native listener serves `front` alone).
pub(crate) fn grpc_gateway<S: Storage, C: Clock>(
    engine: &Engine<S, C>,
    front: &Arc<dyn Transport>,
    address: String,
) -> Arc<dyn Transport> {
    let Some(peers) = engine.peers().cloned() else {
        return Arc::clone(front);
    };
    let connect: MemberConnector = Arc::new(move |address: &str| peers.link(address));
    Arc::new(ClusterTransport::gateway(
        address,
        Arc::clone(front),
        connect,
        ClusterOptions::default(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_timings_follow_the_lease() {
        let ten = leases(Duration::from_secs(10)).unwrap();
        assert_eq!(ten.renew_every, Duration::from_secs(2));
        assert_eq!(ten.margin, Duration::from_secs(2));
        let three = leases(Duration::from_secs(3)).unwrap();
        assert_eq!(three.margin, Duration::from_millis(600));
        assert!(leases(Duration::from_millis(100)).is_err());
    }

    #[test]
    fn a_node_must_be_reachable_where_it_says() {
        let any: SocketAddr = "0.0.0.0:7233".parse().unwrap();
        let free: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let fixed: SocketAddr = "127.0.0.1:7233".parse().unwrap();
        let lease = Duration::from_secs(10);
        assert!(config("a", None, any, lease).is_err());
        assert!(config("a", None, free, lease).is_err());
        assert_eq!(
            config("a", None, fixed, lease).unwrap().member.address,
            "127.0.0.1:7233"
        );
        assert_eq!(
            config("a", Some("node-a.internal:7233"), any, lease)
                .unwrap()
                .member
                .address,
            "node-a.internal:7233"
        );
        assert!(config("a b", None, fixed, lease).is_err());
    }
}
