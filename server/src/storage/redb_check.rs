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
    CurrentRun, DispatchRow, ExecutionRow, RequestRecord, StorageError, VisibilityRow,
};
use redb::{
    Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition, TableHandle,
};

use super::redb_store::{
    Bytes, CURRENT_RUNS, DEADLINES, DISPATCH, EXECUTIONS, HISTORY, NAMESPACES, REQUESTS,
    VISIBILITY, guarded, redb_error, unapplied_log_records, wal_path,
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
        (REQUESTS, record::<RequestRecord>),
        (VISIBILITY, record::<VisibilityRow>),
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
    Ok(report)
}

/// Checks one value's bytes, saying why they are not a record.
type Decoder = fn(&[u8]) -> Result<(), String>;

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
        if let Err(reason) = decoder(value.value()) {
            report.problem(format!("{name} {:02x?}: {reason}", key.value()));
        }
    }
    report.tables.push((name, count));
    Ok(())
}

fn record<T: Record>(bytes: &[u8]) -> Result<(), String> {
    codec::decode::<T>(bytes)
        .map(drop)
        .map_err(|error| error.to_string())
}

/// An execution row, and the machine inside it.
fn execution(bytes: &[u8]) -> Result<(), String> {
    let row: ExecutionRow = codec::decode(bytes).map_err(|error| error.to_string())?;
    ExecutionMachine::from_row(&row)
        .map(drop)
        .map_err(|error| format!("its execution machine: {error}"))
}

#[cfg(test)]
mod tests {
    use super::super::redb_store;
    use super::*;

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
}
