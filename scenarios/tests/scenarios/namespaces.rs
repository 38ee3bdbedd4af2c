//! Namespaces under faults (spec §5.18): a namespace created while the engine is killed and
//! loses power inside its commits survives every restart; the same workflow ids on the same
//! queue name run in `default` and in `team-a`, each by its own namespace's worker, each
//! exactly once; an hour after they closed, team-a's runs (one hour of retention) are
//! deleted through further crashes while default's (three days) stay, well formed and
//! replayable. Run with `RUSTFLAGS="--cfg madsim"`.

use std::sync::Arc;
use std::time::Duration;

use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::*;
use endure_core::history::{EventAttributes, HistoryEvent};
use endure_core::protocol::{ErrorKind, Transport};
use endure_core::storage::VisibilityQuery;
use endure_sim::cluster::{Cluster, ClusterConfig, StoreChoice};
use endure_sim::driver;
use endure_sim::invariants::check_all;
use endure_sim::seeds::run_seeds;

const FAULTS_MAX: u32 = 16;
const JOBS: usize = 6;
const QUEUE: &str = "jobs";
const RETENTION: Duration = Duration::from_secs(3600);

/// Tags its input with the namespace it ran in.
#[endure::activity(name = "Tag")]
async fn tag(ctx: ActivityContext, input: String) -> Result<String, ActivityError> {
    Ok(format!("{}:{input}", ctx.info().execution.namespace))
}

/// One activity, then its result.
#[endure::workflow(name = "Job")]
async fn job(ctx: WorkflowContext, input: String) -> Result<String, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions::with_start_to_close_timeout(
        Duration::from_secs(5),
    ));
    Ok(ctx.run_activity::<tag>(&input).await?)
}

fn team_a() -> Namespace {
    Namespace::new("team-a").unwrap()
}

/// A worker for `namespace` on the shared queue name.
fn worker(
    name: &'static str,
    namespace: Namespace,
) -> impl Fn(Arc<dyn Transport>, &WorkerOptions) -> Worker + Send + Sync + 'static {
    move |transport, options| {
        let mut worker = Worker::new(
            transport,
            namespace.clone(),
            TaskQueueName::new(QUEUE).unwrap(),
            WorkerOptions {
                identity: name.into(),
                ..options.clone()
            },
        );
        worker.register::<job>().register::<tag>();
        worker
    }
}

/// Retries `call` while the engine is unreachable (or the namespace not yet recovered).
async fn when_reachable<T, F, Fut>(mut call: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ClientError>>,
{
    loop {
        match call().await {
            Ok(value) => return value,
            Err(ClientError::Remote(error))
                if matches!(
                    error.kind,
                    ErrorKind::Unavailable | ErrorKind::DeadlineExceeded
                ) => {}
            Err(error) => panic!("{error}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn runs(client: &Client) -> Vec<String> {
    let rows = when_reachable(|| client.list_workflows(VisibilityQuery::default(), 0, 1_000)).await;
    let mut ids: Vec<String> = rows
        .iter()
        .map(|row| row.execution.workflow_id.to_string())
        .collect();
    ids.sort();
    ids
}

async fn scenario(seed: u64) {
    let cluster = Cluster::start(ClusterConfig {
        store: StoreChoice::Disk { seed },
        max_commit_delay: Duration::from_millis(20),
        ..ClusterConfig::default()
    });
    cluster.add_worker(
        "worker-default",
        worker("worker-default", Namespace::default()),
    );
    cluster.add_worker("worker-team-a", worker("worker-team-a", team_a()));
    let default = cluster.client();
    let team = default.with_namespace(team_a());
    let faults = driver::through_kills_and_power_losses(&cluster, FAULTS_MAX, async move {
        // A lost answer makes the retry find the namespace there: AlreadyExists is success.
        loop {
            let config = NamespaceConfig {
                retention: RETENTION,
                ..NamespaceConfig::default()
            };
            match default.create_namespace(team_a(), config).await {
                Ok(_) => break,
                Err(ClientError::Remote(error)) if error.kind == ErrorKind::AlreadyExists => break,
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        let mut handles = Vec::new();
        for client in [&default, &team] {
            for index in 0..JOBS {
                let id = format!("job-{index}");
                let mut options = StartWorkflowOptions::new(
                    WorkflowId::new(id.as_str()).unwrap(),
                    TaskQueueName::new(QUEUE).unwrap(),
                );
                options.request_id = Some(format!("start-{id}").parse().unwrap());
                handles.push(driver::start_until_taken::<job>(client, options, &id).await);
            }
        }
        for (index, handle) in handles.iter().enumerate() {
            let namespace = if index < JOBS { "default" } else { "team-a" };
            let result: String = driver::result_when_reachable(handle).await.unwrap();
            assert_eq!(result, format!("{namespace}:job-{}", index % JOBS));
        }
        let all: Vec<String> = (0..JOBS).map(|index| format!("job-{index}")).collect();
        assert_eq!(
            runs(&team).await,
            all,
            "team-a holds its runs until the retention"
        );
        // Past the retention (crashes go on meanwhile): team-a's runs are deleted.
        tokio::time::sleep(RETENTION + Duration::from_secs(120)).await;
        loop {
            if runs(&team).await.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        let name = team_a();
        let record = when_reachable(|| default.describe_namespace(&name)).await;
        assert_eq!(record.config.retention, RETENTION);
        assert_eq!(
            runs(&default).await,
            all,
            "default keeps its runs for three days"
        );
    })
    .await;
    assert!(faults > 0, "faults were thrown");

    let histories = cluster.histories().await;
    assert_eq!(
        histories.len(),
        JOBS,
        "one run per job in default: {histories:?}"
    );
    check_all(&histories, &Replayer::for_workflow::<job>()).unwrap();
    for (run, history) in &histories {
        let completed: Vec<&HistoryEvent> = history
            .iter()
            .filter(|event| {
                matches!(
                    event.attributes,
                    EventAttributes::WorkflowExecutionCompleted(_)
                )
            })
            .collect();
        assert_eq!(completed.len(), 1, "{run} completed once");
    }
}

#[test]
fn namespaces_isolate_and_retain_through_crashes() {
    run_seeds(
        "namespaces_isolate_and_retain_through_crashes",
        &[0, 1, 2, 3, 4],
        Duration::from_secs(4 * 3600),
        scenario,
    );
}
