//! The workflow executor: runs one workflow's coroutines, synchronously and in a fixed order,
//! one activation at a time. It touches no async runtime.
//!
//! `activate` applies the activation's jobs (resolving what coroutines wait for, which wakes
//! them into a FIFO run queue), then polls woken coroutines until none is runnable, re-checks
//! `wait_condition`s, and returns the commands issued. A coroutine woken while no activation
//! runs — it awaited a tokio timer, a channel or IO — is a determinism bug: the next
//! activation fails with [`WorkflowTaskError::WakeOutsideActivation`].

use std::collections::VecDeque;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use endure_core::replay::{Activation, Job, WorkflowCommand};
use endure_core::{
    CancelWorkflowExecutionCommandAttributes, CompleteWorkflowExecutionCommandAttributes,
    FailWorkflowExecutionCommandAttributes, Header, Payload, Payloads,
};
use parking_lot::Mutex;
use slab::Slab;

use super::context::WorkflowContext;
use super::random::DeterministicRandom;
use super::state::{
    CancelToken, SharedState, TimerOutcome, WorkflowError, WorkflowState, WorkflowTaskError,
};
use crate::interceptors::{
    InboundQuery, InboundSignal, WorkerInterceptor, WorkerInterceptors, WorkflowInterceptors,
};

/// A boxed, `Send` future: what a coroutine runs.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What a workflow function returns: its result, or how it ends otherwise.
pub type WorkflowResult = Result<Option<Payloads>, WorkflowError>;

/// A workflow function: given its context and arguments, the future of its result.
pub type WorkflowFunction =
    Box<dyn FnOnce(WorkflowContext, Payloads) -> BoxFuture<WorkflowResult> + Send>;

/// The built-in query listing what the workflow's coroutines wait on.
pub const STACK_TRACE_QUERY: &str = "__stack_trace";

/// Upper bound on run-queue polls in one activation; a workflow that exceeds it is spinning.
const POLLS_PER_ACTIVATION_MAX: usize = 1_000_000;

/// One coroutine: a spawned future.
pub(crate) struct Coroutine {
    future: BoxFuture<()>,
}

impl Coroutine {
    pub(crate) fn new(future: impl Future<Output = ()> + Send + 'static) -> Self {
        Self {
            future: Box::pin(future),
        }
    }
}

/// Which coroutines are runnable, and whether an activation is in progress.
#[derive(Default)]
struct RunQueue {
    ready: VecDeque<usize>,
    activating: bool,
    woken_outside_activation: bool,
    /// Told of the first wake outside an activation (chaos reports it).
    on_outside_wake: Option<OutsideWakeHook>,
}

/// What is told when workflow code is first woken outside an activation.
pub(crate) type OutsideWakeHook = Arc<dyn Fn() + Send + Sync>;

/// The waker of one coroutine: queues it, or records a wake outside an activation.
struct CoroutineWaker {
    queue: Arc<Mutex<RunQueue>>,
    index: usize,
}

impl Wake for CoroutineWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let mut queue = self.queue.lock();
        if !queue.activating {
            let first = !queue.woken_outside_activation;
            queue.woken_outside_activation = true;
            let hook = first.then(|| queue.on_outside_wake.clone()).flatten();
            drop(queue);
            if let Some(hook) = hook {
                hook();
            }
        } else if !queue.ready.contains(&self.index) {
            queue.ready.push_back(self.index);
        }
    }
}

/// The executor of one workflow run.
pub struct WorkflowExecutor {
    state: SharedState,
    root_scope: CancelToken,
    coroutines: Slab<(Coroutine, Waker)>,
    queue: Arc<Mutex<RunQueue>>,
    workflow: Option<WorkflowFunction>,
    result: Arc<Mutex<Option<WorkflowResult>>>,
    closed: bool,
    /// The worker's interceptors, which make the run's own when it is initialised.
    worker_interceptors: WorkerInterceptors,
}

impl WorkflowExecutor {
    /// An executor that will run `workflow` when the first activation initialises it.
    pub fn new(workflow: WorkflowFunction) -> Self {
        Self {
            state: Arc::new(Mutex::new(WorkflowState::new())),
            root_scope: CancelToken::default(),
            coroutines: Slab::new(),
            queue: Arc::new(Mutex::new(RunQueue::default())),
            workflow: Some(workflow),
            result: Arc::new(Mutex::new(None)),
            closed: false,
            worker_interceptors: Arc::new([]),
        }
    }

    /// Runs the workflow through interceptors: each of `interceptors` makes this run's own
    /// when it is initialised (see [`interceptors`](crate::interceptors)).
    pub fn with_interceptors(mut self, interceptors: Arc<[Arc<dyn WorkerInterceptor>]>) -> Self {
        self.worker_interceptors = interceptors;
        self
    }

    /// Calls `hook` the first time workflow code is woken outside an activation (by a
    /// `tokio` timer, channel or IO it should not await): chaos reports it at once.
    pub(crate) fn with_outside_wake_hook(self, hook: OutsideWakeHook) -> Self {
        self.queue.lock().on_outside_wake = Some(hook);
        self
    }

    /// Tells the workflow which run it is (for [`WorkflowContext::info`]); workers do, an
    /// offline replay need not.
    pub fn with_execution(self, execution: endure_core::storage::ExecutionKey) -> Self {
        self.state.lock().execution = Some(execution);
        self
    }

    /// Answers a query from the workflow's current state (spec §5.19.1): the handler
    /// registered for `query_type`, or the built-in `__stack_trace` (what each coroutine
    /// waits on). Runs no coroutine and issues no command.
    pub fn query(
        &self,
        query_type: &str,
        args: &Payloads,
        header: &Header,
    ) -> Result<Option<Payloads>, String> {
        let interceptors = Arc::clone(&self.state.lock().interceptors);
        if !interceptors.is_empty() {
            let context = WorkflowContext::new(Arc::clone(&self.state), self.root_scope.clone());
            let query = InboundQuery {
                query_type,
                args,
                header,
            };
            for interceptor in interceptors.iter() {
                interceptor.handle_query(&context, &query);
            }
        }
        let state = self.state.lock();
        if query_type == STACK_TRACE_QUERY {
            let mut lines = vec![format!("{} coroutine(s)", self.coroutines.len())];
            lines.extend(state.describe_waits());
            let payload = Payload::json(&lines.join("\n")).map_err(|error| error.to_string())?;
            return Ok(Some(Payloads::one(payload)));
        }
        match state.query_handlers.get(query_type) {
            Some(handler) => handler(args),
            None => {
                let known: Vec<&str> = state
                    .query_handlers
                    .keys()
                    .map(String::as_str)
                    .chain([STACK_TRACE_QUERY])
                    .collect();
                Err(format!(
                    "unknown query type {query_type}; this workflow answers {}",
                    known.join(", ")
                ))
            }
        }
    }

    /// Runs one activation: applies its jobs, runs the coroutines until none can make
    /// progress, and returns the commands they issued (with the closing command last, once
    /// the workflow function returned).
    pub fn activate(
        &mut self,
        activation: &Activation,
    ) -> Result<Vec<WorkflowCommand>, WorkflowTaskError> {
        {
            let mut queue = self.queue.lock();
            if queue.woken_outside_activation {
                return Err(WorkflowTaskError::WakeOutsideActivation);
            }
            queue.activating = true;
        }
        let result = self.run_activation(activation);
        let mut queue = self.queue.lock();
        queue.activating = false;
        if result.is_ok() && queue.woken_outside_activation {
            return Err(WorkflowTaskError::WakeOutsideActivation);
        }
        result
    }

    fn run_activation(
        &mut self,
        activation: &Activation,
    ) -> Result<Vec<WorkflowCommand>, WorkflowTaskError> {
        {
            let mut state = self.state.lock();
            state.now = activation.timestamp;
            state.is_replaying = activation.is_replaying;
            state.history_length = activation.history_length.get();
            state.continue_as_new_suggested = activation.continue_as_new_suggested;
            state.markers = activation.markers.clone();
        }
        for job in &activation.jobs {
            self.apply(job)?;
        }
        self.run_until_idle()?;
        // Updates after everything else, so handlers registered meanwhile see them.
        loop {
            let pending = std::mem::take(&mut self.state.lock().pending_updates);
            if pending.is_empty() {
                break;
            }
            for update in pending {
                let context =
                    WorkflowContext::new(Arc::clone(&self.state), self.root_scope.clone());
                match super::update::process(&self.state, context, update) {
                    Ok(super::update::Processed::Accepted(handler)) => {
                        self.spawn(Coroutine { future: handler });
                    }
                    Ok(super::update::Processed::Done) => {}
                    Err(message) => return Err(WorkflowTaskError::Unexpected(message)),
                }
            }
            self.run_until_idle()?;
        }
        // On replay, local activities whose markers this task recorded resolve from them,
        // in the markers' order, each letting the workflow run on.
        while self
            .state
            .lock()
            .resolve_next_recorded_local_activity()
            .is_some()
        {
            self.run_until_idle()?;
        }
        Ok(self.take_commands())
    }

    /// The commands issued since the last call, with the closing command last once the
    /// workflow function returned.
    fn take_commands(&mut self) -> Vec<WorkflowCommand> {
        let mut commands = std::mem::take(&mut self.state.lock().commands);
        if !self.closed
            && let Some(result) = self.result.lock().take()
        {
            self.closed = true;
            commands.push(match result {
                Ok(result) => {
                    WorkflowCommand::Complete(CompleteWorkflowExecutionCommandAttributes { result })
                }
                Err(WorkflowError::Failed(failure)) => {
                    WorkflowCommand::Fail(FailWorkflowExecutionCommandAttributes {
                        failure: *failure,
                    })
                }
                Err(WorkflowError::Canceled) => {
                    WorkflowCommand::Cancel(CancelWorkflowExecutionCommandAttributes {
                        details: None,
                    })
                }
                Err(WorkflowError::ContinueAsNew(attributes)) => {
                    WorkflowCommand::ContinueAsNew(attributes)
                }
            });
        }
        commands
    }

    /// Local activities the workflow requested that no one runs yet: the worker runs them.
    pub fn take_local_activities_to_run(&mut self) -> Vec<super::LocalActivityRequest> {
        self.state.lock().take_local_activities_to_run()
    }

    /// Whether a local activity waits for its outcome.
    pub fn has_unresolved_local_activities(&self) -> bool {
        self.state.lock().has_unresolved_local_activities()
    }

    /// Resolves local activity `seq` (the worker ran it) while the live task is still open,
    /// lets the workflow run on, and returns the commands it issued: the activity's marker
    /// first.
    pub fn resolve_local_activity(
        &mut self,
        seq: u32,
        outcome: super::LocalActivityOutcome,
    ) -> Result<Vec<WorkflowCommand>, WorkflowTaskError> {
        // Resolving wakes the waiting coroutine: that is part of this (extended) activation.
        self.queue.lock().activating = true;
        let result = if self.state.lock().resolve_local_activity(seq, outcome) {
            self.run_until_idle()
        } else {
            Ok(())
        };
        self.queue.lock().activating = false;
        result?;
        Ok(self.take_commands())
    }

    /// The workflow's "now": the start of the task it last ran.
    pub fn now(&self) -> endure_core::time::Timestamp {
        self.state.lock().now
    }

    /// The run's workflow task timeout, once initialised.
    pub fn workflow_task_timeout(&self) -> Option<std::time::Duration> {
        self.state
            .lock()
            .start
            .as_ref()
            .map(|start| start.workflow_task_timeout)
    }

    fn apply(&mut self, job: &Job) -> Result<(), WorkflowTaskError> {
        match job {
            Job::InitializeWorkflow {
                start,
                randomness_seed,
            } => {
                let workflow = self.workflow.take().ok_or_else(|| {
                    WorkflowTaskError::Unexpected("the workflow was initialised twice".into())
                })?;
                let input = start.input.clone();
                {
                    let mut state = self.state.lock();
                    state.start = Some(start.clone());
                    state.random = DeterministicRandom::new(*randomness_seed);
                }
                let context =
                    WorkflowContext::new(Arc::clone(&self.state), self.root_scope.clone());
                let interceptors = self.intercept_run(&context);
                let mut future = workflow(context.clone(), input);
                for interceptor in interceptors.iter().rev() {
                    future = interceptor.execute_workflow(&context, future);
                }
                let result = Arc::clone(&self.result);
                self.spawn(Coroutine::new(async move {
                    let outcome = future.await;
                    *result.lock() = Some(outcome);
                }));
            }
            Job::UpdateRandomSeed { randomness_seed } => {
                self.state.lock().random = DeterministicRandom::new(*randomness_seed);
            }
            Job::Signal {
                signal_name,
                input,
                header,
                ..
            } => {
                let interceptors = Arc::clone(&self.state.lock().interceptors);
                if !interceptors.is_empty() {
                    let context =
                        WorkflowContext::new(Arc::clone(&self.state), self.root_scope.clone());
                    let signal = InboundSignal {
                        name: signal_name.as_str(),
                        input,
                        header,
                    };
                    for interceptor in interceptors.iter() {
                        interceptor.handle_signal(&context, &signal);
                    }
                }
                let waiters = {
                    let mut state = self.state.lock();
                    state
                        .signals
                        .entry(signal_name.clone())
                        .or_default()
                        .push_back(input.clone());
                    state.signal_waiters.remove(signal_name).unwrap_or_default()
                };
                waiters.into_iter().for_each(Waker::wake);
            }
            Job::CancelWorkflow { .. } => {
                self.root_scope.cancel();
                self.state.lock().cancel_canceled_scopes();
            }
            Job::FireTimer { seq } => {
                self.state
                    .lock()
                    .timers
                    .entry(*seq)
                    .or_default()
                    .resolve(TimerOutcome::Fired);
            }
            Job::ResolveActivity { seq, resolution } => {
                self.state
                    .lock()
                    .activities
                    .entry(*seq)
                    .or_default()
                    .resolve(resolution.clone());
            }
            Job::ResolveSignalExternalWorkflow { seq, failure } => {
                self.state
                    .lock()
                    .external_signals
                    .entry(*seq)
                    .or_default()
                    .resolve(failure.clone().map_or(Ok(()), Err));
            }
            Job::DoUpdate {
                update_id,
                name,
                args,
                header,
                run_validator,
                ..
            } => self
                .state
                .lock()
                .pending_updates
                .push(super::update::PendingUpdate {
                    update_id: update_id.clone(),
                    name: name.as_str().to_owned(),
                    args: args.clone(),
                    header: header.clone(),
                    run_validator: *run_validator,
                }),
            Job::ResolveChildWorkflowStart { seq, outcome } => {
                self.state
                    .lock()
                    .children
                    .entry(*seq)
                    .or_default()
                    .started(outcome.clone());
            }
            Job::ResolveChildWorkflow { seq, resolution } => {
                self.state
                    .lock()
                    .children
                    .entry(*seq)
                    .or_default()
                    .end
                    .resolve(resolution.clone());
            }
            Job::ResolveRequestCancelExternalWorkflow { seq, failure } => {
                self.state
                    .lock()
                    .external_cancels
                    .entry(*seq)
                    .or_default()
                    .resolve(failure.clone().map_or(Ok(()), Err));
            }
        }
        Ok(())
    }

    /// Makes the run's interceptors from the worker's (the run's start is applied, so
    /// `context` has its information) and keeps them in its state.
    fn intercept_run(&self, context: &WorkflowContext) -> WorkflowInterceptors {
        if self.worker_interceptors.is_empty() {
            return Arc::clone(&self.state.lock().interceptors);
        }
        let info = context.info();
        let interceptors: WorkflowInterceptors = self
            .worker_interceptors
            .iter()
            .filter_map(|interceptor| interceptor.intercept_workflow(&info))
            .collect();
        self.state.lock().interceptors = Arc::clone(&interceptors);
        interceptors
    }

    fn spawn(&mut self, coroutine: Coroutine) {
        let entry = self.coroutines.vacant_entry();
        let index = entry.key();
        let waker = Waker::from(Arc::new(CoroutineWaker {
            queue: Arc::clone(&self.queue),
            index,
        }));
        entry.insert((coroutine, waker));
        self.queue.lock().ready.push_back(index);
    }

    /// Polls runnable coroutines in FIFO order until none is runnable; then re-checks
    /// blocked conditions, as long as that makes progress.
    fn run_until_idle(&mut self) -> Result<(), WorkflowTaskError> {
        let mut polls = 0;
        loop {
            loop {
                let spawned = std::mem::take(&mut self.state.lock().spawned);
                for coroutine in spawned {
                    self.spawn(coroutine);
                }
                let Some(index) = self.queue.lock().ready.pop_front() else {
                    break;
                };
                polls += 1;
                if polls > POLLS_PER_ACTIVATION_MAX {
                    return Err(WorkflowTaskError::Unexpected(format!(
                        "more than {POLLS_PER_ACTIVATION_MAX} polls in one activation: the workflow does not block"
                    )));
                }
                self.poll(index)?;
            }
            let (waiters, met_before) = {
                let mut state = self.state.lock();
                (
                    std::mem::take(&mut state.condition_waiters),
                    state.conditions_met,
                )
            };
            if waiters.is_empty() {
                return Ok(());
            }
            waiters.into_iter().for_each(Waker::wake);
            let made_progress = {
                // Run the re-checks; only another round if some condition became true.
                let mut progressed = false;
                while let Some(index) = { self.queue.lock().ready.pop_front() } {
                    polls += 1;
                    self.poll(index)?;
                    progressed = true;
                }
                progressed && self.state.lock().conditions_met > met_before
            };
            if !made_progress {
                return Ok(());
            }
        }
    }

    fn poll(&mut self, index: usize) -> Result<(), WorkflowTaskError> {
        let Some((coroutine, waker)) = self.coroutines.get_mut(index) else {
            return Ok(());
        };
        let waker = waker.clone();
        let mut context = Context::from_waker(&waker);
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| {
            coroutine.future.as_mut().poll(&mut context)
        }));
        match polled {
            Ok(Poll::Ready(())) => {
                self.coroutines.remove(index);
                Ok(())
            }
            Ok(Poll::Pending) => Ok(()),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic with no message".into());
                Err(WorkflowTaskError::Panicked(message))
            }
        }
    }
}

/// Cached workflows move between worker threads: the executor and workflow futures are `Send`.
const _: fn() = || {
    fn assert_send<T: Send>() {}
    assert_send::<WorkflowExecutor>();
    assert_send::<WorkflowContext>();
};
