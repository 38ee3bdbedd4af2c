//! The redb adapter of the Storage port: Endure's default, durable store.
//!
//! Every commit is one redb write transaction with `Durability::Immediate`: it is on disk
//! (fsync'd) before `commit` returns, and a crash leaves either all of it or none of it.
//! redb's calls are synchronous, so they run on tokio's blocking pool (under madsim the same
//! call runs inline) — one code path. The `StorageBackend` is pluggable so the simulator can
//! put the real store on a disk that loses unsynced writes. After an IO error, or a panic
//! inside redb (a corrupt page reaches its `unreachable!`s), the store is fail-stop: the
//! cause is logged once at error level and every later call returns
//! [`StorageError::Stopped`] with it until the store is reopened.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use endure_core::codec::{self, Record};
use endure_core::history::History;
use endure_core::storage::*;
use endure_core::time::Timestamp;
use endure_core::{EventId, Namespace, RequestId, TaskQueueName, WorkflowId};
use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, StorageBackend, TableDefinition,
};

mod failure;

pub(super) use self::failure::{guarded, redb_error};
use self::failure::{io, open_database};
use super::counting::{CountingBackend, StorageCounters};
use super::keys::*;
use super::memory::{order_visibility, page};

pub(super) type Bytes = &'static [u8];

/// An owned key and value read from a table.
type KeyValue = (Vec<u8>, Vec<u8>);

const SHARDS: TableDefinition<'static, u32, u64> = TableDefinition::new("shards");
pub(super) const EXECUTIONS: TableDefinition<'static, Bytes, Bytes> =
    TableDefinition::new("executions");
pub(super) const CURRENT_RUNS: TableDefinition<'static, Bytes, Bytes> =
    TableDefinition::new("current_runs");
pub(super) const HISTORY: TableDefinition<'static, Bytes, Bytes> = TableDefinition::new("history");
pub(super) const DEADLINES: TableDefinition<'static, Bytes, ()> = TableDefinition::new("deadlines");
pub(super) const DEADLINE_INDEX: TableDefinition<'static, Bytes, Bytes> =
    TableDefinition::new("deadline_index");
pub(super) const DISPATCH: TableDefinition<'static, Bytes, Bytes> =
    TableDefinition::new("dispatch");
pub(super) const REQUESTS: TableDefinition<'static, Bytes, Bytes> =
    TableDefinition::new("requests");
pub(super) const VISIBILITY: TableDefinition<'static, Bytes, Bytes> =
    TableDefinition::new("visibility");
pub(super) const NAMESPACES: TableDefinition<'static, Bytes, Bytes> =
    TableDefinition::new("namespaces");
/// Store-wide settings: the shard count.
const META: TableDefinition<'static, &'static str, u64> = TableDefinition::new("meta");
const SHARD_COUNT_KEY: &str = "shard_count";

/// redb's page cache. Its default (1 GiB) made an engine holding 100,000 sleeping runs
/// weigh a gigabyte; the hot pages of a shard's rows fit in far less.
const CACHE_BYTES: usize = 128 * 1024 * 1024;

/// The redb file store.
#[derive(Clone)]
pub struct RedbStorage {
    inner: Arc<Inner>,
}

struct Inner {
    /// Present until the store is dropped (see `Drop for Inner`).
    database: Option<Database>,
    stopped: AtomicBool,
    /// Why it stopped: the first failure, set once.
    cause: OnceLock<String>,
    /// Set by [`RedbStorage::open_counted`]: its write transactions are counted there.
    counters: Option<Arc<StorageCounters>>,
}

impl Inner {
    fn database(&self) -> Result<&Database, StorageError> {
        self.database.as_ref().ok_or_else(|| StorageError::Stopped {
            cause: "the store is closed".into(),
        })
    }
}

impl std::fmt::Debug for RedbStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStorage")
            .field("stopped", &self.inner.stopped.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

fn decode<T: Record>(bytes: &[u8], what: impl FnOnce() -> String) -> Result<T, StorageError> {
    codec::decode(bytes).map_err(|error| StorageError::Corrupt {
        what: what(),
        reason: error.to_string(),
    })
}

fn encode<T: Record>(value: &T) -> Result<Vec<u8>, StorageError> {
    codec::encode(value).map_err(|error| StorageError::Corrupt {
        what: format!("a new {:?} record", T::KIND),
        reason: error.to_string(),
    })
}

impl RedbStorage {
    /// Opens (or creates) the store in the file at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StorageError> {
        let path = path.as_ref();
        let database = open_database(CACHE_BYTES, &path.display().to_string(), |builder| {
            builder.create(path)
        })?;
        Self::from_database(database, None)
    }

    /// Opens (or creates) the store on a custom backend (a simulated disk, say).
    pub fn with_backend(backend: impl StorageBackend) -> Result<Self, StorageError> {
        Self::with_backend_and_cache(backend, CACHE_BYTES)
    }

    /// Opens (or creates) the store on a custom backend with a page cache of
    /// `cache_bytes` (the default is 128 MiB; a small cache makes reads reach the backend).
    pub fn with_backend_and_cache(
        backend: impl StorageBackend,
        cache_bytes: usize,
    ) -> Result<Self, StorageError> {
        let database = open_database(cache_bytes, "a custom backend", |builder| {
            builder.create_with_backend(backend)
        })?;
        Self::from_database(database, None)
    }

    /// Opens (or creates) the store in the file at `path`, counting its commits, fsyncs
    /// and bytes written into `counters` (for benchmarks).
    pub fn open_counted(
        path: impl AsRef<Path>,
        counters: Arc<StorageCounters>,
    ) -> Result<Self, StorageError> {
        let path = path.as_ref();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io)?;
        let backend = redb::backends::FileBackend::new(file).map_err(redb_error)?;
        let backend = CountingBackend::new(backend, Arc::clone(&counters));
        let name = path.display().to_string();
        let database = open_database(CACHE_BYTES, &name, |builder| {
            builder.create_with_backend(backend)
        })?;
        Self::from_database(database, Some(counters))
    }

    /// Counts one committed write transaction, when counting.
    fn counted(&self) {
        if let Some(counters) = &self.inner.counters {
            counters.commit();
        }
    }

    fn from_database(
        database: Database,
        counters: Option<Arc<StorageCounters>>,
    ) -> Result<Self, StorageError> {
        guarded(|| Self::create_tables(&database))?;
        Ok(Self {
            inner: Arc::new(Inner {
                database: Some(database),
                stopped: AtomicBool::new(false),
                cause: OnceLock::new(),
                counters,
            }),
        })
    }

    /// Creates the tables a new store lacks.
    fn create_tables(database: &Database) -> Result<(), StorageError> {
        let transaction = database.begin_write().map_err(redb_error)?;
        {
            transaction.open_table(SHARDS).map_err(redb_error)?;
            for table in [
                EXECUTIONS,
                CURRENT_RUNS,
                HISTORY,
                DEADLINE_INDEX,
                DISPATCH,
                REQUESTS,
                VISIBILITY,
                NAMESPACES,
            ] {
                transaction.open_table(table).map_err(redb_error)?;
            }
            transaction.open_table(DEADLINES).map_err(redb_error)?;
            transaction.open_table(META).map_err(redb_error)?;
        }
        transaction.commit().map_err(redb_error)
    }
}

/// A write transaction that is durable (fsync'd) when its commit returns.
fn begin_durable(database: &Database) -> Result<redb::WriteTransaction, StorageError> {
    let mut transaction = database.begin_write().map_err(redb_error)?;
    transaction
        .set_durability(Durability::Immediate)
        .map_err(io)?;
    Ok(transaction)
}

/// The tables of one write transaction.
struct Tables<'txn> {
    shards: redb::Table<'txn, u32, u64>,
    executions: redb::Table<'txn, Bytes, Bytes>,
    current_runs: redb::Table<'txn, Bytes, Bytes>,
    history: redb::Table<'txn, Bytes, Bytes>,
    deadlines: redb::Table<'txn, Bytes, ()>,
    deadline_index: redb::Table<'txn, Bytes, Bytes>,
    dispatch: redb::Table<'txn, Bytes, Bytes>,
    requests: redb::Table<'txn, Bytes, Bytes>,
    visibility: redb::Table<'txn, Bytes, Bytes>,
}

impl<'txn> Tables<'txn> {
    fn open(transaction: &'txn redb::WriteTransaction) -> Result<Self, StorageError> {
        Ok(Tables {
            shards: transaction.open_table(SHARDS).map_err(redb_error)?,
            executions: transaction.open_table(EXECUTIONS).map_err(redb_error)?,
            current_runs: transaction.open_table(CURRENT_RUNS).map_err(redb_error)?,
            history: transaction.open_table(HISTORY).map_err(redb_error)?,
            deadlines: transaction.open_table(DEADLINES).map_err(redb_error)?,
            deadline_index: transaction.open_table(DEADLINE_INDEX).map_err(redb_error)?,
            dispatch: transaction.open_table(DISPATCH).map_err(redb_error)?,
            requests: transaction.open_table(REQUESTS).map_err(redb_error)?,
            visibility: transaction.open_table(VISIBILITY).map_err(redb_error)?,
        })
    }

    fn execution(&self, key: &ExecutionKey) -> Result<Option<ExecutionRow>, StorageError> {
        let Some(bytes) = self
            .executions
            .get(execution_key(key).as_slice())
            .map_err(redb_error)?
        else {
            return Ok(None);
        };
        decode(bytes.value(), || format!("execution {key:?}")).map(Some)
    }

    /// Deletes a run and everything that names it (see [`RunDeletion`]).
    fn delete_run(&mut self, key: &ExecutionKey, shard: ShardId) -> Result<(), StorageError> {
        let exec_key = execution_key(key);
        self.executions
            .remove(exec_key.as_slice())
            .map_err(redb_error)?;
        for (batch, _) in scan_prefix(&self.history, &exec_key, usize::MAX)? {
            self.history.remove(batch.as_slice()).map_err(redb_error)?;
        }
        self.clear_deadline(key, shard)?;
        self.visibility
            .remove(exec_key.as_slice())
            .map_err(redb_error)?;
        let workflow = workflow_key(&key.namespace, &key.workflow_id);
        for (request, value) in scan_prefix(&self.requests, &workflow, usize::MAX)? {
            let record: RequestRecord = decode(&value, || format!("request {request:02x?}"))?;
            if record.run_id == key.run_id {
                self.requests
                    .remove(request.as_slice())
                    .map_err(redb_error)?;
            }
        }
        let current = match self
            .current_runs
            .get(workflow.as_slice())
            .map_err(redb_error)?
        {
            Some(bytes) => Some(decode::<CurrentRun>(bytes.value(), || {
                format!("current run of {:?}", key.workflow_id)
            })?),
            None => None,
        };
        if current.is_some_and(|current| current.run_id == key.run_id) {
            self.current_runs
                .remove(workflow.as_slice())
                .map_err(redb_error)?;
        }
        Ok(())
    }

    fn apply(&mut self, write: WorkflowWrite) -> Result<(), StorageError> {
        if let Some(deletion) = &write.deletion {
            self.delete_run(&deletion.key, write.shard)?;
        }
        for run in write.runs {
            let key = run.row.key.clone();
            let exec_key = execution_key(&key);
            if let Some(first) = run.history.first() {
                let batch_key = history_key(&key, first.event_id);
                let batch = encode(&History {
                    events: run.history,
                })?;
                self.history
                    .insert(batch_key.as_slice(), batch.as_slice())
                    .map_err(redb_error)?;
            }
            match run.deadline {
                DeadlineUpdate::Keep => {}
                DeadlineUpdate::Set(time) => {
                    self.clear_deadline(&key, run.row.shard)?;
                    self.deadlines
                        .insert(deadline_key(run.row.shard, time, &key).as_slice(), ())
                        .map_err(redb_error)?;
                    self.deadline_index
                        .insert(
                            exec_key.as_slice(),
                            time.unix_nanos().to_be_bytes().as_slice(),
                        )
                        .map_err(redb_error)?;
                }
                DeadlineUpdate::Clear => self.clear_deadline(&key, run.row.shard)?,
            }
            for row in run.dispatch_inserts {
                let bytes = encode(&row)?;
                self.dispatch
                    .insert(
                        dispatch_key(&row.namespace, &row.task_queue, row.task_id).as_slice(),
                        bytes.as_slice(),
                    )
                    .map_err(redb_error)?;
            }
            for dispatch in run.dispatch_deletes {
                self.dispatch
                    .remove(
                        dispatch_key(&dispatch.namespace, &dispatch.task_queue, dispatch.task_id)
                            .as_slice(),
                    )
                    .map_err(redb_error)?;
            }
            if let Some(visibility) = run.visibility {
                let bytes = encode(&visibility)?;
                self.visibility
                    .insert(exec_key.as_slice(), bytes.as_slice())
                    .map_err(redb_error)?;
            }
            let bytes = encode(&run.row)?;
            self.executions
                .insert(exec_key.as_slice(), bytes.as_slice())
                .map_err(redb_error)?;
        }
        if let Some(current) = write.current_run {
            let bytes = encode(&current.new)?;
            self.current_runs
                .insert(
                    workflow_key(&write.namespace, &write.workflow_id).as_slice(),
                    bytes.as_slice(),
                )
                .map_err(redb_error)?;
        }
        for record in write.request_ids {
            let bytes = encode(&record)?;
            self.requests
                .insert(
                    request_key(&record.namespace, &record.workflow_id, &record.request_id)
                        .as_slice(),
                    bytes.as_slice(),
                )
                .map_err(redb_error)?;
        }
        Ok(())
    }

    fn clear_deadline(&mut self, key: &ExecutionKey, shard: ShardId) -> Result<(), StorageError> {
        let exec_key = execution_key(key);
        let old = self
            .deadline_index
            .remove(exec_key.as_slice())
            .map_err(redb_error)?;
        if let Some(old) = old {
            let nanos: [u8; 8] = old.value().try_into().map_err(|_| StorageError::Corrupt {
                what: format!("deadline of {key:?}"),
                reason: "not 8 bytes".into(),
            })?;
            let time = Timestamp::from_unix_nanos(u64::from_be_bytes(nanos));
            self.deadlines
                .remove(deadline_key(shard, time, key).as_slice())
                .map_err(redb_error)?;
        }
        Ok(())
    }
}

impl StoredState for Tables<'_> {
    fn range(&self, shard: ShardId) -> Result<RangeId, StorageError> {
        Ok(RangeId(
            self.shards
                .get(shard.0)
                .map_err(redb_error)?
                .map_or(0, |v| v.value()),
        ))
    }

    fn execution(&self, key: &ExecutionKey) -> Result<Option<StoredRun>, StorageError> {
        Ok(Tables::execution(self, key)?.as_ref().map(StoredRun::from))
    }

    fn current_run(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
    ) -> Result<Option<endure_core::RunId>, StorageError> {
        let key = workflow_key(namespace, workflow_id);
        match self.current_runs.get(key.as_slice()).map_err(redb_error)? {
            Some(bytes) => {
                let current: CurrentRun =
                    decode(bytes.value(), || format!("current run of {workflow_id:?}"))?;
                Ok(Some(current.run_id))
            }
            None => Ok(None),
        }
    }

    fn request(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
        request_id: &RequestId,
    ) -> Result<Option<RequestRecord>, StorageError> {
        let key = request_key(namespace, workflow_id, request_id);
        match self.requests.get(key.as_slice()).map_err(redb_error)? {
            Some(bytes) => decode(bytes.value(), || format!("request {request_id:?}")).map(Some),
            None => Ok(None),
        }
    }
}

fn commit_sync(
    database: &Database,
    writes: Vec<WorkflowWrite>,
) -> Result<Vec<Result<(), WriteRejection>>, StorageError> {
    let transaction = begin_durable(database)?;
    let mut results = Vec::with_capacity(writes.len());
    {
        let mut tables = Tables::open(&transaction)?;
        for write in writes {
            let result = check_write(&write, &tables)?;
            if result.is_ok() {
                tables.apply(write)?;
            }
            results.push(result);
        }
    }
    transaction.commit().map_err(redb_error)?;
    Ok(results)
}

/// Writes a namespace record if the stored one is at `expected`.
fn put_namespace_sync(
    database: &Database,
    record: &NamespaceRecord,
    expected: Option<u64>,
) -> Result<Result<(), WriteRejection>, StorageError> {
    let transaction = begin_durable(database)?;
    {
        let mut table = transaction.open_table(NAMESPACES).map_err(redb_error)?;
        let key = record.name.as_str().as_bytes();
        let stored = match table.get(key).map_err(redb_error)? {
            Some(bytes) => Some(decode::<NamespaceRecord>(bytes.value(), || {
                format!("namespace {}", record.name)
            })?),
            None => None,
        };
        if let Err(rejection) = check_namespace_condition(record, expected, stored.as_ref()) {
            return Ok(Err(rejection));
        }
        let bytes = encode(record)?;
        table.insert(key, bytes.as_slice()).map_err(redb_error)?;
    }
    transaction.commit().map_err(redb_error)?;
    Ok(Ok(()))
}

/// All values of `table` whose keys start with `prefix`, in key order, at most `limit`.
fn scan_prefix<T: ReadableTable<Bytes, Bytes>>(
    table: &T,
    prefix: &[u8],
    limit: usize,
) -> Result<Vec<KeyValue>, StorageError> {
    let mut found = Vec::new();
    for entry in table.range(prefix..).map_err(redb_error)? {
        let (key, value) = entry.map_err(redb_error)?;
        if !key.value().starts_with(prefix) || found.len() >= limit {
            break;
        }
        found.push((key.value().to_vec(), value.value().to_vec()));
    }
    Ok(found)
}

impl Storage for RedbStorage {
    fn stopped(&self) -> Option<String> {
        self.inner
            .stopped
            .load(Ordering::Acquire)
            .then(|| self.inner.cause.get().cloned().unwrap_or_default())
    }

    async fn shard_count(&self, proposed: u32) -> Result<u32, StorageError> {
        let count = self
            .run(move |database| {
                let transaction = begin_durable(database)?;
                let count = {
                    let mut meta = transaction.open_table(META).map_err(redb_error)?;
                    let stored = meta
                        .get(SHARD_COUNT_KEY)
                        .map_err(redb_error)?
                        .map(|value| value.value());
                    match stored {
                        Some(count) => u32::try_from(count).map_err(|_| StorageError::Corrupt {
                            what: "the shard count".into(),
                            reason: format!("{count} is not a shard count"),
                        })?,
                        None => {
                            // A store from before the count was kept: as many as it holds.
                            let shards = transaction.open_table(SHARDS).map_err(redb_error)?;
                            let held = shards
                                .last()
                                .map_err(redb_error)?
                                .map(|(shard, _)| shard.value() + 1);
                            let count = held.unwrap_or(proposed);
                            meta.insert(SHARD_COUNT_KEY, u64::from(count))
                                .map_err(redb_error)?;
                            count
                        }
                    }
                };
                transaction.commit().map_err(redb_error)?;
                Ok(count)
            })
            .await?;
        self.counted();
        Ok(count)
    }

    async fn acquire_shard(&self, shard: ShardId) -> Result<RangeId, StorageError> {
        let range = self
            .run(move |database| {
                let transaction = begin_durable(database)?;
                let range = {
                    let mut shards = transaction.open_table(SHARDS).map_err(redb_error)?;
                    let current = shards
                        .get(shard.0)
                        .map_err(redb_error)?
                        .map_or(0, |v| v.value());
                    let next = current + 1;
                    shards.insert(shard.0, next).map_err(redb_error)?;
                    next
                };
                transaction.commit().map_err(redb_error)?;
                Ok(RangeId(range))
            })
            .await?;
        self.counted();
        Ok(range)
    }

    async fn commit(
        &self,
        writes: Vec<WorkflowWrite>,
    ) -> Result<Vec<Result<(), WriteRejection>>, StorageError> {
        let results = self
            .run(move |database| commit_sync(database, writes))
            .await?;
        self.counted();
        Ok(results)
    }

    async fn load_execution(
        &self,
        key: &ExecutionKey,
    ) -> Result<Option<ExecutionRow>, StorageError> {
        let key = key.clone();
        self.read(move |database| {
            let transaction = database.begin_read().map_err(redb_error)?;
            let table = transaction.open_table(EXECUTIONS).map_err(redb_error)?;
            let Some(bytes) = table
                .get(execution_key(&key).as_slice())
                .map_err(redb_error)?
            else {
                return Ok(None);
            };
            decode(bytes.value(), || format!("execution {key:?}")).map(Some)
        })
    }

    async fn current_run(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
    ) -> Result<Option<CurrentRun>, StorageError> {
        let key = workflow_key(namespace, workflow_id);
        let workflow_id = workflow_id.clone();
        self.read(move |database| {
            let transaction = database.begin_read().map_err(redb_error)?;
            let table = transaction.open_table(CURRENT_RUNS).map_err(redb_error)?;
            let Some(bytes) = table.get(key.as_slice()).map_err(redb_error)? else {
                return Ok(None);
            };
            decode(bytes.value(), || format!("current run of {workflow_id:?}")).map(Some)
        })
    }

    async fn read_history(
        &self,
        key: &ExecutionKey,
        first_event_id: EventId,
    ) -> Result<HistoryPage, StorageError> {
        let key = key.clone();
        self.read(move |database| {
            let transaction = database.begin_read().map_err(redb_error)?;
            let table = transaction.open_table(HISTORY).map_err(redb_error)?;
            let prefix = execution_key(&key);
            // Start at the batch holding `first_event_id`: the last batch starting at or before it.
            let wanted = history_key(&key, first_event_id);
            let start = table
                .range(prefix.as_slice()..=wanted.as_slice())
                .map_err(redb_error)?
                .next_back()
                .transpose()
                .map_err(redb_error)?
                .map_or(prefix.clone(), |(batch_key, _)| batch_key.value().to_vec());
            // Decode batches until the page is full, plus one batch so the cut knows what follows.
            let mut events = Vec::new();
            let mut bytes = 0;
            let mut full = false;
            for entry in table.range(start.as_slice()..).map_err(redb_error)? {
                let (batch_key, batch) = entry.map_err(redb_error)?;
                if !batch_key.value().starts_with(&prefix) {
                    break;
                }
                let batch: History = decode(batch.value(), || format!("history of {key:?}"))?;
                for event in batch
                    .events
                    .into_iter()
                    .filter(|event| event.event_id >= first_event_id)
                {
                    bytes += codec::encoded_size(&event);
                    events.push(event);
                }
                if full {
                    break;
                }
                full = bytes >= HISTORY_PAGE_BYTES_MAX;
            }
            Ok(page(events))
        })
    }

    async fn due_deadlines(
        &self,
        shard: ShardId,
        until: Timestamp,
        limit: usize,
    ) -> Result<Vec<DeadlineRow>, StorageError> {
        self.run(move |database| {
            let transaction = database.begin_read().map_err(redb_error)?;
            let table = transaction.open_table(DEADLINES).map_err(redb_error)?;
            let prefix = shard.0.to_be_bytes();
            let mut due = Vec::new();
            for entry in table.range(prefix.as_slice()..).map_err(redb_error)? {
                let (key, ()) = entry
                    .map(|(key, value)| (key, value.value()))
                    .map_err(redb_error)?;
                if !key.value().starts_with(&prefix) || due.len() >= limit {
                    break;
                }
                let (time, execution) = parse_deadline_key(key.value())?;
                if time > until {
                    break;
                }
                due.push(DeadlineRow { time, execution });
            }
            Ok(due)
        })
        .await
    }

    async fn dispatch_rows(
        &self,
        namespace: &Namespace,
        task_queue: &TaskQueueName,
        limit: usize,
    ) -> Result<Vec<DispatchRow>, StorageError> {
        let prefix = dispatch_prefix(namespace, task_queue);
        self.run(move |database| {
            let transaction = database.begin_read().map_err(redb_error)?;
            let table = transaction.open_table(DISPATCH).map_err(redb_error)?;
            scan_prefix(&table, &prefix, limit)?
                .into_iter()
                .map(|(key, value)| decode(&value, || format!("dispatch row {key:02x?}")))
                .collect()
        })
        .await
    }

    async fn find_request(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
        request_id: &RequestId,
    ) -> Result<Option<RequestRecord>, StorageError> {
        let key = request_key(namespace, workflow_id, request_id);
        let request_id = request_id.clone();
        self.read(move |database| {
            let transaction = database.begin_read().map_err(redb_error)?;
            let table = transaction.open_table(REQUESTS).map_err(redb_error)?;
            let Some(bytes) = table.get(key.as_slice()).map_err(redb_error)? else {
                return Ok(None);
            };
            decode(bytes.value(), || format!("request {request_id:?}")).map(Some)
        })
    }

    async fn list_visibility(
        &self,
        namespace: &Namespace,
        query: &VisibilityQuery,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<VisibilityRow>, StorageError> {
        let rows = self.matching_visibility(namespace, query).await?;
        Ok(order_visibility(rows, offset, limit))
    }

    async fn count_visibility(
        &self,
        namespace: &Namespace,
        query: &VisibilityQuery,
    ) -> Result<u64, StorageError> {
        Ok(self.matching_visibility(namespace, query).await?.len() as u64)
    }

    async fn put_namespace(
        &self,
        record: NamespaceRecord,
        expected: Option<u64>,
    ) -> Result<Result<(), WriteRejection>, StorageError> {
        let result = self
            .run(move |database| put_namespace_sync(database, &record, expected))
            .await?;
        self.counted();
        Ok(result)
    }

    async fn namespace(&self, name: &Namespace) -> Result<Option<NamespaceRecord>, StorageError> {
        let name = name.clone();
        self.read(move |database| {
            let transaction = database.begin_read().map_err(redb_error)?;
            let table = transaction.open_table(NAMESPACES).map_err(redb_error)?;
            let Some(bytes) = table.get(name.as_str().as_bytes()).map_err(redb_error)? else {
                return Ok(None);
            };
            decode(bytes.value(), || format!("namespace {name}")).map(Some)
        })
    }

    async fn list_namespaces(&self) -> Result<Vec<NamespaceRecord>, StorageError> {
        self.run(move |database| {
            let transaction = database.begin_read().map_err(redb_error)?;
            let table = transaction.open_table(NAMESPACES).map_err(redb_error)?;
            scan_prefix(&table, &[], usize::MAX)?
                .into_iter()
                .map(|(key, value)| decode(&value, || format!("namespace {key:02x?}")))
                .collect()
        })
        .await
    }
}

impl RedbStorage {
    /// Every visibility row of `namespace` that matches `query`.
    async fn matching_visibility(
        &self,
        namespace: &Namespace,
        query: &VisibilityQuery,
    ) -> Result<Vec<VisibilityRow>, StorageError> {
        let prefix = namespace_prefix(namespace);
        let query = query.clone();
        self.run(move |database| {
            let transaction = database.begin_read().map_err(redb_error)?;
            let table = transaction.open_table(VISIBILITY).map_err(redb_error)?;
            let mut rows = Vec::new();
            for (key, value) in scan_prefix(&table, &prefix, usize::MAX)? {
                let row: VisibilityRow = decode(&value, || format!("visibility row {key:02x?}"))?;
                if query.matches(&row) {
                    rows.push(row);
                }
            }
            Ok(rows)
        })
        .await
    }
}
