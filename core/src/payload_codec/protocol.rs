//! The payloads of the engine's requests and responses. Every variant is named, so a new
//! call must say whether it carries payloads.

use super::{CodecError, PayloadVisitor, VisitPayloads};
use crate::execution::{
    ActivityTaskStartedReply, PendingActivity, Reply, SignalRequest, WorkflowTaskCompletion,
    WorkflowTaskStartedReply,
};
use crate::options::StartWorkflowOptions;
use crate::protocol::{
    ActivityTaskForWorker, QueryTaskForWorker, Request, Response, StartWorkflowRequest,
    UpdateWorkflowRequest, UpdateWorkflowResponse, WorkflowDescription, WorkflowTaskForWorker,
};
use crate::storage::VisibilityRow;

impl VisitPayloads for Request {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        match self {
            Self::StartWorkflow(start) => start.visit_payloads(visit),
            Self::SignalWithStartWorkflow { start, signal } => {
                start.visit_payloads(visit)?;
                signal.visit_payloads(visit)
            }
            Self::UpdateWorkflow(update) => update.visit_payloads(visit),
            Self::UpdateWithStartWorkflow { start, update } => {
                start.visit_payloads(visit)?;
                update.visit_payloads(visit)
            }
            Self::SignalWorkflow { signal, .. } => signal.visit_payloads(visit),
            Self::TerminateWorkflow { details, .. }
            | Self::RecordActivityHeartbeat { details, .. }
            | Self::CancelActivityTask { details, .. } => details.visit_payloads(visit),
            Self::CompleteWorkflowTask { completion, .. } => completion.visit_payloads(visit),
            Self::FailWorkflowTask { failure, .. } => failure.visit_payloads(visit),
            Self::QueryWorkflow { args, .. } => args.visit_payloads(visit),
            Self::RespondQueryTask { answer, .. } => match answer {
                Ok(result) => result.visit_payloads(visit),
                Err(_) => Ok(()),
            },
            Self::CompleteActivityTask { result, .. } => result.visit_payloads(visit),
            Self::FailActivityTask { failure, .. } => failure.visit_payloads(visit),
            Self::RequestCancelWorkflow { .. }
            | Self::PollWorkflowTask { .. }
            | Self::ResetStickyTaskQueue { .. }
            | Self::PollActivityTask { .. }
            | Self::GetHistory { .. }
            | Self::GetHistoryPage { .. }
            | Self::ListWorkflows { .. }
            | Self::AwaitWorkflowClose { .. }
            | Self::DescribeWorkflow { .. }
            | Self::CreateNamespace { .. }
            | Self::DescribeNamespace { .. }
            | Self::ListNamespaces
            | Self::UpdateNamespace { .. }
            | Self::ResetWorkflow { .. }
            | Self::Health
            | Self::DeleteWorkflow { .. }
            | Self::PollUpdate { .. } => Ok(()),
        }
    }
}

impl VisitPayloads for Response {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        match self {
            Self::WorkflowTask(task) => task.visit_payloads(visit),
            Self::QueryTask(task) => task.visit_payloads(visit),
            Self::QueryAnswered(answer) => match answer {
                Ok(result) => result.visit_payloads(visit),
                Err(_) => Ok(()),
            },
            Self::WorkflowTaskCompleted(reply) => reply.visit_payloads(visit),
            Self::ActivityTask(task) => task.visit_payloads(visit),
            Self::History(events) => events.visit_payloads(visit),
            Self::HistoryPage(page) => page.visit_payloads(visit),
            Self::Workflows(rows) => rows.visit_payloads(visit),
            Self::Description(description) => description.visit_payloads(visit),
            Self::Update(update) => update.visit_payloads(visit),
            Self::UpdateWithStart { update, .. } => update.visit_payloads(visit),
            Self::Done
            | Self::Started(_)
            | Self::Heartbeat { .. }
            | Self::Reset { .. }
            | Self::Namespace(_)
            | Self::Namespaces(_)
            | Self::Health(_) => Ok(()),
        }
    }
}

impl VisitPayloads for StartWorkflowRequest {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.options.visit_payloads(visit)?;
        self.input.visit_payloads(visit)?;
        self.header.visit_payloads(visit)
    }
}

impl VisitPayloads for StartWorkflowOptions {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.memo.visit_payloads(visit)
    }
}

impl VisitPayloads for SignalRequest {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.input.visit_payloads(visit)?;
        self.header.visit_payloads(visit)
    }
}

impl VisitPayloads for UpdateWorkflowRequest {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.request.visit_payloads(visit)
    }
}

impl VisitPayloads for UpdateWorkflowResponse {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.outcome.visit_payloads(visit)
    }
}

impl VisitPayloads for WorkflowTaskCompletion {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.commands.visit_payloads(visit)?;
        self.messages.visit_payloads(visit)
    }
}

impl VisitPayloads for WorkflowTaskForWorker {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.history.visit_payloads(visit)?;
        self.transient_events.visit_payloads(visit)?;
        self.updates.visit_payloads(visit)
    }
}

impl VisitPayloads for WorkflowTaskStartedReply {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.transient_events.visit_payloads(visit)?;
        self.updates.visit_payloads(visit)
    }
}

impl VisitPayloads for QueryTaskForWorker {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.args.visit_payloads(visit)
    }
}

impl VisitPayloads for ActivityTaskForWorker {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.task.visit_payloads(visit)
    }
}

impl VisitPayloads for ActivityTaskStartedReply {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.scheduled.header.visit_payloads(visit)?;
        self.scheduled.input.visit_payloads(visit)?;
        self.heartbeat_details.visit_payloads(visit)
    }
}

impl VisitPayloads for Reply {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        match self {
            Self::WorkflowTaskStarted(started) => started.visit_payloads(visit),
            Self::ActivityTaskStarted(started) => started.visit_payloads(visit),
            Self::Accepted
            | Self::Duplicate
            | Self::WorkflowTaskCommandsRefused { .. }
            | Self::WorkflowTaskDiscarded { .. }
            | Self::Heartbeat { .. }
            | Self::Update { .. } => Ok(()),
        }
    }
}

impl VisitPayloads for WorkflowDescription {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.memo.visit_payloads(visit)?;
        self.pending_activity_details.visit_payloads(visit)
    }
}

impl VisitPayloads for PendingActivity {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.heartbeat_details.visit_payloads(visit)?;
        self.last_failure.visit_payloads(visit)
    }
}

impl VisitPayloads for VisibilityRow {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.memo.visit_payloads(visit)
    }
}
