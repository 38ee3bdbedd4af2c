//! Sessions under a worker crash (spec §5.15): three session workers; a workflow downloads,
//! processes and uploads a file in one session; the worker holding the session is killed
//! mid-session (requests delayed and duplicated meanwhile). Its heartbeats stop, the
//! session fails, the activity it was running fails with a session error, and the workflow
//! opens a new session on another worker, where all three steps then run. Run with
//! `RUSTFLAGS="--cfg madsim"`.

use std::sync::Arc;
use std::time::Duration;

use endure::workflow::{ActivityError, SessionOptions, WorkflowContext, WorkflowError};
use endure::*;
use endure_core::EventAttributes;
use endure_core::history::HistoryEvent;
use endure_core::protocol::Transport;
use endure_sim::cluster::{Cluster, ClusterConfig};
use endure_sim::faults::FaultKind;
use endure_sim::invariants::check_all;
use endure_sim::seeds::run_seeds;
use madsim::rand::Rng;

#[endure::activity(name = "Download")]
async fn download(_ctx: ActivityContext, url: String) -> Result<String, ActivityError> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(format!("{url}.local"))
}

/// Long enough that the kill lands while it runs.
#[endure::activity(name = "Process")]
async fn process(ctx: ActivityContext, file: String) -> Result<String, ActivityError> {
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if ctx.heartbeat(&()).await {
            return Err(ActivityError::canceled(None));
        }
    }
    Ok(format!("{file}.processed"))
}

#[endure::activity(name = "Upload")]
async fn upload(_ctx: ActivityContext, file: String) -> Result<String, ActivityError> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(format!("{file}.uploaded"))
}

/// The file pipeline in a session, opening a new session each time one fails; returns the
/// host of every session it opened, the last being the one that finished.
#[endure::workflow(name = "FilePipeline")]
async fn file_pipeline(ctx: WorkflowContext, url: String) -> Result<Vec<String>, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions {
        retry_policy: Some(RetryPolicy::with_maximum_attempts(1)),
        ..ActivityOptions::with_start_to_close_timeout(Duration::from_secs(60))
    });
    let options = SessionOptions {
        creation_timeout: Duration::from_secs(60),
        execution_timeout: Duration::from_secs(600),
        heartbeat_timeout: Some(Duration::from_secs(3)),
    };
    let mut hosts = Vec::new();
    for _ in 0..3 {
        let session = ctx.create_session(options.clone()).await?;
        hosts.push(session.session_info().expect("a session").host_name);
        let steps = async {
            let file = session.run_activity::<download>(&url).await?;
            let file = session.run_activity::<process>(&file).await?;
            session.run_activity::<upload>(&file).await
        };
        match steps.await {
            Ok(_) => {
                session.complete_session().await;
                return Ok(hosts);
            }
            Err(error) if error.is_session_failed() => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(Failure::application("three sessions failed", "SessionsExhausted").into())
}

fn register(worker: &mut Worker) {
    worker
        .register::<file_pipeline>()
        .register::<download>()
        .register::<process>()
        .register::<upload>();
}

fn session_worker(
    name: &'static str,
) -> impl Fn(Arc<dyn Transport>, &WorkerOptions) -> Worker + Send + Sync + 'static {
    let build = endure_sim::cluster::worker(name, "files", register);
    move |transport, options| {
        build(
            transport,
            &WorkerOptions {
                enable_session_worker: true,
                ..options.clone()
            },
        )
    }
}

/// The host the session signal of `history` names, in order.
fn session_hosts(history: &[HistoryEvent]) -> Vec<String> {
    history
        .iter()
        .filter_map(|event| match &event.attributes {
            EventAttributes::WorkflowExecutionSignaled(signaled) => Some(signaled.identity.clone()),
            _ => None,
        })
        .collect()
}

async fn scenario(_seed: u64) {
    let cluster = Cluster::start(ClusterConfig {
        duplicate_requests: 0.05,
        max_request_delay: Duration::from_millis(30),
        ..ClusterConfig::default()
    });
    let names = ["worker-1", "worker-2", "worker-3"];
    for name in names {
        cluster.add_worker(name, session_worker(name));
    }
    let client = cluster.client();
    let handle = cluster
        .on_client("starter", async move {
            client
                .start::<file_pipeline>(
                    StartWorkflowOptions::new(
                        WorkflowId::new("file-1").unwrap(),
                        TaskQueueName::new("files").unwrap(),
                    ),
                    &"s3://bucket/report.csv".to_owned(),
                )
                .await
                .unwrap()
        })
        .await;
    // Wait for the session to open, then kill its worker while it processes the file
    // (downloading takes half a second, processing ten).
    let watched = handle.clone();
    let first_host = cluster
        .on_client("watcher", async move {
            loop {
                let history = watched.history().await.unwrap();
                if let Some(host) = session_hosts(&history).into_iter().next() {
                    return host;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await;
    let at = madsim::rand::thread_rng().gen_range(800..6_000);
    tokio::time::sleep(Duration::from_millis(at)).await;
    cluster.kill(&first_host);

    let hosts = cluster
        .on_client(
            "waiter",
            async move { handle.result::<Vec<String>>().await },
        )
        .await
        .expect("the pipeline finishes in a second session");
    assert_eq!(cluster.faults.count(FaultKind::Kill), 1);
    assert_eq!(hosts.len(), 2, "{hosts:?}");
    assert_eq!(hosts[0], first_host);
    assert_ne!(hosts[1], first_host);

    let histories = cluster.histories().await;
    check_all(&histories, &Replayer::for_workflow::<file_pipeline>()).unwrap();
    let history = histories.values().next().expect("one run");
    assert_eq!(session_hosts(history), hosts);
    // The first session's creation activity timed out on its heartbeat.
    let creations: Vec<&HistoryEvent> = history
        .iter()
        .filter(|event| {
            matches!(&event.attributes, EventAttributes::ActivityTaskScheduled(a)
            if a.activity_type.as_str() == "internalSessionCreationActivity")
        })
        .collect();
    assert_eq!(creations.len(), 2);
    let first_end = history.iter().find_map(|event| match &event.attributes {
        EventAttributes::ActivityTaskTimedOut(t)
            if t.scheduled_event_id == creations[0].event_id =>
        {
            Some(t)
        }
        _ => None,
    });
    assert!(
        first_end.is_some_and(|t| matches!(
            t.failure.root_cause().info,
            endure_core::FailureInfo::Timeout {
                timeout_type: TimeoutType::Heartbeat,
                ..
            }
        )),
        "the first session ended by a heartbeat timeout"
    );
    // Every step that completed ran on the second session's worker, on its queue.
    let second_queue = format!("@{}", hosts[1]);
    for event in history {
        match &event.attributes {
            EventAttributes::ActivityTaskCompleted(completed) => {
                let scheduled = &history[completed.scheduled_event_id.get() as usize - 1];
                let EventAttributes::ActivityTaskScheduled(attributes) = &scheduled.attributes
                else {
                    panic!("not a scheduled activity: {scheduled:?}")
                };
                if ["Download", "Process", "Upload"].contains(&attributes.activity_type.as_str())
                    && scheduled.event_id > creations[1].event_id
                {
                    assert_eq!(completed.identity, hosts[1]);
                    assert!(attributes.task_queue.as_str().ends_with(&second_queue));
                }
            }
            EventAttributes::ActivityTaskStarted(started)
                if started.scheduled_event_id > creations[1].event_id =>
            {
                assert_ne!(
                    started.identity, first_host,
                    "nothing ran on the dead worker"
                );
            }
            _ => {}
        }
    }
}

#[test]
fn a_killed_session_worker_fails_the_session_and_the_workflow_moves_to_another() {
    run_seeds(
        "a_killed_session_worker_fails_the_session_and_the_workflow_moves_to_another",
        &[1, 2, 3, 4, 5],
        Duration::from_secs(900),
        scenario,
    );
}
