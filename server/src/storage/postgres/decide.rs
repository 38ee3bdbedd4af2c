//! The checks of one group commit, decided in memory: the commit reads every row its writes
//! are conditioned on in one round trip ([`Reads`] → [`Snapshot`]), then [`decide`] checks
//! each write in order against the snapshot as the earlier accepted writes leave it — the
//! same rules, in the same order, as the reference model. Pure: no IO.

use std::collections::{BTreeMap, BTreeSet};

use endure_core::storage::*;
use endure_core::{Namespace, RequestId, RunId, WorkflowId};

/// A workflow id within its namespace.
pub(super) type WorkflowKey = (Namespace, WorkflowId);

/// A request id within its workflow id.
pub(super) type RequestKey = (Namespace, WorkflowId, RequestId);

/// The keys a batch's checks read.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Reads {
    /// Shards whose range the writes carry.
    pub(super) shards: BTreeSet<ShardId>,
    /// Runs written or deleted.
    pub(super) executions: BTreeSet<ExecutionKey>,
    /// Workflow ids whose current run a write conditions on.
    pub(super) workflows: BTreeSet<WorkflowKey>,
    /// Request ids recorded.
    pub(super) requests: BTreeSet<RequestKey>,
}

/// What the database held for [`Reads`], before the batch.
#[derive(Debug, Default)]
pub(super) struct Snapshot {
    /// Each shard's range (absent: never acquired, range 0).
    pub(super) ranges: BTreeMap<ShardId, RangeId>,
    /// What is stored of each run.
    pub(super) executions: BTreeMap<ExecutionKey, StoredRun>,
    /// Each workflow id's current run.
    pub(super) current_runs: BTreeMap<WorkflowKey, RunId>,
    /// Each request id's record.
    pub(super) requests: BTreeMap<RequestKey, RequestRecord>,
}

/// The keys `writes` are checked against.
pub(super) fn reads(writes: &[WorkflowWrite]) -> Reads {
    let mut reads = Reads::default();
    for write in writes {
        reads.shards.insert(write.shard);
        if let Some(deletion) = &write.deletion {
            reads.executions.insert(deletion.key.clone());
            // A deletion forgets the request ids naming the run; a later write of the batch
            // may record one again, and reads it below.
        }
        for run in &write.runs {
            reads.executions.insert(run.row.key.clone());
        }
        if write.current_run.is_some() {
            reads
                .workflows
                .insert((write.namespace.clone(), write.workflow_id.clone()));
        }
        for record in &write.request_ids {
            reads.requests.insert(request_key(record));
        }
    }
    reads
}

fn request_key(record: &RequestRecord) -> RequestKey {
    (
        record.namespace.clone(),
        record.workflow_id.clone(),
        record.request_id.clone(),
    )
}

/// Checks each write in order; an accepted write changes `snapshot` as the database will
/// once it is applied, so a later write sees it. One result per write.
pub(super) fn decide(
    snapshot: &mut Snapshot,
    writes: &[WorkflowWrite],
) -> Result<Vec<Result<(), WriteRejection>>, StorageError> {
    let mut results = Vec::with_capacity(writes.len());
    for write in writes {
        let result = check(snapshot, write)?;
        if result.is_ok() {
            accept(snapshot, write);
        }
        results.push(result);
    }
    Ok(results)
}

/// The rules of every adapter ([`check_write`]), after the one of this store: every
/// number fits its column.
fn check(
    snapshot: &Snapshot,
    write: &WorkflowWrite,
) -> Result<Result<(), WriteRejection>, StorageError> {
    if let Err(rejection) = super::columns::check_fits(write) {
        return Ok(Err(rejection));
    }
    check_write(write, snapshot)
}

impl StoredState for Snapshot {
    fn range(&self, shard: ShardId) -> Result<RangeId, StorageError> {
        Ok(self.ranges.get(&shard).copied().unwrap_or(RangeId(0)))
    }

    fn execution(&self, key: &ExecutionKey) -> Result<Option<StoredRun>, StorageError> {
        Ok(self.executions.get(key).copied())
    }

    fn current_run(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
    ) -> Result<Option<RunId>, StorageError> {
        Ok(self
            .current_runs
            .get(&(namespace.clone(), workflow_id.clone()))
            .copied())
    }

    fn request(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
        request_id: &RequestId,
    ) -> Result<Option<RequestRecord>, StorageError> {
        let key = (namespace.clone(), workflow_id.clone(), request_id.clone());
        Ok(self.requests.get(&key).cloned())
    }
}

fn accept(snapshot: &mut Snapshot, write: &WorkflowWrite) {
    if let Some(deletion) = &write.deletion {
        let key = &deletion.key;
        snapshot.executions.remove(key);
        snapshot.requests.retain(|_, record| {
            !(record.namespace == key.namespace
                && record.workflow_id == key.workflow_id
                && record.run_id == key.run_id)
        });
        let workflow = (key.namespace.clone(), key.workflow_id.clone());
        if snapshot.current_runs.get(&workflow) == Some(&key.run_id) {
            snapshot.current_runs.remove(&workflow);
        }
    }
    for run in &write.runs {
        snapshot
            .executions
            .insert(run.row.key.clone(), StoredRun::from(&run.row));
    }
    if let Some(current) = &write.current_run {
        snapshot.current_runs.insert(
            (write.namespace.clone(), write.workflow_id.clone()),
            current.new.run_id,
        );
    }
    for record in &write.request_ids {
        snapshot
            .requests
            .insert(request_key(record), record.clone());
    }
}

#[cfg(test)]
mod tests {
    use endure_core::WorkflowExecutionStatus;

    use super::super::fixtures::{key_of, row_of, write_of};
    use super::*;

    fn key(run: u128) -> ExecutionKey {
        key_of("order", run)
    }

    fn row(run: u128, version: u64, status: WorkflowExecutionStatus) -> ExecutionRow {
        row_of(key(run), version, 1, status)
    }

    fn write(condition: RunCondition, row: ExecutionRow) -> WorkflowWrite {
        write_of(condition, row)
    }

    fn snapshot() -> Snapshot {
        Snapshot {
            ranges: BTreeMap::from([(ShardId(0), RangeId(1))]),
            ..Snapshot::default()
        }
    }

    #[test]
    fn a_later_write_of_the_batch_sees_an_earlier_one() {
        let mut snapshot = snapshot();
        let writes = [
            write(
                RunCondition::Create,
                row(1, 1, WorkflowExecutionStatus::Running),
            ),
            write(
                RunCondition::DbVersion(1),
                row(1, 2, WorkflowExecutionStatus::Running),
            ),
            // Stale: the first write made version 1, the second 2.
            write(
                RunCondition::DbVersion(1),
                row(1, 2, WorkflowExecutionStatus::Running),
            ),
        ];
        let results = decide(&mut snapshot, &writes).unwrap();
        assert_eq!(results[0], Ok(()));
        assert_eq!(results[1], Ok(()));
        assert!(matches!(
            results[2],
            Err(WriteRejection::ExecutionConditionFailed {
                expected: Some(1),
                actual: Some(2),
                ..
            })
        ));
        assert_eq!(snapshot.executions[&key(1)].db_version, 2);
    }

    #[test]
    fn a_stale_range_rejects_and_changes_nothing() {
        let mut snapshot = snapshot();
        let mut stale = write(
            RunCondition::Create,
            row(1, 1, WorkflowExecutionStatus::Running),
        );
        stale.range_id = RangeId(0);
        let results = decide(&mut snapshot, &[stale]).unwrap();
        assert!(matches!(
            results[0],
            Err(WriteRejection::ShardOwnershipLost { .. })
        ));
        assert!(snapshot.executions.is_empty());
    }

    #[test]
    fn a_deletion_frees_the_request_ids_and_current_run_naming_its_run() {
        let mut snapshot = snapshot();
        snapshot.executions.insert(
            key(1),
            StoredRun::from(&row(1, 3, WorkflowExecutionStatus::Completed)),
        );
        snapshot.current_runs.insert(
            (Namespace::default(), WorkflowId::new("order").unwrap()),
            RunId::from_u128(1),
        );
        let record = RequestRecord {
            namespace: Namespace::default(),
            workflow_id: WorkflowId::new("order").unwrap(),
            request_id: RequestId::new("r1").unwrap(),
            run_id: RunId::from_u128(1),
        };
        snapshot
            .requests
            .insert(request_key(&record), record.clone());
        let deletion = WorkflowWrite {
            runs: Vec::new(),
            deletion: Some(RunDeletion {
                key: key(1),
                db_version: 3,
            }),
            ..write(
                RunCondition::Create,
                row(1, 1, WorkflowExecutionStatus::Running),
            )
        };
        let mut again = write(
            RunCondition::Create,
            row(1, 1, WorkflowExecutionStatus::Running),
        );
        again.current_run = Some(CurrentRunWrite {
            expected: None,
            new: CurrentRun {
                run_id: RunId::from_u128(1),
                status: WorkflowExecutionStatus::Running,
                start_request_id: None,
            },
        });
        again.request_ids = vec![record];
        let writes = [deletion, again];
        let wanted = reads(&writes);
        assert_eq!(wanted.executions, BTreeSet::from([key(1)]));
        assert_eq!(wanted.workflows.len(), 1);
        assert_eq!(wanted.requests.len(), 1);
        assert_eq!(
            decide(&mut snapshot, &writes).unwrap(),
            vec![Ok(()), Ok(())]
        );
    }
}
