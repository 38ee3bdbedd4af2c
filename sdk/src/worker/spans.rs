//! The worker's `tracing` spans, one per task it runs, named for the task and carrying the
//! run (namespace, workflow id, run id), the task queue and the task's events — at debug
//! level (`RUST_LOG=endure=debug` shows them; `tracing-opentelemetry` exports them).

use endure_core::protocol::{ActivityTaskForWorker, QueryTaskForWorker, WorkflowTaskForWorker};
use tracing::Span;

use super::Shared;

/// A workflow task: its type and its Scheduled and Started events.
pub(super) fn workflow_task(worker: &Shared, task: &WorkflowTaskForWorker) -> Span {
    tracing::debug_span!(
        "workflow_task",
        namespace = %task.execution.namespace,
        task_queue = %worker.task_queue,
        workflow_id = %task.execution.workflow_id,
        run_id = %task.execution.run_id,
        workflow_type = %task.workflow_type,
        scheduled_event_id = task.token.scheduled_event_id.get(),
        started_event_id = task.token.started_event_id.get(),
        attempt = task.token.attempt,
    )
}

/// A query task: the query type and the task its answer reflects.
pub(super) fn query_task(worker: &Shared, task: &QueryTaskForWorker) -> Span {
    tracing::debug_span!(
        "query_task",
        namespace = %task.execution.namespace,
        task_queue = %worker.task_queue,
        workflow_id = %task.execution.workflow_id,
        run_id = %task.execution.run_id,
        query_type = %task.query_type,
        previous_started_event_id = task.previous_started_event_id.get(),
    )
}

/// An activity attempt: its type, id, Scheduled event and attempt.
pub(super) fn activity_task(worker: &Shared, task: &ActivityTaskForWorker) -> Span {
    let scheduled = &task.task.scheduled;
    tracing::debug_span!(
        "activity_task",
        namespace = %task.execution.namespace,
        task_queue = %worker.task_queue,
        workflow_id = %task.execution.workflow_id,
        run_id = %task.execution.run_id,
        activity_type = %scheduled.activity_type,
        activity_id = %scheduled.activity_id,
        scheduled_event_id = task.task.token.scheduled_event_id.get(),
        attempt = task.task.token.attempt,
    )
}
