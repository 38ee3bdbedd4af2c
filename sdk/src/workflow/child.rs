//! Child workflows from workflow code (Go's `workflow.ExecuteChildWorkflow`, spec §5.20):
//! start one, wait for its start (`GetChildWorkflowExecution`) or its result, fan out and
//! fan in.
//!
//! Starting a child issues one command; the engine starts the child and writes
//! ChildWorkflowExecutionStarted (or StartChildWorkflowExecutionFailed) into this
//! workflow's history, then the child's end (Completed, Failed, Canceled, TimedOut,
//! Terminated) once its whole chain is over. A child that did not complete surfaces as a
//! [`ChildWorkflowError`] whose failure is a child workflow failure caused by what
//! happened to it. When the waiting scope is cancelled, the child is handled as its
//! [`ChildWorkflowCancellationType`] says.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use endure_core::replay::{ChildResolution, WorkflowCommand};

use super::scoped::{Operation, Scoped};
use super::state::ExternalWorkflowError;
use endure_core::{
    ChildWorkflowCancellationType, CronSchedule, Failure, Header, Memo, ParentClosePolicy,
    Payloads, RetryPolicy, RunId, SearchAttributes, StartChildWorkflowExecutionCommandAttributes,
    TaskQueueName, WorkflowExecution, WorkflowId, WorkflowIdReusePolicy, WorkflowType,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::WorkflowContext;
use super::state::{CancelToken, SharedState, Slot};

/// How a child workflow is started (Go's `workflow.ChildWorkflowOptions`).
#[derive(Clone, Debug, Default)]
pub struct ChildWorkflowOptions {
    /// The child's workflow id; if `None`, `<this run id>_<n>` for the n-th child this run
    /// starts (as Go does; the same on every replay).
    pub workflow_id: Option<String>,
    /// The child's task queue; this workflow's if `None`.
    pub task_queue: Option<TaskQueueName>,
    /// The child chain's execution timeout.
    pub execution_timeout: Option<Duration>,
    /// Each child run's timeout.
    pub run_timeout: Option<Duration>,
    /// The child's workflow task timeout.
    pub task_timeout: Option<Duration>,
    /// What happens to the child when this workflow closes (TERMINATE by default).
    pub parent_close_policy: ParentClosePolicy,
    /// What may be done with the child's workflow id if a closed run has it.
    pub id_reuse_policy: WorkflowIdReusePolicy,
    /// The child's retry policy.
    pub retry_policy: Option<RetryPolicy>,
    /// The child's cron schedule.
    pub cron_schedule: Option<CronSchedule>,
    /// The child's memo.
    pub memo: Memo,
    /// The child's search attributes.
    pub search_attributes: SearchAttributes,
    /// What cancelling the waiting scope does to the child.
    pub cancellation_type: ChildWorkflowCancellationType,
}

/// A child workflow that did not complete, or could not start: its failure (for an ended
/// child, a child workflow failure whose cause says what happened).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ChildWorkflowError(pub Box<Failure>);

impl From<ChildWorkflowError> for super::WorkflowError {
    fn from(error: ChildWorkflowError) -> Self {
        Self::Failed(error.0)
    }
}

/// Where a child's start and end are recorded.
#[derive(Default)]
pub(crate) struct ChildSlots {
    /// The child's first run once started, or why it could not start.
    pub(crate) start: Slot<Result<RunId, Failure>>,
    /// How its chain ended.
    pub(crate) end: Slot<ChildResolution>,
    /// Wakers of coroutines waiting for the start (any number may).
    pub(crate) start_waiters: Vec<std::task::Waker>,
    /// Once its scope was cancelled: the sequence number of the cancel request sent to it
    /// (0 when none was sent: abandoned, or never named).
    pub(crate) cancel: Option<u32>,
}

impl ChildSlots {
    /// Records the start; a failed start also ends the child with that failure.
    pub(crate) fn started(&mut self, outcome: Result<RunId, Failure>) {
        if let Err(failure) = &outcome {
            self.end.resolve(ChildResolution::Failed(failure.clone()));
        }
        self.start.resolve(outcome);
        for waker in self.start_waiters.drain(..) {
            waker.wake();
        }
    }
}

impl WorkflowContext {
    /// Starts child workflow `workflow_type` with `input` (Go's `ExecuteChildWorkflow`).
    /// The returned handle waits for its start ([`ChildWorkflowHandle::started`]) or its
    /// result ([`ChildWorkflowHandle::result`]); starting several before waiting on any
    /// runs them in parallel.
    pub fn start_child_workflow<I: Serialize + ?Sized>(
        &self,
        workflow_type: &str,
        input: &I,
        options: ChildWorkflowOptions,
    ) -> ChildWorkflowHandle {
        let header = self.outbound_header(workflow_type, |interceptor, ctx, call| {
            interceptor.start_child_workflow(ctx, call);
        });
        let mut state = self.state.lock();
        state.next_child_seq += 1;
        let seq = state.next_child_seq;
        let default_id = state
            .execution
            .as_ref()
            .map(|execution| format!("{}_{seq}", execution.run_id))
            .unwrap_or_else(|| format!("child_{seq}"));
        let command = build_command(workflow_type, input, &options, default_id, header);
        let mut slots = ChildSlots::default();
        let workflow_id = match command {
            Ok(attributes) => {
                let workflow_id = attributes.workflow_id.clone();
                state.commands.push(WorkflowCommand::StartChild {
                    seq,
                    attributes: Box::new(attributes),
                });
                Some(workflow_id)
            }
            Err(message) => {
                slots.started(Err(Failure::application(
                    message,
                    "InvalidChildWorkflowOptions",
                )
                .non_retryable()));
                None
            }
        };
        state.children.insert(seq, slots);
        state.scoped.push(Scoped {
            scope: self.scope().clone(),
            operation: Operation::Child(seq, workflow_id.clone(), options.cancellation_type),
        });
        drop(state);
        ChildWorkflowHandle {
            state: Arc::clone(&self.state),
            scope: self.scope().clone(),
            seq,
            workflow_id,
            cancellation_type: options.cancellation_type,
        }
    }

    /// Starts child workflow `workflow_type` and waits for its result.
    pub async fn execute_child_workflow<I: Serialize + ?Sized, O: DeserializeOwned>(
        &self,
        workflow_type: &str,
        input: &I,
        options: ChildWorkflowOptions,
    ) -> Result<O, ChildWorkflowError> {
        self.start_child_workflow(workflow_type, input, options)
            .result()
            .await
    }
}

fn build_command<I: Serialize + ?Sized>(
    workflow_type: &str,
    input: &I,
    options: &ChildWorkflowOptions,
    default_id: String,
    header: Header,
) -> Result<StartChildWorkflowExecutionCommandAttributes, String> {
    let workflow_id = WorkflowId::new(options.workflow_id.clone().unwrap_or(default_id))
        .map_err(|error| error.to_string())?;
    let workflow_type = WorkflowType::new(workflow_type).map_err(|error| error.to_string())?;
    let input = Payloads::encode_arguments(input).map_err(|error| error.to_string())?;
    let attributes = StartChildWorkflowExecutionCommandAttributes {
        namespace: None,
        workflow_id,
        workflow_type,
        task_queue: options.task_queue.clone(),
        input,
        workflow_execution_timeout: options.execution_timeout,
        workflow_run_timeout: options.run_timeout,
        workflow_task_timeout: options.task_timeout,
        parent_close_policy: options.parent_close_policy,
        workflow_id_reuse_policy: options.id_reuse_policy,
        retry_policy: options.retry_policy.clone(),
        cron_schedule: options.cron_schedule.clone(),
        header,
        memo: options.memo.clone(),
        search_attributes: options.search_attributes.clone(),
    };
    endure_core::Command::StartChildWorkflowExecution(Box::new(attributes.clone()))
        .validate()
        .map_err(|error| error.to_string())?;
    Ok(attributes)
}

/// A child workflow this workflow started (Go's `ChildWorkflowFuture`).
pub struct ChildWorkflowHandle {
    state: SharedState,
    scope: CancelToken,
    seq: u32,
    workflow_id: Option<WorkflowId>,
    cancellation_type: ChildWorkflowCancellationType,
}

impl ChildWorkflowHandle {
    /// The child's workflow id (`None` if its options were invalid and it never started).
    pub fn workflow_id(&self) -> Option<&WorkflowId> {
        self.workflow_id.as_ref()
    }

    /// Sends signal `signal_name` with `argument` to the child (Go's
    /// `ChildWorkflowFuture.SignalChildWorkflow`): to its run once started, recorded as
    /// only for a child of this workflow. Resolves once the child's history has it; fails
    /// if it cannot (the child closed, or never started).
    pub fn signal<A: Serialize>(
        &self,
        signal_name: &str,
        argument: &A,
    ) -> impl Future<Output = Result<(), ExternalWorkflowError>> + Send + 'static + use<A> {
        let run_id = match self
            .state
            .lock()
            .children
            .get(&self.seq)
            .map(|slots| &slots.start)
        {
            Some(Slot::Ready(Ok(run_id))) => Some(*run_id),
            _ => None,
        };
        let workflow_id = self.workflow_id.as_ref().map_or("", |id| id.as_str());
        super::external::signal(
            &self.state,
            workflow_id,
            run_id,
            signal_name,
            argument,
            true,
        )
    }

    /// Waits until the child has started (Go's `GetChildWorkflowExecution`) and returns
    /// its execution; fails if it could not start (its workflow id is taken, say).
    pub fn started(
        &self,
    ) -> impl Future<Output = Result<WorkflowExecution, ChildWorkflowError>> + Send + 'static + use<>
    {
        let state = Arc::clone(&self.state);
        let seq = self.seq;
        let workflow_id = self.workflow_id.clone();
        std::future::poll_fn(move |cx| {
            let mut state = state.lock();
            let Some(slots) = state.children.get_mut(&seq) else {
                return Poll::Ready(Err(ChildWorkflowError(Box::new(Failure::canceled(None)))));
            };
            match &slots.start {
                Slot::Ready(Ok(run_id)) => Poll::Ready(Ok(WorkflowExecution {
                    workflow_id: workflow_id.clone().unwrap_or_else(unnamed),
                    run_id: Some(*run_id),
                })),
                Slot::Ready(Err(failure)) => {
                    Poll::Ready(Err(ChildWorkflowError(Box::new(failure.clone()))))
                }
                Slot::Pending(_) => {
                    slots.start_waiters.push(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
    }

    /// Waits for the child's result, decoded as `O`.
    pub async fn result<O: DeserializeOwned>(self) -> Result<O, ChildWorkflowError> {
        let result = self.await?;
        let payload = result
            .and_then(|payloads| payloads.0.into_iter().next())
            .unwrap_or_else(endure_core::Payload::null);
        payload.decode().map_err(|error| {
            ChildWorkflowError(Box::new(
                Failure::application(error.to_string(), "PayloadError").non_retryable(),
            ))
        })
    }
}

fn unnamed() -> WorkflowId {
    match WorkflowId::new("child") {
        Ok(id) => id,
        Err(_) => unreachable!("\"child\" is a valid id"),
    }
}

impl Future for ChildWorkflowHandle {
    type Output = Result<Option<Payloads>, ChildWorkflowError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let seq = self.seq;
        let mut state = self.state.lock();
        if self.scope.is_canceled() {
            state.cancel_child(seq, self.workflow_id.clone(), self.cancellation_type);
        }
        let cancel = state.children.get(&seq).and_then(|slots| slots.cancel);
        // Waiting only for the cancel request's delivery: resolved once it is delivered.
        if self.cancellation_type == ChildWorkflowCancellationType::WaitCancellationRequested
            && let Some(cancel) = cancel
            && matches!(state.external_cancels.get(&cancel), Some(Slot::Ready(_)))
        {
            state.external_cancels.remove(&cancel);
            if let Some(slots) = state.children.get_mut(&seq)
                && matches!(slots.end, Slot::Pending(_))
            {
                slots
                    .end
                    .resolve(ChildResolution::Failed(Failure::canceled(None)));
            }
        }
        let Some(slots) = state.children.get_mut(&seq) else {
            return Poll::Ready(Err(ChildWorkflowError(Box::new(Failure::canceled(None)))));
        };
        match &mut slots.end {
            Slot::Ready(_) => {
                let Some(ChildSlots {
                    end: Slot::Ready(resolution),
                    ..
                }) = state.children.remove(&seq)
                else {
                    unreachable!("matched Ready above")
                };
                Poll::Ready(match resolution {
                    ChildResolution::Completed(result) => Ok(result),
                    ChildResolution::Failed(failure) => Err(ChildWorkflowError(Box::new(failure))),
                })
            }
            Slot::Pending(waker) => {
                *waker = Some(cx.waker().clone());
                if let Some(cancel) = cancel
                    && let Some(Slot::Pending(waker)) = state.external_cancels.get_mut(&cancel)
                {
                    *waker = Some(cx.waker().clone());
                }
                drop(state);
                self.scope.watch(cx.waker());
                Poll::Pending
            }
        }
    }
}
