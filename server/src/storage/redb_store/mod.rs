//! The redb adapter of the Storage port: Endure's default, durable store.
//!
//! A store opened on a file keeps a commit log beside it (`<file>-wal`, [`log`]): a
//! workflow commit is one redb write transaction that is not synced, plus one record of its
//! changes appended to the log and synced before the transaction is made visible and
//! `commit` returns. A checkpoint (a durable redb commit) writes the accumulated changes
//! out every [`WalConfig::checkpoint_bytes`] of log, at a clean close, and after a replay;
//! opening the store replays the records after the last checkpoint. Either way a commit is
//! on disk before `commit` returns, and a crash leaves either all of it or none of it. A
//! store opened on a bare backend ([`RedbStorage::with_backend`]) has no log: each commit
//! is then a durable redb commit. Namespace and shard writes are always durable redb
//! commits (they are rare), which also cover the log's records.
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
use endure_core::storage::*;
use endure_core::time::Timestamp;
use endure_core::{EventId, Namespace, RequestId, TaskQueueName, WorkflowId};
use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, StorageBackend, TableDefinition,
};

mod commit;
mod failure;
mod history_page;
mod publication;
mod redo;
mod run_view;
mod shard_ranges;
mod tables;
mod upgrade;
mod wal;

pub(super) use self::commit::unapplied_log_records;
use self::commit::{checkpoint, commit_sync, open_log};
pub use self::failure::lent_threads_max;
use self::failure::{Blocking, io, open_database};
pub(super) use self::failure::{guarded, redb_error};
use self::redo::RunTable;
pub use self::upgrade::rewrite_in_older_layout;
use self::wal::Wal;
pub use self::wal::WalConfig;
use super::counting::{CountingBackend, StorageCounters};
use super::keys::*;
use super::memory::order_visibility;

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
/// Retired: the index of runs' deadlines of older layouts, read only to replay their log
/// records and upgrade them (`upgrade.rs`); today a run's row records its deadline.
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
/// The sequence of the last commit-log record the redb file holds (its last checkpoint's).
const LOG_SEQUENCE_KEY: &str = "log_sequence";

/// redb's page cache. Its default (1 GiB) made an engine holding 100,000 sleeping runs
/// weigh a gigabyte; the hot pages of a shard's rows fit in far less. At 128 MiB that
/// engine weighed 281 MB, at 32 MiB 169 MB, starting runs no slower (`endure bench idle`).
/// The cache is full once the engine has run a while (29 MB of 32 MiB at that idle), and
/// 16 MiB ran hello, latency, steps and timers as fast as 32 by turns.
const CACHE_BYTES: usize = 16 * 1024 * 1024;

/// The most writes a commit may hold and still run in place on its caller's thread
/// ([`Blocking::InPlace`]): a write alone, as a sequential workflow or a light load makes
/// them — one log record and a few redb pages — when the runtime has little else to run
/// meanwhile. Under load groups grow past it and are lent a thread, whose hand-off their
/// writes share, so the runtime's threads keep running its other tasks through each sync.
/// (Up to 8 in place measured the same on hello and latency, within their noise.)
const IN_PLACE_COMMIT_WRITES_MAX: usize = 1;

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
    /// The commit log, for a store on a file (locked only inside a redb write transaction).
    log: Option<parking_lot::Mutex<Wal>>,
    /// The write transaction of the latest commits, held open until something reads
    /// (`publication.rs`); only with a log.
    held: publication::Held,
    /// The shards' ranges, read once from their table (`shard_ranges.rs`).
    ranges: shard_ranges::ShardRanges,
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
    decoded(codec::decode(bytes), what)
}

/// A decoding's result, its error a corruption of what `what` names.
fn decoded<T>(
    result: Result<T, codec::DecodeError>,
    what: impl FnOnce() -> String,
) -> Result<T, StorageError> {
    result.map_err(|error| StorageError::Corrupt {
        what: what(),
        reason: error.to_string(),
    })
}

fn encode<T: Record>(value: &T) -> Result<Vec<u8>, StorageError> {
    encoded::<T>(codec::encode(value))
}

/// An encoding's result (of a record of type `T`), its error a corruption.
fn encoded<T: Record>(
    result: Result<Vec<u8>, codec::EncodeError>,
) -> Result<Vec<u8>, StorageError> {
    result.map_err(|error| StorageError::Corrupt {
        what: format!("a new {:?} record", T::KIND),
        reason: error.to_string(),
    })
}

/// The record of `request_id` of `workflow_id` in `table`, if there is one (stored without
/// the fields its key holds, see `endure_core::storage::RequestRecord::encode_under_key`).
pub(super) fn request_at(
    table: &impl ReadableTable<Bytes, Bytes>,
    namespace: &Namespace,
    workflow_id: &WorkflowId,
    request_id: &RequestId,
) -> Result<Option<RequestRecord>, StorageError> {
    let key = request_key(namespace, workflow_id, request_id);
    let Some(value) = table.get(key.as_slice()).map_err(redb_error)? else {
        return Ok(None);
    };
    decode_request(value.value(), namespace, workflow_id, request_id).map(Some)
}

/// The request record stored as `value` under its key.
fn decode_request(
    value: &[u8],
    namespace: &Namespace,
    workflow_id: &WorkflowId,
    request_id: &RequestId,
) -> Result<RequestRecord, StorageError> {
    decoded(
        RequestRecord::decode_under_key(value, namespace, workflow_id, request_id),
        || format!("request {request_id:?}"),
    )
}

/// The record stored at `key` of `table`, if any; `what` names it in a decoding error.
pub(super) fn record_at<T: Record>(
    table: &impl ReadableTable<Bytes, Bytes>,
    key: &[u8],
    what: impl FnOnce() -> String,
) -> Result<Option<T>, StorageError> {
    match table.get(key).map_err(redb_error)? {
        Some(bytes) => decode(bytes.value(), what).map(Some),
        None => Ok(None),
    }
}

/// The commit log's file beside the store's file at `path`: `<path>-wal`.
pub fn wal_path(path: &Path) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    name.into()
}

/// A file opened for reading and writing, created if missing.
fn open_file(path: &Path) -> Result<std::fs::File, StorageError> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|error| StorageError::Io(format!("{}: {error}", path.display())))
}

/// The redb table of a run table whose rows are keys and values (all but the deadlines).
fn bytes_table(table: RunTable) -> TableDefinition<'static, Bytes, Bytes> {
    match table {
        RunTable::Executions => EXECUTIONS,
        RunTable::CurrentRuns => CURRENT_RUNS,
        RunTable::History => HISTORY,
        RunTable::DeadlineIndex => DEADLINE_INDEX,
        RunTable::Dispatch => DISPATCH,
        RunTable::Requests => REQUESTS,
        RunTable::Visibility => VISIBILITY,
        RunTable::Deadlines => unreachable!("the deadlines table holds keys only"),
    }
}

/// The write-ahead log's file beside the store at `path`, allocated in full (zeros, synced)
/// if it is new or short — here rather than through the backend, so that a counting
/// backend counts the log's records, not its one-time allocation. For a store file that is
/// `new` (created by this open), a log left beside it belongs to a store since removed: it
/// is emptied, never replayed into the new one.
fn wal_file(path: &Path, config: WalConfig, new: bool) -> Result<std::fs::File, StorageError> {
    let path = wal_path(path);
    let file = open_file(&path)?;
    let failed = |error: std::io::Error| StorageError::Io(format!("{}: {error}", path.display()));
    if new {
        file.set_len(0).map_err(failed)?;
    }
    let length = file.metadata().map_err(failed)?.len();
    if length < config.capacity_bytes {
        use std::io::{Read, Seek, SeekFrom};
        let mut writer = &file;
        writer.seek(SeekFrom::Start(length)).map_err(failed)?;
        std::io::copy(
            &mut std::io::repeat(0).take(config.capacity_bytes - length),
            &mut writer,
        )
        .map_err(failed)?;
        file.sync_all().map_err(failed)?;
    }
    Ok(file)
}

/// A commit log's backend and its sizes.
type WalBackend = (Box<dyn StorageBackend>, WalConfig);

impl RedbStorage {
    /// Opens (or creates) the store in the file at `path`, with its commit log in
    /// [`wal_path`]`(path)`; replays the log's records after the last checkpoint.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StorageError> {
        let path = path.as_ref();
        let new = !path.exists();
        let database = open_database(CACHE_BYTES, &path.display().to_string(), |builder| {
            builder.create(path)
        })?;
        let config = WalConfig::default();
        let log =
            redb::backends::FileBackend::new(wal_file(path, config, new)?).map_err(redb_error)?;
        Self::from_database(database, None, Some((Box::new(log), config)))
    }

    /// Opens (or creates) the store on a custom backend (a simulated disk, say), without a
    /// commit log: every commit is a durable redb commit.
    pub fn with_backend(backend: impl StorageBackend) -> Result<Self, StorageError> {
        Self::with_backend_and_cache(backend, CACHE_BYTES)
    }

    /// Opens (or creates) the store on a custom backend with a page cache of
    /// `cache_bytes` (the default is 32 MiB; a small cache makes reads reach the backend),
    /// without a commit log.
    pub fn with_backend_and_cache(
        backend: impl StorageBackend,
        cache_bytes: usize,
    ) -> Result<Self, StorageError> {
        let database = open_database(cache_bytes, "a custom backend", |builder| {
            builder.create_with_backend(backend)
        })?;
        Self::from_database(database, None, None)
    }

    /// Opens (or creates) the store on custom backends for its file and its commit log
    /// (a simulated disk's two files, say), the log sized by `config`.
    pub fn with_backends(
        backend: impl StorageBackend,
        log: impl StorageBackend,
        config: WalConfig,
    ) -> Result<Self, StorageError> {
        let database = open_database(CACHE_BYTES, "a custom backend", |builder| {
            builder.create_with_backend(backend)
        })?;
        Self::from_database(database, None, Some((Box::new(log), config)))
    }

    /// Opens (or creates) the store in the file at `path` (with its commit log), counting
    /// its commits, fsyncs and bytes written — of both files — into `counters` (for
    /// benchmarks).
    pub fn open_counted(
        path: impl AsRef<Path>,
        counters: Arc<StorageCounters>,
    ) -> Result<Self, StorageError> {
        let path = path.as_ref();
        let new = !path.exists();
        let backend = redb::backends::FileBackend::new(open_file(path)?).map_err(redb_error)?;
        let backend = CountingBackend::new(backend, Arc::clone(&counters));
        let name = path.display().to_string();
        let database = open_database(CACHE_BYTES, &name, |builder| {
            builder.create_with_backend(backend)
        })?;
        let config = WalConfig::default();
        let log =
            redb::backends::FileBackend::new(wal_file(path, config, new)?).map_err(redb_error)?;
        let log = CountingBackend::new(log, Arc::clone(&counters));
        Self::from_database(database, Some(counters), Some((Box::new(log), config)))
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
        log: Option<WalBackend>,
    ) -> Result<Self, StorageError> {
        guarded(|| Self::create_tables(&database))?;
        let log = match log {
            Some((backend, config)) => Some(parking_lot::Mutex::new(guarded(|| {
                open_log(&database, backend, config)
            })?)),
            None => None,
        };
        guarded(|| upgrade::record_deadlines_in_rows(&database))?;
        Ok(Self {
            inner: Arc::new(Inner {
                database: Some(database),
                stopped: AtomicBool::new(false),
                cause: OnceLock::new(),
                counters: counters.clone(),
                log,
                held: publication::Held::new(counters),
                ranges: shard_ranges::ShardRanges::default(),
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
            .run_writing(move |database| {
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
        // Forgotten first: until the new range is set below, commits read the table, in
        // write transactions ordered with this one.
        self.inner.ranges.forget(shard);
        let range = self
            .run_writing(move |database| {
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
        self.inner.ranges.set(shard, range);
        self.counted();
        Ok(range)
    }

    async fn commit(
        &self,
        writes: Vec<WorkflowWrite>,
    ) -> Result<Vec<Result<(), WriteRejection>>, StorageError> {
        // A write alone on a store with a log is one record and a few pages: it runs in
        // place. A group, and the checkpoint that may follow, are lent a thread.
        let blocking = if self.inner.log.is_some() && writes.len() <= IN_PLACE_COMMIT_WRITES_MAX {
            Blocking::InPlace
        } else {
            Blocking::Lent
        };
        let (results, checkpoint_due) = self
            .run_inner(blocking, move |inner| {
                let log = inner.log.as_ref().map(|log| (log, &inner.held));
                commit_sync(inner.database()?, log, &inner.ranges, writes)
            })
            .await?;
        if checkpoint_due {
            // The writes are durable (their record is synced) and visible: whatever the
            // checkpoint meets, they are acknowledged. A failed checkpoint stops the store,
            // and the next open replays the log.
            let checkpointed = self
                .run_inner(Blocking::Lent, |inner| match &inner.log {
                    Some(log) => checkpoint(inner.database()?, log, &inner.held),
                    None => Ok(()),
                })
                .await;
            if let Err(error) = checkpointed {
                self.stop(error.to_string());
            }
        }
        self.counted();
        Ok(results)
    }

    async fn load_execution(
        &self,
        key: &ExecutionKey,
    ) -> Result<Option<ExecutionRow>, StorageError> {
        self.get_latest(RunTable::Executions, &execution_key(key), |value| {
            value
                .map(|value| {
                    decoded(ExecutionRow::decode_under_key(value, key.clone()), || {
                        format!("execution {key:?}")
                    })
                })
                .transpose()
        })
    }

    async fn current_run(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
    ) -> Result<Option<CurrentRun>, StorageError> {
        self.get_latest(
            RunTable::CurrentRuns,
            &workflow_key(namespace, workflow_id),
            |value| {
                value
                    .map(|value| decode(value, || format!("current run of {workflow_id:?}")))
                    .transpose()
            },
        )
    }

    async fn read_history(
        &self,
        key: &ExecutionKey,
        first_event_id: EventId,
    ) -> Result<HistoryPage, StorageError> {
        let run_key = execution_key(key);
        self.read_run(&run_key, &history_page::TABLES, |view| {
            history_page::read(view, key, &run_key, first_event_id)
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
        self.get_latest(RunTable::Requests, &key, |value| {
            value
                .map(|value| decode_request(value, namespace, workflow_id, request_id))
                .transpose()
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
            .run_writing(move |database| put_namespace_sync(database, &record, expected))
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
                let row = decoded(
                    VisibilityRow::decode_under_key(&value, parse_execution_key(&key)?),
                    || format!("visibility row {key:02x?}"),
                )?;
                if query.matches(&row) {
                    rows.push(row);
                }
            }
            Ok(rows)
        })
        .await
    }
}
