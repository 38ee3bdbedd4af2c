//! The engine's metrics, through the `metrics` facade: the engine records, whoever embeds it
//! picks the exporter (`endure server start-dev` serves Prometheus text at `/metrics`;
//! with no recorder installed every call is a no-op). Names and units are here, once;
//! [`describe`] gives each its help text. Durations come from the engine's Clock port, so a
//! simulated engine measures simulated time.

use endure_core::WorkflowExecutionStatus;
use endure_core::clock::Clock;
use endure_core::storage::{ExecutionKey, Storage, VisibilityQuery};
use endure_core::time::Timestamp;

use super::api::EngineError;
use super::runtime::Engine;

/// Requests handled, by RPC and outcome (`ok` or the error kind). Counter.
pub const REQUESTS: &str = "endure_requests_total";
/// Time to answer a request, by RPC (long polls included). Histogram, seconds.
pub const REQUEST_LATENCY: &str = "endure_request_latency_seconds";
/// Storage transactions committed by the group committer. Counter.
pub const COMMITS: &str = "endure_commits_total";
/// Commits that failed (the store stops). Counter.
pub const COMMIT_FAILURES: &str = "endure_commit_failures_total";
/// Time of one storage transaction, fsync included. Histogram, seconds.
pub const COMMIT_LATENCY: &str = "endure_commit_latency_seconds";
/// Writes per storage transaction. Histogram.
pub const COMMIT_BATCH: &str = "endure_commit_batch_writes";
/// Writes submitted and not yet durable, summed over shards. Gauge.
pub const WRITES_IN_FLIGHT: &str = "endure_writes_in_flight";
/// A run's machine found in its shard's cache, or loaded from storage. Counters.
pub const CACHE_HITS: &str = "endure_run_cache_hits_total";
/// See [`CACHE_HITS`].
pub const CACHE_MISSES: &str = "endure_run_cache_misses_total";
/// Deadlines (timers, timeouts, retries, retention) fired. Counter.
pub const DEADLINES_FIRED: &str = "endure_deadlines_fired_total";
/// How late a deadline fired after its time. Histogram, seconds.
pub const DEADLINE_LATENESS: &str = "endure_deadline_lateness_seconds";
/// Outbox rows (child starts, external signals and cancels, parent reports) waiting to be
/// delivered. Gauge.
pub const OUTBOX_BACKLOG: &str = "endure_outbox_backlog";
/// Workflow runs started, by namespace. Counter.
pub const WORKFLOWS_STARTED: &str = "endure_workflows_started_total";
/// Workflow runs closed, by namespace and status. Counter.
pub const WORKFLOWS_CLOSED: &str = "endure_workflows_closed_total";
/// Activity attempts started eagerly: for the worker whose workflow task completion
/// scheduled them, handed over in that completion's reply (Temporal's
/// `activity_eager_execution`), by namespace. Counter.
pub const ACTIVITY_EAGER_STARTS: &str = "endure_activity_eager_starts_total";

/// Client and worker connections open on the TCP listener. Gauge.
pub const OPEN_CONNECTIONS: &str = "endure_open_connections";
/// Calls the server refused before running them, by `reason` (`ResourceExhausted`: a rate
/// limit; `Unauthenticated`; `PermissionDenied`). Counter.
pub const REQUESTS_REFUSED: &str = "endure_requests_refused_total";
/// Messages waiting in a shard's inbox, by shard (sampled at each scrape). Gauge.
pub const SHARD_INBOX_DEPTH: &str = "endure_shard_inbox_depth";
/// Open (running) workflow runs, by namespace (sampled at each scrape). Gauge.
pub const OPEN_WORKFLOWS: &str = "endure_open_workflows";
/// `fsync`/`fdatasync` calls the store made (redb; sampled at each scrape). Counter.
pub const STORAGE_FSYNCS: &str = "endure_storage_fsyncs_total";
/// Bytes the store wrote to its file (redb; sampled at each scrape). Counter.
pub const STORAGE_BYTES_WRITTEN: &str = "endure_storage_bytes_written_total";

/// Every metric the engine records, for dashboards and checks of them.
pub const ALL: &[&str] = &[
    REQUESTS,
    REQUEST_LATENCY,
    COMMITS,
    COMMIT_FAILURES,
    COMMIT_LATENCY,
    COMMIT_BATCH,
    WRITES_IN_FLIGHT,
    CACHE_HITS,
    CACHE_MISSES,
    DEADLINES_FIRED,
    DEADLINE_LATENESS,
    OUTBOX_BACKLOG,
    WORKFLOWS_STARTED,
    WORKFLOWS_CLOSED,
    ACTIVITY_EAGER_STARTS,
    OPEN_CONNECTIONS,
    REQUESTS_REFUSED,
    SHARD_INBOX_DEPTH,
    OPEN_WORKFLOWS,
    STORAGE_FSYNCS,
    STORAGE_BYTES_WRITTEN,
];

/// Gives each metric its help text and unit (call once after installing a recorder).
pub fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(REQUESTS, "Requests handled, by RPC and outcome.");
    describe_histogram!(
        REQUEST_LATENCY,
        Unit::Seconds,
        "Time to answer a request, by RPC (long polls included)."
    );
    describe_counter!(COMMITS, "Storage transactions committed.");
    describe_counter!(COMMIT_FAILURES, "Storage transactions that failed.");
    describe_histogram!(
        COMMIT_LATENCY,
        Unit::Seconds,
        "Time of one storage transaction, fsync included."
    );
    describe_histogram!(COMMIT_BATCH, Unit::Count, "Writes per storage transaction.");
    describe_gauge!(WRITES_IN_FLIGHT, Unit::Count, "Writes not yet durable.");
    describe_counter!(CACHE_HITS, "Run machines found in a shard's cache.");
    describe_counter!(CACHE_MISSES, "Run machines loaded from storage.");
    describe_counter!(DEADLINES_FIRED, "Deadlines fired.");
    describe_histogram!(
        DEADLINE_LATENESS,
        Unit::Seconds,
        "How late a deadline fired after its time."
    );
    describe_gauge!(
        OUTBOX_BACKLOG,
        Unit::Count,
        "Outbox rows waiting to be delivered."
    );
    describe_counter!(WORKFLOWS_STARTED, "Workflow runs started, by namespace.");
    describe_counter!(
        WORKFLOWS_CLOSED,
        "Workflow runs closed, by namespace and status."
    );
    describe_counter!(
        ACTIVITY_EAGER_STARTS,
        "Activity attempts started for the worker whose workflow task completion scheduled them, by namespace."
    );
    describe_gauge!(
        OPEN_CONNECTIONS,
        Unit::Count,
        "Connections open on the TCP listener."
    );
    describe_counter!(
        REQUESTS_REFUSED,
        "Calls refused before they ran: rate limited, unauthenticated or not permitted."
    );
    describe_gauge!(
        SHARD_INBOX_DEPTH,
        Unit::Count,
        "Messages waiting in a shard's inbox."
    );
    describe_gauge!(
        OPEN_WORKFLOWS,
        Unit::Count,
        "Running workflow runs, by namespace."
    );
    describe_counter!(STORAGE_FSYNCS, "fsync calls the store made.");
    describe_counter!(STORAGE_BYTES_WRITTEN, Unit::Bytes, "Bytes the store wrote.");
    // The unlabelled series exist from the start, so a rate or an alert on one reads zero
    // rather than nothing before its first event.
    for counter in [
        COMMITS,
        COMMIT_FAILURES,
        CACHE_HITS,
        CACHE_MISSES,
        DEADLINES_FIRED,
    ] {
        metrics::counter!(counter).increment(0);
    }
    for gauge in [WRITES_IN_FLIGHT, OUTBOX_BACKLOG, OPEN_CONNECTIONS] {
        metrics::gauge!(gauge).increment(0.0);
    }
}

/// Counts the runs a durable write started (created at version 1: starts, continue-as-new,
/// resets, children) and the run it closed, if it did.
pub(crate) fn runs_settled(
    tally: &super::tally::Tally,
    key: &ExecutionKey,
    closed: bool,
    remember: &[super::in_flight::Remembered],
) {
    for super::in_flight::Remembered {
        key: run,
        machine,
        db_version,
        ..
    } in remember
    {
        if *db_version == 1 {
            tally.started(1);
            metrics::counter!(WORKFLOWS_STARTED, "namespace" => run.namespace.as_str().to_owned())
                .increment(1);
        }
        if closed && run == key {
            tally.closed();
            metrics::counter!(
                WORKFLOWS_CLOSED,
                "namespace" => run.namespace.as_str().to_owned(),
                "status" => format!("{:?}", machine.status()),
            )
            .increment(1);
        }
    }
}

impl<S: Storage, C: Clock> Engine<S, C> {
    /// Sets the gauges read from the engine's state rather than counted as it goes: each
    /// shard's inbox depth and each namespace's open runs (a visibility count per
    /// namespace, so call it at scrape time, not in a loop).
    pub async fn record_gauges(&self) -> Result<(), EngineError> {
        for (shard, depth) in self.inner.shards.depths() {
            metrics::gauge!(SHARD_INBOX_DEPTH, "shard" => shard.0.to_string()).set(depth as f64);
        }
        let running = VisibilityQuery {
            status: Some(WorkflowExecutionStatus::Running),
            ..VisibilityQuery::default()
        };
        for namespace in self.list_namespaces().await? {
            let open = self
                .inner
                .storage
                .count_visibility(&namespace.name, &running)
                .await?;
            metrics::gauge!(OPEN_WORKFLOWS, "namespace" => namespace.name.as_str().to_owned())
                .set(open as f64);
        }
        Ok(())
    }
}

/// The time from `start` to `end` in seconds, zero if the clock went back.
pub(crate) fn seconds(start: Timestamp, end: Timestamp) -> f64 {
    end.saturating_duration_since(start).as_secs_f64()
}
