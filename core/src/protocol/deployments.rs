//! What clients send about worker deployments (spec §5.13.1): describe and list them, set
//! a deployment's current and ramping versions, retire a drained version.

use serde::{Deserialize, Serialize};

use super::CheckText;
use super::text::identity;
use crate::ValidationError;
use crate::ids::Namespace;
use crate::versioning::{RoutingConfig, WorkerDeploymentDescription, WorkerDeploymentVersion};

/// Describe a deployment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DescribeWorkerDeploymentRequest {
    /// The namespace.
    pub namespace: Namespace,
    /// The deployment.
    pub deployment_name: String,
}

/// List a namespace's deployments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListWorkerDeploymentsRequest {
    /// The namespace.
    pub namespace: Namespace,
}

/// Make a version current: new and auto-upgrade runs go to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SetWorkerDeploymentCurrentVersionRequest {
    /// The namespace.
    pub namespace: Namespace,
    /// The deployment.
    pub deployment_name: String,
    /// The build to make current; `None` sends them to unversioned workers.
    pub build_id: Option<String>,
    /// Who changes it.
    pub identity: String,
    /// The routing the change was decided on (Temporal's conflict token): if the
    /// deployment's routing is not this one when the change is applied, it is refused
    /// (`FailedPrecondition`) and nothing changes. `None`: no check.
    pub expected_routing: Option<RoutingConfig>,
}

/// What setting the current version answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SetWorkerDeploymentCurrentVersionResponse {
    /// The version that was current.
    pub previous: Option<WorkerDeploymentVersion>,
    /// The routing the change replaced.
    pub previous_routing: RoutingConfig,
    /// The routing it made (the next change's conflict token).
    pub routing: RoutingConfig,
}

/// Ramp a share of new and auto-upgrade runs to a version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SetWorkerDeploymentRampingVersionRequest {
    /// The namespace.
    pub namespace: Namespace,
    /// The deployment.
    pub deployment_name: String,
    /// The build to ramp; `None` ends the ramp.
    pub build_id: Option<String>,
    /// The share, in percent (0–100).
    pub percentage: f32,
    /// Who changes it.
    pub identity: String,
    /// The routing the change was decided on (Temporal's conflict token): if the
    /// deployment's routing is not this one when the change is applied, it is refused
    /// (`FailedPrecondition`) and nothing changes. `None`: no check.
    pub expected_routing: Option<RoutingConfig>,
}

/// What ramping a version answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SetWorkerDeploymentRampingVersionResponse {
    /// The routing the change replaced.
    pub previous_routing: RoutingConfig,
    /// The routing it made (the next change's conflict token).
    pub routing: RoutingConfig,
}

/// Retire a drained (or never active) version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteWorkerDeploymentVersionRequest {
    /// The namespace.
    pub namespace: Namespace,
    /// The version.
    pub version: WorkerDeploymentVersion,
    /// Who retires it.
    pub identity: String,
}

/// Change a run's options (Temporal's `UpdateWorkflowExecutionOptions`): set or remove its
/// versioning override.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateWorkflowExecutionOptionsRequest {
    /// The namespace.
    pub namespace: Namespace,
    /// The workflow id.
    pub workflow_id: crate::ids::WorkflowId,
    /// The run, or the current one.
    pub run_id: Option<crate::ids::RunId>,
    /// The override to set.
    pub versioning_override: Option<crate::versioning::VersioningOverride>,
    /// Remove the override instead.
    pub unset_versioning_override: bool,
    /// Who changes it.
    pub identity: String,
}

impl CheckText for UpdateWorkflowExecutionOptionsRequest {
    fn check_text(&self) -> Result<(), ValidationError> {
        identity(&self.identity)
    }
}

impl CheckText for DescribeWorkerDeploymentRequest {}
impl CheckText for ListWorkerDeploymentsRequest {}

impl CheckText for SetWorkerDeploymentCurrentVersionRequest {
    fn check_text(&self) -> Result<(), ValidationError> {
        identity(&self.identity)
    }
}

impl CheckText for SetWorkerDeploymentRampingVersionRequest {
    fn check_text(&self) -> Result<(), ValidationError> {
        identity(&self.identity)
    }
}

impl CheckText for DeleteWorkerDeploymentVersionRequest {
    fn check_text(&self) -> Result<(), ValidationError> {
        identity(&self.identity)
    }
}

crate::payload_codec::no_payloads!(
    DescribeWorkerDeploymentRequest,
    ListWorkerDeploymentsRequest,
    SetWorkerDeploymentCurrentVersionRequest,
    SetWorkerDeploymentCurrentVersionResponse,
    SetWorkerDeploymentRampingVersionRequest,
    SetWorkerDeploymentRampingVersionResponse,
    DeleteWorkerDeploymentVersionRequest,
    WorkerDeploymentDescription,
    UpdateWorkflowExecutionOptionsRequest,
    crate::versioning::RunVersioning
);
