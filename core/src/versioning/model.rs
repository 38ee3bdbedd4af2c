//! The vocabulary of worker versioning: versions, behaviors, overrides, statuses.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::VERSION_PART_BYTES_MAX;
use crate::validation::{ValidationError, check_text};

/// One version of a worker deployment: the deployment's name and a build id (Temporal's
/// `WorkerDeploymentVersion`). Shown as `deployment.build_id`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct WorkerDeploymentVersion {
    /// The deployment: the set of workers that roll out together (no `.` in it).
    pub deployment_name: String,
    /// The build: the code those workers run.
    pub build_id: String,
}

impl WorkerDeploymentVersion {
    /// A version, checked: both parts non-empty, printable, at most
    /// [`VERSION_PART_BYTES_MAX`] bytes, and no `.` in the deployment name (it separates
    /// the two in the version's text).
    pub fn new(
        deployment_name: impl Into<String>,
        build_id: impl Into<String>,
    ) -> Result<Self, ValidationError> {
        let version = Self {
            deployment_name: deployment_name.into(),
            build_id: build_id.into(),
        };
        version.validate()?;
        Ok(version)
    }

    /// Parses `deployment.build_id` (the first `.` separates them).
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        match text.split_once('.') {
            Some((deployment, build)) => Self::new(deployment, build),
            None => Err(ValidationError::Version {
                field: "worker_deployment_version",
                reason: format!("{text:?} is not deployment.build_id"),
            }),
        }
    }

    /// Checks the parts (a decoded version is checked again before use).
    pub fn validate(&self) -> Result<(), ValidationError> {
        for (field, text) in [
            ("deployment_name", &self.deployment_name),
            ("build_id", &self.build_id),
        ] {
            if text.is_empty() {
                return Err(ValidationError::Empty { field });
            }
            check_text(field, text, VERSION_PART_BYTES_MAX)?;
        }
        if self.deployment_name.contains('.') {
            return Err(ValidationError::Version {
                field: "deployment_name",
                reason: format!(
                    "{:?} holds a '.', which separates a version's deployment from its build id",
                    self.deployment_name
                ),
            });
        }
        Ok(())
    }
}

impl fmt::Display for WorkerDeploymentVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.deployment_name, self.build_id)
    }
}

/// An operator's override of a run's behavior (Temporal's `VersioningOverride`), set with
/// `update-options`: it wins over what the worker declares.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VersioningOverride {
    /// Pin the run to this version.
    Pinned(WorkerDeploymentVersion),
    /// Let the run follow the current version.
    AutoUpgrade,
}

/// Where a version stands in its deployment (Temporal's `WorkerDeploymentVersionStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum VersionStatus {
    /// Never current or ramping yet.
    Inactive,
    /// The deployment's current version: new and auto-upgrade runs go to it.
    Current,
    /// The ramping version: a share of new and auto-upgrade runs go to it.
    Ramping,
    /// Was current or ramping; pinned runs are still open on it.
    Draining,
    /// Was current or ramping; no pinned run is open on it: it can be retired.
    Drained,
}

/// Whether a version that is neither current nor ramping still has pinned runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VersionDrainageStatus {
    /// Pinned runs are open on it.
    Draining,
    /// None is.
    Drained,
}
