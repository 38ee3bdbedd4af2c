//! Limits under faults: a workflow that never continues as new grows its history past
//! 51,200 events, and one issues a command whose payload is over 2 MiB, while the engine is
//! killed and loses power inside its commits. Both runs end terminated by the engine with
//! Temporal's reasons — never before the limit, never twice — the big one was suggested to
//! continue as new from 4,096 events on, and both histories are well formed and replay.
//! Run with `RUSTFLAGS="--cfg madsim"`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use endure::workflow::{WorkflowContext, WorkflowError};
use endure::*;
use endure_core::WorkflowExecutionStatus;
use endure_core::execution::HISTORY_LIMIT_TERMINATE_REASON;
use endure_core::history::{EventAttributes, HistoryEvent};
use endure_core::limits::{HISTORY_EVENTS_MAX, HISTORY_EVENTS_SUGGEST_CONTINUE_AS_NEW};
use endure_core::protocol::Transport;
use endure_sim::cluster::{Cluster, ClusterConfig, StoreChoice};
use endure_sim::driver;
use endure_sim::invariants::check_all;
use endure_sim::seeds::run_seeds;

const FAULTS_MAX: u32 = 20;

/// Records 10,000 side effects per task, forever.
#[endure::workflow(name = "Chatty")]
async fn chatty(ctx: WorkflowContext, (): ()) -> Result<(), WorkflowError> {
    loop {
        for _ in 0..10_000 {
            ctx.side_effect(|| 1_u8)?;
        }
        ctx.sleep(Duration::from_millis(1)).await?;
    }
}

/// Schedules an activity with a 3 MiB input.
#[endure::workflow(name = "Oversized")]
async fn oversized(ctx: WorkflowContext, (): ()) -> Result<(), WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions::with_start_to_close_timeout(
        Duration::from_secs(10),
    ));
    ctx.execute_activity::<_, ()>("Store", &"x".repeat(3 << 20))
        .await?;
    Ok(())
}

fn worker(
    name: &'static str,
) -> impl Fn(Arc<dyn Transport>, &WorkerOptions) -> Worker + Send + Sync + 'static {
    endure_sim::cluster::worker(name, "limits", |worker| {
        worker.register::<chatty>();
        worker.register::<oversized>();
    })
}

async fn scenario(seed: u64) {
    let cluster = Cluster::start(ClusterConfig {
        store: StoreChoice::Disk { seed },
        max_commit_delay: Duration::from_millis(20),
        ..ClusterConfig::default()
    });
    cluster.add_worker("worker-1", worker("worker-1"));
    let client = cluster.client();
    driver::through_kills_and_power_losses(&cluster, FAULTS_MAX, async move {
        let options = |id: &str| {
            let mut options = StartWorkflowOptions::new(
                WorkflowId::new(id).unwrap(),
                TaskQueueName::new("limits").unwrap(),
            );
            options.request_id = Some(format!("start-{id}").parse().unwrap());
            options.task_timeout = Some(Duration::from_secs(10));
            options
        };
        let big = driver::start_until_taken::<chatty>(&client, options("chatty"), &()).await;
        let bad = driver::start_until_taken::<oversized>(&client, options("oversized"), &()).await;
        for handle in [&big, &bad] {
            let result = driver::result_when_reachable::<()>(handle).await;
            assert!(
                matches!(&result, Err(ClientError::WorkflowClosed(_))),
                "{result:?}"
            );
        }
    })
    .await;

    let statuses = cluster
        .closed(
            vec!["chatty".into(), "oversized".into()],
            Duration::from_secs(300),
        )
        .await;
    assert_eq!(
        statuses,
        [
            WorkflowExecutionStatus::Terminated,
            WorkflowExecutionStatus::Terminated
        ]
    );
    let histories = cluster.histories().await;
    let of = |prefix: &str| -> BTreeMap<String, Vec<HistoryEvent>> {
        histories
            .iter()
            .filter(|(run, _)| run.starts_with(prefix))
            .map(|(run, history)| (run.clone(), history.clone()))
            .collect()
    };
    check_all(&of("chatty/"), &Replayer::for_workflow::<chatty>()).unwrap();
    check_all(&of("oversized/"), &Replayer::for_workflow::<oversized>()).unwrap();
    for (run, history) in of("chatty/") {
        let terminated: Vec<&HistoryEvent> = history
            .iter()
            .filter(|event| {
                matches!(
                    event.attributes,
                    EventAttributes::WorkflowExecutionTerminated(_)
                )
            })
            .collect();
        assert_eq!(terminated.len(), 1, "{run}");
        let EventAttributes::WorkflowExecutionTerminated(reason) = &terminated[0].attributes else {
            unreachable!()
        };
        assert_eq!(reason.reason, HISTORY_LIMIT_TERMINATE_REASON, "{run}");
        let before = terminated[0].event_id.get() - 1;
        assert!(
            before > HISTORY_EVENTS_MAX,
            "{run}: terminated after {before} events, not past the limit"
        );
        for event in &history {
            if let EventAttributes::WorkflowTaskStarted(started) = &event.attributes {
                assert_eq!(
                    started.suggest_continue_as_new,
                    event.event_id.get() > HISTORY_EVENTS_SUGGEST_CONTINUE_AS_NEW,
                    "{run}: event {}",
                    event.event_id
                );
            }
        }
    }
    for (run, history) in of("oversized/") {
        let EventAttributes::WorkflowExecutionTerminated(reason) =
            &history.last().unwrap().attributes
        else {
            panic!("{run}: the oversized run ends terminated")
        };
        assert!(reason.reason.contains("input"), "{run}: {}", reason.reason);
        assert!(
            !history
                .iter()
                .any(|event| matches!(event.attributes, EventAttributes::ActivityTaskScheduled(_))),
            "{run}: the oversized command wrote nothing"
        );
    }
}

#[test]
fn limits_end_runs_through_crashes() {
    run_seeds(
        "limits_end_runs_through_crashes",
        &[0, 1, 2],
        Duration::from_secs(900),
        scenario,
    );
}
