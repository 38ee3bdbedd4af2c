//! Worker deployments through the engine (spec §5.13.1): the polls that make versions and
//! queues known, and the operators' describe, list, set-current, set-ramping and
//! delete-version.
//!
//! A namespace's deployments live in its record (`NamespaceRecord::deployments`), changed
//! by the same conditioned read-modify-write as its configuration and mirrored in memory;
//! matching learns each deployment's routing and queues from them
//! ([`Matching::configure_deployment`](super::matching::Matching), `assign_queue`).

use endure_core::Namespace;
use endure_core::clock::Clock;
use endure_core::execution::Input;
use endure_core::limits::VERSION_TASK_QUEUES_MAX;
use endure_core::list_filter::ListFilter;
use endure_core::protocol::{
    DeleteWorkerDeploymentVersionRequest, DescribeWorkerDeploymentRequest,
    SetWorkerDeploymentCurrentVersionRequest, SetWorkerDeploymentCurrentVersionResponse,
    SetWorkerDeploymentRampingVersionRequest, SetWorkerDeploymentRampingVersionResponse,
    UpdateWorkflowExecutionOptionsRequest,
};
use endure_core::storage::Storage;
use endure_core::storage::VisibilityQuery;
use endure_core::versioning::search_attributes;
use endure_core::versioning::{
    DeploymentError, RoutingConfig, RunVersioning, WorkerDeployment, WorkerDeploymentDescription,
    WorkerDeploymentVersion,
};
use endure_core::{SearchAttributeValue, TaskQueueName, WorkflowExecutionStatus};

use super::api::EngineError;
use super::runtime::Engine;

impl From<DeploymentError> for EngineError {
    fn from(error: DeploymentError) -> Self {
        match error {
            DeploymentError::InUse { .. } | DeploymentError::RoutingChanged => {
                Self::NotReady(error.to_string())
            }
            _ => Self::BadRequest(error.to_string()),
        }
    }
}

impl<S: Storage, C: Clock> Engine<S, C> {
    /// A worker of `version` polls `task_queue`: matching routes the queue by the version's
    /// deployment; a version or queue the deployment did not list is recorded durably
    /// first. `normal_queue` is the queue a sticky queue stands in for (only it is listed).
    pub(crate) async fn record_versioned_poll(
        &self,
        namespace: &Namespace,
        task_queue: &TaskQueueName,
        version: &WorkerDeploymentVersion,
        normal_queue: Option<&TaskQueueName>,
    ) -> Result<(), EngineError> {
        version.validate()?;
        self.check_namespace(namespace)?;
        let listed = normal_queue.unwrap_or(task_queue);
        let known = self
            .inner
            .namespaces
            .deployment(namespace, &version.deployment_name);
        let news = known.as_ref().is_none_or(|deployment| {
            deployment
                .versions
                .get(&version.build_id)
                .is_none_or(|record| {
                    !record.task_queues.contains(listed)
                        && record.task_queues.len() < VERSION_TASK_QUEUES_MAX
                })
        });
        if news {
            let now = self.inner.clock.now();
            self.change_deployment(namespace, &version.deployment_name, |deployment| {
                deployment.record_poll(version, listed, now);
                Ok(())
            })
            .await?;
        } else if let Some(deployment) = known {
            self.inner.matching.configure_deployment(
                namespace,
                &deployment.name,
                deployment.routing.clone(),
            );
        }
        self.inner
            .matching
            .assign_queue(namespace, task_queue, &version.deployment_name);
        Ok(())
    }

    /// A deployment's routing and versions (Temporal's `DescribeWorkerDeployment`), each
    /// draining version's open pinned runs counted first.
    pub async fn describe_worker_deployment(
        &self,
        request: DescribeWorkerDeploymentRequest,
    ) -> Result<WorkerDeploymentDescription, EngineError> {
        self.check_namespace(&request.namespace)?;
        self.refresh_drainage(&request.namespace, &request.deployment_name)
            .await?;
        self.inner
            .namespaces
            .deployment(&request.namespace, &request.deployment_name)
            .map(|deployment| deployment.describe())
            .ok_or_else(|| unknown_deployment(&request.deployment_name))
    }

    /// Every deployment of a namespace, by name.
    pub async fn list_worker_deployments(
        &self,
        namespace: &Namespace,
    ) -> Result<Vec<WorkerDeploymentDescription>, EngineError> {
        self.check_namespace(namespace)?;
        for deployment in self.inner.namespaces.deployments(namespace) {
            self.refresh_drainage(namespace, &deployment.name).await?;
        }
        Ok(self
            .inner
            .namespaces
            .deployments(namespace)
            .iter()
            .map(WorkerDeployment::describe)
            .collect())
    }

    /// Makes a version current (Temporal's `SetWorkerDeploymentCurrentVersion`), if the
    /// routing is still the one the request expects: checked in the same conditional
    /// write that changes it, so a concurrent change refuses this one.
    pub async fn set_worker_deployment_current_version(
        &self,
        request: SetWorkerDeploymentCurrentVersionRequest,
    ) -> Result<SetWorkerDeploymentCurrentVersionResponse, EngineError> {
        let version = version_of(&request.deployment_name, request.build_id.as_deref())?;
        let now = self.inner.clock.now();
        let (previous_routing, (previous, routing)) = self
            .change_routing(
                &request.namespace,
                &request.deployment_name,
                request.expected_routing.as_ref(),
                |deployment| deployment.set_current(version.as_ref(), &request.identity, now),
            )
            .await?;
        tracing::info!(namespace = %request.namespace, deployment = %request.deployment_name, current = ?request.build_id, "current version set");
        Ok(SetWorkerDeploymentCurrentVersionResponse {
            previous,
            previous_routing,
            routing,
        })
    }

    /// Ramps a share of runs to a version (Temporal's `SetWorkerDeploymentRampingVersion`),
    /// if the routing is still the one the request expects (checked as for the current
    /// version).
    pub async fn set_worker_deployment_ramping_version(
        &self,
        request: SetWorkerDeploymentRampingVersionRequest,
    ) -> Result<SetWorkerDeploymentRampingVersionResponse, EngineError> {
        let version = version_of(&request.deployment_name, request.build_id.as_deref())?;
        let now = self.inner.clock.now();
        let (previous_routing, ((), routing)) = self
            .change_routing(
                &request.namespace,
                &request.deployment_name,
                request.expected_routing.as_ref(),
                |deployment| {
                    deployment.set_ramping(
                        version.as_ref(),
                        request.percentage,
                        &request.identity,
                        now,
                    )
                },
            )
            .await?;
        tracing::info!(namespace = %request.namespace, deployment = %request.deployment_name, ramping = ?request.build_id, percentage = request.percentage, "ramping version set");
        Ok(SetWorkerDeploymentRampingVersionResponse {
            previous_routing,
            routing,
        })
    }

    /// Retires a drained or never-active version.
    pub async fn delete_worker_deployment_version(
        &self,
        request: DeleteWorkerDeploymentVersionRequest,
    ) -> Result<(), EngineError> {
        request.version.validate()?;
        self.refresh_drainage(&request.namespace, &request.version.deployment_name)
            .await?;
        let build_id = request.version.build_id.clone();
        self.change_existing_deployment(
            &request.namespace,
            &request.version.deployment_name,
            |deployment| deployment.delete_version(&build_id).map(drop),
        )
        .await
    }

    /// Sets or removes a run's versioning override (Temporal's
    /// `UpdateWorkflowExecutionOptions`), recorded in its history; the run's versioning
    /// after. Its next tasks follow it.
    pub async fn update_workflow_execution_options(
        &self,
        request: UpdateWorkflowExecutionOptionsRequest,
    ) -> Result<RunVersioning, EngineError> {
        self.check_namespace(&request.namespace)?;
        let execution = self
            .resolve_run(&request.namespace, &request.workflow_id, request.run_id)
            .await?;
        let input = Input::UpdateOptions {
            versioning_override: request.versioning_override,
            unset_versioning_override: request.unset_versioning_override,
            identity: request.identity,
        };
        self.apply(&execution, input, None).await?;
        Ok(self.load_machine(&execution).await?.versioning().clone())
    }

    /// Counts the open runs pinned to each draining version of a deployment; a version
    /// with none is drained from now on (Temporal counts periodically; Endure when asked).
    async fn refresh_drainage(&self, namespace: &Namespace, name: &str) -> Result<(), EngineError> {
        let Some(deployment) = self.inner.namespaces.deployment(namespace, name) else {
            return Ok(());
        };
        for version in deployment.draining() {
            let query = VisibilityQuery {
                status: Some(WorkflowExecutionStatus::Running),
                search_attribute: Some((
                    search_attributes::VERSION.to_owned(),
                    SearchAttributeValue::Keyword(version.to_string()),
                )),
                filter: Some(
                    ListFilter::parse(&format!("{} = 'Pinned'", search_attributes::BEHAVIOR))
                        .map_err(|error| EngineError::BadRequest(error.to_string()))?,
                ),
                ..VisibilityQuery::default()
            };
            let open_pinned = self
                .inner
                .storage
                .count_visibility(namespace, &query)
                .await?;
            if open_pinned > 0 {
                // Still draining: nothing to write.
                continue;
            }
            let now = self.inner.clock.now();
            let build_id = version.build_id.clone();
            self.change_deployment(namespace, name, |deployment| {
                deployment.record_drainage(&build_id, open_pinned, now);
                Ok(())
            })
            .await?;
        }
        Ok(())
    }

    /// A routing change of an existing deployment decided on `expected` (if given): refused
    /// if the routing is another when the change is applied — checked inside the same
    /// conditional write, so a concurrent change refuses this one; else `change`'s answer
    /// with the routing before and after.
    async fn change_routing<T>(
        &self,
        namespace: &Namespace,
        name: &str,
        expected: Option<&RoutingConfig>,
        change: impl Fn(&mut WorkerDeployment) -> Result<T, DeploymentError>,
    ) -> Result<(RoutingConfig, (T, RoutingConfig)), EngineError> {
        self.change_existing_deployment(namespace, name, |deployment| {
            deployment.check_routing(expected)?;
            let before = deployment.routing.clone();
            let answer = change(deployment)?;
            Ok((before, (answer, deployment.routing.clone())))
        })
        .await
    }

    /// [`change_deployment`](Self::change_deployment) of a deployment that must exist.
    async fn change_existing_deployment<T>(
        &self,
        namespace: &Namespace,
        name: &str,
        change: impl Fn(&mut WorkerDeployment) -> Result<T, DeploymentError>,
    ) -> Result<T, EngineError> {
        self.check_namespace(namespace)?;
        if self.inner.namespaces.deployment(namespace, name).is_none() {
            return Err(unknown_deployment(name));
        }
        self.change_deployment(namespace, name, change).await
    }

    /// Applies `change` to a namespace's deployment `name` (created if new) and stores the
    /// record, conditioned on the version read; retried when a concurrent change won.
    /// Matching gets the new routing once the record is durable.
    async fn change_deployment<T>(
        &self,
        namespace: &Namespace,
        name: &str,
        change: impl Fn(&mut WorkerDeployment) -> Result<T, DeploymentError>,
    ) -> Result<T, EngineError> {
        let (updated, answer) = self
            .change_namespace(namespace, |current, now| {
                let mut updated = current.clone();
                let answer = change(
                    updated
                        .deployments
                        .entry(name.to_owned())
                        .or_insert_with(|| WorkerDeployment::new(name, now)),
                )?;
                updated.version += 1;
                updated.updated = now.max(current.updated);
                Ok((updated, answer))
            })
            .await?;
        if let Some(deployment) = updated.deployments.get(name) {
            self.inner
                .matching
                .configure_deployment(namespace, name, deployment.routing.clone());
        }
        Ok(answer)
    }
}

fn unknown_deployment(name: &str) -> EngineError {
    EngineError::DeploymentNotFound(name.to_owned())
}

fn version_of(
    deployment: &str,
    build_id: Option<&str>,
) -> Result<Option<WorkerDeploymentVersion>, EngineError> {
    build_id
        .map(|build_id| WorkerDeploymentVersion::new(deployment, build_id))
        .transpose()
        .map_err(EngineError::from)
}
