//! Sessions (spec §5.15): activities that must all run on one worker — download a file,
//! process it, upload it — without naming that worker's queue by hand.
//!
//! Built as Temporal's Go SDK builds them, so the history reads the same:
//!
//! - [`WorkflowContext::create_session`] schedules the *creation activity*
//!   (`internalSessionCreationActivity`) on `<queue>__internal_session_creation`, with the
//!   creation timeout as its schedule-to-start timeout, the execution timeout as its
//!   start-to-close timeout and a heartbeat timeout (20 s by default). Only workers with
//!   [`enable_session_worker`](crate::WorkerOptions::enable_session_worker) poll that queue,
//!   and only while they have a free session slot, so when every worker is full the
//!   activity waits in the queue until the creation timeout fails it.
//! - The worker that takes it signals the workflow (the signal's name is the session id)
//!   with its *resource-specific queue*, which only it polls, and then heartbeats for as
//!   long as the session lasts. Every activity started from the session's context goes to
//!   that queue.
//! - [`WorkflowContext::complete_session`] cancels the creation activity and runs the
//!   completion activity on the worker's queue, which frees the slot at once.
//! - If the worker dies its heartbeats stop, the creation activity times out, and the
//!   session **fails**: its context is cancelled, activities still pending in it fail
//!   with an error for which [`ActivityError::is_session_failed`] holds, and new ones fail
//!   the same way without being scheduled. The workflow then creates a new session (on
//!   any worker) or gives up. A worker that shuts down ends its sessions the same way, at
//!   once.
//! - [`SessionInfo::recreate_token`] names the worker's queue, so
//!   [`WorkflowContext::recreate_session`] (in the next run, after continue-as-new, say)
//!   opens a new session on the same worker.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use endure_core::{ActivityOptions, Failure, Payload, Payloads, RetryPolicy, TaskQueueName};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::context::{CancelHandle, WorkflowContext};
use super::state::ActivityError;

/// The activity that opens a session on a worker and lasts as long as it (Go's name).
pub const SESSION_CREATION_ACTIVITY: &str = "internalSessionCreationActivity";
/// The activity that ends a session on its worker at once (Go's name).
pub const SESSION_COMPLETION_ACTIVITY: &str = "internalSessionCompletionActivity";
/// The error type of an activity that failed because its session did.
pub const SESSION_FAILED_ERROR_TYPE: &str = "SessionFailed";
/// The retryable error a worker with no free session slot answers a creation with.
pub(crate) const TOO_MANY_SESSIONS: &str = "too many outstanding sessions";
/// The heartbeat timeout of the creation activity when the options name none (Go's).
pub const DEFAULT_SESSION_HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the completion activity may wait for and take on the session's worker (Go's).
const COMPLETION_TIMEOUT: Duration = Duration::from_secs(3);
/// Appended to a task queue's name to name the queue session creations wait on (Go's).
const CREATION_QUEUE_SUFFIX: &str = "__internal_session_creation";

/// The queue on which sessions for workers of `task_queue` are created.
pub(crate) fn creation_task_queue(
    task_queue: &TaskQueueName,
) -> Result<TaskQueueName, endure_core::ValidationError> {
    TaskQueueName::new(format!("{task_queue}{CREATION_QUEUE_SUFFIX}"))
}

/// How long a session may take to open and to run (Go's `SessionOptions`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionOptions {
    /// How long to wait for a worker with a free session slot; creation fails after it.
    pub creation_timeout: Duration,
    /// The longest the session may last; it fails when this passes.
    pub execution_timeout: Duration,
    /// How long the session's worker may go silent before the session fails (20 s when
    /// `None`). Shorter notices a dead worker sooner, at the cost of more heartbeats.
    pub heartbeat_timeout: Option<Duration>,
}

/// Where a session is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionState {
    /// Open: activities of its context run on its worker.
    Open,
    /// Its worker died or shut down, or its execution timeout passed: activities of its
    /// context fail with a session error.
    Failed,
    /// Completed by the workflow: its context is cancelled.
    Closed,
}

/// A session, as [`WorkflowContext::session_info`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    /// The session's id, unique per session (deterministic: the workflow's random stream).
    pub session_id: String,
    /// The worker holding it: its identity ([`WorkerOptions::identity`](crate::WorkerOptions::identity)).
    pub host_name: String,
    /// The resource the worker's sessions use (its
    /// [`session_resource_id`](crate::WorkerOptions::session_resource_id)).
    pub resource_id: String,
    /// The worker's own queue, on which the session's activities run.
    pub task_queue: TaskQueueName,
    /// Open, failed or closed.
    pub state: SessionState,
}

impl SessionInfo {
    /// A token with which [`WorkflowContext::recreate_session`] opens a new session on the
    /// same worker (Go's `GetRecreateToken`).
    pub fn recreate_token(&self) -> Vec<u8> {
        let token = RecreateToken {
            task_queue: self.task_queue.to_string(),
        };
        serde_json::to_vec(&token).unwrap_or_default()
    }
}

/// Why a session could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The context already has an open session; complete it before creating another.
    #[error("this context already has an open session; complete it before creating another")]
    AlreadyOpen,
    /// No worker took the session in time (every session worker was full, or none polls
    /// the queue), or the creation was cancelled.
    #[error("the session could not be created: {0}")]
    Creation(ActivityError),
    /// The options cannot make a session.
    #[error("invalid session options: {0}")]
    InvalidOptions(String),
    /// The recreate token is not one [`SessionInfo::recreate_token`] made.
    #[error("invalid session recreate token: {0}")]
    InvalidToken(String),
}

/// What the session's worker signals to the workflow when it takes the session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SessionCreated {
    pub(crate) task_queue: String,
    pub(crate) host_name: String,
    pub(crate) resource_id: String,
}

#[derive(Serialize, Deserialize)]
struct RecreateToken {
    task_queue: String,
}

/// An open (or ended) session, shared by its context's clones.
pub(crate) struct SessionCell {
    info: Mutex<SessionInfo>,
    /// Cancels the session's scope: the creation activity and the session's activities.
    cancel: CancelHandle,
    /// The context the session was created from, for the completion activity (which the
    /// session's own cancellation must not reach).
    parent: WorkflowContext,
}

impl SessionCell {
    /// The session's state.
    pub(crate) fn state(&self) -> SessionState {
        self.info.lock().state
    }

    /// The worker's queue.
    pub(crate) fn task_queue(&self) -> TaskQueueName {
        self.info.lock().task_queue.clone()
    }
}

/// An activity error for an activity of a failed session (Go's `ErrSessionFailed`).
pub(crate) fn session_failed() -> Failure {
    Failure::application(
        "session has failed: its worker died, shut down, or the session outlived its execution timeout",
        SESSION_FAILED_ERROR_TYPE,
    )
    .non_retryable()
}

/// A session being opened.
struct Creation {
    session_id: String,
    /// The context it was created from, outside any session.
    parent: WorkflowContext,
    /// The session's scope, and what cancels it.
    scoped: WorkflowContext,
    cancel: CancelHandle,
    /// The creation activity.
    creation: super::ActivityFuture,
}

/// What came first while a session opens.
enum Opening {
    Signaled(Payloads),
    Ended(Result<Option<Payloads>, ActivityError>),
}

impl WorkflowContext {
    /// Opens a session on a worker polling this context's activity queue (the workflow's
    /// queue unless the activity options name another), and returns a context whose
    /// activities all run on that worker (Go's `workflow.CreateSession`). Only workers with
    /// [`enable_session_worker`](crate::WorkerOptions::enable_session_worker) and a free
    /// session slot take it; none within the creation timeout is
    /// [`SessionError::Creation`]. If the worker dies (its heartbeats stop) or shuts down,
    /// the session becomes [`SessionState::Failed`]: its pending and later activities fail
    /// with [`ActivityError::is_session_failed`], and the workflow may open another.
    pub fn create_session(
        &self,
        options: SessionOptions,
    ) -> impl Future<Output = Result<Self, SessionError>> + Send + 'static + use<> {
        let base = self
            .activity_options()
            .and_then(|options| options.task_queue.clone())
            .unwrap_or_else(|| self.info().started.task_queue);
        let queue = creation_task_queue(&base).map_err(|error| {
            SessionError::InvalidOptions(format!(
                "the task queue is too long for sessions: {error}"
            ))
        });
        self.open_session(queue, options)
    }

    /// Opens a new session on the worker that held the session `token` came from (Go's
    /// `workflow.RecreateSession`); it fails like [`create_session`](Self::create_session)
    /// if that worker has no free slot within the creation timeout.
    pub fn recreate_session(
        &self,
        token: &[u8],
        options: SessionOptions,
    ) -> impl Future<Output = Result<Self, SessionError>> + Send + 'static + use<> {
        let queue = serde_json::from_slice::<RecreateToken>(token)
            .map_err(|error| SessionError::InvalidToken(error.to_string()))
            .and_then(|token| {
                TaskQueueName::new(token.task_queue)
                    .map_err(|error| SessionError::InvalidToken(error.to_string()))
            });
        self.open_session(queue, options)
    }

    /// Completes this context's session (Go's `workflow.CompleteSession`): the session's
    /// context is cancelled — its pending activities with it — and its worker's slot is
    /// freed. Carry on with the context the session was created from. Does nothing if the
    /// context has no open session.
    pub fn complete_session(&self) -> impl Future<Output = ()> + Send + 'static + use<> {
        let completion = self.session_cell().and_then(|cell| {
            let info = {
                let mut info = cell.info.lock();
                if info.state != SessionState::Open {
                    return None;
                }
                info.state = SessionState::Closed;
                info.clone()
            };
            cell.cancel.cancel();
            let options = ActivityOptions {
                task_queue: Some(info.task_queue),
                schedule_to_start_timeout: Some(COMPLETION_TIMEOUT),
                start_to_close_timeout: Some(COMPLETION_TIMEOUT),
                retry_policy: Some(RetryPolicy {
                    maximum_attempts: 1,
                    ..RetryPolicy::default()
                }),
                disable_eager_execution: true,
                ..ActivityOptions::default()
            };
            let future = cell
                .parent
                .with_activity_options(options)
                .execute_activity_raw(
                    SESSION_COMPLETION_ACTIVITY,
                    session_id_input(&info.session_id),
                );
            Some((future, cell.parent.logger()))
        });
        async move {
            if let Some((future, logger)) = completion
                && let Err(error) = future.await
            {
                // The worker is gone or slow; its slot is freed when it notices.
                logger.warn(&format!("the session completion activity failed: {error}"));
            }
        }
    }

    /// The session this context belongs to, if any (Go's `workflow.GetSessionInfo`).
    pub fn session_info(&self) -> Option<SessionInfo> {
        self.session_cell().map(|cell| cell.info.lock().clone())
    }

    fn open_session(
        &self,
        creation_queue: Result<TaskQueueName, SessionError>,
        options: SessionOptions,
    ) -> impl Future<Output = Result<Self, SessionError>> + Send + 'static + use<> {
        // Commands are issued now, when the workflow calls, so replay sees them in order.
        let prepared = self.schedule_creation(creation_queue, &options);
        async move {
            let Creation {
                session_id,
                parent,
                scoped,
                cancel,
                mut creation,
            } = prepared?;
            let mut signal = Box::pin(scoped.signal_channel(&session_id).recv());
            let first = std::future::poll_fn(|cx| {
                if let Poll::Ready(payloads) = signal.as_mut().poll(cx) {
                    return Poll::Ready(Opening::Signaled(payloads));
                }
                Pin::new(&mut creation).poll(cx).map(Opening::Ended)
            })
            .await;
            let created = match first {
                Opening::Signaled(payloads) => payloads.decode_first::<SessionCreated>(),
                Opening::Ended(ended) => {
                    cancel.cancel();
                    let error = ended.err().unwrap_or_else(|| {
                        ActivityError::application(
                            "the session creation activity ended before it opened the session",
                            "SessionCreationFailed",
                        )
                    });
                    return Err(SessionError::Creation(error));
                }
            };
            let opened = created
                .map_err(|error| error.to_string())
                .and_then(|created| {
                    let queue = TaskQueueName::new(created.task_queue.clone())
                        .map_err(|error| error.to_string())?;
                    Ok((created, queue))
                });
            let (created, task_queue) = match opened {
                Ok(opened) => opened,
                Err(message) => {
                    cancel.cancel();
                    return Err(SessionError::Creation(ActivityError::application(
                        format!(
                            "the session's worker answered what this SDK cannot read: {message}"
                        ),
                        "SessionCreationFailed",
                    )));
                }
            };
            let cell = Arc::new(SessionCell {
                info: Mutex::new(SessionInfo {
                    session_id,
                    host_name: created.host_name,
                    resource_id: created.resource_id,
                    task_queue,
                    state: SessionState::Open,
                }),
                cancel,
                parent,
            });
            let watched = Arc::clone(&cell);
            scoped.spawn(async move {
                // The creation activity ends while the session is open only when its
                // worker is gone (heartbeat timeout), shut down, or the execution timeout
                // passed. A cancellation (the workflow's own) is not a failure.
                let ended = creation.await;
                let failed = match &ended {
                    Ok(_) => false,
                    Err(error) => !error.is_canceled(),
                };
                let mut info = watched.info.lock();
                if failed && info.state == SessionState::Open {
                    info.state = SessionState::Failed;
                    drop(info);
                    watched.cancel.cancel();
                }
            });
            Ok(scoped.with_session(cell))
        }
    }

    /// Checks, names the session and schedules its creation activity in a scope of its
    /// own.
    fn schedule_creation(
        &self,
        creation_queue: Result<TaskQueueName, SessionError>,
        options: &SessionOptions,
    ) -> Result<Creation, SessionError> {
        if self
            .session_cell()
            .is_some_and(|cell| cell.state() == SessionState::Open)
        {
            return Err(SessionError::AlreadyOpen);
        }
        let queue = creation_queue?;
        if options.creation_timeout.is_zero() || options.execution_timeout.is_zero() {
            return Err(SessionError::InvalidOptions(
                "creation_timeout and execution_timeout must be positive".into(),
            ));
        }
        let session_id = self.uuid();
        let parent = self.without_session();
        let (scoped, cancel) = parent.with_cancel();
        let creation_options = ActivityOptions {
            task_queue: Some(queue),
            schedule_to_start_timeout: Some(options.creation_timeout),
            start_to_close_timeout: Some(options.execution_timeout),
            heartbeat_timeout: Some(
                options
                    .heartbeat_timeout
                    .unwrap_or(DEFAULT_SESSION_HEARTBEAT_TIMEOUT),
            ),
            // Go's: retry a worker that was full, never a session that timed out.
            retry_policy: Some(RetryPolicy {
                initial_interval: Duration::from_secs(1),
                backoff_coefficient: 1.1,
                maximum_interval: Some(Duration::from_secs(10)),
                maximum_attempts: 0,
                non_retryable_error_types: vec![
                    "TemporalTimeout:StartToClose".into(),
                    "TemporalTimeout:Heartbeat".into(),
                ],
            }),
            disable_eager_execution: true,
            ..ActivityOptions::default()
        };
        let creation = scoped
            .with_activity_options(creation_options)
            .execute_activity_raw(SESSION_CREATION_ACTIVITY, session_id_input(&session_id));
        Ok(Creation {
            session_id,
            parent,
            scoped,
            cancel,
            creation,
        })
    }
}

/// The session id as the creation and completion activities take it.
fn session_id_input(session_id: &str) -> Payloads {
    Payload::encode(&session_id)
        .map(Payloads::one)
        .unwrap_or_default()
}

impl ActivityError {
    /// Whether the activity failed because its session did (Go's `ErrSessionFailed`): the
    /// session's worker is gone, so the workflow should create a new session or give up.
    pub fn is_session_failed(&self) -> bool {
        self.0.chain().any(|failure| {
            matches!(&failure.info, endure_core::FailureInfo::Application { error_type, .. }
                if error_type == SESSION_FAILED_ERROR_TYPE)
        })
    }
}

/// A session that could not be opened fails the workflow (with `?`): with the creation
/// activity's failure, or an application failure of type `SessionError`.
impl From<SessionError> for super::WorkflowError {
    fn from(error: SessionError) -> Self {
        match error {
            SessionError::Creation(error) => error.into(),
            other => Failure::application(other.to_string(), "SessionError").into(),
        }
    }
}
