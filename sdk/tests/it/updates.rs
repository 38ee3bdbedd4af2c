//! Updates end to end (spec §5.19.3) on the embedded engine over redb: handlers with
//! validators, a rejected update leaving no history, accepted ones written as UpdateAccepted
//! then UpdateCompleted, update ids deduplicating, waiting for the accepted stage, and
//! update-with-start ending a start delay.

use std::sync::Arc;
use std::time::Duration;

use endure::workflow::{WorkflowContext, WorkflowError};
use endure::*;
use endure_core::history::{EventAttributes, HistoryEvent, check_well_formed};
use parking_lot::Mutex;

use crate::store_client;

/// A cart: `add_item` (validated: no empty item) sleeps a moment, then adds the item and
/// returns the count; `checkout` ends the workflow once every handler finished.
#[endure::workflow(name = "Cart")]
async fn cart(ctx: WorkflowContext, _owner: String) -> Result<Vec<String>, WorkflowError> {
    let items = Arc::new(Mutex::new(Vec::<String>::new()));
    let checked_out = Arc::new(Mutex::new(false));
    let added = Arc::clone(&items);
    ctx.set_update_handler_with_validator(
        "add_item",
        move |ctx: WorkflowContext, item: String| {
            let items = Arc::clone(&added);
            async move {
                ctx.sleep(Duration::from_millis(20)).await?;
                let mut items = items.lock();
                items.push(item);
                Ok(items.len())
            }
        },
        |item: &String| {
            if item.is_empty() {
                Err("an item needs a name")
            } else {
                Ok(())
            }
        },
    );
    let flag = Arc::clone(&checked_out);
    let counted = Arc::clone(&items);
    ctx.set_update_handler("checkout", move |_ctx: WorkflowContext, (): ()| {
        let flag = Arc::clone(&flag);
        let counted = Arc::clone(&counted);
        async move {
            *flag.lock() = true;
            Ok(counted.lock().len())
        }
    });
    let done = Arc::clone(&checked_out);
    ctx.wait_condition(move || *done.lock()).await;
    ctx.all_handlers_finished().await;
    let items = items.lock().clone();
    Ok(items)
}

/// One line per event: id, type, and the update-specific fields that matter.
fn render(history: &[HistoryEvent]) -> Vec<String> {
    history
        .iter()
        .map(|event| {
            let detail = match &event.attributes {
                EventAttributes::WorkflowExecutionUpdateAccepted(a) => format!(
                    " {} {} after={}",
                    a.protocol_instance_id,
                    a.accepted_request.name,
                    a.accepted_request_sequencing_event_id
                ),
                EventAttributes::WorkflowExecutionUpdateCompleted(a) => {
                    format!(" {} accepted={}", a.update_id, a.accepted_event_id)
                }
                _ => String::new(),
            };
            format!("{} {}{detail}", event.event_id, event.event_type())
        })
        .collect()
}

fn with_id(id: &str) -> UpdateOptions {
    UpdateOptions {
        update_id: Some(id.into()),
        ..UpdateOptions::default()
    }
}

#[tokio::test]
async fn updates_are_validated_recorded_and_deduplicated() {
    let (client, _store) = store_client().await;
    let queue = TaskQueueName::new("carts").unwrap();
    let (stop, running) = crate::run_registered::<cart>(&client, queue.clone());
    let options = StartWorkflowOptions::new(WorkflowId::new("cart-1").unwrap(), queue);
    let handle = client.start::<cart>(options, &"ada".into()).await.unwrap();

    let apple = handle
        .start_update("add_item", &"apple", with_id("add-apple"))
        .await
        .unwrap();
    assert_eq!(apple.result::<usize>().await.unwrap(), 1);
    let before_rejection = handle.history().await.unwrap().len();

    // The validator refuses: the client hears why, history keeps no trace.
    let rejected = handle.update::<_, usize>("add_item", &"").await;
    match rejected {
        Err(ClientError::UpdateFailed(failure)) => {
            assert!(
                failure.message.contains("an item needs a name"),
                "{failure:?}"
            );
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    // An unknown update is rejected the same way.
    assert!(matches!(
        handle.update::<_, usize>("remove_item", &"apple").await,
        Err(ClientError::UpdateFailed(_))
    ));
    assert_eq!(handle.history().await.unwrap().len(), before_rejection);

    // The same id again is the same update: its result, not a second apple.
    let again = handle
        .start_update("add_item", &"apple", with_id("add-apple"))
        .await
        .unwrap();
    assert_eq!(again.result::<usize>().await.unwrap(), 1);

    // Waiting for acceptance only returns before the handler finishes.
    let pear = handle
        .start_update(
            "add_item",
            &"pear",
            UpdateOptions {
                update_id: Some("add-pear".into()),
                wait_for_stage: UpdateStage::Accepted,
            },
        )
        .await
        .unwrap();
    assert_eq!(pear.result::<usize>().await.unwrap(), 2);
    let count: usize = handle.update("checkout", &()).await.unwrap();
    assert_eq!(count, 2);
    let items: Vec<String> = handle.result().await.unwrap();
    assert_eq!(items, ["apple", "pear"]);

    let history = handle.history().await.unwrap();
    check_well_formed(&history).unwrap();
    let lines = render(&history);
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let checkout_id = match &history[27].attributes {
        EventAttributes::WorkflowExecutionUpdateAccepted(a) => a.protocol_instance_id.clone(),
        other => panic!("not an acceptance: {other:?}"),
    };
    assert_eq!(
        lines,
        [
            "1 WorkflowExecutionStarted",
            "2 WorkflowTaskScheduled",
            "3 WorkflowTaskStarted",
            "4 WorkflowTaskCompleted",
            // add-apple: accepted by a speculative task, its handler sleeps, then completes.
            "5 WorkflowTaskScheduled",
            "6 WorkflowTaskStarted",
            "7 WorkflowTaskCompleted",
            "8 WorkflowExecutionUpdateAccepted add-apple add_item after=5",
            "9 TimerStarted",
            "10 TimerFired",
            "11 WorkflowTaskScheduled",
            "12 WorkflowTaskStarted",
            "13 WorkflowTaskCompleted",
            "14 WorkflowExecutionUpdateCompleted add-apple accepted=8",
            // The two rejections and the repeated add-apple wrote nothing.
            "15 WorkflowTaskScheduled",
            "16 WorkflowTaskStarted",
            "17 WorkflowTaskCompleted",
            "18 WorkflowExecutionUpdateAccepted add-pear add_item after=15",
            "19 TimerStarted",
            "20 TimerFired",
            "21 WorkflowTaskScheduled",
            "22 WorkflowTaskStarted",
            "23 WorkflowTaskCompleted",
            "24 WorkflowExecutionUpdateCompleted add-pear accepted=18",
            "25 WorkflowTaskScheduled",
            "26 WorkflowTaskStarted",
            "27 WorkflowTaskCompleted",
            &format!("28 WorkflowExecutionUpdateAccepted {checkout_id} checkout after=25"),
            &format!("29 WorkflowExecutionUpdateCompleted {checkout_id} accepted=28"),
            "30 WorkflowExecutionCompleted",
        ]
    );
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test]
async fn update_with_start_ends_the_start_delay_and_rides_the_first_task() {
    let (client, _store) = store_client().await;
    let queue = TaskQueueName::new("carts").unwrap();
    let (stop, running) = crate::run_registered::<cart>(&client, queue.clone());
    let mut options = StartWorkflowOptions::new(WorkflowId::new("cart-2").unwrap(), queue);
    options.start_delay = Some(Duration::from_secs(3600));
    options.id_conflict_policy = WorkflowIdConflictPolicy::UseExisting;
    let (handle, update) = client
        .update_with_start_workflow(
            options.clone(),
            "Cart",
            &"bob",
            "add_item",
            &"tea",
            with_id("add-tea"),
        )
        .await
        .unwrap();
    assert_eq!(update.result::<usize>().await.unwrap(), 1);
    // Again with the workflow running: the running run takes the update.
    let (again, second) = client
        .update_with_start_workflow(
            options,
            "Cart",
            &"bob",
            "add_item",
            &"milk",
            with_id("add-milk"),
        )
        .await
        .unwrap();
    assert_eq!(again.run_id(), handle.run_id());
    assert_eq!(second.result::<usize>().await.unwrap(), 2);
    let history = handle.history().await.unwrap();
    check_well_formed(&history).unwrap();
    let lines = render(&history);
    assert_eq!(
        &lines[..5],
        [
            "1 WorkflowExecutionStarted",
            "2 WorkflowTaskScheduled",
            "3 WorkflowTaskStarted",
            "4 WorkflowTaskCompleted",
            "5 WorkflowExecutionUpdateAccepted add-tea add_item after=2",
        ],
        "{lines:#?}"
    );
    match &history[0].attributes {
        EventAttributes::WorkflowExecutionStarted(a) => {
            assert_eq!(
                a.first_workflow_task_backoff,
                Some(Duration::from_secs(3600))
            );
        }
        other => panic!("{other:?}"),
    }
    handle.terminate("done").await.unwrap();
    let _ = stop.send(());
    running.await.unwrap();
}

/// Whether `flaky_counter`'s handler already panicked once (in this test process).
static PANICKED_ONCE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A counter whose `bump` handler panics the first time it runs, then works.
#[endure::workflow(name = "FlakyCounter")]
async fn flaky_counter(ctx: WorkflowContext, (): ()) -> Result<u32, WorkflowError> {
    let count = Arc::new(Mutex::new(0u32));
    let bumped = Arc::clone(&count);
    ctx.set_update_handler("bump", move |_ctx: WorkflowContext, (): ()| {
        let bumped = Arc::clone(&bumped);
        async move {
            if !PANICKED_ONCE.swap(true, std::sync::atomic::Ordering::SeqCst) {
                panic!("a handler bug, once");
            }
            let mut count = bumped.lock();
            *count += 1;
            Ok(*count)
        }
    });
    let done = Arc::clone(&count);
    ctx.wait_condition(move || *done.lock() > 0).await;
    ctx.all_handlers_finished().await;
    let total = *count.lock();
    Ok(total)
}

/// An update whose handler panics on its speculative task is not lost: the task is written
/// and failed, the update delivered again with the retry, and the client gets its answer.
#[tokio::test]
async fn an_update_survives_its_speculative_task_failing() {
    let (client, _store) = store_client().await;
    let queue = TaskQueueName::new("flaky").unwrap();
    let (stop, running) = crate::run_registered::<flaky_counter>(&client, queue.clone());
    let options = StartWorkflowOptions::new(WorkflowId::new("flaky-1").unwrap(), queue);
    let handle = client.start::<flaky_counter>(options, &()).await.unwrap();
    // Let the first task finish, so the update rides a speculative task of its own.
    for _ in 0..200 {
        if handle.describe().await.unwrap().history_length >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let count: u32 = handle.update("bump", &()).await.unwrap();
    assert_eq!(count, 1);
    assert_eq!(handle.result::<u32>().await.unwrap(), 1);
    let history = handle.history().await.unwrap();
    let lines: Vec<String> = history
        .iter()
        .map(|event| match &event.attributes {
            EventAttributes::WorkflowTaskFailed(a) => {
                format!("{} {} {:?}", event.event_id, event.event_type(), a.cause)
            }
            _ => format!("{} {}", event.event_id, event.event_type()),
        })
        .collect();
    assert_eq!(
        lines[..13],
        [
            "1 WorkflowExecutionStarted",
            "2 WorkflowTaskScheduled",
            "3 WorkflowTaskStarted",
            "4 WorkflowTaskCompleted",
            "5 WorkflowTaskScheduled",
            "6 WorkflowTaskStarted",
            "7 WorkflowTaskFailed WorkflowWorkerUnhandledFailure",
            "8 WorkflowTaskScheduled",
            "9 WorkflowTaskStarted",
            "10 WorkflowTaskCompleted",
            "11 WorkflowExecutionUpdateAccepted",
            "12 WorkflowExecutionUpdateCompleted",
            "13 WorkflowExecutionCompleted",
        ],
        "{lines:#?}"
    );
    check_well_formed(&history).unwrap();
    let _ = stop.send(());
    running.await.unwrap();
}

/// An update-with-start sent again after the run that took its update has closed answers
/// from that run (update ids outlive their run's close) and starts no second run.
#[tokio::test]
async fn an_update_with_start_repeated_after_the_run_closed_starts_no_second_run() {
    let (client, _store) = store_client().await;
    let queue = TaskQueueName::new("carts-once").unwrap();
    let (stop, running) = crate::run_registered::<cart>(&client, queue.clone());
    let mut options = StartWorkflowOptions::new(WorkflowId::new("cart-once").unwrap(), queue);
    options.id_conflict_policy = WorkflowIdConflictPolicy::UseExisting;
    options.request_id = Some("uws-tea".parse().unwrap());
    let (workflow, update) = client
        .update_with_start_workflow(
            options.clone(),
            "Cart",
            &"ada",
            "add_item",
            &"tea",
            with_id("add-tea"),
        )
        .await
        .unwrap();
    assert_eq!(update.result::<usize>().await.unwrap(), 1);
    let checked_out: usize = workflow.update("checkout", &()).await.unwrap();
    assert_eq!(checked_out, 1);
    assert_eq!(workflow.result::<Vec<String>>().await.unwrap(), ["tea"]);
    // Sent again after the run completed — by a client that does not keep its start's
    // request id, only the update's: the same run, the same answer.
    options.request_id = Some("uws-tea-again".parse().unwrap());
    let (again, update) = client
        .update_with_start_workflow(
            options,
            "Cart",
            &"ada",
            "add_item",
            &"tea",
            with_id("add-tea"),
        )
        .await
        .unwrap();
    assert_eq!(again.run_id(), workflow.run_id());
    assert_eq!(update.result::<usize>().await.unwrap(), 1);
    let rows = client
        .list_workflows(VisibilityQuery::default(), 0, 10)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "one run: {rows:?}");
    let _ = stop.send(());
    running.await.unwrap();
}

/// An update awaited by its id alone (Go's `GetWorkflowUpdateHandle`): a second client
/// that never saw the update's arguments gets its result; an id the run never accepted is
/// not found.
#[tokio::test]
async fn an_update_is_awaited_by_its_id_alone() {
    let directory = tempfile::tempdir().unwrap();
    let client = endure::embedded::open_with(
        directory.path().join("store.redb"),
        endure::embedded::EngineConfig {
            poll_wait: Duration::from_millis(500),
            ..endure::embedded::EngineConfig::default()
        },
    )
    .await
    .unwrap();
    let queue = TaskQueueName::new("carts-by-id").unwrap();
    let (stop, running) = crate::run_registered::<cart>(&client, queue.clone());
    let id = WorkflowId::new("cart-by-id").unwrap();
    let options = StartWorkflowOptions::new(id.clone(), queue);
    let handle = client.start::<cart>(options, &"ada".into()).await.unwrap();
    let sent = handle
        .start_update(
            "add_item",
            &"plum",
            UpdateOptions {
                update_id: Some("add-plum".into()),
                wait_for_stage: UpdateStage::Accepted,
            },
        )
        .await
        .unwrap();
    assert_eq!(sent.update_id().as_str(), "add-plum");
    let by_id = client.get_update_handle(id.clone(), None, UpdateId::new("add-plum").unwrap());
    assert_eq!(by_id.result::<usize>().await.unwrap(), 1);
    // Asked again once completed: answered from the run's record.
    assert_eq!(by_id.result::<usize>().await.unwrap(), 1);
    let unknown = client
        .get_update_handle(id, None, UpdateId::new("never-sent").unwrap())
        .result::<usize>()
        .await;
    assert!(
        matches!(&unknown, Err(ClientError::Remote(remote)) if remote.kind == ErrorKind::NotFound),
        "{unknown:?}"
    );
    let _ = stop.send(());
    running.await.unwrap();
}
