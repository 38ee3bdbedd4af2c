//! The engine under madsim: opened on the in-memory store, it completes one workflow whose
//! hour-long timer passes in virtual time. Run with `RUSTFLAGS="--cfg madsim"`.

#![allow(
    clippy::disallowed_methods,
    reason = "scenarios read the simulated clock"
)]

use std::time::Duration;

use endure_core::execution::{Reply, WorkflowTaskCompletion};
use endure_core::history::{EventType, check_well_formed};
use endure_core::*;
use endure_server::engine::{Engine, StartWorkflowRequest};

fn completion(
    token: endure_core::execution::WorkflowTaskToken,
    commands: Vec<Command>,
) -> WorkflowTaskCompletion {
    WorkflowTaskCompletion {
        token,
        commands,
        identity: "worker".into(),
        sticky: None,
        force_create_workflow_task: false,
        sdk_metadata: Default::default(),
        next_run_id: RunId::from_u128(0),
        messages: Vec::new(),
        deployment_version: None,
        versioning_behavior: Default::default(),
    }
}

#[madsim::test]
async fn one_workflow_completes_under_simulation() {
    let engine = Engine::in_memory().await.unwrap();
    let namespace = Namespace::default();
    let queue = TaskQueueName::new("simulated").unwrap();
    let started = engine
        .start_workflow(StartWorkflowRequest {
            namespace: namespace.clone(),
            options: StartWorkflowOptions::new(WorkflowId::new("sleeper").unwrap(), queue.clone()),
            workflow_type: WorkflowType::new("Sleeper").unwrap(),
            input: Payloads::empty(),
            header: Header::new(),
            identity: "client".into(),
        })
        .await
        .unwrap();
    let begin = madsim::time::Instant::now();
    let task = engine
        .poll_workflow_task(&namespace, &queue, "worker")
        .await
        .unwrap()
        .unwrap();
    let reply = engine
        .complete_workflow_task(
            &task.execution,
            completion(
                task.token,
                vec![Command::StartTimer(StartTimerCommandAttributes {
                    timer_id: TimerId::new("1").unwrap(),
                    start_to_fire_timeout: Duration::from_secs(3600),
                })],
            ),
        )
        .await
        .unwrap();
    assert!(matches!(reply, Reply::Accepted));
    // Long polls expire after a minute; a worker polls again until the timer's task comes.
    let mut next = None;
    for _ in 0..120 {
        next = engine
            .poll_workflow_task(&namespace, &queue, "worker")
            .await
            .unwrap();
        if next.is_some() {
            break;
        }
    }
    let task = next.expect("the timer fired within two virtual hours");
    assert!(
        madsim::time::Instant::now() - begin >= Duration::from_secs(3600),
        "never early"
    );
    engine
        .complete_workflow_task(
            &task.execution,
            completion(
                task.token,
                vec![Command::CompleteWorkflowExecution(
                    CompleteWorkflowExecutionCommandAttributes { result: None },
                )],
            ),
        )
        .await
        .unwrap();
    let history = engine.history(&task.execution).await.unwrap();
    check_well_formed(&history).unwrap();
    assert_eq!(task.execution.run_id, started.run_id);
    assert_eq!(
        history.last().map(|event| event.event_type()),
        Some(EventType::WorkflowExecutionCompleted)
    );
    assert!(
        history
            .iter()
            .any(|event| event.event_type() == EventType::TimerFired)
    );
}
