//! Execution slots: a worker's pollers hand tasks over and poll again, so one poller keeps
//! as many activities running as the worker has slots for, and never more.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use endure::activity::ActivityDefinition;
use endure::workflow::{WorkflowContext, WorkflowError};
use endure::*;
use endure_core::EventAttributes;
use endure_core::history::{EventType, check_well_formed};

use crate::{spawn_worker, store_client};

struct Gate;

impl ActivityDefinition for Gate {
    const NAME: &'static str = "Gate";
    type Input = u32;
    type Output = u32;
}

async fn gated(ctx: WorkflowContext, number: u32) -> Result<u32, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions::with_start_to_close_timeout(
        Duration::from_secs(30),
    ));
    Ok(ctx.run_activity::<Gate>(&number).await?)
}

const SLOTS: usize = 4;
const WORKFLOWS: u32 = 8;

#[tokio::test]
async fn one_poller_keeps_every_activity_slot_busy_and_never_more() {
    let (client, _store) = store_client().await;
    let queue = TaskQueueName::new("gates").unwrap();
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions {
            workflow_pollers: 1,
            activity_pollers: 1,
            max_concurrent_activities: SLOTS,
            ..WorkerOptions::default()
        },
    );
    worker.register_workflow("Gated", gated);
    // Each activity waits until SLOTS of them run at once: with one poller that finishes
    // only if the poller went on polling while the others ran.
    let barrier = Arc::new(tokio::sync::Barrier::new(SLOTS));
    let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    {
        let (barrier, running, most) = (
            Arc::clone(&barrier),
            Arc::clone(&running),
            Arc::clone(&most),
        );
        worker.register_activity::<Gate, _, _>(move |_ctx: ActivityContext, number: u32| {
            let (barrier, running, most) = (
                Arc::clone(&barrier),
                Arc::clone(&running),
                Arc::clone(&most),
            );
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                barrier.wait().await;
                running.fetch_sub(1, Ordering::SeqCst);
                Ok(number * 10)
            }
        });
    }
    let (stop, stopped) = spawn_worker(worker);
    let mut handles = Vec::new();
    for number in 0..WORKFLOWS {
        let id = WorkflowId::new(format!("gated-{number}")).unwrap();
        handles.push(
            client
                .start_workflow(
                    StartWorkflowOptions::new(id, queue.clone()),
                    "Gated",
                    &number,
                )
                .await
                .unwrap(),
        );
    }
    for (number, handle) in (0..WORKFLOWS).zip(&handles) {
        let result: u32 = tokio::time::timeout(Duration::from_secs(30), handle.result())
            .await
            .expect("every activity passes its gate")
            .unwrap();
        assert_eq!(result, number * 10);
        let history = handle.history().await.unwrap();
        check_well_formed(&history).unwrap();
        let types: Vec<EventType> = history.iter().map(|event| event.event_type()).collect();
        assert_eq!(types, crate::ONE_ACTIVITY_HISTORY);
        let EventAttributes::ActivityTaskCompleted(completed) = &history[6].attributes else {
            panic!("event 7 is {:?}", history[6]);
        };
        assert_eq!(
            (completed.scheduled_event_id, completed.started_event_id),
            (history[4].event_id, history[5].event_id)
        );
    }
    assert_eq!(
        most.load(Ordering::SeqCst),
        SLOTS,
        "never more than the slots"
    );
    let _ = stop.send(());
    stopped.await.unwrap();
}
