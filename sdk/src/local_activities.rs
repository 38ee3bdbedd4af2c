//! Local activities, the worker's side (spec §5.23): after a live activation the worker
//! runs the local activities the workflow requested, in its own process, retrying each
//! while the backoff is short, and feeds each outcome back into the still-open workflow
//! task (the workflow runs on and its marker is recorded). If they outlast 80 % of the
//! workflow task timeout, the task is completed with what the workflow issued so far and
//! a request for a new task (a workflow task heartbeat); they keep running, and the next
//! task of the run on this worker goes on waiting for them.

use std::sync::Arc;
use std::time::Duration;

use endure_core::execution::ActivityTaskToken;
use endure_core::history::ActivityTaskScheduledEventAttributes;
use endure_core::protocol::ActivityTask;
use endure_core::storage::ExecutionKey;
use endure_core::time::Timestamp;
use endure_core::{
    ActivityId, ActivityType, EventId, Failure, FailureInfo, Payloads, TaskQueueName, TimeoutType,
    WorkflowType,
};
use tokio::sync::mpsc;

use crate::activity_context::{ActivityContext, StopPhase};
use crate::interceptors::{WorkerInterceptors, intercept_activity};
use crate::workflow::{ActivityError, BoxFuture, LocalActivityOutcome, LocalActivityRequest};

/// The share of the workflow task timeout local activities may hold a task open.
pub(crate) const HEARTBEAT_FRACTION: f64 = 0.8;

/// Calls an activity implementation.
pub(crate) type Invoke = Arc<
    dyn Fn(ActivityContext, Payloads) -> BoxFuture<Result<Option<Payloads>, ActivityError>>
        + Send
        + Sync,
>;

/// Where a run's local activities report: kept with the cached run, so activities still
/// running when a task heartbeats report to the run's next task.
pub(crate) struct LocalActivities {
    pub(crate) sender: mpsc::UnboundedSender<(u32, LocalActivityOutcome)>,
    pub(crate) receiver: mpsc::UnboundedReceiver<(u32, LocalActivityOutcome)>,
}

impl LocalActivities {
    pub(crate) fn new() -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        Self { sender, receiver }
    }
}

/// What running one local activity needs besides its request.
pub(crate) struct Runner {
    pub(crate) transport: Arc<dyn endure_core::protocol::Transport>,
    pub(crate) execution: ExecutionKey,
    pub(crate) workflow_type: WorkflowType,
    pub(crate) task_queue: TaskQueueName,
    pub(crate) stop: tokio::sync::watch::Receiver<StopPhase>,
    /// The workflow's time when the task started, for the attempts' information.
    pub(crate) now: Timestamp,
    /// Backoffs longer than this end the execution with a `Backoff` outcome.
    pub(crate) retry_threshold: Duration,
    /// The worker's interceptors, around each attempt.
    pub(crate) interceptors: WorkerInterceptors,
}

impl Runner {
    /// Runs `request` to an outcome: attempts, local retries, timeouts.
    pub(crate) async fn run(
        self,
        request: LocalActivityRequest,
        invoke: Option<Invoke>,
    ) -> LocalActivityOutcome {
        let policy = request.options.retry_policy.clone().unwrap_or_default();
        let threshold = request
            .options
            .local_retry_threshold
            .unwrap_or(self.retry_threshold);
        let began = tokio::time::Instant::now();
        let mut attempt = request.attempt;
        loop {
            let failure = match &invoke {
                None => Failure::application(
                    format!(
                        "activity type {} is not registered with this worker",
                        request.activity_type
                    ),
                    "ActivityTypeNotRegistered",
                ),
                Some(invoke) => {
                    let context = self.context(&request, attempt);
                    let call = intercept_activity(
                        &self.interceptors,
                        &context,
                        invoke(context.clone(), request.input.clone()),
                    );
                    let result = match request.options.start_to_close_timeout {
                        Some(limit) => {
                            tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
                                Err(ActivityError::new(Failure::timeout(
                                    TimeoutType::StartToClose,
                                )))
                            })
                        }
                        None => call.await,
                    };
                    match result {
                        Ok(result) => return LocalActivityOutcome::Completed { attempt, result },
                        // No one outside can complete a local activity: its workflow task
                        // waits on this worker (Go refuses it the same way).
                        Err(error) if error.is_result_pending() => {
                            return LocalActivityOutcome::Failed {
                                attempt,
                                failure: Failure::application(
                                    "a local activity cannot complete asynchronously",
                                    "LocalActivityResultPending",
                                )
                                .non_retryable(),
                            };
                        }
                        Err(error) => *error.0,
                    }
                }
            };
            if !policy.retries(&failure) || policy.attempts_exhausted(attempt) {
                return LocalActivityOutcome::Failed { attempt, failure };
            }
            let backoff = match &failure.info {
                FailureInfo::Application {
                    next_retry_delay: Some(delay),
                    ..
                } => *delay,
                _ => policy.backoff(attempt),
            };
            let out_of_time = request
                .options
                .schedule_to_close_timeout
                .is_some_and(|limit| began.elapsed() + backoff > limit);
            if out_of_time {
                return LocalActivityOutcome::Failed { attempt, failure };
            }
            if backoff > threshold {
                return LocalActivityOutcome::Backoff {
                    attempt,
                    failure,
                    backoff,
                };
            }
            tokio::time::sleep(backoff).await;
            attempt += 1;
        }
    }

    /// The context of one attempt: the information an activity task would carry.
    fn context(&self, request: &LocalActivityRequest, attempt: u32) -> ActivityContext {
        let activity_type = ActivityType::new(request.activity_type.as_str())
            .unwrap_or_else(|_| unreachable!("validated when requested"));
        let activity_id = ActivityId::new(request.seq.to_string())
            .unwrap_or_else(|_| unreachable!("a number is a valid id"));
        let start_to_close = request
            .options
            .start_to_close_timeout
            .or(request.options.schedule_to_close_timeout)
            .unwrap_or(Duration::from_secs(10));
        let reply = ActivityTask {
            token: ActivityTaskToken {
                scheduled_event_id: EventId::FIRST,
                attempt,
            },
            scheduled: ActivityTaskScheduledEventAttributes {
                activity_id,
                activity_type,
                task_queue: self.task_queue.clone(),
                header: request.header.clone(),
                input: request.input.clone(),
                schedule_to_close_timeout: request.options.schedule_to_close_timeout,
                schedule_to_start_timeout: None,
                start_to_close_timeout: start_to_close,
                heartbeat_timeout: None,
                workflow_task_completed_event_id: EventId::FIRST,
                retry_policy: request.options.retry_policy.clone().unwrap_or_default(),
            },
            workflow_type: self.workflow_type.clone(),
            heartbeat_details: None,
            scheduled_time: self.now,
            current_attempt_scheduled_time: self.now,
            started_time: self.now,
        };
        ActivityContext::local(
            Arc::clone(&self.transport),
            self.execution.clone(),
            reply,
            self.stop.clone(),
        )
        .with_interceptors(Arc::clone(&self.interceptors))
    }
}
