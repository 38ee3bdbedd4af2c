//! The shards' ranges as the store holds them, kept in memory: every workflow commit
//! checks its shard's range ([`StoredState::range`](endure_core::storage::StoredState)),
//! and reading it from the `shards` table opened that table in every commit (about 5,000
//! instructions a commit, callgrind on `endure bench latency`). A redb file has one
//! process writing it, and only [`RedbStorage::acquire_shard`](super::RedbStorage) changes
//! a range, so the table is read once per shard and the copy follows each acquisition.

use std::collections::BTreeMap;

use endure_core::storage::{RangeId, ShardId};
use parking_lot::Mutex;

/// Each shard's range, as far as it was read or set.
#[derive(Debug, Default)]
pub(super) struct ShardRanges(Mutex<BTreeMap<u32, u64>>);

impl ShardRanges {
    /// The range of `shard` if it is known.
    pub(super) fn get(&self, shard: ShardId) -> Option<RangeId> {
        self.0.lock().get(&shard.0).copied().map(RangeId)
    }

    /// Notes the range of `shard` as read from, or written to, the table.
    pub(super) fn set(&self, shard: ShardId, range: RangeId) {
        self.0.lock().insert(shard.0, range.0);
    }

    /// Forgets the range of `shard`: the next check reads the table.
    pub(super) fn forget(&self, shard: ShardId) {
        self.0.lock().remove(&shard.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_is_known_once_set_and_until_forgotten() {
        let ranges = ShardRanges::default();
        assert_eq!(ranges.get(ShardId(3)), None);
        ranges.set(ShardId(3), RangeId(7));
        assert_eq!(ranges.get(ShardId(3)), Some(RangeId(7)));
        assert_eq!(ranges.get(ShardId(4)), None);
        ranges.set(ShardId(3), RangeId(8));
        assert_eq!(ranges.get(ShardId(3)), Some(RangeId(8)));
        ranges.forget(ShardId(3));
        assert_eq!(ranges.get(ShardId(3)), None);
    }
}
