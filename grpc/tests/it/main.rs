//! endure-grpc end to end: Temporal's own Python SDK (`temporalio` from PyPI) as client
//! and worker against a redb engine whose TCP listener serves both protocols. Each test
//! runs one scenario of `tests/python/scenarios.py`, checks what the SDK saw, then reads
//! the histories Endure wrote through Endure's own client on the same port and asserts
//! them event by event.
//!
//! The interpreter is `ENDURE_TEST_PYTHON` (a virtualenv with `temporalio`; `.ci/run`
//! makes one). Without it the tests say why and pass, unless
//! `ENDURE_REQUIRE_TEMPORAL_SDK` is set (CI), when they fail.
#![cfg(not(madsim))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

mod garbage;
mod python_sdk;
mod python_sdk_platform;
mod secure;
mod temporal_cli;
mod temporal_cli_admin;
mod typescript_sdk;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use endure::{Client, Namespace, WorkflowId};
use endure_core::{EventAttributes, EventType, HistoryEvent};
use endure_grpc::{GrpcOptions, WorkflowService, serve_connection};
use endure_server::tcp::{TcpServer, TcpServerConfig};

/// A redb engine behind one TCP listener that speaks Endure's protocol and gRPC.
pub(crate) struct Fixture {
    pub(crate) address: SocketAddr,
    server: tokio::task::JoinHandle<()>,
    _store: tempfile::TempDir,
}

impl Fixture {
    pub(crate) async fn start() -> Self {
        let store = tempfile::tempdir().unwrap();
        let engine = endure::embedded::open(store.path().join("store.redb"))
            .await
            .unwrap();
        let transport = engine.transport();
        let service = WorkflowService::new(GrpcOptions::new(Arc::clone(&transport)));
        let server = TcpServer::bind(
            "127.0.0.1:0".parse().unwrap(),
            transport,
            TcpServerConfig::default(),
        )
        .await
        .unwrap()
        .with_http2(Arc::new(move |stream, peer, subject| {
            Box::pin(serve_connection(service.clone(), stream, peer, subject))
        }));
        let address = server.local_addr().unwrap();
        let server = tokio::spawn(server.serve(std::future::pending()));
        Self {
            address,
            server,
            _store: store,
        }
    }

    /// Endure's own client, over TCP to the same port the SDK used.
    pub(crate) fn native_client(&self) -> Client {
        endure::remote::connect(self.address.to_string(), Namespace::default_namespace())
    }

    /// The history of `workflow_id`'s current run, read by Endure's own client.
    pub(crate) async fn history(&self, workflow_id: &str) -> Vec<HistoryEvent> {
        self.native_client()
            .handle(WorkflowId::new(workflow_id).unwrap(), None)
            .history()
            .await
            .unwrap()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The Python interpreter with Temporal's SDK, or `None` (said) when the tests may skip.
pub(crate) fn python() -> Option<PathBuf> {
    match std::env::var_os("ENDURE_TEST_PYTHON") {
        Some(path) => Some(PathBuf::from(path)),
        None => {
            assert!(
                std::env::var_os("ENDURE_REQUIRE_TEMPORAL_SDK").is_none(),
                "ENDURE_REQUIRE_TEMPORAL_SDK is set but ENDURE_TEST_PYTHON is not"
            );
            eprintln!(
                "skipped: set ENDURE_TEST_PYTHON to a Python with `temporalio` installed \
                 (scripts/temporal-sdk-venv makes one) to run Temporal's SDK against Endure"
            );
            None
        }
    }
}

/// Runs `script` with `args` on Temporal's Python SDK; its standard output.
pub(crate) async fn run_python(python: PathBuf, script: PathBuf, args: Vec<String>) -> String {
    let output = tokio::time::timeout(
        Duration::from_secs(180),
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(python)
                .arg(script)
                .args(args)
                .output()
        }),
    )
    .await
    .expect("the Python script finished within 180 s")
    .unwrap()
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "the Python SDK failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Runs `scenario` with Temporal's Python SDK against `fixture`; what the client saw.
pub(crate) async fn scenario(
    python: PathBuf,
    fixture: &Fixture,
    scenario: &str,
) -> serde_json::Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/scenarios.py");
    let args = vec![scenario.to_owned(), fixture.address.to_string()];
    let stdout = run_python(python, script, args).await;
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|error| panic!("{error}: {stdout}"))
}

/// The Quick Start's 16 events, as Temporal writes them: a workflow task, the activity,
/// a workflow task, the timer, a workflow task, the close.
pub(crate) const QUICKSTART: [EventType; 16] = {
    use EventType::*;
    [
        WorkflowExecutionStarted,
        WorkflowTaskScheduled,
        WorkflowTaskStarted,
        WorkflowTaskCompleted,
        ActivityTaskScheduled,
        ActivityTaskStarted,
        ActivityTaskCompleted,
        WorkflowTaskScheduled,
        WorkflowTaskStarted,
        WorkflowTaskCompleted,
        TimerStarted,
        TimerFired,
        WorkflowTaskScheduled,
        WorkflowTaskStarted,
        WorkflowTaskCompleted,
        WorkflowExecutionCompleted,
    ]
};

/// The kinds of `events`, in order.
pub(crate) fn kinds(events: &[HistoryEvent]) -> Vec<EventType> {
    events.iter().map(HistoryEvent::event_type).collect()
}

/// The event `id` of `events`.
pub(crate) fn event(events: &[HistoryEvent], id: endure_core::EventId) -> &HistoryEvent {
    &events[usize::try_from(id.get()).unwrap() - 1]
}

/// Every back-reference in `events` names an event of the kind it must.
pub(crate) fn assert_back_references(events: &[HistoryEvent]) {
    for e in events {
        let expect = |id: endure_core::EventId, kind: EventType| {
            assert_eq!(
                event(events, id).event_type(),
                kind,
                "{:?} refers to #{id}",
                e.event_type()
            );
        };
        match &e.attributes {
            EventAttributes::WorkflowTaskStarted(a) => {
                expect(a.scheduled_event_id, EventType::WorkflowTaskScheduled);
            }
            EventAttributes::WorkflowTaskCompleted(a) => {
                expect(a.scheduled_event_id, EventType::WorkflowTaskScheduled);
                expect(a.started_event_id, EventType::WorkflowTaskStarted);
            }
            EventAttributes::ActivityTaskScheduled(a) => {
                expect(
                    a.workflow_task_completed_event_id,
                    EventType::WorkflowTaskCompleted,
                );
            }
            EventAttributes::ActivityTaskStarted(a) => {
                expect(a.scheduled_event_id, EventType::ActivityTaskScheduled);
            }
            EventAttributes::ActivityTaskCompleted(a) => {
                expect(a.scheduled_event_id, EventType::ActivityTaskScheduled);
                expect(a.started_event_id, EventType::ActivityTaskStarted);
            }
            EventAttributes::ActivityTaskFailed(a) => {
                expect(a.scheduled_event_id, EventType::ActivityTaskScheduled);
                expect(a.started_event_id, EventType::ActivityTaskStarted);
            }
            EventAttributes::TimerStarted(a) => {
                expect(
                    a.workflow_task_completed_event_id,
                    EventType::WorkflowTaskCompleted,
                );
            }
            EventAttributes::TimerFired(a) => expect(a.started_event_id, EventType::TimerStarted),
            EventAttributes::WorkflowExecutionCompleted(a) => {
                expect(
                    a.workflow_task_completed_event_id,
                    EventType::WorkflowTaskCompleted,
                );
            }
            EventAttributes::WorkflowExecutionFailed(a) => {
                expect(
                    a.workflow_task_completed_event_id,
                    EventType::WorkflowTaskCompleted,
                );
            }
            EventAttributes::StartChildWorkflowExecutionInitiated(a) => {
                expect(
                    a.workflow_task_completed_event_id,
                    EventType::WorkflowTaskCompleted,
                );
            }
            EventAttributes::ChildWorkflowExecutionStarted(a) => {
                expect(
                    a.initiated_event_id,
                    EventType::StartChildWorkflowExecutionInitiated,
                );
            }
            EventAttributes::ChildWorkflowExecutionCompleted(a) => {
                expect(
                    a.child.initiated_event_id,
                    EventType::StartChildWorkflowExecutionInitiated,
                );
                expect(
                    a.child.started_event_id,
                    EventType::ChildWorkflowExecutionStarted,
                );
            }
            EventAttributes::WorkflowExecutionUpdateCompleted(a) => {
                expect(
                    a.accepted_event_id,
                    EventType::WorkflowExecutionUpdateAccepted,
                );
            }
            _ => {}
        }
    }
}
