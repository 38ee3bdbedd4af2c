//! Worker deployments from the client (spec §5.13.1; Go's `client.WorkerDeploymentClient()`):
//! describe and list a namespace's deployments, set a deployment's current and ramping
//! versions, retire a drained version; override a run's versioning
//! ([`WorkflowHandle::set_versioning_override`]).
//!
//! | Go | Endure |
//! |---|---|
//! | `c.WorkerDeploymentClient().GetHandle(name).Describe(ctx, …)` | `client.deployments().describe(name)` |
//! | `c.WorkerDeploymentClient().List(ctx, …)` | `client.deployments().list()` |
//! | `handle.SetCurrentVersion(ctx, {BuildID})` | `client.deployments().set_current_version(name, Some(build_id))` |
//! | `handle.SetRampingVersion(ctx, {BuildID, Percentage})` | `client.deployments().set_ramping_version(name, Some(build_id), 30.0)` |
//! | `handle.SetCurrentVersion(ctx, {BuildID, ConflictToken})` | `client.deployments().set_current_version_if(name, Some(build_id), &routing_read)` |
//! | `handle.SetRampingVersion(ctx, {BuildID, Percentage, ConflictToken})` | `client.deployments().set_ramping_version_if(name, Some(build_id), 30.0, &routing_read)` |
//! | `handle.DeleteVersion(ctx, {BuildID})` | `client.deployments().delete_version(&version)` |

use endure_core::protocol::{
    DeleteWorkerDeploymentVersionRequest, DescribeWorkerDeploymentRequest,
    ListWorkerDeploymentsRequest, SetWorkerDeploymentCurrentVersionRequest,
    SetWorkerDeploymentCurrentVersionResponse, SetWorkerDeploymentRampingVersionRequest,
    SetWorkerDeploymentRampingVersionResponse, UpdateWorkflowExecutionOptionsRequest,
};
use endure_core::versioning::{
    RoutingConfig, RunVersioning, VersioningOverride, WorkerDeploymentDescription,
    WorkerDeploymentVersion,
};

use crate::client::{Client, ClientError, WorkflowHandle};

/// The worker deployments of a client's namespace.
#[derive(Clone)]
pub struct DeploymentClient {
    client: Client,
}

impl Client {
    /// The worker deployments of this client's namespace.
    pub fn deployments(&self) -> DeploymentClient {
        DeploymentClient {
            client: self.clone(),
        }
    }
}

impl DeploymentClient {
    /// A deployment's routing and versions (with each version's status).
    pub async fn describe(&self, name: &str) -> Result<WorkerDeploymentDescription, ClientError> {
        let request = DescribeWorkerDeploymentRequest {
            namespace: self.client.namespace().clone(),
            deployment_name: name.to_owned(),
        };
        Ok(*self.client.rpc(request).await?)
    }

    /// Every deployment of the namespace, by name.
    pub async fn list(&self) -> Result<Vec<WorkerDeploymentDescription>, ClientError> {
        let request = ListWorkerDeploymentsRequest {
            namespace: self.client.namespace().clone(),
        };
        self.client.rpc(request).await
    }

    /// Makes `build_id` the deployment's current version (`None`: unversioned workers);
    /// returns the version that was current. The build must have polled.
    pub async fn set_current_version(
        &self,
        name: &str,
        build_id: Option<&str>,
    ) -> Result<Option<WorkerDeploymentVersion>, ClientError> {
        Ok(self.set_current(name, build_id, None).await?.previous)
    }

    /// Sends `percentage` % of new and auto-upgrade runs to `build_id` (`None` ends the
    /// ramp). Which runs is decided by their workflow ids, the same way every time.
    pub async fn set_ramping_version(
        &self,
        name: &str,
        build_id: Option<&str>,
        percentage: f32,
    ) -> Result<(), ClientError> {
        self.set_ramping(name, build_id, percentage, None)
            .await
            .map(drop)
    }

    /// [`set_current_version`](Self::set_current_version) only if the deployment's routing
    /// is still `expected` (read from [`describe`](Self::describe) or a previous change:
    /// Go's conflict token) when the engine applies it; otherwise nothing changes and the
    /// call fails with `FailedPrecondition`. Returns the routing it made, the next change's
    /// `expected`.
    pub async fn set_current_version_if(
        &self,
        name: &str,
        build_id: Option<&str>,
        expected: &RoutingConfig,
    ) -> Result<RoutingConfig, ClientError> {
        Ok(self
            .set_current(name, build_id, Some(expected))
            .await?
            .routing)
    }

    /// [`set_ramping_version`](Self::set_ramping_version) only if the deployment's routing
    /// is still `expected` (as for
    /// [`set_current_version_if`](Self::set_current_version_if)); returns the routing it
    /// made.
    pub async fn set_ramping_version_if(
        &self,
        name: &str,
        build_id: Option<&str>,
        percentage: f32,
        expected: &RoutingConfig,
    ) -> Result<RoutingConfig, ClientError> {
        Ok(self
            .set_ramping(name, build_id, percentage, Some(expected))
            .await?
            .routing)
    }

    async fn set_current(
        &self,
        name: &str,
        build_id: Option<&str>,
        expected: Option<&RoutingConfig>,
    ) -> Result<Box<SetWorkerDeploymentCurrentVersionResponse>, ClientError> {
        let request = SetWorkerDeploymentCurrentVersionRequest {
            namespace: self.client.namespace().clone(),
            deployment_name: name.to_owned(),
            build_id: build_id.map(str::to_owned),
            identity: self.client.identity.clone(),
            expected_routing: expected.cloned(),
        };
        self.client.rpc(request).await
    }

    async fn set_ramping(
        &self,
        name: &str,
        build_id: Option<&str>,
        percentage: f32,
        expected: Option<&RoutingConfig>,
    ) -> Result<Box<SetWorkerDeploymentRampingVersionResponse>, ClientError> {
        let request = SetWorkerDeploymentRampingVersionRequest {
            namespace: self.client.namespace().clone(),
            deployment_name: name.to_owned(),
            build_id: build_id.map(str::to_owned),
            percentage,
            identity: self.client.identity.clone(),
            expected_routing: expected.cloned(),
        };
        self.client.rpc(request).await
    }

    /// Retires a drained (or never active) version.
    pub async fn delete_version(
        &self,
        version: &WorkerDeploymentVersion,
    ) -> Result<(), ClientError> {
        let request = DeleteWorkerDeploymentVersionRequest {
            namespace: self.client.namespace().clone(),
            version: version.clone(),
            identity: self.client.identity.clone(),
        };
        self.client.rpc(request).await
    }
}

impl WorkflowHandle {
    /// Overrides how the run follows versions (Temporal's `UpdateWorkflowExecutionOptions`
    /// with a `VersioningOverride`): pin it to a version, or let it auto-upgrade, whatever
    /// its workers declare; `None` removes the override. Recorded in its history
    /// (WorkflowExecutionOptionsUpdated); its next tasks follow it. Returns the run's
    /// versioning after.
    pub async fn set_versioning_override(
        &self,
        versioning_override: Option<VersioningOverride>,
    ) -> Result<RunVersioning, ClientError> {
        let request = UpdateWorkflowExecutionOptionsRequest {
            namespace: self.client.namespace().clone(),
            workflow_id: self.workflow_id.clone(),
            run_id: self.run_id,
            unset_versioning_override: versioning_override.is_none(),
            versioning_override,
            identity: self.client.identity.clone(),
        };
        self.client.rpc(request).await
    }
}
