//! Signals and cancel requests to other workflows (spec §5.19.2, §5.12): the sender's
//! Initiated event, the engine's delivery into the target's history (recording the
//! sender), and the outcome back in the sender's history — delivered or failed.

use endure::workflow::{WorkflowContext, WorkflowError};
use endure::*;
use endure_core::history::{EventAttributes, HistoryEvent, check_well_formed};

use crate::store_client;

/// Waits for one `ping` and returns it.
#[endure::workflow(name = "Receiver")]
async fn receiver(ctx: WorkflowContext) -> Result<String, WorkflowError> {
    let ping: String = ctx.signal_channel("ping").recv_json().await?;
    Ok(format!("got {ping}"))
}

/// Waits to be cancelled, then closes as canceled.
#[endure::workflow(name = "Victim")]
async fn victim(ctx: WorkflowContext) -> Result<(), WorkflowError> {
    ctx.cancelled().await;
    Err(WorkflowError::Canceled)
}

/// Signals the receiver, signals a workflow that does not exist, cancels the victim — one
/// after the other — and reports what happened.
#[endure::workflow(name = "Sender")]
async fn sender(ctx: WorkflowContext) -> Result<String, WorkflowError> {
    ctx.signal_external_workflow("receiver-1", None, "ping", &"hello")
        .await?;
    let missing = ctx
        .signal_external_workflow("nobody", None, "ping", &"hello")
        .await
        .expect_err("no such workflow");
    ctx.request_cancel_external_workflow("victim-1", None)
        .await?;
    Ok(format!("missing: {missing}"))
}

/// One line per event: id, type and back-references.
fn render(history: &[HistoryEvent]) -> Vec<String> {
    history
        .iter()
        .map(|event| {
            let mut line = format!("{} {}", event.event_id, event.event_type());
            for reference in event.attributes.back_references() {
                line.push_str(&format!(" {}={}", reference.field, reference.target));
            }
            line
        })
        .collect()
}

#[tokio::test]
async fn a_workflow_signals_and_cancels_others_and_hears_how_it_went() {
    let (client, _store) = store_client().await;
    let queue = TaskQueueName::new("external").unwrap();
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    worker.register::<receiver>();
    worker.register::<victim>();
    worker.register::<sender>();
    let (stop, running) = crate::spawn_worker(worker);
    let options = |id: &str| StartWorkflowOptions::new(WorkflowId::new(id).unwrap(), queue.clone());
    let receiving = client
        .start::<receiver>(options("receiver-1"), &())
        .await
        .unwrap();
    let victim = client
        .start::<victim>(options("victim-1"), &())
        .await
        .unwrap();
    let sending = client
        .start::<sender>(options("sender-1"), &())
        .await
        .unwrap();

    let result: String = sending.result().await.unwrap();
    assert!(result.contains("signal failed"), "{result}");
    assert_eq!(receiving.result::<String>().await.unwrap(), "got hello");
    assert!(
        victim.result::<()>().await.is_err(),
        "the victim was canceled"
    );

    let history = sending.history().await.unwrap();
    check_well_formed(&history).unwrap();
    assert_eq!(
        render(&history),
        [
            "1 WorkflowExecutionStarted",
            "2 WorkflowTaskScheduled",
            "3 WorkflowTaskStarted scheduled_event_id=2",
            "4 WorkflowTaskCompleted scheduled_event_id=2 started_event_id=3",
            "5 SignalExternalWorkflowExecutionInitiated workflow_task_completed_event_id=4",
            "6 ExternalWorkflowExecutionSignaled initiated_event_id=5",
            "7 WorkflowTaskScheduled",
            "8 WorkflowTaskStarted scheduled_event_id=7",
            "9 WorkflowTaskCompleted scheduled_event_id=7 started_event_id=8",
            "10 SignalExternalWorkflowExecutionInitiated workflow_task_completed_event_id=9",
            "11 SignalExternalWorkflowExecutionFailed workflow_task_completed_event_id=9 initiated_event_id=10",
            "12 WorkflowTaskScheduled",
            "13 WorkflowTaskStarted scheduled_event_id=12",
            "14 WorkflowTaskCompleted scheduled_event_id=12 started_event_id=13",
            "15 RequestCancelExternalWorkflowExecutionInitiated workflow_task_completed_event_id=14",
            "16 ExternalWorkflowExecutionCancelRequested initiated_event_id=15",
            "17 WorkflowTaskScheduled",
            "18 WorkflowTaskStarted scheduled_event_id=17",
            "19 WorkflowTaskCompleted scheduled_event_id=17 started_event_id=18",
            "20 WorkflowExecutionCompleted workflow_task_completed_event_id=19",
        ]
    );
    let sender_execution = WorkflowExecution {
        workflow_id: WorkflowId::new("sender-1").unwrap(),
        run_id: sending.run_id(),
    };

    // The receiver's signal names the sender and came from the engine.
    let received = receiving.history().await.unwrap();
    let signaled = received
        .iter()
        .find_map(|event| match &event.attributes {
            EventAttributes::WorkflowExecutionSignaled(a) => Some(a.clone()),
            _ => None,
        })
        .expect("the receiver was signalled");
    assert_eq!(signaled.signal_name.as_str(), "ping");
    assert_eq!(
        signaled.external_workflow_execution,
        Some(sender_execution.clone())
    );
    assert_eq!(signaled.identity, "endure-engine");
    assert!(signaled.request_id.is_some(), "deliveries are deduplicated");

    // The victim's cancel request names the sender's Initiated event.
    let canceled = victim.history().await.unwrap();
    let requested = canceled
        .iter()
        .find_map(|event| match &event.attributes {
            EventAttributes::WorkflowExecutionCancelRequested(a) => Some(a.clone()),
            _ => None,
        })
        .expect("the victim's cancel was requested");
    assert_eq!(
        requested.external_workflow_execution,
        Some(sender_execution)
    );
    assert_eq!(
        requested.external_initiated_event_id,
        endure_core::EventId::new(15)
    );
    assert_eq!(
        canceled.last().map(HistoryEvent::event_type),
        Some(endure_core::history::EventType::WorkflowExecutionCanceled)
    );

    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test]
async fn a_workflow_cannot_signal_itself_and_bad_names_fail_at_once() {
    #[endure::workflow(name = "Narcissus")]
    async fn narcissus(ctx: WorkflowContext) -> Result<Vec<String>, WorkflowError> {
        let mut errors = Vec::new();
        for outcome in [
            ctx.signal_external_workflow("narcissus-1", None, "mirror", &1)
                .await,
            ctx.signal_external_workflow("", None, "mirror", &1).await,
            ctx.request_cancel_external_workflow("narcissus-1", None)
                .await,
        ] {
            errors.push(outcome.expect_err("refused").to_string());
        }
        Ok(errors)
    }
    let (client, _store) = store_client().await;
    let queue = TaskQueueName::new("mirror").unwrap();
    let (stop, running) = crate::run_registered::<narcissus>(&client, queue.clone());
    let handle = client
        .start::<narcissus>(
            StartWorkflowOptions::new(WorkflowId::new("narcissus-1").unwrap(), queue),
            &(),
        )
        .await
        .unwrap();
    let errors: Vec<String> = handle.result().await.unwrap();
    assert_eq!(errors.len(), 3);
    assert!(
        errors[0].contains("ExternalWorkflowExecutionNotFound"),
        "{errors:?}"
    );
    assert!(errors[1].contains("workflow_id is empty"), "{errors:?}");
    assert!(
        errors[2].contains("ExternalWorkflowExecutionNotFound"),
        "{errors:?}"
    );
    let history = handle.history().await.unwrap();
    check_well_formed(&history).unwrap();
    let types: Vec<String> = history.iter().map(|e| e.event_type().to_string()).collect();
    assert!(
        !types.iter().any(|t| t == "WorkflowExecutionSignaled"),
        "nothing was delivered to itself: {types:?}"
    );
    let _ = stop.send(());
    running.await.unwrap();
}
