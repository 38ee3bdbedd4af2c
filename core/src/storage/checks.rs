//! The rules every adapter checks a write against, in one place: the write's own shape,
//! then its conditions on what is stored ([`check_write`], over an adapter's
//! [`StoredState`]), and namespace changes and run deletions.

use super::*;

/// What the checks read of a stored run: its version, where its history ends, its status
/// (never its state).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredRun {
    /// The row's db version.
    pub db_version: u64,
    /// The id its next event gets.
    pub next_event_id: EventId,
    /// Its status.
    pub status: WorkflowExecutionStatus,
}

impl StoredRun {
    /// Reads a stored [`ExecutionRow`]'s bytes as the checks need them: its key and state
    /// are skipped, not decoded or copied.
    pub fn decode(row: &[u8]) -> Result<Self, crate::codec::DecodeError> {
        let head: RowHead = crate::codec::decode_view::<ExecutionRow, _>(row)?;
        Ok(Self {
            db_version: head.db_version,
            next_event_id: head.next_event_id,
            status: head.status,
        })
    }
}

/// The fields of an [`ExecutionRow`] that [`StoredRun::decode`] reads, each at its
/// position in the row (tagged bodies number fields by position); the rest are skipped.
#[derive(Deserialize)]
struct RowHead {
    /// Absent from rows stored under their run's key (`ExecutionRow::encode_under_key`).
    #[serde(default)]
    _key: serde::de::IgnoredAny,
    _shard: serde::de::IgnoredAny,
    db_version: u64,
    next_event_id: EventId,
    status: WorkflowExecutionStatus,
}

impl From<&ExecutionRow> for StoredRun {
    fn from(row: &ExecutionRow) -> Self {
        Self {
            db_version: row.db_version,
            next_event_id: row.next_event_id,
            status: row.status,
        }
    }
}

/// What a write's conditions read, as the adapter's tables hold it — including what earlier
/// writes of the same commit changed. The in-memory model reads its maps, redb its open
/// write transaction, PostgreSQL the rows it read for the batch.
pub trait StoredState {
    /// The shard's current range (`RangeId(0)` if it was never acquired).
    fn range(&self, shard: ShardId) -> Result<RangeId, StorageError>;
    /// What is stored of the run.
    fn execution(&self, key: &ExecutionKey) -> Result<Option<StoredRun>, StorageError>;
    /// The workflow id's current run.
    fn current_run(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
    ) -> Result<Option<RunId>, StorageError>;
    /// The record of a request id.
    fn request(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
        request_id: &RequestId,
    ) -> Result<Option<RequestRecord>, StorageError>;
}

/// Checks `write` against `stored`, in the order every adapter reports rejections: its
/// shape, the shard's range, the deletion's condition, each run's condition and history,
/// the current run, the request ids. `Ok(Err(_))`: rejected, nothing of it to write.
pub fn check_write(
    write: &WorkflowWrite,
    stored: &impl StoredState,
) -> Result<Result<(), WriteRejection>, StorageError> {
    if let Err(rejection) = check_write_shape(write) {
        return Ok(Err(rejection));
    }
    let actual = stored.range(write.shard)?;
    if actual != write.range_id {
        return Ok(Err(WriteRejection::ShardOwnershipLost {
            shard: write.shard,
            expected: write.range_id,
            actual,
        }));
    }
    if let Some(deletion) = &write.deletion {
        let row = stored.execution(&deletion.key)?;
        if let Err(rejection) = check_run_deletion(&deletion.key, deletion.db_version, row) {
            return Ok(Err(rejection));
        }
    }
    for run in &write.runs {
        let row = stored.execution(&run.row.key)?;
        if let Err(rejection) = check_run_condition(run, row) {
            return Ok(Err(rejection));
        }
    }
    if let Some(current) = &write.current_run {
        let actual = stored.current_run(&write.namespace, &write.workflow_id)?;
        if actual != current.expected {
            return Ok(Err(WriteRejection::CurrentRunConditionFailed {
                expected: current.expected,
                actual,
            }));
        }
    }
    for record in &write.request_ids {
        if let Some(existing) =
            stored.request(&record.namespace, &record.workflow_id, &record.request_id)?
        {
            return Ok(Err(WriteRejection::DuplicateRequestId(existing)));
        }
    }
    Ok(Ok(()))
}

/// Checks a run's condition against its stored row, and that its history continues the
/// stored one.
pub fn check_run_condition(
    run: &RunWrite,
    stored: Option<StoredRun>,
) -> Result<(), WriteRejection> {
    let ok = match (run.condition, stored) {
        (RunCondition::Create, None) => true,
        (RunCondition::DbVersion(version), Some(row)) => row.db_version == version,
        _ => false,
    };
    if !ok {
        return Err(WriteRejection::ExecutionConditionFailed {
            key: run.row.key.clone(),
            expected: match run.condition {
                RunCondition::Create => None,
                RunCondition::DbVersion(version) => Some(version),
            },
            actual: stored.map(|row| row.db_version),
        });
    }
    let first_expected = expected_first_event_id(stored);
    let first = run
        .history
        .first()
        .map_or(run.row.next_event_id, |event| event.event_id);
    if first != first_expected {
        return Err(WriteRejection::Malformed(format!(
            "history of {:?} continues at {first}; the run's next event is {first_expected}",
            run.row.key
        )));
    }
    Ok(())
}

/// Checks a namespace change against the stored record: the condition, and a version one
/// above it. Adapters call it before writing.
pub fn check_namespace_condition(
    record: &NamespaceRecord,
    expected: Option<u64>,
    stored: Option<&NamespaceRecord>,
) -> Result<(), WriteRejection> {
    let actual = stored.map(|stored| stored.version);
    if actual != expected {
        return Err(WriteRejection::NamespaceConditionFailed {
            name: record.name.clone(),
            expected,
            actual,
        });
    }
    if record.version != expected.map_or(1, |version| version.saturating_add(1)) {
        return Err(WriteRejection::Malformed(format!(
            "namespace version {} does not follow {expected:?}",
            record.version
        )));
    }
    Ok(())
}

/// Checks a run deletion against the stored row: the run must be closed and at
/// `db_version`. `Ok(false)`: the run is already gone.
pub fn check_run_deletion(
    key: &ExecutionKey,
    db_version: u64,
    stored: Option<StoredRun>,
) -> Result<bool, WriteRejection> {
    let Some(stored) = stored else {
        return Ok(false);
    };
    if stored.db_version != db_version {
        return Err(WriteRejection::ExecutionConditionFailed {
            key: key.clone(),
            expected: Some(db_version),
            actual: Some(stored.db_version),
        });
    }
    if !stored.status.is_closed() {
        return Err(WriteRejection::Malformed(format!(
            "run {key:?} is {:?}; only closed runs are deleted",
            stored.status
        )));
    }
    Ok(true)
}

/// Checks what a write must satisfy whatever is stored: one or two distinct runs of the
/// write's workflow id, new db versions one above the condition, history contiguous and
/// ending just before the row's next event id. Adapters call it first.
pub fn check_write_shape(write: &WorkflowWrite) -> Result<(), WriteRejection> {
    let malformed = |reason: String| Err(WriteRejection::Malformed(reason));
    if let Some(deletion) = &write.deletion {
        let key = &deletion.key;
        if !write.runs.is_empty() || write.current_run.is_some() || !write.request_ids.is_empty() {
            return malformed("a deletion is a write of its own".into());
        }
        if key.namespace != write.namespace || key.workflow_id != write.workflow_id {
            return malformed(format!("run {key:?} is not of the write's workflow id"));
        }
        return Ok(());
    }
    if write.runs.is_empty() || write.runs.len() > 2 {
        return malformed(format!(
            "{} runs; a write changes one or two",
            write.runs.len()
        ));
    }
    if write.runs.len() == 2 && write.runs[0].row.key.run_id == write.runs[1].row.key.run_id {
        return malformed("the same run twice".into());
    }
    for run in &write.runs {
        let key = &run.row.key;
        if key.namespace != write.namespace || key.workflow_id != write.workflow_id {
            return malformed(format!("run {key:?} is not of the write's workflow id"));
        }
        let expected_version = match run.condition {
            RunCondition::Create => 1,
            RunCondition::DbVersion(version) => version.saturating_add(1),
        };
        if run.row.db_version != expected_version {
            return malformed(format!(
                "new db version {} does not follow the condition {:?}",
                run.row.db_version, run.condition
            ));
        }
        if let Some(last) = run.history.last() {
            let dense = run
                .history
                .windows(2)
                .all(|pair| pair[1].event_id == pair[0].event_id.next());
            if !dense || run.row.next_event_id != last.event_id.next() {
                return malformed(format!(
                    "history of {key:?} is not contiguous up to next_event_id"
                ));
            }
        }
        if run.dispatch_inserts.iter().any(|row| &row.execution != key) {
            return malformed(format!("a dispatch row of {key:?} names another run"));
        }
    }
    Ok(())
}

/// The id the first appended event must have, given the stored row (or none).
pub fn expected_first_event_id(stored: Option<StoredRun>) -> EventId {
    stored.map_or(EventId::FIRST, |row| row.next_event_id)
}
