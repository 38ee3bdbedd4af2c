//! The run tables of one write transaction: a workflow commit's checks read them, its
//! changes go through [`Tables::put`] and [`Tables::remove`], which note each change in the
//! commit's [`Redo`] (the body of its commit-log record) when one is kept, and a replay
//! applies a record's changes back through the same two calls.
//!
//! The tables themselves ([`OpenTables`]) are opened once per transaction, on first use,
//! and stay open as long as it does: a held transaction keeps them across its commits
//! ([`HeldTransaction`]), and each commit works through a [`Tables`] borrowing them.

use std::borrow::Cow;

use endure_core::history::{History, HistoryEvent};
use endure_core::storage::*;
use endure_core::time::Timestamp;
use endure_core::{Namespace, RequestId, WorkflowId};
use redb::ReadableTable;

use super::redo::{Change, Redo, RunTable};
use super::shard_ranges::ShardRanges;
use super::{
    Bytes, CURRENT_RUNS, DEADLINE_INDEX, DEADLINES, DISPATCH, EXECUTIONS, HISTORY, REQUESTS,
    SHARDS, VISIBILITY, decoded, encode, encoded, record_at, redb_error, request_at, scan_prefix,
};
use crate::storage::keys::*;

/// A table of the write transaction, opened the first time it is used: opening one is a
/// lookup in redb's table of tables, and committing a transaction costs another for every
/// table it opened, changed or not — a fifth of a sequential commit's instructions when
/// every commit opened all eight (measured with callgrind on `endure bench latency`).
struct LazyTable<'txn, K: redb::Key + 'static, V: redb::Value + 'static> {
    definition: redb::TableDefinition<'static, K, V>,
    table: std::cell::OnceCell<redb::Table<'txn, K, V>>,
}

impl<'txn, K: redb::Key + 'static, V: redb::Value + 'static> LazyTable<'txn, K, V> {
    fn new(definition: redb::TableDefinition<'static, K, V>) -> Self {
        Self {
            definition,
            table: std::cell::OnceCell::new(),
        }
    }

    /// The table, opened in `transaction` if it was not yet.
    fn get(
        &self,
        transaction: &'txn redb::WriteTransaction,
    ) -> Result<&redb::Table<'txn, K, V>, StorageError> {
        if let Some(table) = self.table.get() {
            return Ok(table);
        }
        let table = transaction
            .open_table(self.definition)
            .map_err(redb_error)?;
        Ok(self.table.get_or_init(|| table))
    }

    /// The table to change, opened in `transaction` if it was not yet.
    fn get_mut(
        &mut self,
        transaction: &'txn redb::WriteTransaction,
    ) -> Result<&mut redb::Table<'txn, K, V>, StorageError> {
        self.get(transaction)?;
        Ok(self.table.get_mut().expect("opened just above"))
    }
}

/// The tables of one write transaction, each opened when first used and kept open until
/// dropped (which stages each open table's root in the transaction: drop them before it
/// commits).
pub(super) struct OpenTables<'txn> {
    shards: LazyTable<'txn, u32, u64>,
    executions: LazyTable<'txn, Bytes, Bytes>,
    current_runs: LazyTable<'txn, Bytes, Bytes>,
    history: LazyTable<'txn, Bytes, Bytes>,
    deadlines: LazyTable<'txn, Bytes, ()>,
    /// The index of runs' deadlines that builds before the execution row recorded its
    /// deadline kept: used only to replay their log records (see `upgrade.rs`).
    deadline_index: LazyTable<'txn, Bytes, Bytes>,
    transaction: &'txn redb::WriteTransaction,
    dispatch: LazyTable<'txn, Bytes, Bytes>,
    requests: LazyTable<'txn, Bytes, Bytes>,
    visibility: LazyTable<'txn, Bytes, Bytes>,
}

impl<'txn> OpenTables<'txn> {
    /// The tables of `transaction`, none opened yet.
    pub(super) fn new(transaction: &'txn redb::WriteTransaction) -> Self {
        Self {
            shards: LazyTable::new(SHARDS),
            executions: LazyTable::new(EXECUTIONS),
            current_runs: LazyTable::new(CURRENT_RUNS),
            history: LazyTable::new(HISTORY),
            deadlines: LazyTable::new(DEADLINES),
            deadline_index: LazyTable::new(DEADLINE_INDEX),
            transaction,
            dispatch: LazyTable::new(DISPATCH),
            requests: LazyTable::new(REQUESTS),
            visibility: LazyTable::new(VISIBILITY),
        }
    }
}

self_cell::self_cell!(
    /// A write transaction held across commits with its tables open: a commit opens only
    /// the tables the transaction has not used yet (opening one is a lookup in redb's table
    /// of tables, and its close at the commit another — measured with callgrind on `endure
    /// bench latency`, 9 % of a sequential workflow's instructions when every commit
    /// opened and closed its tables). [`into_owner`](HeldTransaction::into_owner) closes
    /// them and gives the transaction back, to commit or abort.
    pub(super) struct HeldTransaction {
        owner: redb::WriteTransaction,
        // redb's tables are invariant over the transaction's lifetime.
        #[not_covariant]
        dependent: OpenTables,
    }
);

impl HeldTransaction {
    /// `transaction`, its tables not opened yet.
    pub(super) fn hold(transaction: redb::WriteTransaction) -> Self {
        Self::new(transaction, |transaction| OpenTables::new(transaction))
    }
}

/// What one commit (or replay) reads and changes: the transaction's open tables, the
/// record of its changes and the shards' ranges the store knows.
pub(super) struct Tables<'a, 'txn> {
    open: &'a mut OpenTables<'txn>,
    /// The changes made, when they are logged.
    redo: Option<Redo>,
    /// The shards' ranges known to the store, which spare reading the `shards` table
    /// ([`Tables::with_ranges`]).
    ranges: Option<&'a ShardRanges>,
    /// The last run row a check read (`StoredState::execution`): its key and its bytes. The
    /// put of that run that follows the check takes it instead of looking the row up again
    /// (a B-tree descent); any change to the executions table drops it, so it is always
    /// the stored row.
    checked_row: std::cell::RefCell<Option<(Vec<u8>, Vec<u8>)>>,
}

impl<'a, 'txn> Tables<'a, 'txn> {
    /// The tables `open`; with `logged`, every change is noted for the log.
    pub(super) fn new(open: &'a mut OpenTables<'txn>, logged: bool) -> Self {
        Tables {
            open,
            redo: logged.then(Redo::default),
            ranges: None,
            checked_row: std::cell::RefCell::new(None),
        }
    }

    /// Checks shards' ranges against `ranges` where it knows them, and notes there those
    /// read from the table. For a store's commits: it holds the ranges the table holds.
    pub(super) fn with_ranges(mut self, ranges: &'a ShardRanges) -> Self {
        self.ranges = Some(ranges);
        self
    }

    /// The changes noted so far (empty when not logged).
    pub(super) fn take_redo(&mut self) -> Redo {
        self.redo.take().unwrap_or_default()
    }

    fn bytes_table(
        &mut self,
        table: RunTable,
    ) -> Result<&mut redb::Table<'txn, Bytes, Bytes>, StorageError> {
        let open = &mut *self.open;
        let lazy = match table {
            RunTable::Executions => &mut open.executions,
            RunTable::CurrentRuns => &mut open.current_runs,
            RunTable::History => &mut open.history,
            RunTable::DeadlineIndex => &mut open.deadline_index,
            RunTable::Dispatch => &mut open.dispatch,
            RunTable::Requests => &mut open.requests,
            RunTable::Visibility => &mut open.visibility,
            RunTable::Deadlines => unreachable!("the deadlines table holds keys only"),
        };
        lazy.get_mut(open.transaction)
    }

    /// Sets `key` of `table` to `value` (the deadlines table keeps the key alone).
    pub(super) fn put(
        &mut self,
        table: RunTable,
        key: &[u8],
        value: &[u8],
    ) -> Result<(), StorageError> {
        if table == RunTable::Executions {
            self.checked_row.get_mut().take();
        }
        if table == RunTable::Deadlines {
            debug_assert!(value.is_empty());
            self.open
                .deadlines
                .get_mut(self.open.transaction)?
                .insert(key, ())
                .map_err(redb_error)?;
        } else {
            self.bytes_table(table)?
                .insert(key, value)
                .map_err(redb_error)?;
        }
        if let Some(redo) = &mut self.redo {
            redo.put(table, key, value);
        }
        Ok(())
    }

    /// Removes `key` of `table`. Only a removal of a key that was there is logged.
    pub(super) fn remove(&mut self, table: RunTable, key: &[u8]) -> Result<(), StorageError> {
        self.remove_reading(table, key, |_| ()).map(drop)
    }

    /// Removes `key` of `table` and returns what `read` makes of the value it held, if it
    /// was there: one lookup, no copy of the value. Only a removal of a key that was there
    /// is logged.
    fn remove_reading<T>(
        &mut self,
        table: RunTable,
        key: &[u8],
        read: impl FnOnce(&[u8]) -> T,
    ) -> Result<Option<T>, StorageError> {
        if table == RunTable::Executions {
            self.checked_row.get_mut().take();
        }
        let old = if table == RunTable::Deadlines {
            self.open
                .deadlines
                .get_mut(self.open.transaction)?
                .remove(key)
                .map_err(redb_error)?
                .map(|_| read(&[]))
        } else {
            self.bytes_table(table)?
                .remove(key)
                .map_err(redb_error)?
                .map(|old| read(old.value()))
        };
        // A key that was not there needs no replay: the state a replay starts from lacks
        // it too, or has it from a later change that the replay makes again.
        if let (Some(redo), Some(_)) = (&mut self.redo, &old) {
            redo.remove(table, key);
        }
        Ok(old)
    }

    /// Applies a logged commit's changes (replay).
    pub(super) fn apply_changes(&mut self, changes: &[Change<'_>]) -> Result<(), StorageError> {
        for change in changes {
            match *change {
                Change::Put { table, key, value } => self.put(table, key, value)?,
                Change::Remove { table, key } => {
                    self.remove(table, key)?;
                }
            }
        }
        Ok(())
    }

    /// Deletes a run and everything that names it (see [`RunDeletion`]).
    fn delete_run(&mut self, key: &ExecutionKey, shard: ShardId) -> Result<(), StorageError> {
        let exec_key = execution_key(key);
        let deadline = self
            .remove_reading(
                RunTable::Executions,
                &exec_key,
                ExecutionRow::stored_deadline,
            )?
            .transpose()
            .map_err(|error| corrupt_row(key, error))?
            .flatten();
        self.move_deadline(key, shard, deadline, None)?;
        for (batch, _) in scan_prefix(
            self.open.history.get(self.open.transaction)?,
            &exec_key,
            usize::MAX,
        )? {
            self.remove(RunTable::History, &batch)?;
        }
        self.remove(RunTable::Visibility, &exec_key)?;
        let workflow = workflow_key(&key.namespace, &key.workflow_id);
        for (request, value) in scan_prefix(
            self.open.requests.get(self.open.transaction)?,
            &workflow,
            usize::MAX,
        )? {
            let run_id = decoded(RequestRecord::stored_run_id(&value), || {
                format!("request {request:02x?}")
            })?;
            if run_id == key.run_id {
                self.remove(RunTable::Requests, &request)?;
            }
        }
        let current: Option<CurrentRun> = record_at(
            self.open.current_runs.get(self.open.transaction)?,
            &workflow,
            || format!("current run of {:?}", key.workflow_id),
        )?;
        if current.is_some_and(|current| current.run_id == key.run_id) {
            self.remove(RunTable::CurrentRuns, &workflow)?;
        }
        Ok(())
    }

    /// Makes the changes of one accepted write.
    pub(super) fn apply(&mut self, write: WorkflowWrite) -> Result<(), StorageError> {
        if let Some(deletion) = &write.deletion {
            self.delete_run(&deletion.key, write.shard)?;
        }
        for run in write.runs {
            let exec_key = execution_key(&run.row.key);
            for row in run.dispatch_inserts {
                let bytes = encode(&row)?;
                let key = dispatch_key(&row.namespace, &row.task_queue, row.task_id);
                self.put(RunTable::Dispatch, &key, &bytes)?;
            }
            for dispatch in run.dispatch_deletes {
                let key = dispatch_key(&dispatch.namespace, &dispatch.task_queue, dispatch.task_id);
                self.remove(RunTable::Dispatch, &key)?;
            }
            if let Some(visibility) = run.visibility {
                let bytes = encoded::<VisibilityRow>(visibility.encode_under_key())?;
                self.put(RunTable::Visibility, &exec_key, &bytes)?;
            }
            let exists = matches!(run.condition, RunCondition::DbVersion(_));
            self.put_run(&run.row, &exec_key, exists, run.deadline, run.history)?;
        }
        if let Some(current) = write.current_run {
            let bytes = encode(&current.new)?;
            let key = workflow_key(&write.namespace, &write.workflow_id);
            self.put(RunTable::CurrentRuns, &key, &bytes)?;
        }
        for record in write.request_ids {
            let bytes = encoded::<RequestRecord>(record.encode_under_key())?;
            let key = request_key(&record.namespace, &record.workflow_id, &record.request_id);
            self.put(RunTable::Requests, &key, &bytes)?;
        }
        Ok(())
    }

    /// Puts a run's row with its deadline after `update` and its history's tail after
    /// `history` recorded in it — the tail and the events spilled together to a batch row
    /// once they pass `HISTORY_TAIL_BYTES_MAX` — and moves its deadline row from the one
    /// the replaced row recorded. The replaced row of a run that `exists` is read first,
    /// for its deadline and tail (read in place): one lookup and the put for the row (a
    /// write's events add no row of their own), then deadline rows only if the time changed.
    fn put_run(
        &mut self,
        row: &ExecutionRow,
        exec_key: &[u8],
        exists: bool,
        update: DeadlineUpdate,
        history: Vec<HistoryEvent>,
    ) -> Result<(), StorageError> {
        let key = &row.key;
        // The new row's bytes are made while the old one is borrowed; then it is put.
        let checked = self
            .checked_row
            .get_mut()
            .take()
            .filter(|(checked_key, _)| exists && checked_key.as_slice() == exec_key);
        let (old_deadline, deadline, bytes, spilled) = {
            let old = match (exists, &checked) {
                (true, None) => self
                    .open
                    .executions
                    .get(self.open.transaction)?
                    .get(exec_key)
                    .map_err(redb_error)?,
                _ => None,
            };
            let old_row = match (&checked, &old) {
                (Some((_, row)), _) => Some(row.as_slice()),
                (None, Some(old)) => Some(old.value()),
                (None, None) => None,
            };
            let extras = match old_row {
                Some(old) => {
                    ExecutionRow::stored_extras(old).map_err(|error| corrupt_row(key, error))?
                }
                None => StoredExtras::default(),
            };
            let deadline = match update {
                DeadlineUpdate::Set(time) => Some(time),
                DeadlineUpdate::Clear => None,
                DeadlineUpdate::Keep => extras.deadline,
            };
            let (tail, spilled) = if history.is_empty() {
                (extras.history_tail, None)
            } else {
                let tail = extras.history_tail.as_deref();
                match append_to_tail(tail, History { events: history }).map_err(|error| {
                    StorageError::Corrupt {
                        what: format!("history of {key:?}"),
                        reason: error.to_string(),
                    }
                })? {
                    TailAppend::Kept(tail) => (Some(Cow::Owned(tail)), None),
                    TailAppend::Spilled {
                        first_event_id,
                        batch,
                    } => (None, Some((first_event_id, batch))),
                }
            };
            let bytes = encoded::<ExecutionRow>(row.encode_under_key(deadline, tail.as_deref()))?;
            (extras.deadline, deadline, bytes, spilled)
        };
        if let Some((first_event_id, batch)) = spilled {
            self.put(RunTable::History, &history_key(key, first_event_id), &batch)?;
        }
        self.put(RunTable::Executions, exec_key, &bytes)?;
        self.move_deadline(key, row.shard, old_deadline, deadline)
    }

    /// Moves the run's deadline row from `old` to `new` (either may be none).
    fn move_deadline(
        &mut self,
        key: &ExecutionKey,
        shard: ShardId,
        old: Option<Timestamp>,
        new: Option<Timestamp>,
    ) -> Result<(), StorageError> {
        if old == new {
            return Ok(());
        }
        if let Some(old) = old {
            self.remove(RunTable::Deadlines, &deadline_key(shard, old, key))?;
        }
        if let Some(new) = new {
            self.put(RunTable::Deadlines, &deadline_key(shard, new, key), &[])?;
        }
        Ok(())
    }
}

impl StoredState for Tables<'_, '_> {
    fn range(&self, shard: ShardId) -> Result<RangeId, StorageError> {
        if let Some(range) = self.ranges.and_then(|ranges| ranges.get(shard)) {
            return Ok(range);
        }
        let range = RangeId(
            self.open
                .shards
                .get(self.open.transaction)?
                .get(shard.0)
                .map_err(redb_error)?
                .map_or(0, |v| v.value()),
        );
        if let Some(ranges) = self.ranges {
            ranges.set(shard, range);
        }
        Ok(range)
    }

    fn execution(&self, key: &ExecutionKey) -> Result<Option<StoredRun>, StorageError> {
        let exec_key = execution_key(key);
        let Some(row) = self
            .open
            .executions
            .get(self.open.transaction)?
            .get(exec_key.as_slice())
            .map_err(redb_error)?
        else {
            return Ok(None);
        };
        let stored = StoredRun::decode(row.value()).map_err(|error| corrupt_row(key, error))?;
        *self.checked_row.borrow_mut() = Some((exec_key, row.value().to_vec()));
        Ok(Some(stored))
    }

    fn current_run(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
    ) -> Result<Option<endure_core::RunId>, StorageError> {
        let key = workflow_key(namespace, workflow_id);
        let current: Option<CurrentRun> = record_at(
            self.open.current_runs.get(self.open.transaction)?,
            &key,
            || format!("current run of {workflow_id:?}"),
        )?;
        Ok(current.map(|current| current.run_id))
    }

    fn request(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
        request_id: &RequestId,
    ) -> Result<Option<RequestRecord>, StorageError> {
        request_at(
            self.open.requests.get(self.open.transaction)?,
            namespace,
            workflow_id,
            request_id,
        )
    }
}

/// A run's stored row that does not decode.
fn corrupt_row(key: &ExecutionKey, error: endure_core::codec::DecodeError) -> StorageError {
    StorageError::Corrupt {
        what: format!("execution {key:?}"),
        reason: error.to_string(),
    }
}
