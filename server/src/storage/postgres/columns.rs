//! Values to and from columns: a run id is 16 big-endian bytes (so byte order is numeric
//! order, as in redb's keys), times and u64 counters are `BIGINT`, a status is its index in
//! [`WorkflowExecutionStatus::ALL`], and record bodies are the project's versioned encoding.

use endure_core::codec::{self, Record};
use endure_core::storage::{
    DeadlineUpdate, ExecutionKey, StorageError, WorkflowWrite, WriteRejection,
};
use endure_core::time::Timestamp;
use endure_core::{EventId, Namespace, RunId, WorkflowExecutionStatus, WorkflowId};
use tokio_postgres::Row;

/// A run id as a column.
pub(super) fn run_bytes(run: RunId) -> Vec<u8> {
    run.as_u128().to_be_bytes().to_vec()
}

/// A status as a column.
pub(super) fn status_code(status: WorkflowExecutionStatus) -> i16 {
    let index = WorkflowExecutionStatus::ALL
        .iter()
        .position(|candidate| *candidate == status)
        .unwrap_or_default();
    i16::try_from(index).unwrap_or_default()
}

/// A u64 (a version, an event id, a task id, nanoseconds) as a `BIGINT`; one beyond
/// `i64::MAX` is a malformed write.
pub(super) fn to_bigint(value: u64, what: &str) -> Result<i64, WriteRejection> {
    i64::try_from(value)
        .map_err(|_| WriteRejection::Malformed(format!("{what} {value} does not fit a BIGINT")))
}

/// A time as a `BIGINT` of nanoseconds since the epoch (exact, and orders as times do).
pub(super) fn time_bigint(time: Timestamp) -> Result<i64, WriteRejection> {
    to_bigint(time.unix_nanos(), "time")
}

/// Refuses a write holding a number no `BIGINT` column can hold (a task id, a version, an
/// event id or a time beyond `i64::MAX`), before anything of it is written.
pub(super) fn check_fits(write: &WorkflowWrite) -> Result<(), WriteRejection> {
    for run in &write.runs {
        to_bigint(run.row.db_version, "db version")?;
        to_bigint(run.row.next_event_id.get(), "event id")?;
        for event in &run.history {
            to_bigint(event.event_id.get(), "event id")?;
        }
        if let DeadlineUpdate::Set(time) = run.deadline {
            time_bigint(time)?;
        }
        for row in &run.dispatch_inserts {
            to_bigint(row.task_id, "task id")?;
        }
        for key in &run.dispatch_deletes {
            to_bigint(key.task_id, "task id")?;
        }
        if let Some(visibility) = &run.visibility {
            time_bigint(visibility.start_time)?;
            if let Some(close) = visibility.close_time {
                time_bigint(close)?;
            }
        }
    }
    Ok(())
}

/// Reads columns of a row, naming the row in errors.
pub(super) struct Columns<'a> {
    row: &'a Row,
    what: &'a dyn Fn() -> String,
}

impl<'a> Columns<'a> {
    /// Columns of `row`; `what` names it in errors.
    pub(super) fn new(row: &'a Row, what: &'a dyn Fn() -> String) -> Self {
        Self { row, what }
    }

    fn corrupt(&self, reason: impl std::fmt::Display) -> StorageError {
        StorageError::Corrupt {
            what: (self.what)(),
            reason: reason.to_string(),
        }
    }

    fn get<'b, T: tokio_postgres::types::FromSql<'b>>(
        &'b self,
        index: usize,
    ) -> Result<T, StorageError>
    where
        'a: 'b,
    {
        self.row
            .try_get(index)
            .map_err(|error| self.corrupt(format!("column {index}: {error}")))
    }

    /// A text column.
    pub(super) fn text(&self, index: usize) -> Result<String, StorageError> {
        self.get::<String>(index)
    }

    /// A nullable text column.
    pub(super) fn optional_text(&self, index: usize) -> Result<Option<String>, StorageError> {
        self.get::<Option<String>>(index)
    }

    /// A `BIGINT` that holds a u64.
    pub(super) fn unsigned(&self, index: usize) -> Result<u64, StorageError> {
        let value = self.get::<i64>(index)?;
        u64::try_from(value).map_err(|_| self.corrupt(format!("column {index} is {value}")))
    }

    /// An `INTEGER`.
    pub(super) fn integer(&self, index: usize) -> Result<u32, StorageError> {
        let value = self.get::<i32>(index)?;
        u32::try_from(value).map_err(|_| self.corrupt(format!("column {index} is {value}")))
    }

    /// A time column.
    pub(super) fn time(&self, index: usize) -> Result<Timestamp, StorageError> {
        self.unsigned(index).map(Timestamp::from_unix_nanos)
    }

    /// An event id column.
    pub(super) fn event_id(&self, index: usize) -> Result<EventId, StorageError> {
        let value = self.unsigned(index)?;
        EventId::new(value).ok_or_else(|| self.corrupt(format!("event id {value}")))
    }

    /// A run id column.
    pub(super) fn run_id(&self, index: usize) -> Result<RunId, StorageError> {
        let bytes = self.get::<&[u8]>(index)?;
        let bytes: [u8; 16] = bytes
            .try_into()
            .map_err(|_| self.corrupt(format!("run id of {} bytes", bytes.len())))?;
        Ok(RunId::from_u128(u128::from_be_bytes(bytes)))
    }

    /// A status column.
    pub(super) fn status(&self, index: usize) -> Result<WorkflowExecutionStatus, StorageError> {
        let code = self.get::<i16>(index)?;
        usize::try_from(code)
            .ok()
            .and_then(|index| WorkflowExecutionStatus::ALL.get(index).copied())
            .ok_or_else(|| self.corrupt(format!("status code {code}")))
    }

    /// A `BYTEA` column, as bytes.
    pub(super) fn bytes(&self, index: usize) -> Result<Vec<u8>, StorageError> {
        self.get::<Vec<u8>>(index)
    }

    /// A `BYTEA` column holding a record.
    pub(super) fn record<T: Record>(&self, index: usize) -> Result<T, StorageError> {
        let bytes = self.get::<&[u8]>(index)?;
        codec::decode(bytes).map_err(|error| self.corrupt(error))
    }

    /// Three columns from `first` on: namespace, workflow id, run id.
    pub(super) fn execution_key(&self, first: usize) -> Result<ExecutionKey, StorageError> {
        Ok(ExecutionKey {
            namespace: Namespace::new(self.text(first)?).map_err(|error| self.corrupt(error))?,
            workflow_id: WorkflowId::new(self.text(first + 1)?)
                .map_err(|error| self.corrupt(error))?,
            run_id: self.run_id(first + 2)?,
        })
    }
}

/// A record's body for a `BYTEA` column.
pub(super) fn encode<T: Record>(value: &T) -> Result<Vec<u8>, StorageError> {
    codec::encode(value).map_err(|error| StorageError::Corrupt {
        what: format!("a new {:?} record", T::KIND),
        reason: error.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_are_positions_and_distinct() {
        let codes: Vec<i16> = WorkflowExecutionStatus::ALL
            .iter()
            .map(|status| status_code(*status))
            .collect();
        assert_eq!(codes, (0..7).collect::<Vec<i16>>());
    }

    #[test]
    fn run_ids_order_as_bytes_order() {
        let low = run_bytes(RunId::from_u128(5));
        let high = run_bytes(RunId::from_u128(1 << 70));
        assert!(low < high);
        assert_eq!(low.len(), 16);
    }

    #[test]
    fn values_beyond_a_bigint_are_malformed_writes() {
        assert_eq!(to_bigint(7, "x"), Ok(7));
        assert!(to_bigint(u64::MAX, "task id").is_err());
    }
}
