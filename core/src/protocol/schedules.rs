//! What clients send about schedules (spec §5.17.1–4): create, describe, update, patch
//! (trigger, backfill, pause, unpause), delete, list.

use serde::{Deserialize, Serialize};

use super::CheckText;
use super::text::identity;
use crate::ValidationError;
use crate::ids::{Namespace, WorkflowId};
use crate::list_filter::ListFilter;
use crate::payload::Memo;
use crate::payload_codec::{CodecError, PayloadVisitor, VisitPayloads};
use crate::schedule::{
    Backfill, Schedule, ScheduleAction, ScheduleDescription, ScheduleListEntry, SchedulePatch,
};
use crate::search_attributes::SearchAttributes;

/// Create a schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreateScheduleRequest {
    /// The namespace.
    pub namespace: Namespace,
    /// The schedule id, unique among the namespace's schedules.
    pub schedule_id: WorkflowId,
    /// The schedule.
    pub schedule: Schedule,
    /// Take the action once at once.
    pub trigger_immediately: bool,
    /// Take the actions of these past ranges at once.
    pub backfills: Vec<Backfill>,
    /// The schedule's memo.
    pub memo: Memo,
    /// The schedule's search attributes (what list filters read).
    pub search_attributes: SearchAttributes,
    /// Makes a retried create idempotent.
    pub request_id: String,
    /// The client.
    pub identity: String,
}

/// What a create answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateScheduleResponse {
    /// False when the request id had already created it.
    pub created: bool,
}

/// Describe a schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DescribeScheduleRequest {
    /// The namespace.
    pub namespace: Namespace,
    /// The schedule id.
    pub schedule_id: WorkflowId,
}

/// Replace a schedule's spec, action, policies and state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpdateScheduleRequest {
    /// The namespace.
    pub namespace: Namespace,
    /// The schedule id.
    pub schedule_id: WorkflowId,
    /// The new schedule.
    pub schedule: Schedule,
    /// Refuse the update if the schedule changed since the describe that returned this.
    pub conflict_token: Option<u64>,
    /// The client.
    pub identity: String,
}

/// Trigger, backfill, pause or unpause a schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatchScheduleRequest {
    /// The namespace.
    pub namespace: Namespace,
    /// The schedule id.
    pub schedule_id: WorkflowId,
    /// The change.
    pub patch: SchedulePatch,
    /// The client.
    pub identity: String,
}

/// Delete a schedule (the workflows it started keep running).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteScheduleRequest {
    /// The namespace.
    pub namespace: Namespace,
    /// The schedule id.
    pub schedule_id: WorkflowId,
    /// The client.
    pub identity: String,
}

/// List a namespace's schedules.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ListSchedulesRequest {
    /// The namespace.
    pub namespace: Namespace,
    /// Only the schedules whose search attributes (and id, as `WorkflowId`) pass.
    pub filter: Option<ListFilter>,
    /// Most schedules returned.
    pub limit: usize,
}

impl CheckText for CreateScheduleRequest {
    fn check_text(&self) -> Result<(), ValidationError> {
        identity(&self.identity)?;
        identity(&self.request_id)
    }
}

impl CheckText for UpdateScheduleRequest {
    fn check_text(&self) -> Result<(), ValidationError> {
        identity(&self.identity)
    }
}

impl CheckText for PatchScheduleRequest {
    fn check_text(&self) -> Result<(), ValidationError> {
        identity(&self.identity)?;
        for note in self.patch.pause.iter().chain(&self.patch.unpause) {
            super::text::reason("note", note)?;
        }
        Ok(())
    }
}

impl CheckText for DeleteScheduleRequest {
    fn check_text(&self) -> Result<(), ValidationError> {
        identity(&self.identity)
    }
}

impl CheckText for DescribeScheduleRequest {}
impl CheckText for ListSchedulesRequest {}

impl VisitPayloads for Schedule {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        let ScheduleAction::StartWorkflow(action) = &mut self.action;
        action.input.visit_payloads(visit)?;
        action.header.visit_payloads(visit)?;
        action.options.visit_payloads(visit)
    }
}

impl VisitPayloads for CreateScheduleRequest {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.schedule.visit_payloads(visit)?;
        self.memo.visit_payloads(visit)
    }
}

impl VisitPayloads for UpdateScheduleRequest {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.schedule.visit_payloads(visit)
    }
}

impl VisitPayloads for ScheduleDescription {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.schedule.visit_payloads(visit)?;
        self.memo.visit_payloads(visit)
    }
}

/// Messages that hold no payloads.
macro_rules! no_payloads {
    ($($ty:ty),*) => {
        $(impl VisitPayloads for $ty {
            fn visit_payloads(&mut self, _: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
                Ok(())
            }
        })*
    };
}

no_payloads!(
    CreateScheduleResponse,
    DescribeScheduleRequest,
    PatchScheduleRequest,
    DeleteScheduleRequest,
    ListSchedulesRequest,
    ScheduleListEntry
);
