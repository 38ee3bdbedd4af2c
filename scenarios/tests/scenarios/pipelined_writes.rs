//! One shard, many workflows, slow commits: the shard goes on with other workflow ids while
//! a write commits, so one commit carries the writes of several workflows. Under kills,
//! power losses inside commits and duplicated requests, nothing of a write leaks before it
//! is durable: every workflow completes once, every activity, timer and signal is recorded
//! once, and replay agrees.

use std::sync::Arc;
use std::time::Duration;

use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::*;
use endure_core::history::EventType;
use endure_core::protocol::{ErrorKind, Transport};
use endure_server::engine::EngineConfig;
use endure_sim::cluster::{Cluster, ClusterConfig, ENGINE, StoreChoice};
use endure_sim::disk::CrashPoint;
use endure_sim::faults::FaultKind;
use endure_sim::invariants::check_all;
use endure_sim::seeds::run_seeds;
use madsim::rand::Rng;

const WORKFLOWS: u32 = 30;

#[endure::activity(name = "Double")]
async fn double(_ctx: ActivityContext, number: u32) -> Result<u32, ActivityError> {
    Ok(number * 2)
}

/// Doubles its input in an activity, sleeps, then adds the value of one `add` signal.
#[endure::workflow(name = "Pipelined")]
async fn pipelined(ctx: WorkflowContext, number: u32) -> Result<u32, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions {
        start_to_close_timeout: Some(Duration::from_secs(5)),
        retry_policy: Some(RetryPolicy {
            initial_interval: Duration::from_millis(200),
            ..RetryPolicy::default()
        }),
        ..ActivityOptions::default()
    });
    let doubled = ctx.run_activity::<double>(&number).await?;
    let _ = ctx.sleep(Duration::from_millis(300)).await;
    let added: u32 = ctx.signal_channel("add").recv_json().await?;
    Ok(doubled + added)
}

fn register(worker: &mut Worker) {
    worker.register::<pipelined>().register::<double>();
}

fn worker(
    name: &'static str,
) -> impl Fn(Arc<dyn Transport>, &WorkerOptions) -> Worker + Send + Sync + 'static {
    endure_sim::cluster::worker(name, "pipelined", register)
}

fn workflow_id(number: u32) -> WorkflowId {
    WorkflowId::new(format!("pipelined-{number}")).unwrap()
}

async fn scenario(seed: u64) {
    let cluster = Cluster::start(ClusterConfig {
        engine: EngineConfig {
            // Every workflow on one shard: only pipelining lets a commit carry two writes.
            shard_count: 1,
            ..EngineConfig::default()
        },
        store: StoreChoice::Disk { seed },
        max_commit_delay: Duration::from_millis(30),
        duplicate_requests: 0.1,
        ..ClusterConfig::default()
    });
    cluster.add_worker("worker-1", worker("worker-1"));
    cluster.add_worker("worker-2", worker("worker-2"));
    let driver = cluster.add_client_node("driver");
    let client = cluster.client();
    let driving = driver.spawn(async move {
        // Every start and signal at once, each retried until it is acknowledged.
        let mut sends = Vec::new();
        for number in 0..WORKFLOWS {
            let client = client.clone();
            sends.push(tokio::spawn(async move {
                let mut options = StartWorkflowOptions::new(
                    workflow_id(number),
                    TaskQueueName::new("pipelined").unwrap(),
                );
                options.request_id = Some(format!("start-{number}").parse().unwrap());
                loop {
                    match client.start::<pipelined>(options.clone(), &number).await {
                        Ok(_) => break,
                        Err(ClientError::Remote(error))
                            if error.kind == ErrorKind::AlreadyStarted =>
                        {
                            break;
                        }
                        Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                    }
                }
                let handle = client.handle(workflow_id(number), None);
                while handle
                    .signal_with_request_id("add", &(number + 1), &format!("add-{number}"))
                    .await
                    .is_err()
                {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }));
        }
        for send in sends {
            send.await.unwrap();
        }
    });
    // While the workflows run: a kill and a power loss inside a commit.
    for round in 0..2 {
        let (wait, down, point) = {
            let mut rng = madsim::rand::thread_rng();
            let point = CrashPoint::random(&mut rng);
            (rng.gen_range(50..1_500), rng.gen_range(100..1_000), point)
        };
        tokio::time::sleep(Duration::from_millis(wait)).await;
        if round == 0 {
            cluster.kill(ENGINE);
            tokio::time::sleep(Duration::from_millis(down)).await;
            cluster.restart(ENGINE);
        } else {
            cluster.power_loss_inside_commit(point).await;
        }
    }
    driving.await.unwrap();
    assert_eq!(cluster.faults.count(FaultKind::Kill), 1);
    assert_eq!(cluster.faults.count(FaultKind::PowerLoss), 1);

    let results: Vec<u32> = cluster
        .results(
            (0..WORKFLOWS)
                .map(|number| format!("pipelined-{number}"))
                .collect(),
            Duration::from_secs(300),
        )
        .await;
    for (number, result) in (0..WORKFLOWS).zip(&results) {
        assert_eq!(*result, number * 2 + number + 1, "pipelined-{number}");
    }
    assert!(
        cluster.most_writes_per_commit() > 1,
        "with one shard, a commit carried the writes of several workflows"
    );
    let histories = cluster.histories().await;
    assert_eq!(histories.len(), WORKFLOWS as usize);
    check_all(&histories, &Replayer::for_workflow::<pipelined>()).unwrap();
    for (run, history) in &histories {
        let count = |wanted: EventType| {
            history
                .iter()
                .filter(|event| event.event_type() == wanted)
                .count()
        };
        assert_eq!(
            (
                count(EventType::WorkflowExecutionStarted),
                count(EventType::ActivityTaskCompleted),
                count(EventType::TimerFired),
                count(EventType::WorkflowExecutionSignaled),
                count(EventType::WorkflowExecutionCompleted),
            ),
            (1, 1, 1, 1, 1),
            "{run}: each step recorded once"
        );
    }
}

#[test]
fn a_shard_pipelines_writes_of_many_workflows_and_leaks_nothing_before_it_is_durable() {
    run_seeds(
        "a_shard_pipelines_writes_of_many_workflows_and_leaks_nothing_before_it_is_durable",
        &[1, 2, 3, 4, 5],
        Duration::from_secs(900),
        scenario,
    );
}
