//! Requests the engine refuses or fails, through the transport every remote call takes: a
//! panic while serving one (a bug, or a library failing on bad data) becomes an `Internal`
//! error reply and the engine goes on serving others; free-form strings past their limits
//! are refused before anything is written.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use endure_core::protocol::{
    DescribeWorkflowRequest, ErrorKind, Response, Rpc, TerminateWorkflowRequest, Transport,
};
use endure_core::storage::ExecutionKey;
use endure_core::time::Timestamp;
use endure_core::*;
use endure_server::clock::ManualClock;
use endure_server::engine::*;

use crate::hooked::{Hooked, Hooks};

/// Loads of a run panic while `armed`.
#[derive(Default)]
struct PanickingLoads {
    armed: AtomicBool,
}

impl Hooks for PanickingLoads {
    async fn before_load(&self, key: &ExecutionKey) {
        assert!(
            !self.armed.load(Ordering::SeqCst),
            "injected panic loading {}",
            key.workflow_id
        );
    }
}

type Store = Hooked<PanickingLoads>;

async fn engine() -> (Arc<Store>, Engine<Store, ManualClock>) {
    let store = Arc::new(Hooked::new(PanickingLoads::default()));
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_seconds(
        1_795_860_000,
    )));
    let engine = Engine::with_ports(Arc::clone(&store), clock, EngineConfig::default())
        .await
        .unwrap();
    (store, engine)
}

fn start_request(identity: String) -> StartWorkflowRequest {
    StartWorkflowRequest {
        namespace: Namespace::default(),
        options: StartWorkflowOptions::new(
            WorkflowId::new("order-1").unwrap(),
            TaskQueueName::new("orders").unwrap(),
        ),
        workflow_type: WorkflowType::new("Order").unwrap(),
        input: Payloads::default(),
        header: Header::new(),
        identity,
    }
}

#[tokio::test]
async fn a_panic_under_a_request_is_an_internal_error_reply() {
    let (store, engine) = engine().await;
    let transport = InProcessTransport::new(engine);
    let start = start_request("client".into());
    let started = transport.call(start.into_request()).await.unwrap();
    assert!(matches!(started, Response::StartWorkflow(_)), "{started:?}");
    let describe = || {
        DescribeWorkflowRequest {
            namespace: Namespace::default(),
            workflow_id: WorkflowId::new("order-1").unwrap(),
            run_id: None,
        }
        .into_request()
    };

    store.hooks.armed.store(true, Ordering::SeqCst);
    let error = transport.call(describe()).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::Internal);
    assert!(
        error.message.contains("DescribeWorkflow") && error.message.contains("injected panic"),
        "{}",
        error.message
    );

    // The engine serves the next request.
    store.hooks.armed.store(false, Ordering::SeqCst);
    let described = transport.call(describe()).await.unwrap();
    assert!(
        matches!(described, Response::DescribeWorkflow(_)),
        "{described:?}"
    );
}

#[tokio::test]
async fn an_identity_or_reason_past_its_limit_is_refused_and_nothing_is_written() {
    let (_store, engine) = engine().await;
    let transport = InProcessTransport::new(engine.clone());
    let start = start_request("x".repeat(7 << 20));
    let error = transport.call(start.into_request()).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidArgument);
    assert!(error.message.contains("identity"), "{}", error.message);
    assert!(
        engine
            .describe_workflow(
                &Namespace::default(),
                &WorkflowId::new("order-1").unwrap(),
                None
            )
            .await
            .is_err(),
        "nothing started"
    );
    let error = transport
        .call(
            TerminateWorkflowRequest {
                namespace: Namespace::default(),
                workflow_id: WorkflowId::new("order-1").unwrap(),
                run_id: None,
                reason: "r".repeat(endure_core::limits::REASON_BYTES_MAX + 1),
                details: None,
                identity: "cli".into(),
            }
            .into_request(),
        )
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidArgument);
    assert!(error.message.contains("reason"), "{}", error.message);
}
