//! Namespaces through the engine (spec §5.18): the registry (`default` from the start,
//! create, describe, list, update, typed refusals), isolation of workflows, queues and
//! visibility, and retention: a closed run is deleted one retention after it closed.
//! On the redb store with a manual clock.

use std::sync::Arc;
use std::time::Duration;

use endure_core::execution::{Reply, WorkflowTaskCompletion};
use endure_core::history::{EventType, HistoryEvent};
use endure_core::namespace::{NamespaceConfig, NamespaceUpdate, RETENTION_DEFAULT};
use endure_core::storage::{ExecutionKey, Storage, VisibilityQuery};
use endure_core::time::Timestamp;
use endure_core::*;
use endure_server::clock::ManualClock;
use endure_server::engine::*;
use endure_server::storage::RedbStorage;

const T0: Timestamp = Timestamp::from_unix_seconds(1_795_860_000);
const HOUR: Duration = Duration::from_secs(3600);

struct Harness {
    engine: Engine<RedbStorage, ManualClock>,
    clock: Arc<ManualClock>,
    storage: Arc<RedbStorage>,
    _dir: tempfile::TempDir,
}

async fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(RedbStorage::open(dir.path().join("endure.redb")).unwrap());
    let clock = Arc::new(ManualClock::new(T0));
    let engine = Engine::with_ports(
        Arc::clone(&storage),
        Arc::clone(&clock),
        EngineConfig::default(),
    )
    .await
    .unwrap();
    Harness {
        engine,
        clock,
        storage,
        _dir: dir,
    }
}

fn name(text: &str) -> Namespace {
    Namespace::new(text).unwrap()
}

fn queue() -> TaskQueueName {
    TaskQueueName::new("orders").unwrap()
}

fn start_request(namespace: &Namespace, id: &str) -> StartWorkflowRequest {
    StartWorkflowRequest {
        namespace: namespace.clone(),
        options: StartWorkflowOptions::new(WorkflowId::new(id).unwrap(), queue()),
        workflow_type: WorkflowType::new("OrderWorkflow").unwrap(),
        input: Payloads::one(Payload::json("user_123").unwrap()),
        header: Header::new(),
        identity: "client".into(),
    }
}

fn config(retention: Duration) -> NamespaceConfig {
    NamespaceConfig {
        description: "orders of team A".into(),
        owner_email: "team-a@example.com".into(),
        retention,
    }
}

fn types(history: &[HistoryEvent]) -> Vec<EventType> {
    history.iter().map(HistoryEvent::event_type).collect()
}

impl Harness {
    /// Polls a workflow task of `namespace` and completes the run with `result`.
    async fn complete_next(&self, namespace: &Namespace, result: &str) -> ExecutionKey {
        let task = self
            .engine
            .poll_workflow_task(namespace, &queue(), "worker")
            .await
            .unwrap()
            .expect("a workflow task");
        let reply = self
            .engine
            .complete_workflow_task(
                &task.execution,
                WorkflowTaskCompletion::new(
                    task.token,
                    vec![Command::CompleteWorkflowExecution(
                        CompleteWorkflowExecutionCommandAttributes {
                            result: Some(Payloads::one(Payload::json(result).unwrap())),
                        },
                    )],
                    "worker",
                ),
            )
            .await
            .unwrap();
        assert!(matches!(reply, Reply::Accepted), "{reply:?}");
        task.execution
    }

    async fn exists(&self, key: &ExecutionKey) -> bool {
        self.storage.load_execution(key).await.unwrap().is_some()
    }

    /// Waits (the shard's timers run on their own task) until `key` is gone.
    async fn until_deleted(&self, key: &ExecutionKey) {
        for _ in 0..500 {
            if !self.exists(key).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{key:?} was not deleted");
    }
}

#[tokio::test]
async fn default_exists_from_the_start_and_unknown_namespaces_are_refused() {
    let h = harness().await;
    let listed = h.engine.list_namespaces().await.unwrap();
    assert_eq!(
        listed.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["default"]
    );
    assert_eq!(listed[0].config.retention, RETENTION_DEFAULT);
    assert_eq!((listed[0].created, listed[0].version), (T0, 1));

    let orders = name("orders");
    let refused = h
        .engine
        .start_workflow(start_request(&orders, "order-1"))
        .await
        .unwrap_err();
    assert_eq!(refused, EngineError::NamespaceNotFound(orders.clone()));
    assert!(
        refused
            .to_string()
            .contains("endure namespace create orders")
    );
    assert!(matches!(
        h.engine.poll_activity_task(&orders, &queue(), "w").await,
        Err(EngineError::NamespaceNotFound(_))
    ));
    assert!(matches!(
        h.engine
            .list_workflows(&orders, &VisibilityQuery::default(), 0, 10)
            .await,
        Err(EngineError::NamespaceNotFound(_))
    ));

    let created = h
        .engine
        .create_namespace(orders.clone(), config(7 * 24 * HOUR))
        .await
        .unwrap();
    assert_eq!((created.version, created.created), (1, T0));
    assert_eq!(
        h.engine
            .create_namespace(orders.clone(), NamespaceConfig::default())
            .await,
        Err(EngineError::NamespaceExists(orders.clone()))
    );
    assert!(matches!(
        h.engine
            .create_namespace(name("endure-system"), NamespaceConfig::default())
            .await,
        Err(EngineError::BadRequest(_))
    ));
    assert!(matches!(
        h.engine
            .create_namespace(name("tiny"), config(Duration::from_secs(60)))
            .await,
        Err(EngineError::Invalid(ValidationError::Retention { .. }))
    ));
    h.engine
        .start_workflow(start_request(&orders, "order-1"))
        .await
        .unwrap();

    h.clock.advance(Duration::from_secs(10));
    let updated = h
        .engine
        .update_namespace(
            &orders,
            NamespaceUpdate {
                retention: Some(2 * HOUR),
                ..NamespaceUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(updated.config.retention, 2 * HOUR);
    assert_eq!(updated.config.description, "orders of team A");
    assert_eq!(updated.updated, T0.saturating_add(Duration::from_secs(10)));
    assert_eq!(h.engine.describe_namespace(&orders).await.unwrap(), updated);
    assert_eq!(
        h.engine
            .update_namespace(&name("nope"), NamespaceUpdate::default())
            .await,
        Err(EngineError::NamespaceNotFound(name("nope")))
    );

    // The registry is durable: a reopened engine knows the namespace and its change.
    let dir = h._dir;
    drop(h.engine);
    drop(h.storage);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let storage = Arc::new(RedbStorage::open(dir.path().join("endure.redb")).unwrap());
    let engine = Engine::with_ports(storage, h.clock, EngineConfig::default())
        .await
        .unwrap();
    assert_eq!(engine.describe_namespace(&orders).await.unwrap(), updated);
    assert_eq!(engine.list_namespaces().await.unwrap().len(), 2);
}

#[tokio::test]
async fn namespaces_isolate_workflow_ids_queues_and_visibility() {
    let h = harness().await;
    let (a, b) = (name("team-a"), name("team-b"));
    for namespace in [&a, &b] {
        h.engine
            .create_namespace(namespace.clone(), NamespaceConfig::default())
            .await
            .unwrap();
    }
    // The same workflow id and queue name in two namespaces are two workflows.
    let run_a = h
        .engine
        .start_workflow(start_request(&a, "order-1"))
        .await
        .unwrap();
    let run_b = h
        .engine
        .start_workflow(start_request(&b, "order-1"))
        .await
        .unwrap();
    assert!(run_a.started && run_b.started);
    assert_ne!(run_a.run_id, run_b.run_id);

    // A worker of team-a only ever sees team-a's tasks.
    let done_a = h.complete_next(&a, "a").await;
    assert_eq!(
        (done_a.namespace.clone(), done_a.run_id),
        (a.clone(), run_a.run_id)
    );
    let list = |namespace: Namespace| {
        let engine = h.engine.clone();
        async move {
            engine
                .list_workflows(&namespace, &VisibilityQuery::default(), 0, 10)
                .await
                .unwrap()
                .into_iter()
                .map(|row| (row.execution.run_id, row.status))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(a.clone()).await,
        [(run_a.run_id, WorkflowExecutionStatus::Completed)]
    );
    assert_eq!(
        list(b.clone()).await,
        [(run_b.run_id, WorkflowExecutionStatus::Running)]
    );
    assert_eq!(list(Namespace::default()).await, []);
    let done_b = h.complete_next(&b, "b").await;
    assert_eq!(done_b.run_id, run_b.run_id);
    let history = h.engine.history(&done_b).await.unwrap();
    assert_eq!(
        types(&history),
        [
            EventType::WorkflowExecutionStarted,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
            EventType::WorkflowTaskCompleted,
            EventType::WorkflowExecutionCompleted,
        ]
    );
}

#[tokio::test]
async fn a_closed_run_is_deleted_one_retention_after_it_closed() {
    let h = harness().await;
    let orders = name("orders");
    h.engine
        .create_namespace(orders.clone(), config(HOUR))
        .await
        .unwrap();
    let open = h
        .engine
        .start_workflow(start_request(&orders, "still-open"))
        .await
        .unwrap();
    h.engine
        .start_workflow(start_request(&orders, "order-1"))
        .await
        .unwrap();
    // The first task goes to the first run started; the second run stays open.
    let first = h.complete_next(&orders, "done").await;
    assert_eq!(first.run_id, open.run_id);
    let open_key = first;
    h.clock.advance(Duration::from_secs(30));
    let closed = h.complete_next(&orders, "done").await;
    assert_eq!(closed.workflow_id.as_str(), "order-1");

    // A retention later than the first close: the first run goes, the second stays.
    h.clock.advance(HOUR - Duration::from_secs(10));
    h.until_deleted(&open_key).await;
    assert!(
        h.exists(&closed).await,
        "deleted before its retention passed"
    );
    h.clock.advance(Duration::from_secs(10));
    h.until_deleted(&closed).await;

    assert_eq!(h.engine.history(&closed).await.unwrap(), Vec::new());
    assert!(matches!(
        h.engine
            .describe_workflow(&orders, &closed.workflow_id, None)
            .await,
        Err(EngineError::NotFound(_))
    ));
    assert_eq!(
        h.engine
            .list_workflows(&orders, &VisibilityQuery::default(), 0, 10)
            .await
            .unwrap(),
        Vec::new()
    );
    // The workflow id is free again, even for a start that refuses duplicates.
    let mut again = start_request(&orders, "order-1");
    again.options.id_reuse_policy = WorkflowIdReusePolicy::RejectDuplicate;
    assert!(h.engine.start_workflow(again).await.unwrap().started);
}

#[tokio::test]
async fn a_new_retention_applies_to_runs_that_close_afterwards() {
    let h = harness().await;
    let orders = name("orders");
    h.engine
        .create_namespace(orders.clone(), config(HOUR))
        .await
        .unwrap();
    h.engine
        .start_workflow(start_request(&orders, "before"))
        .await
        .unwrap();
    let before = h.complete_next(&orders, "done").await;
    h.engine
        .update_namespace(
            &orders,
            NamespaceUpdate {
                retention: Some(5 * HOUR),
                ..NamespaceUpdate::default()
            },
        )
        .await
        .unwrap();
    h.engine
        .start_workflow(start_request(&orders, "after"))
        .await
        .unwrap();
    let after = h.complete_next(&orders, "done").await;
    h.clock.advance(2 * HOUR);
    h.until_deleted(&before).await;
    assert!(h.exists(&after).await);
    h.clock.advance(3 * HOUR);
    h.until_deleted(&after).await;
}
