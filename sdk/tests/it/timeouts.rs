//! Per-call deadlines (Go's `context.WithTimeout`): a client built `with_timeout` gives up
//! on a call — or on a whole wait for a result — after it, with `DeadlineExceeded`; and the
//! engine's query timeout is set from the embedded builder.

use std::time::Duration;

use endure::embedded::EngineConfig;
use endure::*;
use endure_core::history::SdkMetadata;
use endure_core::protocol::{
    CompleteWorkflowTaskRequest, PollWorkflowTaskRequest, PolledWorkflowTask,
};

fn queue() -> TaskQueueName {
    TaskQueueName::new("timeouts").unwrap()
}

#[tokio::test]
async fn a_result_wait_gives_up_at_the_clients_timeout() {
    let (client, _store) = crate::store_client().await;
    let options = StartWorkflowOptions::new(WorkflowId::new("no-worker").unwrap(), queue());
    let handle = client.start_workflow(options, "Nobody", &()).await.unwrap();
    // No worker: the run never closes. The client's wait ends at its timeout, not the
    // long poll's 60 s.
    let bounded = client.clone().with_timeout(Duration::from_millis(300));
    let waited = bounded
        .handle(handle.workflow_id().clone(), None)
        .result::<()>()
        .await;
    assert!(
        matches!(&waited, Err(ClientError::Remote(remote)) if remote.kind == ErrorKind::DeadlineExceeded && remote.message.contains("300ms")),
        "{waited:?}"
    );
    // A call that finishes in time is unaffected.
    let description = bounded
        .handle(handle.workflow_id().clone(), None)
        .describe()
        .await
        .unwrap();
    assert_eq!(description.status, WorkflowExecutionStatus::Running);
}

#[tokio::test]
async fn a_query_nobody_answers_fails_at_the_engines_query_timeout() {
    let directory = tempfile::tempdir().unwrap();
    let client = endure::embedded::open_with(
        directory.path().join("store.redb"),
        EngineConfig {
            query_timeout: Duration::from_millis(300),
            ..EngineConfig::default()
        },
    )
    .await
    .unwrap();
    let id = WorkflowId::new("silent").unwrap();
    let options = StartWorkflowOptions::new(id.clone(), queue());
    client.start_workflow(options, "Silent", &()).await.unwrap();
    // A raw worker takes the first task and completes it with nothing to do…
    let poll = || {
        PollWorkflowTaskRequest {
            namespace: Namespace::default(),
            task_queue: queue(),
            identity: "raw".into(),
            deployment_version: None,
            normal_queue: None,
        }
        .into_request()
    };
    let Response::PollWorkflowTask(Some(PolledWorkflowTask::Task(task))) =
        client.transport().call(poll()).await.unwrap()
    else {
        panic!("a workflow task");
    };
    client
        .rpc(CompleteWorkflowTaskRequest {
            execution: task.execution.clone(),
            token: task.token,
            commands: Vec::new(),
            identity: "raw".into(),
            sticky: None,
            force_create_workflow_task: false,
            sdk_metadata: SdkMetadata::default(),
            messages: Vec::new(),
            deployment_version: None,
            versioning_behavior: Default::default(),
        })
        .await
        .unwrap();
    // …then polls again, takes the query, and never answers it.
    let transport = client.transport();
    let silent = tokio::spawn(async move { transport.call(poll()).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = tokio::time::Instant::now();
    let answered = client.handle(id, None).query::<(), u32>("count", &()).await;
    assert!(
        matches!(&answered, Err(ClientError::Remote(remote)) if remote.kind == ErrorKind::DeadlineExceeded),
        "{answered:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the engine's 300 ms, not its 20 s default"
    );
    assert!(matches!(
        silent.await.unwrap(),
        Ok(Response::PollWorkflowTask(Some(PolledWorkflowTask::Query(
            _
        ))))
    ));
}
