//! The outbox rows a shard's runs still have to deliver, kept from the shard's own writes
//! (rows added when a write that holds them is durable, removed when the write that
//! acknowledges them is), so deciding whether a closed run may be deleted reads nothing.

use std::collections::BTreeMap;

use endure_core::storage::{DispatchKey, DispatchRow, ExecutionKey};

/// The outbox rows a shard's runs have pending.
#[derive(Debug, Default)]
pub(super) struct OutboxRows {
    rows: BTreeMap<DispatchKey, ExecutionKey>,
    per_run: BTreeMap<ExecutionKey, usize>,
}

impl OutboxRows {
    /// A row was written.
    pub(super) fn added(&mut self, row: &DispatchRow) {
        if self.rows.insert(row.key(), row.execution.clone()).is_none() {
            metrics::gauge!(crate::engine::instruments::OUTBOX_BACKLOG).increment(1.0);
            *self.per_run.entry(row.execution.clone()).or_default() += 1;
        }
    }

    /// A row was deleted.
    pub(super) fn deleted(&mut self, key: &DispatchKey) {
        let Some(execution) = self.rows.remove(key) else {
            return;
        };
        metrics::gauge!(crate::engine::instruments::OUTBOX_BACKLOG).decrement(1.0);
        if let Some(count) = self.per_run.get_mut(&execution) {
            *count -= 1;
            if *count == 0 {
                self.per_run.remove(&execution);
            }
        }
    }

    /// Whether run `key` has rows pending.
    pub(super) fn has_pending(&self, key: &ExecutionKey) -> bool {
        self.per_run.contains_key(key)
    }
}

impl Drop for OutboxRows {
    fn drop(&mut self) {
        // A shard stopping: its rows are counted again by whichever engine opens it next.
        metrics::gauge!(crate::engine::instruments::OUTBOX_BACKLOG)
            .decrement(self.rows.len() as f64);
    }
}

#[cfg(test)]
mod tests {
    use endure_core::storage::DispatchTask;
    use endure_core::{EventId, Namespace, RunId, TaskQueueName, WorkflowId};

    use super::*;

    fn run(n: u128) -> ExecutionKey {
        ExecutionKey {
            namespace: Namespace::default(),
            workflow_id: WorkflowId::new("parent").unwrap(),
            run_id: RunId::from_u128(n),
        }
    }

    fn row(execution: ExecutionKey, task_id: u64) -> DispatchRow {
        DispatchRow {
            namespace: Namespace::new("endure-system").unwrap(),
            task_queue: TaskQueueName::new("outbox-0").unwrap(),
            task_id,
            execution,
            task: DispatchTask::ApplyParentClosePolicy {
                initiated_event_id: EventId::FIRST,
            },
            directive: None,
        }
    }

    #[test]
    fn a_run_has_rows_pending_until_each_is_deleted() {
        let mut rows = OutboxRows::default();
        let (first, second) = (row(run(1), 7), row(run(1), 8));
        rows.added(&first);
        rows.added(&second);
        rows.added(&first); // recovery hands a row over again: counted once
        rows.added(&row(run(2), 9));
        assert!(rows.has_pending(&run(1)));
        rows.deleted(&first.key());
        assert!(rows.has_pending(&run(1)), "one row left");
        rows.deleted(&second.key());
        rows.deleted(&second.key()); // deleted twice (a repeated acknowledgement)
        assert!(!rows.has_pending(&run(1)));
        assert!(rows.has_pending(&run(2)), "another run's rows are its own");
    }
}
