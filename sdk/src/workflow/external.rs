//! Signals and cancel requests to other workflows (Go's `workflow.SignalExternalWorkflow`
//! and `workflow.RequestCancelExternalWorkflow`, spec §5.19.2, §5.12).
//!
//! Each call issues one command; the engine delivers it (at least once, applied once) and
//! writes the outcome into this workflow's history — ExternalWorkflowExecutionSignaled or
//! SignalExternalWorkflowExecutionFailed, ExternalWorkflowExecutionCancelRequested or
//! RequestCancelExternalWorkflowExecutionFailed — which resolves the returned future.

use std::future::Future;
use std::sync::Arc;
use std::task::Poll;

use endure_core::replay::WorkflowCommand;
use endure_core::{
    Failure, Payloads, RequestCancelExternalWorkflowExecutionCommandAttributes, RunId,
    SignalExternalWorkflowExecutionCommandAttributes, SignalName, WorkflowExecution, WorkflowId,
};
use serde::Serialize;

use super::WorkflowContext;
use super::state::{CancelToken, ExternalWorkflowError, SharedState, Slot, WorkflowState};

/// Which kind of request a future waits for.
#[derive(Clone, Copy)]
enum Kind {
    Signal,
    Cancel,
}

impl Kind {
    fn slots(
        self,
        state: &mut WorkflowState,
    ) -> &mut std::collections::BTreeMap<u32, Slot<Result<(), Failure>>> {
        match self {
            Self::Signal => &mut state.external_signals,
            Self::Cancel => &mut state.external_cancels,
        }
    }
}

impl WorkflowContext {
    /// Sends signal `signal_name` with `argument` to workflow `workflow_id` — its run
    /// `run_id`, or its current run if `None`. The future resolves once the signal is
    /// recorded in the target's history, or fails if it cannot be (no such workflow, the
    /// run is closed, the target is this workflow, too many signals). Awaiting it is
    /// optional; the signal is sent either way.
    pub fn signal_external_workflow<A: Serialize>(
        &self,
        workflow_id: &str,
        run_id: Option<RunId>,
        signal_name: &str,
        argument: &A,
    ) -> impl Future<Output = Result<(), ExternalWorkflowError>> + Send + 'static + use<A> {
        signal(
            &self.state,
            workflow_id,
            run_id,
            signal_name,
            argument,
            false,
        )
    }

    /// Asks workflow `workflow_id` — its run `run_id`, or its current run if `None` — to
    /// cancel. The future resolves once the request is recorded in the target's history
    /// (the target decides what cancellation means), or fails if the target does not exist,
    /// is closed or is this workflow.
    pub fn request_cancel_external_workflow(
        &self,
        workflow_id: &str,
        run_id: Option<RunId>,
    ) -> impl Future<Output = Result<(), ExternalWorkflowError>> + Send + 'static + use<> {
        let command = WorkflowId::new(workflow_id)
            .map_err(|error| error.to_string())
            .map(
                |workflow_id| RequestCancelExternalWorkflowExecutionCommandAttributes {
                    namespace: None,
                    workflow_execution: WorkflowExecution {
                        workflow_id,
                        run_id,
                    },
                    child_workflow_only: false,
                    reason: String::new(),
                },
            );
        let mut state = self.state.lock();
        state.next_external_cancel_seq += 1;
        let seq = state.next_external_cancel_seq;
        let slot = match command {
            Ok(attributes) => {
                state
                    .commands
                    .push(WorkflowCommand::RequestCancelExternal { seq, attributes });
                Slot::default()
            }
            Err(message) => Slot::Ready(Err(invalid(message))),
        };
        state.external_cancels.insert(seq, slot);
        drop(state);
        wait(self.state.clone(), Kind::Cancel, seq)
    }
}

/// The failure of a request refused before it was sent.
fn invalid(message: String) -> Failure {
    Failure::application(message, "InvalidExternalWorkflowRequest").non_retryable()
}

/// Waits for the outcome of request `seq`.
fn wait(
    state: SharedState,
    kind: Kind,
    seq: u32,
) -> impl Future<Output = Result<(), ExternalWorkflowError>> + Send + 'static {
    std::future::poll_fn(move |cx| {
        let mut state = state.lock();
        let slots = kind.slots(&mut state);
        match slots.remove(&seq) {
            Some(Slot::Ready(outcome)) => {
                Poll::Ready(outcome.map_err(|failure| ExternalWorkflowError(Box::new(failure))))
            }
            Some(Slot::Pending(_)) | None => {
                slots.insert(seq, Slot::Pending(Some(cx.waker().clone())));
                Poll::Pending
            }
        }
    })
}

/// Issues a SignalExternalWorkflowExecution command (only to a child of this workflow when
/// `child_workflow_only`) and returns the future of its outcome.
pub(crate) fn signal<A: Serialize>(
    state: &SharedState,
    workflow_id: &str,
    run_id: Option<RunId>,
    signal_name: &str,
    argument: &A,
    child_workflow_only: bool,
) -> impl Future<Output = Result<(), ExternalWorkflowError>> + Send + 'static + use<A> {
    let context = WorkflowContext::new(Arc::clone(state), CancelToken::default());
    let header = context.outbound_header(signal_name, |interceptor, ctx, call| {
        interceptor.signal_external_workflow(ctx, call);
    });
    let command = WorkflowId::new(workflow_id)
        .map_err(|error| error.to_string())
        .and_then(|workflow_id| {
            let signal_name = SignalName::new(signal_name).map_err(|error| error.to_string())?;
            let input = Payloads::encode_arguments(argument).map_err(|error| error.to_string())?;
            Ok(SignalExternalWorkflowExecutionCommandAttributes {
                namespace: None,
                workflow_execution: WorkflowExecution {
                    workflow_id,
                    run_id,
                },
                signal_name,
                input,
                child_workflow_only,
                header,
            })
        });
    let mut locked = state.lock();
    locked.next_external_signal_seq += 1;
    let seq = locked.next_external_signal_seq;
    let slot = match command {
        Ok(attributes) => {
            locked
                .commands
                .push(WorkflowCommand::SignalExternal { seq, attributes });
            Slot::default()
        }
        Err(message) => Slot::Ready(Err(invalid(message))),
    };
    locked.external_signals.insert(seq, slot);
    drop(locked);
    wait(state.clone(), Kind::Signal, seq)
}
