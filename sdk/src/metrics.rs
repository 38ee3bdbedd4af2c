//! The worker's metrics, under Temporal's SDK metric names, so dashboards and alerts written
//! for Temporal's workers read Endure's unchanged.
//!
//! The worker records through the [`metrics`](https://docs.rs/metrics) facade: install any
//! exporter in your process (Prometheus, StatsD, OpenTelemetry…) before starting workers
//! and these appear in it; with none installed every call is a no-op. Names are Temporal's
//! (its SDK metrics reference); histograms are in seconds, as the Go and Java SDKs record
//! them. Labels: `namespace`, `task_queue`, `workflow_type` or `activity_type`,
//! `worker_type` (`WorkflowWorker`, `ActivityWorker`), and for failures `failure_reason`.
//!
//! ```
//! // What an application does once, at start, to see these in Prometheus (any exporter
//! // crate of the `metrics` facade works the same way):
//! //   let handle = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?;
//! //   endure::metrics::describe();
//! //   … serve handle.render() at /metrics …
//! assert_eq!(endure::metrics::STICKY_CACHE_HIT, "temporal_sticky_cache_hit");
//! ```

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};

/// From a workflow task's WorkflowTaskScheduled to its WorkflowTaskStarted: how long it
/// waited in the queue for a worker. Histogram, seconds.
pub const WORKFLOW_TASK_SCHEDULE_TO_START_LATENCY: &str =
    "temporal_workflow_task_schedule_to_start_latency";
/// Time the worker spent on a workflow task, from receipt to its answer sent. Histogram,
/// seconds.
pub const WORKFLOW_TASK_EXECUTION_LATENCY: &str = "temporal_workflow_task_execution_latency";
/// Workflow tasks the worker failed, by `failure_reason` (`NonDeterminismError` for a
/// nondeterminism, else `WorkflowError`). Counter.
pub const WORKFLOW_TASK_EXECUTION_FAILED: &str = "temporal_workflow_task_execution_failed";
/// Workflow-task polls that brought a task. Counter.
pub const WORKFLOW_TASK_QUEUE_POLL_SUCCEED: &str = "temporal_workflow_task_queue_poll_succeed";
/// Workflow-task polls that ended with no task. Counter.
pub const WORKFLOW_TASK_QUEUE_POLL_EMPTY: &str = "temporal_workflow_task_queue_poll_empty";
/// From an activity attempt's scheduling to its start on a worker. Histogram, seconds.
pub const ACTIVITY_SCHEDULE_TO_START_LATENCY: &str = "temporal_activity_schedule_to_start_latency";
/// Time an activity attempt ran on the worker. Histogram, seconds.
pub const ACTIVITY_EXECUTION_LATENCY: &str = "temporal_activity_execution_latency";
/// Activity attempts that ended in an error. Counter.
pub const ACTIVITY_EXECUTION_FAILED: &str = "temporal_activity_execution_failed";
/// Activity polls that ended with no task. Counter.
pub const ACTIVITY_POLL_NO_TASK: &str = "temporal_activity_poll_no_task";
/// Long polls that failed (the server unreachable, say), by `operation`. Counter.
pub const LONG_REQUEST_FAILURE: &str = "temporal_long_request_failure";
/// Workflow tasks that found their run in the worker's cache. Counter.
pub const STICKY_CACHE_HIT: &str = "temporal_sticky_cache_hit";
/// Workflow tasks whose run had to be rebuilt by replaying its history. Counter.
pub const STICKY_CACHE_MISS: &str = "temporal_sticky_cache_miss";
/// Runs evicted from a full cache (least recently used first). Counter.
pub const STICKY_CACHE_TOTAL_FORCED_EVICTION: &str = "temporal_sticky_cache_total_forced_eviction";
/// Runs in the worker's cache. Gauge.
pub const STICKY_CACHE_SIZE: &str = "temporal_sticky_cache_size";
/// Free execution slots, by `worker_type`. Gauge.
pub const WORKER_TASK_SLOTS_AVAILABLE: &str = "temporal_worker_task_slots_available";
/// Execution slots in use, by `worker_type`. Gauge.
pub const WORKER_TASK_SLOTS_USED: &str = "temporal_worker_task_slots_used";
/// Workflow runs this worker completed. Counter.
pub const WORKFLOW_COMPLETED: &str = "temporal_workflow_completed";
/// Workflow runs this worker failed. Counter.
pub const WORKFLOW_FAILED: &str = "temporal_workflow_failed";
/// Workflow runs this worker closed as canceled. Counter.
pub const WORKFLOW_CANCELED: &str = "temporal_workflow_canceled";
/// Workflow runs this worker continued as new. Counter.
pub const WORKFLOW_CONTINUE_AS_NEW: &str = "temporal_workflow_continue_as_new";

/// Every metric the worker records, for dashboards and checks of them.
pub const ALL: &[&str] = &[
    WORKFLOW_TASK_SCHEDULE_TO_START_LATENCY,
    WORKFLOW_TASK_EXECUTION_LATENCY,
    WORKFLOW_TASK_EXECUTION_FAILED,
    WORKFLOW_TASK_QUEUE_POLL_SUCCEED,
    WORKFLOW_TASK_QUEUE_POLL_EMPTY,
    ACTIVITY_SCHEDULE_TO_START_LATENCY,
    ACTIVITY_EXECUTION_LATENCY,
    ACTIVITY_EXECUTION_FAILED,
    ACTIVITY_POLL_NO_TASK,
    LONG_REQUEST_FAILURE,
    STICKY_CACHE_HIT,
    STICKY_CACHE_MISS,
    STICKY_CACHE_TOTAL_FORCED_EVICTION,
    STICKY_CACHE_SIZE,
    WORKER_TASK_SLOTS_AVAILABLE,
    WORKER_TASK_SLOTS_USED,
    WORKFLOW_COMPLETED,
    WORKFLOW_FAILED,
    WORKFLOW_CANCELED,
    WORKFLOW_CONTINUE_AS_NEW,
];

/// `worker_type` of a workflow worker's metrics.
pub(crate) const WORKFLOW_WORKER: &str = "WorkflowWorker";
/// `worker_type` of an activity worker's metrics.
pub(crate) const ACTIVITY_WORKER: &str = "ActivityWorker";
/// `failure_reason` of a nondeterministic workflow task.
pub(crate) const NONDETERMINISM: &str = "NonDeterminismError";
/// `failure_reason` of any other failed workflow task.
pub(crate) const WORKFLOW_ERROR: &str = "WorkflowError";

/// Gives each of the worker's metrics its help text and unit (call once after installing a
/// recorder).
pub fn describe() {
    for (name, help) in [
        (
            WORKFLOW_TASK_SCHEDULE_TO_START_LATENCY,
            "Time a workflow task waited in its queue.",
        ),
        (
            WORKFLOW_TASK_EXECUTION_LATENCY,
            "Time the worker spent on a workflow task.",
        ),
        (
            ACTIVITY_SCHEDULE_TO_START_LATENCY,
            "Time an activity attempt waited in its queue.",
        ),
        (ACTIVITY_EXECUTION_LATENCY, "Time an activity attempt ran."),
    ] {
        describe_histogram!(name, Unit::Seconds, help);
    }
    for (name, help) in [
        (
            WORKFLOW_TASK_EXECUTION_FAILED,
            "Workflow tasks failed, by failure_reason.",
        ),
        (
            WORKFLOW_TASK_QUEUE_POLL_SUCCEED,
            "Workflow-task polls that brought a task.",
        ),
        (
            WORKFLOW_TASK_QUEUE_POLL_EMPTY,
            "Workflow-task polls with no task.",
        ),
        (ACTIVITY_EXECUTION_FAILED, "Activity attempts that failed."),
        (ACTIVITY_POLL_NO_TASK, "Activity polls with no task."),
        (LONG_REQUEST_FAILURE, "Long polls that failed."),
        (STICKY_CACHE_HIT, "Workflow tasks whose run was cached."),
        (STICKY_CACHE_MISS, "Workflow tasks that replayed their run."),
        (
            STICKY_CACHE_TOTAL_FORCED_EVICTION,
            "Runs evicted from a full cache.",
        ),
        (WORKFLOW_COMPLETED, "Workflow runs completed."),
        (WORKFLOW_FAILED, "Workflow runs failed."),
        (WORKFLOW_CANCELED, "Workflow runs canceled."),
        (WORKFLOW_CONTINUE_AS_NEW, "Workflow runs continued as new."),
    ] {
        describe_counter!(name, help);
    }
    describe_gauge!(
        STICKY_CACHE_SIZE,
        Unit::Count,
        "Runs in the worker's cache."
    );
    describe_gauge!(
        WORKER_TASK_SLOTS_AVAILABLE,
        Unit::Count,
        "Free execution slots."
    );
    describe_gauge!(
        WORKER_TASK_SLOTS_USED,
        Unit::Count,
        "Execution slots in use."
    );
}

/// The seconds between two instants of the runtime's clock (simulated under madsim).
pub(crate) fn since(start: tokio::time::Instant) -> f64 {
    start.elapsed().as_secs_f64()
}
