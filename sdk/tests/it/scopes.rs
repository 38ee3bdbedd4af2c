//! Cancelling a scope reaches what was started in it at once (Go's `WithCancel`): its
//! timers are cancelled and its activities asked to cancel in the workflow task where the
//! scope was cancelled, even when nothing awaits them again — a timer held but never
//! polled, a timer moved into a selector.

use std::time::Duration;

use endure::workflow::{Selector, WorkflowContext, WorkflowError};
use endure::*;

use crate::store_client;

/// Starts a long timer and an activity nobody runs in a scope, and a second timer moved
/// into a selector; waits a second; cancels the scope and completes at once.
async fn scoped(ctx: WorkflowContext, (): ()) -> Result<String, WorkflowError> {
    let (scoped, cancel) = ctx.with_cancel();
    let scoped = scoped.with_activity_options(ActivityOptions {
        task_queue: Some(TaskQueueName::new("nobody-polls").unwrap()),
        ..ActivityOptions::with_start_to_close_timeout(Duration::from_secs(60))
    });
    let held = scoped.timer(Duration::from_secs(3600));
    let activity = scoped.execute_activity::<(), ()>("Never", &());
    let mut selector = Selector::new();
    selector.add_future(scoped.timer(Duration::from_secs(7200)), |_| ());
    let _ = ctx.sleep(Duration::from_secs(1)).await;
    cancel.cancel();
    drop((held, activity, selector));
    Ok("closed".into())
}

fn line(event: &HistoryEvent) -> String {
    let detail = match &event.attributes {
        EventAttributes::TimerStarted(a) => format!(" {}", a.timer_id),
        EventAttributes::TimerCanceled(a) => {
            format!(" {} started={}", a.timer_id, a.started_event_id)
        }
        EventAttributes::ActivityTaskCancelRequested(a) => {
            format!(" scheduled={}", a.scheduled_event_id)
        }
        EventAttributes::ActivityTaskCanceled(a) => format!(" scheduled={}", a.scheduled_event_id),
        EventAttributes::WorkflowExecutionCompleted(a) => {
            format!(" completed={}", a.workflow_task_completed_event_id)
        }
        _ => String::new(),
    };
    format!("{} {}{detail}", event.event_id, event.event_type())
}

#[tokio::test]
async fn cancelling_a_scope_cancels_its_timers_and_activities_in_the_same_task() {
    let (client, _store) = store_client().await;
    let queue = TaskQueueName::new("scopes").unwrap();
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    worker.register_workflow("Scoped", scoped);
    let (stop, running) = crate::spawn_worker(worker);
    let options = StartWorkflowOptions::new(WorkflowId::new("scoped-1").unwrap(), queue);
    let result: String = client
        .execute_workflow(options, "Scoped", &())
        .await
        .unwrap();
    assert_eq!(result, "closed");
    let history = client
        .handle(WorkflowId::new("scoped-1").unwrap(), None)
        .history()
        .await
        .unwrap();
    let lines: Vec<String> = history.iter().map(line).collect();
    assert_eq!(
        lines,
        [
            "1 WorkflowExecutionStarted",
            "2 WorkflowTaskScheduled",
            "3 WorkflowTaskStarted",
            "4 WorkflowTaskCompleted",
            "5 TimerStarted 1",
            "6 ActivityTaskScheduled",
            "7 TimerStarted 2",
            "8 TimerStarted 3",
            "9 TimerFired",
            "10 WorkflowTaskScheduled",
            "11 WorkflowTaskStarted",
            "12 WorkflowTaskCompleted",
            "13 TimerCanceled 1 started=5",
            "14 ActivityTaskCancelRequested scheduled=6",
            // Never started: cancelled at once, as Temporal does.
            "15 ActivityTaskCanceled scheduled=6",
            "16 TimerCanceled 2 started=7",
            "17 WorkflowExecutionCompleted completed=12",
        ],
        "{lines:#?}"
    );
    let _ = stop.send(());
    running.await.unwrap();
}
