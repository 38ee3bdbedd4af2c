//! The SDK end to end: client, worker and workflow code on the embedded engine (redb).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

mod activity_cancel;
mod async_activities;
// check_seeds runs its own tokio runtimes: not built for the simulator.
#[cfg(all(feature = "test-util", not(madsim)))]
mod chaos;
mod children;
mod client;
mod codec;
mod continue_as_new;
mod definitions;
mod deployments;
mod eager_activities;
mod external;
mod golden;
mod golden_stores;
mod interceptors;
mod limits;
mod local_activities;
// A real Prometheus exporter: not built for the simulator.
#[cfg(not(madsim))]
mod metrics;
mod namespaces;
#[cfg(feature = "opentelemetry")]
mod opentelemetry;
mod paging;
mod queries;
mod quickstart;
mod reexports;
mod registration;
mod reset;
mod schedules;
mod scopes;
mod search_attributes;
mod selectors;
mod sessions;
mod spans;
// Real sockets and files; the simulated network is exercised by the scenarios.
#[cfg(not(madsim))]
mod remote;
#[cfg(not(madsim))]
mod security;
mod shutdown;
mod signal_with_start;
mod slots;
mod sticky;
#[cfg(all(feature = "tls", not(madsim)))]
mod tls;
mod updates;
mod visibility;
mod workflow_retry;
// A paused tokio runtime is tokio's, not the simulator's.
#[cfg(not(madsim))]
mod testing;
#[cfg(not(madsim))]
mod timeouts;

use endure::Client;
use endure_core::history::EventType;

/// The history of a workflow that runs one activity and completes, event by event.
pub(crate) const ONE_ACTIVITY_HISTORY: [EventType; 11] = [
    EventType::WorkflowExecutionStarted,
    EventType::WorkflowTaskScheduled,
    EventType::WorkflowTaskStarted,
    EventType::WorkflowTaskCompleted,
    EventType::ActivityTaskScheduled,
    EventType::ActivityTaskStarted,
    EventType::ActivityTaskCompleted,
    EventType::WorkflowTaskScheduled,
    EventType::WorkflowTaskStarted,
    EventType::WorkflowTaskCompleted,
    EventType::WorkflowExecutionCompleted,
];

/// What keeps a test's store alive: the redb file's directory (removed when dropped), or
/// nothing for a PostgreSQL database (left to the throwaway server).
pub(crate) enum TestStore {
    /// The directory of the redb file.
    Redb(#[allow(dead_code)] tempfile::TempDir),
    /// A database on the test PostgreSQL server.
    #[cfg(not(madsim))]
    Postgres,
}

/// A client of an embedded engine on a fresh store: a redb file in a new directory, or —
/// with `ENDURE_TEST_STORE=postgres` and `ENDURE_TEST_POSTGRES` set (`scripts/test` does
/// this under `scripts/with-postgres`) — a new PostgreSQL database.
pub(crate) async fn store_client() -> (Client, TestStore) {
    #[cfg(not(madsim))]
    if std::env::var("ENDURE_TEST_STORE").as_deref() == Ok("postgres") {
        return postgres_client().await;
    }
    let directory = tempfile::tempdir().unwrap();
    let client = endure::embedded::open(directory.path().join("store.redb"))
        .await
        .unwrap();
    (client, TestStore::Redb(directory))
}

#[cfg(not(madsim))]
async fn postgres_client() -> (Client, TestStore) {
    use std::sync::Arc;

    use endure::embedded::{Engine, EngineConfig, InProcessTransport};
    use endure_server::clock::SystemClock;
    use endure_server::storage::postgres::testing;
    use endure_server::storage::{PostgresOptions, PostgresStorage};

    let admin =
        testing::admin_url().expect("ENDURE_TEST_STORE=postgres needs ENDURE_TEST_POSTGRES");
    let url = testing::fresh_database(&admin).await.unwrap();
    let options = PostgresOptions {
        pool_size: 4,
        ..PostgresOptions::default()
    };
    let storage = PostgresStorage::connect(&url, options).await.unwrap();
    let engine = Engine::with_ports(
        Arc::new(storage),
        Arc::new(SystemClock),
        EngineConfig::default(),
    )
    .await
    .unwrap();
    let client = Client::new(
        Arc::new(InProcessTransport::new(engine)),
        endure_core::Namespace::default(),
    );
    (client, TestStore::Postgres)
}

/// Runs `worker` until the returned sender fires (or is dropped); await the handle to see
/// its shutdown finish.
pub(crate) fn spawn_worker(
    worker: endure::Worker,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));
    (stop, running)
}

/// Runs a worker on `queue` of `client`'s engine with `T` registered (see [`spawn_worker`]).
pub(crate) fn run_registered<T: endure::Registration>(
    client: &Client,
    queue: endure::TaskQueueName,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let mut worker = endure::Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue,
        endure::WorkerOptions::default(),
    );
    worker.register::<T>();
    spawn_worker(worker)
}
