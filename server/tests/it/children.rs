//! Child workflows through the engine's API, workers played by hand: the outbox starts a
//! child a parent initiated and reports its start; the child's chain ending is reported to
//! the parent; a closing parent terminates its child (TERMINATE) or leaves it (ABANDON).

use std::time::Duration;

use endure_core::history::{EventType, check_well_formed};
use endure_core::*;
use endure_server::storage::MemoryStorage;
use std::sync::Arc;

use crate::updates::{TestEngine, complete, engine, start};

pub(crate) fn child_command(id: &str, policy: ParentClosePolicy) -> Command {
    Command::StartChildWorkflowExecution(Box::new(StartChildWorkflowExecutionCommandAttributes {
        namespace: None,
        workflow_id: WorkflowId::new(id).unwrap(),
        workflow_type: WorkflowType::new("Child").unwrap(),
        task_queue: Some(TaskQueueName::new("children").unwrap()),
        input: Payloads::empty(),
        workflow_execution_timeout: None,
        workflow_run_timeout: None,
        workflow_task_timeout: None,
        parent_close_policy: policy,
        workflow_id_reuse_policy: WorkflowIdReusePolicy::default(),
        retry_policy: None,
        cron_schedule: None,
        header: Header::new(),
        memo: Memo::default(),
        search_attributes: SearchAttributes::default(),
    }))
}

pub(crate) fn complete_command() -> Command {
    Command::CompleteWorkflowExecution(CompleteWorkflowExecutionCommandAttributes { result: None })
}

async fn poll_on(engine: &TestEngine, queue: &str) -> endure_core::protocol::WorkflowTaskForWorker {
    engine
        .poll_workflow_task(
            &Namespace::default(),
            &TaskQueueName::new(queue).unwrap(),
            "worker",
        )
        .await
        .unwrap()
        .expect("a workflow task")
}

fn types(events: &[HistoryEvent]) -> Vec<EventType> {
    events.iter().map(HistoryEvent::event_type).collect()
}

/// Waits (in real time) until the parent's history has `count` events.
async fn await_events(
    engine: &TestEngine,
    key: &storage::ExecutionKey,
    count: usize,
) -> Vec<HistoryEvent> {
    for _ in 0..200 {
        let history = engine.history(key).await.unwrap();
        if history.len() >= count {
            return history;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{key:?} never reached {count} events");
}

#[tokio::test]
async fn a_child_is_started_and_its_result_reaches_the_parent() {
    let storage = Arc::new(MemoryStorage::new());
    let engine = engine(&storage).await;
    start(&engine).await;
    let parent_task = poll_on(&engine, "carts").await;
    complete(
        &engine,
        &parent_task,
        vec![child_command("child-1", ParentClosePolicy::Terminate)],
        vec![],
    )
    .await;
    let child_task = poll_on(&engine, "children").await;
    assert_eq!(child_task.execution.workflow_id.as_str(), "child-1");
    let child_history = engine.history(&child_task.execution).await.unwrap();
    let EventAttributes::WorkflowExecutionStarted(started) = &child_history[0].attributes else {
        unreachable!()
    };
    let parent = started.parent.as_ref().expect("the child knows its parent");
    assert_eq!(
        parent.workflow_execution.run_id,
        Some(parent_task.execution.run_id)
    );
    assert_eq!(parent.initiated_event_id.get(), 5);
    complete(&engine, &child_task, vec![complete_command()], vec![]).await;

    let history = await_events(&engine, &parent_task.execution, 8).await;
    check_well_formed(&history).unwrap();
    assert_eq!(
        types(&history),
        [
            EventType::WorkflowExecutionStarted,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
            EventType::WorkflowTaskCompleted,
            EventType::StartChildWorkflowExecutionInitiated,
            EventType::ChildWorkflowExecutionStarted,
            EventType::WorkflowTaskScheduled,
            EventType::ChildWorkflowExecutionCompleted,
        ]
    );
    let EventAttributes::ChildWorkflowExecutionCompleted(completed) = &history[7].attributes else {
        unreachable!()
    };
    assert_eq!(completed.child.started_event_id.get(), 6);
    assert_eq!(
        completed.child.workflow_execution.run_id,
        Some(child_task.execution.run_id)
    );
}

#[tokio::test]
async fn closing_the_parent_terminates_or_abandons_its_children() {
    let storage = Arc::new(MemoryStorage::new());
    let engine = engine(&storage).await;
    start(&engine).await;
    let parent_task = poll_on(&engine, "carts").await;
    complete(
        &engine,
        &parent_task,
        vec![
            child_command("terminated-child", ParentClosePolicy::Terminate),
            child_command("abandoned-child", ParentClosePolicy::Abandon),
        ],
        vec![],
    )
    .await;
    // Both children start; the parent is told (its next task).
    let history = await_events(&engine, &parent_task.execution, 9).await;
    assert_eq!(
        history
            .iter()
            .filter(|event| event.event_type() == EventType::ChildWorkflowExecutionStarted)
            .count(),
        2
    );
    let next = poll_on(&engine, "carts").await;
    complete(&engine, &next, vec![complete_command()], vec![]).await;

    let terminated = engine
        .resolve_run(
            &Namespace::default(),
            &WorkflowId::new("terminated-child").unwrap(),
            None,
        )
        .await
        .unwrap();
    let mut child_history = Vec::new();
    for _ in 0..200 {
        child_history = engine.history(&terminated).await.unwrap();
        if child_history.last().unwrap().event_type().is_closing() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let EventAttributes::WorkflowExecutionTerminated(reason) =
        &child_history.last().unwrap().attributes
    else {
        panic!(
            "the TERMINATE child is terminated: {:?}",
            types(&child_history)
        )
    };
    assert_eq!(reason.reason, "by parent close policy");
    let abandoned = engine
        .resolve_run(
            &Namespace::default(),
            &WorkflowId::new("abandoned-child").unwrap(),
            None,
        )
        .await
        .unwrap();
    let described = engine
        .describe_workflow(
            &abandoned.namespace,
            &abandoned.workflow_id,
            Some(abandoned.run_id),
        )
        .await
        .unwrap();
    assert_eq!(
        described.status,
        WorkflowExecutionStatus::Running,
        "ABANDON leaves it running"
    );
    // The terminated child's end reaches a closed parent: nothing is written there.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let parent_history = engine.history(&parent_task.execution).await.unwrap();
    assert_eq!(
        parent_history.last().unwrap().event_type(),
        EventType::WorkflowExecutionCompleted
    );
}

#[tokio::test]
async fn request_cancel_asks_the_child_and_continue_as_new_applies_the_policy() {
    let storage = Arc::new(MemoryStorage::new());
    let engine = engine(&storage).await;
    start(&engine).await;
    let parent_task = poll_on(&engine, "carts").await;
    complete(
        &engine,
        &parent_task,
        vec![child_command("cancel-me", ParentClosePolicy::RequestCancel)],
        vec![],
    )
    .await;
    let child_task = poll_on(&engine, "children").await;
    complete(&engine, &child_task, vec![], vec![]).await;
    let _ = await_events(&engine, &parent_task.execution, 7).await;
    // The parent continues as new: a close like any other for its children.
    let next = poll_on(&engine, "carts").await;
    let continue_as_new = crate::updates::continue_as_new();
    complete(&engine, &next, vec![continue_as_new], vec![]).await;
    let child_history = await_events(&engine, &child_task.execution, 6).await;
    let requested = child_history
        .iter()
        .find(|event| event.event_type() == EventType::WorkflowExecutionCancelRequested)
        .expect("the child is asked to cancel");
    let EventAttributes::WorkflowExecutionCancelRequested(request) = &requested.attributes else {
        unreachable!()
    };
    assert_eq!(request.cause, "by parent close policy");
    // The child decides: it cancels, and its end reaches a parent run that is closed.
    let child_next = poll_on(&engine, "children").await;
    let cancel = Command::CancelWorkflowExecution(CancelWorkflowExecutionCommandAttributes {
        details: None,
    });
    complete(&engine, &child_next, vec![cancel], vec![]).await;
    let child_history = engine.history(&child_task.execution).await.unwrap();
    assert_eq!(
        child_history.last().unwrap().event_type(),
        EventType::WorkflowExecutionCanceled
    );
}
