//! A closed run whose outbox work is not done — here its parent close policy, held up
//! while the outbox cannot reach the child — is not deleted when its retention passes; it
//! is deleted on a later try, once the outbox has delivered. The shard knows which runs
//! have outbox rows from its own writes, without reading the outbox.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use endure_core::namespace::RETENTION_DEFAULT;
use endure_core::storage::ExecutionKey;
use endure_core::time::Timestamp;
use endure_core::*;
use endure_server::clock::ManualClock;
use endure_server::engine::*;
use tokio::sync::Notify;

use crate::children::{child_command, complete_command};
use crate::hooked::{Hooked, Hooks};

const T0: Timestamp = Timestamp::from_unix_seconds(1_795_860_000);

/// Holds every load of the child's row while armed.
#[derive(Default)]
struct HoldChild {
    armed: AtomicBool,
    release: Notify,
}

impl Hooks for HoldChild {
    async fn before_load(&self, key: &ExecutionKey) {
        while key.workflow_id.as_str() == "child-1" && self.armed.load(Ordering::SeqCst) {
            let released = self.release.notified();
            if !self.armed.load(Ordering::SeqCst) {
                break;
            }
            released.await;
        }
    }
}

type HeldEngine = Engine<Hooked<HoldChild>, ManualClock>;

async fn poll_on(engine: &HeldEngine, queue: &str) -> WorkflowTaskForWorker {
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

async fn complete(engine: &HeldEngine, task: &WorkflowTaskForWorker, commands: Vec<Command>) {
    engine
        .complete_workflow_task(
            &task.execution,
            endure_core::execution::WorkflowTaskCompletion {
                token: task.token,
                commands,
                identity: "worker".into(),
                sticky: None,
                force_create_workflow_task: false,
                sdk_metadata: endure_core::history::SdkMetadata::default(),
                next_run_id: RunId::from_u128(0),
                messages: Vec::new(),
                deployment_version: None,
                versioning_behavior: Default::default(),
            },
        )
        .await
        .unwrap();
}

async fn exists(engine: &HeldEngine, key: &ExecutionKey) -> bool {
    match engine
        .describe_workflow(&key.namespace, &key.workflow_id, Some(key.run_id))
        .await
    {
        Ok(_) => true,
        Err(EngineError::NotFound(_)) => false,
        Err(error) => panic!("{error}"),
    }
}

async fn settle() {
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn retention_waits_for_the_runs_outbox_work() {
    let clock = Arc::new(ManualClock::new(T0));
    let store = Arc::new(Hooked::new(HoldChild::default()));
    let engine = Engine::with_ports(
        Arc::clone(&store),
        Arc::clone(&clock),
        EngineConfig::default(),
    )
    .await
    .unwrap();
    engine
        .start_workflow(StartWorkflowRequest {
            namespace: Namespace::default(),
            options: StartWorkflowOptions::new(
                WorkflowId::new("cart").unwrap(),
                TaskQueueName::new("carts").unwrap(),
            ),
            workflow_type: WorkflowType::new("Cart").unwrap(),
            input: Payloads::empty(),
            header: Header::new(),
            identity: "client".into(),
        })
        .await
        .unwrap();
    let parent = poll_on(&engine, "carts").await;
    complete(
        &engine,
        &parent,
        vec![child_command("child-1", ParentClosePolicy::Terminate)],
    )
    .await;
    // The child runs; its start reaches the parent, which then completes. Its TERMINATE
    // policy is an outbox row, which cannot be delivered while the child's row is held.
    let _child = poll_on(&engine, "children").await;
    let next = poll_on(&engine, "carts").await;
    store.hooks.armed.store(true, Ordering::SeqCst);
    complete(&engine, &next, vec![complete_command()]).await;
    settle().await;

    clock.advance(RETENTION_DEFAULT + Duration::from_secs(1));
    settle().await;
    assert!(
        exists(&engine, &parent.execution).await,
        "the parent's close policy is still to deliver: the run is kept"
    );

    store.hooks.armed.store(false, Ordering::SeqCst);
    store.hooks.release.notify_waiters();
    settle().await;
    let child = engine
        .resolve_run(
            &Namespace::default(),
            &WorkflowId::new("child-1").unwrap(),
            None,
        )
        .await
        .unwrap();
    let described = engine
        .describe_workflow(&child.namespace, &child.workflow_id, Some(child.run_id))
        .await
        .unwrap();
    assert_eq!(described.status, WorkflowExecutionStatus::Terminated);
    // The deletion is tried again a minute later, and now happens.
    clock.advance(Duration::from_secs(61));
    for _ in 0..100 {
        if !exists(&engine, &parent.execution).await {
            return;
        }
        settle().await;
    }
    panic!("the parent was never deleted once its outbox work was done");
}
