//! Reads of runs: histories (whole or by page), lists, descriptions, and waits for a close.

use std::time::Duration;

use endure_core::clock::Clock;
use endure_core::history::HistoryEvent;
use endure_core::protocol::WorkflowCloseResponse;
use endure_core::storage::{ExecutionKey, Storage};
use endure_core::{EventId, Namespace, RunId, WorkflowId};

use super::api::{EngineError, WorkflowDescription};
use super::runtime::Engine;
use super::shard;

impl<S: Storage, C: Clock> Engine<S, C> {
    /// A run's machine as last committed.
    pub(super) async fn load_machine(
        &self,
        execution: &ExecutionKey,
    ) -> Result<endure_core::execution::ExecutionMachine, EngineError> {
        let row = self
            .inner
            .storage
            .load_execution(execution)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("{execution}")))?;
        Ok(endure_core::execution::ExecutionMachine::from_row(&row)?)
    }

    /// One page of a run's history from `first_event_id`.
    pub async fn history_page(
        &self,
        execution: &ExecutionKey,
        first_event_id: EventId,
    ) -> Result<endure_core::storage::HistoryPage, EngineError> {
        Ok(self
            .inner
            .storage
            .read_history(execution, first_event_id)
            .await?)
    }

    /// Runs of a namespace matching `query`, latest start first.
    pub async fn list_workflows(
        &self,
        namespace: &Namespace,
        query: &endure_core::storage::VisibilityQuery,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<endure_core::storage::VisibilityRow>, EngineError> {
        self.check_namespace(namespace)?;
        Ok(self
            .inner
            .storage
            .list_visibility(namespace, query, offset, limit)
            .await?)
    }

    /// Who polled a task queue in the last five minutes (Temporal's `DescribeTaskQueue`).
    pub fn describe_task_queue(
        &self,
        namespace: &Namespace,
        task_queue: &endure_core::TaskQueueName,
    ) -> Result<endure_core::protocol::TaskQueueDescription, EngineError> {
        self.check_namespace(namespace)?;
        let now = self.inner.clock.now();
        let seen = &self.inner.matching.seen;
        Ok(endure_core::protocol::TaskQueueDescription {
            workflow_pollers: seen.pollers(namespace, task_queue, true, now),
            activity_pollers: seen.pollers(namespace, task_queue, false, now),
        })
    }

    /// How many runs of a namespace `query` selects.
    pub async fn count_workflows(
        &self,
        namespace: &Namespace,
        query: &endure_core::storage::VisibilityQuery,
    ) -> Result<u64, EngineError> {
        self.check_namespace(namespace)?;
        Ok(self
            .inner
            .storage
            .count_visibility(namespace, query)
            .await?)
    }

    /// The whole history of a run.
    pub async fn history(
        &self,
        execution: &ExecutionKey,
    ) -> Result<Vec<HistoryEvent>, EngineError> {
        shard::read_whole_history(&*self.inner.storage, execution).await
    }

    /// Waits until the run closes, at most `wait`: its description, and its closing event
    /// if it closed (a long poll for results).
    pub async fn await_close(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
        run_id: Option<RunId>,
        wait: Duration,
    ) -> Result<WorkflowCloseResponse, EngineError> {
        let execution = self.resolve_run(namespace, workflow_id, run_id).await?;
        // Register before looking, so a close between the two is not missed. The look reads
        // the run's row alone: a run still open (as a client that just started it finds it)
        // needs no machine decoded.
        let closed = self.inner.closings.register(&execution);
        let row = self.load_row(&execution).await?;
        if row.status.is_closed() {
            let answer = self.describe_row(&execution, row).await?;
            if answer.closing_event.is_some() {
                return Ok(answer);
            }
        }
        let deadline = self.inner.clock.now().saturating_add(wait);
        tokio::select! {
            biased;
            closed = closed => {
                // How the run closed, from its shard: nothing to read.
                if let Ok(closed) = closed {
                    return Ok(std::sync::Arc::unwrap_or_clone(closed));
                }
            }
            () = self.inner.clock.sleep_until(deadline) => {}
        }
        self.describe_closing(&execution).await
    }

    /// The run's description and, if it closed, its closing event.
    async fn describe_closing(
        &self,
        execution: &ExecutionKey,
    ) -> Result<WorkflowCloseResponse, EngineError> {
        let row = self.load_row(execution).await?;
        self.describe_row(execution, row).await
    }

    /// The description of the run whose stored row is `row` and, if it closed, its closing
    /// event.
    async fn describe_row(
        &self,
        execution: &ExecutionKey,
        row: endure_core::storage::ExecutionRow,
    ) -> Result<WorkflowCloseResponse, EngineError> {
        let machine = endure_core::execution::ExecutionMachine::from_row(&row)?;
        debug_assert_eq!(row.next_event_id, machine.next_event_id());
        debug_assert_eq!(row.status, machine.status());
        let closing_event = match EventId::new(row.next_event_id.get() - 1) {
            Some(last) if row.status.is_closed() => self
                .inner
                .storage
                .read_history(execution, last)
                .await?
                .events
                .into_iter()
                .next(),
            _ => None,
        };
        let close_time = closing_event.as_ref().map(|event| event.event_time);
        Ok(WorkflowCloseResponse {
            description: describe(execution.clone(), &machine, close_time),
            closing_event,
        })
    }

    /// A run's stored row and the machine in it (what a describe or a poll reads, without
    /// going through its shard); `NotFound` if there is no such run.
    pub(crate) async fn load_stored(
        &self,
        execution: &ExecutionKey,
    ) -> Result<
        (
            endure_core::storage::ExecutionRow,
            endure_core::execution::ExecutionMachine,
        ),
        EngineError,
    > {
        let row = self.load_row(execution).await?;
        let machine = endure_core::execution::ExecutionMachine::from_row(&row)?;
        Ok((row, machine))
    }

    /// A run's stored row; `NotFound` if there is no such run.
    async fn load_row(
        &self,
        execution: &ExecutionKey,
    ) -> Result<endure_core::storage::ExecutionRow, EngineError> {
        self.inner
            .storage
            .load_execution(execution)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("{execution}")))
    }

    /// The status and size of a run.
    pub async fn describe_workflow(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
        run_id: Option<RunId>,
    ) -> Result<WorkflowDescription, EngineError> {
        let execution = self.resolve_run(namespace, workflow_id, run_id).await?;
        Ok(self.describe_closing(&execution).await?.description)
    }
}

/// What describe shows of the run `machine` is, closed at `close_time` if it is closed.
pub(super) fn describe(
    execution: ExecutionKey,
    machine: &endure_core::execution::ExecutionMachine,
    close_time: Option<endure_core::time::Timestamp>,
) -> WorkflowDescription {
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    WorkflowDescription {
        execution,
        status: machine.status(),
        history_length: machine.next_event_id().get() - 1,
        workflow_type: machine.workflow_type().clone(),
        task_queue: machine.task_queue().clone(),
        start_time: machine.start_time(),
        close_time,
        next_run_id: machine.new_execution_run_id(),
        parent: machine
            .parent()
            .map(|parent| parent.workflow_execution.clone()),
        pending_activities: count(machine.activities().len()),
        pending_timers: count(machine.timers().len()),
        pending_children: count(machine.children().len()),
        memo: machine.memo().clone(),
        search_attributes: machine.search_attributes().clone(),
        pending_activity_details: machine.pending_activities(),
        pending_child_details: machine.pending_children(),
        versioning: machine.versioning().clone(),
    }
}
