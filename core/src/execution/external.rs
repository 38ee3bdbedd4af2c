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
use crate::time::Timestamp;

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
        self.require_open()?;
        if !self
            .pending_external_signals
            .remove(&request.initiated_event_id)
        {
            return Err(Rejected::NotFound(format!(
                "signal to another workflow initiated by event {}",
                request.initiated_event_id
            )));
        }
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
        self.add_event(fx, now, attributes);
        self.schedule_workflow_task_if_needed(fx, now);
        Ok(())
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
        self.require_open()?;
        if !self
            .pending_external_cancels
            .remove(&request.initiated_event_id)
        {
            return Err(Rejected::NotFound(format!(
                "cancel request to another workflow initiated by event {}",
                request.initiated_event_id
            )));
        }
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
        self.add_event(fx, now, attributes);
        self.schedule_workflow_task_if_needed(fx, now);
        Ok(())
    }
}
