//! Upgrades of a store's layout, made when it opens, after the log's replay (whose records,
//! written by an older build, may change the old layout).
//!
//! Builds before the execution row recorded its run's deadline kept an index of runs'
//! deadlines in a table of its own (`deadline_index`: execution key → deadline, 8 bytes
//! big-endian nanoseconds), to find a run's deadline row again. Now the row records it
//! ([`ExecutionRow::encode_under_key`]): the upgrade writes each indexed deadline into
//! its run's row and deletes the table, in one durable commit — all of it or, after a
//! crash, none of it, to be made again at the next open.

use endure_core::storage::{ExecutionRow, StorageError, tail_events};
use endure_core::time::Timestamp;
use redb::{Database, ReadableDatabase, ReadableTable, TableHandle};

use super::super::keys::{history_key, parse_execution_key};
use super::{DEADLINE_INDEX, EXECUTIONS, HISTORY, begin_durable, decoded, encoded, redb_error};

/// Records the deadlines of an older layout's index in their runs' rows and deletes the
/// index; returns how many it moved (0 for a store of today's layout, left untouched).
pub(super) fn record_deadlines_in_rows(database: &Database) -> Result<u64, StorageError> {
    let has_index = database
        .begin_read()
        .map_err(redb_error)?
        .list_tables()
        .map_err(redb_error)?
        .any(|table| table.name() == DEADLINE_INDEX.name());
    if !has_index {
        return Ok(0);
    }
    let transaction = begin_durable(database)?;
    let mut moved = 0;
    {
        let index = transaction.open_table(DEADLINE_INDEX).map_err(redb_error)?;
        let mut executions = transaction.open_table(EXECUTIONS).map_err(redb_error)?;
        for entry in index.iter().map_err(redb_error)? {
            let (key, nanos) = entry.map_err(redb_error)?;
            let what = || format!("execution {:02x?}", key.value());
            let nanos = <[u8; 8]>::try_from(nanos.value()).map_err(|_| StorageError::Corrupt {
                what: format!("deadline of {}", what()),
                reason: "not 8 bytes".into(),
            })?;
            let time = Timestamp::from_unix_nanos(u64::from_be_bytes(nanos));
            let Some(stored) = executions.get(key.value()).map_err(redb_error)? else {
                // The old layout removed a run's index entry with its row; a stray one
                // names nothing to record the deadline in.
                tracing::warn!(run = %what(), "a deadline index entry without its run; dropped");
                continue;
            };
            let row = decoded(
                ExecutionRow::decode_under_key(stored.value(), parse_execution_key(key.value())?),
                what,
            )?;
            // Rows of the older layout keep no history tail; one would be kept all the same.
            let tail = decoded(ExecutionRow::stored_extras(stored.value()), what)?.history_tail;
            let bytes = encoded::<ExecutionRow>(row.encode_under_key(Some(time), tail.as_deref()))?;
            drop(stored);
            executions
                .insert(key.value(), bytes.as_slice())
                .map_err(redb_error)?;
            moved += 1;
        }
    }
    transaction
        .delete_table(DEADLINE_INDEX)
        .map_err(redb_error)?;
    transaction.commit().map_err(redb_error)?;
    if moved > 0 {
        tracing::info!(
            runs = moved,
            "recorded runs' deadlines in their rows (layout upgrade)"
        );
    }
    Ok(moved)
}

/// Test support: rewrites the store on `backend` (closed cleanly) in the layout of the
/// builds before the row recorded its deadline — each recorded deadline moved back out of
/// its row into a `deadline_index` entry, and each row written whole, its history's tail
/// (which those builds did not keep) moved to a batch of its own — so that a test can open
/// it and watch the upgrade, on a simulated disk that loses power, say. Returns how many
/// deadlines it moved.
#[doc(hidden)]
pub fn rewrite_in_older_layout(backend: impl redb::StorageBackend) -> Result<u64, StorageError> {
    let database = Database::builder()
        .create_with_backend(backend)
        .map_err(redb_error)?;
    let transaction = begin_durable(&database)?;
    let mut moved = 0;
    {
        let mut executions = transaction.open_table(EXECUTIONS).map_err(redb_error)?;
        let mut history = transaction.open_table(HISTORY).map_err(redb_error)?;
        let mut index = transaction.open_table(DEADLINE_INDEX).map_err(redb_error)?;
        let mut rows = Vec::new();
        for entry in executions.iter().map_err(redb_error)? {
            let (key, value) = entry.map_err(redb_error)?;
            rows.push((key.value().to_vec(), value.value().to_vec()));
        }
        for (key, value) in rows {
            let what = || format!("execution {key:02x?}");
            let extras = decoded(ExecutionRow::stored_extras(&value), what)?;
            let row = decoded(
                ExecutionRow::decode_under_key(&value, parse_execution_key(&key)?),
                what,
            )?;
            if let Some(tail) = extras.history_tail.as_deref() {
                let events = decoded(tail_events(Some(tail)), what)?;
                if let Some(first) = events.events.first() {
                    history
                        .insert(history_key(&row.key, first.event_id).as_slice(), tail)
                        .map_err(redb_error)?;
                }
            }
            // The older layout's row: whole, its key in it too.
            let old = encoded::<ExecutionRow>(endure_core::codec::encode(&row))?;
            executions
                .insert(key.as_slice(), old.as_slice())
                .map_err(redb_error)?;
            let Some(time) = extras.deadline else {
                continue;
            };
            let nanos = time.unix_nanos().to_be_bytes();
            index
                .insert(key.as_slice(), nanos.as_slice())
                .map_err(redb_error)?;
            moved += 1;
        }
    }
    transaction.commit().map_err(redb_error)?;
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use endure_core::storage::*;
    use endure_core::{EventId, Namespace, RunId, WorkflowExecutionStatus, WorkflowId, codec};

    use super::super::redo::{Change, RunTable};
    use super::super::tables::{OpenTables, Tables};
    use super::super::{DEADLINES, RedbStorage};
    use super::*;
    use crate::storage::keys::{deadline_key, execution_key};

    const SHARD: ShardId = ShardId(0);

    fn at(seconds: u64) -> Timestamp {
        Timestamp::from_unix_seconds(1_700_000_000).saturating_add(Duration::from_secs(seconds))
    }

    fn row(name: &str) -> ExecutionRow {
        ExecutionRow {
            key: ExecutionKey {
                namespace: Namespace::new("default").unwrap(),
                workflow_id: WorkflowId::new(name).unwrap(),
                run_id: RunId::from_u128(1),
            },
            shard: SHARD,
            db_version: 1,
            next_event_id: EventId::new(2).unwrap(),
            status: WorkflowExecutionStatus::Running,
            state: vec![7; 5],
        }
    }

    /// A store in the file at `path` laid out as builds before this one did: `rows` with
    /// their deadline (if any) in the index and a deadline row each, the rows themselves
    /// without it.
    fn old_layout(path: &std::path::Path, rows: &[(ExecutionRow, Option<Timestamp>)]) {
        drop(RedbStorage::open(path).unwrap());
        let database = Database::create(path).unwrap();
        let transaction = database.begin_write().unwrap();
        {
            let mut executions = transaction.open_table(EXECUTIONS).unwrap();
            let mut index = transaction.open_table(DEADLINE_INDEX).unwrap();
            let mut deadlines = transaction.open_table(DEADLINES).unwrap();
            for (row, deadline) in rows {
                let key = execution_key(&row.key);
                executions
                    .insert(key.as_slice(), codec::encode(row).unwrap().as_slice())
                    .unwrap();
                if let Some(time) = deadline {
                    let nanos = time.unix_nanos().to_be_bytes();
                    index.insert(key.as_slice(), nanos.as_slice()).unwrap();
                    let deadline = deadline_key(row.shard, *time, &row.key);
                    deadlines.insert(deadline.as_slice(), ()).unwrap();
                }
            }
        }
        transaction.commit().unwrap();
    }

    fn tables_of(path: &std::path::Path) -> Vec<String> {
        let database = Database::open(path).unwrap();
        let read = database.begin_read().unwrap();
        read.list_tables()
            .unwrap()
            .map(|table| table.name().to_owned())
            .collect()
    }

    fn due(store: &RedbStorage) -> Vec<(String, Timestamp)> {
        let rows = tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(store.due_deadlines(SHARD, at(10_000), 100))
            .unwrap();
        rows.into_iter()
            .map(|row| (row.execution.workflow_id.as_str().to_owned(), row.time))
            .collect()
    }

    #[test]
    fn an_old_store_has_its_deadlines_moved_into_its_rows_and_its_index_deleted() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("old.redb");
        let (timer, idle) = (row("timer"), row("idle"));
        old_layout(
            &path,
            &[(timer.clone(), Some(at(60))), (idle.clone(), None)],
        );
        assert!(tables_of(&path).contains(&"deadline_index".to_owned()));

        let store = RedbStorage::open(&path).unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        // The rows read as they were written, and the deadline is where it was.
        for row in [&timer, &idle] {
            let loaded = runtime.block_on(store.load_execution(&row.key)).unwrap();
            assert_eq!(loaded.as_ref(), Some(row));
        }
        assert_eq!(due(&store), [("timer".to_owned(), at(60))]);

        // A later move finds the old deadline in the row and leaves no row behind.
        let range = runtime.block_on(store.acquire_shard(SHARD)).unwrap();
        let mut moved = timer.clone();
        moved.db_version = 2;
        let write = WorkflowWrite::of_run(
            range,
            RunCondition::DbVersion(1),
            moved,
            Vec::new(),
            DeadlineUpdate::Set(at(90)),
        );
        let results = runtime.block_on(store.commit(vec![write])).unwrap();
        assert_eq!(results, [Ok(())]);
        assert_eq!(due(&store), [("timer".to_owned(), at(90))]);
        drop(store);
        assert!(!tables_of(&path).contains(&"deadline_index".to_owned()));
    }

    #[test]
    fn a_store_of_todays_layout_is_left_as_it_is() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("new.redb");
        drop(RedbStorage::open(&path).unwrap());
        let database = Database::create(&path).unwrap();
        assert_eq!(record_deadlines_in_rows(&database).unwrap(), 0);
        drop(database);
        assert!(!tables_of(&path).contains(&"deadline_index".to_owned()));
    }

    /// An older build's log record changes the index; replayed, it goes through the upgrade
    /// like the rest; an index entry whose run is gone is dropped, not an error.
    #[test]
    fn replayed_index_changes_are_upgraded_and_a_stray_entry_is_dropped() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("replayed.redb");
        let timer = row("timer");
        old_layout(&path, &[(timer.clone(), None)]);
        let database = Database::create(&path).unwrap();
        let transaction = database.begin_write().unwrap();
        let key = execution_key(&timer.key);
        let stray = execution_key(&row("gone").key);
        let nanos = at(30).unix_nanos().to_be_bytes();
        {
            let mut open = OpenTables::new(&transaction);
            let mut tables = Tables::new(&mut open, false);
            tables
                .apply_changes(&[
                    Change::Put {
                        table: RunTable::DeadlineIndex,
                        key: &key,
                        value: &nanos,
                    },
                    Change::Put {
                        table: RunTable::DeadlineIndex,
                        key: &stray,
                        value: &nanos,
                    },
                ])
                .unwrap();
        }
        transaction.commit().unwrap();
        assert_eq!(record_deadlines_in_rows(&database).unwrap(), 1);
        let read = database.begin_read().unwrap();
        let executions = read.open_table(EXECUTIONS).unwrap();
        let stored = executions.get(key.as_slice()).unwrap().unwrap();
        assert_eq!(
            ExecutionRow::stored_deadline(stored.value()),
            Ok(Some(at(30)))
        );
        assert_eq!(
            ExecutionRow::decode_under_key(stored.value(), timer.key.clone()).unwrap(),
            timer
        );
    }
}
