//! A node's membership task: on every tick it heartbeats its member row, reads the
//! members and leases, asks [`plan_leases`] what to do, and does it — opening the shards
//! it takes, renewing the ones it keeps, closing the ones it loses or hands on. On leave
//! it hands every shard back (so a rolling restart moves shards without waiting for their
//! leases to run out) and removes its member row.
//!
//! Every store call is bounded by the renewal period: a store that hangs cannot hold the
//! task past a shard's serving window, and the shards' slots refuse requests past their
//! window on their own in any case.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use endure_core::clock::Clock;
use endure_core::cluster::{HeldLease, LeaseAction, LeaseConfig, Member, plan_leases};
use endure_core::storage::{Acquired, ClusterStore, RangeId, ShardId, StorageError};
use endure_core::time::Timestamp;
use parking_lot::RwLock;
use tokio::sync::{mpsc, watch};

use super::{ClusterConfig, ClusterView};
use crate::engine::shard::{Shard, ShardParts, ShardSlots};

/// A shard this node serves.
struct Held {
    lease: HeldLease,
    /// The end of its serving window, shared with its slot.
    window: Arc<AtomicU64>,
    actor: tokio::task::JoinHandle<()>,
}

/// The membership task's state.
pub(super) struct Membership<S, C> {
    member: Member,
    config: LeaseConfig,
    parts: ShardParts<S, C>,
    slots: Arc<ShardSlots>,
    view: Arc<RwLock<ClusterView>>,
    inbox_max: usize,
    held: BTreeMap<ShardId, Held>,
    last_heartbeat: Option<Timestamp>,
}

/// Runs `call`, giving up after `limit` on `clock`.
async fn within<C: Clock, T>(
    clock: &C,
    limit: Duration,
    call: impl Future<Output = Result<T, StorageError>>,
) -> Result<T, StorageError> {
    let deadline = clock.now().saturating_add(limit);
    tokio::select! {
        biased;
        result = call => result,
        () = clock.sleep_until(deadline) => Err(StorageError::Unavailable(format!(
            "no answer from the store within {limit:?}"
        ))),
    }
}

impl<S: ClusterStore, C: Clock> Membership<S, C> {
    pub(super) fn new(
        cluster: ClusterConfig,
        parts: ShardParts<S, C>,
        slots: Arc<ShardSlots>,
        view: Arc<RwLock<ClusterView>>,
        inbox_max: usize,
    ) -> Self {
        Self {
            member: cluster.member,
            config: cluster.leases,
            parts,
            slots,
            view,
            inbox_max: inbox_max.max(1),
            held: BTreeMap::new(),
            last_heartbeat: None,
        }
    }

    /// How often the task looks: often enough that a renewal is never late by more than
    /// half a period.
    fn tick_every(&self) -> Duration {
        (self.config.renew_every.min(self.config.heartbeat_every) / 2).max(Duration::from_millis(1))
    }

    /// How often the node reads the namespace records other nodes may have changed.
    pub(super) fn refresh_every(&self) -> Duration {
        self.config.heartbeat_every
    }

    /// Ticks until told to stop, then leaves.
    pub(super) async fn run(mut self, mut stop: watch::Receiver<bool>) {
        loop {
            let next = self.parts.clock.now().saturating_add(self.tick_every());
            let clock = Arc::clone(&self.parts.clock);
            tokio::select! {
                biased;
                _ = stop.changed() => break,
                () = clock.sleep_until(next) => {}
            }
            self.tick().await;
        }
        self.leave().await;
    }

    /// One round: heartbeat, read, plan, act.
    pub(super) async fn tick(&mut self) {
        let clock = Arc::clone(&self.parts.clock);
        let limit = self.config.renew_every;
        let now = clock.now();
        let heartbeat_due = self
            .last_heartbeat
            .is_none_or(|last| now >= last.saturating_add(self.config.heartbeat_every));
        if heartbeat_due {
            let storage = Arc::clone(&self.parts.storage);
            match within(
                &*clock,
                limit,
                storage.heartbeat(&self.member, self.config.member_ttl),
            )
            .await
            {
                Ok(()) => self.last_heartbeat = Some(now),
                Err(error) => tracing::warn!(%error, node = %self.member.node, "heartbeat failed"),
            }
        }
        let storage = Arc::clone(&self.parts.storage);
        let read = async {
            let members = storage.members().await?;
            let leases = storage.shard_leases().await?;
            Ok((members, leases))
        };
        let (members, leases) = match within(&*clock, limit, read).await {
            Ok(read) => read,
            Err(error) => {
                tracing::warn!(%error, node = %self.member.node, "reading the cluster failed");
                // Without a view, only the serving windows decide.
                let now = clock.now();
                let late: Vec<ShardId> = self
                    .held
                    .iter()
                    .filter(|(_, held)| now >= held.lease.serving_until(&self.config))
                    .map(|(shard, _)| *shard)
                    .collect();
                for shard in late {
                    self.stop(shard, "its lease could not be renewed in time");
                }
                return;
            }
        };
        let names: Vec<_> = members
            .iter()
            .map(|record| record.member.node.clone())
            .collect();
        let by_shard: BTreeMap<_, _> = leases
            .iter()
            .map(|lease| (lease.shard, lease.clone()))
            .collect();
        let held: BTreeMap<_, _> = self
            .held
            .iter()
            .map(|(shard, held)| (*shard, held.lease))
            .collect();
        let actions = plan_leases(
            &self.member.node,
            &names,
            self.slots.count(),
            &by_shard,
            &held,
            clock.now(),
            &self.config,
        );
        let moved = actions.iter().any(|action| {
            matches!(
                action,
                LeaseAction::Acquire { .. } | LeaseAction::Release { .. }
            )
        });
        for action in actions {
            match action {
                LeaseAction::Stop { shard } => {
                    self.stop(shard, "another node took it, or its lease ran short");
                }
                LeaseAction::Release { shard, range } => self.release(shard, range).await,
                LeaseAction::Renew { shard, range } => self.renew(shard, range).await,
                LeaseAction::Acquire { shard } => self.acquire(shard).await,
            }
        }
        // Shards changed hands: the view shows where they went.
        let leases = match moved {
            true => within(&*clock, limit, storage.shard_leases())
                .await
                .unwrap_or(leases),
            false => leases,
        };
        let mut view = self.view.write();
        view.members = members;
        view.leases = leases;
    }

    /// Stops serving `shard` at once; its actor finishes what it took on its own.
    fn stop(&mut self, shard: ShardId, why: &str) {
        if let Some(held) = self.held.remove(&shard) {
            tracing::warn!(shard = shard.0, node = %self.member.node, why, "shard no longer served");
            drop(self.slots.remove(shard));
            self.parts.matching.shard_removed(shard);
            drop(held.actor);
        }
    }

    /// Stops serving `shard`, waits for its actor to settle what it took, and hands the
    /// lease back.
    async fn release(&mut self, shard: ShardId, range: RangeId) {
        let Some(held) = self.held.remove(&shard) else {
            return;
        };
        drop(self.slots.remove(shard));
        self.parts.matching.shard_removed(shard);
        let clock = Arc::clone(&self.parts.clock);
        let settle_until = held.lease.serving_until(&self.config);
        let settled = tokio::select! {
            biased;
            _ = held.actor => true,
            () = clock.sleep_until(settle_until) => false,
        };
        if !settled {
            // Its lease runs out instead: nothing of it is handed back early.
            tracing::warn!(
                shard = shard.0,
                "a shard's actor did not settle in time; its lease will expire"
            );
            return;
        }
        let storage = Arc::clone(&self.parts.storage);
        let released = within(
            &*clock,
            self.config.renew_every,
            storage.release_lease(shard, &self.member.node, range),
        )
        .await;
        match released {
            Ok(_) => tracing::info!(shard = shard.0, node = %self.member.node, "shard handed on"),
            Err(error) => {
                tracing::warn!(shard = shard.0, %error, "handing a shard on failed; its lease will expire")
            }
        }
    }

    async fn renew(&mut self, shard: ShardId, range: RangeId) {
        let clock = Arc::clone(&self.parts.clock);
        let sent = clock.now();
        let storage = Arc::clone(&self.parts.storage);
        let renewed = within(
            &*clock,
            self.config.renew_every,
            storage.renew_lease(shard, &self.member.node, range, self.config.duration),
        )
        .await;
        match renewed {
            Ok(true) => {
                if let Some(held) = self.held.get_mut(&shard) {
                    held.lease.renewed_at = sent;
                    ShardSlots::extend(&held.window, held.lease.serving_until(&self.config));
                }
            }
            Ok(false) => self.stop(shard, "another node took it"),
            Err(error) => {
                tracing::warn!(shard = shard.0, %error, "renewing a lease failed; retried")
            }
        }
    }

    async fn acquire(&mut self, shard: ShardId) {
        let clock = Arc::clone(&self.parts.clock);
        let sent = clock.now();
        let storage = Arc::clone(&self.parts.storage);
        let acquired = within(
            &*clock,
            self.config.renew_every,
            storage.acquire_lease(shard, &self.member.node, self.config.duration),
        )
        .await;
        let range = match acquired {
            Ok(Acquired::Taken(range)) => range,
            Ok(Acquired::Held(_)) => return,
            Err(error) => {
                tracing::warn!(shard = shard.0, %error, "taking a lease failed; retried");
                return;
            }
        };
        let lease = HeldLease {
            range,
            renewed_at: sent,
        };
        let opened = Shard::open_at(shard, self.parts.clone(), range).await;
        let opened = match opened {
            Ok(opened) => opened,
            Err(error) => {
                tracing::warn!(shard = shard.0, %error, "opening a shard failed; handing it back");
                let _ = storage.release_lease(shard, &self.member.node, range).await;
                return;
            }
        };
        let (sender, receiver) = mpsc::channel(self.inbox_max);
        let actor = tokio::spawn(opened.run(receiver));
        self.parts.matching.shard_added(shard);
        let window = self
            .slots
            .install(shard, sender, lease.serving_until(&self.config));
        tracing::info!(shard = shard.0, range = range.0, node = %self.member.node, "shard taken");
        self.held.insert(
            shard,
            Held {
                lease,
                window,
                actor,
            },
        );
    }

    /// Hands every shard back and removes the member row.
    async fn leave(mut self) {
        let shards: Vec<(ShardId, RangeId)> = self
            .held
            .iter()
            .map(|(shard, held)| (*shard, held.lease.range))
            .collect();
        for (shard, range) in shards {
            self.release(shard, range).await;
        }
        let clock = Arc::clone(&self.parts.clock);
        let storage = Arc::clone(&self.parts.storage);
        if let Err(error) = within(
            &*clock,
            self.config.renew_every,
            storage.leave(&self.member.node),
        )
        .await
        {
            tracing::warn!(%error, node = %self.member.node, "leaving the membership failed; the row expires");
        }
    }
}
