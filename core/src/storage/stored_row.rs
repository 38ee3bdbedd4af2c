//! A run's [`ExecutionRow`] as a store keyed by the run keeps it: without its key, with its
//! deadline and its history's tail.
//!
//! - **Without its key.** The store's key is the run (namespace, workflow id, run id), so
//!   the row's field 0 would say it again, in every run. The stored value leaves it out
//!   (its number kept, as for any field skipped in the tagged encoding), and reading takes
//!   it from the key ([`ExecutionRow::decode_under_key`]). A row written whole, as every
//!   row was before, reads the same way: the views skip field 0 whether or not it is there.
//! - **With its deadline, as tagged field 6.** A store that keys deadline rows by time (the
//!   redb store) must find a run's deadline row again to move or remove it. Kept in the
//!   run's own row — which every write of the run rewrites anyway — it needs no index of its
//!   own: the write reads the old row before putting the new one, and with it the deadline
//!   row to remove. Rows written before the field existed read as having none.
//! - **With its history's tail, as tagged field 7** (`history_tail.rs`): the events written
//!   since the run's last history batch, so that a write appends to the row it rewrites
//!   anyway instead of adding a batch row of its own.
//! - **Its state without the entries its key holds** (`stored_state.rs`): the state's
//!   leading namespace, workflow id and run id (and first run, when it is the same run) are
//!   left out, and field 8 says how many; reading puts them back, byte for byte.

use std::borrow::Cow;

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use super::stored_state::{restore_key, strip_key};
use super::{ExecutionKey, ExecutionRow, ShardId};
use crate::codec::{self, DecodeError, EncodeError};
use crate::enums::WorkflowExecutionStatus;
use crate::ids::EventId;
use crate::time::Timestamp;

/// An [`ExecutionRow`]'s fields but its key, borrowed and at their positions, then the
/// deadline.
#[derive(Serialize)]
#[serde(rename = "ExecutionRow")]
struct StoredValue<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a ExecutionKey>,
    shard: ShardId,
    db_version: u64,
    next_event_id: EventId,
    status: WorkflowExecutionStatus,
    #[serde(with = "serde_bytes")]
    state: &'a [u8],
    #[serde(skip_serializing_if = "Option::is_none")]
    deadline: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none", with = "serde_bytes")]
    history_tail: Option<&'a [u8]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state_without_key: Option<u8>,
}

/// A stored row's fields but its key (which it may or may not hold), and how many of its
/// state's leading entries were left out.
#[derive(Deserialize)]
struct StoredRow {
    #[serde(default)]
    _key: IgnoredAny,
    shard: ShardId,
    db_version: u64,
    next_event_id: EventId,
    status: WorkflowExecutionStatus,
    #[serde(with = "serde_bytes")]
    state: Vec<u8>,
    #[serde(default)]
    _deadline: IgnoredAny,
    #[serde(default)]
    _history_tail: IgnoredAny,
    /// How many leading entries of the state its key holds were left out.
    #[serde(default)]
    state_without_key: Option<u8>,
}

/// What a stored row holds besides its [`ExecutionRow`] (read by
/// [`ExecutionRow::stored_extras`]), its tail borrowed from the row's bytes where it can be.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredExtras<'a> {
    /// The run's deadline, if the row records one.
    pub deadline: Option<Timestamp>,
    /// The events since the run's last history batch, as a `History` record
    /// (`history_tail.rs`), if the row keeps any.
    pub history_tail: Option<Cow<'a, [u8]>>,
}

/// A stored row's deadline and history tail; its other fields skipped.
#[derive(Deserialize)]
struct RowExtras<'a> {
    #[serde(default)]
    _key: IgnoredAny,
    #[serde(default)]
    _shard: IgnoredAny,
    #[serde(default)]
    _db_version: IgnoredAny,
    #[serde(default)]
    _next_event_id: IgnoredAny,
    #[serde(default)]
    _status: IgnoredAny,
    #[serde(default)]
    _state: IgnoredAny,
    #[serde(default)]
    deadline: Option<Timestamp>,
    #[serde(default, borrow, with = "serde_bytes")]
    history_tail: Option<Cow<'a, [u8]>>,
}

impl ExecutionRow {
    /// The value to store under a key of the row's run: the row without its key, with the
    /// run's `deadline` and its `history_tail` recorded in it.
    pub fn encode_under_key(
        &self,
        deadline: Option<Timestamp>,
        history_tail: Option<&[u8]>,
    ) -> Result<Vec<u8>, EncodeError> {
        let stripped = strip_key(&self.state, &self.key);
        let (state, state_without_key) = match &stripped {
            Some((state, entries)) => (state.as_slice(), Some(*entries)),
            None => (self.state.as_slice(), None),
        };
        codec::encode_view::<Self, _>(&StoredValue {
            key: None,
            shard: self.shard,
            db_version: self.db_version,
            next_event_id: self.next_event_id,
            status: self.status,
            state,
            deadline,
            history_tail,
            state_without_key,
        })
    }

    /// The deadline and history tail recorded in a stored row's bytes (none of either in
    /// rows written before these fields existed); the row itself is skipped, and the tail
    /// is borrowed, not copied.
    pub fn stored_extras(row: &[u8]) -> Result<StoredExtras<'_>, DecodeError> {
        match codec::decode_view_in_place::<Self, RowExtras<'_>>(row) {
            Some(extras) => extras.map(|extras| StoredExtras {
                deadline: extras.deadline,
                history_tail: extras.history_tail,
            }),
            // A row of version 1–3 (or bytes that are no row): written before rows kept a
            // deadline or a tail, it has neither once it reads at all.
            None => super::StoredRun::decode(row).map(|_| StoredExtras::default()),
        }
    }

    /// The row stored as `value` under the key of the run `key` (a value of
    /// [`ExecutionRow::encode_under_key`], or a whole row as stores wrote before).
    pub fn decode_under_key(value: &[u8], key: ExecutionKey) -> Result<Self, DecodeError> {
        let stored = codec::decode_view::<Self, StoredRow>(value)?;
        let state = match stored.state_without_key {
            Some(entries) => restore_key(&stored.state, &key, entries)?,
            None => stored.state,
        };
        Ok(Self {
            key,
            shard: stored.shard,
            db_version: stored.db_version,
            next_event_id: stored.next_event_id,
            status: stored.status,
            state,
        })
    }

    /// The deadline recorded in a stored row's bytes (`None` if none was, as in every row
    /// written before the field existed); the rest of the row is skipped, not copied.
    pub fn stored_deadline(row: &[u8]) -> Result<Option<Timestamp>, DecodeError> {
        Self::stored_extras(row).map(|extras| extras.deadline)
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
    fn the_row_has_six_fields_before_the_deadline() {
        // The guard on field 6: a field added to the row before the deadline is declared
        // here makes the whole row's map longer than six entries, and fails this.
        let whole = codec::encode(&row()).unwrap();
        assert_eq!(whole[2], 0x80 | 6, "a fixmap of six fields");
    }

    #[test]
    fn a_stored_row_leaves_its_key_out_and_reads_back_whole() {
        let row = row();
        let whole = codec::encode(&row).unwrap();
        let value = row.encode_under_key(None, None).unwrap();
        assert!(
            value.len() + 20 < whole.len(),
            "{} vs {}",
            value.len(),
            whole.len()
        );
        assert_eq!(
            ExecutionRow::decode_under_key(&value, row.key.clone()),
            Ok(row.clone())
        );
        assert_eq!(ExecutionRow::stored_deadline(&value), Ok(None));
        // A whole row, as stores wrote before, reads the same.
        assert_eq!(
            ExecutionRow::decode_under_key(&whole, row.key.clone()),
            Ok(row.clone())
        );
        assert_eq!(ExecutionRow::stored_deadline(&whole), Ok(None));
        // Without its key the row is not an `ExecutionRow` on its own.
        assert!(codec::decode::<ExecutionRow>(&value).is_err());
    }

    #[test]
    fn a_recorded_deadline_reads_back_and_the_row_decodes_as_before() {
        let row = row();
        let at = Timestamp::from_unix_nanos(1_700_000_000_123_456_789);
        let bytes = row.encode_under_key(Some(at), None).unwrap();
        assert!(bytes.len() > row.encode_under_key(None, None).unwrap().len());
        assert_eq!(ExecutionRow::stored_deadline(&bytes), Ok(Some(at)));
        assert_eq!(
            ExecutionRow::decode_under_key(&bytes, row.key.clone()),
            Ok(row)
        );
        let view = super::super::StoredRun::decode(&bytes).unwrap();
        assert_eq!(view.db_version, 4);
    }

    #[test]
    fn a_runs_state_is_stored_without_its_key_and_read_back_as_given() {
        let state = include_bytes!("../../tests/golden/v5/execution-machine-quickstart.bin");
        let machine: crate::execution::ExecutionMachine = codec::decode(state).unwrap();
        let mut row = row();
        row.key = ExecutionKey {
            namespace: machine.namespace().clone(),
            workflow_id: machine.workflow_id().clone(),
            run_id: machine.run_id(),
        };
        row.state = state.to_vec();
        let at = Timestamp::from_unix_nanos(5);
        let bytes = row.encode_under_key(Some(at), Some(&[5, 2, 0])).unwrap();
        let whole = codec::encode(&row).unwrap();
        assert!(
            bytes.len() + 80 < whole.len(),
            "{} vs {}",
            bytes.len(),
            whole.len()
        );
        assert_eq!(
            ExecutionRow::decode_under_key(&bytes, row.key.clone()),
            Ok(row.clone())
        );
        assert_eq!(ExecutionRow::stored_deadline(&bytes), Ok(Some(at)));
        // Under another run's key the state does not open with that key: it is kept whole.
        let mut other = row.clone();
        other.key.run_id = RunId::from_u128(3);
        let bytes = other.encode_under_key(None, None).unwrap();
        assert_eq!(
            ExecutionRow::decode_under_key(&bytes, other.key.clone()),
            Ok(other)
        );
    }

    #[test]
    fn a_history_tail_reads_back_beside_the_deadline() {
        let row = row();
        let at = Timestamp::from_unix_nanos(1_700_000_000_123_456_789);
        let tail = [5, 2, 0];
        let bytes = row.encode_under_key(Some(at), Some(&tail)).unwrap();
        let extras = ExecutionRow::stored_extras(&bytes).unwrap();
        assert_eq!(extras.deadline, Some(at));
        assert_eq!(extras.history_tail.as_deref(), Some(&tail[..]));
        assert_eq!(ExecutionRow::stored_deadline(&bytes), Ok(Some(at)));
        assert_eq!(
            ExecutionRow::decode_under_key(&bytes, row.key.clone()),
            Ok(row.clone())
        );
        let neither = row.encode_under_key(None, None).unwrap();
        assert_eq!(
            ExecutionRow::stored_extras(&neither),
            Ok(StoredExtras::default())
        );
        let whole = codec::encode(&row).unwrap();
        assert_eq!(
            ExecutionRow::stored_extras(&whole),
            Ok(StoredExtras::default())
        );
        // The tail is read in place, not copied.
        assert!(matches!(extras.history_tail, Some(Cow::Borrowed(_))));
    }

    #[test]
    fn bytes_that_are_not_a_row_are_an_error() {
        let at = Timestamp::from_unix_nanos(5);
        let bytes = row().encode_under_key(Some(at), None).unwrap();
        for cut in [0, 1, 2, bytes.len() / 2, bytes.len() - 1] {
            assert!(
                ExecutionRow::stored_deadline(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
            assert!(
                ExecutionRow::decode_under_key(&bytes[..cut], row().key).is_err(),
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
        assert!(matches!(
            ExecutionRow::decode_under_key(&other, row().key),
            Err(DecodeError::WrongKind { .. })
        ));
    }
}
