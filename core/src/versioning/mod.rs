//! Worker versioning (spec §5.13.1), as Temporal's worker deployments model it: workers
//! declare a deployment and a build id; a workflow type is *pinned* (a run stays on the
//! version it started on) or *auto-upgrade* (it moves to the deployment's current version
//! at its next workflow task); each deployment has a current version and may ramp a share
//! of new and auto-upgrade runs to another; a version no longer current or ramping drains
//! as its pinned runs close, and once drained can be deleted.
//!
//! Pure: the deployment's state and its operations ([`WorkerDeployment`]), and where a
//! task goes ([`route`]). The engine keeps deployments durable, feeds them polls and the
//! open pinned runs it counts, and asks [`route`] where each task goes.

mod deployment;
mod model;
mod routing;

pub use crate::enums::VersioningBehavior;
pub use deployment::{
    DeploymentError, VersionRecord, VersionSummary, WorkerDeployment, WorkerDeploymentDescription,
};
pub use model::{
    RunVersioning, VersionDrainageStatus, VersionStatus, VersioningOverride,
    WorkerDeploymentVersion,
};
pub use routing::{RoutingConfig, TaskDirective, directive, ramp_position, route};

/// The search attributes the engine sets on a versioned run's listing (Temporal's system
/// search attributes).
pub mod search_attributes {
    /// The deployment of the worker that last completed a workflow task of the run.
    pub const DEPLOYMENT: &str = "TemporalWorkerDeployment";
    /// Its version, `deployment.build_id`.
    pub const VERSION: &str = "TemporalWorkerDeploymentVersion";
    /// The run's behavior: `Pinned` or `AutoUpgrade`.
    pub const BEHAVIOR: &str = "TemporalWorkflowVersioningBehavior";
}

/// The longest deployment name or build id, in bytes (Temporal's).
pub const VERSION_PART_BYTES_MAX: usize = 255;

#[cfg(test)]
mod tests;
