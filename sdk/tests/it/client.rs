//! The client's read side: listing workflows by visibility filters and paging history.

use std::sync::Arc;
use std::sync::atomic::AtomicU32;

use endure::*;

use crate::quickstart::start_worker;
use crate::redb_client;

#[tokio::test]
async fn list_and_paged_history_through_the_client() {
    use endure_core::storage::VisibilityQuery;
    let (client, _store) = redb_client().await;
    let (stop, running) = start_worker(&client, Arc::new(AtomicU32::new(0)), false);
    let queue = TaskQueueName::new("my-task-queue").unwrap();
    for id in ["list-a", "list-b"] {
        let _: String = client
            .execute_workflow(
                StartWorkflowOptions::new(WorkflowId::new(id).unwrap(), queue.clone()),
                "OrderWorkflow",
                &"user_123",
            )
            .await
            .unwrap();
    }
    let open = client
        .start_workflow(
            StartWorkflowOptions::new(WorkflowId::new("list-c").unwrap(), queue.clone()),
            "Unregistered",
            &(),
        )
        .await
        .unwrap();
    let all = client
        .list_workflows(VisibilityQuery::default(), 0, 10)
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    let completed = VisibilityQuery {
        status: Some(WorkflowExecutionStatus::Completed),
        ..VisibilityQuery::default()
    };
    let mut ids: Vec<String> = client
        .list_workflows(completed, 0, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.execution.workflow_id.to_string())
        .collect();
    ids.sort();
    assert_eq!(ids, ["list-a", "list-b"]);
    let running_only = VisibilityQuery {
        status: Some(WorkflowExecutionStatus::Running),
        ..VisibilityQuery::default()
    };
    let rows = client.list_workflows(running_only, 0, 10).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0].execution.workflow_id, open.workflow_id());
    let page = client
        .handle(WorkflowId::new("list-a").unwrap(), None)
        .history_page(endure_core::EventId::FIRST)
        .await
        .unwrap();
    assert_eq!(page.events.len(), 16);
    assert_eq!(page.next_event_id, None, "a short history fits one page");
    let _ = stop.send(());
    running.await.unwrap();
}
