//! The cluster, pure: which node should own each shard, and what a node does about the
//! leases it holds and the ones it should take.
//!
//! Several engine nodes share one store. Each shard is owned by at most one node at a
//! time, by a **lease** kept in the store: the shard's row names its owner, its `RangeId`
//! and when the lease expires *by the store's clock*. A node takes a shard by bumping the
//! range (the store's one safety mechanism: every write is fenced by the range it was
//! decided under), renews it in the background, and hands it back on a graceful stop.
//!
//! - `node.rs` — [`NodeName`] and [`Member`]: who is in the cluster and where it listens.
//! - `placement.rs` — rendezvous hashing: the live node each shard belongs on, so a node
//!   joining or leaving moves about 1/N of the shards.
//! - `lease.rs` — [`LeaseConfig`] (duration, renewal period, safety margin), a held
//!   lease's serving window measured on the holder's own clock, the store's view of a
//!   shard's lease, and [`plan_leases`]: the acquire, renew, release and stop actions a
//!   node takes on one tick.
//!
//! Nothing here reads a clock: `now` is the caller's, and a lease's remaining time is the
//! store's answer.

mod lease;
mod node;
mod placement;

pub use lease::{HeldLease, LeaseAction, LeaseConfig, ShardLease, plan_leases};
pub use node::{MEMBER_ADDRESS_BYTES_MAX, Member, NODE_NAME_BYTES_MAX, NodeName, NodeNameError};
pub use placement::{placement, rendezvous_owner};
