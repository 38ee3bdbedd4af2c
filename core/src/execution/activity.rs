//! Activities: normalised timeouts, dispatch, heartbeats, server-side retries, cancellation
//! and the four timeouts.
//!
//! Retries write no events: only the final outcome writes ActivityTaskStarted (for the last
//! attempt, if it started) and the closing event. A completion for an earlier attempt, or
//! after the activity closed, is refused as not found.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::io::{ActivityTaskStartedReply, ActivityTaskToken, Effects, Rejected, Reply, Task};
use super::workflow_task::Refusal;
use super::{BufferedEvent, ExecutionMachine};
use crate::command::ScheduleActivityTaskCommandAttributes;
use crate::enums::{RetryState, TimeoutType, WorkflowTaskFailedCause as Cause};
use crate::failure::{Failure, FailureInfo};
use crate::history::*;
use crate::ids::{ActivityId, EventId};
use crate::payload::Payloads;
use crate::time::Timestamp;

/// An attempt that a worker has taken.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityStarted {
    /// When it started.
    pub time: Timestamp,
    /// The worker.
    pub identity: String,
    /// The poll request that took it.
    pub request_id: String,
}

/// A pending activity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActivityInfo {
    /// The ActivityTaskScheduled attributes, timeouts normalised.
    pub scheduled: ActivityTaskScheduledEventAttributes,
    /// The ActivityTaskScheduled event.
    pub scheduled_event_id: EventId,
    /// When the activity was scheduled.
    pub scheduled_time: Timestamp,
    /// The current attempt, from 1.
    pub attempt: u32,
    /// When the current attempt was scheduled (after the retry backoff).
    pub attempt_scheduled_time: Timestamp,
    /// Set while the current attempt runs.
    pub started: Option<ActivityStarted>,
    /// When the last heartbeat arrived.
    pub last_heartbeat_time: Option<Timestamp>,
    /// The last heartbeat's details, kept across attempts.
    pub heartbeat_details: Option<Payloads>,
    /// The previous attempt's failure.
    pub last_failure: Option<Failure>,
    /// Set while waiting out a retry backoff: when the next attempt is dispatched.
    pub retry_time: Option<Timestamp>,
    /// The ActivityTaskCancelRequested event, once the workflow asked to cancel.
    pub cancel_requested_event_id: Option<EventId>,
}

impl ActivityInfo {
    /// A just-scheduled activity: attempt 1, dispatched at `time`.
    pub(super) fn new(
        scheduled: ActivityTaskScheduledEventAttributes,
        scheduled_event_id: EventId,
        time: Timestamp,
    ) -> Self {
        Self {
            scheduled,
            scheduled_event_id,
            scheduled_time: time,
            attempt: 1,
            attempt_scheduled_time: time,
            started: None,
            last_heartbeat_time: None,
            heartbeat_details: None,
            last_failure: None,
            retry_time: None,
            cancel_requested_event_id: None,
        }
    }

    /// When the whole activity expires (schedule-to-close), if bounded.
    fn expiration_time(&self) -> Option<Timestamp> {
        self.scheduled
            .schedule_to_close_timeout
            .map(|timeout| self.scheduled_time.saturating_add(timeout))
    }

    /// The earliest time something happens to this activity on its own.
    pub(super) fn deadline(&self) -> Option<Timestamp> {
        let mut candidates = vec![self.expiration_time(), self.retry_time];
        match &self.started {
            None if self.retry_time.is_none() => candidates.push(
                self.scheduled
                    .schedule_to_start_timeout
                    .map(|timeout| self.attempt_scheduled_time.saturating_add(timeout)),
            ),
            None => {}
            Some(started) => {
                candidates.push(Some(
                    started
                        .time
                        .saturating_add(self.scheduled.start_to_close_timeout),
                ));
                candidates.push(self.heartbeat_deadline(started));
            }
        }
        candidates.into_iter().flatten().min()
    }

    fn heartbeat_deadline(&self, started: &ActivityStarted) -> Option<Timestamp> {
        let timeout = self.scheduled.heartbeat_timeout?;
        let last_beat = self
            .last_heartbeat_time
            .map_or(started.time, |time| time.max(started.time));
        Some(last_beat.saturating_add(timeout))
    }

    /// The timeout of this activity that is due at `now`, most decisive first.
    fn due_timeout(&self, now: Timestamp) -> Option<TimeoutType> {
        let due = |time: Option<Timestamp>| time.is_some_and(|time| time <= now);
        if due(self.expiration_time()) {
            return Some(TimeoutType::ScheduleToClose);
        }
        match &self.started {
            None if self.retry_time.is_none() => due(self
                .scheduled
                .schedule_to_start_timeout
                .map(|timeout| self.attempt_scheduled_time.saturating_add(timeout)))
            .then_some(TimeoutType::ScheduleToStart),
            None => None,
            Some(started) => {
                if due(Some(
                    started
                        .time
                        .saturating_add(self.scheduled.start_to_close_timeout),
                )) {
                    Some(TimeoutType::StartToClose)
                } else if due(self.heartbeat_deadline(started)) {
                    Some(TimeoutType::Heartbeat)
                } else {
                    None
                }
            }
        }
    }

    /// The token of the current attempt.
    pub fn current_token(&self) -> ActivityTaskToken {
        ActivityTaskToken {
            scheduled_event_id: self.scheduled_event_id,
            attempt: self.attempt,
        }
    }
}

/// How an activity closed: the attributes of its ActivityTaskStarted event (if an attempt
/// started) and of its closing event, minus the started id that links them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ActivityClose {
    scheduled_event_id: EventId,
    started: Option<ActivityTaskStartedEventAttributes>,
    outcome: ActivityOutcome,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) enum ActivityOutcome {
    Completed {
        result: Option<Payloads>,
        identity: String,
    },
    Failed {
        failure: Failure,
        identity: String,
        retry_state: RetryState,
    },
    TimedOut {
        failure: Failure,
        retry_state: RetryState,
    },
    Canceled {
        details: Option<Payloads>,
        latest_cancel_requested_event_id: EventId,
        identity: String,
    },
}

/// Timeouts of a ScheduleActivityTask command, normalised as Temporal does.
struct NormalizedTimeouts {
    schedule_to_close: Option<Duration>,
    schedule_to_start: Option<Duration>,
    start_to_close: Duration,
    heartbeat: Option<Duration>,
}

/// Schedule-to-start and start-to-close default to and are capped by schedule-to-close;
/// without schedule-to-close both default to the run timeout; everything is capped by the
/// run timeout; the heartbeat timeout is capped by start-to-close.
fn normalize_timeouts(
    command: &ScheduleActivityTaskCommandAttributes,
    run_timeout: Option<Duration>,
) -> Result<NormalizedTimeouts, Refusal> {
    let cap_run = |duration: Duration| run_timeout.map_or(duration, |run| duration.min(run));
    let (schedule_to_close, schedule_to_start, start_to_close) =
        match command.schedule_to_close_timeout {
            Some(schedule_to_close) => {
                let schedule_to_close = cap_run(schedule_to_close);
                let capped = |duration: Option<Duration>| {
                    duration.unwrap_or(schedule_to_close).min(schedule_to_close)
                };
                (
                    Some(schedule_to_close),
                    Some(capped(command.schedule_to_start_timeout)),
                    capped(command.start_to_close_timeout),
                )
            }
            None => {
                let start_to_close = command.start_to_close_timeout.ok_or_else(|| {
                    Refusal::new(
                        Cause::BadScheduleActivityAttributes,
                        "neither start_to_close_timeout nor schedule_to_close_timeout is set",
                    )
                })?;
                (
                    run_timeout,
                    command
                        .schedule_to_start_timeout
                        .or(run_timeout)
                        .map(cap_run),
                    cap_run(start_to_close),
                )
            }
        };
    Ok(NormalizedTimeouts {
        schedule_to_close,
        schedule_to_start,
        start_to_close,
        heartbeat: command
            .heartbeat_timeout
            .map(|heartbeat| heartbeat.min(start_to_close)),
    })
}

/// The delay before the next attempt, or why there is none.
fn retry_delay(
    info: &ActivityInfo,
    failure: &Failure,
    now: Timestamp,
) -> Result<Duration, RetryState> {
    let policy = &info.scheduled.retry_policy;
    if info.cancel_requested_event_id.is_some() {
        return Err(RetryState::CancelRequested);
    }
    if !policy.retries(failure) {
        return Err(RetryState::NonRetryableFailure);
    }
    if policy.attempts_exhausted(info.attempt) {
        return Err(RetryState::MaximumAttemptsReached);
    }
    let delay = match &failure.info {
        FailureInfo::Application {
            next_retry_delay: Some(delay),
            ..
        } => *delay,
        _ => policy.backoff(info.attempt),
    };
    if info
        .expiration_time()
        .is_some_and(|expiration| now.saturating_add(delay) >= expiration)
    {
        return Err(RetryState::Timeout);
    }
    Ok(delay)
}

impl ExecutionMachine {
    pub(super) fn schedule_activity(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        completed: EventId,
        command: ScheduleActivityTaskCommandAttributes,
    ) -> Result<(), Refusal> {
        if self.activity_ids.contains_key(&command.activity_id) {
            return Err(Refusal::new(
                Cause::ScheduleActivityDuplicateId,
                format!(
                    "activity id {} is already in use by a pending activity",
                    command.activity_id
                ),
            ));
        }
        let timeouts = normalize_timeouts(&command, self.run_timeout)?;
        let scheduled = ActivityTaskScheduledEventAttributes {
            activity_id: command.activity_id,
            activity_type: command.activity_type,
            task_queue: command
                .task_queue
                .unwrap_or_else(|| self.task_queue.clone()),
            header: command.header,
            input: command.input,
            schedule_to_close_timeout: timeouts.schedule_to_close,
            schedule_to_start_timeout: timeouts.schedule_to_start,
            start_to_close_timeout: timeouts.start_to_close,
            heartbeat_timeout: timeouts.heartbeat,
            workflow_task_completed_event_id: completed,
            retry_policy: command.retry_policy.unwrap_or_default(),
        };
        let scheduled_event_id = self.write(
            fx,
            now,
            EventAttributes::ActivityTaskScheduled(Box::new(scheduled.clone())),
        );
        fx.tasks.push(Task::ActivityTask {
            scheduled_event_id,
            attempt: 1,
            task_queue: scheduled.task_queue.clone(),
        });
        self.activity_ids
            .insert(scheduled.activity_id.clone(), scheduled_event_id);
        self.activities.insert(
            scheduled_event_id,
            ActivityInfo::new(scheduled, scheduled_event_id, now),
        );
        Ok(())
    }

    /// RequestCancelActivityTask: writes CancelRequested; an activity not running (not
    /// started, or waiting out a retry) is canceled at once, which needs a new task.
    pub(super) fn request_cancel_activity(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        completed: EventId,
        scheduled_event_id: EventId,
    ) -> Result<bool, Refusal> {
        let Some(info) = self.activities.get(&scheduled_event_id) else {
            return Err(Refusal::new(
                Cause::BadRequestCancelActivityAttributes,
                format!("activity {scheduled_event_id} is not pending"),
            ));
        };
        if info.cancel_requested_event_id.is_some() {
            return Err(Refusal::new(
                Cause::BadRequestCancelActivityAttributes,
                format!("cancellation of activity {scheduled_event_id} was already requested"),
            ));
        }
        let running = info.started.is_some();
        let cancel_requested = self.write(
            fx,
            now,
            EventAttributes::ActivityTaskCancelRequested(
                ActivityTaskCancelRequestedEventAttributes {
                    scheduled_event_id,
                    workflow_task_completed_event_id: completed,
                },
            ),
        );
        if running {
            if let Some(info) = self.activities.get_mut(&scheduled_event_id) {
                info.cancel_requested_event_id = Some(cancel_requested);
            }
            return Ok(false);
        }
        self.remove_activity(scheduled_event_id);
        self.write_activity_close(
            fx,
            now,
            ActivityClose {
                scheduled_event_id,
                started: None,
                outcome: ActivityOutcome::Canceled {
                    details: None,
                    latest_cancel_requested_event_id: cancel_requested,
                    identity: String::new(),
                },
            },
        );
        Ok(true)
    }

    fn remove_activity(&mut self, scheduled_event_id: EventId) -> Option<ActivityInfo> {
        let info = self.activities.remove(&scheduled_event_id)?;
        self.forget_activity_id(&info.scheduled.activity_id, scheduled_event_id);
        Some(info)
    }

    /// Frees `activity_id` for reuse if it still names the activity scheduled at
    /// `scheduled_event_id`. The id may already name a newer activity: a completion that was
    /// buffered behind a workflow task closes its activity in history only after the task's
    /// commands, which may have scheduled a new activity under the same id.
    pub(super) fn forget_activity_id(
        &mut self,
        activity_id: &ActivityId,
        scheduled_event_id: EventId,
    ) {
        if self.activity_ids.get(activity_id) == Some(&scheduled_event_id) {
            self.activity_ids.remove(activity_id);
        }
    }

    /// The pending activity whose current attempt is `token`.
    fn current_attempt(&self, token: ActivityTaskToken) -> Result<&ActivityInfo, Rejected> {
        self.require_open()?;
        match self.activities.get(&token.scheduled_event_id) {
            Some(info) if info.attempt == token.attempt && info.retry_time.is_none() => Ok(info),
            _ => Err(Rejected::NotFound(format!(
                "activity {} attempt {}",
                token.scheduled_event_id, token.attempt
            ))),
        }
    }

    /// The pending activity whose current attempt is `token` and is running.
    fn running_attempt(
        &self,
        token: ActivityTaskToken,
    ) -> Result<(&ActivityInfo, &ActivityStarted), Rejected> {
        let info = self.current_attempt(token)?;
        let started = info.started.as_ref().ok_or_else(|| {
            Rejected::NotFound(format!(
                "activity {} attempt {} (not started)",
                token.scheduled_event_id, token.attempt
            ))
        })?;
        Ok((info, started))
    }

    pub(super) fn start_activity_task(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        token: ActivityTaskToken,
        request_id: String,
        identity: String,
    ) -> Result<(), Rejected> {
        let info = self.current_attempt(token)?;
        if let Some(started) = &info.started
            && started.request_id != request_id
        {
            return Err(Rejected::NotFound(format!(
                "activity {} attempt {} (already started)",
                token.scheduled_event_id, token.attempt
            )));
        }
        let info = self
            .activities
            .get_mut(&token.scheduled_event_id)
            .expect("checked above");
        let started = info.started.get_or_insert(super::ActivityStarted {
            time: now,
            identity,
            request_id,
        });
        fx.reply = Reply::ActivityTaskStarted(Box::new(ActivityTaskStartedReply {
            token,
            scheduled: info.scheduled.clone(),
            workflow_type: self.workflow_type.clone(),
            heartbeat_details: info.heartbeat_details.clone(),
            scheduled_time: info.scheduled_time,
            current_attempt_scheduled_time: info.attempt_scheduled_time,
            started_time: started.time,
        }));
        Ok(())
    }

    pub(super) fn heartbeat_activity_task(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        token: ActivityTaskToken,
        details: Option<Payloads>,
    ) -> Result<(), Rejected> {
        self.running_attempt(token)?;
        if let Some(details) = &details {
            details.check_size("heartbeat details")?;
        }
        let info = self
            .activities
            .get_mut(&token.scheduled_event_id)
            .expect("checked above");
        info.last_heartbeat_time = Some(now);
        if details.is_some() {
            info.heartbeat_details = details;
        }
        fx.reply = Reply::Heartbeat {
            cancel_requested: info.cancel_requested_event_id.is_some(),
        };
        Ok(())
    }

    pub(super) fn complete_activity_task(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        token: ActivityTaskToken,
        result: Option<Payloads>,
        identity: String,
    ) -> Result<(), Rejected> {
        self.running_attempt(token)?;
        if let Some(result) = &result {
            result.check_size("activity result")?;
        }
        self.close_activity(fx, now, token.scheduled_event_id, |_| {
            ActivityOutcome::Completed { result, identity }
        });
        Ok(())
    }

    pub(super) fn fail_activity_task(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        token: ActivityTaskToken,
        failure: Failure,
        identity: String,
    ) -> Result<(), Rejected> {
        self.running_attempt(token)?;
        failure.validate()?;
        self.fail_activity_attempt(fx, now, token.scheduled_event_id, failure, Some(identity));
        Ok(())
    }

    pub(super) fn cancel_activity_task(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        token: ActivityTaskToken,
        details: Option<Payloads>,
        identity: String,
    ) -> Result<(), Rejected> {
        let (info, _) = self.running_attempt(token)?;
        let Some(latest_cancel_requested_event_id) = info.cancel_requested_event_id else {
            return Err(Rejected::NotFound(format!(
                "a cancel request for activity {} (none was made)",
                token.scheduled_event_id
            )));
        };
        self.close_activity(fx, now, token.scheduled_event_id, |_| {
            ActivityOutcome::Canceled {
                details,
                latest_cancel_requested_event_id,
                identity,
            }
        });
        Ok(())
    }

    /// An attempt failed (by the worker, or a retryable timeout): retry after the backoff,
    /// or close the activity with the final failure.
    fn fail_activity_attempt(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        scheduled_event_id: EventId,
        failure: Failure,
        identity: Option<String>,
    ) {
        let Some(info) = self.activities.get_mut(&scheduled_event_id) else {
            return;
        };
        match retry_delay(info, &failure, now) {
            Ok(delay) => {
                info.attempt += 1;
                info.started = None;
                info.last_failure = Some(failure);
                info.retry_time = Some(now.saturating_add(delay));
            }
            Err(retry_state) => {
                let timeout_type = match &failure.info {
                    FailureInfo::Timeout { timeout_type, .. } => Some(*timeout_type),
                    _ => None,
                };
                self.close_activity(fx, now, scheduled_event_id, |info| {
                    match (timeout_type, identity) {
                        // A timeout whose retries ran out of time is reported as schedule-to-close.
                        (Some(timeout_type), _) => {
                            let timeout_type = if retry_state == RetryState::Timeout {
                                TimeoutType::ScheduleToClose
                            } else {
                                timeout_type
                            };
                            ActivityOutcome::TimedOut {
                                failure: timeout_failure(info, timeout_type),
                                retry_state,
                            }
                        }
                        (None, identity) => ActivityOutcome::Failed {
                            failure,
                            identity: identity.unwrap_or_default(),
                            retry_state,
                        },
                    }
                });
            }
        }
    }

    /// Removes the activity and records its close (buffered while a task is in flight).
    fn close_activity(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        scheduled_event_id: EventId,
        outcome: impl FnOnce(&ActivityInfo) -> ActivityOutcome,
    ) {
        let Some(info) = self.remove_activity(scheduled_event_id) else {
            return;
        };
        let outcome = outcome(&info);
        let started = info
            .started
            .as_ref()
            .map(|started| ActivityTaskStartedEventAttributes {
                scheduled_event_id,
                identity: started.identity.clone(),
                request_id: started.request_id.clone(),
                attempt: info.attempt,
                last_failure: info.last_failure.clone(),
            });
        let close = ActivityClose {
            scheduled_event_id,
            started,
            outcome,
        };
        if self.workflow_task_in_flight() {
            self.buffered_events
                .push(BufferedEvent::ActivityClosed { time: now, close });
        } else {
            self.write_activity_close(fx, now, close);
            self.materialize_pending_workflow_task(fx, now);
        }
        self.schedule_workflow_task_if_needed(fx, now);
    }

    /// Writes ActivityTaskStarted (if the final attempt started) and the closing event.
    pub(super) fn write_activity_close(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        close: ActivityClose,
    ) {
        let scheduled_event_id = close.scheduled_event_id;
        let started_event_id = close
            .started
            .map(|started| self.write(fx, now, EventAttributes::ActivityTaskStarted(started)));
        let attributes = match close.outcome {
            ActivityOutcome::Completed { result, identity } => {
                EventAttributes::ActivityTaskCompleted(ActivityTaskCompletedEventAttributes {
                    result,
                    scheduled_event_id,
                    started_event_id: started_event_id.expect("a completed activity started"),
                    identity,
                })
            }
            ActivityOutcome::Failed {
                failure,
                identity,
                retry_state,
            } => EventAttributes::ActivityTaskFailed(ActivityTaskFailedEventAttributes {
                failure,
                scheduled_event_id,
                started_event_id: started_event_id.expect("a failed activity started"),
                identity,
                retry_state,
            }),
            ActivityOutcome::TimedOut {
                failure,
                retry_state,
            } => EventAttributes::ActivityTaskTimedOut(ActivityTaskTimedOutEventAttributes {
                failure,
                scheduled_event_id,
                started_event_id,
                retry_state,
            }),
            ActivityOutcome::Canceled {
                details,
                latest_cancel_requested_event_id,
                identity,
            } => EventAttributes::ActivityTaskCanceled(ActivityTaskCanceledEventAttributes {
                details,
                latest_cancel_requested_event_id,
                scheduled_event_id,
                started_event_id,
                identity,
            }),
        };
        self.write(fx, now, attributes);
    }

    /// Fires every activity deadline due at `now`, in scheduled order.
    pub(super) fn fire_activity_deadlines(&mut self, fx: &mut Effects, now: Timestamp) {
        let due: Vec<EventId> = self
            .activities
            .values()
            .filter(|info| info.deadline().is_some_and(|deadline| deadline <= now))
            .map(|info| info.scheduled_event_id)
            .collect();
        for scheduled_event_id in due {
            let Some(info) = self.activities.get(&scheduled_event_id) else {
                continue;
            };
            match info.due_timeout(now) {
                Some(TimeoutType::ScheduleToClose) => {
                    self.close_activity(fx, now, scheduled_event_id, |info| {
                        ActivityOutcome::TimedOut {
                            failure: timeout_failure(info, TimeoutType::ScheduleToClose),
                            retry_state: RetryState::Timeout,
                        }
                    });
                }
                Some(TimeoutType::ScheduleToStart) => {
                    self.close_activity(fx, now, scheduled_event_id, |info| {
                        ActivityOutcome::TimedOut {
                            failure: timeout_failure(info, TimeoutType::ScheduleToStart),
                            retry_state: RetryState::NonRetryableFailure,
                        }
                    });
                }
                Some(timeout_type) => {
                    let failure = timeout_failure(info, timeout_type);
                    self.fail_activity_attempt(fx, now, scheduled_event_id, failure, None);
                }
                None => {
                    if info.retry_time.is_some_and(|time| time <= now) {
                        let info = self
                            .activities
                            .get_mut(&scheduled_event_id)
                            .expect("present");
                        info.retry_time = None;
                        info.attempt_scheduled_time = now;
                        fx.tasks.push(Task::ActivityTask {
                            scheduled_event_id,
                            attempt: info.attempt,
                            task_queue: info.scheduled.task_queue.clone(),
                        });
                    }
                }
            }
        }
    }
}

/// The timeout failure reported for `info`, its cause the previous attempt's failure.
fn timeout_failure(info: &ActivityInfo, timeout_type: TimeoutType) -> Failure {
    let mut failure = Failure::timeout(timeout_type);
    if let FailureInfo::Timeout {
        last_heartbeat_details,
        ..
    } = &mut failure.info
    {
        last_heartbeat_details.clone_from(&info.heartbeat_details);
    }
    match &info.last_failure {
        Some(last_failure) => failure.caused_by(last_failure.clone()),
        None => failure,
    }
}
