//! Continue-as-new (spec §5.21): a run closes and the next starts in one write, same
//! workflow id, new run id, new arguments, memo carried; the client's result follows the
//! chain; signals sent while a run is closing are not lost — the engine refuses the close
//! until the workflow has seen them.

use std::time::Duration;

use endure::workflow::{WorkflowContext, WorkflowError};
use endure::*;
use endure_core::history::{EventAttributes, EventType, HistoryEvent, check_well_formed};

use crate::store_client;

/// Sums `add` signals until it has `expected` of them; every `per_run` signals it
/// continues as new carrying the sum, draining what arrived meanwhile first.
#[endure::workflow(name = "Accumulator")]
async fn accumulator(
    ctx: WorkflowContext,
    (run, total, count, expected, per_run): (u32, u64, u32, u32, u32),
) -> Result<(u32, u64), WorkflowError> {
    let adds = ctx.signal_channel("add");
    let (mut total, mut count) = (total, count);
    for _ in 0..per_run {
        if count == expected {
            break;
        }
        total += adds.recv_json::<u64>().await?;
        count += 1;
    }
    // Whatever arrived while this run worked belongs to it (Temporal's drain-then-continue
    // pattern); a signal arriving during the closing task makes the engine refuse the close.
    while let Some(payloads) = adds.try_recv() {
        total += endure::decode_arguments::<u64>(&payloads)?;
        count += 1;
    }
    if count >= expected {
        return Ok((run, total));
    }
    Err(ctx.continue_as_new(&(run + 1, total, count, expected, per_run)))
}

fn started(
    history: &[HistoryEvent],
) -> endure_core::history::WorkflowExecutionStartedEventAttributes {
    match &history[0].attributes {
        EventAttributes::WorkflowExecutionStarted(a) => (**a).clone(),
        other => panic!("not a start: {other:?}"),
    }
}

#[tokio::test]
async fn a_chain_of_runs_carries_its_state_and_loses_no_signal() {
    let (client, _store) = store_client().await;
    let queue = TaskQueueName::new("accumulate").unwrap();
    let (stop, running) = crate::run_registered::<accumulator>(&client, queue.clone());
    let mut options = StartWorkflowOptions::new(WorkflowId::new("sum-1").unwrap(), queue);
    options.memo = Memo::new().with("owner", Payload::json(&"ada").unwrap());
    let first = client
        .start::<accumulator>(options, &(1, 0, 0, 8, 2))
        .await
        .unwrap();
    let handle = client.handle(WorkflowId::new("sum-1").unwrap(), None);
    let mut sent = 0;
    // Two signals, then wait for the first continue-as-new, then the rest back to back:
    // some land while a run is closing.
    for value in 1..=2u64 {
        handle.signal("add", &value).await.unwrap();
        sent += value;
    }
    for _ in 0..1000 {
        if handle.describe().await.unwrap().execution.run_id != first.run_id().unwrap() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for value in 3..=8u64 {
        handle.signal("add", &value).await.unwrap();
        sent += value;
    }
    // Follows the chain from the first run to the last.
    let (runs, total): (u32, u64) = tokio::time::timeout(Duration::from_secs(30), first.result())
        .await
        .expect("the chain ends")
        .unwrap();
    assert!(runs >= 2, "{runs} runs");
    assert_eq!(total, sent, "every signal counted once");

    // Walk the chain from the first run.
    let mut run_id = first.run_id();
    let mut chain = Vec::new();
    while let Some(id) = run_id {
        let history = client
            .handle(WorkflowId::new("sum-1").unwrap(), Some(id))
            .history()
            .await
            .unwrap();
        check_well_formed(&history).unwrap();
        run_id = match &history.last().unwrap().attributes {
            EventAttributes::WorkflowExecutionContinuedAsNew(a) => Some(a.new_execution_run_id),
            _ => None,
        };
        chain.push((id, history));
    }
    assert_eq!(
        chain.len(),
        runs as usize,
        "the chain's length is the last run's number"
    );
    let first_run = chain[0].0;
    for (index, (id, history)) in chain.iter().enumerate() {
        let start = started(history);
        assert_eq!(start.first_execution_run_id, first_run);
        assert_eq!(start.original_execution_run_id, *id);
        assert_eq!(
            start
                .memo
                .get("owner")
                .map(|p| p.decode::<String>().unwrap()),
            Some("ada".to_owned()),
            "the memo is carried"
        );
        if index == 0 {
            assert_eq!(start.continued_execution_run_id, None);
        } else {
            assert_eq!(start.continued_execution_run_id, Some(chain[index - 1].0));
            assert_eq!(
                start.initiator,
                Some(endure_core::ContinueAsNewInitiator::Workflow)
            );
            let (run, _, _, _, _): (u32, u64, u32, u32, u32) =
                endure::decode_arguments(&start.input).unwrap();
            assert_eq!(run as usize, index + 1, "the arguments are the new run's");
        }
        let last = history.last().unwrap().event_type();
        if index + 1 < chain.len() {
            assert_eq!(last, EventType::WorkflowExecutionContinuedAsNew);
            // The closing event comes right after its task's completion.
            assert_eq!(
                history[history.len() - 2].event_type(),
                EventType::WorkflowTaskCompleted
            );
        } else {
            assert_eq!(last, EventType::WorkflowExecutionCompleted);
        }
    }
    // Every signal is in exactly one run's history, and the total counts each once.
    let mut recorded = 0u64;
    for (_, history) in &chain {
        for event in history {
            if let EventAttributes::WorkflowExecutionSignaled(a) = &event.attributes {
                recorded += endure::decode_arguments::<u64>(&a.input).unwrap();
            }
        }
    }
    assert_eq!(recorded, sent, "every signal was recorded once");
    // Describe and the handle without a run id see the last run.
    let description = handle.describe().await.unwrap();
    assert_eq!(description.execution.run_id, chain[chain.len() - 1].0);
    let _ = stop.send(());
    running.await.unwrap();
}

/// Records `markers` side effects, sleeps, and continues as new once the engine suggests
/// it; the new run reports what it saw.
#[endure::workflow(name = "Chatty")]
async fn chatty(ctx: WorkflowContext, markers: u32) -> Result<(bool, u64), WorkflowError> {
    for index in 0..markers {
        ctx.side_effect(|| index)?;
    }
    let _ = ctx.sleep(Duration::from_millis(1)).await;
    if ctx.is_continue_as_new_suggested() {
        return Err(ctx.continue_as_new(&0u32));
    }
    Ok((ctx.is_continue_as_new_suggested(), ctx.history_length()))
}

#[tokio::test]
async fn the_engine_suggests_continuing_as_new_past_4096_events() {
    let (client, _store) = store_client().await;
    let queue = TaskQueueName::new("chatty").unwrap();
    let (stop, running) = crate::run_registered::<chatty>(&client, queue.clone());
    let handle = client
        .start::<chatty>(
            StartWorkflowOptions::new(WorkflowId::new("chatty-1").unwrap(), queue),
            &4_100,
        )
        .await
        .unwrap();
    let (suggested, length): (bool, u64) = handle.result().await.unwrap();
    assert!(!suggested, "the new run is short");
    assert!(length < 20, "{length}");
    let first = handle.history().await.unwrap();
    assert_eq!(
        first.last().map(HistoryEvent::event_type),
        Some(EventType::WorkflowExecutionContinuedAsNew)
    );
    let suggested_at: Vec<u64> = first
        .iter()
        .filter_map(|event| match &event.attributes {
            EventAttributes::WorkflowTaskStarted(a) if a.suggest_continue_as_new => {
                Some(event.event_id.get())
            }
            _ => None,
        })
        .collect();
    assert!(
        !suggested_at.is_empty() && suggested_at.iter().all(|id| *id > 4_096),
        "suggested only past 4,096 events: {suggested_at:?}"
    );
    let _ = stop.send(());
    running.await.unwrap();
}
