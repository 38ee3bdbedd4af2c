//! The PostgreSQL store (feature `postgres`) against the conformance suite and the
//! reference model, on the database `ENDURE_TEST_POSTGRES` names (`scripts/with-postgres`
//! starts a throwaway one). Without it the tests say so and pass, unless
//! `ENDURE_REQUIRE_POSTGRES` is set (CI), where they fail.

use endure_core::storage::*;
use endure_server::storage::postgres::{schema, testing};
use endure_server::storage::{MemoryStorage, PostgresOptions, PostgresStorage, conformance};
use proptest::prelude::*;

use crate::differential::{operation, perform};

pub(crate) use endure_server::storage::postgres::testing::admin_url;

async fn fresh_database(admin: &str) -> String {
    testing::fresh_database(admin)
        .await
        .expect("a test database is created")
}

/// A store on a new database.
pub(crate) async fn fresh_store(admin: &str) -> PostgresStorage {
    fresh_store_at(admin, PostgresOptions::default()).await
}

/// A store on a new database, opened with `options`.
pub(crate) async fn fresh_store_at(admin: &str, options: PostgresOptions) -> PostgresStorage {
    let url = fresh_database(admin).await;
    PostgresStorage::connect(&url, options)
        .await
        .expect("the store opens on a new database")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_conforms() {
    let Some(admin) = admin_url() else { return };
    // The suite makes its stores synchronously: open them first.
    let mut stores = Vec::new();
    for _ in 0..16 {
        stores.push(fresh_store(&admin).await);
    }
    let stores = std::sync::Mutex::new(stores);
    conformance::run_all(|| {
        stores
            .lock()
            .unwrap()
            .pop()
            .expect("the suite takes at most 16 stores")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schema_is_migrated_once_and_a_newer_one_is_refused() {
    let Some(admin) = admin_url() else { return };
    let url = fresh_database(&admin).await;
    let before = PostgresStorage::schema_status(&url).await.unwrap();
    assert_eq!(before.applied, 0);
    assert_eq!(before.latest, schema::latest_version());
    // Without migrating, a database that is behind is refused with what to run.
    let refused = PostgresStorage::connect(
        &url,
        PostgresOptions {
            migrate: false,
            ..PostgresOptions::default()
        },
    )
    .await
    .unwrap_err();
    assert!(
        refused.to_string().contains("endure admin schema migrate"),
        "{refused}"
    );
    let after = PostgresStorage::migrate(&url).await.unwrap();
    assert_eq!(after.applied, schema::latest_version());
    // Twice is a no-op; opening now needs nothing.
    assert_eq!(PostgresStorage::migrate(&url).await.unwrap(), after);
    PostgresStorage::connect(
        &url,
        PostgresOptions {
            migrate: false,
            ..PostgresOptions::default()
        },
    )
    .await
    .unwrap();
    // A schema from a newer build is refused, not used.
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .execute(
            "INSERT INTO endure_schema_version (version, description) VALUES ($1, 'from the future')",
            &[&(schema::latest_version() + 1)],
        )
        .await
        .unwrap();
    let refused = PostgresStorage::connect(&url, PostgresOptions::default())
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("newer than this build"),
        "{refused}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_is_unavailable_not_fatal() {
    // A port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let error = PostgresStorage::connect(
        &format!("postgres://endure@127.0.0.1:{port}/nothing"),
        PostgresOptions {
            connect_timeout: std::time::Duration::from_secs(2),
            ..PostgresOptions::default()
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(error, StorageError::Unavailable(_)), "{error:?}");
    let error = PostgresStorage::connect("not a url", PostgresOptions::default())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("does not parse"), "{error}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The differential test of `differential.rs`, with PostgreSQL in place of redb.
    #[test]
    fn memory_and_postgres_give_identical_answers(operations in proptest::collection::vec(operation(), 1..40)) {
        let Some(admin) = admin_url() else { return Ok(()) };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let memory = MemoryStorage::new();
            let postgres = fresh_store(&admin).await;
            let mut memory_ranges = [RangeId(0); 2];
            let mut postgres_ranges = [RangeId(0); 2];
            for (index, operation) in operations.iter().enumerate() {
                let expected = perform(&memory, &mut memory_ranges, operation).await;
                let actual = perform(&postgres, &mut postgres_ranges, operation).await;
                assert_eq!(actual, expected, "operation {index}: {operation:?}");
            }
        });
    }
}

/// A run write of `durable` at `version` whose history holds `events`.
fn run_write(version: u64, events: std::ops::Range<u64>) -> WorkflowWrite {
    use endure_core::history::{EventAttributes, HistoryEvent, TimerFiredEventAttributes};
    use endure_core::{EventId, Namespace, RunId, TimerId, WorkflowExecutionStatus, WorkflowId};
    let key = ExecutionKey {
        namespace: Namespace::default(),
        workflow_id: WorkflowId::new("durable").unwrap(),
        run_id: RunId::from_u128(1),
    };
    let history: Vec<HistoryEvent> = events
        .clone()
        .map(|id| HistoryEvent {
            event_id: EventId::new(id).unwrap(),
            event_time: endure_core::time::Timestamp::from_unix_seconds(1_795_860_000),
            attributes: EventAttributes::TimerFired(TimerFiredEventAttributes {
                timer_id: TimerId::new("t").unwrap(),
                started_event_id: EventId::FIRST,
            }),
        })
        .collect();
    let condition = if version == 1 {
        RunCondition::Create
    } else {
        RunCondition::DbVersion(version - 1)
    };
    let row = ExecutionRow {
        key,
        shard: ShardId(0),
        db_version: version,
        next_event_id: EventId::new(events.end).unwrap(),
        status: WorkflowExecutionStatus::Running,
        state: format!("state {version}").into_bytes(),
    };
    WorkflowWrite::of_run(RangeId(1), condition, row, history, DeadlineUpdate::Keep)
}

/// The writes of a commit and its COMMIT travel in one pipeline: if a statement fails in
/// the database (here a history row planted behind the store's back collides), nothing of
/// the commit is applied, the call fails, and the store stops rather than guess.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_failing_in_the_pipeline_applies_nothing_and_stops_the_store() {
    let Some(admin) = admin_url() else { return };
    let url = fresh_database(&admin).await;
    let store = PostgresStorage::connect(&url, PostgresOptions::default())
        .await
        .unwrap();
    assert_eq!(store.acquire_shard(ShardId(0)).await.unwrap(), RangeId(1));
    let results = store.commit(vec![run_write(1, 1..3)]).await.unwrap();
    assert_eq!(results, vec![Ok(())]);
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .execute(
            "INSERT INTO endure_history (namespace, workflow_id, run_id, first_event_id, \
             last_event_id, events) SELECT namespace, workflow_id, run_id, 3, 3, events \
             FROM endure_history WHERE first_event_id = 1",
            &[],
        )
        .await
        .unwrap();
    let failed = store.commit(vec![run_write(2, 3..5)]).await.unwrap_err();
    assert!(
        matches!(&failed, StorageError::Database { code, .. } if code == "23505"),
        "{failed:?}"
    );
    assert!(store.stopped().is_some(), "the store stopped");
    // Nothing of the failed commit: the run is still at version 1, its state unchanged.
    let reopened = PostgresStorage::connect(&url, PostgresOptions::default())
        .await
        .unwrap();
    let key = run_write(1, 1..3).runs[0].row.key.clone();
    let row = reopened.load_execution(&key).await.unwrap().unwrap();
    assert_eq!(row.db_version, 1);
    assert_eq!(row.state, b"state 1");
    assert_eq!(
        store.commit(vec![run_write(2, 3..5)]).await,
        Err(StorageError::Stopped {
            cause: failed.to_string()
        })
    );
}

/// [`run_write`] of workflow id `workflow` instead.
fn run_write_of(workflow: &str, version: u64, events: std::ops::Range<u64>) -> WorkflowWrite {
    let mut write = run_write(version, events);
    let workflow_id = endure_core::WorkflowId::new(workflow).unwrap();
    write.workflow_id = workflow_id.clone();
    write.runs[0].row.key.workflow_id = workflow_id;
    write
}

/// Independent writes commit in one round trip (the check of every condition travels with
/// them); when one of them fails its condition the batch takes the careful path, and each
/// write still gets its own answer: the good ones applied, the stale one refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn independent_writes_commit_in_one_round_trip_and_a_failed_condition_falls_back() {
    let Some(admin) = admin_url() else { return };
    let store = fresh_store(&admin).await;
    assert_eq!(store.acquire_shard(ShardId(0)).await.unwrap(), RangeId(1));
    let before = store.counts();
    let results = store
        .commit(vec![run_write_of("a", 1, 1..3), run_write_of("b", 1, 1..4)])
        .await
        .unwrap();
    assert_eq!(results, vec![Ok(()), Ok(())]);
    let at_once = store.counts();
    assert_eq!(
        at_once.round_trips - before.round_trips,
        1,
        "one round trip"
    );
    assert_eq!(at_once.commits - before.commits, 1);

    // "a" moves on; "b" is written as if still at version 2 (it is at 1): refused.
    let results = store
        .commit(vec![run_write_of("a", 2, 3..5), run_write_of("b", 3, 4..6)])
        .await
        .unwrap();
    assert_eq!(results[0], Ok(()));
    assert!(
        matches!(
            &results[1],
            Err(WriteRejection::ExecutionConditionFailed {
                expected: Some(2),
                actual: Some(1),
                ..
            })
        ),
        "{results:?}"
    );
    let careful = store.counts();
    assert_eq!(
        careful.round_trips - at_once.round_trips,
        3,
        "the failed check, then the reads and the writes"
    );
    let load = |workflow: &str| {
        let key = run_write_of(workflow, 1, 1..3).runs[0].row.key.clone();
        let store = store.clone();
        async move { store.load_execution(&key).await.unwrap().unwrap() }
    };
    assert_eq!(load("a").await.db_version, 2);
    assert_eq!(
        load("b").await.db_version,
        1,
        "nothing of the refused write"
    );
    let history = store
        .read_history(
            &run_write_of("a", 1, 1..3).runs[0].row.key,
            endure_core::EventId::FIRST,
        )
        .await
        .unwrap();
    let ids: Vec<u64> = history
        .events
        .iter()
        .map(|event| event.event_id.get())
        .collect();
    assert_eq!(
        ids,
        vec![1, 2, 3, 4],
        "the check's failure left nothing half applied"
    );

    // A lost shard fails the check too, and the careful path names the new range.
    assert_eq!(store.acquire_shard(ShardId(0)).await.unwrap(), RangeId(2));
    let results = store
        .commit(vec![run_write_of("a", 3, 5..6)])
        .await
        .unwrap();
    assert_eq!(
        results,
        vec![Err(WriteRejection::ShardOwnershipLost {
            shard: ShardId(0),
            expected: RangeId(1),
            actual: RangeId(2),
        })]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_conforms_as_a_cluster_store() {
    let Some(admin) = admin_url() else { return };
    let mut stores = Vec::new();
    for _ in 0..6 {
        stores.push(fresh_store(&admin).await);
    }
    let stores = std::sync::Mutex::new(stores);
    conformance::run_cluster(|| {
        stores
            .lock()
            .unwrap()
            .pop()
            .expect("the suite takes at most 6 stores")
    })
    .await;
}

/// Servers starting at once on a new database (a cluster's first start): every one
/// migrates or finds the schema migrated, and all agree on the shard count. Before, one
/// lost a race in PostgreSQL's catalog creating the version table, and another read the
/// count with a snapshot from before the first one's insert.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_opening_a_new_database_at_once_agree() {
    let Some(admin) = admin_url() else { return };
    for _ in 0..3 {
        let url = fresh_database(&admin).await;
        let open = || async {
            let store = PostgresStorage::connect(&url, PostgresOptions::default())
                .await
                .expect("the store opens");
            store.shard_count(32).await.expect("the shard count")
        };
        let (a, b, c, d) = tokio::join!(open(), open(), open(), open());
        assert_eq!([a, b, c, d], [32; 4]);
    }
}
