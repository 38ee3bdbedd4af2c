//! One run's rows as every durable commit left them, held commits included, read without
//! publishing them (`publication.rs`).
//!
//! A read of several of a run's keys — its history's batches and its row's tail — must see
//! them all as of one commit: a commit that spills the row's tail into a new batch changes
//! both. [`RunView::begin`] takes the held commits' changes to the run's keys and begins a
//! read transaction while it holds the overlay's lock. Every change a held transaction
//! holds is in the overlay from its record's sync until after its publication, and the
//! overlay holds the last change of each key; so the overlay's changes over whichever state
//! that transaction sees (the one before their publication, or the one after it, which
//! already has them) make the state after every synced commit, for each key the same.

use std::collections::BTreeMap;
use std::ops::{Bound, ControlFlow};

use endure_core::storage::StorageError;
use redb::{Database, ReadableDatabase};

use super::failure::redb_error;
use super::publication::Held;
use super::redo::RunTable;
use super::{Bytes, bytes_table};

/// The held commits' changes to one table's keys under a prefix: `Some(value)` set, `None`
/// removed.
type Changes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// A consistent view of the keys under one prefix (a run's) in some of the run tables.
pub(super) struct RunView {
    read: redb::ReadTransaction,
    prefix: Vec<u8>,
    /// Per table (by [`RunTable::index`]), the held commits' changes under the prefix; only
    /// the tables the view was begun with are looked at.
    changes: [Changes; RunTable::COUNT],
    /// Which tables it was begun with, by [`RunTable::index`].
    viewed: [bool; RunTable::COUNT],
}

impl RunView {
    /// The keys under `prefix` in `tables`, as every durable commit left them.
    pub(super) fn begin(
        held: &Held,
        database: &Database,
        prefix: &[u8],
        tables: &[RunTable],
    ) -> Result<Self, StorageError> {
        let mut changes: [Changes; RunTable::COUNT] = Default::default();
        let mut viewed = [false; RunTable::COUNT];
        let overlay = held.overlay.lock();
        for &table in tables {
            viewed[table.index()] = true;
            changes[table.index()] = overlay
                .under(table, prefix)
                .map(|(key, value)| (key.to_vec(), value.map(<[u8]>::to_vec)))
                .collect();
        }
        // Begun under the overlay's lock: no publication clears it meanwhile (module doc).
        let read = database.begin_read().map_err(redb_error)?;
        drop(overlay);
        Ok(Self {
            read,
            prefix: prefix.to_vec(),
            changes,
            viewed,
        })
    }

    fn changes(&self, table: RunTable) -> &Changes {
        debug_assert!(self.viewed[table.index()], "{table:?} is not in this view");
        &self.changes[table.index()]
    }

    fn open(&self, table: RunTable) -> Result<redb::ReadOnlyTable<Bytes, Bytes>, StorageError> {
        self.read.open_table(bytes_table(table)).map_err(redb_error)
    }

    /// The value at `key` (under the prefix) of `table`, made into `T` by `read` (given
    /// `None` if there is none).
    pub(super) fn get<T>(
        &self,
        table: RunTable,
        key: &[u8],
        read: impl FnOnce(Option<&[u8]>) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        debug_assert!(key.starts_with(&self.prefix));
        if let Some(value) = self.changes(table).get(key) {
            return read(value.as_deref());
        }
        let stored = self.open(table)?.get(key).map_err(redb_error)?;
        read(stored.as_ref().map(|value| value.value()))
    }

    /// The greatest key of `table` from the prefix up to `last` (inclusive) that is there.
    pub(super) fn last_up_to(
        &self,
        table: RunTable,
        last: &[u8],
    ) -> Result<Option<Vec<u8>>, StorageError> {
        let changes = self.changes(table);
        let range = (
            Bound::Included(self.prefix.as_slice()),
            Bound::Included(last),
        );
        let changed = changes
            .range::<[u8], _>(range)
            .rev()
            .find_map(|(key, value)| value.as_ref().map(|_| key.clone()));
        let opened = self.open(table)?;
        let mut stored = None;
        for entry in opened
            .range(self.prefix.as_slice()..=last)
            .map_err(redb_error)?
            .rev()
        {
            let (key, _) = entry.map_err(redb_error)?;
            // A key the held commits changed is theirs to say (`changed`, above).
            if !changes.contains_key(key.value()) {
                stored = Some(key.value().to_vec());
                break;
            }
        }
        Ok(changed.max(stored))
    }

    /// Visits the keys and values of `table` under the prefix from `first` on, in key
    /// order, until `visit` breaks.
    pub(super) fn scan(
        &self,
        table: RunTable,
        first: &[u8],
        mut visit: impl FnMut(&[u8], &[u8]) -> Result<ControlFlow<()>, StorageError>,
    ) -> Result<(), StorageError> {
        debug_assert!(first.starts_with(&self.prefix));
        let mut changes = self
            .changes(table)
            .range::<[u8], _>((Bound::Included(first), Bound::Unbounded))
            .filter(|(key, _)| key.starts_with(&self.prefix))
            .peekable();
        let opened = self.open(table)?;
        let mut stored = opened.range(first..).map_err(redb_error)?;
        let mut next_stored = stored.next().transpose().map_err(redb_error)?;
        loop {
            let stored_key = next_stored
                .as_ref()
                .map(|(key, _)| key.value())
                .filter(|key| key.starts_with(&self.prefix));
            let flow = match (stored_key, changes.peek()) {
                (None, None) => return Ok(()),
                (Some(key), Some((changed, _))) if key >= changed.as_slice() => {
                    if key == changed.as_slice() {
                        // The held commits' value replaces the stored one.
                        next_stored = stored.next().transpose().map_err(redb_error)?;
                    }
                    visit_change(changes.next(), &mut visit)?
                }
                (None, Some(_)) => visit_change(changes.next(), &mut visit)?,
                (Some(_), _) => {
                    let flow = match &next_stored {
                        Some((key, value)) => visit(key.value(), value.value())?,
                        None => ControlFlow::Continue(()),
                    };
                    next_stored = stored.next().transpose().map_err(redb_error)?;
                    flow
                }
            };
            if flow.is_break() {
                return Ok(());
            }
        }
    }
}

/// Visits a held change if it sets its key (a removed key is not there).
fn visit_change(
    change: Option<(&Vec<u8>, &Option<Vec<u8>>)>,
    visit: &mut impl FnMut(&[u8], &[u8]) -> Result<ControlFlow<()>, StorageError>,
) -> Result<ControlFlow<()>, StorageError> {
    match change {
        Some((key, Some(value))) => visit(key, value),
        _ => Ok(ControlFlow::Continue(())),
    }
}

#[cfg(test)]
mod tests {
    use redb::backends::InMemoryBackend;

    use super::*;
    use crate::storage::redb_store::redo::{self, Redo};
    use crate::storage::redb_store::{EXECUTIONS, HISTORY};

    /// A database whose published history holds `stored` and whose executions table holds
    /// `b"run"`; and held commits that made `held`'s changes (with the database, which the
    /// view must not outlive).
    fn view_of(stored: &[(&[u8], &[u8])], held: &Redo) -> (RunView, Database) {
        let database = Database::builder()
            .create_with_backend(InMemoryBackend::new())
            .unwrap();
        let transaction = database.begin_write().unwrap();
        {
            let mut history = transaction.open_table(HISTORY).unwrap();
            for (key, value) in stored {
                history.insert(*key, *value).unwrap();
            }
            let mut executions = transaction.open_table(EXECUTIONS).unwrap();
            executions.insert(&b"run"[..], &b"stored row"[..]).unwrap();
            executions
                .insert(&b"runner"[..], &b"another run"[..])
                .unwrap();
        }
        transaction.commit().unwrap();
        let state = Held::new(None);
        state
            .overlay
            .lock()
            .absorb(&redo::changes(held.body()).unwrap());
        let view = RunView::begin(
            &state,
            &database,
            b"run",
            &[RunTable::History, RunTable::Executions],
        )
        .unwrap();
        (view, database)
    }

    fn scanned(view: &RunView, first: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut seen = Vec::new();
        view.scan(RunTable::History, first, |key, value| {
            seen.push((key.to_vec(), value.to_vec()));
            Ok(ControlFlow::Continue(()))
        })
        .unwrap();
        seen
    }

    fn pairs(pairs: &[(&[u8], &[u8])]) -> Vec<(Vec<u8>, Vec<u8>)> {
        pairs
            .iter()
            .map(|(key, value)| (key.to_vec(), value.to_vec()))
            .collect()
    }

    #[test]
    fn held_changes_replace_add_and_remove_keys_over_the_published_ones() {
        let mut held = Redo::default();
        held.put(RunTable::History, b"run/2", b"held 2");
        held.put(RunTable::History, b"run/4", b"held 4");
        held.remove(RunTable::History, b"run/3");
        held.put(RunTable::History, b"run/9", b"held 9");
        // Another run's keys, and keys past the prefix, are not this view's.
        held.put(RunTable::History, b"ru", b"not under the prefix");
        held.put(RunTable::History, b"rup", b"past the prefix");
        held.put(RunTable::Executions, b"run", b"held row");
        let stored: &[(&[u8], &[u8])] = &[
            (b"run/1", b"stored 1"),
            (b"run/2", b"stored 2"),
            (b"run/3", b"stored 3"),
            (b"run/5", b"stored 5"),
            (b"rup", b"stored past the prefix"),
        ];
        let (view, _database) = view_of(stored, &held);
        assert_eq!(
            scanned(&view, b"run"),
            pairs(&[
                (b"run/1", b"stored 1"),
                (b"run/2", b"held 2"),
                (b"run/4", b"held 4"),
                (b"run/5", b"stored 5"),
                (b"run/9", b"held 9"),
            ])
        );
        assert_eq!(
            scanned(&view, b"run/3"),
            pairs(&[
                (b"run/4", b"held 4"),
                (b"run/5", b"stored 5"),
                (b"run/9", b"held 9"),
            ]),
            "a scan starts at its first key, and a removed key is not there"
        );
        let last = |up_to: &[u8]| view.last_up_to(RunTable::History, up_to).unwrap();
        assert_eq!(
            last(b"run/3").as_deref(),
            Some(&b"run/2"[..]),
            "3 is removed"
        );
        assert_eq!(last(b"run/4").as_deref(), Some(&b"run/4"[..]), "4 is held");
        assert_eq!(
            last(b"run/8").as_deref(),
            Some(&b"run/5"[..]),
            "5 is stored"
        );
        assert_eq!(last(b"run/9").as_deref(), Some(&b"run/9"[..]));
        assert_eq!(last(b"run/0"), None, "nothing before the first");
        let row = |key: &[u8]| {
            view.get(RunTable::Executions, key, |value| {
                Ok(value.map(<[u8]>::to_vec))
            })
            .unwrap()
        };
        assert_eq!(row(b"run").as_deref(), Some(&b"held row"[..]));
        assert_eq!(row(b"runner").as_deref(), Some(&b"another run"[..]));
        assert_eq!(row(b"run/0"), None);
    }

    #[test]
    fn a_scan_stops_where_its_visitor_breaks() {
        let mut held = Redo::default();
        held.put(RunTable::History, b"run/2", b"held 2");
        let stored: &[(&[u8], &[u8])] = &[(b"run/1", b"stored 1"), (b"run/3", b"stored 3")];
        let (view, _database) = view_of(stored, &held);
        for wanted in 1..=3 {
            let mut seen = 0;
            view.scan(RunTable::History, b"run", |_, _| {
                seen += 1;
                Ok(if seen == wanted {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                })
            })
            .unwrap();
            assert_eq!(seen, wanted);
        }
    }

    #[test]
    fn with_nothing_held_it_reads_the_published_state() {
        let stored: &[(&[u8], &[u8])] = &[(b"run/1", b"stored 1"), (b"run/3", b"stored 3")];
        let (view, _database) = view_of(stored, &Redo::default());
        assert_eq!(scanned(&view, b"run"), pairs(stored));
        assert_eq!(
            view.last_up_to(RunTable::History, b"run/2")
                .unwrap()
                .as_deref(),
            Some(&b"run/1"[..])
        );
        let row = view
            .get(RunTable::Executions, b"run", |value| {
                Ok(value.map(<[u8]>::to_vec))
            })
            .unwrap();
        assert_eq!(row.as_deref(), Some(&b"stored row"[..]));
    }
}
