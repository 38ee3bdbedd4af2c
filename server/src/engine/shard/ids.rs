//! Where a shard's new ids come from: run ids and backlog task ids, unique across shards and
//! across the shard's restarts, drawn without IO (the clock's `now` is an argument).

use endure_core::RunId;
use endure_core::storage::{RangeId, ShardId};
use endure_core::time::Timestamp;

/// A shard's id counter under its lease.
#[derive(Debug)]
pub(crate) struct IdSource {
    shard: ShardId,
    range: RangeId,
    sequence: u64,
}

impl IdSource {
    /// The ids of `shard` under lease `range` (it grows at each open, so ids drawn after a
    /// restart differ from those before).
    pub(crate) fn new(shard: ShardId, range: RangeId) -> Self {
        Self {
            shard,
            range,
            sequence: 0,
        }
    }

    /// A run id no other run has: `now`, the shard's lease, the shard and a counter (two
    /// shards drawing at the same instant differ by their shard bits).
    pub(crate) fn next_run_id(&mut self, now: Timestamp) -> RunId {
        self.sequence += 1;
        let now = u128::from(now.unix_nanos());
        RunId::from_u128(
            (now << 64)
                | (u128::from(self.range.0 & 0xffff) << 48)
                | (u128::from(self.shard.0 & 0xffff) << 32)
                | u128::from(self.sequence & 0xffff_ffff),
        )
    }

    /// A backlog task id, unique across restarts (the lease grows at each open).
    pub(crate) fn next_task_id(&mut self) -> u64 {
        self.sequence += 1;
        (self.range.0 << 40) | (u64::from(self.shard.0) << 32) | (self.sequence & 0xffff_ffff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_differ_across_draws_shards_and_leases() {
        let now = Timestamp::from_unix_seconds(1_795_860_000);
        let mut a = IdSource::new(ShardId(1), RangeId(3));
        let mut b = IdSource::new(ShardId(2), RangeId(3));
        let mut after_restart = IdSource::new(ShardId(1), RangeId(4));
        let runs = [
            a.next_run_id(now),
            a.next_run_id(now),
            b.next_run_id(now),
            after_restart.next_run_id(now),
        ];
        for (i, x) in runs.iter().enumerate() {
            for y in &runs[i + 1..] {
                assert_ne!(x, y);
            }
        }
        let tasks = [
            a.next_task_id(),
            b.next_task_id(),
            after_restart.next_task_id(),
        ];
        assert_ne!(tasks[0], tasks[1]);
        assert_ne!(tasks[0], tasks[2]);
    }
}
