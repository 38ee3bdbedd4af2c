//! `WorkflowContext`: what workflow code uses instead of the clock, threads, sleeps, IO and
//! randomness (spec §4.1, §5.5, §6). A cheap clone; each clone can carry its own activity
//! options (Go's `WithActivityOptions`) and cancellation scope (Go's `WithCancel`).
//!
//! Everything it returns is driven by the workflow's executor and history: timers fire and
//! activities resolve from history events, `now` is the workflow task's start time, random
//! numbers come from the run's seed, side effects and versions are read back from markers on
//! replay.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use endure_core::history::WorkflowExecutionStartedEventAttributes;
use endure_core::replay::{ActivityResolution, WorkflowCommand};
use endure_core::storage::ExecutionKey;
use endure_core::time::Timestamp;
use endure_core::{
    ActivityCancellationType, ActivityId, ActivityOptions, ActivityType, CronSchedule, Failure,
    Header, Memo, Namespace, Payload, PayloadError, Payloads, RetryPolicy, RunId,
    ScheduleActivityTaskCommandAttributes, SearchAttributes, SignalName, TaskQueueName,
    WorkflowExecution, WorkflowId, WorkflowType,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::executor::Coroutine;
use super::scoped::{Operation, Scoped};
use super::session::{SessionCell, SessionState, session_failed};
use super::state::{ActivityError, CancelToken, QueryHandler, SharedState, Slot, TimerOutcome};
use crate::interceptors::{Outbound, WorkflowInterceptor, outbound_header};

/// The workflow's handle on its run: everything workflow code does that is not plain
/// computation goes through it, so that replaying the history rebuilds the same state.
///
/// Time ([`now`](Self::now), [`sleep`](Self::sleep)), activities, child workflows, signals,
/// queries and updates, side effects, versions, coroutines and selectors, cancellation
/// scopes and sessions. Clone it freely; every clone is the same run.
///
/// ```
/// use std::time::Duration;
///
/// use endure::{ActivityOptions, Selector, WorkflowContext, WorkflowError};
///
/// /// Waits for approval (a signal) for at most a day, answering `status` queries meanwhile.
/// #[endure::workflow(name = "Approval")]
/// async fn approval(ctx: WorkflowContext, request: String) -> Result<String, WorkflowError> {
///     let status = std::sync::Arc::new(std::sync::Mutex::new("waiting".to_owned()));
///     let read = status.clone();
///     ctx.set_query_handler("status", move |(): ()| {
///         Ok::<_, std::convert::Infallible>(read.lock().map(|s| s.clone()).unwrap_or_default())
///     });
///     let approved = ctx.signal_channel("approve");
///     let mut selector = Selector::new();
///     selector.add_future(approved.recv_json::<String>(), |by| by.ok());
///     selector.add_future(ctx.sleep(Duration::from_secs(24 * 3600)), |_| None);
///     let Some(Some(by)) = selector.select().await else {
///         return Ok(format!("{request}: expired"));
///     };
///     *status.lock().expect("status") = format!("approved by {by}");
///     let ctx = ctx.with_activity_options(ActivityOptions::with_start_to_close_timeout(
///         Duration::from_secs(30),
///     ));
///     let receipt: String = ctx.execute_activity("Notify", &(request, by)).await?;
///     Ok(receipt)
/// }
/// ```
#[derive(Clone)]
pub struct WorkflowContext {
    pub(super) state: SharedState,
    scope: CancelToken,
    activity_options: Option<ActivityOptions>,
    /// The session this context's activities run in (spec §5.15), if any.
    session: Option<Arc<SessionCell>>,
}

/// Information about the run (Go's `workflow.GetInfo`): which run it is and what its
/// WorkflowExecutionStarted event says.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkflowInfo {
    /// The run: namespace, workflow id and run id. A history replayed offline by the
    /// [`Replayer`](crate::Replayer) has no run of its own: it gets the workflow id
    /// `replay` and the history's original run id.
    pub execution: ExecutionKey,
    /// The start: type, queue, arguments, timeouts, attempt, cron, memo, parent, …
    pub started: WorkflowExecutionStartedEventAttributes,
}

impl WorkflowInfo {
    /// The workflow id.
    pub fn workflow_id(&self) -> &WorkflowId {
        &self.execution.workflow_id
    }

    /// The run id.
    pub fn run_id(&self) -> RunId {
        self.execution.run_id
    }

    /// The workflow type.
    pub fn workflow_type(&self) -> &WorkflowType {
        &self.started.workflow_type
    }

    /// The workflow's task queue.
    pub fn task_queue(&self) -> &TaskQueueName {
        &self.started.task_queue
    }

    /// The retry attempt of this run, from 1 (Go's `Attempt`).
    pub fn attempt(&self) -> u32 {
        self.started.attempt
    }

    /// The namespace (Go's `Namespace`).
    pub fn namespace(&self) -> &Namespace {
        &self.execution.namespace
    }

    /// The run as an execution: workflow id and run id (Go's `WorkflowExecution`).
    pub fn workflow_execution(&self) -> WorkflowExecution {
        WorkflowExecution {
            workflow_id: self.execution.workflow_id.clone(),
            run_id: Some(self.execution.run_id),
        }
    }

    /// The run this chain's reset or retry started from (Go's `OriginalRunID`).
    pub fn original_run_id(&self) -> RunId {
        self.started.original_execution_run_id
    }

    /// The chain's first run (Go's `FirstRunID`).
    pub fn first_run_id(&self) -> RunId {
        self.started.first_execution_run_id
    }

    /// The run this one continues — by continue-as-new, retry or cron — if any (Go's
    /// `ContinuedExecutionRunID`).
    pub fn continued_execution_run_id(&self) -> Option<RunId> {
        self.started.continued_execution_run_id
    }

    /// The whole chain's timeout, if set (Go's `WorkflowExecutionTimeout`).
    pub fn execution_timeout(&self) -> Option<Duration> {
        self.started.workflow_execution_timeout
    }

    /// This run's timeout, if set (Go's `WorkflowRunTimeout`).
    pub fn run_timeout(&self) -> Option<Duration> {
        self.started.workflow_run_timeout
    }

    /// Each workflow task's start-to-close timeout (Go's `WorkflowTaskTimeout`).
    pub fn task_timeout(&self) -> Duration {
        self.started.workflow_task_timeout
    }

    /// The cron schedule, for a cron workflow (Go's `CronSchedule`).
    pub fn cron_schedule(&self) -> Option<&CronSchedule> {
        self.started.cron_schedule.as_ref()
    }

    /// The retry policy of the chain, if it has one (Go's `RetryPolicy`).
    pub fn retry_policy(&self) -> Option<&RetryPolicy> {
        self.started.retry_policy.as_ref()
    }

    /// The parent's namespace and run, for a child workflow (Go's
    /// `ParentWorkflowNamespace` and `ParentWorkflowExecution`).
    pub fn parent(&self) -> Option<(&Namespace, &WorkflowExecution)> {
        self.started
            .parent
            .as_ref()
            .map(|parent| (&parent.namespace, &parent.workflow_execution))
    }

    /// The memo the run started with (Go's `Memo`).
    pub fn memo(&self) -> &Memo {
        &self.started.memo
    }

    /// The search attributes the run started with (Go's `SearchAttributes`; upserts since
    /// are in `ctx.search_attributes()`).
    pub fn search_attributes(&self) -> &SearchAttributes {
        &self.started.search_attributes
    }

    /// The previous cron run's result, for a cron run (Go's `HasLastCompletionResult` and
    /// `GetLastCompletionResult`).
    pub fn last_completion_result(&self) -> Option<&Payloads> {
        self.started.last_completion_result.as_ref()
    }

    /// The previous attempt's failure, for a retried run (Go's `GetLastError`).
    pub fn last_failure(&self) -> Option<&Failure> {
        self.started.continued_failure.as_ref()
    }
}

/// Returned when a timer, an activity or a wait is cancelled through its scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("canceled")]
pub struct Canceled;

impl WorkflowContext {
    pub(crate) fn new(state: SharedState, scope: CancelToken) -> Self {
        Self {
            state,
            scope,
            activity_options: None,
            session: None,
        }
    }

    /// This context's activity options, if it has its own.
    pub(super) fn activity_options(&self) -> Option<&ActivityOptions> {
        self.activity_options.as_ref()
    }

    /// The session this context belongs to.
    pub(super) fn session_cell(&self) -> Option<&Arc<SessionCell>> {
        self.session.as_ref()
    }

    /// A clone outside any session.
    pub(super) fn without_session(&self) -> Self {
        Self {
            session: None,
            ..self.clone()
        }
    }

    /// A clone whose activities run in `session`.
    pub(super) fn with_session(&self, session: Arc<SessionCell>) -> Self {
        Self {
            session: Some(session),
            ..self.clone()
        }
    }

    /// The workflow's current time: the start time of the workflow task being run.
    pub fn now(&self) -> Timestamp {
        self.state.lock().now
    }

    /// The header the run's interceptors write for an outbound call named `name`: `hook`
    /// calls the method for the call's kind on each, outermost first. Called with no lock
    /// held, so interceptors may use this context.
    pub(crate) fn outbound_header(
        &self,
        name: &str,
        hook: impl Fn(&dyn WorkflowInterceptor, &Self, Outbound<'_>),
    ) -> Header {
        let interceptors = Arc::clone(&self.state.lock().interceptors);
        if interceptors.is_empty() {
            return Header::new();
        }
        outbound_header(&interceptors, name, |interceptor, call| {
            hook(interceptor, self, call);
        })
    }

    /// Whether the code is replaying history (side effects already happened).
    pub fn is_replaying(&self) -> bool {
        self.state.lock().is_replaying
    }

    /// The run's start information (Go's `workflow.GetInfo`): type, queue, attempt,
    /// timeouts, memo, parent, … Workflow code, and every handler, runs after the run's
    /// start was applied, so it is always there.
    pub fn info(&self) -> WorkflowInfo {
        let state = self.state.lock();
        let started = state
            .start
            .as_deref()
            .cloned()
            .expect("workflow code runs only after its start was applied");
        let execution = state.execution.clone().unwrap_or_else(|| ExecutionKey {
            namespace: Namespace::default(),
            workflow_id: WorkflowId::new("replay").expect("a valid id"),
            run_id: started.original_execution_run_id,
        });
        WorkflowInfo { execution, started }
    }

    /// A clone whose activities use `options` (Go's `WithActivityOptions`).
    pub fn with_activity_options(&self, options: ActivityOptions) -> Self {
        Self {
            activity_options: Some(options),
            ..self.clone()
        }
    }

    /// A clone in a new cancellation scope inside this one, and the handle that cancels it
    /// (Go's `WithCancel`). Timers and activities started from the clone are cancelled with it.
    pub fn with_cancel(&self) -> (Self, CancelHandle) {
        let scope = self.scope.child();
        (
            Self {
                scope: scope.clone(),
                ..self.clone()
            },
            CancelHandle {
                scope,
                state: Arc::clone(&self.state),
            },
        )
    }

    /// A clone that workflow cancellation does not reach (Go's `NewDisconnectedContext`):
    /// for cleanup after the workflow was cancelled.
    pub fn disconnected(&self) -> Self {
        Self {
            scope: CancelToken::default(),
            ..self.clone()
        }
    }

    /// The cancellation scope of this context.
    pub(super) fn scope(&self) -> &CancelToken {
        &self.scope
    }

    /// Whether this context's scope (or the workflow) was cancelled.
    pub fn is_canceled(&self) -> bool {
        self.scope.is_canceled()
    }

    /// Resolves when this context's scope (or the workflow) is cancelled.
    pub fn cancelled(&self) -> impl Future<Output = ()> + Send + 'static + use<> {
        let scope = self.scope.clone();
        std::future::poll_fn(move |cx| {
            if scope.is_canceled() {
                Poll::Ready(())
            } else {
                scope.watch(cx.waker());
                Poll::Pending
            }
        })
    }

    /// Runs `future` as a new coroutine of the workflow (Go's `workflow.Go`).
    pub fn spawn(&self, future: impl Future<Output = ()> + Send + 'static) {
        self.state.lock().spawned.push(Coroutine::new(future));
    }

    /// Sleeps for `duration` of workflow time (a durable timer).
    pub fn sleep(&self, duration: Duration) -> Timer {
        self.timer(duration)
    }

    /// Starts a durable timer; await it, or cancel it with [`Timer::cancel`] or the scope.
    pub fn timer(&self, duration: Duration) -> Timer {
        let mut state = self.state.lock();
        state.next_timer_seq += 1;
        let seq = state.next_timer_seq;
        if duration.is_zero() {
            state.timers.insert(seq, Slot::Ready(TimerOutcome::Fired));
        } else {
            state.timers.insert(seq, Slot::default());
            state
                .commands
                .push(WorkflowCommand::StartTimer { seq, duration });
            state.scoped.push(Scoped {
                scope: self.scope.clone(),
                operation: Operation::Timer(seq),
            });
        }
        Timer {
            state: Arc::clone(&self.state),
            scope: self.scope.clone(),
            seq,
        }
    }

    /// Waits until `condition` is true (Go's `workflow.Await`). It is re-checked whenever the
    /// workflow's other coroutines are blocked.
    pub fn wait_condition(
        &self,
        mut condition: impl FnMut() -> bool + Send + 'static,
    ) -> impl Future<Output = ()> + Send + 'static {
        let state = Arc::clone(&self.state);
        std::future::poll_fn(move |cx| {
            if condition() {
                state.lock().conditions_met += 1;
                Poll::Ready(())
            } else {
                state.lock().condition_waiters.push(cx.waker().clone());
                Poll::Pending
            }
        })
    }

    /// Schedules activity `activity_type` with this context's activity options and raw
    /// arguments. Invalid options fail the returned future with a non-retryable error.
    pub fn execute_activity_raw(&self, activity_type: &str, input: Payloads) -> ActivityFuture {
        let header = self.outbound_header(activity_type, |interceptor, ctx, call| {
            interceptor.schedule_activity(ctx, call);
        });
        let mut state = self.state.lock();
        state.next_activity_seq += 1;
        let seq = state.next_activity_seq;
        let mut options = self.activity_options.clone().unwrap_or_default();
        let cancellation_type = options.cancellation_type;
        // An open session's activities go to its worker's queue; a failed session's fail
        // at once, unscheduled (a closed session's context is cancelled).
        let session = self.session.clone();
        let session_state = session.as_ref().map(|session| session.state());
        if session_state == Some(SessionState::Open)
            && let Some(session) = &session
        {
            options.task_queue = Some(session.task_queue());
        }
        let command = options
            .validate()
            .map_err(|error| error.to_string())
            .and_then(|()| ActivityType::new(activity_type).map_err(|error| error.to_string()))
            .and_then(|activity_type| {
                let activity_id = match &options.activity_id {
                    Some(id) => id.clone(),
                    None => ActivityId::new(seq.to_string()).map_err(|error| error.to_string())?,
                };
                Ok(ScheduleActivityTaskCommandAttributes {
                    activity_id,
                    activity_type,
                    task_queue: options.task_queue.clone(),
                    header,
                    input,
                    schedule_to_close_timeout: options.schedule_to_close_timeout,
                    schedule_to_start_timeout: options.schedule_to_start_timeout,
                    start_to_close_timeout: options.start_to_close_timeout,
                    heartbeat_timeout: options.heartbeat_timeout,
                    retry_policy: options.retry_policy.clone(),
                    request_eager_execution: !options.disable_eager_execution,
                })
            });
        let command = match session_state {
            Some(SessionState::Failed) => Err(None),
            _ => command.map_err(Some),
        };
        match command {
            Ok(attributes) => {
                state.activities.insert(seq, Slot::default());
                state.commands.push(WorkflowCommand::ScheduleActivity {
                    seq,
                    attributes: Box::new(attributes),
                });
                state.scoped.push(Scoped {
                    scope: self.scope.clone(),
                    operation: Operation::Activity(seq, cancellation_type),
                });
            }
            Err(message) => {
                let failure = match message {
                    Some(message) => {
                        Failure::application(message, "InvalidActivityOptions").non_retryable()
                    }
                    None => session_failed(),
                };
                state
                    .activities
                    .insert(seq, Slot::Ready(ActivityResolution::Failed(failure)));
            }
        }
        ActivityFuture {
            state: Arc::clone(&self.state),
            scope: self.scope.clone(),
            seq,
            cancellation_type,
            session,
        }
    }

    /// Schedules an activity with typed arguments (a tuple is several, one payload each)
    /// and a typed result, through the default converter chain.
    pub fn execute_activity<I: Serialize, O: DeserializeOwned>(
        &self,
        activity_type: &str,
        input: &I,
    ) -> impl Future<Output = Result<O, ActivityError>> + Send + 'static + use<I, O> {
        let future = Payloads::encode_arguments(input)
            .map(|input| self.execute_activity_raw(activity_type, input));
        async move {
            let result = future.map_err(payload_failure)?.await?;
            result
                .unwrap_or_default()
                .decode_first()
                .map_err(payload_failure)
        }
    }

    /// Runs activity `A` with this context's options: argument and result types are `A`'s,
    /// checked at compile time.
    pub fn run_activity<A: crate::activity::ActivityDefinition>(
        &self,
        input: &A::Input,
    ) -> impl Future<Output = Result<A::Output, ActivityError>> + Send + 'static + use<A> {
        self.execute_activity::<A::Input, A::Output>(A::NAME, input)
    }

    /// The signals named `name` (Go's `GetSignalChannel`). Signals that arrived before the
    /// channel was asked for are kept and delivered.
    pub fn signal_channel(&self, name: &str) -> SignalChannel {
        SignalChannel {
            state: Arc::clone(&self.state),
            name: SignalName::new(name).unwrap_or_else(|_| invalid_signal_name()),
        }
    }

    /// Answers query `query_type` with `handler` (Go's `SetQueryHandler`, spec §5.19.1): a
    /// synchronous, read-only function of the query's argument — it gets no context, so it
    /// cannot block, sleep or run activities — usually reading state the workflow shares
    /// with it. Its answer reflects the workflow after its last completed workflow task;
    /// queries never write history. Registering a type again replaces the handler.
    pub fn set_query_handler<A, R, E, F>(&self, query_type: &str, handler: F)
    where
        A: DeserializeOwned,
        R: Serialize,
        E: std::fmt::Display,
        F: Fn(A) -> Result<R, E> + Send + 'static,
    {
        let handler: QueryHandler = Box::new(move |args: &Payloads| {
            let argument: A = args
                .decode_arguments()
                .map_err(|error| format!("cannot decode the query's argument: {error}"))?;
            let answer = handler(argument).map_err(|error| error.to_string())?;
            let payload = Payload::encode(&answer)
                .map_err(|error| format!("cannot encode the query's answer: {error}"))?;
            Ok(Some(Payloads::one(payload)))
        });
        self.state
            .lock()
            .query_handlers
            .insert(query_type.to_owned(), handler);
    }

    /// A deterministic random number (the same on replay).
    pub fn random_u64(&self) -> u64 {
        self.state.lock().random.next_u64()
    }

    /// A deterministic random UUID (the same on replay).
    pub fn uuid(&self) -> String {
        self.state.lock().random.uuid()
    }

    /// A logger that stays silent while the workflow replays (Go's `GetLogger`).
    pub fn logger(&self) -> ReplayAwareLogger {
        ReplayAwareLogger {
            state: Arc::clone(&self.state),
        }
    }
}

fn payload_failure(error: PayloadError) -> ActivityError {
    ActivityError::new(Failure::application(error.to_string(), "PayloadError").non_retryable())
}

fn invalid_signal_name() -> SignalName {
    match SignalName::new("invalid-signal-name") {
        Ok(name) => name,
        Err(_) => unreachable!("a valid literal name"),
    }
}

/// Cancels the scope made by [`WorkflowContext::with_cancel`].
#[derive(Clone)]
pub struct CancelHandle {
    scope: CancelToken,
    state: SharedState,
}

impl CancelHandle {
    /// Cancels the scope, at once: its pending timers are cancelled and its activities and
    /// child workflows asked to cancel (per their cancellation types) in this workflow task,
    /// whether or not anything awaits them.
    pub fn cancel(&self) {
        self.scope.cancel();
        self.state.lock().cancel_canceled_scopes();
    }
}

/// A durable timer. Resolves `Ok` when it fires, `Err(Canceled)` when cancelled.
pub struct Timer {
    state: SharedState,
    scope: CancelToken,
    seq: u32,
}

impl Timer {
    /// Cancels the timer if it has not fired.
    pub fn cancel(&self) {
        self.state.lock().cancel_timer(self.seq);
    }
}

impl Future for Timer {
    type Output = Result<(), Canceled>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.scope.is_canceled() {
            self.cancel();
        }
        let mut state = self.state.lock();
        match state.timers.get_mut(&self.seq) {
            Some(Slot::Ready(outcome)) => {
                let outcome = *outcome;
                state.timers.remove(&self.seq);
                Poll::Ready(if outcome == TimerOutcome::Fired {
                    Ok(())
                } else {
                    Err(Canceled)
                })
            }
            Some(Slot::Pending(waker)) => {
                *waker = Some(cx.waker().clone());
                self.scope.watch(cx.waker());
                Poll::Pending
            }
            None => Poll::Ready(Err(Canceled)),
        }
    }
}

/// A scheduled activity: resolves with its result, or its failure (canceled included).
pub struct ActivityFuture {
    state: SharedState,
    scope: CancelToken,
    seq: u32,
    cancellation_type: ActivityCancellationType,
    /// The session it runs in: cancelled because the session failed, it fails with a
    /// session error.
    session: Option<Arc<SessionCell>>,
}

impl Future for ActivityFuture {
    type Output = Result<Option<Payloads>, ActivityError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.state.lock();
        if self.scope.is_canceled() {
            state.cancel_activity(self.seq, self.cancellation_type);
        }
        match state.activities.get_mut(&self.seq) {
            Some(Slot::Ready(_)) => {
                let Some(Slot::Ready(resolution)) = state.activities.remove(&self.seq) else {
                    unreachable!("matched Ready above")
                };
                let session_failed_now = self
                    .session
                    .as_ref()
                    .is_some_and(|session| session.state() == SessionState::Failed);
                Poll::Ready(match resolution {
                    ActivityResolution::Completed(result) => Ok(result),
                    ActivityResolution::Canceled(_) if session_failed_now => {
                        Err(ActivityError::new(session_failed()))
                    }
                    ActivityResolution::Failed(failure) | ActivityResolution::Canceled(failure) => {
                        Err(ActivityError::new(failure))
                    }
                })
            }
            Some(Slot::Pending(waker)) => {
                *waker = Some(cx.waker().clone());
                self.scope.watch(cx.waker());
                Poll::Pending
            }
            None => Poll::Ready(Err(ActivityError::new(Failure::canceled(None)))),
        }
    }
}

/// The signals of one name.
pub struct SignalChannel {
    state: SharedState,
    name: SignalName,
}

impl SignalChannel {
    /// The next signal, if one has arrived (does not block).
    pub fn try_recv(&self) -> Option<Payloads> {
        self.state
            .lock()
            .signals
            .get_mut(&self.name)
            .and_then(|queue| queue.pop_front())
    }

    /// Waits for the next signal.
    pub fn recv(&self) -> impl Future<Output = Payloads> + Send + 'static + use<> {
        let state = Arc::clone(&self.state);
        let name = self.name.clone();
        std::future::poll_fn(move |cx| {
            let mut state = state.lock();
            if let Some(payloads) = state
                .signals
                .get_mut(&name)
                .and_then(|queue| queue.pop_front())
            {
                return Poll::Ready(payloads);
            }
            let waiters = state.signal_waiters.entry(name.clone()).or_default();
            if !waiters.iter().any(|known| known.will_wake(cx.waker())) {
                waiters.push(cx.waker().clone());
            }
            Poll::Pending
        })
    }

    /// Waits for the next signal and decodes its arguments (a tuple for a signal of
    /// several; see [`Payloads::decode_arguments`]).
    pub fn recv_json<T: DeserializeOwned>(
        &self,
    ) -> impl Future<Output = Result<T, PayloadError>> + Send + 'static + use<T> {
        let next = self.recv();
        async move { next.await.decode_arguments() }
    }
}

/// Workflow logging that is silent during replay, so each message is logged once.
pub struct ReplayAwareLogger {
    state: SharedState,
}

impl ReplayAwareLogger {
    /// Logs at info level unless replaying.
    pub fn info(&self, message: &str) {
        if !self.state.lock().is_replaying {
            tracing::info!(target: "endure::workflow", "{message}");
        }
    }

    /// Logs at warn level unless replaying.
    pub fn warn(&self, message: &str) {
        if !self.state.lock().is_replaying {
            tracing::warn!(target: "endure::workflow", "{message}");
        }
    }

    /// Logs at error level unless replaying.
    pub fn error(&self, message: &str) {
        if !self.state.lock().is_replaying {
            tracing::error!(target: "endure::workflow", "{message}");
        }
    }
}
