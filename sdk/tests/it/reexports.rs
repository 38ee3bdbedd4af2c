//! Everything the public API takes or returns is named through `endure` alone: this file
//! imports nothing from `endure-core`, and reads a history, a description, a list, a
//! health check and a typed error with `endure`'s names only.

use endure::{
    Client, ClientError, ErrorKind, EventAttributes, EventId, EventType, Health, HistoryEvent,
    StartWorkflowOptions, TaskQueueName, Timestamp, VisibilityQuery, WorkflowDescription,
    WorkflowExecutionInfo, WorkflowExecutionStatus, WorkflowId, limits,
};

/// What the client hands back, each under its `endure` name.
async fn read(client: &Client, id: &WorkflowId) -> (Vec<HistoryEvent>, WorkflowDescription) {
    let handle = client.handle(id.clone(), None);
    (
        handle.history().await.unwrap(),
        handle.describe().await.unwrap(),
    )
}

#[tokio::test]
async fn the_public_api_is_named_through_endure_alone() {
    let (client, _store) = crate::store_client().await;
    let id = WorkflowId::new("named").unwrap();
    let options = StartWorkflowOptions::new(id.clone(), TaskQueueName::new("q").unwrap());
    client.start_workflow(options, "Named", &()).await.unwrap();
    let (history, description) = read(&client, &id).await;
    assert_eq!(history[0].event_id, EventId::FIRST);
    assert_eq!(history[0].event_type(), EventType::WorkflowExecutionStarted);
    assert!(matches!(
        history[0].attributes,
        EventAttributes::WorkflowExecutionStarted(_)
    ));
    assert!(history[0].event_time > Timestamp::UNIX_EPOCH);
    assert_eq!(description.status, WorkflowExecutionStatus::Running);
    let rows: Vec<WorkflowExecutionInfo> = client
        .list_workflows(VisibilityQuery::default(), 0, 10)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let health: Health = client.health().await.unwrap();
    assert!(health.is_serving());
    let missing = client
        .handle(WorkflowId::new("missing").unwrap(), None)
        .describe()
        .await;
    assert!(
        matches!(&missing, Err(ClientError::Remote(remote)) if remote.kind == ErrorKind::NotFound),
        "{missing:?}"
    );
    assert_eq!(limits::ID_BYTES_MAX, 1000);
}
