//! The in-memory model of the cluster's part of the port ([`ClusterStore`]): member rows
//! and shard leases, expiring by the store's own clock.

use std::sync::Arc;
use std::time::Duration;

use endure_core::clock::Clock;
use endure_core::cluster::{Member, NodeName, ShardLease};
use endure_core::storage::{Acquired, ClusterStore, MemberRecord, RangeId, ShardId, StorageError};
use endure_core::time::Timestamp;

use super::MemoryStorage;
use crate::clock::SystemClock;

/// The clock a model store expires leases by: the system clock unless given another.
#[derive(Clone)]
pub struct StoreClock(Arc<dyn Fn() -> Timestamp + Send + Sync>);

impl StoreClock {
    /// Reads `clock`.
    pub fn new(clock: Arc<impl Clock>) -> Self {
        Self(Arc::new(move || clock.now()))
    }

    fn now(&self) -> Timestamp {
        (self.0)()
    }
}

impl Default for StoreClock {
    fn default() -> Self {
        Self::new(Arc::new(SystemClock))
    }
}

impl std::fmt::Debug for StoreClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreClock")
    }
}

/// A shard's lease: its holder, the range it took the shard at, and its end.
#[derive(Clone, Debug)]
pub(super) struct LeaseRow {
    owner: Option<NodeName>,
    range: RangeId,
    expires: Timestamp,
}

/// A member row.
#[derive(Clone, Debug)]
pub(super) struct MemberRow {
    member: Member,
    heartbeat: Timestamp,
    expires: Timestamp,
}

impl MemoryStorage {
    /// The lease of `shard` as the port reports it: no owner once the range moved on.
    fn lease_view(state: &super::State, shard: ShardId, now: Timestamp) -> Option<ShardLease> {
        let range = *state.shards.get(&shard)?;
        let row = state.leases.get(&shard);
        let current = row.filter(|row| row.range == range && row.owner.is_some());
        Some(ShardLease {
            shard,
            range,
            owner: current.and_then(|row| row.owner.clone()),
            remaining: current
                .map(|row| row.expires.saturating_duration_since(now))
                .unwrap_or(Duration::ZERO),
        })
    }
}

impl ClusterStore for MemoryStorage {
    async fn heartbeat(&self, member: &Member, ttl: Duration) -> Result<(), StorageError> {
        let now = self.clock.now();
        self.state.lock().members.insert(
            member.node.clone(),
            MemberRow {
                member: member.clone(),
                heartbeat: now,
                expires: now.saturating_add(ttl),
            },
        );
        Ok(())
    }

    async fn leave(&self, node: &NodeName) -> Result<(), StorageError> {
        self.state.lock().members.remove(node);
        Ok(())
    }

    async fn members(&self) -> Result<Vec<MemberRecord>, StorageError> {
        let now = self.clock.now();
        Ok(self
            .state
            .lock()
            .members
            .values()
            .filter(|row| row.expires > now)
            .map(|row| MemberRecord {
                member: row.member.clone(),
                heartbeat_age: now.saturating_duration_since(row.heartbeat),
                remaining: row.expires.saturating_duration_since(now),
            })
            .collect())
    }

    async fn shard_leases(&self) -> Result<Vec<ShardLease>, StorageError> {
        let now = self.clock.now();
        let state = self.state.lock();
        Ok(state
            .shards
            .keys()
            .filter_map(|shard| Self::lease_view(&state, *shard, now))
            .collect())
    }

    async fn acquire_lease(
        &self,
        shard: ShardId,
        node: &NodeName,
        duration: Duration,
    ) -> Result<Acquired, StorageError> {
        let now = self.clock.now();
        let mut state = self.state.lock();
        if let Some(lease) = Self::lease_view(&state, shard, now)
            && !lease.takeable_by(node)
        {
            return Ok(Acquired::Held(lease));
        }
        let range = state.shards.entry(shard).or_insert(RangeId(0));
        range.0 += 1;
        let range = *range;
        state.leases.insert(
            shard,
            LeaseRow {
                owner: Some(node.clone()),
                range,
                expires: now.saturating_add(duration),
            },
        );
        Ok(Acquired::Taken(range))
    }

    async fn renew_lease(
        &self,
        shard: ShardId,
        node: &NodeName,
        range: RangeId,
        duration: Duration,
    ) -> Result<bool, StorageError> {
        let now = self.clock.now();
        let mut state = self.state.lock();
        if state.shards.get(&shard) != Some(&range) {
            return Ok(false);
        }
        match state.leases.get_mut(&shard) {
            Some(row) if row.range == range && row.owner.as_ref() == Some(node) => {
                row.expires = now.saturating_add(duration);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn release_lease(
        &self,
        shard: ShardId,
        node: &NodeName,
        range: RangeId,
    ) -> Result<bool, StorageError> {
        let mut state = self.state.lock();
        if state.shards.get(&shard) != Some(&range) {
            return Ok(false);
        }
        match state.leases.get_mut(&shard) {
            Some(row) if row.range == range && row.owner.as_ref() == Some(node) => {
                row.owner = None;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
