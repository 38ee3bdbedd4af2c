//! The cluster's part of the Storage port: member rows and shard leases, for stores that
//! several engine nodes share (PostgreSQL, and the in-memory model for simulation).
//!
//! Every time here is the *store's*: a heartbeat or a lease lives `ttl` or `duration` from
//! the moment the store applies it, and what a read reports is how long each still runs.
//! Nodes never compare their clocks with each other or with the store's (see
//! [`crate::cluster`] for why that is safe).

use std::future::Future;
use std::time::Duration;

use super::{RangeId, ShardId, Storage, StorageError};
use crate::cluster::{Member, NodeName, ShardLease};

/// A live member row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberRecord {
    /// The node and its address.
    pub member: Member,
    /// How long ago its last heartbeat landed.
    pub heartbeat_age: Duration,
    /// How long the row lives without another heartbeat.
    pub remaining: Duration,
}

/// The answer to an acquire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Acquired {
    /// The shard is the caller's, at this (new) range.
    Taken(RangeId),
    /// Another node's lease still runs.
    Held(ShardLease),
}

/// Member rows and shard leases. Each call is one atomic, durable step.
pub trait ClusterStore: Storage {
    /// Writes `member`'s row, alive for `ttl` from now (the store's clock).
    fn heartbeat(
        &self,
        member: &Member,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;

    /// Removes `node`'s row (a graceful leave).
    fn leave(&self, node: &NodeName) -> impl Future<Output = Result<(), StorageError>> + Send;

    /// The live members (rows whose time has not run out), by node name.
    fn members(&self) -> impl Future<Output = Result<Vec<MemberRecord>, StorageError>> + Send;

    /// Every shard's lease as it stands, by shard; shards never taken are absent. A shard
    /// whose range moved past its lease's (taken by a single-node engine) has no owner.
    fn shard_leases(&self) -> impl Future<Output = Result<Vec<ShardLease>, StorageError>> + Send;

    /// Takes `shard` for `node` for `duration`, bumping its range, if it is free, expired
    /// or already `node`'s ([`ShardLease::takeable_by`]); a commit of the old range in
    /// flight finishes first, and every later write of it is refused.
    fn acquire_lease(
        &self,
        shard: ShardId,
        node: &NodeName,
        duration: Duration,
    ) -> impl Future<Output = Result<Acquired, StorageError>> + Send;

    /// Extends `node`'s lease of `shard` at `range` to `duration` from now; `false` when
    /// the shard is no longer `node`'s at `range` (nothing changes then). An expired lease
    /// nobody took is renewed: no other writer can have written in between.
    fn renew_lease(
        &self,
        shard: ShardId,
        node: &NodeName,
        range: RangeId,
        duration: Duration,
    ) -> impl Future<Output = Result<bool, StorageError>> + Send;

    /// Hands `node`'s lease of `shard` at `range` back, so another node may take it at
    /// once; `false` when it was no longer `node`'s.
    fn release_lease(
        &self,
        shard: ShardId,
        node: &NodeName,
        range: RangeId,
    ) -> impl Future<Output = Result<bool, StorageError>> + Send;
}
