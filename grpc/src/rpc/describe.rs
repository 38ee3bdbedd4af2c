//! DescribeWorkflowExecution: a run's status, times, pending activities and children.

use endure_core::execution::{PendingActivity, PendingActivityState, PendingChild};
use endure_core::protocol::{DescribeWorkflowRequest, WorkflowDescription};
use tonic::Status;

use crate::convert::common::{
    event_id, execution, memo, payloads_opt, run_id, run_id_opt, search_attributes, time, time_opt,
};
use crate::convert::enums::enum_out;
use crate::convert::failure::failure_opt;
use crate::convert::history::normal_queue;
use crate::proto::{common as pbc, enums as pbe, service as pb, workflow as pbw};
use crate::service::{Call, namespace};

fn pending_activity(activity: PendingActivity) -> pbw::PendingActivityInfo {
    let state = match activity.state {
        PendingActivityState::Scheduled => pbe::PendingActivityState::Scheduled,
        PendingActivityState::Started => pbe::PendingActivityState::Started,
        PendingActivityState::CancelRequested => pbe::PendingActivityState::CancelRequested,
    };
    pbw::PendingActivityInfo {
        activity_id: activity.activity_id.into(),
        activity_type: Some(pbc::ActivityType {
            name: activity.activity_type.into(),
        }),
        state: state.into(),
        heartbeat_details: payloads_opt(activity.heartbeat_details),
        last_heartbeat_time: time_opt(activity.last_heartbeat_time),
        last_started_time: time_opt(activity.last_started_time),
        attempt: i32::try_from(activity.attempt).unwrap_or(i32::MAX),
        scheduled_time: Some(time(activity.scheduled_time)),
        last_failure: failure_opt(activity.last_failure),
        last_worker_identity: activity.last_worker_identity.unwrap_or_default(),
        next_attempt_schedule_time: time_opt(activity.next_attempt_schedule_time),
        ..Default::default()
    }
}

fn pending_child(child: PendingChild) -> pbw::PendingChildExecutionInfo {
    pbw::PendingChildExecutionInfo {
        workflow_id: child.workflow_id.into(),
        run_id: run_id_opt(child.run_id),
        workflow_type_name: child.workflow_type.into(),
        initiated_id: event_id(child.initiated_event_id),
        parent_close_policy: enum_out!(
            child.parent_close_policy,
            pbe::ParentClosePolicy,
            "PARENT_CLOSE_POLICY_"
        ),
    }
}

/// A run's description as Temporal's.
pub(crate) fn description(d: WorkflowDescription) -> pb::DescribeWorkflowExecutionResponse {
    let status = enum_out!(
        d.status,
        pbe::WorkflowExecutionStatus,
        "WORKFLOW_EXECUTION_STATUS_"
    );
    pb::DescribeWorkflowExecutionResponse {
        execution_config: Some(pbw::WorkflowExecutionConfig {
            task_queue: Some(normal_queue(d.task_queue.clone())),
            ..Default::default()
        }),
        workflow_execution_info: Some(pbw::WorkflowExecutionInfo {
            execution: Some(pbc::WorkflowExecution {
                workflow_id: d.execution.workflow_id.into(),
                run_id: run_id(d.execution.run_id),
            }),
            r#type: Some(pbc::WorkflowType {
                name: d.workflow_type.into(),
            }),
            start_time: Some(time(d.start_time)),
            close_time: time_opt(d.close_time),
            status,
            history_length: i64::try_from(d.history_length).unwrap_or(i64::MAX),
            parent_execution: d.parent.map(execution),
            execution_time: Some(time(d.start_time)),
            memo: memo(d.memo),
            search_attributes: search_attributes(&d.search_attributes),
            task_queue: d.task_queue.into(),
            versioning_info: crate::convert::deployment::versioning_info(d.versioning),
            ..Default::default()
        }),
        pending_activities: d
            .pending_activity_details
            .into_iter()
            .map(pending_activity)
            .collect(),
        pending_children: d
            .pending_child_details
            .into_iter()
            .map(pending_child)
            .collect(),
        ..Default::default()
    }
}

/// DescribeWorkflowExecution.
pub(crate) async fn describe(
    call: Call,
    request: pb::DescribeWorkflowExecutionRequest,
) -> Result<pb::DescribeWorkflowExecutionResponse, Status> {
    let target = crate::convert::common::execution_in(request.execution)?;
    let described = call
        .rpc(DescribeWorkflowRequest {
            namespace: namespace(&request.namespace)?,
            workflow_id: target.workflow_id,
            run_id: target.run_id,
        })
        .await?;
    Ok(description(*described))
}
