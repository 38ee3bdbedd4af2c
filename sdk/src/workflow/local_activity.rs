//! Local activities (spec §5.23), the workflow's side: run by the workflow worker itself,
//! inside the workflow task, and recorded as a `LocalActivity` marker when they finish.
//!
//! Calling [`WorkflowContext::execute_local_activity`] records a request (no command); the
//! worker runs it after the activation, retrying locally while the backoff is short, and
//! reports the outcome, which resolves the request and writes the marker command — so the
//! marker lands after whatever the workflow issued before it finished. On replay the
//! marker is read ahead: a request whose marker this task recorded is resolved from it,
//! in the markers' order, without running anything. A retry whose backoff exceeds the
//! local threshold (the workflow task timeout by default) is recorded as a marker with
//! the failure and the backoff; the workflow then sleeps on a durable timer and runs the
//! next attempt. If the task fails before its markers are recorded, the activities run
//! again: local activities run at least once.

use std::future::Future;
use std::task::Poll;
use std::time::Duration;

use endure_core::replay::WorkflowCommand;
use endure_core::{Failure, FailureInfo, Payload, Payloads, RetryPolicy};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::WorkflowContext;
use super::local_activity_marker::LocalActivityMarkerData;
use super::state::{ActivityError, Slot, WorkflowState};

/// The marker a local activity's outcome is recorded as.
pub const LOCAL_ACTIVITY_MARKER: &str = "LocalActivity";

/// How a local activity runs (Go's `workflow.LocalActivityOptions`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LocalActivityOptions {
    /// Limit of one attempt.
    pub start_to_close_timeout: Option<Duration>,
    /// Limit of all attempts together, backoffs included.
    pub schedule_to_close_timeout: Option<Duration>,
    /// Retries (Temporal's default policy if `None`).
    pub retry_policy: Option<RetryPolicy>,
    /// Backoffs up to this are waited out in the worker; longer ones go through a durable
    /// timer. The workflow task timeout if `None`.
    pub local_retry_threshold: Option<Duration>,
}

impl LocalActivityOptions {
    /// Options with a start-to-close timeout.
    pub fn with_start_to_close_timeout(timeout: Duration) -> Self {
        Self {
            start_to_close_timeout: Some(timeout),
            ..Self::default()
        }
    }
}

/// What the worker runs for a local activity request.
#[derive(Clone, Debug, PartialEq)]
pub struct LocalActivityRequest {
    /// The request's sequence number in this run.
    pub seq: u32,
    /// The activity type.
    pub activity_type: String,
    /// The arguments.
    pub input: Payloads,
    /// The first attempt this execution makes.
    pub attempt: u32,
    /// The options.
    pub options: LocalActivityOptions,
    /// The context headers the workflow's interceptors wrote for it.
    pub header: endure_core::Header,
}

/// How one execution of a local activity ended, as the worker reports it.
#[derive(Clone, Debug, PartialEq)]
pub enum LocalActivityOutcome {
    /// The last attempt returned this.
    Completed {
        /// The attempt.
        attempt: u32,
        /// The result.
        result: Option<Payloads>,
    },
    /// The last attempt failed and no retry follows.
    Failed {
        /// The attempt.
        attempt: u32,
        /// Why.
        failure: Failure,
    },
    /// The last attempt failed and the next waits longer than the local threshold: the
    /// workflow sleeps `backoff` on a timer, then runs attempt `attempt + 1`.
    Backoff {
        /// The attempt that failed.
        attempt: u32,
        /// Why.
        failure: Failure,
        /// How long until the next attempt.
        backoff: Duration,
    },
}

/// A request and where its outcome goes.
pub(crate) struct LocalActivitySlot {
    pub(crate) request: LocalActivityRequest,
    /// Handed to the worker to run.
    pub(crate) dispatched: bool,
    pub(crate) outcome: Slot<LocalActivityOutcome>,
}

impl WorkflowContext {
    /// Runs activity `activity_type` with `input` in this worker, inside the workflow task
    /// (Go's `ExecuteLocalActivity`): for short work, without a round trip to the engine.
    /// It has no heartbeats; it runs at least once (again if the task fails).
    pub fn execute_local_activity<I: Serialize + ?Sized, O: DeserializeOwned>(
        &self,
        activity_type: &str,
        input: &I,
        options: LocalActivityOptions,
    ) -> impl Future<Output = Result<O, ActivityError>> + Send + 'static + use<I, O> {
        let input = Payloads::encode_arguments(input);
        let context = self.clone();
        let activity_type = activity_type.to_owned();
        async move {
            let input = input.map_err(|error| invalid(error.to_string()))?;
            validate(&activity_type, &options).map_err(invalid)?;
            let first_scheduled = context.now();
            let mut attempt = 1;
            loop {
                let seq = context.schedule_local_activity(LocalActivityRequest {
                    seq: 0,
                    activity_type: activity_type.clone(),
                    input: input.clone(),
                    attempt,
                    options: options.clone(),
                    header: endure_core::Header::new(),
                });
                match context.wait_local_activity(seq).await {
                    LocalActivityOutcome::Completed { result, .. } => {
                        let payload = result
                            .and_then(|payloads| payloads.0.into_iter().next())
                            .unwrap_or_else(Payload::null);
                        return payload.decode().map_err(|error| invalid(error.to_string()));
                    }
                    LocalActivityOutcome::Failed { failure, .. } => {
                        return Err(ActivityError::new(local_failure(&activity_type, failure)));
                    }
                    LocalActivityOutcome::Backoff {
                        attempt: failed,
                        failure,
                        backoff,
                    } => {
                        let over = options.schedule_to_close_timeout.is_some_and(|limit| {
                            context
                                .now()
                                .saturating_add(backoff)
                                .saturating_duration_since(first_scheduled)
                                > limit
                        });
                        if over {
                            return Err(ActivityError::new(local_failure(&activity_type, failure)));
                        }
                        context
                            .sleep(backoff)
                            .await
                            .map_err(|_| ActivityError::new(Failure::canceled(None)))?;
                        attempt = failed + 1;
                    }
                }
            }
        }
    }

    fn schedule_local_activity(&self, mut request: LocalActivityRequest) -> u32 {
        request.header = self.outbound_header(&request.activity_type, |interceptor, ctx, call| {
            interceptor.schedule_local_activity(ctx, call);
        });
        let mut state = self.state.lock();
        state.next_local_activity_seq += 1;
        let seq = state.next_local_activity_seq;
        request.seq = seq;
        state.local_activities.insert(
            seq,
            LocalActivitySlot {
                request,
                dispatched: false,
                outcome: Slot::default(),
            },
        );
        seq
    }

    fn wait_local_activity(
        &self,
        seq: u32,
    ) -> impl Future<Output = LocalActivityOutcome> + Send + 'static + use<> {
        let state = std::sync::Arc::clone(&self.state);
        std::future::poll_fn(move |cx| {
            let mut state = state.lock();
            let Some(slot) = state.local_activities.get_mut(&seq) else {
                return Poll::Ready(LocalActivityOutcome::Failed {
                    attempt: 1,
                    failure: Failure::canceled(None),
                });
            };
            match &mut slot.outcome {
                Slot::Ready(_) => {
                    let Some(LocalActivitySlot {
                        outcome: Slot::Ready(outcome),
                        ..
                    }) = state.local_activities.remove(&seq)
                    else {
                        unreachable!("matched Ready above")
                    };
                    Poll::Ready(outcome)
                }
                Slot::Pending(waker) => {
                    *waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
    }
}

fn validate(activity_type: &str, options: &LocalActivityOptions) -> Result<(), String> {
    endure_core::ActivityType::new(activity_type).map_err(|error| error.to_string())?;
    if options.start_to_close_timeout.is_none() && options.schedule_to_close_timeout.is_none() {
        return Err(
            "a local activity needs a start-to-close or a schedule-to-close timeout".into(),
        );
    }
    for timeout in [
        options.start_to_close_timeout,
        options.schedule_to_close_timeout,
    ]
    .into_iter()
    .flatten()
    {
        if timeout.is_zero() {
            return Err("local activity timeouts must be positive".into());
        }
    }
    if let Some(policy) = &options.retry_policy {
        policy
            .validate("retry_policy")
            .map_err(|error| error.to_string())?;
    }
    Ok(())
}

fn invalid(message: String) -> ActivityError {
    ActivityError::new(Failure::application(message, "InvalidLocalActivity").non_retryable())
}

/// A local activity's failure as the workflow sees it: an activity failure caused by it.
fn local_failure(activity_type: &str, cause: Failure) -> Failure {
    let activity_type = endure_core::ActivityType::new(activity_type)
        .unwrap_or_else(|_| unreachable!("validated before it ran"));
    let retry_state = match &cause.info {
        FailureInfo::Application {
            non_retryable: true,
            ..
        } => endure_core::RetryState::NonRetryableFailure,
        FailureInfo::Timeout { .. } => endure_core::RetryState::Timeout,
        _ => endure_core::RetryState::MaximumAttemptsReached,
    };
    Failure::new(
        "local activity error",
        FailureInfo::Activity {
            scheduled_event_id: endure_core::EventId::FIRST,
            started_event_id: None,
            identity: String::new(),
            activity_type: activity_type.clone(),
            activity_id: endure_core::ActivityId::new(activity_type.as_str())
                .unwrap_or_else(|_| unreachable!("an activity type is a valid id")),
            retry_state,
        },
    )
    .caused_by(cause)
}

impl WorkflowState {
    /// Requests not yet handed to the worker, now marked as handed.
    pub(crate) fn take_local_activities_to_run(&mut self) -> Vec<LocalActivityRequest> {
        self.local_activities
            .values_mut()
            .filter(|slot| !slot.dispatched && matches!(slot.outcome, Slot::Pending(_)))
            .map(|slot| {
                slot.dispatched = true;
                slot.request.clone()
            })
            .collect()
    }

    /// Whether any request waits for its outcome.
    pub(crate) fn has_unresolved_local_activities(&self) -> bool {
        self.local_activities
            .values()
            .any(|slot| matches!(slot.outcome, Slot::Pending(_)))
    }

    /// Resolves request `seq` with `outcome` and issues its marker; false if it is not
    /// waiting (resolved already, or unknown).
    pub(crate) fn resolve_local_activity(
        &mut self,
        seq: u32,
        outcome: LocalActivityOutcome,
    ) -> bool {
        let Some(slot) = self.local_activities.get_mut(&seq) else {
            return false;
        };
        if !matches!(slot.outcome, Slot::Pending(_)) {
            return false;
        }
        let marker = super::local_activity_marker::marker(&slot.request, &outcome, self.now);
        slot.outcome.resolve(outcome);
        self.commands.push(WorkflowCommand::RecordMarker(marker));
        true
    }

    /// On replay: the waiting request whose marker comes first in this task's recorded
    /// markers, resolved from it. `None` if no waiting request has one.
    pub(crate) fn resolve_next_recorded_local_activity(&mut self) -> Option<u32> {
        let (position, seq) = self
            .markers
            .iter()
            .enumerate()
            .filter(|(_, marker)| marker.marker_name.as_str() == LOCAL_ACTIVITY_MARKER)
            .find_map(|(position, marker)| {
                let seq = LocalActivityMarkerData::of(marker)?.seq()?;
                let waiting = self
                    .local_activities
                    .get(&seq)
                    .is_some_and(|slot| matches!(slot.outcome, Slot::Pending(_)));
                waiting.then_some((position, seq))
            })?;
        let marker = self.markers.remove(position);
        self.resolve_local_activity(seq, super::local_activity_marker::outcome_of(&marker));
        Some(seq)
    }
}
