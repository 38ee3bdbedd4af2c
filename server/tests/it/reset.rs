//! Reset through the engine's API, the worker played by hand: an update a reset reapplied
//! is durable — after a restart the new run's task still delivers it — and the running run
//! is terminated in the same write; a reset of a run that continued as new reapplies the
//! signals its successor received.

use std::sync::Arc;

use endure_core::execution::{ResetPoint, ResetReapply, ResetRequest, SignalRequest};
use endure_core::history::{EventType, check_well_formed};
use endure_core::*;
use endure_server::storage::MemoryStorage;

use crate::updates::{accept, complete, engine, poll, settle, start, update, workflow_id};

fn reset_to_first(request_id: &str) -> ResetRequest {
    ResetRequest {
        point: ResetPoint::FirstWorkflowTask,
        reason: "redo".into(),
        reapply: ResetReapply::SignalsAndUpdates,
        identity: "operator".into(),
        request_id: Some(RequestId::new(request_id).unwrap()),
    }
}

fn types(events: &[HistoryEvent]) -> Vec<EventType> {
    events.iter().map(HistoryEvent::event_type).collect()
}

#[tokio::test]
async fn a_reapplied_update_survives_a_restart() {
    let storage = Arc::new(MemoryStorage::new());
    let engine_1 = engine(&storage).await;
    start(&engine_1).await;
    let first = poll(&engine_1).await;
    complete(&engine_1, &first, vec![], vec![]).await;
    let sent = tokio::spawn({
        let engine = engine_1.clone();
        async move {
            engine
                .update_workflow(update("u1", UpdateStage::Accepted))
                .await
        }
    });
    settle().await;
    let speculative = poll(&engine_1).await;
    let (command, message) = accept("u1");
    complete(&engine_1, &speculative, vec![command], vec![message]).await;
    sent.await.unwrap().unwrap();

    let new_run = engine_1
        .reset_workflow(
            &Namespace::default(),
            &workflow_id(),
            None,
            reset_to_first("r1"),
        )
        .await
        .unwrap();
    let old = engine_1.history(&first.execution).await.unwrap();
    assert_eq!(
        old.last().unwrap().event_type(),
        EventType::WorkflowExecutionTerminated,
        "the open run is terminated by the reset"
    );
    drop(engine_1);

    let engine_2 = engine(&storage).await;
    // A retried reset finds the run the first one made.
    let again = engine_2
        .reset_workflow(
            &Namespace::default(),
            &workflow_id(),
            None,
            reset_to_first("r1"),
        )
        .await
        .unwrap();
    assert_eq!(again, new_run);
    let task = poll(&engine_2).await;
    assert_eq!(task.execution.run_id, new_run);
    let delivered: Vec<&str> = task
        .updates
        .iter()
        .map(|delivery| delivery.request.update_id.as_str())
        .collect();
    assert_eq!(
        delivered,
        ["u1"],
        "the reapplied update outlives the process"
    );
    let (command, message) = accept("u1");
    complete(&engine_2, &task, vec![command], vec![message]).await;
    let history = engine_2.history(&task.execution).await.unwrap();
    check_well_formed(&history).unwrap();
    assert_eq!(
        types(&history),
        [
            EventType::WorkflowExecutionStarted,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
            EventType::WorkflowTaskFailed,
            EventType::WorkflowExecutionUpdateAdmitted,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
            EventType::WorkflowTaskCompleted,
            EventType::WorkflowExecutionUpdateAccepted,
        ]
    );
    assert_eq!(history[..3], old[..3]);
}

#[tokio::test]
async fn a_reset_reapplies_the_signals_of_the_runs_that_continued_the_base() {
    let storage = Arc::new(MemoryStorage::new());
    let engine = engine(&storage).await;
    start(&engine).await;
    let first = poll(&engine).await;
    let continue_as_new = crate::updates::continue_as_new();
    complete(&engine, &first, vec![continue_as_new], vec![]).await;
    let second = poll(&engine).await;
    complete(&engine, &second, vec![], vec![]).await;
    engine
        .signal_workflow(
            &Namespace::default(),
            &workflow_id(),
            None,
            SignalRequest::new(
                SignalName::new("late").unwrap(),
                Payloads::empty(),
                "client",
            ),
        )
        .await
        .unwrap();
    // Reset the first run (closed, continued as new): the second run, current and open,
    // is terminated; its signal is reapplied to the new run.
    let new_run = engine
        .reset_workflow(
            &Namespace::default(),
            &workflow_id(),
            Some(first.execution.run_id),
            reset_to_first("r2"),
        )
        .await
        .unwrap();
    let second_history = engine.history(&second.execution).await.unwrap();
    assert_eq!(
        second_history.last().unwrap().event_type(),
        EventType::WorkflowExecutionTerminated
    );
    let task = poll(&engine).await;
    assert_eq!(task.execution.run_id, new_run);
    let history = engine.history(&task.execution).await.unwrap();
    assert_eq!(
        types(&history),
        [
            EventType::WorkflowExecutionStarted,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
            EventType::WorkflowTaskFailed,
            EventType::WorkflowExecutionSignaled,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
        ]
    );
    let EventAttributes::WorkflowTaskFailed(failed) = &history[3].attributes else {
        unreachable!()
    };
    assert_eq!(failed.base_run_id, Some(first.execution.run_id));
    assert_eq!(failed.new_run_id, Some(new_run));
    // A point with no completed task is refused with the reason.
    let error = engine
        .reset_workflow(
            &Namespace::default(),
            &workflow_id(),
            Some(first.execution.run_id),
            ResetRequest {
                point: ResetPoint::Event(EventId::new(2).unwrap()),
                ..reset_to_first("r3")
            },
        )
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("not the end of a started workflow task"),
        "{error}"
    );
}
