//! The payloads of commands and of update messages. Every variant is named, so a new
//! command kind must say whether it holds payloads.

use super::{CodecError, PayloadVisitor, VisitPayloads};
use crate::command::Command;
use crate::update::{
    UpdateDelivery, UpdateMessage, UpdateMessageBody, UpdateOutcome, UpdateRequest,
};

impl VisitPayloads for Command {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        match self {
            Self::ScheduleActivityTask(a) => {
                a.header.visit_payloads(visit)?;
                a.input.visit_payloads(visit)
            }
            Self::CompleteWorkflowExecution(a) => a.result.visit_payloads(visit),
            Self::FailWorkflowExecution(a) => a.failure.visit_payloads(visit),
            Self::CancelWorkflowExecution(a) => a.details.visit_payloads(visit),
            Self::RecordMarker(a) => {
                a.details.visit_payloads(visit)?;
                a.header.visit_payloads(visit)?;
                a.failure.visit_payloads(visit)
            }
            Self::ContinueAsNewWorkflowExecution(a) => {
                a.input.visit_payloads(visit)?;
                a.header.visit_payloads(visit)?;
                a.memo.visit_payloads(visit)
            }
            Self::StartChildWorkflowExecution(a) => {
                a.input.visit_payloads(visit)?;
                a.header.visit_payloads(visit)?;
                a.memo.visit_payloads(visit)
            }
            Self::SignalExternalWorkflowExecution(a) => {
                a.input.visit_payloads(visit)?;
                a.header.visit_payloads(visit)
            }
            Self::ModifyWorkflowProperties(a) => a.upserted_memo.visit_payloads(visit),
            Self::RequestCancelActivityTask(_)
            | Self::StartTimer(_)
            | Self::CancelTimer(_)
            | Self::RequestCancelExternalWorkflowExecution(_)
            | Self::UpsertWorkflowSearchAttributes(_)
            | Self::ProtocolMessage(_) => Ok(()),
        }
    }
}

impl VisitPayloads for UpdateRequest {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.header.visit_payloads(visit)?;
        self.args.visit_payloads(visit)
    }
}

impl VisitPayloads for UpdateOutcome {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        match self {
            Self::Success(result) => result.visit_payloads(visit),
            Self::Failure(failure) => failure.visit_payloads(visit),
        }
    }
}

impl VisitPayloads for UpdateDelivery {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.request.visit_payloads(visit)
    }
}

impl VisitPayloads for UpdateMessage {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        match &mut self.body {
            UpdateMessageBody::Acceptance => Ok(()),
            UpdateMessageBody::Rejection(failure) => failure.visit_payloads(visit),
            UpdateMessageBody::Response(outcome) => outcome.visit_payloads(visit),
        }
    }
}
