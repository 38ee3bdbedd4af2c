//! Worker deployments and versioning, Endure's and Temporal's: versions, a worker's
//! deployment options, routing configs, deployment descriptions, version summaries and a
//! run's versioning (its override both ways).

use endure_core::VersioningBehavior;
use endure_core::versioning::{
    RoutingConfig, RunVersioning, VersionSummary, VersioningOverride, WorkerDeploymentDescription,
    WorkerDeploymentVersion,
};

use super::BadField;
use super::common::{time, time_opt};
use super::enums::{enum_in, enum_out};
use crate::proto::{deployment as pb, enums as pbe, workflow as pbw};

/// A version as Temporal's.
pub(crate) fn version(version: WorkerDeploymentVersion) -> pb::WorkerDeploymentVersion {
    pb::WorkerDeploymentVersion {
        build_id: version.build_id,
        deployment_name: version.deployment_name,
    }
}

/// Temporal's version as Endure's (checked).
pub(crate) fn version_in(
    field: &'static str,
    version: pb::WorkerDeploymentVersion,
) -> Result<WorkerDeploymentVersion, BadField> {
    WorkerDeploymentVersion::new(version.deployment_name, version.build_id)
        .map_err(|error| BadField::new(field, error.to_string()))
}

/// The version a worker declares it is, if it asks for versioning (`VERSIONED` mode); an
/// unversioned worker, or one that sends no options, has none.
pub(crate) fn worker_version(
    field: &'static str,
    options: Option<pb::WorkerDeploymentOptions>,
) -> Result<Option<WorkerDeploymentVersion>, BadField> {
    let Some(options) = options else {
        return Ok(None);
    };
    if options.worker_versioning_mode != i32::from(pbe::WorkerVersioningMode::Versioned) {
        return Ok(None);
    }
    WorkerDeploymentVersion::new(options.deployment_name, options.build_id)
        .map(Some)
        .map_err(|error| BadField::new(field, error.to_string()))
}

/// A workflow type's behavior as a worker declares it.
pub(crate) fn behavior_in(
    field: &'static str,
    number: i32,
) -> Result<VersioningBehavior, BadField> {
    Ok(enum_in!(
        field,
        pbe::VersioningBehavior,
        "VERSIONING_BEHAVIOR_",
        number
    )?
    .unwrap_or_default())
}

/// A behavior as Temporal's (zero for unspecified).
pub(crate) fn behavior(behavior: VersioningBehavior) -> i32 {
    if behavior == VersioningBehavior::Unspecified {
        0
    } else {
        enum_out!(behavior, pbe::VersioningBehavior, "VERSIONING_BEHAVIOR_")
    }
}

/// A routing config as Temporal's.
pub(crate) fn routing(routing: RoutingConfig) -> pb::RoutingConfig {
    #[allow(
        deprecated,
        reason = "older SDKs and CLIs read the versions as strings"
    )]
    pb::RoutingConfig {
        current_version: routing
            .current
            .as_ref()
            .map_or_else(|| "__unversioned__".to_owned(), ToString::to_string),
        ramping_version: routing
            .ramping
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        current_deployment_version: routing.current.map(version),
        ramping_deployment_version: routing.ramping.map(version),
        ramping_version_percentage: routing.ramping_percentage,
        current_version_changed_time: time_opt(routing.current_changed_at),
        ramping_version_changed_time: time_opt(routing.ramping_changed_at),
        ramping_version_percentage_changed_time: time_opt(routing.ramping_changed_at),
        ..Default::default()
    }
}

/// One version of a deployment as Temporal's summary.
pub(crate) fn summary(
    summary: VersionSummary,
) -> pb::worker_deployment_info::WorkerDeploymentVersionSummary {
    use endure_core::versioning::VersionStatus;
    let drainage = match summary.status {
        VersionStatus::Draining => pbe::VersionDrainageStatus::Draining,
        VersionStatus::Drained => pbe::VersionDrainageStatus::Drained,
        _ => pbe::VersionDrainageStatus::Unspecified,
    };
    #[allow(
        deprecated,
        reason = "older SDKs and CLIs read the version as a string"
    )]
    pb::worker_deployment_info::WorkerDeploymentVersionSummary {
        version: summary.version.to_string(),
        status: enum_out!(
            summary.status,
            pbe::WorkerDeploymentVersionStatus,
            "WORKER_DEPLOYMENT_VERSION_STATUS_"
        ),
        deployment_version: Some(version(summary.version)),
        create_time: Some(time(summary.created_at)),
        drainage_status: drainage.into(),
        drainage_info: summary
            .drainage_checked_at
            .map(|at| pb::VersionDrainageInfo {
                status: drainage.into(),
                last_changed_time: Some(time(at)),
                last_checked_time: Some(time(at)),
            }),
        ..Default::default()
    }
}

/// A deployment as Temporal's `WorkerDeploymentInfo`.
pub(crate) fn info(description: WorkerDeploymentDescription) -> pb::WorkerDeploymentInfo {
    pb::WorkerDeploymentInfo {
        name: description.name,
        version_summaries: description.versions.into_iter().map(summary).collect(),
        create_time: Some(time(description.created_at)),
        routing_config: Some(routing(description.routing)),
        last_modifier_identity: description.last_modifier.unwrap_or_default(),
        ..Default::default()
    }
}

/// Temporal's versioning override as Endure's: pinned to a version, or auto-upgrade.
/// Endure has no one-time override.
pub(crate) fn override_in(
    field: &'static str,
    value: pbw::VersioningOverride,
) -> Result<VersioningOverride, BadField> {
    use pbw::versioning_override::Override;
    match value.r#override {
        Some(Override::Pinned(pinned)) => {
            let target = pinned
                .version
                .ok_or_else(|| BadField::new(field, "a pinned override names its version"))?;
            Ok(VersioningOverride::Pinned(version_in(field, target)?))
        }
        Some(Override::AutoUpgrade(true)) => Ok(VersioningOverride::AutoUpgrade),
        Some(Override::OneTime(_)) => Err(BadField::new(
            field,
            "one-time overrides are not supported; pin the run or let it auto-upgrade",
        )),
        Some(Override::AutoUpgrade(false)) | None => Err(BadField::new(
            field,
            "an override is pinned (with its version) or auto_upgrade",
        )),
    }
}

/// Endure's versioning override as Temporal's.
pub(crate) fn override_out(value: VersioningOverride) -> pbw::VersioningOverride {
    use pbw::versioning_override::{Override, PinnedOverride, PinnedOverrideBehavior};
    pbw::VersioningOverride {
        r#override: Some(match value {
            VersioningOverride::Pinned(pinned) => Override::Pinned(PinnedOverride {
                behavior: PinnedOverrideBehavior::Pinned.into(),
                version: Some(version(pinned)),
            }),
            VersioningOverride::AutoUpgrade => Override::AutoUpgrade(true),
        }),
        ..Default::default()
    }
}

/// A run's versioning as describe shows it (none for an unversioned run).
pub(crate) fn versioning_info(
    versioning: RunVersioning,
) -> Option<pbw::WorkflowExecutionVersioningInfo> {
    if versioning == RunVersioning::default() {
        return None;
    }
    #[allow(
        deprecated,
        reason = "older SDKs and CLIs read the version as a string"
    )]
    Some(pbw::WorkflowExecutionVersioningInfo {
        behavior: behavior(versioning.behavior),
        version: versioning
            .version
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        deployment_version: versioning.version.map(version),
        versioning_override: versioning.override_.map(override_out),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_and_versions_survive_the_round_trip() {
        let v1 = WorkerDeploymentVersion::new("orders", "1.0").unwrap();
        for value in [
            VersioningOverride::Pinned(v1.clone()),
            VersioningOverride::AutoUpgrade,
        ] {
            assert_eq!(
                override_in("o", override_out(value.clone())).unwrap(),
                value
            );
        }
        assert_eq!(version_in("v", version(v1.clone())).unwrap(), v1);
        let bad = version_in(
            "v",
            pb::WorkerDeploymentVersion {
                build_id: String::new(),
                deployment_name: "orders".into(),
            },
        );
        assert!(bad.unwrap_err().to_string().starts_with("v: "));
    }

    #[test]
    fn only_a_versioned_worker_has_a_version() {
        let options = |mode: pbe::WorkerVersioningMode| pb::WorkerDeploymentOptions {
            deployment_name: "orders".into(),
            build_id: "2.0".into(),
            worker_versioning_mode: mode.into(),
        };
        assert_eq!(
            worker_version("d", Some(options(pbe::WorkerVersioningMode::Versioned))).unwrap(),
            Some(WorkerDeploymentVersion::new("orders", "2.0").unwrap())
        );
        assert_eq!(
            worker_version("d", Some(options(pbe::WorkerVersioningMode::Unversioned))).unwrap(),
            None
        );
        assert_eq!(worker_version("d", None).unwrap(), None);
        assert_eq!(
            behavior_in("b", behavior(VersioningBehavior::Pinned)).unwrap(),
            VersioningBehavior::Pinned
        );
        assert_eq!(
            behavior_in("b", 0).unwrap(),
            VersioningBehavior::Unspecified
        );
    }
}
