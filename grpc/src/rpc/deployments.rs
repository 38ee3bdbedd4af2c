//! Worker deployments (Temporal's Worker Versioning): describe, list, set the current and
//! the ramping version, delete a version, and a run's versioning override
//! (`UpdateWorkflowExecutionOptions`). A deployment's conflict token is its routing config
//! as this server last showed it: a change sent with a token is refused when the routing
//! has changed since (checked just before the change).

use endure_core::protocol::{
    DeleteWorkerDeploymentVersionRequest, DescribeWorkerDeploymentRequest,
    ListWorkerDeploymentsRequest, SetWorkerDeploymentCurrentVersionRequest,
    SetWorkerDeploymentRampingVersionRequest, UpdateWorkflowExecutionOptionsRequest,
};
use endure_core::versioning::{RoutingConfig, WorkerDeploymentVersion};
use tonic::Status;

use crate::convert::common::execution_in;
use crate::convert::common::{time, time_opt};
use crate::convert::deployment::{
    info, override_in, override_out, routing, summary, version, version_in,
};
use crate::proto::{deployment as pbd, service as pb, workflow as pbw};
use crate::service::{Call, namespace};

/// Temporal's name for "no version": unversioned workers.
const UNVERSIONED: &str = "__unversioned__";

/// A deployment's conflict token: its routing config, encoded.
fn token(routing: &RoutingConfig) -> Vec<u8> {
    postcard::to_allocvec(routing).unwrap_or_default()
}

/// The routing a change was decided on, from its conflict token (one this server gave):
/// the engine refuses the change if the routing is another by the time it applies it. No
/// token, no check.
fn expected_routing(conflict_token: &[u8]) -> Result<Option<RoutingConfig>, Status> {
    if conflict_token.is_empty() {
        return Ok(None);
    }
    postcard::from_bytes(conflict_token)
        .map(Some)
        .map_err(|_| Status::invalid_argument("conflict_token: not a token this server gave"))
}

/// The build id a request names: `build_id`, else the deprecated `deployment.build`
/// version string; `None` for unversioned.
fn build_id_of(
    deployment_name: &str,
    build_id: String,
    version: String,
) -> Result<Option<String>, Status> {
    if !build_id.is_empty() {
        return Ok(Some(build_id));
    }
    if version.is_empty() || version == UNVERSIONED {
        return Ok(None);
    }
    let parsed = WorkerDeploymentVersion::parse(&version)
        .map_err(|error| Status::invalid_argument(format!("version: {error}")))?;
    if parsed.deployment_name != deployment_name {
        return Err(Status::invalid_argument(format!(
            "version: {version:?} is not a version of deployment {deployment_name:?}"
        )));
    }
    Ok(Some(parsed.build_id))
}

/// DescribeWorkerDeployment.
pub(crate) async fn describe(
    call: Call,
    request: pb::DescribeWorkerDeploymentRequest,
) -> Result<pb::DescribeWorkerDeploymentResponse, Status> {
    let described = call
        .rpc(DescribeWorkerDeploymentRequest {
            namespace: namespace(&request.namespace)?,
            deployment_name: request.deployment_name,
        })
        .await?;
    Ok(pb::DescribeWorkerDeploymentResponse {
        conflict_token: token(&described.routing),
        worker_deployment_info: Some(info(*described)),
    })
}

/// DescribeWorkerDeploymentVersion: one version of a deployment, from the deployment's
/// description. Endure records the queues a version's workers poll, not the task types
/// polled on each, so each queue's type is unspecified.
pub(crate) async fn describe_version(
    call: Call,
    request: pb::DescribeWorkerDeploymentVersionRequest,
) -> Result<pb::DescribeWorkerDeploymentVersionResponse, Status> {
    use endure_core::versioning::VersionStatus;
    #[allow(
        deprecated,
        reason = "older SDKs and CLIs send the version as a string"
    )]
    let wanted = match request.deployment_version {
        Some(wanted) => version_in("deployment_version", wanted)?,
        None => WorkerDeploymentVersion::parse(&request.version)
            .map_err(|error| Status::invalid_argument(format!("version: {error}")))?,
    };
    let described = call
        .rpc(DescribeWorkerDeploymentRequest {
            namespace: namespace(&request.namespace)?,
            deployment_name: wanted.deployment_name.clone(),
        })
        .await?;
    let found = described
        .versions
        .iter()
        .find(|candidate| candidate.version == wanted)
        .cloned()
        .ok_or_else(|| {
            Status::not_found(format!(
                "worker deployment version {wanted} not found: no worker of it has polled"
            ))
        })?;
    let routing_of = &described.routing;
    let current_since = (found.status == VersionStatus::Current)
        .then_some(routing_of.current_changed_at)
        .flatten();
    let ramping_since = (found.status == VersionStatus::Ramping)
        .then_some(routing_of.ramping_changed_at)
        .flatten();
    let ramp_percentage = if found.status == VersionStatus::Ramping {
        routing_of.ramping_percentage
    } else {
        0.0
    };
    let queues: Vec<String> = found
        .task_queues
        .iter()
        .map(|queue| queue.as_str().to_owned())
        .collect();
    let summarized = summary(found.clone());
    #[allow(
        deprecated,
        reason = "older SDKs and CLIs read the version as a string"
    )]
    let info = pbd::WorkerDeploymentVersionInfo {
        version: wanted.to_string(),
        status: summarized.status,
        deployment_version: Some(version(wanted.clone())),
        deployment_name: wanted.deployment_name,
        create_time: Some(time(found.created_at)),
        routing_changed_time: time_opt(current_since.or(ramping_since)),
        current_since_time: time_opt(current_since),
        ramping_since_time: time_opt(ramping_since),
        ramp_percentage,
        task_queue_infos: queues
            .iter()
            .map(
                |name| pbd::worker_deployment_version_info::VersionTaskQueueInfo {
                    name: name.clone(),
                    r#type: 0,
                },
            )
            .collect(),
        drainage_info: summarized.drainage_info,
        last_modifier_identity: described.last_modifier.clone().unwrap_or_default(),
        ..Default::default()
    };
    Ok(pb::DescribeWorkerDeploymentVersionResponse {
        worker_deployment_version_info: Some(info),
        version_task_queues: queues
            .into_iter()
            .map(
                |name| pb::describe_worker_deployment_version_response::VersionTaskQueue {
                    name,
                    ..Default::default()
                },
            )
            .collect(),
    })
}

/// ListWorkerDeployments: every deployment in one page.
pub(crate) async fn list(
    call: Call,
    request: pb::ListWorkerDeploymentsRequest,
) -> Result<pb::ListWorkerDeploymentsResponse, Status> {
    let deployments = call
        .rpc(ListWorkerDeploymentsRequest {
            namespace: namespace(&request.namespace)?,
        })
        .await?;
    let worker_deployments = deployments
        .into_iter()
        .map(|deployment| {
            let find = |wanted: &Option<WorkerDeploymentVersion>| {
                let wanted = wanted.as_ref()?;
                deployment
                    .versions
                    .iter()
                    .find(|candidate| &candidate.version == wanted)
                    .cloned()
                    .map(summary)
            };
            let current = find(&deployment.routing.current);
            let ramping = find(&deployment.routing.ramping);
            let latest = deployment
                .versions
                .iter()
                .max_by_key(|candidate| candidate.created_at)
                .cloned()
                .map(summary);
            pb::list_worker_deployments_response::WorkerDeploymentSummary {
                name: deployment.name,
                create_time: Some(time(deployment.created_at)),
                routing_config: Some(routing(deployment.routing)),
                latest_version_summary: latest,
                current_version_summary: current,
                ramping_version_summary: ramping,
            }
        })
        .collect();
    Ok(pb::ListWorkerDeploymentsResponse {
        next_page_token: Vec::new(),
        worker_deployments,
    })
}

/// SetWorkerDeploymentCurrentVersion: new and auto-upgrade runs go to this version (or,
/// with no build id, to unversioned workers).
pub(crate) async fn set_current(
    call: Call,
    request: pb::SetWorkerDeploymentCurrentVersionRequest,
) -> Result<pb::SetWorkerDeploymentCurrentVersionResponse, Status> {
    #[allow(
        deprecated,
        reason = "older SDKs and CLIs send the version as a string"
    )]
    let build_id = build_id_of(&request.deployment_name, request.build_id, request.version)?;
    let answer = call
        .rpc(SetWorkerDeploymentCurrentVersionRequest {
            namespace: namespace(&request.namespace)?,
            deployment_name: request.deployment_name.clone(),
            build_id,
            identity: request.identity,
            expected_routing: expected_routing(&request.conflict_token)?,
        })
        .await?;
    #[allow(deprecated, reason = "older SDKs and CLIs read the previous version")]
    Ok(pb::SetWorkerDeploymentCurrentVersionResponse {
        conflict_token: token(&answer.routing),
        previous_version: answer
            .previous
            .as_ref()
            .map_or_else(|| UNVERSIONED.to_owned(), ToString::to_string),
        previous_deployment_version: answer.previous.map(version),
    })
}

/// SetWorkerDeploymentRampingVersion: a share of new and auto-upgrade runs go to this
/// version (no build id stops the ramp).
pub(crate) async fn set_ramping(
    call: Call,
    request: pb::SetWorkerDeploymentRampingVersionRequest,
) -> Result<pb::SetWorkerDeploymentRampingVersionResponse, Status> {
    #[allow(
        deprecated,
        reason = "older SDKs and CLIs send the version as a string"
    )]
    let build_id = build_id_of(&request.deployment_name, request.build_id, request.version)?;
    let answer = call
        .rpc(SetWorkerDeploymentRampingVersionRequest {
            namespace: namespace(&request.namespace)?,
            deployment_name: request.deployment_name.clone(),
            build_id,
            percentage: request.percentage,
            identity: request.identity,
            expected_routing: expected_routing(&request.conflict_token)?,
        })
        .await?;
    let before = answer.previous_routing;
    #[allow(deprecated, reason = "older SDKs and CLIs read the previous ramp")]
    Ok(pb::SetWorkerDeploymentRampingVersionResponse {
        conflict_token: token(&answer.routing),
        previous_version: before
            .ramping
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        previous_deployment_version: before.ramping.clone().map(version),
        previous_percentage: before.ramping_percentage,
    })
}

/// DeleteWorkerDeploymentVersion: a drained or never-active version with no pollers.
pub(crate) async fn delete_version(
    call: Call,
    request: pb::DeleteWorkerDeploymentVersionRequest,
) -> Result<pb::DeleteWorkerDeploymentVersionResponse, Status> {
    if request.skip_drainage {
        return Err(Status::invalid_argument(
            "skip_drainage: Endure deletes only versions no open pinned run uses",
        ));
    }
    #[allow(
        deprecated,
        reason = "older SDKs and CLIs send the version as a string"
    )]
    let target = match request.deployment_version {
        Some(target) => version_in("deployment_version", target)?,
        None => WorkerDeploymentVersion::parse(&request.version)
            .map_err(|error| Status::invalid_argument(format!("version: {error}")))?,
    };
    call.rpc(DeleteWorkerDeploymentVersionRequest {
        namespace: namespace(&request.namespace)?,
        version: target,
        identity: request.identity,
    })
    .await?;
    Ok(pb::DeleteWorkerDeploymentVersionResponse::default())
}

/// UpdateWorkflowExecutionOptions: set or remove a run's versioning override (the only
/// option Endure keeps; the mask must name it).
pub(crate) async fn update_options(
    call: Call,
    request: pb::UpdateWorkflowExecutionOptionsRequest,
) -> Result<pb::UpdateWorkflowExecutionOptionsResponse, Status> {
    let paths = request
        .update_mask
        .map(|mask| mask.paths)
        .unwrap_or_default();
    if let Some(other) = paths
        .iter()
        .find(|path| path.as_str() != "versioning_override")
    {
        return Err(Status::invalid_argument(format!(
            "update_mask: Endure changes only versioning_override, not {other:?}"
        )));
    }
    if paths.is_empty() {
        return Err(Status::invalid_argument(
            "update_mask: name the options to change (versioning_override)",
        ));
    }
    let wanted = request
        .workflow_execution_options
        .and_then(|options| options.versioning_override);
    let versioning_override = wanted
        .map(|value| override_in("workflow_execution_options.versioning_override", value))
        .transpose()?;
    let target = execution_in(request.workflow_execution)?;
    let after = call
        .rpc(UpdateWorkflowExecutionOptionsRequest {
            namespace: namespace(&request.namespace)?,
            workflow_id: target.workflow_id,
            run_id: target.run_id,
            unset_versioning_override: versioning_override.is_none(),
            versioning_override,
            identity: request.identity,
        })
        .await?;
    Ok(pb::UpdateWorkflowExecutionOptionsResponse {
        workflow_execution_options: Some(pbw::WorkflowExecutionOptions {
            versioning_override: after.override_.map(override_out),
            ..Default::default()
        }),
        update_time: None,
    })
}
