//! Search attributes, memo and list filters end to end on the embedded engine over redb: a
//! workflow upserts typed search attributes and memo fields (recorded in history, seen by
//! list filters while it runs), runs are selected with the filter language, and a filter
//! that does not parse is refused with where and why.

use std::collections::BTreeMap;
use std::time::Duration;

use endure::workflow::{WorkflowContext, WorkflowError};
use endure::*;
use endure_core::history::{EventType, HistoryEvent, check_well_formed};
use endure_core::{EventAttributes, Payload, PayloadMap};

use crate::store_client;

/// Tags itself with its customer and amount, then waits for `ship`.
async fn order(
    ctx: WorkflowContext,
    (customer, amount): (String, i64),
) -> Result<(), WorkflowError> {
    let mut attributes = BTreeMap::new();
    attributes.insert(
        "CustomerId".to_owned(),
        SearchAttributeValue::Keyword(customer),
    );
    attributes.insert("Amount".to_owned(), SearchAttributeValue::Int(amount));
    ctx.upsert_search_attributes(SearchAttributes(attributes))?;
    let mut memo = BTreeMap::new();
    memo.insert("note".to_owned(), Payload::json(&"gift wrap")?);
    ctx.upsert_memo(PayloadMap(memo))?;
    assert_eq!(
        ctx.search_attributes().0.get("Amount"),
        Some(&SearchAttributeValue::Int(amount))
    );
    // A reserved name is refused in the workflow, before anything is recorded.
    let mut reserved = BTreeMap::new();
    reserved.insert(
        "WorkflowId".to_owned(),
        SearchAttributeValue::Keyword("x".into()),
    );
    assert!(
        ctx.upsert_search_attributes(SearchAttributes(reserved))
            .is_err()
    );
    let _: String = ctx.signal_channel("ship").recv_json().await?;
    // Shipped: the customer key is removed (Temporal's unset), the amount stays.
    let mut removal = SearchAttributes::default();
    removal.unset("CustomerId");
    ctx.upsert_search_attributes(removal)?;
    assert!(!ctx.search_attributes().0.contains_key("CustomerId"));
    Ok(())
}

async fn ids(client: &Client, filter: &str) -> Vec<String> {
    let mut ids: Vec<String> = client
        .list_workflows_matching(filter, 100)
        .await
        .unwrap_or_else(|error| panic!("{filter}: {error}"))
        .into_iter()
        .map(|row| row.execution.workflow_id.to_string())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn upserted_attributes_are_listed_by_filters() {
    let (client, _store) = store_client().await;
    let queue = TaskQueueName::new("visibility").unwrap();
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    worker.register_workflow("Order", order);
    let (stop, running) = crate::spawn_worker(worker);
    for (id, customer, amount) in [
        ("o-1", "ada", 120_i64),
        ("o-2", "bob", 40),
        ("o-3", "ada", 15),
    ] {
        let options = StartWorkflowOptions::new(WorkflowId::new(id).unwrap(), queue.clone());
        client
            .start_workflow(options, "Order", &(customer, amount))
            .await
            .unwrap();
    }
    // The upserts come with each run's first task: wait until all three are indexed.
    // Until a run has set it, `Amount` is unknown to the namespace and the filter is
    // refused (as Temporal refuses an unregistered attribute): that is "not yet".
    for _ in 0..500 {
        let listed = client
            .list_workflows_matching("Amount IS NOT NULL", 100)
            .await;
        if listed.is_ok_and(|rows| rows.len() == 3) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(ids(&client, "CustomerId = 'ada'").await, ["o-1", "o-3"]);
    assert_eq!(
        ids(&client, "CustomerId = 'ada' AND Amount > 100").await,
        ["o-1"]
    );
    assert_eq!(
        ids(&client, "WorkflowType = 'Order' AND ExecutionStatus = 'Running' AND StartTime > '2020-01-01T00:00:00Z'").await,
        ["o-1", "o-2", "o-3"]
    );
    client
        .handle(WorkflowId::new("o-2").unwrap(), None)
        .signal("ship", &"now")
        .await
        .unwrap();
    client
        .handle(WorkflowId::new("o-2").unwrap(), None)
        .result::<()>()
        .await
        .unwrap();
    assert_eq!(ids(&client, "ExecutionStatus = 'Completed'").await, ["o-2"]);
    assert_eq!(ids(&client, "CustomerId IS NULL").await, ["o-2"]);
    assert_eq!(
        ids(&client, "CustomerId = 'bob'").await,
        Vec::<String>::new()
    );
    assert_eq!(ids(&client, "Amount = 40").await, ["o-2"]);
    let shipped = client
        .handle(WorkflowId::new("o-2").unwrap(), None)
        .history()
        .await
        .unwrap();
    let upserts: Vec<&HistoryEvent> = shipped
        .iter()
        .filter(|event| event.event_type() == EventType::UpsertWorkflowSearchAttributes)
        .collect();
    assert_eq!(upserts.len(), 2, "{shipped:?}");
    let EventAttributes::UpsertWorkflowSearchAttributes(removal) = &upserts[1].attributes else {
        unreachable!()
    };
    assert_eq!(
        removal.search_attributes.0.get("CustomerId"),
        Some(&SearchAttributeValue::Unset)
    );
    let removed_in = removal.workflow_task_completed_event_id.get();
    assert_eq!(
        shipped[removed_in as usize - 1].event_type(),
        EventType::WorkflowTaskCompleted
    );
    assert_eq!(upserts[1].event_id.get(), removed_in + 1);
    assert_eq!(
        ids(
            &client,
            "ExecutionStatus = 'Running' AND Amount BETWEEN 10 AND 200"
        )
        .await,
        ["o-1", "o-3"]
    );
    assert_eq!(ids(&client, "CloseTime IS NOT NULL").await, ["o-2"]);

    // The row carries the memo; history records the upserts.
    let rows = client
        .list_workflows_matching("WorkflowId = 'o-1'", 10)
        .await
        .unwrap();
    assert!(rows[0].memo.0.contains_key("note"));
    let history = client
        .handle(WorkflowId::new("o-1").unwrap(), None)
        .history()
        .await
        .unwrap();
    check_well_formed(&history).unwrap();
    let types: Vec<EventType> = history.iter().map(|event| event.event_type()).collect();
    assert_eq!(
        types[..6],
        [
            EventType::WorkflowExecutionStarted,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
            EventType::WorkflowTaskCompleted,
            EventType::UpsertWorkflowSearchAttributes,
            EventType::WorkflowPropertiesModified,
        ]
    );
    let EventAttributes::UpsertWorkflowSearchAttributes(upsert) = &history[4].attributes else {
        unreachable!()
    };
    assert_eq!(upsert.workflow_task_completed_event_id.get(), 4);

    // A bad filter is refused before it is sent.
    let error = client
        .list_workflows_matching("Amount >", 10)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ClientError::BadFilter(bad) if bad.position == 8),
        "{error}"
    );
    assert!(error.to_string().contains("expected a value"), "{error}");
    let _ = stop.send(());
    running.await.unwrap();
}
