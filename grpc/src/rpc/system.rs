//! GetSystemInfo and the namespace reads.

use endure_core::namespace::NamespaceRecord;
use endure_core::protocol::{
    DescribeNamespaceRequest, DescribeTaskQueueRequest, ListNamespacesRequest,
};
use tonic::Status;

use crate::convert::common::duration;
use crate::proto::{enums as pbe, namespace as pbn, replication, service as pb, taskqueue};

/// The one cluster Endure is, as Temporal's dev server names it in replication configs.
const CLUSTER_NAME: &str = "active";
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
            count_group_by_execution_status: false,
            ..Default::default()
        }),
    })
}

fn describe(record: NamespaceRecord) -> pb::DescribeNamespaceResponse {
    let name = record.name.as_str().to_owned();
    pb::DescribeNamespaceResponse {
        namespace_info: Some(pbn::NamespaceInfo {
            // Endure names namespaces by name alone; Temporal's id is the name here.
            id: name.clone(),
            name,
            state: pbe::NamespaceState::Registered.into(),
            description: record.config.description,
            owner_email: record.config.owner_email,
            capabilities: Some(pbn::namespace_info::Capabilities {
                sync_update: true,
                async_update: true,
                ..Default::default()
            }),
            ..Default::default()
        }),
        config: Some(pbn::NamespaceConfig {
            workflow_execution_retention_ttl: Some(duration(record.config.retention)),
            history_archival_state: pbe::ArchivalState::Disabled.into(),
            visibility_archival_state: pbe::ArchivalState::Disabled.into(),
            ..Default::default()
        }),
        replication_config: Some(replication::NamespaceReplicationConfig {
            active_cluster_name: CLUSTER_NAME.to_owned(),
            clusters: vec![replication::ClusterReplicationConfig {
                cluster_name: CLUSTER_NAME.to_owned(),
                replication_ramp_duration: None,
            }],
            state: pbe::ReplicationState::Normal.into(),
        }),
        ..Default::default()
    }
}

/// DescribeNamespace: by name (Endure has no separate namespace ids).
pub(crate) async fn describe_namespace(
    call: Call,
    request: pb::DescribeNamespaceRequest,
) -> Result<pb::DescribeNamespaceResponse, Status> {
    let name = if request.namespace.is_empty() {
        request.id
    } else {
        request.namespace
    };
    let record = call
        .rpc(DescribeNamespaceRequest {
            name: namespace(&name)?,
        })
        .await?;
    Ok(describe(*record))
}

/// ListNamespaces: every namespace in one page.
pub(crate) async fn list_namespaces(
    call: Call,
    _request: pb::ListNamespacesRequest,
) -> Result<pb::ListNamespacesResponse, Status> {
    let records = call.rpc(ListNamespacesRequest).await?;
    Ok(pb::ListNamespacesResponse {
        namespaces: records.into_iter().map(describe).collect(),
        next_page_token: Vec::new(),
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
