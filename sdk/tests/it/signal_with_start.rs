//! Signals (spec §5.19.2): signal-with-start starts a run carrying the signal or signals
//! the running one, and unlike a plain signal ends a start delay (§5.17.5); signals sent
//! before the workflow asks for its channel are kept, and a workflow drains what is left
//! with `try_recv` before completing.

use std::time::Duration;

use endure::workflow::{WorkflowContext, WorkflowError};
use endure::*;
use endure_core::history::{EventType, HistoryEvent, check_well_formed};

use crate::store_client;

/// Collects two `item` signals.
#[endure::workflow(name = "Cart")]
async fn cart(ctx: WorkflowContext, owner: String) -> Result<String, WorkflowError> {
    let items = ctx.signal_channel("item");
    let first: String = items.recv_json().await?;
    let second: String = items.recv_json().await?;
    Ok(format!("{owner}: {first}, {second}"))
}

fn types(history: &[HistoryEvent]) -> Vec<EventType> {
    history.iter().map(HistoryEvent::event_type).collect()
}

fn queue() -> TaskQueueName {
    TaskQueueName::new("carts").unwrap()
}

#[tokio::test]
async fn signal_with_start_starts_with_the_signal_then_signals_the_running_run() {
    let (client, _store) = store_client().await;
    let options = StartWorkflowOptions::new(WorkflowId::new("cart-1").unwrap(), queue());
    // No worker yet: the history shows exactly what signal-with-start wrote.
    let first = client
        .signal_with_start::<cart, _>(options.clone(), &"ada".to_owned(), "item", &"apple")
        .await
        .unwrap();
    let history = first.history().await.unwrap();
    use EventType::*;
    assert_eq!(
        types(&history),
        [
            WorkflowExecutionStarted,
            WorkflowExecutionSignaled,
            WorkflowTaskScheduled
        ]
    );
    let second = client
        .signal_with_start::<cart, _>(options, &"ignored".to_owned(), "item", &"pear")
        .await
        .unwrap();
    assert_eq!(
        second.run_id(),
        first.run_id(),
        "the running run was signalled"
    );
    let (stop, running) = crate::run_registered::<cart>(&client, queue());
    assert_eq!(first.result::<String>().await.unwrap(), "ada: apple, pear");
    let history = first.history().await.unwrap();
    check_well_formed(&history).unwrap();
    assert_eq!(
        types(&history)[..4],
        [
            WorkflowExecutionStarted,
            WorkflowExecutionSignaled,
            WorkflowTaskScheduled,
            WorkflowExecutionSignaled
        ]
    );
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test]
async fn a_plain_signal_waits_out_the_start_delay_but_signal_with_start_ends_it() {
    let (client, _store) = store_client().await;
    let (stop, running) = crate::run_registered::<cart>(&client, queue());
    let mut options = StartWorkflowOptions::new(WorkflowId::new("cart-2").unwrap(), queue());
    options.start_delay = Some(Duration::from_secs(3600));
    let handle = client
        .start::<cart>(options.clone(), &"bob".to_owned())
        .await
        .unwrap();
    handle.signal("item", &"plum").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    use EventType::*;
    assert_eq!(
        types(&handle.history().await.unwrap()),
        [WorkflowExecutionStarted, WorkflowExecutionSignaled],
        "a plain signal does not end the delay"
    );
    client
        .signal_with_start::<cart, _>(options, &"ignored".to_owned(), "item", &"fig")
        .await
        .unwrap();
    let result = tokio::time::timeout(Duration::from_secs(30), handle.result::<String>())
        .await
        .expect("the delay ended")
        .unwrap();
    assert_eq!(result, "bob: plum, fig");
    let history = handle.history().await.unwrap();
    assert_eq!(
        types(&history)[..4],
        [
            WorkflowExecutionStarted,
            WorkflowExecutionSignaled,
            WorkflowExecutionSignaled,
            WorkflowTaskScheduled
        ]
    );
    let _ = stop.send(());
    running.await.unwrap();
}

/// Takes one `item`, then drains whatever else arrived before returning.
#[endure::workflow(name = "Drainer")]
async fn drainer(ctx: WorkflowContext) -> Result<Vec<String>, WorkflowError> {
    let items = ctx.signal_channel("item");
    let first: String = items.recv_json().await?;
    let mut all = vec![first];
    while let Some(more) = items.try_recv() {
        let value: String = more
            .0
            .first()
            .ok_or_else(|| {
                WorkflowError::from(Failure::application("an empty signal", "EmptySignal"))
            })?
            .decode()?;
        all.push(value);
    }
    Ok(all)
}

#[tokio::test]
async fn signals_sent_before_the_channel_exists_are_kept_and_drained_before_completing() {
    let (client, _store) = store_client().await;
    let handle = client
        .start::<drainer>(
            StartWorkflowOptions::new(WorkflowId::new("drainer").unwrap(), queue()),
            &(),
        )
        .await
        .unwrap();
    for item in ["a", "b", "c"] {
        handle.signal("item", &item).await.unwrap();
    }
    let (stop, running) = crate::run_registered::<drainer>(&client, queue());
    assert_eq!(
        handle.result::<Vec<String>>().await.unwrap(),
        ["a", "b", "c"]
    );
    use EventType::*;
    assert_eq!(
        types(&handle.history().await.unwrap()),
        [
            WorkflowExecutionStarted,
            WorkflowTaskScheduled,
            WorkflowExecutionSignaled,
            WorkflowExecutionSignaled,
            WorkflowExecutionSignaled,
            WorkflowTaskStarted,
            WorkflowTaskCompleted,
            WorkflowExecutionCompleted
        ]
    );
    let _ = stop.send(());
    running.await.unwrap();
}

/// A signal-with-start sent again with the same request id after the run it signalled has
/// closed (a retry, or the network doubling it) is a duplicate: it answers with that run
/// and starts none — starting anew would deliver the signal twice.
#[tokio::test]
async fn a_signal_with_start_repeated_after_the_run_closed_starts_no_second_run() {
    let (client, _store) = store_client().await;
    let (stop, running) = crate::run_registered::<cart>(&client, queue());
    let id = WorkflowId::new("cart-once").unwrap();
    let mut first = StartWorkflowOptions::new(id.clone(), queue());
    first.request_id = Some("sws-apple".parse().unwrap());
    let started = client
        .signal_with_start::<cart, _>(first, &"ada".to_owned(), "item", &"apple")
        .await
        .unwrap();
    let mut second = StartWorkflowOptions::new(id.clone(), queue());
    second.request_id = Some("sws-pear".parse().unwrap());
    let signalled = client
        .signal_with_start::<cart, _>(second.clone(), &"ada".to_owned(), "item", &"pear")
        .await
        .unwrap();
    assert_eq!(signalled.run_id(), started.run_id());
    let result: String = started.result().await.unwrap();
    assert_eq!(result, "ada: apple, pear");

    // The pear's signal-with-start again, after the run completed.
    let again = client
        .signal_with_start::<cart, _>(second, &"ada".to_owned(), "item", &"pear")
        .await
        .unwrap();
    assert_eq!(
        again.run_id(),
        started.run_id(),
        "the run it reached before"
    );
    let description = client.handle(id.clone(), None).describe().await.unwrap();
    assert_eq!(description.execution.run_id, started.run_id().unwrap());
    assert_eq!(description.status, WorkflowExecutionStatus::Completed);
    let history = client.handle(id, None).history().await.unwrap();
    let signals = history
        .iter()
        .filter(|event| event.event_type() == EventType::WorkflowExecutionSignaled)
        .count();
    assert_eq!(signals, 2);
    check_well_formed(&history).unwrap();
    let _ = stop.send(());
    running.await.unwrap();
}
