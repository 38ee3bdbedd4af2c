//! Writes for the unit tests of the store's pure parts (the plan, the careful checks, the
//! one-round-trip check): one run of one workflow id, on shard 0 at range 1.

use endure_core::storage::*;
use endure_core::{EventId, Namespace, RunId, WorkflowExecutionStatus, WorkflowId};

/// Run `run` of `workflow` in the default namespace.
pub(super) fn key_of(workflow: &str, run: u128) -> ExecutionKey {
    ExecutionKey {
        namespace: Namespace::default(),
        workflow_id: WorkflowId::new(workflow).unwrap(),
        run_id: RunId::from_u128(run),
    }
}

/// The row of `key` at `version`, its next event `next`.
pub(super) fn row_of(
    key: ExecutionKey,
    version: u64,
    next: u64,
    status: WorkflowExecutionStatus,
) -> ExecutionRow {
    ExecutionRow {
        key,
        shard: ShardId(0),
        db_version: version,
        next_event_id: EventId::new(next).unwrap(),
        status,
        state: b"state".to_vec(),
    }
}

/// A write of `row` alone under `condition`: no history, deadline kept, no backlog rows,
/// no visibility row, current run or request ids.
pub(super) fn write_of(condition: RunCondition, row: ExecutionRow) -> WorkflowWrite {
    WorkflowWrite::of_run(RangeId(1), condition, row, Vec::new(), DeadlineUpdate::Keep)
}
