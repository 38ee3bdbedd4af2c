//! Rows stored under a key that already holds some of their fields, written without them.
//!
//! The redb store keys a request record by its namespace, workflow id and request id, and a
//! visibility row by its run. Writing those fields again in the value made each of these
//! rows nearly twice its size, in every idle run. So the stored value is the record with
//! those fields left out — their numbers kept, as for any field skipped in the tagged
//! encoding (docs/format.md) — and reading it back takes them from the key. A value that
//! still holds them, as every row written before did, reads the same way: the view skips
//! them. A store that does not key rows by these fields (PostgreSQL's, with its columns)
//! keeps writing whole records.

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use super::{RequestRecord, VisibilityRow};
use crate::codec::{self, DecodeError, EncodeError};
use crate::enums::WorkflowExecutionStatus;
use crate::ids::{
    ExecutionKey, Namespace, RequestId, RunId, TaskQueueName, WorkflowId, WorkflowType,
};
use crate::payload::Memo;
use crate::search_attributes::SearchAttributes;
use crate::time::Timestamp;

/// A [`RequestRecord`] without the fields its key holds: the run alone, at field 3.
#[derive(Serialize)]
#[serde(rename = "RequestRecord")]
struct RequestValue<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<()>,
    #[serde(skip_serializing_if = "Option::is_none")]
    workflow_id: Option<()>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<()>,
    run_id: &'a RunId,
}

/// The run of a stored request record, whether or not it holds its key's fields.
#[derive(Deserialize)]
struct StoredRequest {
    #[serde(default)]
    _namespace: IgnoredAny,
    #[serde(default)]
    _workflow_id: IgnoredAny,
    #[serde(default)]
    _request_id: IgnoredAny,
    run_id: RunId,
}

impl RequestRecord {
    /// The value to store under a key of the namespace, workflow id and request id: the
    /// record without them.
    pub fn encode_under_key(&self) -> Result<Vec<u8>, EncodeError> {
        codec::encode_view::<Self, _>(&RequestValue {
            namespace: None,
            workflow_id: None,
            request_id: None,
            run_id: &self.run_id,
        })
    }

    /// The run of a stored value (of [`RequestRecord::encode_under_key`] or of a whole
    /// record).
    pub fn stored_run_id(value: &[u8]) -> Result<RunId, DecodeError> {
        codec::decode_view::<Self, StoredRequest>(value).map(|stored| stored.run_id)
    }

    /// The record stored as `value` under the key of `namespace`, `workflow_id` and
    /// `request_id`.
    pub fn decode_under_key(
        value: &[u8],
        namespace: &Namespace,
        workflow_id: &WorkflowId,
        request_id: &RequestId,
    ) -> Result<Self, DecodeError> {
        Ok(Self {
            namespace: namespace.clone(),
            workflow_id: workflow_id.clone(),
            request_id: request_id.clone(),
            run_id: Self::stored_run_id(value)?,
        })
    }
}

/// A [`VisibilityRow`] without its run (field 0), the other fields borrowed.
#[derive(Serialize)]
#[serde(rename = "VisibilityRow")]
struct VisibilityValue<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    execution: Option<()>,
    workflow_type: &'a WorkflowType,
    task_queue: &'a TaskQueueName,
    status: WorkflowExecutionStatus,
    start_time: Timestamp,
    close_time: Option<Timestamp>,
    memo: &'a Memo,
    search_attributes: &'a SearchAttributes,
}

/// A stored visibility row's fields but its run, whether or not it holds the run.
#[derive(Deserialize)]
struct StoredVisibility {
    #[serde(default)]
    _execution: IgnoredAny,
    workflow_type: WorkflowType,
    task_queue: TaskQueueName,
    status: WorkflowExecutionStatus,
    start_time: Timestamp,
    close_time: Option<Timestamp>,
    memo: Memo,
    search_attributes: SearchAttributes,
}

impl VisibilityRow {
    /// The value to store under a key of the run: the row without it.
    pub fn encode_under_key(&self) -> Result<Vec<u8>, EncodeError> {
        codec::encode_view::<Self, _>(&VisibilityValue {
            execution: None,
            workflow_type: &self.workflow_type,
            task_queue: &self.task_queue,
            status: self.status,
            start_time: self.start_time,
            close_time: self.close_time,
            memo: &self.memo,
            search_attributes: &self.search_attributes,
        })
    }

    /// The row stored as `value` under the key of `execution`.
    pub fn decode_under_key(value: &[u8], execution: ExecutionKey) -> Result<Self, DecodeError> {
        let stored = codec::decode_view::<Self, StoredVisibility>(value)?;
        Ok(Self {
            execution,
            workflow_type: stored.workflow_type,
            task_queue: stored.task_queue,
            status: stored.status,
            start_time: stored.start_time,
            close_time: stored.close_time,
            memo: stored.memo,
            search_attributes: stored.search_attributes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::Payload;
    use crate::search_attributes::SearchAttributeValue;

    fn request() -> RequestRecord {
        RequestRecord {
            namespace: Namespace::new("default").unwrap(),
            workflow_id: WorkflowId::new("order-1").unwrap(),
            request_id: RequestId::new("9eddf6ff2fc94b40e70fea50d9ec0ade").unwrap(),
            run_id: RunId::from_u128(0x18ee_19a5_e298_c844_0001_0016_0000_0007),
        }
    }

    fn visibility(close_time: Option<Timestamp>) -> VisibilityRow {
        let memo = Memo::new().with("note", Payload::json(&"first").unwrap());
        let mut search_attributes = SearchAttributes::default();
        search_attributes.insert("CustomerId", SearchAttributeValue::Keyword("c-9".into()));
        VisibilityRow {
            execution: request_key_run(),
            workflow_type: WorkflowType::new("Order").unwrap(),
            task_queue: TaskQueueName::new("orders").unwrap(),
            status: WorkflowExecutionStatus::Completed,
            start_time: Timestamp::from_unix_nanos(1_700_000_000_000_000_000),
            close_time,
            memo,
            search_attributes,
        }
    }

    fn request_key_run() -> ExecutionKey {
        let record = request();
        ExecutionKey {
            namespace: record.namespace,
            workflow_id: record.workflow_id,
            run_id: record.run_id,
        }
    }

    #[test]
    fn a_request_record_is_stored_as_its_run_and_reads_back_whole() {
        let record = request();
        let value = record.encode_under_key().unwrap();
        let whole = codec::encode(&record).unwrap();
        // The version, kind, a one-entry map, the field number and a 16-byte binary.
        assert_eq!(value.len(), 2 + 1 + 1 + 2 + 16);
        assert!(
            value.len() * 3 < whole.len(),
            "{} vs {}",
            value.len(),
            whole.len()
        );
        let read = RequestRecord::decode_under_key(
            &value,
            &record.namespace,
            &record.workflow_id,
            &record.request_id,
        );
        assert_eq!(read, Ok(record.clone()));
        // A whole record, as stores wrote before, reads the same.
        assert_eq!(RequestRecord::stored_run_id(&whole), Ok(record.run_id));
    }

    #[test]
    fn a_visibility_row_is_stored_without_its_run_and_reads_back_whole() {
        for close_time in [
            None,
            Some(Timestamp::from_unix_nanos(1_700_000_100_000_000_000)),
        ] {
            let row = visibility(close_time);
            let value = row.encode_under_key().unwrap();
            let whole = codec::encode(&row).unwrap();
            assert!(
                value.len() + 35 < whole.len(),
                "{} vs {}",
                value.len(),
                whole.len()
            );
            let read = VisibilityRow::decode_under_key(&value, row.execution.clone());
            assert_eq!(read.as_ref(), Ok(&row));
            let old = VisibilityRow::decode_under_key(&whole, row.execution.clone());
            assert_eq!(old.as_ref(), Ok(&row));
        }
    }

    #[test]
    fn values_that_are_not_these_rows_are_errors() {
        let value = request().encode_under_key().unwrap();
        for cut in [0, 1, 2, value.len() - 1] {
            assert!(
                RequestRecord::stored_run_id(&value[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let row = visibility(None);
        let value = row.encode_under_key().unwrap();
        for cut in [0, 2, value.len() / 2, value.len() - 1] {
            assert!(
                VisibilityRow::decode_under_key(&value[..cut], row.execution.clone()).is_err(),
                "cut at {cut}"
            );
        }
        // Each is a record of its own kind: one is not read as the other.
        assert!(matches!(
            VisibilityRow::decode_under_key(&request().encode_under_key().unwrap(), row.execution),
            Err(DecodeError::WrongKind { .. })
        ));
        assert!(matches!(
            RequestRecord::stored_run_id(&value),
            Err(DecodeError::WrongKind { .. })
        ));
    }
}
