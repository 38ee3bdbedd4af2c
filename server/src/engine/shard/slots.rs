//! The engine's handles to its shards' actors, by shard: every shard on a single node; in
//! a cluster, the shards this node holds a lease on, each refusing requests once its
//! lease's serving window has passed (so a node whose renewals stall stops answering for
//! a shard before another node can take it, even before its membership task notices).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use endure_core::storage::ShardId;
use endure_core::time::Timestamp;
use parking_lot::RwLock;
use tokio::sync::mpsc;

use super::ShardMessage;

/// One served shard: its inbox and the end of its serving window (Unix nanoseconds on
/// this node's clock; `u64::MAX` for a single node, which needs no lease).
struct Slot {
    sender: mpsc::Sender<ShardMessage>,
    serving_until: Arc<AtomicU64>,
}

/// Why a message was not taken.
pub(crate) enum NotSent {
    /// The shard's inbox is full.
    Full,
    /// The shard's actor has stopped (the engine is shutting down, or it failed).
    Closed,
    /// This node does not serve the shard (now).
    NotServed,
}

/// The shards' inboxes, by index.
pub(crate) struct ShardSlots {
    slots: Vec<RwLock<Option<Slot>>>,
    /// Set once the engine stops: no shard is installed again.
    closed: AtomicBool,
}

impl ShardSlots {
    /// `count` empty slots.
    pub(crate) fn new(count: u32) -> Self {
        Self {
            slots: (0..count.max(1)).map(|_| RwLock::new(None)).collect(),
            closed: AtomicBool::new(false),
        }
    }

    /// How many shards the store has.
    pub(crate) fn count(&self) -> u32 {
        self.slots.len() as u32
    }

    fn slot(&self, shard: ShardId) -> Option<&RwLock<Option<Slot>>> {
        self.slots.get(shard.0 as usize)
    }

    /// Serves `shard` through `sender` until `serving_until` (see [`Self::extend`]); the
    /// returned handle moves the window.
    pub(crate) fn install(
        &self,
        shard: ShardId,
        sender: mpsc::Sender<ShardMessage>,
        serving_until: Timestamp,
    ) -> Arc<AtomicU64> {
        let window = Arc::new(AtomicU64::new(serving_until.unix_nanos()));
        if let Some(slot) = self.slot(shard)
            && !self.closed.load(Ordering::Acquire)
        {
            *slot.write() = Some(Slot {
                sender,
                serving_until: Arc::clone(&window),
            });
        }
        window
    }

    /// Moves a served shard's window to `until`.
    pub(crate) fn extend(window: &AtomicU64, until: Timestamp) {
        window.store(until.unix_nanos(), Ordering::Release);
    }

    /// Stops serving `shard`: its inbox handle is returned (drop it, and the actor ends
    /// once the others are gone).
    pub(crate) fn remove(&self, shard: ShardId) -> Option<mpsc::Sender<ShardMessage>> {
        self.slot(shard)?.write().take().map(|slot| slot.sender)
    }

    /// Stops serving every shard, for good.
    pub(crate) fn close(&self) -> Vec<mpsc::Sender<ShardMessage>> {
        self.closed.store(true, Ordering::Release);
        (0..self.count())
            .filter_map(|index| self.remove(ShardId(index)))
            .collect()
    }

    /// Whether the engine still runs (its shards were not closed).
    pub(crate) fn open(&self) -> bool {
        !self.closed.load(Ordering::Acquire)
    }

    /// The inbox of `shard`, if served at `now`.
    pub(crate) fn sender(
        &self,
        shard: ShardId,
        now: Timestamp,
    ) -> Option<mpsc::Sender<ShardMessage>> {
        let slot = self.slot(shard)?.read();
        let slot = slot.as_ref()?;
        (now.unix_nanos() < slot.serving_until.load(Ordering::Acquire)).then(|| slot.sender.clone())
    }

    /// Offers `message` to `shard` without waiting.
    pub(crate) fn try_send(
        &self,
        shard: ShardId,
        now: Timestamp,
        message: ShardMessage,
    ) -> Result<(), NotSent> {
        let Some(slot) = self.slot(shard) else {
            return Err(NotSent::NotServed);
        };
        let slot = slot.read();
        let Some(slot) = slot.as_ref() else {
            return Err(NotSent::NotServed);
        };
        if now.unix_nanos() >= slot.serving_until.load(Ordering::Acquire) {
            return Err(NotSent::NotServed);
        }
        slot.sender.try_send(message).map_err(|error| match error {
            mpsc::error::TrySendError::Full(_) => NotSent::Full,
            mpsc::error::TrySendError::Closed(_) => NotSent::Closed,
        })
    }

    /// The shards served now, in order.
    pub(crate) fn served(&self) -> Vec<ShardId> {
        (0..self.count())
            .map(ShardId)
            .filter(|shard| self.slot(*shard).is_some_and(|slot| slot.read().is_some()))
            .collect()
    }

    /// Whether every served shard's actor still runs.
    pub(crate) fn all_running(&self) -> bool {
        self.slots.iter().all(|slot| {
            slot.read()
                .as_ref()
                .is_none_or(|slot| !slot.sender.is_closed())
        })
    }

    /// Each served shard's inbox depth.
    pub(crate) fn depths(&self) -> Vec<(ShardId, usize)> {
        (0..self.count())
            .map(ShardId)
            .filter_map(|shard| {
                let slot = self.slot(shard)?.read();
                let sender = &slot.as_ref()?.sender;
                Some((shard, sender.max_capacity() - sender.capacity()))
            })
            .collect()
    }
}
