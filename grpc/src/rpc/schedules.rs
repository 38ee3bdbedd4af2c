//! The schedule RPCs: create, describe, update, patch (trigger, backfill, pause,
//! unpause), delete and list, over Endure's schedules (a schedule is a run of the engine's
//! own scheduler workflow).

use endure_core::WorkflowId;
use endure_core::list_filter::ListFilter;
use endure_core::protocol::{
    CreateScheduleRequest, DeleteScheduleRequest, DescribeScheduleRequest, ListSchedulesRequest,
    PatchScheduleRequest, UpdateScheduleRequest,
};
use endure_core::schedule::SCHEDULES_LIST_MAX;
use tonic::Status;

use crate::convert::common::{id_in, memo_in, search_attributes_in, time};
use crate::convert::schedule::{action_result, info, patch_in, schedule, schedule_in, spec};
use crate::proto::{common as pbc, schedule as pbs, service as pb};
use crate::service::{Call, namespace};

fn schedule_id(text: String) -> Result<WorkflowId, Status> {
    Ok(id_in("schedule_id", text)?)
}

/// A conflict token as Temporal's opaque bytes (the schedule's version, decimal).
fn token(version: u64) -> Vec<u8> {
    version.to_string().into_bytes()
}

fn token_in(bytes: &[u8]) -> Result<Option<u64>, Status> {
    if bytes.is_empty() {
        return Ok(None);
    }
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|text| text.parse().ok())
        .map(Some)
        .ok_or_else(|| Status::invalid_argument("conflict_token: not a token this server gave"))
}

/// CreateSchedule (with an initial patch: trigger now, backfills).
pub(crate) async fn create(
    call: Call,
    request: pb::CreateScheduleRequest,
) -> Result<pb::CreateScheduleResponse, Status> {
    let patch = patch_in(request.initial_patch)?;
    if patch.pause.is_some() || patch.unpause.is_some() {
        return Err(Status::invalid_argument(
            "initial_patch: set state.paused in the schedule instead of pausing in the create",
        ));
    }
    let namespace = namespace(&request.namespace)?;
    let schedule_id = schedule_id(request.schedule_id)?;
    call.rpc(CreateScheduleRequest {
        namespace: namespace.clone(),
        schedule_id: schedule_id.clone(),
        schedule: schedule_in(request.schedule)?,
        trigger_immediately: patch.trigger.is_some(),
        backfills: patch.backfills,
        memo: memo_in(request.memo),
        search_attributes: search_attributes_in(request.search_attributes)?,
        request_id: request.request_id,
        identity: request.identity,
    })
    .await?;
    let described = call
        .rpc(DescribeScheduleRequest {
            namespace,
            schedule_id,
        })
        .await?;
    Ok(pb::CreateScheduleResponse {
        conflict_token: token(described.conflict_token),
    })
}

/// DescribeSchedule.
pub(crate) async fn describe(
    call: Call,
    request: pb::DescribeScheduleRequest,
) -> Result<pb::DescribeScheduleResponse, Status> {
    let described = call
        .rpc(DescribeScheduleRequest {
            namespace: namespace(&request.namespace)?,
            schedule_id: schedule_id(request.schedule_id)?,
        })
        .await?;
    let described = *described;
    Ok(pb::DescribeScheduleResponse {
        schedule: Some(schedule(described.schedule)),
        info: Some(info(
            described.info,
            described.future_action_times,
            described.buffered_starts,
        )),
        conflict_token: token(described.conflict_token),
        memo: crate::convert::common::memo(described.memo),
        search_attributes: crate::convert::common::search_attributes(&described.search_attributes),
    })
}

/// UpdateSchedule (under the conflict token, when given).
pub(crate) async fn update(
    call: Call,
    request: pb::UpdateScheduleRequest,
) -> Result<pb::UpdateScheduleResponse, Status> {
    call.rpc(UpdateScheduleRequest {
        namespace: namespace(&request.namespace)?,
        schedule_id: schedule_id(request.schedule_id)?,
        schedule: schedule_in(request.schedule)?,
        conflict_token: token_in(&request.conflict_token)?,
        identity: request.identity,
    })
    .await?;
    Ok(pb::UpdateScheduleResponse::default())
}

/// PatchSchedule: trigger, backfill, pause, unpause.
pub(crate) async fn patch(
    call: Call,
    request: pb::PatchScheduleRequest,
) -> Result<pb::PatchScheduleResponse, Status> {
    call.rpc(PatchScheduleRequest {
        namespace: namespace(&request.namespace)?,
        schedule_id: schedule_id(request.schedule_id)?,
        patch: patch_in(request.patch)?,
        identity: request.identity,
    })
    .await?;
    Ok(pb::PatchScheduleResponse::default())
}

/// DeleteSchedule.
pub(crate) async fn delete(
    call: Call,
    request: pb::DeleteScheduleRequest,
) -> Result<pb::DeleteScheduleResponse, Status> {
    call.rpc(DeleteScheduleRequest {
        namespace: namespace(&request.namespace)?,
        schedule_id: schedule_id(request.schedule_id)?,
        identity: request.identity,
    })
    .await?;
    Ok(pb::DeleteScheduleResponse::default())
}

/// ListSchedules: every schedule the filter selects, in one page (at most
/// `SCHEDULES_LIST_MAX`).
pub(crate) async fn list(
    call: Call,
    request: pb::ListSchedulesRequest,
) -> Result<pb::ListSchedulesResponse, Status> {
    let filter = if request.query.trim().is_empty() {
        None
    } else {
        Some(
            ListFilter::parse(&request.query)
                .map_err(|error| Status::invalid_argument(format!("query: {error}")))?,
        )
    };
    let entries = call
        .rpc(ListSchedulesRequest {
            namespace: namespace(&request.namespace)?,
            filter,
            limit: SCHEDULES_LIST_MAX,
        })
        .await?;
    Ok(pb::ListSchedulesResponse {
        schedules: entries
            .into_iter()
            .map(|entry| pbs::ScheduleListEntry {
                schedule_id: entry.schedule_id.into(),
                info: Some(pbs::ScheduleListInfo {
                    workflow_type: Some(pbc::WorkflowType {
                        name: entry.info.workflow_type.into(),
                    }),
                    notes: entry.info.notes,
                    paused: entry.info.paused,
                    recent_actions: entry
                        .info
                        .recent_actions
                        .into_iter()
                        .map(action_result)
                        .collect(),
                    future_action_times: entry
                        .info
                        .future_action_times
                        .into_iter()
                        .map(time)
                        .collect(),
                    // A listing memo from before the spec was kept there: an empty spec
                    // (Temporal always sends one) until the schedule's next task.
                    spec: Some(entry.info.spec.map(spec).unwrap_or_default()),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect(),
        next_page_token: Vec::new(),
    })
}
