//! Backpressure: a shard at its limit of writes in flight stops taking requests until the
//! oldest settles, its bounded inbox fills, and the next request is refused at once with a
//! retryable error (`Unavailable` on the wire) instead of queueing without bound. Nothing
//! taken is lost: once the disk lets the commits through, every request admitted
//! completes, and the refused one succeeds when sent again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use endure_core::protocol::{ErrorKind, RemoteError};
use endure_core::storage::WorkflowWrite;
use endure_core::*;
use endure_server::engine::*;
use tokio::sync::Notify;

use crate::hooked::{Hooked, Hooks};

/// Holds every commit while `holding`, until released.
#[derive(Default)]
struct SlowDisk {
    holding: AtomicBool,
    release: Notify,
}

impl Hooks for SlowDisk {
    async fn before_commit(&self, _: &[WorkflowWrite]) {
        while self.holding.load(Ordering::SeqCst) {
            let released = self.release.notified();
            if !self.holding.load(Ordering::SeqCst) {
                break;
            }
            released.await;
        }
    }
}

fn start(id: &str) -> StartWorkflowRequest {
    StartWorkflowRequest {
        namespace: Namespace::default(),
        options: StartWorkflowOptions::new(
            WorkflowId::new(id).unwrap(),
            TaskQueueName::new("orders").unwrap(),
        ),
        workflow_type: WorkflowType::new("Order").unwrap(),
        input: Payloads::default(),
        header: Header::new(),
        identity: "client".into(),
    }
}

async fn yield_a_while() {
    for _ in 0..200 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn a_full_shard_refuses_retryably_and_loses_nothing() {
    let store = Arc::new(Hooked::new(SlowDisk::default()));
    let config = EngineConfig {
        shard_count: 1,
        shard_inbox_max: 2,
        shard_writes_in_flight_max: 1,
        ..EngineConfig::default()
    };
    let engine = Engine::with_ports(
        Arc::clone(&store),
        Arc::new(endure_server::clock::SystemClock),
        config,
    )
    .await
    .unwrap();
    store.hooks.holding.store(true, Ordering::SeqCst);

    // The first start's write is in flight (held by the disk): the shard is at its limit.
    let mut admitted = Vec::new();
    for id in ["order-1", "order-2", "order-3"] {
        let engine = engine.clone();
        admitted.push(tokio::spawn(async move {
            engine.start_workflow(start(id)).await
        }));
        yield_a_while().await;
    }
    // Two more wait in the inbox, which is now full: the next is refused at once.
    let refused = engine.start_workflow(start("order-4")).await.unwrap_err();
    assert!(matches!(refused, EngineError::Overloaded(_)), "{refused}");
    let wire = RemoteError::from(refused);
    assert_eq!(wire.kind, ErrorKind::Unavailable, "{wire}");
    assert!(wire.message.contains("retry shortly"), "{wire}");
    assert!(admitted.iter().all(|start| !start.is_finished()));

    // The disk catches up: every admitted start completes, and the refused one, sent
    // again, is taken.
    store.hooks.holding.store(false, Ordering::SeqCst);
    store.hooks.release.notify_waiters();
    for start in admitted {
        assert!(start.await.unwrap().unwrap().started);
    }
    assert!(
        engine
            .start_workflow(start("order-4"))
            .await
            .unwrap()
            .started
    );
    for id in ["order-1", "order-2", "order-3", "order-4"] {
        let description = engine
            .describe_workflow(&Namespace::default(), &WorkflowId::new(id).unwrap(), None)
            .await
            .unwrap();
        assert_eq!(description.status, WorkflowExecutionStatus::Running, "{id}");
    }
}
