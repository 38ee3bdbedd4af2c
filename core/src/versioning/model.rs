//! The vocabulary of worker versioning: versions, behaviors, overrides, statuses.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::VERSION_PART_BYTES_MAX;
use crate::validation::{ValidationError, check_text};

/// One version of a worker deployment: the deployment's name and a build id (Temporal's
/// `WorkerDeploymentVersion`). Shown as `deployment.build_id`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct WorkerDeploymentVersion {
    /// The deployment: the set of workers that roll out together (no `.` in it).
    #[cfg_attr(
        any(test, feature = "testing"),
        proptest(strategy = "\"[a-z-]{1,12}\"")
    )]
    pub deployment_name: String,
    /// The build: the code those workers run.
    #[cfg_attr(
        any(test, feature = "testing"),
        proptest(strategy = "\"[a-z0-9.]{1,12}\"")
    )]
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
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
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

/// A run's versioning: what its last completed workflow task's worker declared, and an
/// operator's override.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunVersioning {
    /// How the run follows versions.
    pub behavior: crate::enums::VersioningBehavior,
    /// The version of the worker that completed its last workflow task.
    pub version: Option<WorkerDeploymentVersion>,
    /// The operator's override, which wins.
    pub override_: Option<VersioningOverride>,
}

impl RunVersioning {
    /// The behavior in effect: the override's, else the worker's.
    pub fn effective_behavior(&self) -> crate::enums::VersioningBehavior {
        match &self.override_ {
            Some(VersioningOverride::Pinned(_)) => crate::enums::VersioningBehavior::Pinned,
            Some(VersioningOverride::AutoUpgrade) => crate::enums::VersioningBehavior::AutoUpgrade,
            None => self.behavior,
        }
    }

    /// The directive for the run's next task.
    pub fn directive(&self) -> super::TaskDirective {
        super::directive(
            self.behavior,
            self.version.as_ref(),
            self.override_.as_ref(),
        )
    }

    /// The version the run is pinned to, if it is.
    pub fn pinned_version(&self) -> Option<&WorkerDeploymentVersion> {
        match (&self.override_, self.behavior, &self.version) {
            (Some(VersioningOverride::Pinned(version)), _, _) => Some(version),
            (None, crate::enums::VersioningBehavior::Pinned, Some(version)) => Some(version),
            _ => None,
        }
    }
}
