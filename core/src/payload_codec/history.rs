//! The payloads of history events. Every variant is named, so a new event kind must say
//! whether it holds payloads.

use super::{CodecError, PayloadVisitor, VisitPayloads};
use crate::history::{EventAttributes, HistoryEvent};
use crate::storage::HistoryPage;

impl VisitPayloads for HistoryEvent {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.attributes.visit_payloads(visit)
    }
}

impl VisitPayloads for HistoryPage {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.events.visit_payloads(visit)
    }
}

impl VisitPayloads for EventAttributes {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        match self {
            Self::WorkflowExecutionStarted(a) => {
                a.input.visit_payloads(visit)?;
                a.continued_failure.visit_payloads(visit)?;
                a.last_completion_result.visit_payloads(visit)?;
                a.memo.visit_payloads(visit)?;
                a.header.visit_payloads(visit)
            }
            Self::WorkflowExecutionCompleted(a) => a.result.visit_payloads(visit),
            Self::WorkflowExecutionFailed(a) => a.failure.visit_payloads(visit),
            Self::WorkflowTaskFailed(a) => a.failure.visit_payloads(visit),
            Self::ActivityTaskScheduled(a) => {
                a.header.visit_payloads(visit)?;
                a.input.visit_payloads(visit)
            }
            Self::ActivityTaskStarted(a) => a.last_failure.visit_payloads(visit),
            Self::ActivityTaskCompleted(a) => a.result.visit_payloads(visit),
            Self::ActivityTaskFailed(a) => a.failure.visit_payloads(visit),
            Self::ActivityTaskTimedOut(a) => a.failure.visit_payloads(visit),
            Self::ActivityTaskCanceled(a) => a.details.visit_payloads(visit),
            Self::WorkflowExecutionCanceled(a) => a.details.visit_payloads(visit),
            Self::MarkerRecorded(a) => {
                a.details.visit_payloads(visit)?;
                a.header.visit_payloads(visit)?;
                a.failure.visit_payloads(visit)
            }
            Self::WorkflowExecutionSignaled(a) => {
                a.input.visit_payloads(visit)?;
                a.header.visit_payloads(visit)
            }
            Self::WorkflowExecutionTerminated(a) => a.details.visit_payloads(visit),
            Self::WorkflowExecutionContinuedAsNew(a) => {
                a.input.visit_payloads(visit)?;
                a.failure.visit_payloads(visit)?;
                a.last_completion_result.visit_payloads(visit)?;
                a.header.visit_payloads(visit)?;
                a.memo.visit_payloads(visit)
            }
            Self::StartChildWorkflowExecutionInitiated(a) => {
                a.input.visit_payloads(visit)?;
                a.header.visit_payloads(visit)?;
                a.memo.visit_payloads(visit)
            }
            Self::ChildWorkflowExecutionStarted(a) => a.header.visit_payloads(visit),
            Self::ChildWorkflowExecutionCompleted(a) => a.result.visit_payloads(visit),
            Self::ChildWorkflowExecutionFailed(a) => a.failure.visit_payloads(visit),
            Self::ChildWorkflowExecutionCanceled(a) => a.details.visit_payloads(visit),
            Self::SignalExternalWorkflowExecutionInitiated(a) => {
                a.input.visit_payloads(visit)?;
                a.header.visit_payloads(visit)
            }
            Self::WorkflowExecutionUpdateAccepted(a) => a.accepted_request.visit_payloads(visit),
            Self::WorkflowExecutionUpdateCompleted(a) => a.outcome.visit_payloads(visit),
            Self::WorkflowPropertiesModified(a) => a.upserted_memo.visit_payloads(visit),
            Self::WorkflowExecutionUpdateAdmitted(a) => a.request.visit_payloads(visit),
            Self::WorkflowExecutionTimedOut(_)
            | Self::WorkflowTaskScheduled(_)
            | Self::WorkflowTaskStarted(_)
            | Self::WorkflowTaskCompleted(_)
            | Self::WorkflowTaskTimedOut(_)
            | Self::ActivityTaskCancelRequested(_)
            | Self::TimerStarted(_)
            | Self::TimerFired(_)
            | Self::TimerCanceled(_)
            | Self::WorkflowExecutionCancelRequested(_)
            | Self::RequestCancelExternalWorkflowExecutionInitiated(_)
            | Self::RequestCancelExternalWorkflowExecutionFailed(_)
            | Self::ExternalWorkflowExecutionCancelRequested(_)
            | Self::StartChildWorkflowExecutionFailed(_)
            | Self::ChildWorkflowExecutionTimedOut(_)
            | Self::ChildWorkflowExecutionTerminated(_)
            | Self::SignalExternalWorkflowExecutionFailed(_)
            | Self::ExternalWorkflowExecutionSignaled(_)
            | Self::UpsertWorkflowSearchAttributes(_)
            | Self::WorkflowExecutionOptionsUpdated(_) => Ok(()),
        }
    }
}
