//! A shard's deadlines in memory: the next time each of its runs needs the engine (a timer,
//! a timeout, a retry, the end of its retention), mirroring the durable deadline rows.
//!
//! Only a window of them is held: those due by `loaded_until`, which the shard moves ahead
//! by reading the rows due within [`WINDOW`] of now. A deadline set later than
//! `loaded_until` is left to storage (its row is durable before it is armed) and read in
//! when the window reaches it, so memory holds what is due soon, not every sleeping or
//! closed run.
//!
//! **Invariant:** every durable deadline row due at or before `loaded_until` is held here
//! (more may be; never fewer).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use endure_core::storage::{DeadlineRow, ExecutionKey};
use endure_core::time::Timestamp;

/// How far past now the window reaches after a refill.
pub(crate) const WINDOW: Duration = Duration::from_secs(300);

/// Most rows one refill reads; a fuller window is read in again as its deadlines fire.
pub(crate) const LOAD_MAX: usize = 100_000;

/// The shortest wait between two refills, so a window full of deadlines not yet due is not
/// read again at every turn.
const REFILL_INTERVAL_MIN: Duration = Duration::from_secs(1);

/// The deadlines a shard holds, by time and by run.
#[derive(Debug)]
pub(crate) struct Deadlines {
    by_time: BTreeSet<(Timestamp, ExecutionKey)>,
    by_run: BTreeMap<ExecutionKey, Timestamp>,
    /// Every durable deadline up to this time is held.
    loaded_until: Timestamp,
    /// When the window is read again.
    refill_at: Timestamp,
}

impl Default for Deadlines {
    /// Nothing held, nothing loaded: a refill is due at once.
    fn default() -> Self {
        Self {
            by_time: BTreeSet::new(),
            by_run: BTreeMap::new(),
            loaded_until: Timestamp::from_unix_nanos(0),
            refill_at: Timestamp::from_unix_nanos(0),
        }
    }
}

impl Deadlines {
    /// Sets (or with `None` clears) the deadline of `key` after its row was written.
    pub(crate) fn arm(&mut self, key: ExecutionKey, deadline: Option<Timestamp>) {
        if let Some(old) = self.by_run.remove(&key) {
            self.by_time.remove(&(old, key.clone()));
        }
        if let Some(time) = deadline.filter(|time| *time <= self.loaded_until) {
            self.hold(key, time);
        }
    }

    fn hold(&mut self, key: ExecutionKey, time: Timestamp) {
        if let Some(old) = self.by_run.insert(key.clone(), time) {
            self.by_time.remove(&(old, key.clone()));
        }
        self.by_time.insert((time, key));
    }

    /// The deadline of `key`, if held.
    pub(crate) fn of(&self, key: &ExecutionKey) -> Option<Timestamp> {
        self.by_run.get(key).copied()
    }

    /// The earliest deadline held.
    pub(crate) fn first(&self) -> Option<Timestamp> {
        self.by_time.first().map(|(time, _)| *time)
    }

    /// The runs whose deadline is due at `now`, earliest first.
    pub(crate) fn due(&self, now: Timestamp) -> Vec<ExecutionKey> {
        self.by_time
            .iter()
            .take_while(|(time, _)| *time <= now)
            .map(|(_, key)| key.clone())
            .collect()
    }

    /// When the shard must wake next: its first deadline or the next refill.
    pub(crate) fn wake_at(&self) -> Timestamp {
        self.first()
            .map_or(self.refill_at, |first| first.min(self.refill_at))
    }

    /// Whether the window must be read again at `now`.
    pub(crate) fn needs_refill(&self, now: Timestamp) -> bool {
        now >= self.refill_at
    }

    /// Takes in the rows a read of everything due by `until` returned (earliest first, at
    /// most [`LOAD_MAX`]) and moves the window.
    pub(crate) fn refilled(&mut self, rows: Vec<DeadlineRow>, until: Timestamp, now: Timestamp) {
        let full = rows.len() >= LOAD_MAX;
        let loaded_until = match rows.last() {
            // The rows at the last time may be cut: only the times before it are whole.
            Some(last) if full => {
                Timestamp::from_unix_nanos(last.time.unix_nanos().saturating_sub(1))
            }
            _ => until,
        };
        for row in rows {
            // A run whose deadline moved since the read keeps the newer one: the rows are
            // read by the shard itself, between its own writes, so none is newer here.
            self.hold(row.execution, row.time);
        }
        self.loaded_until = loaded_until;
        self.refill_at = loaded_until
            .saturating_sub(WINDOW / 2)
            .max(now.saturating_add(REFILL_INTERVAL_MIN));
        debug_assert!(self.refill_at > now, "a refill always waits a little");
    }

    /// A failed read: try again a moment later, with the window where it was.
    pub(crate) fn refill_failed(&mut self, now: Timestamp) {
        self.refill_at = now.saturating_add(REFILL_INTERVAL_MIN);
    }

    /// Number of deadlines held.
    #[cfg(test)]
    fn len(&self) -> usize {
        debug_assert_eq!(self.by_time.len(), self.by_run.len());
        self.by_run.len()
    }
}

#[cfg(test)]
mod tests {
    use endure_core::{Namespace, RunId, WorkflowId};

    use super::*;

    fn key(index: u128) -> ExecutionKey {
        ExecutionKey {
            namespace: Namespace::default(),
            workflow_id: WorkflowId::new(format!("wf-{index}")).unwrap(),
            run_id: RunId::from_u128(index),
        }
    }

    fn at(seconds: u64) -> Timestamp {
        Timestamp::from_unix_seconds(1_800_000_000 + seconds)
    }

    fn row(index: u128, seconds: u64) -> DeadlineRow {
        DeadlineRow {
            time: at(seconds),
            execution: key(index),
        }
    }

    #[test]
    fn deadlines_past_the_window_are_left_to_storage() {
        let mut deadlines = Deadlines::default();
        deadlines.refilled(vec![row(1, 10)], at(300), at(0));
        assert_eq!(deadlines.first(), Some(at(10)));
        deadlines.arm(key(2), Some(at(200)));
        deadlines.arm(key(3), Some(at(86_400)));
        assert_eq!(deadlines.len(), 2, "a day away is not held");
        assert_eq!(deadlines.of(&key(3)), None);
        // Moving a held deadline out of the window drops it; clearing drops it too.
        deadlines.arm(key(2), Some(at(1_000)));
        deadlines.arm(key(1), None);
        assert_eq!(deadlines.len(), 0);
        assert_eq!(deadlines.wake_at(), at(150), "the refill is due halfway");
        assert!(!deadlines.needs_refill(at(149)));
        assert!(deadlines.needs_refill(at(150)));
    }

    #[test]
    fn due_runs_come_earliest_first() {
        let mut deadlines = Deadlines::default();
        deadlines.refilled(vec![row(1, 5), row(2, 3), row(3, 9)], at(300), at(0));
        assert_eq!(deadlines.due(at(6)), [key(2), key(1)]);
        assert_eq!(deadlines.wake_at(), at(3));
    }

    #[test]
    fn a_full_read_holds_only_whole_times() {
        let mut deadlines = Deadlines::default();
        let rows: Vec<DeadlineRow> = (0..LOAD_MAX as u128)
            .map(|index| row(index, if index < 10 { 1 } else { 2 }))
            .collect();
        deadlines.refilled(rows, at(300), at(0));
        // Rows at 2 s may have been cut: the window ends just before it, so a new
        // deadline at 2 s is left to the next read, which finds it.
        assert_eq!(deadlines.len(), LOAD_MAX);
        deadlines.arm(key(u128::MAX), Some(at(2)));
        assert_eq!(deadlines.of(&key(u128::MAX)), None);
        deadlines.arm(key(u128::MAX), Some(at(1)));
        assert_eq!(deadlines.of(&key(u128::MAX)), Some(at(1)));
        assert_eq!(
            deadlines.wake_at(),
            at(1),
            "the first deadline comes before the next read"
        );
        assert!(
            deadlines.needs_refill(at(1)),
            "read again once a second passed"
        );
    }

    #[test]
    fn a_failed_read_is_retried_soon_and_keeps_the_window() {
        let mut deadlines = Deadlines::default();
        deadlines.refilled(Vec::new(), at(300), at(0));
        deadlines.refill_failed(at(200));
        assert!(deadlines.needs_refill(at(201)));
        deadlines.arm(key(1), Some(at(250)));
        assert_eq!(deadlines.of(&key(1)), Some(at(250)));
    }
}
