//! Worker versioning under faults (spec §5.13.1): build 1 of a deployment serves pinned and
//! auto-upgrade runs; build 2 comes up, ramps, becomes current; workers of both builds are
//! killed and restarted throughout, requests delayed and duplicated. No workflow task or
//! activity of a pinned run ever runs on another build, an auto-upgrade run never goes back
//! to build 1 once build 2 ran it, runs started after the switch run on build 2, and every
//! run completes. Run with `RUSTFLAGS="--cfg madsim"`.

use std::sync::Arc;
use std::time::Duration;

use endure::versioning::WorkerDeploymentVersion;
use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::*;
use endure_core::EventAttributes;
use endure_core::history::HistoryEvent;
use endure_core::protocol::Transport;
use endure_sim::cluster::{Cluster, ClusterConfig};
use endure_sim::faults::FaultKind;
use endure_sim::invariants::check_all;
use endure_sim::seeds::run_seeds;
use madsim::rand::Rng;

const QUEUE: &str = "orders";

/// Three steps, each an activity answering the build that ran it, a durable pause between.
#[endure::workflow(name = "Steps")]
async fn steps(ctx: WorkflowContext, _: ()) -> Result<Vec<String>, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions {
        retry_policy: Some(RetryPolicy {
            initial_interval: Duration::from_millis(200),
            ..RetryPolicy::default()
        }),
        ..ActivityOptions::with_start_to_close_timeout(Duration::from_secs(5))
    });
    let mut builds = Vec::new();
    for step in 0..3 {
        if step > 0 {
            let _ = ctx.sleep(Duration::from_secs(2)).await;
        }
        builds.push(ctx.execute_activity::<_, String>("Which", &()).await?);
    }
    Ok(builds)
}

/// A worker `name` of `build`: `Steps` is pinned by default and also registered as
/// `AutoSteps`, auto-upgrade.
fn versioned_worker(
    name: &'static str,
    build: &'static str,
) -> impl Fn(Arc<dyn Transport>, &WorkerOptions) -> Worker + Send + Sync + 'static {
    move |transport, options| {
        let mut worker = Worker::new(
            transport,
            Namespace::default(),
            TaskQueueName::new(QUEUE).expect("a valid name"),
            WorkerOptions {
                identity: name.into(),
                sticky_schedule_to_start_timeout: Duration::from_secs(1),
                deployment_options: Some(WorkerDeploymentOptions {
                    use_versioning: true,
                    version: WorkerDeploymentVersion::new("orders", build).expect("valid"),
                    default_versioning_behavior: VersioningBehavior::Pinned,
                }),
                ..options.clone()
            },
        );
        worker.register::<steps>().register_workflow_with_options(
            "AutoSteps",
            steps,
            WorkflowRegisterOptions {
                versioning_behavior: VersioningBehavior::AutoUpgrade,
            },
        );
        worker.register_dynamic_activity(move |_ctx: ActivityContext, _, _| async move {
            let answer = Payload::encode(&build)
                .map_err(|e| ActivityError::application(e.to_string(), "PayloadError"))?;
            Ok(Some(Payloads::one(answer)))
        });
        worker
    }
}

/// The build a worker's identity names (`w1-a` → `1`).
fn build_of(identity: &str) -> &str {
    identity
        .strip_prefix('w')
        .and_then(|rest| rest.split('-').next())
        .unwrap_or("?")
}

/// The builds of every workflow task completed and every activity run, in history order.
fn builds_in(history: &[HistoryEvent]) -> (Vec<String>, Vec<String>) {
    let mut tasks = Vec::new();
    let mut activities = Vec::new();
    for event in history {
        match &event.attributes {
            EventAttributes::WorkflowTaskCompleted(completed) => {
                let version = completed
                    .worker_deployment_version
                    .as_ref()
                    .map_or("-", |version| version.build_id.as_str());
                assert_eq!(
                    version,
                    build_of(&completed.identity),
                    "a worker completes as its own build"
                );
                tasks.push(version.to_owned());
            }
            EventAttributes::ActivityTaskCompleted(completed) => {
                activities.push(build_of(&completed.identity).to_owned());
            }
            _ => {}
        }
    }
    (tasks, activities)
}

async fn start(cluster: &Cluster, workflow_type: &'static str, id: String) -> WorkflowHandle {
    let client = cluster.client();
    cluster
        .on_client("starter", async move {
            client
                .start_workflow(
                    StartWorkflowOptions::new(
                        WorkflowId::new(id).unwrap(),
                        TaskQueueName::new(QUEUE).unwrap(),
                    ),
                    workflow_type,
                    &(),
                )
                .await
                .unwrap()
        })
        .await
}

/// Sets the deployment's current (and ramping) version, retrying while the build has not
/// polled yet or a request is lost.
async fn route(cluster: &Cluster, current: &'static str, ramping: Option<(&'static str, f32)>) {
    let client = cluster.client();
    cluster
        .on_client("operator", async move {
            let deployments = client.deployments();
            while deployments
                .set_current_version("orders", Some(current))
                .await
                .is_err()
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let (build, percentage) = ramping.map_or((None, 0.0), |(b, p)| (Some(b), p));
            while deployments
                .set_ramping_version("orders", build, percentage)
                .await
                .is_err()
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await;
}

async fn scenario(_seed: u64) {
    let cluster = Cluster::start(ClusterConfig {
        duplicate_requests: 0.05,
        max_request_delay: Duration::from_millis(30),
        ..ClusterConfig::default()
    });
    cluster.add_worker("w1-a", versioned_worker("w1-a", "1"));
    cluster.add_worker("w1-b", versioned_worker("w1-b", "1"));
    route(&cluster, "1", None).await;
    let mut early = Vec::new();
    for n in 0..4 {
        early.push((
            "Steps",
            start(&cluster, "Steps", format!("pinned-{n}")).await,
        ));
        early.push((
            "AutoSteps",
            start(&cluster, "AutoSteps", format!("auto-{n}")).await,
        ));
    }
    let mut rng = madsim::rand::thread_rng();
    tokio::time::sleep(Duration::from_millis(rng.gen_range(500..3_000))).await;
    cluster.kill("w1-a");
    cluster.add_worker("w2-a", versioned_worker("w2-a", "2"));
    cluster.add_worker("w2-b", versioned_worker("w2-b", "2"));
    // Ramp, then switch; a worker of each build dies and comes back meanwhile.
    route(&cluster, "1", Some(("2", 50.0))).await;
    tokio::time::sleep(Duration::from_millis(rng.gen_range(200..1_500))).await;
    cluster.restart("w1-a");
    route(&cluster, "2", None).await;
    cluster.kill("w2-b");
    let mut late = Vec::new();
    for n in 0..3 {
        late.push(start(&cluster, "Steps", format!("late-{n}")).await);
    }
    tokio::time::sleep(Duration::from_millis(rng.gen_range(500..2_000))).await;
    cluster.restart("w2-b");

    for (workflow_type, handle) in early
        .into_iter()
        .chain(late.into_iter().map(|h| ("Late", h)))
    {
        let id = handle.workflow_id().to_string();
        let builds = cluster
            .on_client(
                "waiter",
                async move { handle.result::<Vec<String>>().await },
            )
            .await
            .unwrap_or_else(|error| panic!("{id} did not complete: {error}"));
        match workflow_type {
            // Pinned: one build throughout.
            "Steps" => assert!(builds.windows(2).all(|w| w[0] == w[1]), "{id}: {builds:?}"),
            // Auto-upgrade: never back to build 1 once build 2 ran it.
            "AutoSteps" => assert!(builds.windows(2).all(|w| w[0] <= w[1]), "{id}: {builds:?}"),
            // Started after the switch: build 2.
            _ => assert_eq!(builds, ["2", "2", "2"], "{id}"),
        }
    }
    assert_eq!(cluster.faults.count(FaultKind::Kill), 2);

    let histories = cluster.histories().await;
    check_all(&histories, &Replayer::for_workflow::<steps>()).unwrap();
    for (run, history) in &histories {
        let (tasks, activities) = builds_in(history);
        if run.contains("pinned") || run.contains("late") {
            let pinned = &tasks[0];
            assert!(
                tasks.iter().all(|t| t == pinned),
                "{run}: tasks on {tasks:?}"
            );
            assert!(
                activities.iter().all(|a| a == pinned),
                "{run}: activities on {activities:?}, pinned to {pinned}"
            );
        } else {
            assert!(
                tasks.windows(2).all(|w| w[0] <= w[1]),
                "{run}: tasks on {tasks:?}"
            );
        }
    }
}

#[test]
fn rolling_from_build_1_to_2_under_kills_keeps_every_run_on_its_version() {
    run_seeds(
        "rolling_from_build_1_to_2_under_kills_keeps_every_run_on_its_version",
        &[1, 2, 3, 4, 5],
        Duration::from_secs(900),
        scenario,
    );
}
