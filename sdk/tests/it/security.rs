//! Security end to end over TCP: a server requiring credentials, tenant A's worker and
//! client running the Quick Start with their own API keys, and tenant B replaying the attack
//! of the security issue with its admin key — list, read, query, signal, terminate, cut the
//! retention, poll tenant A's queue — every step refused with `PermissionDenied` naming the
//! missing role, nothing of tenant A's changed. Also: no credential, a wrong key, a key
//! revoked while its worker polls, and the audit log naming the authenticated subject.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

use endure::embedded::{Engine, InProcessTransport};
use endure::remote::{ApiKey, RemoteOptions};
use endure::*;
use endure_core::access::Claims;
use endure_core::namespace::{NamespaceConfig, NamespaceUpdate};
use endure_core::protocol::{ErrorKind, PollWorkflowTaskRequest, Request};
use endure_core::storage::VisibilityQuery;
use endure_server::security::{CredentialStore, CredentialTable, Security, generate_api_key};
use endure_server::storage::RedbStorage;
use endure_server::tcp::{TcpServer, TcpServerConfig};
use parking_lot::Mutex;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};

use crate::quickstart::start_worker;

type RedbEngine = Engine<RedbStorage, endure_server::clock::SystemClock>;

/// The audit records logged, each as its fields.
#[derive(Clone, Default)]
struct AuditLog(Arc<Mutex<Vec<BTreeMap<String, String>>>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for AuditLog {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() == endure_server::security::audit::TARGET {
            let mut fields = BTreeMap::new();
            event.record(&mut Fields(&mut fields));
            self.0.lock().push(fields);
        }
    }
}

/// The keys of the test's principals, in clear.
struct Keys {
    a_writer: String,
    a_worker: String,
    a_reader: String,
    b_admin: String,
    operator: String,
}

fn grant(subject: &str, permissions: &[&str]) -> Claims {
    let mut claims = Claims::new(subject);
    for permission in permissions {
        assert!(claims.grant_permission(permission), "{permission}");
    }
    claims
}

fn credentials() -> (CredentialTable, Keys) {
    let mut table = CredentialTable::default();
    let mut key = |seed: u8, subject: &str, permissions: &[&str]| {
        let (key, hash) = generate_api_key([seed; 32]);
        table = std::mem::take(&mut table).with_api_key(hash, grant(subject, permissions));
        key
    };
    let keys = Keys {
        a_writer: key(1, "orders-app", &["tenant-a:write"]),
        a_worker: key(2, "orders-worker", &["tenant-a:worker"]),
        a_reader: key(3, "orders-dashboard", &["tenant-a:read"]),
        b_admin: key(4, "billing-admin", &["tenant-b:admin"]),
        operator: key(5, "platform-operator", &["system:admin"]),
    };
    (table, keys)
}

struct Served {
    engine: RedbEngine,
    address: SocketAddr,
    store: Arc<CredentialStore>,
    _dir: tempfile::TempDir,
}

async fn serve() -> (Served, Keys) {
    let dir = tempfile::tempdir().unwrap();
    let engine: RedbEngine = Engine::open(dir.path().join("store.redb")).await.unwrap();
    let (table, keys) = credentials();
    let store = Arc::new(CredentialStore::new(table));
    let security = Security::open().with_authenticator(store.clone());
    let transport = Arc::new(InProcessTransport::new(engine.clone()));
    let server = TcpServer::bind(
        "127.0.0.1:0".parse().unwrap(),
        transport,
        TcpServerConfig::default(),
    )
    .await
    .unwrap()
    .with_security(Arc::new(security));
    let address = server.local_addr().unwrap();
    tokio::spawn(server.serve(std::future::pending()));
    (
        Served {
            engine,
            address,
            store,
            _dir: dir,
        },
        keys,
    )
}

fn options(key: Option<&str>) -> RemoteOptions {
    RemoteOptions {
        api_key: key.map(ApiKey::fixed),
        ..RemoteOptions::default()
    }
}

impl Served {
    fn client(&self, namespace: &str, key: Option<&str>) -> Client {
        Client::connect_with(
            self.address.to_string(),
            Namespace::new(namespace).unwrap(),
            options(key),
        )
    }
}

fn remote(error: ClientError) -> endure_core::protocol::RemoteError {
    match error {
        ClientError::Remote(remote) => remote,
        other => panic!("expected a refusal from the server, got {other}"),
    }
}

/// Asserts a call was refused with `kind`, its message naming `role`.
fn refused<T: std::fmt::Debug>(outcome: Result<T, ClientError>, kind: ErrorKind, role: &str) {
    let error = remote(outcome.expect_err("the call must be refused"));
    assert_eq!(error.kind, kind, "{}", error.message);
    assert!(
        error.message.contains(role),
        "{:?} does not name {role}",
        error.message
    );
}

fn order_options(id: &str) -> StartWorkflowOptions {
    StartWorkflowOptions::new(
        WorkflowId::new(id).unwrap(),
        TaskQueueName::new("my-task-queue").unwrap(),
    )
}

// One thread, so the test's audit layer sees the server's tasks.
#[tokio::test(flavor = "current_thread")]
async fn tenant_b_cannot_list_read_terminate_change_or_poll_tenant_a() {
    let audit = AuditLog::default();
    let _log = tracing::subscriber::set_default(tracing_subscriber::registry().with(audit.clone()));
    let (served, keys) = serve().await;

    // The operator creates both namespaces; a tenant's admin cannot create one.
    let operator = served.client("default", Some(&keys.operator));
    for name in ["tenant-a", "tenant-b"] {
        operator
            .create_namespace(Namespace::new(name).unwrap(), NamespaceConfig::default())
            .await
            .unwrap();
    }
    let b = served.client("tenant-b", Some(&keys.b_admin));
    refused(
        b.create_namespace(
            Namespace::new("tenant-c").unwrap(),
            NamespaceConfig::default(),
        )
        .await,
        ErrorKind::PermissionDenied,
        "admin",
    );

    // Tenant A runs the Quick Start: its worker with the worker key, its app with the
    // writer key.
    let a_worker = served.client("tenant-a", Some(&keys.a_worker));
    let (stop, running) = start_worker(&a_worker, Arc::new(AtomicU32::new(0)), false);
    let a = served.client("tenant-a", Some(&keys.a_writer));
    let handle = a
        .start_workflow(order_options("order-a"), "OrderWorkflow", &"user_123")
        .await
        .unwrap();
    let result: String = handle.result().await.unwrap();
    assert_eq!(result, "workflow_completed_sent");
    let a_history = handle.history().await.unwrap();

    // The attack, with tenant B's admin key.
    let namespaces = b.list_namespaces().await.unwrap();
    let names: Vec<&str> = namespaces.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["tenant-b"], "tenant B sees only its own namespace");
    let b_in_a = b.with_namespace(Namespace::new("tenant-a").unwrap());
    refused(
        b_in_a
            .list_workflows(VisibilityQuery::default(), 0, 10)
            .await,
        ErrorKind::PermissionDenied,
        "reader",
    );
    let a_run = b_in_a.handle(WorkflowId::new("order-a").unwrap(), None);
    refused(
        a_run.describe().await,
        ErrorKind::PermissionDenied,
        "reader",
    );
    refused(a_run.history().await, ErrorKind::PermissionDenied, "reader");
    refused(
        a_run.query::<(), String>("status", &()).await,
        ErrorKind::PermissionDenied,
        "reader",
    );
    refused(
        a_run.signal("approve", &"yes").await,
        ErrorKind::PermissionDenied,
        "writer",
    );
    refused(
        a_run.terminate("hostile").await,
        ErrorKind::PermissionDenied,
        "writer",
    );
    refused(
        b_in_a
            .start_workflow(order_options("planted"), "OrderWorkflow", &"user_666")
            .await,
        ErrorKind::PermissionDenied,
        "writer",
    );
    refused(
        b.update_namespace(
            &Namespace::new("tenant-a").unwrap(),
            NamespaceUpdate {
                retention: Some(Duration::from_secs(3600)),
                ..NamespaceUpdate::default()
            },
        )
        .await,
        ErrorKind::PermissionDenied,
        "admin",
    );
    let poll = Request::PollWorkflowTask(PollWorkflowTaskRequest {
        namespace: Namespace::new("tenant-a").unwrap(),
        task_queue: TaskQueueName::new("my-task-queue").unwrap(),
        identity: "thief".into(),
        deployment_version: None,
        normal_queue: None,
    });
    let polled = b.transport().call(poll).await.unwrap_err();
    assert_eq!(polled.kind, ErrorKind::PermissionDenied);
    assert!(polled.message.contains("worker"), "{}", polled.message);

    // Nothing of tenant A's changed: same history, same retention, no planted run.
    assert_eq!(handle.history().await.unwrap(), a_history);
    let record = a
        .describe_namespace(&Namespace::new("tenant-a").unwrap())
        .await
        .unwrap();
    assert_eq!(record.config, NamespaceConfig::default());
    let runs = a
        .list_workflows(VisibilityQuery::default(), 0, 10)
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);

    // Tenant A's own roles: the worker key runs workers but cannot terminate or start;
    // the reader reads but cannot signal.
    let a_as_worker = served.client("tenant-a", Some(&keys.a_worker));
    refused(
        a_as_worker
            .start_workflow(order_options("by-worker"), "OrderWorkflow", &"x")
            .await,
        ErrorKind::PermissionDenied,
        "writer",
    );
    let reader = served.client("tenant-a", Some(&keys.a_reader));
    let described = reader
        .handle(WorkflowId::new("order-a").unwrap(), None)
        .describe()
        .await
        .unwrap();
    assert_eq!(
        described.status,
        endure_core::WorkflowExecutionStatus::Completed
    );
    refused(
        reader
            .handle(WorkflowId::new("order-a").unwrap(), None)
            .signal("approve", &"yes")
            .await,
        ErrorKind::PermissionDenied,
        "writer",
    );
    let _ = stop.send(());
    running.await.unwrap();

    // The audit log: the denied terminate and update, by the authenticated subject (not
    // the client's identity string), the namespace creations by the operator.
    let records = audit.0.lock().clone();
    let find = |rpc: &str, subject: &str| {
        records
            .iter()
            .find(|r| r.get("rpc").map(String::as_str) == Some(rpc) && r["subject"] == subject)
            .unwrap_or_else(|| panic!("no audit record of {rpc} by {subject}: {records:#?}"))
            .clone()
    };
    let terminate = find("TerminateWorkflow", "billing-admin");
    assert_eq!(terminate["namespace"], "tenant-a");
    assert_eq!(terminate["target"], "workflow order-a");
    assert_eq!(terminate["outcome"], "PermissionDenied");
    assert!(terminate["peer"].starts_with("127.0.0.1:"));
    assert_eq!(
        find("UpdateNamespace", "billing-admin")["outcome"],
        "PermissionDenied"
    );
    assert_eq!(
        find("CreateNamespace", "platform-operator")["outcome"],
        "ok"
    );
    assert_eq!(
        find("CreateNamespace", "billing-admin")["outcome"],
        "PermissionDenied"
    );
    drop(served.engine);
}

#[tokio::test]
async fn no_credential_and_a_wrong_key_are_refused_and_health_answers_anyone() {
    let (served, _keys) = serve().await;
    let anonymous = served.client("default", None);
    anonymous.health().await.unwrap();
    refused(
        anonymous
            .list_workflows(VisibilityQuery::default(), 0, 1)
            .await,
        ErrorKind::Unauthenticated,
        "--api-key",
    );
    let wrong = served.client("default", Some("endure_this-is-not-a-key"));
    let error = remote(wrong.health().await.unwrap_err());
    assert_eq!(error.kind, ErrorKind::Unauthenticated);
    assert!(error.message.contains("not valid"), "{}", error.message);
}

#[tokio::test]
async fn a_revoked_worker_key_stops_taking_tasks_and_its_work_waits_for_a_valid_worker() {
    let (served, keys) = serve().await;
    let operator = served.client("default", Some(&keys.operator));
    operator
        .create_namespace(
            Namespace::new("tenant-a").unwrap(),
            NamespaceConfig::default(),
        )
        .await
        .unwrap();
    let a = served.client("tenant-a", Some(&keys.a_writer));
    // The worker's key is revoked before any work arrives.
    let worker_client = served.client("tenant-a", Some(&keys.a_worker));
    let (stop, running) = start_worker(&worker_client, Arc::new(AtomicU32::new(0)), false);
    worker_client.health().await.unwrap();
    served
        .store
        .revoke_api_key(&endure_server::security::ApiKeyHash::of(&keys.a_worker));
    let handle = a
        .start_workflow(order_options("order-r"), "OrderWorkflow", &"user_123")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let described = handle.describe().await.unwrap();
    assert_eq!(
        described.status,
        endure_core::WorkflowExecutionStatus::Running,
        "the revoked worker must not have run it"
    );
    let history = handle.history().await.unwrap();
    assert!(
        !history
            .iter()
            .any(|event| event.event_type() == endure_core::EventType::WorkflowTaskStarted),
        "no workflow task may start for a revoked worker: {history:#?}"
    );
    let _ = stop.send(());
    running.await.unwrap();
    // A worker with a valid key (the writer's) picks the work up.
    let (stop, running) = start_worker(&a, Arc::new(AtomicU32::new(0)), false);
    let result: String = handle.result().await.unwrap();
    assert_eq!(result, "workflow_completed_sent");
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test]
async fn rate_limited_calls_are_retried_with_backoff_and_surface_only_past_their_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let engine: RedbEngine = Engine::open(dir.path().join("store.redb")).await.unwrap();
    let security = Security::open().with_rate_limits(endure_server::security::RateLimitConfig {
        connection_rps: Some(20.0),
        ..Default::default()
    });
    let server = TcpServer::bind(
        "127.0.0.1:0".parse().unwrap(),
        Arc::new(InProcessTransport::new(engine)),
        TcpServerConfig::default(),
    )
    .await
    .unwrap()
    .with_security(Arc::new(security));
    let address = server.local_addr().unwrap().to_string();
    tokio::spawn(server.serve(std::future::pending()));

    // Within its deadline every call gets through: the refusals are retried.
    let patient = Client::connect(address.clone(), Namespace::default());
    for outcome in burst(&patient, 60).await {
        outcome.unwrap();
    }
    // With a deadline too short to wait for the bucket, the refusal surfaces, typed.
    let hasty = Client::connect_with(
        address,
        Namespace::default(),
        RemoteOptions {
            call_timeout: Duration::from_millis(100),
            ..RemoteOptions::default()
        },
    );
    let refused = burst(&hasty, 60)
        .await
        .into_iter()
        .filter_map(Result::err)
        .map(remote)
        .filter(|error| error.kind == ErrorKind::ResourceExhausted)
        .count();
    assert!(
        refused > 0,
        "a connection limited to 20 calls a second took 60 at once"
    );
}

/// Lists from `client` `count` times at once; each call's outcome.
async fn burst(client: &Client, count: usize) -> Vec<Result<(), ClientError>> {
    let calls: Vec<_> = (0..count)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .list_workflows(VisibilityQuery::default(), 0, 1)
                    .await
                    .map(drop)
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for call in calls {
        outcomes.push(call.await.unwrap());
    }
    outcomes
}
