//! Signals and cancel requests this run sent to other workflows: their outcomes.
//!
//! The command writes the Initiated event and a task (`commands.rs`); the runtime delivers
//! the request to the target and reports back with [`Input::ExternalSignalResolved`] or
//! [`Input::ExternalCancelResolved`]. The outcome is an event like any other arriving from
//! outside (buffered while a workflow task is in flight) and wakes the workflow.
//!
//! [`Input::ExternalSignalResolved`]: super::Input::ExternalSignalResolved
//! [`Input::ExternalCancelResolved`]: super::Input::ExternalCancelResolved

use super::{Effects, ExecutionMachine, ExternalRequest, Rejected};
use crate::enums::{
    CancelExternalWorkflowExecutionFailedCause, SignalExternalWorkflowExecutionFailedCause,
};
use crate::history::{
    EventAttributes, ExternalWorkflowExecutionCancelRequestedEventAttributes,
    ExternalWorkflowExecutionSignaledEventAttributes,
    RequestCancelExternalWorkflowExecutionFailedEventAttributes,
    SignalExternalWorkflowExecutionFailedEventAttributes,
};
use crate::ids::EventId;
use crate::time::Timestamp;

/// Which kind of request to another workflow an outcome is for.
#[derive(Clone, Copy)]
enum Sent {
    Signal,
    Cancel,
}

impl ExecutionMachine {
    /// Records the outcome of a signal this run sent: ExternalWorkflowExecutionSignaled or
    /// SignalExternalWorkflowExecutionFailed. Refused unless the signal is pending.
    pub(super) fn resolve_external_signal(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        request: ExternalRequest,
        failure: Option<SignalExternalWorkflowExecutionFailedCause>,
    ) -> Result<(), Rejected> {
        let attributes = match failure {
            None => EventAttributes::ExternalWorkflowExecutionSignaled(
                ExternalWorkflowExecutionSignaledEventAttributes {
                    initiated_event_id: request.initiated_event_id,
                    namespace: request.namespace,
                    workflow_execution: request.workflow_execution,
                },
            ),
            Some(cause) => EventAttributes::SignalExternalWorkflowExecutionFailed(
                SignalExternalWorkflowExecutionFailedEventAttributes {
                    cause,
                    workflow_task_completed_event_id: request.workflow_task_completed_event_id,
                    namespace: request.namespace,
                    workflow_execution: request.workflow_execution,
                    initiated_event_id: request.initiated_event_id,
                },
            ),
        };
        self.resolve_external(
            fx,
            now,
            Sent::Signal,
            request.initiated_event_id,
            attributes,
        )
    }

    /// Records the outcome of a cancel request this run sent:
    /// ExternalWorkflowExecutionCancelRequested or RequestCancelExternalWorkflowExecutionFailed.
    /// Refused unless the request is pending.
    pub(super) fn resolve_external_cancel(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        request: ExternalRequest,
        failure: Option<CancelExternalWorkflowExecutionFailedCause>,
    ) -> Result<(), Rejected> {
        let attributes = match failure {
            None => EventAttributes::ExternalWorkflowExecutionCancelRequested(
                ExternalWorkflowExecutionCancelRequestedEventAttributes {
                    initiated_event_id: request.initiated_event_id,
                    namespace: request.namespace,
                    workflow_execution: request.workflow_execution,
                },
            ),
            Some(cause) => EventAttributes::RequestCancelExternalWorkflowExecutionFailed(
                RequestCancelExternalWorkflowExecutionFailedEventAttributes {
                    cause,
                    workflow_task_completed_event_id: request.workflow_task_completed_event_id,
                    namespace: request.namespace,
                    workflow_execution: request.workflow_execution,
                    initiated_event_id: request.initiated_event_id,
                },
            ),
        };
        self.resolve_external(
            fx,
            now,
            Sent::Cancel,
            request.initiated_event_id,
            attributes,
        )
    }

    /// Takes the request off its pending set and writes its outcome, which wakes the
    /// workflow; refused (changing nothing) unless the run is open and the request pending.
    fn resolve_external(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        sent: Sent,
        initiated_event_id: EventId,
        outcome: EventAttributes,
    ) -> Result<(), Rejected> {
        self.require_open()?;
        let (pending, what) = match sent {
            Sent::Signal => (&mut self.pending_external_signals, "signal"),
            Sent::Cancel => (&mut self.pending_external_cancels, "cancel request"),
        };
        if !pending.remove(&initiated_event_id) {
            return Err(Rejected::NotFound(format!(
                "{what} to another workflow initiated by event {initiated_event_id}"
            )));
        }
        self.add_event(fx, now, outcome);
        self.schedule_workflow_task_if_needed(fx, now);
        Ok(())
    }
}
