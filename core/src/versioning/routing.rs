//! Where a task goes: the deployment's routing config, and a run's directive.

use serde::{Deserialize, Serialize};

use super::model::{VersioningOverride, WorkerDeploymentVersion};
use crate::enums::VersioningBehavior;
use crate::hashing::{FNV_BASIS, fnv1a, mix64};
use crate::ids::WorkflowId;
use crate::time::Timestamp;

/// Where a deployment sends new and auto-upgrade runs (Temporal's `RoutingConfig`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RoutingConfig {
    /// The current version; `None` sends them to unversioned workers.
    pub current: Option<WorkerDeploymentVersion>,
    /// The ramping version, if one ramps.
    pub ramping: Option<WorkerDeploymentVersion>,
    /// The share of runs, in percent (0–100), sent to the ramping version.
    pub ramping_percentage: f32,
    /// When the current version last changed.
    pub current_changed_at: Option<Timestamp>,
    /// When the ramping version or its share last changed.
    pub ramping_changed_at: Option<Timestamp>,
}

/// What a run's task asks of routing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskDirective {
    /// Only workers of this version may take it (a pinned run).
    Pinned(WorkerDeploymentVersion),
    /// The deployment's current (or ramping) version takes it: a new run, an auto-upgrade
    /// run, or an unversioned one.
    Route,
}

/// The directive for a run's next task: an override wins; a pinned run with a version
/// stays on it; every other run is routed.
pub fn directive(
    behavior: VersioningBehavior,
    version: Option<&WorkerDeploymentVersion>,
    override_: Option<&VersioningOverride>,
) -> TaskDirective {
    match (override_, behavior, version) {
        (Some(VersioningOverride::Pinned(pinned)), _, _) => TaskDirective::Pinned(pinned.clone()),
        (Some(VersioningOverride::AutoUpgrade), _, _) => TaskDirective::Route,
        (None, VersioningBehavior::Pinned, Some(version)) => TaskDirective::Pinned(version.clone()),
        (None, _, _) => TaskDirective::Route,
    }
}

/// Where `workflow_id` falls in a ramp, in `[0, 100)`: the same for every task of every run
/// of the id, in every process and release (Temporal's `calcRampThreshold`, on FNV-1a
/// mixed by MurmurHash3's finalizer, top 32 bits), so a run never flips between versions
/// while a ramp holds still, and ids that differ in one character spread out.
pub fn ramp_position(workflow_id: &WorkflowId) -> f64 {
    let hash = mix64(fnv1a(workflow_id.as_str().as_bytes(), FNV_BASIS)) >> 32;
    // A u32 scaled to [0, 100): exact in f64.
    #[allow(clippy::cast_precision_loss)]
    let position = 100.0 * (hash as f64) / (f64::from(u32::MAX) + 1.0);
    position
}

/// The version a task with `directive` goes to under `routing`; `None` is unversioned
/// workers. A routed task goes to the ramping version when its workflow id falls below the
/// ramp's share, else to the current version.
pub fn route(
    directive: &TaskDirective,
    routing: &RoutingConfig,
    workflow_id: &WorkflowId,
) -> Option<WorkerDeploymentVersion> {
    match directive {
        TaskDirective::Pinned(version) => Some(version.clone()),
        TaskDirective::Route => match &routing.ramping {
            Some(ramping) if ramp_position(workflow_id) < f64::from(routing.ramping_percentage) => {
                Some(ramping.clone())
            }
            _ => routing.current.clone(),
        },
    }
}
