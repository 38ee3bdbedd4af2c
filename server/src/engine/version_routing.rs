//! Which workers may take a task when its queue belongs to a worker deployment (spec
//! §5.13.1): matching's view of the deployments. Queues join a deployment when a worker of
//! one of its versions polls them; each deployment's routing config comes from its
//! namespace record. A task's target is the version its directive and the routing pick
//! ([`endure_core::versioning::route`]); `None` is unversioned workers, which is where
//! every task of a queue outside deployments goes.

use std::collections::BTreeMap;

use endure_core::storage::DispatchRow;
use endure_core::versioning::{RoutingConfig, TaskDirective, WorkerDeploymentVersion, route};
use endure_core::{Namespace, TaskQueueName, WorkflowId};

/// The deployments matching knows: queue to deployment, deployment to routing.
#[derive(Debug, Default)]
pub(crate) struct VersionRouting {
    queues: BTreeMap<(Namespace, TaskQueueName), String>,
    configs: BTreeMap<(Namespace, String), RoutingConfig>,
}

impl VersionRouting {
    /// Whether no queue belongs to a deployment (every task goes to unversioned workers).
    pub(crate) fn is_empty(&self) -> bool {
        self.queues.is_empty()
    }

    /// Whether `task_queue` belongs to a deployment.
    pub(crate) fn is_assigned(&self, namespace: &Namespace, task_queue: &TaskQueueName) -> bool {
        !self.queues.is_empty()
            && self
                .queues
                .contains_key(&(namespace.clone(), task_queue.clone()))
    }

    /// Records that `task_queue` belongs to `deployment`; whether that is news.
    pub(crate) fn assign(
        &mut self,
        namespace: &Namespace,
        task_queue: &TaskQueueName,
        deployment: &str,
    ) -> bool {
        let key = (namespace.clone(), task_queue.clone());
        if self
            .queues
            .get(&key)
            .is_some_and(|known| known == deployment)
        {
            return false;
        }
        self.queues.insert(key, deployment.to_owned());
        true
    }

    /// Sets `deployment`'s routing.
    pub(crate) fn configure(
        &mut self,
        namespace: &Namespace,
        deployment: &str,
        config: RoutingConfig,
    ) {
        self.configs
            .insert((namespace.clone(), deployment.to_owned()), config);
    }

    /// The queues of `deployment`.
    pub(crate) fn queues_of(&self, namespace: &Namespace, deployment: &str) -> Vec<TaskQueueName> {
        self.queues
            .iter()
            .filter(|((queue_namespace, _), name)| {
                queue_namespace == namespace && *name == deployment
            })
            .map(|((_, queue), _)| queue.clone())
            .collect()
    }

    /// The version a task of `workflow_id` with `directive` on `task_queue` goes to.
    pub(crate) fn target(
        &self,
        namespace: &Namespace,
        task_queue: &TaskQueueName,
        directive: Option<&TaskDirective>,
        workflow_id: &WorkflowId,
    ) -> Option<WorkerDeploymentVersion> {
        if self.queues.is_empty() {
            return None;
        }
        let deployment = self.queues.get(&(namespace.clone(), task_queue.clone()))?;
        let config = self
            .configs
            .get(&(namespace.clone(), deployment.clone()))
            .cloned()
            .unwrap_or_default();
        route(
            directive.unwrap_or(&TaskDirective::Route),
            &config,
            workflow_id,
        )
    }

    /// The version a backlog row goes to.
    pub(crate) fn target_of(&self, row: &DispatchRow) -> Option<WorkerDeploymentVersion> {
        self.target(
            &row.namespace,
            &row.task_queue,
            row.directive.as_ref(),
            &row.execution.workflow_id,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(build: &str) -> WorkerDeploymentVersion {
        WorkerDeploymentVersion::new("orders", build).unwrap()
    }

    #[test]
    fn tasks_of_a_deployments_queue_follow_its_routing_and_others_go_unversioned() {
        let mut routing = VersionRouting::default();
        let (namespace, queue) = (Namespace::default(), TaskQueueName::new("orders").unwrap());
        let other = TaskQueueName::new("other").unwrap();
        let id = WorkflowId::new("order-1").unwrap();
        let pinned = TaskDirective::Pinned(version("1"));
        assert_eq!(routing.target(&namespace, &queue, Some(&pinned), &id), None);
        assert!(routing.assign(&namespace, &queue, "orders"));
        assert!(!routing.assign(&namespace, &queue, "orders"));
        // No current version yet: routed tasks go to unversioned workers.
        assert_eq!(routing.target(&namespace, &queue, None, &id), None);
        assert_eq!(
            routing.target(&namespace, &queue, Some(&pinned), &id),
            Some(version("1"))
        );
        routing.configure(
            &namespace,
            "orders",
            RoutingConfig {
                current: Some(version("2")),
                ..RoutingConfig::default()
            },
        );
        assert_eq!(
            routing.target(&namespace, &queue, None, &id),
            Some(version("2"))
        );
        assert_eq!(
            routing.target(&namespace, &queue, Some(&pinned), &id),
            Some(version("1"))
        );
        // A queue no versioned worker polls stays unversioned, pinned or not.
        assert_eq!(routing.target(&namespace, &other, Some(&pinned), &id), None);
        assert_eq!(routing.queues_of(&namespace, "orders"), [queue]);
    }
}
