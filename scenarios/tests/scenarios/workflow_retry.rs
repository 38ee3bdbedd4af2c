//! Workflow retry, run timeouts and cron while the engine is killed and loses power inside
//! its commits: workflows that fail their first attempts are retried as new runs until one
//! succeeds, a run that hangs is ended by its run timeout and retried, and a cron schedule
//! keeps firing with each run carrying the last result — every chain ends (or goes on) as
//! its policies say, each attempt number appears once per chain, no timer or timeout fires
//! early, and every run is well formed and replays. Run with `RUSTFLAGS="--cfg madsim"`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use endure::workflow::{WorkflowContext, WorkflowError};
use endure::*;
use endure_core::history::{EventAttributes, HistoryEvent};
use endure_core::protocol::Transport;
use endure_sim::cluster::{Cluster, ClusterConfig, StoreChoice};
use endure_sim::driver;
use endure_sim::invariants::check_all;
use endure_sim::seeds::run_seeds;

const FLAKY: u32 = 3;
const FAULTS_MAX: u32 = 25;

/// Fails attempts 1 and 2 (the second by hanging past its run timeout); attempt 3 returns.
#[endure::workflow(name = "Flaky")]
async fn flaky(ctx: WorkflowContext, (): ()) -> Result<u32, WorkflowError> {
    let attempt = ctx.info().attempt();
    match attempt {
        1 => Err(Failure::application("first attempt fails", "Flaky").into()),
        2 => {
            ctx.sleep(Duration::from_secs(3600)).await?;
            Ok(attempt)
        }
        _ => Ok(attempt),
    }
}

/// Counts its cron runs through the last completion result.
#[endure::workflow(name = "Tick")]
async fn tick(ctx: WorkflowContext, (): ()) -> Result<u32, WorkflowError> {
    let previous = ctx.info().last_completion_result().and_then(|result| {
        result
            .0
            .first()
            .and_then(|payload| payload.decode::<u32>().ok())
    });
    Ok(previous.unwrap_or(0) + 1)
}

fn worker(
    name: &'static str,
) -> impl Fn(Arc<dyn Transport>, &WorkerOptions) -> Worker + Send + Sync + 'static {
    endure_sim::cluster::worker(name, "policies", |worker| {
        worker.register::<flaky>();
        worker.register::<tick>();
    })
}

fn options(id: &str) -> StartWorkflowOptions {
    let mut options = StartWorkflowOptions::new(
        WorkflowId::new(id).unwrap(),
        TaskQueueName::new("policies").unwrap(),
    );
    options.request_id = Some(format!("start-{id}").parse().unwrap());
    options.task_timeout = Some(Duration::from_secs(1));
    options
}

async fn scenario(seed: u64) {
    let cluster = Cluster::start(ClusterConfig {
        store: StoreChoice::Disk { seed },
        max_commit_delay: Duration::from_millis(20),
        ..ClusterConfig::default()
    });
    cluster.add_worker("worker-1", worker("worker-1"));
    cluster.add_worker("worker-2", worker("worker-2"));
    let client = cluster.client();
    driver::through_kills_and_power_losses(&cluster, FAULTS_MAX, async move {
        for index in 0..FLAKY {
            let options = StartWorkflowOptions {
                run_timeout: Some(Duration::from_secs(5)),
                retry_policy: Some(RetryPolicy {
                    initial_interval: Duration::from_millis(200),
                    ..RetryPolicy::with_maximum_attempts(5)
                }),
                ..options(&format!("flaky-{index}"))
            };
            driver::start_until_taken::<flaky>(&client, options, &()).await;
        }
        let cron = StartWorkflowOptions {
            cron_schedule: Some(CronSchedule::parse("@every 2s").unwrap()),
            ..options("tick")
        };
        driver::start_until_taken::<tick>(&client, cron, &()).await;
        // The schedule fires on through the faults: wait for two completed runs.
        loop {
            let completed = client
                .list_workflows_matching(
                    "WorkflowId = 'tick' AND ExecutionStatus = 'Completed'",
                    10,
                )
                .await
                .map_or(0, |rows| rows.len());
            if completed >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
    .await;

    let ids: Vec<String> = (0..FLAKY).map(|index| format!("flaky-{index}")).collect();
    let attempts: Vec<u32> = cluster.results(ids, Duration::from_secs(300)).await;
    // Attempt 3 returns at once — unless the engine was down for its whole run timeout,
    // and a later attempt does.
    assert!(attempts.iter().all(|attempt| *attempt >= 3), "{attempts:?}");

    // The schedule would fire forever: terminating its current run ends it.
    let client = cluster.client();
    cluster
        .add_client_node("operator")
        .spawn(async move {
            let current = client.handle(WorkflowId::new("tick").unwrap(), None);
            while current.terminate("enough ticks").await.is_err() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await
        .unwrap();
    let histories = cluster.histories().await;
    let mut chains: BTreeMap<String, Vec<&Vec<HistoryEvent>>> = BTreeMap::new();
    for (run, history) in &histories {
        chains
            .entry(run.split('/').next().unwrap().to_owned())
            .or_default()
            .push(history);
    }
    let of_type = |name: &str| -> BTreeMap<String, Vec<HistoryEvent>> {
        histories
            .iter()
            .filter(|(run, _)| run.starts_with(name))
            .map(|(run, history)| (run.clone(), history.clone()))
            .collect()
    };
    check_all(&of_type("flaky"), &Replayer::for_workflow::<flaky>()).unwrap();
    check_all(&of_type("tick"), &Replayer::for_workflow::<tick>()).unwrap();
    for (id, runs) in &chains {
        let started = |history: &Vec<HistoryEvent>| match &history[0].attributes {
            EventAttributes::WorkflowExecutionStarted(started) => started.as_ref().clone(),
            _ => panic!("{id}: a run does not start with WorkflowExecutionStarted"),
        };
        if id.starts_with("flaky") {
            // Attempts 1..=k once each: a failure, run timeouts (attempt 2 always; later
            // ones only if the engine was down for a whole run timeout), a completion.
            let mut attempts: Vec<u32> = runs.iter().map(|h| started(h).attempt).collect();
            attempts.sort_unstable();
            let last_attempt = *attempts.last().unwrap();
            assert!(last_attempt >= 3, "{id}: {attempts:?}");
            assert_eq!(attempts, (1..=last_attempt).collect::<Vec<_>>(), "{id}");
            for history in runs {
                let last = &history.last().unwrap().attributes;
                let attempt = started(history).attempt;
                if attempt == 1 {
                    assert!(
                        matches!(last, EventAttributes::WorkflowExecutionFailed(_)),
                        "{id}"
                    );
                } else if attempt < last_attempt {
                    assert!(
                        matches!(last, EventAttributes::WorkflowExecutionTimedOut(_)),
                        "{id}: attempt {attempt}"
                    );
                } else {
                    assert!(
                        matches!(last, EventAttributes::WorkflowExecutionCompleted(_)),
                        "{id}"
                    );
                }
            }
        } else {
            // The cron chain: every completed run returns one more than the previous one.
            let mut results: Vec<u32> = runs
                .iter()
                .filter_map(|history| match &history.last().unwrap().attributes {
                    EventAttributes::WorkflowExecutionCompleted(done) => {
                        done.result.as_ref()?.0.first()?.decode().ok()
                    }
                    _ => None,
                })
                .collect();
            results.sort_unstable();
            let expected: Vec<u32> = (1..=results.len() as u32).collect();
            assert_eq!(results, expected, "{id}: each cron run counts once");
            assert!(results.len() >= 2, "{id}: the schedule fired");
        }
    }
}

#[test]
fn retries_timeouts_and_cron_hold_through_crashes() {
    run_seeds(
        "retries_timeouts_and_cron_hold_through_crashes",
        // 119000023: the engine was down for attempt 3's whole run timeout, so attempt 4
        // completed (the scenario expected exactly three attempts; it now expects the
        // timed-out ones between the failure and the completion).
        // 120000028: the engine was down so long the schedule had fired once by the time
        // the driver stopped waiting (it now waits for two completed runs).
        &[0, 1, 2, 3, 4, 5, 119_000_023, 120_000_028],
        Duration::from_secs(900),
        scenario,
    );
}
