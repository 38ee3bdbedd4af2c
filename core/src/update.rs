//! Workflow updates as history records them: the request and its outcome (spec §5.19.3).

use serde::{Deserialize, Serialize};

use crate::failure::Failure;
use crate::ids::{EventId, UpdateId, UpdateName};
use crate::payload::{Header, Payloads};

/// An update request: who sent it, which handler, with what arguments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct UpdateRequest {
    /// The update id; deduplicates retried requests within a run.
    pub update_id: UpdateId,
    /// The client that sent it.
    pub identity: String,
    /// The update handler's name.
    pub name: UpdateName,
    /// Context headers.
    pub header: Header,
    /// The handler's arguments.
    pub args: Payloads,
}

/// How an accepted update ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub enum UpdateOutcome {
    /// The handler returned this value.
    Success(Payloads),
    /// The handler failed.
    Failure(Failure),
}

/// How far an update has come: what a client can wait for (Temporal's
/// `WorkflowUpdateStage`). Ordered: each stage implies the ones before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum UpdateStage {
    /// The engine took the request; the workflow has not answered yet (not durable).
    Admitted,
    /// The workflow's validator accepted it: UpdateAccepted is in history.
    Accepted,
    /// The handler finished: UpdateCompleted is in history.
    Completed,
}

/// An update handed to a worker with a workflow task (Temporal's protocol message carrying
/// an update request): the workflow sees it after the task's events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpdateDelivery {
    /// The request message's id (`<update id>/request`).
    pub message_id: String,
    /// The last event the workflow sees before the update.
    pub sequencing_event_id: EventId,
    /// The request.
    pub request: UpdateRequest,
}

impl UpdateDelivery {
    /// The id of the request message of `update_id`.
    pub fn request_message_id(update_id: &UpdateId) -> String {
        format!("{update_id}/request")
    }
}

/// A worker's answer to a delivered update, sent with a workflow task completion
/// (Temporal's protocol messages). An acceptance or a response is paired with a
/// `ProtocolMessage` command naming its id, which places it among the commands; a rejection
/// writes nothing and needs none.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpdateMessage {
    /// The message id, unique within the completion.
    pub id: String,
    /// The update it answers.
    pub update_id: UpdateId,
    /// The answer.
    pub body: UpdateMessageBody,
}

/// What a worker answers to an update.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum UpdateMessageBody {
    /// The validator accepted it: UpdateAccepted is written; the handler runs.
    Acceptance,
    /// The validator refused it: nothing is written; the client gets the failure.
    Rejection(Failure),
    /// The handler finished: UpdateCompleted is written with the outcome.
    Response(UpdateOutcome),
}

/// What happened to an update, for whoever waits on it: the execution machine reports
/// these in its effects.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum UpdateNotice {
    /// UpdateAccepted was written.
    Accepted,
    /// UpdateCompleted was written with this outcome.
    Completed(UpdateOutcome),
    /// The validator refused it (no history).
    Rejected(Failure),
    /// The update will not complete in this run.
    Aborted(UpdateAbort),
}

/// Why an update will not complete in the run it was sent to (Temporal's abort matrix).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum UpdateAbort {
    /// The run continued as new (or was retried) before the workflow took the update: send
    /// it again; it goes to the new run.
    #[error("the run continued as new before it took the update; it goes to the new run")]
    RunContinued,
    /// The workflow closed before it took the update.
    #[error("workflow execution already completed")]
    WorkflowClosed,
    /// The workflow closed after accepting the update, before its handler finished.
    #[error("the workflow closed before the accepted update completed")]
    AcceptedUpdateNotCompleted,
    /// The workflow task the update was delivered in failed.
    #[error("the workflow task that received the update failed")]
    WorkflowTaskFailed,
    /// The engine lost the update before the workflow accepted it (a restart, a cache
    /// eviction); sending it again is safe.
    #[error("the update was lost before the workflow accepted it; send it again")]
    Lost,
}

impl UpdateAbort {
    /// Whether sending the same update again can succeed (on this run or its successor).
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::RunContinued | Self::Lost)
    }
}
