//! The search attribute registry end to end on the embedded engine: a filter naming an
//! attribute the namespace does not know is refused (as Temporal refuses it), attributes a
//! start or an upsert sets are registered on first use with their values' types, and
//! operators register, list and remove attributes explicitly.

use std::collections::BTreeMap;

use endure::workflow::{WorkflowContext, WorkflowError};
use endure::*;
use endure_core::history::{EventType, check_well_formed};

use crate::store_client;

/// Upserts `Stage = 2` (an attribute no one registered), then waits for `done`.
async fn staged(ctx: WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    ctx.upsert_search_attributes(SearchAttributes(BTreeMap::from([(
        "Stage".to_owned(),
        SearchAttributeValue::Int(2),
    )])))?;
    let _: () = ctx.signal_channel("done").recv_json().await?;
    Ok(())
}

fn refused(result: Result<Vec<WorkflowExecutionInfo>, ClientError>, name: &str) {
    match result {
        Err(ClientError::Remote(remote)) => {
            assert_eq!(remote.kind, ErrorKind::InvalidArgument, "{remote:?}");
            assert!(
                remote
                    .message
                    .contains(&format!("unknown search attribute {name:?}")),
                "{remote:?}"
            );
        }
        other => panic!("a filter on {name} should be refused: {other:?}"),
    }
}

#[tokio::test]
async fn filters_name_only_known_attributes_and_first_use_registers_them() {
    let (client, _store) = store_client().await;
    let queue = TaskQueueName::new("registry").unwrap();
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    worker.register_workflow("Staged", staged);
    let (stop, running) = crate::spawn_worker(worker);

    // Nothing set `Tier` or `Stage` yet: filters naming them are refused, not empty.
    refused(
        client.list_workflows_matching("Tier = 'gold'", 10).await,
        "Tier",
    );
    assert!(client.count_workflows_matching("Stage = 2").await.is_err());
    // System attributes are always known.
    assert!(
        client
            .list_workflows_matching(
                "WorkflowType = 'Staged' AND ExecutionStatus = 'Running'",
                10
            )
            .await
            .unwrap()
            .is_empty()
    );

    // A start that sets `Tier` registers it (as a keyword) before the run is written.
    let mut options = StartWorkflowOptions::new(WorkflowId::new("staged-1").unwrap(), queue);
    options
        .search_attributes
        .insert("Tier", SearchAttributeValue::Keyword("gold".into()));
    let run = client.start_workflow(options, "Staged", &()).await.unwrap();
    let listed = client
        .list_workflows_matching("Tier = 'gold'", 10)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);

    // The workflow's upsert registers `Stage` (an int) with the task that records it.
    let upserted = loop {
        let history = run.history().await.unwrap();
        if let Some(event) = history
            .iter()
            .find(|event| event.event_type() == EventType::UpsertWorkflowSearchAttributes)
        {
            break (event.clone(), history);
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    let (event, history) = upserted;
    check_well_formed(&history).unwrap();
    let EventAttributes::UpsertWorkflowSearchAttributes(attributes) = &event.attributes else {
        panic!("{event:?}");
    };
    assert_eq!(
        attributes.search_attributes.0.get("Stage"),
        Some(&SearchAttributeValue::Int(2))
    );
    // The upsert's back-reference is the completed workflow task that carried it.
    let completed = history
        .iter()
        .find(|e| e.event_id == attributes.workflow_task_completed_event_id)
        .unwrap();
    assert_eq!(completed.event_type(), EventType::WorkflowTaskCompleted);
    assert_eq!(
        client.count_workflows_matching("Stage = 2").await.unwrap(),
        1
    );

    let listing = client.list_search_attributes().await.unwrap();
    assert_eq!(
        listing.custom,
        BTreeMap::from([
            ("Stage".to_owned(), SearchAttributeType::Int),
            ("Tier".to_owned(), SearchAttributeType::Keyword),
        ])
    );
    assert_eq!(
        listing.system.get("ExecutionStatus"),
        Some(&SearchAttributeType::Keyword)
    );

    run.signal("done", &()).await.unwrap();
    run.result::<()>().await.unwrap();
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test]
async fn operators_register_list_and_remove_attributes() {
    let (client, _store) = store_client().await;
    refused(
        client.list_workflows_matching("Region = 'eu'", 10).await,
        "Region",
    );

    let listing = client
        .add_search_attributes([
            ("Region", SearchAttributeType::Keyword),
            ("Total", SearchAttributeType::Double),
        ])
        .await
        .unwrap();
    assert_eq!(listing.custom.len(), 2);
    assert!(
        client
            .list_workflows_matching("Region = 'eu' AND Total > 10", 10)
            .await
            .unwrap()
            .is_empty()
    );
    // The same again is fine; another type, a system name or a bad name is not.
    client
        .add_search_attributes([("Region", SearchAttributeType::Keyword)])
        .await
        .unwrap();
    for (name, kind, says) in [
        (
            "Region",
            SearchAttributeType::Int,
            "registered as Keyword, not Int",
        ),
        (
            "WorkflowId",
            SearchAttributeType::Keyword,
            "system search attribute",
        ),
        ("1st", SearchAttributeType::Keyword, "search attribute name"),
    ] {
        let error = client
            .add_search_attributes([(name, kind)])
            .await
            .unwrap_err();
        assert!(error.to_string().contains(says), "{name}: {error}");
    }

    // Removed, it is unknown again; removing it twice says so.
    let listing = client.remove_search_attributes(["Region"]).await.unwrap();
    assert_eq!(
        listing.custom,
        BTreeMap::from([("Total".to_owned(), SearchAttributeType::Double)])
    );
    refused(
        client.list_workflows_matching("Region = 'eu'", 10).await,
        "Region",
    );
    let error = client
        .remove_search_attributes(["Region"])
        .await
        .unwrap_err();
    assert!(error.to_string().contains("is not registered"), "{error}");

    // Each namespace has its own registry.
    let other = client.with_namespace(Namespace::new("elsewhere").unwrap());
    client
        .create_namespace(other.namespace().clone(), NamespaceConfig::default())
        .await
        .unwrap();
    refused(
        other.list_workflows_matching("Total > 1", 10).await,
        "Total",
    );
}
