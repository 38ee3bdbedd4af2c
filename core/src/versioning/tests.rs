//! The versioning model: versions, directives, the ramp, a deployment's lifecycle.

use super::*;
use crate::ids::{TaskQueueName, WorkflowId};
use crate::time::Timestamp;

const T0: Timestamp = Timestamp::from_unix_seconds(1_795_860_000);

fn version(build: &str) -> WorkerDeploymentVersion {
    WorkerDeploymentVersion::new("orders", build).unwrap()
}

fn queue() -> TaskQueueName {
    TaskQueueName::new("orders").unwrap()
}

fn deployment_with(builds: &[&str]) -> WorkerDeployment {
    let mut deployment = WorkerDeployment::new("orders", T0);
    for build in builds {
        assert!(deployment.record_poll(&version(build), &queue(), T0));
    }
    deployment
}

#[test]
fn versions_parse_print_and_refuse_what_temporal_refuses() {
    let v = WorkerDeploymentVersion::parse("orders.2026-12-01.1").unwrap();
    assert_eq!(
        (v.deployment_name.as_str(), v.build_id.as_str()),
        ("orders", "2026-12-01.1")
    );
    assert_eq!(v.to_string(), "orders.2026-12-01.1");
    assert!(WorkerDeploymentVersion::parse("no-build").is_err());
    assert!(WorkerDeploymentVersion::new("", "b").is_err());
    assert!(WorkerDeploymentVersion::new("a.b", "c").is_err());
    assert!(WorkerDeploymentVersion::new("a", "b\n").is_err());
    assert!(WorkerDeploymentVersion::new("a", "b".repeat(VERSION_PART_BYTES_MAX + 1)).is_err());
}

#[test]
fn an_override_wins_a_pinned_run_stays_and_every_other_run_is_routed() {
    let (v1, v2) = (version("1"), version("2"));
    use VersioningBehavior::*;
    assert_eq!(
        directive(Pinned, Some(&v1), None),
        TaskDirective::Pinned(v1.clone())
    );
    // A pinned type's first task has no version yet: it goes where routing says.
    assert_eq!(directive(Pinned, None, None), TaskDirective::Route);
    assert_eq!(
        directive(AutoUpgrade, Some(&v1), None),
        TaskDirective::Route
    );
    assert_eq!(directive(Unspecified, None, None), TaskDirective::Route);
    let pin_v2 = VersioningOverride::Pinned(v2.clone());
    assert_eq!(
        directive(AutoUpgrade, Some(&v1), Some(&pin_v2)),
        TaskDirective::Pinned(v2)
    );
    assert_eq!(
        directive(Pinned, Some(&v1), Some(&VersioningOverride::AutoUpgrade)),
        TaskDirective::Route
    );
}

#[test]
fn a_ramp_sends_its_share_of_ids_and_an_id_always_the_same_way() {
    let routing = RoutingConfig {
        current: Some(version("1")),
        ramping: Some(version("2")),
        ramping_percentage: 30.0,
        ..RoutingConfig::default()
    };
    let ids: Vec<WorkflowId> = (0..10_000)
        .map(|n| WorkflowId::new(format!("order-{n}")).unwrap())
        .collect();
    let ramped = ids
        .iter()
        .filter(|id| route(&TaskDirective::Route, &routing, id) == Some(version("2")))
        .count();
    assert!(
        (2_800..=3_200).contains(&ramped),
        "{ramped} of 10,000 ramped"
    );
    for id in &ids[..100] {
        assert_eq!(
            route(&TaskDirective::Route, &routing, id),
            route(&TaskDirective::Route, &routing, id)
        );
    }
    // The hash is part of the format: these positions hold in every release, and ids one
    // character apart land far apart.
    let position = |id: &str| format!("{:.4}", ramp_position(&WorkflowId::new(id).unwrap()));
    assert_eq!(
        [
            position("order-1"),
            position("order-2"),
            position("order-3")
        ],
        ["28.5572", "66.7146", "34.5729"]
    );
    // Growing a ramp only adds ids: an id ramped at 30 % stays ramped at 60 %.
    let wider = RoutingConfig {
        ramping_percentage: 60.0,
        ..routing.clone()
    };
    for id in &ids {
        if route(&TaskDirective::Route, &routing, id) == Some(version("2")) {
            assert_eq!(route(&TaskDirective::Route, &wider, id), Some(version("2")));
        }
    }
    // Pinned tasks ignore routing; no current version means unversioned workers.
    assert_eq!(
        route(&TaskDirective::Pinned(version("9")), &routing, &ids[0]),
        Some(version("9"))
    );
    assert_eq!(
        route(&TaskDirective::Route, &RoutingConfig::default(), &ids[0]),
        None
    );
}

#[test]
fn a_version_routes_only_once_a_worker_polled_with_it() {
    let mut deployment = deployment_with(&["1"]);
    assert!(
        !deployment.record_poll(&version("1"), &queue(), T0),
        "nothing new"
    );
    assert!(deployment.record_poll(&version("1"), &TaskQueueName::new("other").unwrap(), T0));
    assert_eq!(
        deployment.set_current(Some(&version("2")), "op", T0),
        Err(DeploymentError::UnknownVersion(version("2")))
    );
    let elsewhere = WorkerDeploymentVersion::new("payments", "1").unwrap();
    assert!(matches!(
        deployment.set_current(Some(&elsewhere), "op", T0),
        Err(DeploymentError::OtherDeployment { .. })
    ));
    assert_eq!(
        deployment.set_current(Some(&version("1")), "op", T0),
        Ok(None)
    );
    assert_eq!(deployment.status("1"), VersionStatus::Current);
    assert_eq!(deployment.last_modifier.as_deref(), Some("op"));
}

#[test]
fn rolling_from_v1_to_v2_ramps_then_drains_v1_until_its_pinned_runs_close() {
    let mut deployment = deployment_with(&["1", "2"]);
    let later = |seconds: u64| T0.saturating_add(std::time::Duration::from_secs(seconds));
    deployment
        .set_current(Some(&version("1")), "op", later(1))
        .unwrap();
    assert_eq!(deployment.status("2"), VersionStatus::Inactive);
    assert_eq!(
        deployment.set_ramping(Some(&version("2")), 130.0, "op", later(2)),
        Err(DeploymentError::Percentage(130.0))
    );
    assert_eq!(
        deployment.set_ramping(Some(&version("1")), 30.0, "op", later(2)),
        Err(DeploymentError::RampingCurrent(version("1")))
    );
    deployment
        .set_ramping(Some(&version("2")), 30.0, "op", later(2))
        .unwrap();
    assert_eq!(deployment.status("2"), VersionStatus::Ramping);
    // Promoting the ramping version ends the ramp; v1 starts draining.
    assert_eq!(
        deployment.set_current(Some(&version("2")), "op", later(3)),
        Ok(Some(version("1")))
    );
    assert_eq!(deployment.routing.ramping, None);
    assert_eq!(deployment.routing.ramping_percentage, 0.0);
    assert_eq!(deployment.status("1"), VersionStatus::Draining);
    assert_eq!(deployment.draining(), [version("1")]);
    assert!(matches!(
        deployment.delete_version("1"),
        Err(DeploymentError::InUse {
            status: VersionStatus::Draining,
            ..
        })
    ));
    deployment.record_drainage("1", 3, later(4));
    assert_eq!(deployment.status("1"), VersionStatus::Draining);
    deployment.record_drainage("1", 0, later(5));
    assert_eq!(deployment.status("1"), VersionStatus::Drained);
    assert!(deployment.draining().is_empty());
    // The current version cannot be retired; the drained one can.
    assert!(matches!(
        deployment.delete_version("2"),
        Err(DeploymentError::InUse {
            status: VersionStatus::Current,
            ..
        })
    ));
    assert_eq!(
        deployment.delete_version("1").unwrap().version,
        version("1")
    );
    assert!(matches!(
        deployment.delete_version("1"),
        Err(DeploymentError::UnknownVersion(_))
    ));
    // Back to unversioned workers: v2 drains.
    deployment.set_current(None, "op", later(6)).unwrap();
    assert_eq!(deployment.status("2"), VersionStatus::Draining);
    // A version made current again stops draining.
    deployment
        .set_current(Some(&version("2")), "op", later(7))
        .unwrap();
    assert_eq!(deployment.status("2"), VersionStatus::Current);
    deployment.record_drainage("2", 0, later(8));
    assert_eq!(
        deployment.status("2"),
        VersionStatus::Current,
        "counts ignored while current"
    );
}

#[test]
fn a_change_decided_on_an_older_routing_is_refused() {
    let mut deployment = deployment_with(&["1", "2"]);
    let read = deployment.routing.clone();
    assert_eq!(deployment.check_routing(None), Ok(()), "no token, no check");
    assert_eq!(deployment.check_routing(Some(&read)), Ok(()));
    deployment
        .set_current(Some(&version("1")), "op", T0)
        .unwrap();
    assert_eq!(
        deployment.check_routing(Some(&read)),
        Err(DeploymentError::RoutingChanged),
        "the routing read before the change is stale"
    );
    let read_again = deployment.routing.clone();
    assert_eq!(deployment.check_routing(Some(&read_again)), Ok(()));
}
