//! Activity tasks: polled, run by their registered implementation, and reported.

use std::sync::Arc;

use endure_core::protocol::{
    ActivityTask, ActivityTaskForWorker, CancelActivityTaskRequest, CompleteActivityTaskRequest,
    FailActivityTaskRequest, PollActivityTaskRequest, Request, Response, Rpc,
};
use endure_core::{Failure, TaskQueueName};

use super::Shared;
use super::instruments::PollOutcome;
use super::sessions::SessionSlot;
use crate::activity_context::{ActivityContext, CancelReason};
use crate::chaos::{Chaos, ChaosKind, INJECTED_FAILURE_TYPE};
use crate::interceptors::{ActivityRun, intercept_activity};
use crate::workflow::ActivityError;
use crate::workflow::{SESSION_COMPLETION_ACTIVITY, SESSION_CREATION_ACTIVITY};

impl Shared {
    pub(super) async fn poll_activity_task(
        &self,
        task_queue: &TaskQueueName,
    ) -> Option<ActivityTaskForWorker> {
        let request = PollActivityTaskRequest {
            namespace: self.namespace.clone(),
            task_queue: task_queue.clone(),
            identity: self.options.identity.clone(),
            deployment_version: self.deployment_version(),
        };
        let task = match self.poll(request.into_request(), "activity").await? {
            Response::PollActivityTask(Some(task)) => Some(*task),
            _ => None,
        };
        let outcome = match task {
            Some(_) => PollOutcome::Task,
            None => PollOutcome::Empty,
        };
        self.record_poll(false, outcome);
        task
    }

    /// Runs an activity task and reports its outcome; `session_slot` says whether a
    /// session creation arriving here already holds a session slot.
    pub(super) async fn run_activity_task(
        &self,
        task: ActivityTaskForWorker,
        session_slot: SessionSlot,
    ) {
        let token = task.token();
        let execution = task.execution.clone();
        let reply: ActivityTask = task.task;
        self.record_activity_wait(&reply);
        let started = tokio::time::Instant::now();
        let activity_type = reply.scheduled.activity_type.to_string();
        let input = reply.scheduled.input.clone();
        let context = ActivityContext::new(
            Arc::clone(&self.transport),
            execution.clone(),
            reply,
            self.stop.clone(),
        )
        .with_interceptors(Arc::clone(&self.interceptors));
        let canceled = context.clone();
        // A session's creation activity ended by its completion activity: told once the
        // end is reported.
        let mut reported = None;
        let outcome = match (&self.sessions, activity_type.as_str()) {
            (Some(sessions), SESSION_CREATION_ACTIVITY) => {
                let (outcome, ended) = sessions.run_creation(&context, &input, session_slot).await;
                reported = ended;
                outcome
            }
            (Some(sessions), SESSION_COMPLETION_ACTIVITY) => sessions.run_completion(&input).await,
            _ => {
                let fault = self.chaos.as_ref().and_then(Chaos::activity_fault);
                let attempt = || {
                    let run = self.activity_run(&activity_type, &context, input.clone());
                    intercept_activity(&self.interceptors, &context, run)
                };
                match fault {
                    None => attempt().await,
                    Some(kind) => {
                        let detail = format!(
                            "activity {activity_type} (id {}, attempt {}) of workflow {}",
                            context.info().activity_id,
                            context.info().attempt,
                            execution.workflow_id,
                        );
                        self.record_chaos(kind, detail);
                        match kind {
                            ChaosKind::ActivityFailure => Err(ActivityError::application(
                                "chaos: the attempt was failed before it ran",
                                INJECTED_FAILURE_TYPE,
                            )),
                            ChaosKind::ActivityTimeout => {
                                // It runs; its result is lost: the engine times it out.
                                let _ = attempt().await;
                                return;
                            }
                            _ => {
                                let _ = attempt().await;
                                attempt().await
                            }
                        }
                    }
                }
            }
        };
        let pending = matches!(&outcome, Err(error) if error.is_result_pending());
        self.record_activity_done(&activity_type, started, outcome.is_err() && !pending);
        if pending {
            // Completed from elsewhere with the attempt's token (or by id): nothing to
            // report; its timeouts still run in the engine.
            tracing::debug!(%activity_type, activity_id = %context.info().activity_id, "the activity completes asynchronously");
            return;
        }
        if canceled.cancel_reason() == Some(CancelReason::Gone) {
            tracing::info!(%activity_type, "the attempt is gone; its outcome is not reported");
            return;
        }
        let request = match outcome {
            Ok(result) => Request::CompleteActivityTask(CompleteActivityTaskRequest {
                execution,
                token,
                result,
                identity: self.options.identity.clone(),
            }),
            // Cancellation the workflow asked for and the activity acknowledged (§5.12.2).
            Err(error)
                if error.is_canceled()
                    && canceled.cancel_reason() == Some(CancelReason::Requested) =>
            {
                let details = match &error.0.info {
                    endure_core::FailureInfo::Canceled { details } => details.clone(),
                    _ => None,
                };
                Request::CancelActivityTask(CancelActivityTaskRequest {
                    execution,
                    token,
                    details,
                    identity: self.options.identity.clone(),
                })
            }
            // Stopped by shutdown: a retryable failure, so another worker runs it again.
            Err(error)
                if error.is_canceled()
                    && canceled.cancel_reason() == Some(CancelReason::WorkerShutdown) =>
            {
                Request::FailActivityTask(FailActivityTaskRequest {
                    execution,
                    token,
                    failure: Failure::application(
                        "the worker shut down before the activity finished",
                        "WorkerShutdown",
                    ),
                    identity: self.options.identity.clone(),
                })
            }
            Err(error) => Request::FailActivityTask(FailActivityTaskRequest {
                execution,
                token,
                failure: *error.0,
                identity: self.options.identity.clone(),
            }),
        };
        if let Err(error) = self.transport.call(request).await {
            tracing::warn!(%error, "activity result refused (timed out or retried meanwhile?)");
        }
        if let Some(reported) = reported {
            let _ = reported.send(());
        }
    }

    /// An attempt of `activity_type`'s implementation (an error if none is registered).
    fn activity_run(
        &self,
        activity_type: &str,
        context: &ActivityContext,
        input: endure_core::Payloads,
    ) -> ActivityRun {
        match (self.activities.get(activity_type), &self.dynamic_activity) {
            (Some(function), _) => function(context.clone(), input),
            (None, Some(dynamic)) => dynamic(context.clone(), activity_type.to_owned(), input),
            (None, None) => {
                let message =
                    format!("activity type {activity_type} is not registered with this worker");
                Box::pin(async move {
                    Err(ActivityError::application(
                        message,
                        "ActivityTypeNotRegistered",
                    ))
                })
            }
        }
    }

    /// Records a fault chaos injected on this worker.
    fn record_chaos(&self, kind: ChaosKind, detail: String) {
        if let Some(chaos) = &self.chaos {
            chaos.record(kind, &self.options.identity, detail);
        }
    }
}
