//! What an activity implementation gets: its task's information, heartbeats, the
//! cancellation the workflow requested (spec §5.12.2, §5.12.4), and notice of the worker
//! shutting down.

use std::sync::Arc;

use tokio::sync::watch;

use endure_core::protocol::{
    ActivityCompletionToken, ActivityTask, ErrorKind, HeartbeatResponse,
    RecordActivityHeartbeatRequest, Response, Rpc, Transport,
};
use endure_core::storage::ExecutionKey;
use endure_core::time::Timestamp;
use endure_core::{ActivityId, ActivityType, PayloadError, Payloads, WorkflowType};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::interceptors::{Heartbeat, WorkerInterceptors};

/// The context of one activity attempt: who it is ([`info`](Self::info)), heartbeats that
/// keep it alive and carry progress to the next attempt, and cancellation.
///
/// ```
/// use endure::{ActivityContext, ActivityError};
///
/// /// Copies `count` rows, resuming where the last attempt's heartbeat left off, and stops
/// /// when the workflow cancels it.
/// #[endure::activity(name = "CopyRows")]
/// async fn copy_rows(ctx: ActivityContext, count: u64) -> Result<u64, ActivityError> {
///     let mut next: u64 = match ctx.heartbeat_details::<u64>() {
///         Some(Ok(done)) => done,
///         _ => 0,
///     };
///     tracing::info!(attempt = ctx.info().attempt, from = next, "copying");
///     while next < count {
///         // copy row `next` …
///         next += 1;
///         if ctx.heartbeat(&next).await {
///             return Err(ActivityError::canceled(None));
///         }
///     }
///     if count == 0 {
///         return Err(ActivityError::application("nothing to copy", "EmptyCopy").non_retryable());
///     }
///     Ok(next)
/// }
/// ```
#[derive(Clone)]
pub struct ActivityContext {
    transport: Arc<dyn Transport>,
    execution: ExecutionKey,
    task: Arc<ActivityTask>,
    /// Set once a heartbeat learns the workflow asked to cancel this activity
    /// (`Requested`) or that the attempt is no longer wanted (`Gone`).
    cancel_requested: Arc<watch::Sender<Option<CancelReason>>>,
    /// The worker's shutdown phase.
    stop: watch::Receiver<StopPhase>,
    /// A local activity: run by the workflow worker, no heartbeats.
    local: bool,
    /// The worker's interceptors, told of each heartbeat.
    interceptors: WorkerInterceptors,
}

/// Where a worker is in its shutdown, as its activities see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum StopPhase {
    /// Polling and running tasks.
    Running,
    /// Shutdown began: no new tasks; running activities have the grace period to finish.
    Stopping,
    /// The grace period passed: running activities are canceled.
    Canceled,
}

/// Why an activity's context is canceled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelReason {
    /// The workflow asked to cancel the activity (learned through a heartbeat). Returning
    /// [`ActivityError::canceled`](crate::workflow::ActivityError::canceled) records
    /// `ActivityTaskCanceled`.
    Requested,
    /// The worker is shutting down and the grace period passed. Returning a canceled error
    /// reports a retryable `WorkerShutdown` failure, so another worker retries the activity.
    WorkerShutdown,
    /// The engine no longer knows this attempt (Go's "entity not found" on heartbeat): its
    /// workflow closed, the attempt timed out and was retried, or the workflow abandoned
    /// it. Nothing the activity reports will be recorded; it should stop.
    Gone,
}

/// Facts about the attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivityInfo {
    /// The activity id.
    pub activity_id: ActivityId,
    /// The activity type.
    pub activity_type: ActivityType,
    /// The attempt, from 1.
    pub attempt: u32,
    /// The run that scheduled it.
    pub execution: ExecutionKey,
    /// The type of the workflow that scheduled it.
    pub workflow_type: WorkflowType,
    /// When this attempt started.
    pub started_time: Timestamp,
    /// When this attempt must finish by (start-to-close).
    pub deadline: Timestamp,
}

impl ActivityContext {
    pub(crate) fn new(
        transport: Arc<dyn Transport>,
        execution: ExecutionKey,
        task: ActivityTask,
        stop: watch::Receiver<StopPhase>,
    ) -> Self {
        Self {
            transport,
            execution,
            task: Arc::new(task),
            cancel_requested: Arc::new(watch::Sender::new(None)),
            stop,
            local: false,
            interceptors: Arc::new([]),
        }
    }

    /// This context with the worker's interceptors, told of each heartbeat.
    pub(crate) fn with_interceptors(mut self, interceptors: WorkerInterceptors) -> Self {
        self.interceptors = interceptors;
        self
    }

    /// The context of a local activity's attempt: the same information, and heartbeats that
    /// go nowhere (a local activity has none, spec §5.23).
    pub(crate) fn local(
        transport: Arc<dyn Transport>,
        execution: ExecutionKey,
        task: ActivityTask,
        stop: watch::Receiver<StopPhase>,
    ) -> Self {
        Self {
            local: true,
            ..Self::new(transport, execution, task, stop)
        }
    }

    /// The transport the attempt reports on.
    pub(crate) fn transport(&self) -> &Arc<dyn Transport> {
        &self.transport
    }

    /// The activity's ActivityTaskScheduled attributes.
    pub(crate) fn scheduled(&self) -> &endure_core::history::ActivityTaskScheduledEventAttributes {
        &self.task.scheduled
    }

    /// The context headers the workflow scheduled this activity with (set by its
    /// interceptors, e.g. a trace context): see [`interceptors`](crate::interceptors).
    pub fn header(&self) -> &endure_core::Header {
        &self.task.scheduled.header
    }

    /// Whether this is a local activity (run by the workflow worker, without heartbeats).
    pub fn is_local(&self) -> bool {
        self.local
    }

    /// The attempt's information.
    pub fn info(&self) -> ActivityInfo {
        ActivityInfo {
            activity_id: self.task.scheduled.activity_id.clone(),
            activity_type: self.task.scheduled.activity_type.clone(),
            attempt: self.task.token.attempt,
            execution: self.execution.clone(),
            workflow_type: self.task.workflow_type.clone(),
            started_time: self.task.started_time,
            deadline: self
                .task
                .started_time
                .saturating_add(self.task.scheduled.start_to_close_timeout),
        }
    }

    /// The token that completes this attempt from elsewhere (Go's `TaskToken`): hand it to
    /// whoever will finish the work, and return
    /// [`ActivityError::result_pending`](crate::ActivityError::result_pending). They answer
    /// with [`Client::async_activity`](crate::Client::async_activity).
    pub fn completion_token(&self) -> ActivityCompletionToken {
        ActivityCompletionToken {
            execution: self.execution.clone(),
            token: self.task.token,
        }
    }

    /// The details the previous attempt last heartbeated, to resume from (decoded as
    /// [`heartbeat`](Self::heartbeat) encoded them: a tuple from several payloads).
    pub fn heartbeat_details<T: DeserializeOwned>(&self) -> Option<Result<T, PayloadError>> {
        let details = self.task.heartbeat_details.as_ref()?;
        Some(details.decode_arguments())
    }

    /// Reports progress; the engine keeps `details` for the next attempt. Returns whether the
    /// workflow asked to cancel the activity. After a cancel request heartbeats are still sent
    /// (and logged), so the activity can finish its cleanup; they are also sent while the
    /// worker shuts down. Returns [`is_canceled`](Self::is_canceled).
    pub async fn heartbeat<T: Serialize>(&self, details: &T) -> bool {
        if self.local {
            // Local activities have no heartbeats: nothing is sent.
            return self.is_canceled();
        }
        let details = Payloads::encode_arguments(details).ok();
        for interceptor in self.interceptors.iter() {
            interceptor.record_heartbeat(
                self,
                &Heartbeat {
                    details: details.as_ref(),
                },
            );
        }
        if self.cancel_reason() == Some(CancelReason::Requested) {
            tracing::warn!(activity = %self.task.scheduled.activity_id, "heartbeat after cancellation was requested");
        }
        let request = RecordActivityHeartbeatRequest {
            execution: self.execution.clone(),
            token: self.task.token,
            details,
        };
        match self.transport.call(request.into_request()).await {
            Ok(Response::RecordActivityHeartbeat(HeartbeatResponse {
                cancel_requested: true,
            })) => {
                self.cancel_requested.send_if_modified(|reason| {
                    let first = reason.is_none();
                    reason.get_or_insert(CancelReason::Requested);
                    first
                });
            }
            Err(error)
                if matches!(
                    error.kind,
                    ErrorKind::NotFound | ErrorKind::FailedPrecondition
                ) =>
            {
                tracing::info!(activity = %self.task.scheduled.activity_id, %error, "the attempt is gone; canceling its context");
                self.cancel_requested.send_if_modified(|reason| {
                    let first = reason.is_none();
                    reason.get_or_insert(CancelReason::Gone);
                    first
                });
            }
            _ => {}
        }
        self.is_canceled()
    }

    /// Whether the activity should stop: the workflow asked to cancel it, or the worker's
    /// shutdown grace period passed. [`cancel_reason`](Self::cancel_reason) tells which.
    pub fn is_canceled(&self) -> bool {
        self.cancel_reason().is_some()
    }

    /// Why the activity is canceled, if it is; a workflow's request wins over shutdown.
    pub fn cancel_reason(&self) -> Option<CancelReason> {
        if let Some(reason) = *self.cancel_requested.borrow() {
            Some(reason)
        } else if *self.stop.borrow() == StopPhase::Canceled {
            Some(CancelReason::WorkerShutdown)
        } else {
            None
        }
    }

    /// Resolves once the activity is canceled (see [`is_canceled`](Self::is_canceled)), so
    /// work can be raced against it with `tokio::select!`.
    pub async fn cancelled(&self) -> CancelReason {
        let mut requested = self.cancel_requested.subscribe();
        let mut stop = self.stop.clone();
        loop {
            if let Some(reason) = self.cancel_reason() {
                return reason;
            }
            tokio::select! {
                biased;
                changed = requested.changed() => if changed.is_err() { std::future::pending::<()>().await },
                changed = stop.changed() => if changed.is_err() { std::future::pending::<()>().await },
            }
        }
    }

    /// Whether the worker began shutting down (Go's `GetWorkerStopChannel`): known at once,
    /// before the grace period passes and the context is canceled.
    pub fn is_worker_stopping(&self) -> bool {
        *self.stop.borrow() >= StopPhase::Stopping
    }

    /// Resolves once the worker begins shutting down.
    pub async fn worker_stopping(&self) {
        let mut stop = self.stop.clone();
        // An error means the worker is gone, which is a stop too.
        let _ = stop.wait_for(|phase| *phase >= StopPhase::Stopping).await;
    }
}
