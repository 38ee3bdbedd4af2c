//! GetSystemInfo and DescribeTaskQueue.

use endure_core::protocol::DescribeTaskQueueRequest;
use tonic::Status;

use crate::proto::{enums as pbe, service as pb, taskqueue};
use crate::service::{Call, namespace};

/// The server's version and what it supports, as SDKs ask when they connect.
pub(crate) async fn get_system_info(
    _call: Call,
    _request: pb::GetSystemInfoRequest,
) -> Result<pb::GetSystemInfoResponse, Status> {
    Ok(pb::GetSystemInfoResponse {
        server_version: concat!("endure-", env!("CARGO_PKG_VERSION")).to_owned(),
        capabilities: Some(pb::get_system_info_response::Capabilities {
            signal_and_query_header: true,
            internal_error_differentiation: true,
            activity_failure_include_heartbeat: true,
            upsert_memo: true,
            sdk_metadata: true,
            count_group_by_execution_status: true,
            ..Default::default()
        }),
    })
}

/// DescribeTaskQueue: who polled the queue lately (its workflow or activity pollers, by
/// the type asked).
pub(crate) async fn describe_task_queue(
    call: Call,
    request: pb::DescribeTaskQueueRequest,
) -> Result<pb::DescribeTaskQueueResponse, Status> {
    let queue = request
        .task_queue
        .ok_or_else(|| Status::invalid_argument("task_queue: the queue is required"))?;
    let described = call
        .rpc(DescribeTaskQueueRequest {
            namespace: namespace(&request.namespace)?,
            task_queue: crate::convert::common::id_in("task_queue", queue.name)?,
        })
        .await?;
    let activity = request.task_queue_type == i32::from(pbe::TaskQueueType::Activity);
    let pollers = if activity {
        described.activity_pollers
    } else {
        described.workflow_pollers
    };
    Ok(pb::DescribeTaskQueueResponse {
        pollers: pollers
            .into_iter()
            .map(|poller| taskqueue::PollerInfo {
                last_access_time: Some(crate::convert::common::time(poller.last_access_time)),
                identity: poller.identity,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    })
}
