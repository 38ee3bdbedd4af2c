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
//! (more may be; never fewer), and the window is read again ([`Deadlines::needs_refill`])
//! at least half a window before the earliest row past it: a refill learns that row's time
//! ([`Deadlines::refilled`]'s `next_beyond`) and a deadline armed past the window moves the
//! refill earlier. A shard whose runs all sleep for a month reads its window once, not
//! every few minutes — virtual time in the test environment skips a year at no cost.

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

/// When a refill is due if nothing past the window is known (a deadline armed later moves
/// it).
pub(crate) const NEVER: Timestamp = Timestamp::from_unix_nanos(u64::MAX);

/// The longest a shard sleeps before looking again, whatever its deadlines say: a day, so
/// no clock is asked to sleep for centuries (a skipping clock wakes a year's sleeper 365
/// times per shard, at no cost to speak of).
pub(crate) const SLEEP_MAX: Duration = Duration::from_secs(24 * 3600);

/// When the window must be read again for a row at `time` to be held before it is due.
fn refill_before(time: Timestamp) -> Timestamp {
    time.saturating_sub(WINDOW / 2)
}

/// The deadlines a shard holds, by time and by run.
#[derive(Debug)]
pub(crate) struct Deadlines {
    by_time: BTreeSet<(Timestamp, ExecutionKey)>,
    by_run: BTreeMap<ExecutionKey, Timestamp>,
    /// Every durable deadline up to this time is held.
    loaded_until: Timestamp,
    /// When the window is read again.
    refill_at: Timestamp,
    /// The earliest a deadline armed past the window may ask for the next read: the last
    /// read plus [`REFILL_INTERVAL_MIN`], so arming never makes reads back to back.
    refill_floor: Timestamp,
}

impl Default for Deadlines {
    /// Nothing held, nothing loaded: a refill is due at once.
    fn default() -> Self {
        Self {
            by_time: BTreeSet::new(),
            by_run: BTreeMap::new(),
            loaded_until: Timestamp::from_unix_nanos(0),
            refill_at: Timestamp::from_unix_nanos(0),
            refill_floor: Timestamp::from_unix_nanos(0),
        }
    }
}

impl Deadlines {
    /// Sets (or with `None` clears) the deadline of `key` after its row was written.
    pub(crate) fn arm(&mut self, key: ExecutionKey, deadline: Option<Timestamp>) {
        if let Some(old) = self.by_run.remove(&key) {
            self.by_time.remove(&(old, key.clone()));
        }
        match deadline {
            Some(time) if time <= self.loaded_until => self.hold(key, time),
            // Left to storage: the window must reach it before it is due.
            Some(time) => {
                self.refill_at = self
                    .refill_at
                    .min(refill_before(time).max(self.refill_floor));
            }
            None => {}
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

    /// When the shard must wake next after `now`: its first deadline or the next refill, a
    /// day away at most ([`SLEEP_MAX`]).
    pub(crate) fn wake_at(&self, now: Timestamp) -> Timestamp {
        self.first()
            .map_or(self.refill_at, |first| first.min(self.refill_at))
            .min(now.saturating_add(SLEEP_MAX))
    }

    /// Whether the window must be read again at `now`.
    pub(crate) fn needs_refill(&self, now: Timestamp) -> bool {
        now >= self.refill_at
    }

    /// Takes in the rows a read of everything due by `until` returned (earliest first, at
    /// most [`LOAD_MAX`]) and moves the window; `next_beyond` is the time of the earliest
    /// row past `until`, if any (read only when the rows did not fill the read).
    pub(crate) fn refilled(
        &mut self,
        rows: Vec<DeadlineRow>,
        until: Timestamp,
        now: Timestamp,
        next_beyond: Option<Timestamp>,
    ) {
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
        let needed = if full {
            // More rows wait at the window's edge: read on as it drains.
            loaded_until.saturating_sub(WINDOW / 2)
        } else {
            // Everything up to the edge is held: read again only for the next row past it.
            next_beyond.map_or(NEVER, refill_before)
        };
        self.refill_floor = now.saturating_add(REFILL_INTERVAL_MIN);
        self.refill_at = needed.max(self.refill_floor);
        debug_assert!(self.refill_at > now, "a refill always waits a little");
    }

    /// A failed read: try again a moment later, with the window where it was.
    pub(crate) fn refill_failed(&mut self, now: Timestamp) {
        self.refill_floor = now.saturating_add(REFILL_INTERVAL_MIN);
        self.refill_at = self.refill_floor;
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
        deadlines.refilled(vec![row(1, 10)], at(300), at(0), None);
        assert_eq!(deadlines.first(), Some(at(10)));
        deadlines.arm(key(2), Some(at(200)));
        deadlines.arm(key(3), Some(at(86_400)));
        assert_eq!(deadlines.len(), 2, "a day away is not held");
        assert_eq!(deadlines.of(&key(3)), None);
        // Moving a held deadline out of the window drops it; clearing drops it too.
        deadlines.arm(key(2), Some(at(1_000)));
        deadlines.arm(key(1), None);
        assert_eq!(deadlines.len(), 0);
        assert_eq!(
            deadlines.wake_at(at(0)),
            at(850),
            "the refill is due half a window before the earliest deadline left to storage"
        );
        assert!(!deadlines.needs_refill(at(849)));
        assert!(deadlines.needs_refill(at(850)));
    }

    #[test]
    fn a_window_with_nothing_past_it_is_not_read_again_until_a_deadline_is_armed_past_it() {
        let mut deadlines = Deadlines::default();
        deadlines.refilled(Vec::new(), at(300), at(0), None);
        assert!(!deadlines.needs_refill(at(1_000_000)), "nothing to read");
        assert_eq!(deadlines.wake_at(at(0)), at(0).saturating_add(SLEEP_MAX));
        // A run sleeps for a month: the window is read once, before the month is up.
        let month = 30 * 24 * 3600;
        deadlines.arm(key(1), Some(at(month)));
        assert!(!deadlines.needs_refill(at(month - 151)));
        assert!(deadlines.needs_refill(at(month - 150)));
        // A row known past the window at a read is the next read's time too.
        deadlines.refilled(
            Vec::new(),
            at(month - 150 + 300),
            at(month - 150),
            Some(at(month)),
        );
        assert_eq!(deadlines.of(&key(1)), None, "the read returned it as past");
        // Arming past a window cut short by a full read never asks for a read within the
        // shortest interval of the last one.
        let mut full = Deadlines::default();
        let rows: Vec<DeadlineRow> = (0..LOAD_MAX as u128).map(|index| row(index, 1)).collect();
        full.refilled(rows, at(300), at(0), None);
        full.arm(key(u128::MAX), Some(at(2)));
        assert!(!full.needs_refill(at(0)));
        assert!(full.needs_refill(at(1)));
    }

    #[test]
    fn due_runs_come_earliest_first() {
        let mut deadlines = Deadlines::default();
        deadlines.refilled(vec![row(1, 5), row(2, 3), row(3, 9)], at(300), at(0), None);
        assert_eq!(deadlines.due(at(6)), [key(2), key(1)]);
        assert_eq!(deadlines.wake_at(at(0)), at(3));
    }

    #[test]
    fn a_full_read_holds_only_whole_times() {
        let mut deadlines = Deadlines::default();
        let rows: Vec<DeadlineRow> = (0..LOAD_MAX as u128)
            .map(|index| row(index, if index < 10 { 1 } else { 2 }))
            .collect();
        deadlines.refilled(rows, at(300), at(0), None);
        // Rows at 2 s may have been cut: the window ends just before it, so a new
        // deadline at 2 s is left to the next read, which finds it.
        assert_eq!(deadlines.len(), LOAD_MAX);
        deadlines.arm(key(u128::MAX), Some(at(2)));
        assert_eq!(deadlines.of(&key(u128::MAX)), None);
        deadlines.arm(key(u128::MAX), Some(at(1)));
        assert_eq!(deadlines.of(&key(u128::MAX)), Some(at(1)));
        assert_eq!(
            deadlines.wake_at(at(0)),
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
        deadlines.refilled(Vec::new(), at(300), at(0), None);
        deadlines.refill_failed(at(200));
        assert!(deadlines.needs_refill(at(201)));
        deadlines.arm(key(1), Some(at(250)));
        assert_eq!(deadlines.of(&key(1)), Some(at(250)));
    }
}
