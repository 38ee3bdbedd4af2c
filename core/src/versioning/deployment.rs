//! A worker deployment's durable state and the operators' commands on it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::model::{VersionDrainageStatus, VersionStatus, WorkerDeploymentVersion};
use super::routing::RoutingConfig;
use crate::ids::TaskQueueName;
use crate::time::Timestamp;

/// A deployment: its routing and every version its workers have polled with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkerDeployment {
    /// The deployment's name.
    pub name: String,
    /// When its first worker polled.
    pub created_at: Timestamp,
    /// Where new and auto-upgrade runs go.
    pub routing: RoutingConfig,
    /// Its versions, by build id.
    pub versions: BTreeMap<String, VersionRecord>,
    /// Who last changed the routing.
    pub last_modifier: Option<String>,
}

/// A version of a deployment, as the engine knows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionRecord {
    /// The version.
    pub version: WorkerDeploymentVersion,
    /// When its first worker polled.
    pub created_at: Timestamp,
    /// The task queues its workers poll.
    pub task_queues: BTreeSet<TaskQueueName>,
    /// When one of its workers last polled.
    pub last_poll_at: Timestamp,
    /// Whether it was ever current or ramping (only such a version drains).
    pub was_active: bool,
    /// Whether pinned runs are still open on it, once it stopped being current or ramping,
    /// and when that was last counted.
    pub drainage: Option<(VersionDrainageStatus, Timestamp)>,
}

/// Why an operator's command on a deployment is refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DeploymentError {
    /// No worker of the version has polled.
    #[error("no worker of version {0} has polled; start one before routing to it")]
    UnknownVersion(WorkerDeploymentVersion),
    /// The version belongs to another deployment.
    #[error("version {version} is not of deployment {deployment}")]
    OtherDeployment {
        /// The deployment commanded.
        deployment: String,
        /// The version named.
        version: WorkerDeploymentVersion,
    },
    /// The ramp's share is outside 0–100.
    #[error("a ramping percentage must be between 0 and 100; {0} is not")]
    Percentage(f32),
    /// The version to ramp is already current.
    #[error("version {0} is current; ramp another version (or none)")]
    RampingCurrent(WorkerDeploymentVersion),
    /// The routing is not the one a change was decided on (Temporal's conflict token).
    #[error("the deployment's routing changed since it was read; describe it again")]
    RoutingChanged,
    /// The version to retire is still in use.
    #[error("version {version} is {status:?}; only a drained or inactive version can be deleted")]
    InUse {
        /// The version.
        version: WorkerDeploymentVersion,
        /// Where it stands.
        status: VersionStatus,
    },
}

impl WorkerDeployment {
    /// A deployment first seen at `now`.
    pub fn new(name: impl Into<String>, now: Timestamp) -> Self {
        Self {
            name: name.into(),
            created_at: now,
            routing: RoutingConfig::default(),
            versions: BTreeMap::new(),
            last_modifier: None,
        }
    }

    /// Records that a worker of `version` polled `task_queue` at `now`; returns whether
    /// that was news (a new version or queue), which the engine then makes durable.
    pub fn record_poll(
        &mut self,
        version: &WorkerDeploymentVersion,
        task_queue: &TaskQueueName,
        now: Timestamp,
    ) -> bool {
        debug_assert_eq!(version.deployment_name, self.name);
        let mut new_version = false;
        let record = self
            .versions
            .entry(version.build_id.clone())
            .or_insert_with(|| {
                new_version = true;
                VersionRecord {
                    version: version.clone(),
                    created_at: now,
                    task_queues: BTreeSet::new(),
                    last_poll_at: now,
                    was_active: false,
                    drainage: None,
                }
            });
        record.last_poll_at = record.last_poll_at.max(now);
        record.task_queues.insert(task_queue.clone()) || new_version
    }

    /// Refuses a change decided on a routing that is no longer this deployment's
    /// (`expected`, Temporal's conflict token; `None`: no check).
    pub fn check_routing(&self, expected: Option<&RoutingConfig>) -> Result<(), DeploymentError> {
        match expected {
            Some(expected) if *expected != self.routing => Err(DeploymentError::RoutingChanged),
            _ => Ok(()),
        }
    }

    /// Makes `version` current (`None`: unversioned workers); a ramp of the same version
    /// ends. Returns the version that was current.
    pub fn set_current(
        &mut self,
        version: Option<&WorkerDeploymentVersion>,
        identity: &str,
        now: Timestamp,
    ) -> Result<Option<WorkerDeploymentVersion>, DeploymentError> {
        if let Some(version) = version {
            self.known(version)?;
        }
        let previous = self.routing.current.clone();
        if previous.as_ref() == version {
            return Ok(previous);
        }
        self.routing.current = version.cloned();
        self.routing.current_changed_at = Some(now);
        if self.routing.ramping.as_ref() == version && version.is_some() {
            self.routing.ramping = None;
            self.routing.ramping_percentage = 0.0;
            self.routing.ramping_changed_at = Some(now);
        }
        self.activated(version);
        self.deactivated(previous.as_ref(), now);
        self.last_modifier = Some(identity.to_owned());
        Ok(previous)
    }

    /// Ramps `percentage` % of new and auto-upgrade runs to `version` (`None` ends the
    /// ramp).
    pub fn set_ramping(
        &mut self,
        version: Option<&WorkerDeploymentVersion>,
        percentage: f32,
        identity: &str,
        now: Timestamp,
    ) -> Result<(), DeploymentError> {
        if !(0.0..=100.0).contains(&percentage) {
            return Err(DeploymentError::Percentage(percentage));
        }
        if let Some(version) = version {
            self.known(version)?;
            if self.routing.current.as_ref() == Some(version) {
                return Err(DeploymentError::RampingCurrent(version.clone()));
            }
        }
        let previous = self.routing.ramping.clone();
        self.routing.ramping = version.cloned();
        self.routing.ramping_percentage = if version.is_some() { percentage } else { 0.0 };
        self.routing.ramping_changed_at = Some(now);
        self.activated(version);
        if previous.as_ref() != version {
            self.deactivated(previous.as_ref(), now);
        }
        self.last_modifier = Some(identity.to_owned());
        Ok(())
    }

    /// Where `build_id` stands.
    pub fn status(&self, build_id: &str) -> VersionStatus {
        let is = |version: &Option<WorkerDeploymentVersion>| {
            version.as_ref().is_some_and(|v| v.build_id == build_id)
        };
        if is(&self.routing.current) {
            return VersionStatus::Current;
        }
        if is(&self.routing.ramping) {
            return VersionStatus::Ramping;
        }
        match self
            .versions
            .get(build_id)
            .and_then(|record| record.drainage)
        {
            Some((VersionDrainageStatus::Draining, _)) => VersionStatus::Draining,
            Some((VersionDrainageStatus::Drained, _)) => VersionStatus::Drained,
            None => VersionStatus::Inactive,
        }
    }

    /// The versions whose drainage the engine should count (neither current nor ramping,
    /// once active, not yet drained).
    pub fn draining(&self) -> Vec<WorkerDeploymentVersion> {
        self.versions
            .values()
            .filter(|record| self.status(&record.version.build_id) == VersionStatus::Draining)
            .map(|record| record.version.clone())
            .collect()
    }

    /// Records that `open_pinned` runs are pinned to `build_id` and open, counted at `now`.
    pub fn record_drainage(&mut self, build_id: &str, open_pinned: u64, now: Timestamp) {
        if matches!(
            self.status(build_id),
            VersionStatus::Current | VersionStatus::Ramping
        ) {
            return;
        }
        if let Some(record) = self.versions.get_mut(build_id)
            && record.was_active
        {
            let status = if open_pinned == 0 {
                VersionDrainageStatus::Drained
            } else {
                VersionDrainageStatus::Draining
            };
            record.drainage = Some((status, now));
        }
    }

    /// Forgets `build_id` (retires it): only a drained or never-active version.
    pub fn delete_version(&mut self, build_id: &str) -> Result<VersionRecord, DeploymentError> {
        let status = self.status(build_id);
        if !matches!(status, VersionStatus::Drained | VersionStatus::Inactive) {
            return Err(DeploymentError::InUse {
                version: WorkerDeploymentVersion {
                    deployment_name: self.name.clone(),
                    build_id: build_id.to_owned(),
                },
                status,
            });
        }
        self.versions.remove(build_id).ok_or_else(|| {
            DeploymentError::UnknownVersion(WorkerDeploymentVersion {
                deployment_name: self.name.clone(),
                build_id: build_id.to_owned(),
            })
        })
    }

    fn known(&self, version: &WorkerDeploymentVersion) -> Result<(), DeploymentError> {
        if version.deployment_name != self.name {
            return Err(DeploymentError::OtherDeployment {
                deployment: self.name.clone(),
                version: version.clone(),
            });
        }
        if self.versions.contains_key(&version.build_id) {
            Ok(())
        } else {
            Err(DeploymentError::UnknownVersion(version.clone()))
        }
    }

    /// A version became current or ramping: it no longer drains.
    fn activated(&mut self, version: Option<&WorkerDeploymentVersion>) {
        if let Some(record) = version.and_then(|v| self.versions.get_mut(&v.build_id)) {
            record.was_active = true;
            record.drainage = None;
        }
    }

    /// A version left current or ramping: it drains until counted otherwise.
    fn deactivated(&mut self, version: Option<&WorkerDeploymentVersion>, now: Timestamp) {
        let Some(version) = version else { return };
        let still = self.routing.current.as_ref() == Some(version)
            || self.routing.ramping.as_ref() == Some(version);
        if let Some(record) = self.versions.get_mut(&version.build_id)
            && !still
        {
            record.drainage = Some((VersionDrainageStatus::Draining, now));
        }
    }
}

/// What describe shows of a deployment (Temporal's `WorkerDeploymentInfo`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkerDeploymentDescription {
    /// The deployment's name.
    pub name: String,
    /// When its first worker polled.
    pub created_at: Timestamp,
    /// Where new and auto-upgrade runs go.
    pub routing: RoutingConfig,
    /// Who last changed the routing.
    pub last_modifier: Option<String>,
    /// Each version, by build id.
    pub versions: Vec<VersionSummary>,
}

/// One version as describe shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionSummary {
    /// The version.
    pub version: WorkerDeploymentVersion,
    /// Current, ramping, draining, drained or inactive.
    pub status: VersionStatus,
    /// When its first worker polled.
    pub created_at: Timestamp,
    /// When one of its workers last polled.
    pub last_poll_at: Timestamp,
    /// The task queues its workers poll.
    pub task_queues: Vec<TaskQueueName>,
    /// When its open pinned runs were last counted, if it drains.
    pub drainage_checked_at: Option<Timestamp>,
}

impl WorkerDeployment {
    /// The deployment as describe shows it.
    pub fn describe(&self) -> WorkerDeploymentDescription {
        WorkerDeploymentDescription {
            name: self.name.clone(),
            created_at: self.created_at,
            routing: self.routing.clone(),
            last_modifier: self.last_modifier.clone(),
            versions: self
                .versions
                .values()
                .map(|record| VersionSummary {
                    version: record.version.clone(),
                    status: self.status(&record.version.build_id),
                    created_at: record.created_at,
                    last_poll_at: record.last_poll_at,
                    task_queues: record.task_queues.iter().cloned().collect(),
                    drainage_checked_at: record.drainage.map(|(_, at)| at),
                })
                .collect(),
        }
    }
}
