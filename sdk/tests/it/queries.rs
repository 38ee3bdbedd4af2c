//! Queries (spec §5.19.1): synchronous read-only handlers answered from the cached run or
//! by replay (after a restart, or once the run closed); errors for unknown types and
//! failing handlers leave the workflow untouched; the built-in `__stack_trace`; queries
//! never write history.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use endure::workflow::{STACK_TRACE_QUERY, WorkflowContext, WorkflowError};
use endure::*;
use endure_core::history::EventType;
use endure_core::protocol::ErrorKind;
use parking_lot::Mutex;

use crate::store_client;

/// Adds `add` signals to a count until a zero arrives; answers `count` and `count_plus`.
#[endure::workflow(name = "Counter")]
async fn counter(ctx: WorkflowContext, start: u32) -> Result<u32, WorkflowError> {
    let count = Arc::new(Mutex::new(start));
    let shared = Arc::clone(&count);
    ctx.set_query_handler("count", move |(): ()| Ok::<_, Infallible>(*shared.lock()));
    let shared = Arc::clone(&count);
    ctx.set_query_handler("count_plus", move |extra: u32| {
        if extra > 100 {
            Err(format!("{extra} is too big"))
        } else {
            Ok(*shared.lock() + extra)
        }
    });
    let adds = ctx.signal_channel("add");
    loop {
        let add: u32 = adds.recv_json().await?;
        if add == 0 {
            break;
        }
        *count.lock() += add;
    }
    let total = *count.lock();
    Ok(total)
}

fn queue() -> TaskQueueName {
    TaskQueueName::new("counters").unwrap()
}

/// Waits until `count` workflow tasks completed.
async fn completed_tasks(handle: &WorkflowHandle, count: usize) -> usize {
    loop {
        let history = handle.history().await.unwrap();
        let completed = history
            .iter()
            .filter(|event| event.event_type() == EventType::WorkflowTaskCompleted)
            .count();
        if completed >= count {
            return history.len();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn queries_read_the_running_workflow_and_write_nothing() {
    let (client, _store) = store_client().await;
    let handle = client
        .start::<counter>(
            StartWorkflowOptions::new(WorkflowId::new("counter-1").unwrap(), queue()),
            &10,
        )
        .await
        .unwrap();
    // Before its first workflow task the workflow has no handlers to ask.
    let early = handle.query::<_, u32>("count", &()).await.unwrap_err();
    assert!(
        matches!(&early, ClientError::Remote(error) if error.kind == ErrorKind::FailedPrecondition),
        "{early}"
    );
    let (stop, running) = crate::run_registered::<counter>(&client, queue());
    completed_tasks(&handle, 1).await;
    assert_eq!(handle.query::<_, u32>("count", &()).await.unwrap(), 10);
    handle.signal("add", &5u32).await.unwrap();
    let length = completed_tasks(&handle, 2).await;
    assert_eq!(handle.query::<_, u32>("count", &()).await.unwrap(), 15);
    assert_eq!(
        handle.query::<_, u32>("count_plus", &100u32).await.unwrap(),
        115
    );
    let failed = handle
        .query::<_, u32>("count_plus", &101u32)
        .await
        .unwrap_err();
    assert!(
        matches!(&failed, ClientError::QueryFailed(message) if message == "101 is too big"),
        "{failed}"
    );
    let unknown = handle.query::<_, u32>("nope", &()).await.unwrap_err();
    assert!(
        matches!(&unknown, ClientError::QueryFailed(message)
            if message.contains("unknown query type nope") && message.contains("count_plus")),
        "{unknown}"
    );
    let trace = handle
        .query::<_, String>(STACK_TRACE_QUERY, &())
        .await
        .unwrap();
    assert!(trace.contains("waiting on signal channel add"), "{trace}");
    assert_eq!(
        handle.history().await.unwrap().len(),
        length,
        "queries wrote nothing"
    );
    // The workflow is unaffected by the failed queries.
    handle.signal("add", &0u32).await.unwrap();
    assert_eq!(handle.result::<u32>().await.unwrap(), 15);
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test]
async fn a_worker_without_the_run_and_a_closed_run_answer_by_replay() {
    let (client, _store) = store_client().await;
    let handle = client
        .start::<counter>(
            StartWorkflowOptions::new(WorkflowId::new("counter-2").unwrap(), queue()),
            &1,
        )
        .await
        .unwrap();
    // Signalled before any worker runs: the first task sees both.
    handle.signal("add", &2u32).await.unwrap();
    let (stop, running) = crate::run_registered::<counter>(&client, queue());
    completed_tasks(&handle, 1).await;
    let _ = stop.send(());
    running.await.unwrap();
    // A fresh worker: nothing cached, so it replays the history to answer.
    let (stop, running) = crate::run_registered::<counter>(&client, queue());
    assert_eq!(handle.query::<_, u32>("count", &()).await.unwrap(), 3);
    handle.signal("add", &4u32).await.unwrap();
    handle.signal("add", &0u32).await.unwrap();
    assert_eq!(handle.result::<u32>().await.unwrap(), 7);
    // Closed: still answered, from the final state.
    assert_eq!(handle.query::<_, u32>("count", &()).await.unwrap(), 7);
    let _ = stop.send(());
    running.await.unwrap();
}
