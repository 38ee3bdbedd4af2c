//! The session side of a worker (spec §5.15; the workflow side is `workflow::session`).
//!
//! A worker with [`enable_session_worker`](crate::WorkerOptions::enable_session_worker)
//! polls two more queues: the creation queue of its task queue, only while it has a free
//! session slot (so a full worker leaves creations to others, or to their creation
//! timeout), and its own resource-specific queue, on which the activities of its sessions
//! (and recreated sessions) arrive. A session lives as long as its creation activity runs
//! here: it signals the workflow where to send the session's activities, heartbeats, and
//! ends when the workflow completes the session, cancels it, or the worker shuts down.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use endure_core::execution::SignalRequest;
use endure_core::protocol::{ErrorKind, Rpc, SignalWorkflowRequest};
use endure_core::{Header, Payload, Payloads, RequestId, SignalName, TaskQueueName};
use parking_lot::Mutex;
use tokio::sync::oneshot;

use crate::activity_context::ActivityContext;
use crate::task_slots::{Slot, TaskSlots};
use crate::workflow::{ActivityError, SessionCreated, TOO_MANY_SESSIONS, creation_task_queue};

/// The longest pause between a session's heartbeats (Go's).
const MAX_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(10);
/// How many times the session's signal to its workflow is tried before the session fails.
const SIGNAL_ATTEMPTS: u32 = 5;

/// A worker's sessions: its queues, its slots and the sessions open on it.
pub(super) struct Sessions {
    /// Where sessions for this worker's task queue are created.
    pub(super) creation_queue: TaskQueueName,
    /// This worker's own queue: its sessions' activities.
    pub(super) resource_queue: TaskQueueName,
    resource_id: String,
    identity: String,
    /// One slot per open session (`max_concurrent_session_execution_size`).
    pub(super) slots: Arc<TaskSlots>,
    /// The open sessions, by id: sending ends the session's creation activity, which
    /// acknowledges on the sender sent once its end is reported.
    open: Mutex<BTreeMap<String, oneshot::Sender<Reported>>>,
    /// Set when the worker shuts down: every session ends.
    ending: tokio::sync::watch::Sender<bool>,
}

/// Told once a session's creation activity has reported its end.
pub(super) type Reported = oneshot::Sender<()>;

/// How long the completion activity waits for the creation activity to report its end.
const REPORT_WAIT: Duration = Duration::from_secs(2);

/// Whether a creation activity already holds a session slot (taken by the creation
/// queue's poller before it polled) or must take one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SessionSlot {
    /// The poller's slot is held for the activity.
    Held,
    /// Take one now (a recreation on the resource queue).
    Take,
}

impl Sessions {
    /// The session side of a worker of `task_queue` known as `identity`.
    pub(super) fn new(
        task_queue: &TaskQueueName,
        identity: &str,
        resource_id: String,
        max_sessions: usize,
    ) -> Result<Self, endure_core::ValidationError> {
        let creation_queue = creation_task_queue(task_queue)?;
        // Go's `resourceID@host`; an over-long identity falls back to the resource alone.
        let resource_queue = TaskQueueName::new(format!("{resource_id}@{identity}"))
            .or_else(|_| TaskQueueName::new(format!("{resource_id}@session")))?;
        Ok(Self {
            creation_queue,
            resource_queue,
            resource_id,
            identity: identity.to_owned(),
            slots: TaskSlots::new(max_sessions),
            open: Mutex::new(BTreeMap::new()),
            ending: tokio::sync::watch::Sender::new(false),
        })
    }

    /// Runs a session's creation activity: takes a slot unless held, signals the workflow
    /// where the session is, then heartbeats until the session ends. With the outcome
    /// comes, when the completion activity ended the session, whom to tell once the
    /// outcome is reported.
    pub(super) async fn run_creation(
        &self,
        context: &ActivityContext,
        input: &Payloads,
        slot: SessionSlot,
    ) -> (Result<Option<Payloads>, ActivityError>, Option<Reported>) {
        let mut reported = None;
        let outcome = self.hold_session(context, input, slot, &mut reported).await;
        (outcome, reported)
    }

    async fn hold_session(
        &self,
        context: &ActivityContext,
        input: &Payloads,
        slot: SessionSlot,
        reported: &mut Option<Reported>,
    ) -> Result<Option<Payloads>, ActivityError> {
        let _slot: Option<Slot> = match slot {
            SessionSlot::Held => None,
            SessionSlot::Take => match self.slots.try_take() {
                Some(slot) => Some(slot),
                // Retryable: the workflow's retry policy tries again shortly.
                None => {
                    return Err(ActivityError::application(
                        TOO_MANY_SESSIONS,
                        "SessionsFull",
                    ));
                }
            },
        };
        let session_id: String = input.decode_first().map_err(|error| {
            ActivityError::application(
                format!("the session id cannot be decoded: {error}"),
                "PayloadError",
            )
            .non_retryable()
        })?;
        let (done, mut ended) = oneshot::channel();
        self.open.lock().insert(session_id.clone(), done);
        let _registered = Registered {
            open: &self.open,
            session_id: &session_id,
        };
        self.signal_created(context, &session_id).await?;
        tracing::debug!(%session_id, queue = %self.resource_queue, "session open");
        let info = context.info();
        let scheduled = context.scheduled();
        let interval = scheduled
            .heartbeat_timeout
            .map_or(MAX_HEARTBEAT_INTERVAL, |timeout| timeout / 3)
            .min(MAX_HEARTBEAT_INTERVAL)
            .max(Duration::from_millis(100));
        let execution = tokio::time::sleep(scheduled.start_to_close_timeout);
        tokio::pin!(execution);
        let mut ending = self.ending.subscribe();
        loop {
            tokio::select! {
                biased;
                completed = &mut ended => {
                    *reported = completed.ok();
                    return Ok(None);
                }
                () = async { drop(ending.wait_for(|ending| *ending).await) } => {
                    return Err(ActivityError::application(
                        "the worker holding the session shut down",
                        "SessionWorkerShutdown",
                    )
                    .non_retryable());
                }
                _ = context.cancelled() => return Err(ActivityError::canceled(None)),
                () = &mut execution => {
                    return Err(ActivityError::application(
                        format!("the session outlived its execution timeout ({:?})", scheduled.start_to_close_timeout),
                        "SessionExecutionTimeout",
                    )
                    .non_retryable());
                }
                () = tokio::time::sleep(interval) => {
                    context.heartbeat(&()).await;
                    tracing::trace!(%session_id, attempt = info.attempt, "session heartbeat");
                }
            }
        }
    }

    /// Ends every session (the worker is shutting down) and waits until their ends are
    /// reported.
    pub(super) async fn end_all(&self) {
        self.ending.send_replace(true);
        self.slots.drained().await;
    }

    /// Runs a session's completion activity: ends the session's creation activity now, and
    /// waits (briefly) for its end to be recorded, so the workflow usually sees both in
    /// one workflow task.
    pub(super) async fn run_completion(
        &self,
        input: &Payloads,
    ) -> Result<Option<Payloads>, ActivityError> {
        let session_id: String = input.decode_first().map_err(|error| {
            ActivityError::application(
                format!("the session id cannot be decoded: {error}"),
                "PayloadError",
            )
            .non_retryable()
        })?;
        let done = self.open.lock().remove(&session_id);
        if let Some(done) = done {
            let (reported, report) = oneshot::channel();
            if done.send(reported).is_ok() {
                let _ = tokio::time::timeout(REPORT_WAIT, report).await;
            }
        }
        Ok(None)
    }

    /// Signals the session's workflow (signal name: the session id) with where the session
    /// is; retried a few times, with the session id deduplicating the retries.
    async fn signal_created(
        &self,
        context: &ActivityContext,
        session_id: &str,
    ) -> Result<(), ActivityError> {
        let invalid = |error: String| {
            ActivityError::application(error, "SessionCreationFailed").non_retryable()
        };
        let created = SessionCreated {
            task_queue: self.resource_queue.to_string(),
            host_name: self.identity.clone(),
            resource_id: self.resource_id.clone(),
        };
        let execution = context.info().execution;
        let request = SignalWorkflowRequest {
            namespace: execution.namespace,
            workflow_id: execution.workflow_id,
            run_id: Some(execution.run_id),
            signal: SignalRequest {
                signal_name: SignalName::new(session_id).map_err(|e| invalid(e.to_string()))?,
                input: Payloads::one(
                    Payload::encode(&created).map_err(|e| invalid(e.to_string()))?,
                ),
                identity: self.identity.clone(),
                header: Header::new(),
                request_id: Some(RequestId::new(session_id).map_err(|e| invalid(e.to_string()))?),
            },
        };
        let mut backoff = Duration::from_millis(100);
        let mut attempt = 1;
        loop {
            match context
                .transport()
                .call(request.clone().into_request())
                .await
            {
                Ok(_) => return Ok(()),
                Err(error) if matches!(error.kind, ErrorKind::NotFound) => {
                    return Err(invalid(format!("the session's workflow is gone: {error}")));
                }
                Err(error) if attempt >= SIGNAL_ATTEMPTS => {
                    return Err(ActivityError::application(
                        format!("could not tell the workflow about its session: {error}"),
                        "SessionCreationFailed",
                    ));
                }
                Err(error) => {
                    tracing::warn!(%error, %session_id, "session signal failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                    attempt += 1;
                }
            }
        }
    }
}

/// Removes a session from the open ones when its creation activity ends, however it ends.
struct Registered<'a> {
    open: &'a Mutex<BTreeMap<String, oneshot::Sender<Reported>>>,
    session_id: &'a str,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.open.lock().remove(self.session_id);
    }
}
