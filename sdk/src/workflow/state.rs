//! The state shared by a workflow's coroutines and its executor: the commands issued so far,
//! the results waiting to be picked up, signals, markers, the clock and the random source.
//!
//! Everything here changes only while an activation runs, in the executor's deterministic
//! order, so the same history always produces the same state.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::task::Waker;

use endure_core::history::{
    MarkerRecordedEventAttributes, WorkflowExecutionStartedEventAttributes,
};
use endure_core::replay::{ActivityResolution, WorkflowCommand};
use endure_core::time::Timestamp;
use endure_core::{Failure, Payloads, SignalName};
use parking_lot::Mutex;

use super::random::DeterministicRandom;

/// A result some coroutine is waiting for.
#[derive(Debug)]
pub(crate) enum Slot<T> {
    /// Not there yet; the waker of the coroutine waiting for it.
    Pending(Option<Waker>),
    /// There, not yet taken.
    Ready(T),
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self::Pending(None)
    }
}

impl<T> Slot<T> {
    /// Stores the result and wakes the waiter.
    pub(crate) fn resolve(&mut self, value: T) {
        if let Self::Pending(Some(waker)) = std::mem::replace(self, Self::Ready(value)) {
            waker.wake();
        }
    }
}

/// How a timer ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TimerOutcome {
    Fired,
    Canceled,
}

/// The state of one workflow run inside the SDK.
pub(crate) struct WorkflowState {
    /// The workflow's "now".
    pub(crate) now: Timestamp,
    /// Whether the current activation replays history.
    pub(crate) is_replaying: bool,
    /// Events in history up to the current workflow task's start.
    pub(crate) history_length: u64,
    /// The engine suggests continuing as new (history past 4,096 events or 4 MiB).
    pub(crate) continue_as_new_suggested: bool,
    /// The Started event's attributes, once initialised.
    pub(crate) start: Option<Box<WorkflowExecutionStartedEventAttributes>>,
    /// The run, when the worker said.
    pub(crate) execution: Option<endure_core::storage::ExecutionKey>,
    /// Commands issued in the current activation, in order.
    pub(crate) commands: Vec<WorkflowCommand>,
    /// Timers, activities and children started in a scope, cancelled with it at once.
    pub(crate) scoped: Vec<super::scoped::Scoped>,
    /// Activities asked to cancel (each is asked once).
    pub(crate) activity_cancels: std::collections::BTreeSet<u32>,
    pub(crate) next_timer_seq: u32,
    pub(crate) next_activity_seq: u32,
    pub(crate) next_side_effect_seq: u32,
    pub(crate) next_external_signal_seq: u32,
    pub(crate) next_external_cancel_seq: u32,
    pub(crate) next_child_seq: u32,
    pub(crate) timers: BTreeMap<u32, Slot<TimerOutcome>>,
    pub(crate) activities: BTreeMap<u32, Slot<ActivityResolution>>,
    /// Signals sent to other workflows, by sequence number: `Err` if undeliverable.
    pub(crate) external_signals: BTreeMap<u32, Slot<Result<(), Failure>>>,
    /// Cancel requests sent to other workflows, by sequence number.
    pub(crate) external_cancels: BTreeMap<u32, Slot<Result<(), Failure>>>,
    /// Child workflows started, by sequence number.
    pub(crate) children: BTreeMap<u32, super::child::ChildSlots>,
    pub(crate) next_local_activity_seq: u32,
    /// Local activity requests, by sequence number.
    pub(crate) local_activities: BTreeMap<u32, super::local_activity::LocalActivitySlot>,
    /// Search attributes this run upserted so far (over those it started with).
    pub(crate) upserted_search_attributes: endure_core::SearchAttributes,
    /// Signals received and not yet taken, by name (kept even before a channel exists).
    pub(crate) signals: BTreeMap<SignalName, VecDeque<Payloads>>,
    /// Coroutines waiting for a signal of a name.
    pub(crate) signal_waiters: BTreeMap<SignalName, Vec<Waker>>,
    /// Markers of the current task (look-ahead), consumed by side effects and versions.
    pub(crate) markers: Vec<MarkerRecordedEventAttributes>,
    /// Versions decided so far, by change id.
    pub(crate) versions: BTreeMap<String, i32>,
    /// Values of mutable side effects, by id.
    pub(crate) mutable_values: BTreeMap<String, Payloads>,
    /// How many times each mutable side effect id has been recorded (Go's call counter).
    pub(crate) mutable_records: BTreeMap<String, u32>,
    pub(crate) random: DeterministicRandom,
    /// Coroutines spawned by workflow code, to be added by the executor.
    pub(crate) spawned: Vec<super::executor::Coroutine>,
    /// Coroutines blocked in `wait_condition`, re-checked when the others are idle.
    pub(crate) condition_waiters: Vec<Waker>,
    /// Conditions that became true, so the executor knows re-checking made progress.
    pub(crate) conditions_met: u64,
    /// Query handlers, by query type (spec §5.19.1).
    pub(crate) query_handlers: BTreeMap<String, QueryHandler>,
    /// Update handlers, by update name (spec §5.19.3).
    pub(crate) update_handlers: BTreeMap<String, super::update::UpdateHandler>,
    /// Updates delivered in this activation, processed once the other jobs have run.
    pub(crate) pending_updates: Vec<super::update::PendingUpdate>,
    /// Update handlers accepted and still running.
    pub(crate) running_update_handlers: usize,
    /// The run's interceptors (set when it is initialised), outermost first.
    pub(crate) interceptors: crate::interceptors::WorkflowInterceptors,
}

/// A query handler: decodes its arguments, reads the workflow's state, encodes the answer.
pub(crate) type QueryHandler = Box<dyn Fn(&Payloads) -> Result<Option<Payloads>, String> + Send>;

impl WorkflowState {
    pub(crate) fn new() -> Self {
        Self {
            now: Timestamp::UNIX_EPOCH,
            is_replaying: false,
            history_length: 0,
            continue_as_new_suggested: false,
            start: None,
            execution: None,
            commands: Vec::new(),
            scoped: Vec::new(),
            activity_cancels: std::collections::BTreeSet::new(),
            next_timer_seq: 0,
            next_activity_seq: 0,
            next_side_effect_seq: 0,
            next_external_signal_seq: 0,
            next_external_cancel_seq: 0,
            next_child_seq: 0,
            timers: BTreeMap::new(),
            activities: BTreeMap::new(),
            external_signals: BTreeMap::new(),
            external_cancels: BTreeMap::new(),
            children: BTreeMap::new(),
            upserted_search_attributes: endure_core::SearchAttributes::default(),
            next_local_activity_seq: 0,
            local_activities: BTreeMap::new(),
            signals: BTreeMap::new(),
            signal_waiters: BTreeMap::new(),
            markers: Vec::new(),
            versions: BTreeMap::new(),
            mutable_values: BTreeMap::new(),
            mutable_records: BTreeMap::new(),
            random: DeterministicRandom::new(0),
            spawned: Vec::new(),
            condition_waiters: Vec::new(),
            conditions_met: 0,
            query_handlers: BTreeMap::new(),
            update_handlers: BTreeMap::new(),
            pending_updates: Vec::new(),
            running_update_handlers: 0,
            interceptors: std::sync::Arc::new([]),
        }
    }

    /// What the workflow waits for, one line each (the built-in `__stack_trace` query).
    pub(crate) fn describe_waits(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for (seq, slot) in &self.timers {
            if matches!(slot, Slot::Pending(Some(_))) {
                lines.push(format!("waiting on timer {seq}"));
            }
        }
        for (seq, slot) in &self.activities {
            if matches!(slot, Slot::Pending(Some(_))) {
                lines.push(format!("waiting on activity {seq}"));
            }
        }
        for (seq, slot) in &self.external_signals {
            if matches!(slot, Slot::Pending(Some(_))) {
                lines.push(format!(
                    "waiting on the delivery of signal {seq} to another workflow"
                ));
            }
        }
        for (seq, slot) in &self.external_cancels {
            if matches!(slot, Slot::Pending(Some(_))) {
                lines.push(format!(
                    "waiting on the delivery of cancel request {seq} to another workflow"
                ));
            }
        }
        for (seq, slot) in &self.local_activities {
            if matches!(slot.outcome, Slot::Pending(Some(_))) {
                lines.push(format!(
                    "waiting on local activity {seq} ({})",
                    slot.request.activity_type
                ));
            }
        }
        for (seq, slots) in &self.children {
            if matches!(slots.end, Slot::Pending(Some(_))) || !slots.start_waiters.is_empty() {
                lines.push(format!("waiting on child workflow {seq}"));
            }
        }
        for (name, waiters) in &self.signal_waiters {
            if !waiters.is_empty() {
                lines.push(format!(
                    "waiting on signal channel {name} ({} coroutine(s))",
                    waiters.len()
                ));
            }
        }
        if !self.condition_waiters.is_empty() {
            lines.push(format!(
                "waiting on a condition ({} coroutine(s))",
                self.condition_waiters.len()
            ));
        }
        lines
    }

    /// Takes the recorded marker of `name` whose detail under one of `keys` (today's key,
    /// then the keys earlier encodings wrote) equals `value`, if this task has one.
    pub(crate) fn take_marker(
        &mut self,
        name: &str,
        keys: &[&str],
        value: &Payloads,
    ) -> Option<MarkerRecordedEventAttributes> {
        let position = self.markers.iter().position(|marker| {
            marker.marker_name.as_str() == name
                && keys
                    .iter()
                    .find_map(|key| marker.details.get(*key))
                    .is_some_and(|recorded| recorded == value)
        })?;
        Some(self.markers.remove(position))
    }
}

/// Shared handle to the state.
pub(crate) type SharedState = Arc<Mutex<WorkflowState>>;

/// Cancellation of a scope of workflow code (Go's `WithCancel` context).
#[derive(Clone, Default)]
pub(crate) struct CancelToken {
    inner: Arc<Mutex<CancelInner>>,
}

#[derive(Default)]
struct CancelInner {
    canceled: bool,
    waiters: Vec<Waker>,
    children: Vec<CancelToken>,
}

impl CancelToken {
    /// A token cancelled with its parent (and on its own).
    pub(crate) fn child(&self) -> Self {
        let child = Self::default();
        let mut inner = self.inner.lock();
        if inner.canceled {
            child.inner.lock().canceled = true;
        } else {
            inner.children.push(child.clone());
        }
        child
    }

    pub(crate) fn is_canceled(&self) -> bool {
        self.inner.lock().canceled
    }

    /// Cancels this scope and every scope inside it, waking whoever watches them.
    pub(crate) fn cancel(&self) {
        let (waiters, children) = {
            let mut inner = self.inner.lock();
            if inner.canceled {
                return;
            }
            inner.canceled = true;
            (
                std::mem::take(&mut inner.waiters),
                std::mem::take(&mut inner.children),
            )
        };
        for waker in waiters {
            waker.wake();
        }
        for child in children {
            child.cancel();
        }
    }

    /// Registers `waker` to be woken when the scope is cancelled.
    pub(crate) fn watch(&self, waker: &Waker) {
        let mut inner = self.inner.lock();
        if !inner.waiters.iter().any(|known| known.will_wake(waker)) {
            inner.waiters.push(waker.clone());
        }
    }
}

/// How workflow code ends, besides returning a result.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkflowError {
    /// The workflow fails with this failure (retry and cron then apply).
    #[error("workflow failed: {0}")]
    Failed(Box<Failure>),
    /// The workflow acknowledges a cancel request and closes as canceled.
    #[error("workflow canceled")]
    Canceled,
    /// The workflow continues as a new run with these attributes.
    #[error("continue as new")]
    ContinueAsNew(Box<endure_core::ContinueAsNewWorkflowExecutionCommandAttributes>),
}

impl From<Failure> for WorkflowError {
    fn from(failure: Failure) -> Self {
        Self::Failed(Box::new(failure))
    }
}

/// A wait canceled through the workflow's scope (a cancel request): the workflow closes as
/// canceled.
impl From<super::Canceled> for WorkflowError {
    fn from(_: super::Canceled) -> Self {
        Self::Canceled
    }
}

impl From<ActivityError> for WorkflowError {
    fn from(error: ActivityError) -> Self {
        Self::Failed(error.0)
    }
}

impl From<endure_core::PayloadError> for WorkflowError {
    fn from(error: endure_core::PayloadError) -> Self {
        Self::Failed(Box::new(
            Failure::application(error.to_string(), "PayloadError").non_retryable(),
        ))
    }
}

/// A signal or cancel request to another workflow that could not be delivered (Go's
/// `SignalExternalWorkflow` / `RequestCancelExternalWorkflow` future failing): the target
/// does not exist, is closed, is this workflow itself, or has received too many signals.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ExternalWorkflowError(pub Box<Failure>);

impl From<ExternalWorkflowError> for WorkflowError {
    fn from(error: ExternalWorkflowError) -> Self {
        Self::Failed(error.0)
    }
}

/// The error type of [`ActivityError::result_pending`]: reserved, an activity's own error
/// of this type would be taken for it.
pub const RESULT_PENDING_ERROR_TYPE: &str = "endure.ResultPending";

/// An activity that did not succeed: the activity failure, whose cause says why (an
/// application error, a timeout, a cancellation).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ActivityError(pub Box<Failure>);

impl ActivityError {
    /// An activity error carrying `failure`.
    pub fn new(failure: Failure) -> Self {
        Self(Box::new(failure))
    }

    /// The activity stops because its cancellation was requested (return it after
    /// [`crate::ActivityContext::heartbeat`] reported the request).
    pub fn canceled(details: Option<endure_core::Payloads>) -> Self {
        Self::new(Failure::canceled(details))
    }

    /// An application error of type `error_type`, retried per the retry policy (spec §5.14.5).
    pub fn application(message: impl Into<String>, error_type: impl Into<String>) -> Self {
        Self::new(Failure::application(message, error_type))
    }

    /// Marks the error as never to be retried.
    pub fn non_retryable(self) -> Self {
        Self::new((*self.0).clone().non_retryable())
    }

    /// Overrides the retry policy's delay before the next attempt (`NextRetryDelay`).
    pub fn with_next_retry_delay(self, delay: std::time::Duration) -> Self {
        Self::new((*self.0).clone().with_next_retry_delay(delay))
    }

    /// Attaches details for the caller.
    pub fn with_details(self, details: endure_core::Payloads) -> Self {
        Self::new((*self.0).clone().with_details(details))
    }

    /// The activity completes asynchronously (Go's `activity.ErrResultPending`): returned
    /// by an activity that handed its [`completion_token`](crate::ActivityContext::completion_token)
    /// to whoever will complete it through an
    /// [`AsyncActivityHandle`](crate::AsyncActivityHandle). The worker reports nothing and
    /// the attempt stays started until then, or until it times out. Not for local
    /// activities, which fail with it.
    pub fn result_pending() -> Self {
        Self::new(Failure::application(
            "the activity completes asynchronously",
            RESULT_PENDING_ERROR_TYPE,
        ))
    }

    /// Whether this is [`result_pending`](Self::result_pending).
    pub fn is_result_pending(&self) -> bool {
        self.0.cause.is_none()
            && matches!(
                &self.0.info,
                endure_core::FailureInfo::Application { error_type, .. }
                    if error_type == RESULT_PENDING_ERROR_TYPE
            )
    }

    /// Whether the activity was canceled.
    pub fn is_canceled(&self) -> bool {
        self.0
            .chain()
            .any(|failure| matches!(failure.info, endure_core::FailureInfo::Canceled { .. }))
    }
}

/// Why an activation could not be completed: the workflow task fails (and is retried), the
/// workflow does not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WorkflowTaskError {
    /// Workflow code awaited something outside the workflow (a tokio timer, a channel, IO):
    /// it was woken while no activation ran. That breaks determinism.
    #[error(
        "workflow code was woken outside an activation: it awaited something that is not part of the workflow \
         (a tokio timer, channel or IO); use WorkflowContext's timers, channels and activities instead"
    )]
    WakeOutsideActivation,
    /// Workflow code panicked.
    #[error("workflow code panicked: {0}")]
    Panicked(String),
    /// The activation has no workflow to start or run.
    #[error("the activation cannot be run: {0}")]
    Unexpected(String),
}
