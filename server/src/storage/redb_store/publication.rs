//! Commits are made visible when something reads, not each time.
//!
//! A workflow commit is durable once its record is in the commit log and synced; its redb
//! transaction only makes the changes visible to read transactions. Committing that
//! transaction — even unsynced — costs more than the rest of a commit's redb work: every
//! table it changed has its root written into redb's table of tables, and every page it
//! dirtied is checksummed; and the next commit copies those pages afresh before it changes
//! them. So the writer keeps the transaction of its latest commits open ([`Unpublished`])
//! and goes on writing into it, and commits it only when it must be seen:
//!
//! - before a scan (every scan of the store calls [`publish`] first);
//! - before any other write transaction (namespace and shard writes), which holds the
//!   transaction's lock until it commits, so that no commit holds a new transaction open
//!   meanwhile (redb runs one write transaction at a time: the other would wait for the
//!   next publication);
//! - when the records it holds pass [`UNPUBLISHED_BYTES_MAX`], which bounds the work of
//!   making them again (below);
//! - at a checkpoint, which commits it durably, and at close.
//!
//! A point read (a run's row, a current run, a request) never waits for it: the changes of
//! the held commits are also kept by table and key ([`Overlay`]) once their record is
//! synced, and a point read looks there first, then in the last published state. A commit
//! clears the overlay only after it publishes, under the transaction's lock, so a key not
//! in the overlay has its latest durable value in whatever state a read then begins on. A
//! read of several of a run's keys (its history) merges the two in one
//! [`RunView`](super::run_view::RunView).
//!
//! A sequential one-activity workflow scans nothing between its four commits, so they
//! share one transaction; measured with callgrind on `endure bench latency`: see
//! ARCHITECTURE.md.
//!
//! A group whose checks or changes fail (a stored row that does not decode) is undone by
//! dropping the transaction, which undoes the earlier commits it held too: those are made
//! again from their records (as a replay at open would) and published at once.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use endure_core::storage::StorageError;
use redb::{Database, Durability};

use super::begin_durable;
use super::failure::{io, redb_error};
use super::redo::{self, Change, RunTable};
use super::tables::{HeldTransaction, OpenTables, Tables};
use crate::storage::counting::StorageCounters;

/// The records a held transaction may hold before the commit that passes it publishes it:
/// 1 MiB, an eighth of the log's checkpoint interval.
pub(super) const UNPUBLISHED_BYTES_MAX: usize = 1 << 20;

/// A write transaction holding the changes of commits whose records are durable, not yet
/// visible to read transactions.
pub(super) struct Unpublished {
    /// The transaction, with the tables its commits opened.
    pub(super) transaction: HeldTransaction,
    /// The bodies of the records whose changes it holds, in commit order.
    pub(super) bodies: Vec<Vec<u8>>,
    /// Their bytes in all.
    pub(super) bytes: usize,
}

/// The held transaction, if any, and its changes by key.
pub(super) struct Held {
    /// The transaction: locked by a commit from its group's first change to its record's
    /// sync, and by whatever publishes it or checkpoints.
    pub(super) transaction: parking_lot::Mutex<Option<Unpublished>>,
    /// The changes of the commits it holds whose records are synced (nothing else is taken
    /// while it is held, except that a [`RunView`](super::run_view::RunView) begins its read
    /// transaction under it).
    pub(super) overlay: parking_lot::Mutex<Overlay>,
    /// Where publications are counted, when the store is counted (for benchmarks).
    counters: Option<Arc<StorageCounters>>,
}

impl Held {
    /// Nothing held yet; publications counted into `counters`, if any.
    pub(super) fn new(counters: Option<Arc<StorageCounters>>) -> Self {
        Self {
            transaction: parking_lot::Mutex::new(None),
            overlay: parking_lot::Mutex::new(Overlay::default()),
            counters,
        }
    }

    /// Clears the overlay after the held transaction was committed, not synced, and
    /// counts the publication.
    pub(super) fn published(&self) {
        self.overlay.lock().clear();
        if let Some(counters) = &self.counters {
            counters.publication();
        }
    }
}

/// The changes of the held commits, by table and key: `Some(value)` set, `None` removed.
#[derive(Default)]
pub(super) struct Overlay {
    /// One map per table, indexed by its number in the log.
    tables: [BTreeMap<Vec<u8>, Option<Vec<u8>>>; RunTable::COUNT],
}

impl Overlay {
    /// Takes in the changes of a synced record, in order (a later one replaces an earlier
    /// one of the same key).
    pub(super) fn absorb(&mut self, changes: &[Change<'_>]) {
        for change in changes {
            let (table, key, value) = match *change {
                Change::Put { table, key, value } => (table, key, Some(value.to_vec())),
                Change::Remove { table, key } => (table, key, None),
            };
            self.tables[table.index()].insert(key.to_vec(), value);
        }
    }

    /// What the held commits did to `key` of `table`: `None` if they did not touch it,
    /// `Some(None)` if they removed it.
    pub(super) fn get(&self, table: RunTable, key: &[u8]) -> Option<Option<&[u8]>> {
        self.tables[table.index()]
            .get(key)
            .map(|value| value.as_deref())
    }

    /// What the held commits did to the keys of `table` that start with `prefix`, in key
    /// order.
    pub(super) fn under<'a>(
        &'a self,
        table: RunTable,
        prefix: &'a [u8],
    ) -> impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)> + 'a {
        self.tables[table.index()]
            .range::<[u8], _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(move |(key, _)| key.starts_with(prefix))
            .map(|(key, value)| (key.as_slice(), value.as_deref()))
    }

    /// Forgets every change (they were published).
    pub(super) fn clear(&mut self) {
        for table in &mut self.tables {
            table.clear();
        }
    }
}

/// Makes every durable commit visible: commits the held transaction, if there is one, not
/// synced (its records are), and clears the overlay. The transaction's lock is kept
/// through both, so whoever takes it next finds everything published.
pub(super) fn publish(held: &Held) -> Result<(), StorageError> {
    publish_locked(&mut held.transaction.lock(), held)
}

/// [`publish`], under the transaction's lock already taken (its holder then begins any
/// other write transaction before a commit can hold a new one: redb runs one at a time).
pub(super) fn publish_locked(
    transaction: &mut Option<Unpublished>,
    held: &Held,
) -> Result<(), StorageError> {
    if let Some(unpublished) = transaction.take() {
        unpublished
            .transaction
            .into_owner()
            .commit()
            .map_err(redb_error)?;
        held.published();
    }
    Ok(())
}

/// A write transaction to commit into: the held one, or a new one that is not synced.
pub(super) fn take_or_begin(
    held: &mut Option<Unpublished>,
    database: &Database,
) -> Result<Unpublished, StorageError> {
    if let Some(unpublished) = held.take() {
        return Ok(unpublished);
    }
    let mut transaction = begin_durable(database)?;
    transaction.set_durability(Durability::None).map_err(io)?;
    Ok(Unpublished {
        transaction: HeldTransaction::hold(transaction),
        bodies: Vec::new(),
        bytes: 0,
    })
}

/// Makes the commits of `bodies` (a dropped transaction's records) again in a new
/// transaction and publishes it, then clears `overlay`, which held their changes meanwhile.
/// A failure here leaves durable commits unseen: it is an IO error, which stops the store
/// (the next open replays them from the log).
pub(super) fn redo_and_publish(
    database: &Database,
    bodies: &[Vec<u8>],
    overlay: &parking_lot::Mutex<Overlay>,
) -> Result<(), StorageError> {
    if bodies.is_empty() {
        return Ok(());
    }
    let again = || -> Result<(), StorageError> {
        let mut transaction = begin_durable(database)?;
        transaction.set_durability(Durability::None).map_err(io)?;
        {
            let mut open = OpenTables::new(&transaction);
            let mut tables = Tables::new(&mut open, false);
            for body in bodies {
                tables.apply_changes(&redo::changes(body)?)?;
            }
        }
        transaction.commit().map_err(redb_error)
    };
    again().map_err(|error| {
        StorageError::Io(format!(
            "the changes of {} durable commits could not be made again after a failed group: {error}",
            bodies.len()
        ))
    })?;
    overlay.lock().clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::redb_store::redo::Redo;

    #[test]
    fn the_overlay_keeps_the_last_change_of_each_key_until_cleared() {
        let mut first = Redo::default();
        first.put(RunTable::Executions, b"run-1", b"v1");
        first.put(RunTable::Requests, b"run-1", b"request");
        first.put(RunTable::Executions, b"run-2", b"v1");
        let mut second = Redo::default();
        second.put(RunTable::Executions, b"run-1", b"v2");
        second.remove(RunTable::Executions, b"run-2");
        let mut overlay = Overlay::default();
        for redo in [&first, &second] {
            overlay.absorb(&redo::changes(redo.body()).unwrap());
        }
        assert_eq!(
            overlay.get(RunTable::Executions, b"run-1"),
            Some(Some(&b"v2"[..]))
        );
        assert_eq!(overlay.get(RunTable::Executions, b"run-2"), Some(None));
        assert_eq!(
            overlay.get(RunTable::Requests, b"run-1"),
            Some(Some(&b"request"[..])),
            "each table keeps its own keys"
        );
        assert_eq!(overlay.get(RunTable::Executions, b"run-3"), None);
        assert_eq!(overlay.get(RunTable::CurrentRuns, b"run-1"), None);
        overlay.clear();
        assert_eq!(overlay.get(RunTable::Executions, b"run-1"), None);
    }
}
