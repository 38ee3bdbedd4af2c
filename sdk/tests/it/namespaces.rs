//! Namespaces through the SDK (spec §5.18) on a redb engine: a client creates, reads and
//! changes namespaces; workers and workflows in two namespaces never meet (same workflow
//! id, same queue name); a closed run is deleted once its namespace's retention passed
//! (the engine on a manual clock, so an hour passes at once).

use std::sync::Arc;
use std::time::Duration;

use endure::embedded::{Engine, InProcessTransport};
use endure::workflow::{WorkflowContext, WorkflowError};
use endure::*;
use endure_core::history::EventType;
use endure_core::protocol::ErrorKind;
use endure_core::storage::VisibilityQuery;
use endure_core::time::Timestamp;
use endure_server::clock::ManualClock;
use endure_server::engine::EngineConfig;
use endure_server::storage::RedbStorage;

use crate::spawn_worker;

const HOUR: Duration = Duration::from_secs(3600);

/// Says which namespace ran it.
#[endure::workflow(name = "WhereAmI")]
async fn where_am_i(ctx: WorkflowContext) -> Result<String, WorkflowError> {
    Ok(ctx.info().namespace().to_string())
}

fn queue() -> TaskQueueName {
    TaskQueueName::new("shared-name").unwrap()
}

fn worker(client: &Client) -> Worker {
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue(),
        WorkerOptions::default(),
    );
    worker.register::<where_am_i>();
    worker
}

#[tokio::test]
async fn namespaces_isolate_and_retention_deletes_closed_runs() {
    let directory = tempfile::tempdir().unwrap();
    let storage = Arc::new(RedbStorage::open(directory.path().join("store.redb")).unwrap());
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_seconds(
        1_795_860_000,
    )));
    let engine = Engine::with_ports(storage, Arc::clone(&clock), EngineConfig::default())
        .await
        .unwrap();
    let default = Client::new(
        Arc::new(InProcessTransport::new(engine)),
        Namespace::default(),
    );

    // Create, read, refuse.
    let short = NamespaceConfig {
        description: "kept an hour".into(),
        retention: HOUR,
        ..NamespaceConfig::default()
    };
    let created = default
        .create_namespace(Namespace::new("short").unwrap(), short.clone())
        .await
        .unwrap();
    assert_eq!((created.version, created.config.retention), (1, HOUR));
    let again = default
        .create_namespace(Namespace::new("short").unwrap(), short)
        .await;
    assert!(
        matches!(&again, Err(ClientError::Remote(e)) if e.kind == ErrorKind::AlreadyExists),
        "{again:?}"
    );
    let refused = default
        .create_namespace(
            Namespace::new("tiny").unwrap(),
            NamespaceConfig {
                retention: Duration::from_secs(5),
                ..NamespaceConfig::default()
            },
        )
        .await;
    assert!(
        matches!(
            refused,
            Err(ClientError::Invalid(ValidationError::Retention { .. }))
        ),
        "refused before anything is sent"
    );
    let names: Vec<String> = default
        .list_namespaces()
        .await
        .unwrap()
        .into_iter()
        .map(|record| record.name.to_string())
        .collect();
    assert_eq!(names, ["default", "short"]);
    let ghost = default
        .with_namespace(Namespace::new("ghost").unwrap())
        .start::<where_am_i>(
            StartWorkflowOptions::new(WorkflowId::new("w").unwrap(), queue()),
            &(),
        )
        .await;
    assert!(
        matches!(&ghost, Err(ClientError::Remote(e)) if e.kind == ErrorKind::NotFound && e.message.contains("ghost")),
        "{ghost:?}"
    );

    // Same workflow id and queue name in two namespaces: each worker runs its own.
    let short = default.with_namespace(Namespace::new("short").unwrap());
    let (stop_default, running_default) = spawn_worker(worker(&default));
    let (stop_short, running_short) = spawn_worker(worker(&short));
    let options = || StartWorkflowOptions::new(WorkflowId::new("same-id").unwrap(), queue());
    let in_default = default.start::<where_am_i>(options(), &()).await.unwrap();
    let in_short = short.start::<where_am_i>(options(), &()).await.unwrap();
    assert_eq!(in_default.result::<String>().await.unwrap(), "default");
    assert_eq!(in_short.result::<String>().await.unwrap(), "short");
    let history = in_short.history().await.unwrap();
    assert_eq!(
        history.iter().map(|e| e.event_type()).collect::<Vec<_>>(),
        [
            EventType::WorkflowExecutionStarted,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
            EventType::WorkflowTaskCompleted,
            EventType::WorkflowExecutionCompleted,
        ]
    );
    for client in [&default, &short] {
        let rows = client
            .list_workflows(VisibilityQuery::default(), 0, 10)
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(&rows[0].execution.namespace, client.namespace());
    }

    // An hour later the short namespace's run is gone; the default one (3 days) stays.
    clock.advance(HOUR + Duration::from_secs(1));
    let mut gone = false;
    for _ in 0..500 {
        if short
            .list_workflows(VisibilityQuery::default(), 0, 10)
            .await
            .unwrap()
            .is_empty()
        {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(gone, "the run outlived its namespace's retention");
    let described = in_short.describe().await;
    assert!(
        matches!(&described, Err(ClientError::Remote(e)) if e.kind == ErrorKind::NotFound),
        "{described:?}"
    );
    assert_eq!(
        in_default.describe().await.unwrap().status,
        WorkflowExecutionStatus::Completed
    );

    // A changed retention is read back.
    let updated = default
        .update_namespace(
            short.namespace(),
            NamespaceUpdate {
                retention: Some(2 * HOUR),
                ..NamespaceUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((updated.version, updated.config.retention), (2, 2 * HOUR));
    assert_eq!(
        default.describe_namespace(short.namespace()).await.unwrap(),
        updated
    );
    let _ = stop_default.send(());
    let _ = stop_short.send(());
    running_default.await.unwrap();
    running_short.await.unwrap();
}
