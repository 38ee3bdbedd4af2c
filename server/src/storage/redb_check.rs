//! `endure admin check`: a whole-file check of a redb store that no server has open. redb
//! first verifies every page's checksum (an integrity check at open, repairing only what
//! it can rebuild: its own allocator state); then every record of every table is decoded
//! with the project's codec, and each run's execution machine too, so a page that is
//! well formed but holds bytes Endure cannot read is found before the engine trips on it.
//! The write-ahead log beside the file (`<file>-wal`) is read too: its records that the
//! file does not hold yet (after a crash; the next open replays them) are counted, and
//! each must parse.

use std::path::Path;

use endure_core::codec::{self, Record};
use endure_core::execution::ExecutionMachine;
use endure_core::history::History;
use endure_core::namespace::NamespaceRecord;
use endure_core::storage::{
    CurrentRun, DispatchRow, ExecutionRow, RequestRecord, StorageError, VisibilityRow, tail_events,
};
use redb::{
    Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition, TableHandle,
};

use super::keys::{deadline_key, parse_execution_key};
use super::redb_store::{
    Bytes, CURRENT_RUNS, DEADLINE_INDEX, DEADLINES, DISPATCH, EXECUTIONS, HISTORY, NAMESPACES,
    REQUESTS, VISIBILITY, guarded, redb_error, unapplied_log_records, wal_path,
};

/// Most problems a check lists; it counts the rest.
pub const PROBLEMS_LISTED_MAX: usize = 100;

/// What a check found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Each table with its number of records, in a fixed order.
    pub tables: Vec<(String, u64)>,
    /// Records that do not decode (at most [`PROBLEMS_LISTED_MAX`]), each naming its table
    /// and key.
    pub problems: Vec<String>,
    /// Problems found in all (more than listed when there were many).
    pub problem_count: u64,
    /// Records of the write-ahead log that the file does not hold yet: the next open of
    /// the store replays them (0 after a clean close).
    pub log_records: u64,
}

impl CheckReport {
    /// Whether the file is sound: every page verified and every record decoded.
    pub fn is_sound(&self) -> bool {
        self.problem_count == 0
    }

    fn problem(&mut self, problem: String) {
        self.problem_count += 1;
        if self.problems.len() < PROBLEMS_LISTED_MAX {
            self.problems.push(problem);
        }
    }
}

/// Checks the store in the file at `path` (see the module docs). Fails with
/// [`StorageError::InUse`] while a server has the file open, and with a corruption error
/// when redb's page check fails.
pub fn check(path: &Path) -> Result<CheckReport, StorageError> {
    guarded(|| {
        let database = Database::builder()
            .set_check_integrity_on_open(true)
            .open(path)
            .map_err(redb_error)?;
        let mut report = decode_everything(&database)?;
        let (records, problems) = unapplied_log_records(&database, &wal_path(path))?;
        report.log_records = records;
        for problem in problems {
            report.problem(problem);
        }
        Ok(report)
    })
}

fn decode_everything(database: &Database) -> Result<CheckReport, StorageError> {
    let transaction = database.begin_read().map_err(redb_error)?;
    let mut report = CheckReport::default();
    let tables: [(TableDefinition<'static, Bytes, Bytes>, Decoder); 7] = [
        (EXECUTIONS, execution),
        (CURRENT_RUNS, record::<CurrentRun>),
        (HISTORY, record::<History>),
        (DISPATCH, record::<DispatchRow>),
        (REQUESTS, request),
        (VISIBILITY, visibility),
        (NAMESPACES, record::<NamespaceRecord>),
    ];
    for (table, decoder) in tables {
        decode_table(&transaction, table, decoder, &mut report)?;
    }
    let deadlines = transaction.open_table(DEADLINES).map_err(redb_error)?;
    report.tables.push((
        DEADLINES.name().to_owned(),
        deadlines.len().map_err(redb_error)?,
    ));
    let old_layout = transaction
        .list_tables()
        .map_err(redb_error)?
        .any(|table| table.name() == DEADLINE_INDEX.name());
    if !old_layout {
        check_deadlines(&transaction, &deadlines, &mut report)?;
    }
    Ok(report)
}

/// Every deadline a run's row records has its deadline row, and every deadline row is
/// recorded by its run's row (a store of the older layout, whose index the next open folds
/// into the rows, is not checked).
fn check_deadlines(
    transaction: &redb::ReadTransaction,
    deadlines: &redb::ReadOnlyTable<Bytes, ()>,
    report: &mut CheckReport,
) -> Result<(), StorageError> {
    let executions = transaction.open_table(EXECUTIONS).map_err(redb_error)?;
    let mut recorded = 0;
    for entry in executions.iter().map_err(redb_error)? {
        let (key, value) = entry.map_err(redb_error)?;
        // A row that does not decode is reported with its table.
        let (Ok(row), Ok(Some(time))) = (
            stored_execution(key.value(), value.value()),
            ExecutionRow::stored_deadline(value.value()),
        ) else {
            continue;
        };
        recorded += 1;
        let key = deadline_key(row.shard, time, &row.key);
        if deadlines.get(key.as_slice()).map_err(redb_error)?.is_none() {
            report.problem(format!(
                "execution {:?} records its deadline at {time:?}, which has no deadline row",
                row.key
            ));
        }
    }
    let rows = deadlines.len().map_err(redb_error)?;
    if rows > recorded {
        report.problem(format!(
            "{} deadline rows are no run's recorded deadline",
            rows - recorded
        ));
    }
    Ok(())
}

/// Checks one value's bytes (under its key), saying why they are not a record.
type Decoder = fn(&[u8], &[u8]) -> Result<(), String>;

fn decode_table(
    transaction: &redb::ReadTransaction,
    table: TableDefinition<'static, Bytes, Bytes>,
    decoder: Decoder,
    report: &mut CheckReport,
) -> Result<(), StorageError> {
    let name = table.name().to_owned();
    let opened = transaction.open_table(table).map_err(redb_error)?;
    let mut count = 0;
    for entry in opened.iter().map_err(redb_error)? {
        let (key, value) = entry.map_err(redb_error)?;
        count += 1;
        if let Err(reason) = decoder(key.value(), value.value()) {
            report.problem(format!("{name} {:02x?}: {reason}", key.value()));
        }
    }
    report.tables.push((name, count));
    Ok(())
}

fn record<T: Record>(_key: &[u8], bytes: &[u8]) -> Result<(), String> {
    codec::decode::<T>(bytes)
        .map(drop)
        .map_err(|error| error.to_string())
}

/// A request record, stored as its run (or whole, as before).
fn request(_key: &[u8], bytes: &[u8]) -> Result<(), String> {
    RequestRecord::stored_run_id(bytes)
        .map(drop)
        .map_err(|error| error.to_string())
}

/// A visibility row, stored without the run its key holds (or whole, as before).
fn visibility(key: &[u8], bytes: &[u8]) -> Result<(), String> {
    let execution = parse_execution_key(key).map_err(|error| error.to_string())?;
    VisibilityRow::decode_under_key(bytes, execution)
        .map(drop)
        .map_err(|error| error.to_string())
}

/// The execution row stored as `bytes` under `key` (without its key, or whole as before).
fn stored_execution(key: &[u8], bytes: &[u8]) -> Result<ExecutionRow, String> {
    let key = parse_execution_key(key).map_err(|error| error.to_string())?;
    ExecutionRow::decode_under_key(bytes, key).map_err(|error| error.to_string())
}

/// An execution row, the history tail it keeps, and the machine inside it.
fn execution(key: &[u8], bytes: &[u8]) -> Result<(), String> {
    let row = stored_execution(key, bytes)?;
    let extras = ExecutionRow::stored_extras(bytes).map_err(|error| error.to_string())?;
    tail_events(extras.history_tail.as_deref())
        .map_err(|error| format!("its history tail: {error}"))?;
    ExecutionMachine::from_row(&row)
        .map(drop)
        .map_err(|error| format!("its execution machine: {error}"))
}

#[cfg(test)]
mod tests {
    use super::super::redb_store;
    use super::*;

    /// A new run's row of workflow `name` (its state no machine).
    fn new_run(name: &str) -> ExecutionRow {
        use endure_core::storage::{ExecutionKey, ShardId};
        use endure_core::{EventId, Namespace, RunId, WorkflowExecutionStatus, WorkflowId};
        ExecutionRow {
            key: ExecutionKey {
                namespace: Namespace::new("default").unwrap(),
                workflow_id: WorkflowId::new(name).unwrap(),
                run_id: RunId::from_u128(1),
            },
            shard: ShardId(0),
            db_version: 1,
            next_event_id: EventId::FIRST,
            status: WorkflowExecutionStatus::Running,
            state: Vec::new(),
        }
    }

    #[test]
    fn a_new_store_is_sound_and_a_store_in_use_is_refused() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("store.redb");
        let store = redb_store::RedbStorage::open(&path).unwrap();
        assert_eq!(check(&path), Err(StorageError::InUse));
        drop(store);
        let report = check(&path).unwrap();
        assert!(report.is_sound(), "{report:?}");
        assert_eq!(report.tables.len(), 8);
        assert_eq!(
            report.log_records, 0,
            "a clean close leaves nothing to replay"
        );
    }

    /// A run's recorded deadline without its deadline row, and a deadline row no run
    /// records, are each a problem.
    #[test]
    fn deadlines_must_match_the_rows_that_record_them() {
        use endure_core::storage::*;
        use endure_core::time::Timestamp;

        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("store.redb");
        let row = new_run("timer");
        let at = Timestamp::from_unix_seconds(1_800_000_000);
        {
            let store = redb_store::RedbStorage::open(&path).unwrap();
            let runtime = tokio::runtime::Runtime::new().unwrap();
            let range = runtime.block_on(store.acquire_shard(ShardId(0))).unwrap();
            let write = WorkflowWrite::of_run(
                range,
                RunCondition::Create,
                row.clone(),
                Vec::new(),
                DeadlineUpdate::Set(at),
            );
            assert_eq!(
                runtime.block_on(store.commit(vec![write])).unwrap(),
                [Ok(())]
            );
        }
        // The row's state is no machine: one problem of its own, before any of deadlines.
        let machine_only = check(&path).unwrap();
        assert_eq!(machine_only.problem_count, 1, "{machine_only:?}");
        assert!(machine_only.problems[0].contains("execution machine"));

        let change = |put: Option<Timestamp>, remove: Option<Timestamp>| {
            let database = Database::create(&path).unwrap();
            let transaction = database.begin_write().unwrap();
            {
                let mut table = transaction.open_table(DEADLINES).unwrap();
                if let Some(time) = put {
                    let key = deadline_key(row.shard, time, &row.key);
                    table.insert(key.as_slice(), ()).unwrap();
                }
                if let Some(time) = remove {
                    let key = deadline_key(row.shard, time, &row.key);
                    table.remove(key.as_slice()).unwrap();
                }
            }
            transaction.commit().unwrap();
        };
        change(None, Some(at));
        let report = check(&path).unwrap();
        assert_eq!(report.problem_count, 2, "{report:?}");
        assert!(
            report.problems[1].contains("has no deadline row"),
            "{report:?}"
        );

        let elsewhere = Timestamp::from_unix_seconds(1_900_000_000);
        change(Some(at), None);
        change(Some(elsewhere), None);
        let report = check(&path).unwrap();
        assert_eq!(report.problem_count, 2, "{report:?}");
        assert!(
            report.problems[1].contains("1 deadline rows are no run's"),
            "{report:?}"
        );
    }

    /// A run's row whose history tail does not decode is a problem, named as such.
    #[test]
    fn a_history_tail_that_does_not_decode_is_a_problem() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("store.redb");
        drop(redb_store::RedbStorage::open(&path).unwrap());
        let row = new_run("tail");
        // A History record announcing nine events and holding none.
        let value = row.encode_under_key(None, Some(&[5, 2, 9])).unwrap();
        let database = Database::create(&path).unwrap();
        let transaction = database.begin_write().unwrap();
        {
            let mut table = transaction.open_table(EXECUTIONS).unwrap();
            let key = super::super::keys::execution_key(&row.key);
            table.insert(key.as_slice(), value.as_slice()).unwrap();
        }
        transaction.commit().unwrap();
        drop(database);
        let report = check(&path).unwrap();
        assert_eq!(report.problem_count, 1, "{report:?}");
        assert!(
            report.problems[0].contains("its history tail"),
            "{report:?}"
        );
    }
}
