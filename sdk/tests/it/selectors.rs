//! Selector branches that block (Go's `AddFuture` with a callback that runs an activity):
//! once a branch's future is ready the select commits to it and runs its async handler to
//! the end, even when another branch becomes ready meanwhile; that one is taken by the
//! next select. Replayed from history the same way.

use std::time::Duration;

use endure::activity::ActivityDefinition;
use endure::workflow::{ActivityError, Selector, WorkflowContext, WorkflowError};
use endure::*;

use crate::store_client;

struct Slow;

impl ActivityDefinition for Slow {
    const NAME: &'static str = "Slow";
    type Input = String;
    type Output = String;
}

/// Two timers raced; the first's branch runs an activity that outlasts the second timer.
#[endure::workflow(name = "Racer")]
async fn racer(ctx: WorkflowContext, (): ()) -> Result<Vec<String>, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions::with_start_to_close_timeout(
        Duration::from_secs(10),
    ));
    let activity_ctx = ctx.clone();
    let mut selector = Selector::new();
    selector.add_future_async(ctx.timer(Duration::from_millis(100)), move |_| async move {
        activity_ctx
            .run_activity::<Slow>(&"first".to_owned())
            .await
            .unwrap_or_else(|error| error.to_string())
    });
    selector.add_future(ctx.timer(Duration::from_millis(200)), |_| {
        "second".to_owned()
    });
    let mut order = Vec::new();
    while let Some(value) = selector.select().await {
        order.push(value);
    }
    Ok(order)
}

#[tokio::test]
async fn an_async_branch_runs_to_its_end_before_the_next_is_taken() {
    let (client, _store) = store_client().await;
    let queue = TaskQueueName::new("selectors").unwrap();
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    worker.register::<racer>();
    worker.register_activity::<Slow, _, _>(|_ctx, label: String| async move {
        tokio::time::sleep(Duration::from_millis(400)).await;
        Ok::<_, ActivityError>(format!("{label} after its activity"))
    });
    let (stop, running) = crate::spawn_worker(worker);
    let options = StartWorkflowOptions::new(WorkflowId::new("racer").unwrap(), queue);
    let order: Vec<String> = client
        .execute_workflow(options, "Racer", &())
        .await
        .unwrap();
    assert_eq!(order, ["first after its activity", "second"]);
    let history = client
        .handle(WorkflowId::new("racer").unwrap(), None)
        .history()
        .await
        .unwrap();
    // The second timer fired while the first branch's activity ran.
    let position = |wanted: EventType| {
        history
            .iter()
            .position(|event| event.event_type() == wanted)
            .unwrap()
    };
    assert!(position(EventType::ActivityTaskScheduled) < history.len());
    let second_fired = history
        .iter()
        .filter(|event| event.event_type() == EventType::TimerFired)
        .nth(1)
        .map(|event| event.event_id)
        .unwrap();
    let completed = history[position(EventType::ActivityTaskCompleted)].event_id;
    assert!(second_fired < completed, "{history:#?}");
    Replayer::for_workflow::<racer>()
        .replay_history(&history)
        .unwrap();
    let _ = stop.send(());
    running.await.unwrap();
}
