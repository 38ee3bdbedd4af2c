//! A run's deadline kept in its stored [`ExecutionRow`], as tagged field 6.
//!
//! A store that keys deadline rows by time (the redb store) must find a run's deadline row
//! again to move or remove it. Kept in the run's own row — which every write of the run
//! rewrites anyway — it needs no index of its own: the write that puts the new row gets
//! the old one back, and with it the deadline row to remove. Decoding the row as an
//! [`ExecutionRow`] skips the field, so every other reader is unaffected; rows written
//! before it existed read as having none.

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use super::{ExecutionKey, ExecutionRow, ShardId};
use crate::codec::{self, DecodeError, EncodeError};
use crate::enums::WorkflowExecutionStatus;
use crate::ids::EventId;
use crate::time::Timestamp;

/// An [`ExecutionRow`]'s fields, borrowed and at their positions, then the deadline.
#[derive(Serialize)]
#[serde(rename = "ExecutionRow")]
struct RowWithDeadline<'a> {
    key: &'a ExecutionKey,
    shard: ShardId,
    db_version: u64,
    next_event_id: EventId,
    status: WorkflowExecutionStatus,
    #[serde(with = "serde_bytes")]
    state: &'a [u8],
    #[serde(skip_serializing_if = "Option::is_none")]
    deadline: Option<Timestamp>,
}

/// The deadline of a stored row; its other fields skipped.
#[derive(Deserialize)]
struct RowDeadline {
    _key: IgnoredAny,
    _shard: IgnoredAny,
    _db_version: IgnoredAny,
    _next_event_id: IgnoredAny,
    _status: IgnoredAny,
    _state: IgnoredAny,
    #[serde(default)]
    deadline: Option<Timestamp>,
}

impl ExecutionRow {
    /// The row's stored bytes with the run's `deadline` recorded in them (with `None`,
    /// exactly [`codec::encode`]'s bytes).
    pub fn encode_with_deadline(
        &self,
        deadline: Option<Timestamp>,
    ) -> Result<Vec<u8>, EncodeError> {
        codec::encode_view::<Self, _>(&RowWithDeadline {
            key: &self.key,
            shard: self.shard,
            db_version: self.db_version,
            next_event_id: self.next_event_id,
            status: self.status,
            state: &self.state,
            deadline,
        })
    }

    /// The deadline recorded in a stored row's bytes (`None` if none was, as in every row
    /// written before the field existed); the rest of the row is skipped, not copied.
    pub fn stored_deadline(row: &[u8]) -> Result<Option<Timestamp>, DecodeError> {
        codec::decode_view::<Self, RowDeadline>(row).map(|row| row.deadline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{Namespace, RunId, WorkflowId};

    fn row() -> ExecutionRow {
        ExecutionRow {
            key: ExecutionKey {
                namespace: Namespace::new("default").unwrap(),
                workflow_id: WorkflowId::new("order-1").unwrap(),
                run_id: RunId::from_u128(7),
            },
            shard: ShardId(3),
            db_version: 4,
            next_event_id: EventId::new(9).unwrap(),
            status: WorkflowExecutionStatus::Running,
            state: vec![1, 2, 3, 250],
        }
    }

    #[test]
    fn without_a_deadline_the_bytes_are_the_rows_own() {
        let row = row();
        let bytes = row.encode_with_deadline(None).unwrap();
        // Also the guard on field 6: a field added to the row before the deadline is
        // declared here changes the row's own bytes and fails this.
        assert_eq!(bytes, codec::encode(&row).unwrap());
        assert_eq!(ExecutionRow::stored_deadline(&bytes), Ok(None));
    }

    #[test]
    fn a_recorded_deadline_reads_back_and_the_row_decodes_as_before() {
        let row = row();
        let at = Timestamp::from_unix_nanos(1_700_000_000_123_456_789);
        let bytes = row.encode_with_deadline(Some(at)).unwrap();
        assert!(bytes.len() > codec::encode(&row).unwrap().len());
        assert_eq!(ExecutionRow::stored_deadline(&bytes), Ok(Some(at)));
        assert_eq!(codec::decode::<ExecutionRow>(&bytes), Ok(row));
        let view = super::super::StoredRun::decode(&bytes).unwrap();
        assert_eq!(view.db_version, 4);
    }

    #[test]
    fn bytes_that_are_not_a_row_are_an_error() {
        let at = Timestamp::from_unix_nanos(5);
        let bytes = row().encode_with_deadline(Some(at)).unwrap();
        for cut in [0, 1, 2, bytes.len() / 2, bytes.len() - 1] {
            assert!(
                ExecutionRow::stored_deadline(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let other = codec::encode(&crate::storage::CurrentRun {
            run_id: RunId::from_u128(1),
            status: WorkflowExecutionStatus::Running,
            start_request_id: None,
        })
        .unwrap();
        assert!(matches!(
            ExecutionRow::stored_deadline(&other),
            Err(DecodeError::WrongKind { .. })
        ));
    }
}
