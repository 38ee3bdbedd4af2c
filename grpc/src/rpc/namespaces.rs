//! The namespace RPCs: register, describe, list, update. Endure keeps a namespace's
//! description, owner and retention; what it does not keep (archival, replication to
//! other clusters, free-form data) is refused by name rather than dropped.

use endure_core::namespace::{NamespaceConfig, NamespaceRecord, NamespaceUpdate};
use endure_core::protocol::{
    CreateNamespaceRequest, DescribeNamespaceRequest, ListNamespacesRequest, UpdateNamespaceRequest,
};
use tonic::Status;

use crate::convert::common::{duration, duration_in};
use crate::proto::{enums as pbe, namespace as pbn, replication, service as pb};
use crate::service::{Call, namespace};

/// The one cluster Endure is, as Temporal's dev server names it in replication configs.
const CLUSTER_NAME: &str = "active";

/// A namespace as DescribeNamespace answers it.
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

/// Refuses what Endure does not keep: archival turned on, free-form data, a global
/// namespace or replication to clusters other than this one.
fn refuse_unkept(
    archival: [i32; 2],
    data: bool,
    global: bool,
    clusters: impl IntoIterator<Item = String>,
) -> Result<(), Status> {
    if archival.contains(&i32::from(pbe::ArchivalState::Enabled)) {
        return Err(Status::invalid_argument(
            "archival: Endure does not archive histories; leave archival disabled",
        ));
    }
    if data {
        return Err(Status::invalid_argument(
            "data: Endure does not keep free-form namespace data",
        ));
    }
    if global {
        return Err(Status::invalid_argument(
            "is_global_namespace: Endure is one cluster; register a local namespace",
        ));
    }
    if let Some(other) = clusters
        .into_iter()
        .find(|name| !name.is_empty() && name != CLUSTER_NAME)
    {
        return Err(Status::invalid_argument(format!(
            "clusters: Endure is one cluster ({CLUSTER_NAME:?}), not {other:?}"
        )));
    }
    Ok(())
}

/// RegisterNamespace: a new namespace with its description, owner and retention (the
/// default retention when none is given).
pub(crate) async fn register_namespace(
    call: Call,
    request: pb::RegisterNamespaceRequest,
) -> Result<pb::RegisterNamespaceResponse, Status> {
    refuse_unkept(
        [
            request.history_archival_state,
            request.visibility_archival_state,
        ],
        !request.data.is_empty(),
        request.is_global_namespace,
        request
            .clusters
            .into_iter()
            .map(|cluster| cluster.cluster_name)
            .chain([request.active_cluster_name]),
    )?;
    let defaults = NamespaceConfig::default();
    let retention = duration_in(
        "workflow_execution_retention_period",
        request.workflow_execution_retention_period,
    )?;
    call.rpc(CreateNamespaceRequest {
        name: namespace(&request.namespace)?,
        config: NamespaceConfig {
            description: request.description,
            owner_email: request.owner_email,
            retention: retention.unwrap_or(defaults.retention),
        },
    })
    .await?;
    Ok(pb::RegisterNamespaceResponse::default())
}

/// UpdateNamespace: as Temporal's, an empty description or owner and an unset retention
/// leave the field as it is; answers the namespace as it is after.
pub(crate) async fn update_namespace(
    call: Call,
    request: pb::UpdateNamespaceRequest,
) -> Result<pb::UpdateNamespaceResponse, Status> {
    if request.promote_namespace {
        return Err(Status::invalid_argument(
            "promote_namespace: Endure is one cluster; there is nothing to promote to",
        ));
    }
    let info = request.update_info.unwrap_or_default();
    let config = request.config.unwrap_or_default();
    refuse_unkept(
        [
            config.history_archival_state,
            config.visibility_archival_state,
        ],
        !info.data.is_empty(),
        false,
        request
            .replication_config
            .into_iter()
            .flat_map(|replication| {
                replication
                    .clusters
                    .into_iter()
                    .map(|cluster| cluster.cluster_name)
                    .chain([replication.active_cluster_name])
            }),
    )?;
    let non_empty = |text: String| (!text.is_empty()).then_some(text);
    let record = call
        .rpc(UpdateNamespaceRequest {
            name: namespace(&request.namespace)?,
            update: NamespaceUpdate {
                description: non_empty(info.description),
                owner_email: non_empty(info.owner_email),
                retention: duration_in(
                    "config.workflow_execution_retention_ttl",
                    config.workflow_execution_retention_ttl,
                )?,
            },
        })
        .await?;
    let described = describe(*record);
    Ok(pb::UpdateNamespaceResponse {
        namespace_info: described.namespace_info,
        config: described.config,
        replication_config: described.replication_config,
        failover_version: described.failover_version,
        is_global_namespace: described.is_global_namespace,
    })
}
