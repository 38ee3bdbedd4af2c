//! Worker versioning (spec §5.13.1) end to end: versioned workers of two builds on one
//! queue; pinned runs finish on the version they started on while auto-upgrade runs move
//! to the new current version; a ramp sends exactly the runs its share picks.

use std::time::Duration;

use endure::activity::ActivityDefinition;
use endure::versioning::{VersionStatus, ramp_position};
use endure::workflow::{WorkflowContext, WorkflowError};
use endure::*;
use endure_core::EventAttributes;
use endure_core::history::{EventType, HistoryEvent, check_well_formed};
use endure_core::protocol::ErrorKind;

use crate::{spawn_worker, store_client};

/// Answers the build id of the worker that ran it.
struct Which;
impl ActivityDefinition for Which {
    const NAME: &'static str = "Which";
    type Input = ();
    type Output = String;
}

fn queue() -> TaskQueueName {
    TaskQueueName::new("orders").unwrap()
}

fn version(build: &str) -> WorkerDeploymentVersion {
    WorkerDeploymentVersion::new("orders", build).unwrap()
}

/// Three steps, each an activity, waiting for a `next` signal between them.
async fn steps(ctx: WorkflowContext, _: ()) -> Result<Vec<String>, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions::with_start_to_close_timeout(
        Duration::from_secs(10),
    ));
    let mut builds = Vec::new();
    for step in 0..3 {
        if step > 0 {
            ctx.signal_channel("next").recv().await;
        }
        builds.push(ctx.run_activity::<Which>(&()).await?);
    }
    Ok(builds)
}

/// One step.
async fn quick(ctx: WorkflowContext, _: ()) -> Result<String, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions::with_start_to_close_timeout(
        Duration::from_secs(10),
    ));
    Ok(ctx.run_activity::<Which>(&()).await?)
}

/// A worker of build `build`: `Pinned` and `Quick` pinned (the default), `Auto`
/// auto-upgrade.
fn versioned_worker(client: &Client, build: &str) -> Worker {
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue(),
        WorkerOptions {
            identity: format!("worker-{build}"),
            // A run moving versions leaves its old worker's sticky queue this fast.
            sticky_schedule_to_start_timeout: Duration::from_millis(300),
            deployment_options: Some(WorkerDeploymentOptions {
                use_versioning: true,
                version: version(build),
                default_versioning_behavior: VersioningBehavior::Pinned,
            }),
            ..WorkerOptions::default()
        },
    );
    // The `build` query answers the build of the worker that answers it.
    let answering = build.to_owned();
    let with_query = move |ctx: WorkflowContext, input: ()| {
        let answering = answering.clone();
        ctx.set_query_handler("build", move |(): ()| {
            Ok::<_, std::convert::Infallible>(answering.clone())
        });
        steps(ctx, input)
    };
    worker
        .register_workflow("Pinned", with_query.clone())
        .register_workflow("Quick", quick)
        .register_workflow_with_options(
            "Auto",
            with_query,
            WorkflowRegisterOptions {
                versioning_behavior: VersioningBehavior::AutoUpgrade,
            },
        );
    let build = build.to_owned();
    worker.register_activity::<Which, _, _>(move |_ctx, ()| {
        let build = build.clone();
        async move { Ok(build) }
    });
    worker
}

/// Waits until a worker of `build` has polled (the deployment knows the version).
async fn wait_for_version(client: &Client, build: &str) {
    loop {
        if let Ok(deployment) = client.deployments().describe("orders").await
            && deployment
                .versions
                .iter()
                .any(|summary| summary.version.build_id == build)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until `count` activities completed and the workflow task that saw the last of
/// them is done too (so the run's versioning reflects the worker that completed it).
async fn wait_for_completed_activities(handle: &WorkflowHandle, count: usize) {
    loop {
        let history = handle.history().await.unwrap();
        let done = history
            .iter()
            .filter(|event| event.event_type() == EventType::ActivityTaskCompleted)
            .count();
        let idle = history
            .last()
            .is_some_and(|event| event.event_type() == EventType::WorkflowTaskCompleted);
        if done >= count && idle {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn start(client: &Client, workflow_type: &str, id: &str) -> WorkflowHandle {
    client
        .start_workflow(
            StartWorkflowOptions::new(WorkflowId::new(id).unwrap(), queue()),
            workflow_type,
            &(),
        )
        .await
        .unwrap()
}

/// Where `build` stands in `described`.
fn status(
    described: &endure::versioning::WorkerDeploymentDescription,
    build: &str,
) -> Option<VersionStatus> {
    described
        .versions
        .iter()
        .find(|summary| summary.version.build_id == build)
        .map(|summary| summary.status)
}

/// (version, behavior) of each WorkflowTaskCompleted.
fn completed_tasks(history: &[HistoryEvent]) -> Vec<(Option<String>, VersioningBehavior)> {
    history
        .iter()
        .filter_map(|event| match &event.attributes {
            EventAttributes::WorkflowTaskCompleted(completed) => Some((
                completed
                    .worker_deployment_version
                    .as_ref()
                    .map(|version| version.build_id.clone()),
                completed.versioning_behavior,
            )),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn pinned_runs_stay_on_their_version_while_auto_upgrade_runs_move_to_the_new_one() {
    let (client, _store) = store_client().await;
    let deployments = client.deployments();
    let (stop_v1, running_v1) = spawn_worker(versioned_worker(&client, "1"));
    wait_for_version(&client, "1").await;
    // Before a current version is set, versioned workers get nothing routed; set it.
    assert_eq!(
        deployments
            .set_current_version("orders", Some("1"))
            .await
            .unwrap(),
        None
    );
    let pinned = start(&client, "Pinned", "pinned-1").await;
    let auto = start(&client, "Auto", "auto-1").await;
    wait_for_completed_activities(&pinned, 1).await;
    wait_for_completed_activities(&auto, 1).await;

    // Build 2 comes up and becomes current.
    let (stop_v2, running_v2) = spawn_worker(versioned_worker(&client, "2"));
    wait_for_version(&client, "2").await;
    let unknown = deployments.set_current_version("orders", Some("3")).await;
    assert!(unknown.is_err(), "a build no worker polled with is refused");
    assert_eq!(
        deployments
            .set_current_version("orders", Some("2"))
            .await
            .unwrap(),
        Some(version("1"))
    );
    let described = deployments.describe("orders").await.unwrap();
    assert_eq!(status(&described, "2"), Some(VersionStatus::Current));
    assert_eq!(status(&described, "1"), Some(VersionStatus::Draining));
    assert_eq!(described.routing.current, Some(version("2")));

    // A query is answered by a worker of the build that ran the run: build 1 for both,
    // though build 2 is current.
    assert_eq!(pinned.query::<_, String>("build", &()).await.unwrap(), "1");
    assert_eq!(auto.query::<_, String>("build", &()).await.unwrap(), "1");
    for _ in 0..2 {
        pinned.signal("next", &()).await.unwrap();
        auto.signal("next", &()).await.unwrap();
    }
    assert_eq!(
        pinned.result::<Vec<String>>().await.unwrap(),
        ["1", "1", "1"]
    );
    assert_eq!(auto.result::<Vec<String>>().await.unwrap(), ["1", "2", "2"]);
    // Closed, each is queried on the build that ran it last.
    assert_eq!(pinned.query::<_, String>("build", &()).await.unwrap(), "1");
    assert_eq!(auto.query::<_, String>("build", &()).await.unwrap(), "2");
    // A new pinned run starts on the current version.
    let fresh = start(&client, "Pinned", "pinned-2").await;
    fresh.signal("next", &()).await.unwrap();
    fresh.signal("next", &()).await.unwrap();
    assert_eq!(
        fresh.result::<Vec<String>>().await.unwrap(),
        ["2", "2", "2"]
    );

    // History records who completed each workflow task, as what.
    let history = pinned.history().await.unwrap();
    check_well_formed(&history).unwrap();
    let tasks = completed_tasks(&history);
    assert!(!tasks.is_empty());
    assert!(
        tasks
            .iter()
            .all(|task| *task == (Some("1".into()), VersioningBehavior::Pinned)),
        "{tasks:?}"
    );
    let tasks = completed_tasks(&auto.history().await.unwrap());
    assert_eq!(
        tasks[0],
        (Some("1".into()), VersioningBehavior::AutoUpgrade)
    );
    assert_eq!(
        tasks.last(),
        Some(&(Some("2".into()), VersioningBehavior::AutoUpgrade))
    );
    // Describe names the run's version and behavior.
    let description = pinned.describe().await.unwrap();
    assert_eq!(description.versioning.version, Some(version("1")));
    assert_eq!(description.versioning.behavior, VersioningBehavior::Pinned);

    // Its pinned runs closed, build 1 has drained; once its workers are gone it can be
    // retired, while the current build cannot.
    let described = deployments.describe("orders").await.unwrap();
    assert_eq!(status(&described, "1"), Some(VersionStatus::Drained));
    let _ = stop_v1.send(());
    running_v1.await.unwrap();
    assert!(deployments.delete_version(&version("2")).await.is_err());
    deployments.delete_version(&version("1")).await.unwrap();
    let described = deployments.describe("orders").await.unwrap();
    let builds: Vec<&str> = described
        .versions
        .iter()
        .map(|summary| summary.version.build_id.as_str())
        .collect();
    assert_eq!(builds, ["2"]);
    // The version is listed on the runs, as Temporal's system search attributes.
    let listed = |filter: &'static str| {
        let client = client.clone();
        async move {
            let mut ids: Vec<String> = client
                .list_workflows_matching(filter, 10)
                .await
                .unwrap()
                .iter()
                .map(|info| info.execution.workflow_id.to_string())
                .collect();
            ids.sort();
            ids
        }
    };
    assert_eq!(
        listed("TemporalWorkerDeploymentVersion = 'orders.1'").await,
        ["pinned-1"]
    );
    assert_eq!(
        listed("TemporalWorkerDeploymentVersion = 'orders.2'").await,
        ["auto-1", "pinned-2"]
    );
    assert_eq!(
        listed("TemporalWorkflowVersioningBehavior = 'AutoUpgrade'").await,
        ["auto-1"]
    );
    let _ = stop_v2.send(());
    running_v2.await.unwrap();
}

#[tokio::test]
async fn a_ramp_sends_exactly_the_runs_its_share_picks_to_the_ramping_version() {
    let (client, _store) = store_client().await;
    let deployments = client.deployments();
    let workers = [
        spawn_worker(versioned_worker(&client, "1")),
        spawn_worker(versioned_worker(&client, "2")),
    ];
    wait_for_version(&client, "1").await;
    wait_for_version(&client, "2").await;
    deployments
        .set_current_version("orders", Some("1"))
        .await
        .unwrap();
    assert!(
        deployments
            .set_ramping_version("orders", Some("1"), 30.0)
            .await
            .is_err(),
        "the current version cannot ramp"
    );
    deployments
        .set_ramping_version("orders", Some("2"), 30.0)
        .await
        .unwrap();
    let ids: Vec<String> = (0..100).map(|n| format!("quick-{n}")).collect();
    let mut handles = Vec::new();
    for id in &ids {
        handles.push(start(&client, "Quick", id).await);
    }
    let mut ramped = 0;
    for (id, handle) in ids.iter().zip(&handles) {
        let build: String = handle.result().await.unwrap();
        // The ramp is a pure function of the workflow id: the same answer every time.
        let expected = if ramp_position(&WorkflowId::new(id.as_str()).unwrap()) < 30.0 {
            "2"
        } else {
            "1"
        };
        assert_eq!(build, expected, "{id}");
        ramped += usize::from(build == "2");
    }
    assert!((20..=40).contains(&ramped), "{ramped} of 100 ramped");
    // A change decided on a routing read before another change is refused and changes
    // nothing (Go's conflict token); decided on the routing as it is, it applies.
    let read = deployments.describe("orders").await.unwrap().routing;
    let ramped_to_50 = deployments
        .set_ramping_version_if("orders", Some("2"), 50.0, &read)
        .await
        .unwrap();
    assert_eq!(ramped_to_50.ramping_percentage, 50.0);
    let stale = deployments
        .set_current_version_if("orders", Some("2"), &read)
        .await
        .unwrap_err();
    assert!(
        matches!(&stale, ClientError::Remote(error) if error.kind == ErrorKind::FailedPrecondition),
        "{stale:?}"
    );
    assert_eq!(
        deployments.describe("orders").await.unwrap().routing,
        ramped_to_50,
        "the refused change changed nothing"
    );
    // Ending the ramp sends every new run to the current version.
    deployments
        .set_ramping_version_if("orders", None, 0.0, &ramped_to_50)
        .await
        .unwrap();
    let after = start(&client, "Quick", "quick-after").await;
    assert_eq!(after.result::<String>().await.unwrap(), "1");
    for (stop, running) in workers {
        let _ = stop.send(());
        running.await.unwrap();
    }
}

#[tokio::test]
async fn an_override_moves_a_pinned_run_to_another_version_and_is_recorded_in_history() {
    let (client, _store) = store_client().await;
    let deployments = client.deployments();
    let (stop_v1, running_v1) = spawn_worker(versioned_worker(&client, "1"));
    let (stop_v2, running_v2) = spawn_worker(versioned_worker(&client, "2"));
    wait_for_version(&client, "1").await;
    wait_for_version(&client, "2").await;
    deployments
        .set_current_version("orders", Some("1"))
        .await
        .unwrap();
    let run = start(&client, "Pinned", "moved-1").await;
    wait_for_completed_activities(&run, 1).await;
    // Pinned to build 1 by its worker; the operator moves it to build 2.
    let versioning = run
        .set_versioning_override(Some(versioning::VersioningOverride::Pinned(version("2"))))
        .await
        .unwrap();
    assert_eq!(versioning.version, Some(version("1")));
    assert_eq!(
        versioning.override_,
        Some(versioning::VersioningOverride::Pinned(version("2")))
    );
    run.signal("next", &()).await.unwrap();
    wait_for_completed_activities(&run, 2).await;
    // Removed, the run is pinned by its last worker again: build 2 now.
    let versioning = run.set_versioning_override(None).await.unwrap();
    assert_eq!(versioning.override_, None);
    assert_eq!(versioning.version, Some(version("2")));
    run.signal("next", &()).await.unwrap();
    assert_eq!(run.result::<Vec<String>>().await.unwrap(), ["1", "2", "2"]);

    let history = run.history().await.unwrap();
    check_well_formed(&history).unwrap();
    let updates: Vec<&endure::history::WorkflowExecutionOptionsUpdatedEventAttributes> = history
        .iter()
        .filter_map(|event| match &event.attributes {
            EventAttributes::WorkflowExecutionOptionsUpdated(updated) => Some(updated),
            _ => None,
        })
        .collect();
    assert_eq!(updates.len(), 2);
    assert_eq!(
        updates[0].versioning_override,
        Some(versioning::VersioningOverride::Pinned(version("2")))
    );
    assert!(!updates[0].unset_versioning_override);
    assert!(updates[1].unset_versioning_override);
    assert_eq!(
        completed_tasks(&history)
            .iter()
            .map(|(build, _)| build.clone().unwrap_or_default())
            .collect::<Vec<_>>()
            .last()
            .map(String::as_str),
        Some("2")
    );
    // A closed run's options cannot change.
    assert!(run.set_versioning_override(None).await.is_err());
    for (stop, running) in [(stop_v1, running_v1), (stop_v2, running_v2)] {
        let _ = stop.send(());
        running.await.unwrap();
    }
}
