//! Updates through the engine's API, the worker played by hand: an update sent while the
//! run's closing continue-as-new task is in flight lands on the next run; an accepted
//! update is found again after a restart (its record is durable) while an update only
//! admitted is gone with the process and taken afresh when sent again.

use std::sync::Arc;
use std::time::Duration;

use endure_core::execution::{Reply, WorkflowTaskCompletion};
use endure_core::history::{EventType, SdkMetadata, check_well_formed};
use endure_core::protocol::{UpdateWorkflowRequest, WorkflowTaskForWorker};
use endure_core::time::Timestamp;
use endure_core::*;
use endure_server::clock::ManualClock;
use endure_server::engine::*;
use endure_server::storage::MemoryStorage;

const T0: Timestamp = Timestamp::from_unix_seconds(1_795_860_000);

pub(crate) type TestEngine = Engine<MemoryStorage, ManualClock>;

pub(crate) fn queue() -> TaskQueueName {
    TaskQueueName::new("carts").unwrap()
}

pub(crate) fn workflow_id() -> WorkflowId {
    WorkflowId::new("cart").unwrap()
}

pub(crate) async fn engine(storage: &Arc<MemoryStorage>) -> TestEngine {
    Engine::with_ports(
        Arc::clone(storage),
        Arc::new(ManualClock::new(T0)),
        EngineConfig::default(),
    )
    .await
    .unwrap()
}

pub(crate) async fn start(engine: &TestEngine) {
    engine
        .start_workflow(StartWorkflowRequest {
            namespace: Namespace::default(),
            options: StartWorkflowOptions::new(workflow_id(), queue()),
            workflow_type: WorkflowType::new("Cart").unwrap(),
            input: Payloads::empty(),
            header: Header::new(),
            identity: "client".into(),
        })
        .await
        .unwrap();
}

pub(crate) fn update(id: &str, wait_for: UpdateStage) -> UpdateWorkflowRequest {
    UpdateWorkflowRequest {
        namespace: Namespace::default(),
        workflow_id: workflow_id(),
        run_id: None,
        request: UpdateRequest {
            update_id: UpdateId::new(id).unwrap(),
            identity: "client".into(),
            name: UpdateName::new("add_item").unwrap(),
            header: Header::new(),
            args: Payloads::empty(),
        },
        wait_for,
    }
}

pub(crate) async fn poll(engine: &TestEngine) -> WorkflowTaskForWorker {
    engine
        .poll_workflow_task(&Namespace::default(), &queue(), "worker")
        .await
        .unwrap()
        .expect("a workflow task")
}

pub(crate) async fn complete(
    engine: &TestEngine,
    task: &WorkflowTaskForWorker,
    commands: Vec<Command>,
    messages: Vec<UpdateMessage>,
) -> Reply {
    engine
        .complete_workflow_task(
            &task.execution,
            WorkflowTaskCompletion {
                token: task.token,
                commands,
                identity: "worker".into(),
                sticky: None,
                force_create_workflow_task: false,
                sdk_metadata: SdkMetadata::default(),
                next_run_id: RunId::from_u128(0),
                messages,
                deployment_version: None,
                versioning_behavior: Default::default(),
            },
        )
        .await
        .unwrap()
}

/// A continue-as-new with the same type, queue and options and no input.
pub(crate) fn continue_as_new() -> Command {
    Command::ContinueAsNewWorkflowExecution(Box::new(
        ContinueAsNewWorkflowExecutionCommandAttributes {
            workflow_type: None,
            task_queue: None,
            input: Payloads::empty(),
            workflow_run_timeout: None,
            workflow_task_timeout: None,
            backoff_start_interval: None,
            retry_policy: None,
            cron_schedule: None,
            header: Header::new(),
            memo: None,
            search_attributes: None,
        },
    ))
}

/// The acceptance of update `id`: its protocol command and message.
pub(crate) fn accept(id: &str) -> (Command, UpdateMessage) {
    (
        Command::ProtocolMessage(ProtocolMessageCommandAttributes {
            message_id: format!("{id}/accept"),
        }),
        UpdateMessage {
            id: format!("{id}/accept"),
            update_id: UpdateId::new(id).unwrap(),
            body: UpdateMessageBody::Acceptance,
        },
    )
}

/// Waits (in real time) until the engine has had the chance to admit a spawned update.
pub(crate) async fn settle() {
    tokio::time::sleep(Duration::from_millis(50)).await;
}

#[tokio::test]
async fn an_update_sent_during_a_closing_continue_as_new_lands_on_the_next_run() {
    let storage = Arc::new(MemoryStorage::new());
    let engine = engine(&storage).await;
    start(&engine).await;
    let first = poll(&engine).await;
    let sent = tokio::spawn({
        let engine = engine.clone();
        async move {
            engine
                .update_workflow(update("u1", UpdateStage::Accepted))
                .await
        }
    });
    settle().await;
    // The task in flight continues as new: the admitted update is aborted there and sent
    // again by the engine to the new run.
    let continue_as_new = continue_as_new();
    assert_eq!(
        complete(&engine, &first, vec![continue_as_new], vec![]).await,
        Reply::Accepted
    );
    settle().await;
    let second = poll(&engine).await;
    assert_ne!(second.execution.run_id, first.execution.run_id);
    assert_eq!(
        second.updates.len(),
        1,
        "the new run's first task carries it"
    );
    assert_eq!(second.updates[0].request.update_id.as_str(), "u1");
    let (command, message) = accept("u1");
    assert_eq!(
        complete(&engine, &second, vec![command], vec![message]).await,
        Reply::Accepted
    );
    let response = sent.await.unwrap().unwrap();
    assert_eq!(response.run_id, second.execution.run_id);
    assert_eq!(response.stage, UpdateStage::Accepted);
    let old = engine.history(&first.execution).await.unwrap();
    assert!(
        !old.iter()
            .any(|event| event.event_type() == EventType::WorkflowExecutionUpdateAccepted),
        "the closing run never took it"
    );
    let new = engine.history(&second.execution).await.unwrap();
    check_well_formed(&new).unwrap();
    let types: Vec<EventType> = new.iter().map(|event| event.event_type()).collect();
    assert_eq!(
        types,
        [
            EventType::WorkflowExecutionStarted,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
            EventType::WorkflowTaskCompleted,
            EventType::WorkflowExecutionUpdateAccepted,
        ]
    );
}

#[tokio::test]
async fn an_accepted_update_survives_a_restart_and_an_admitted_one_is_taken_afresh() {
    let storage = Arc::new(MemoryStorage::new());
    let engine_1 = engine(&storage).await;
    start(&engine_1).await;
    let first = poll(&engine_1).await;
    complete(&engine_1, &first, vec![], vec![]).await;
    let sent = tokio::spawn({
        let engine = engine_1.clone();
        async move {
            engine
                .update_workflow(update("u1", UpdateStage::Accepted))
                .await
        }
    });
    settle().await;
    let speculative = poll(&engine_1).await;
    assert_eq!(speculative.updates.len(), 1);
    let (command, message) = accept("u1");
    complete(&engine_1, &speculative, vec![command], vec![message]).await;
    assert_eq!(sent.await.unwrap().unwrap().stage, UpdateStage::Accepted);
    // Admitted but not yet delivered when the process goes away.
    let lost = tokio::spawn({
        let engine = engine_1.clone();
        async move {
            engine
                .update_workflow(update("u2", UpdateStage::Accepted))
                .await
        }
    });
    settle().await;
    drop(engine_1);
    lost.abort();

    let engine_2 = engine(&storage).await;
    // The accepted update is durable: sending it again answers at once, nothing new runs.
    let again = engine_2
        .update_workflow(update("u1", UpdateStage::Accepted))
        .await
        .unwrap();
    assert_eq!(again.stage, UpdateStage::Accepted);
    // The admitted one was lost with the process: sent again, it is taken afresh.
    let resent = tokio::spawn({
        let engine = engine_2.clone();
        async move {
            engine
                .update_workflow(update("u2", UpdateStage::Accepted))
                .await
        }
    });
    settle().await;
    let task = poll(&engine_2).await;
    let delivered: Vec<&str> = task
        .updates
        .iter()
        .map(|delivery| delivery.request.update_id.as_str())
        .collect();
    assert_eq!(delivered, ["u2"], "u1 is accepted already; u2 comes once");
    let (command, message) = accept("u2");
    complete(&engine_2, &task, vec![command], vec![message]).await;
    assert_eq!(resent.await.unwrap().unwrap().stage, UpdateStage::Accepted);
    let history = engine_2.history(&task.execution).await.unwrap();
    check_well_formed(&history).unwrap();
    let accepted: Vec<String> = history
        .iter()
        .filter_map(|event| match &event.attributes {
            EventAttributes::WorkflowExecutionUpdateAccepted(a) => {
                Some(a.protocol_instance_id.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(accepted, ["u1", "u2"]);
}
