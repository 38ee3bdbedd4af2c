//! The storage adapters against the conformance suite, and the redb store's durability,
//! corruption and fail-stop behaviour.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use endure_core::storage::*;
use endure_core::{EventId, Namespace, RunId, WorkflowExecutionStatus, WorkflowId};
use endure_server::storage::{MemoryStorage, RedbStorage, conformance, wal_path};

#[tokio::test]
async fn memory_store_conforms() {
    conformance::run_all(MemoryStorage::new).await;
}

#[tokio::test]
async fn redb_store_conforms() {
    redb_conformance().await;
}

/// On a multi-threaded runtime the store commits in place (a write alone) or on a lent
/// thread (`block_in_place`) instead of on the blocking pool: the same suite holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redb_store_conforms_on_a_multi_threaded_runtime() {
    redb_conformance().await;
}

async fn redb_conformance() {
    let directory = tempfile::tempdir().unwrap();
    let counter = std::sync::atomic::AtomicUsize::new(0);
    conformance::run_all(|| {
        let n = counter.fetch_add(1, Ordering::Relaxed);
        RedbStorage::open(directory.path().join(format!("store-{n}.redb"))).unwrap()
    })
    .await;
}

fn key() -> ExecutionKey {
    ExecutionKey {
        namespace: Namespace::default(),
        workflow_id: WorkflowId::new("durable").unwrap(),
        run_id: RunId::from_u128(1),
    }
}

fn create(range: RangeId) -> WorkflowWrite {
    create_run(range, key())
}

fn create_run(range: RangeId, key: ExecutionKey) -> WorkflowWrite {
    let row = ExecutionRow {
        key,
        shard: ShardId(0),
        db_version: 1,
        next_event_id: EventId::FIRST,
        status: WorkflowExecutionStatus::Running,
        state: b"machine".to_vec(),
    };
    WorkflowWrite::of_run(
        range,
        RunCondition::Create,
        row,
        Vec::new(),
        DeadlineUpdate::Keep,
    )
}

#[tokio::test]
async fn acknowledged_writes_survive_reopening() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("store.redb");
    {
        let store = RedbStorage::open(&path).unwrap();
        let range = store.acquire_shard(ShardId(0)).await.unwrap();
        store
            .commit(vec![create(range)])
            .await
            .unwrap()
            .remove(0)
            .unwrap();
    }
    let store = RedbStorage::open(&path).unwrap();
    let row = store.load_execution(&key()).await.unwrap().unwrap();
    assert_eq!(row.state, b"machine");
    assert_eq!(
        store.acquire_shard(ShardId(0)).await.unwrap(),
        RangeId(2),
        "the lease generation persists"
    );
}

/// A clean close checkpoints: the redb file alone holds every commit, and the
/// write-ahead log beside it has nothing left to replay.
#[tokio::test]
async fn a_clean_close_leaves_every_commit_in_the_store_file() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("store.redb");
    {
        let store = RedbStorage::open(&path).unwrap();
        let range = store.acquire_shard(ShardId(0)).await.unwrap();
        for index in 1..=20 {
            let written = store
                .commit(vec![conformance::numbered_write(index, range)])
                .await
                .unwrap();
            assert_eq!(written, vec![Ok(())]);
        }
    }
    assert!(wal_path(&path).exists());
    std::fs::remove_file(wal_path(&path)).unwrap();
    let store = RedbStorage::open(&path).unwrap();
    for index in 1..=20 {
        assert_eq!(
            conformance::numbered_presence(&store, index).await,
            Some(true),
            "run {index}"
        );
    }
}

/// The files of an open store, copied as they are (what a power loss would leave, their
/// writes all synced): the redb file lacks the commits since the last checkpoint, its
/// write-ahead log holds them; `admin check` counts them and the next open replays them.
#[tokio::test]
async fn a_crash_image_is_checked_and_replayed_from_the_log() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("store.redb");
    let image = directory.path().join("image.redb");
    let store = RedbStorage::open(&path).unwrap();
    let range = store.acquire_shard(ShardId(0)).await.unwrap();
    for index in 1..=5 {
        let written = store
            .commit(vec![conformance::numbered_write(index, range)])
            .await
            .unwrap();
        assert_eq!(written, vec![Ok(())]);
    }
    std::fs::copy(&path, &image).unwrap();
    std::fs::copy(wal_path(&path), wal_path(&image)).unwrap();
    drop(store);
    let report = endure_server::storage::check(&image).unwrap();
    assert!(report.is_sound(), "{report:?}");
    assert_eq!(report.log_records, 5);
    let executions = report.tables.iter().find(|(name, _)| name == "executions");
    assert_eq!(
        executions,
        Some(&("executions".to_owned(), 0)),
        "the file alone lacks them"
    );
    let reopened = RedbStorage::open(&image).unwrap();
    for index in 1..=5 {
        assert_eq!(
            conformance::numbered_presence(&reopened, index).await,
            Some(true),
            "run {index}"
        );
    }
    drop(reopened);
    assert_eq!(
        endure_server::storage::check(&image).unwrap().log_records,
        0
    );
}

/// A write-ahead log left beside a store file that was since removed belongs to that
/// store: a new store in its place never replays it.
#[tokio::test]
async fn a_new_store_never_replays_a_log_left_by_a_removed_one() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("store.redb");
    {
        let store = RedbStorage::open(&path).unwrap();
        let range = store.acquire_shard(ShardId(0)).await.unwrap();
        store
            .commit(vec![conformance::numbered_write(1, range)])
            .await
            .unwrap();
    }
    std::fs::remove_file(&path).unwrap();
    let store = RedbStorage::open(&path).unwrap();
    assert_eq!(conformance::numbered_presence(&store, 1).await, Some(false));
}

#[tokio::test]
async fn a_corrupt_record_is_an_error_naming_its_execution() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("store.redb");
    {
        let store = RedbStorage::open(&path).unwrap();
        let range = store.acquire_shard(ShardId(0)).await.unwrap();
        store
            .commit(vec![create(range)])
            .await
            .unwrap()
            .remove(0)
            .unwrap();
    }
    corrupt_every_run_row(&path);
    let store = RedbStorage::open(&path).unwrap();
    match store.load_execution(&key()).await {
        Err(StorageError::Corrupt { what, .. }) => assert!(what.contains("durable"), "{what}"),
        other => panic!("expected a corruption error, got {other:?}"),
    }
}

/// Rewrites every run row of the closed store at `path` with bytes that are not a record.
fn corrupt_every_run_row(path: &std::path::Path) {
    let database = redb::Database::create(path).unwrap();
    let table: redb::TableDefinition<'static, &[u8], &[u8]> =
        redb::TableDefinition::new("executions");
    let transaction = database.begin_write().unwrap();
    {
        let mut executions = transaction.open_table(table).unwrap();
        let keys: Vec<Vec<u8>> = redb::ReadableTable::iter(&executions)
            .unwrap()
            .map(|entry| entry.unwrap().0.value().to_vec())
            .collect();
        for key in keys {
            executions
                .insert(key.as_slice(), [1u8, 8, 255, 255].as_slice())
                .unwrap();
        }
    }
    transaction.commit().unwrap();
}

/// Commits stay held in an open transaction until something reads (`publication.rs`). A
/// group that fails on a corrupt row drops that transaction: the commits it held before are
/// made again from their records, visible at once and still there after a reopen, and the
/// store goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_that_fails_keeps_the_held_commits_before_it() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("store.redb");
    {
        let store = RedbStorage::open(&path).unwrap();
        let range = store.acquire_shard(ShardId(0)).await.unwrap();
        assert_eq!(store.commit(vec![create(range)]).await.unwrap(), [Ok(())]);
    }
    corrupt_every_run_row(&path);
    let store = RedbStorage::open(&path).unwrap();
    let range = store.acquire_shard(ShardId(0)).await.unwrap();
    let others: Vec<ExecutionKey> = (2..5)
        .map(|run| ExecutionKey {
            workflow_id: WorkflowId::new(format!("held-{run}")).unwrap(),
            run_id: RunId::from_u128(run),
            ..key()
        })
        .collect();
    // Three commits, nothing read between them: one held transaction.
    for other in &others {
        let written = store.commit(vec![create_run(range, other.clone())]).await;
        assert_eq!(written.unwrap(), [Ok(())]);
    }
    // A write to the corrupt run fails its group.
    let mut update = create(range);
    update.runs[0].condition = RunCondition::DbVersion(1);
    update.runs[0].row.db_version = 2;
    match store.commit(vec![update]).await {
        Err(StorageError::Corrupt { what, .. }) => assert!(what.contains("durable"), "{what}"),
        other => panic!("expected a corruption error, got {other:?}"),
    }
    assert!(
        store.stopped().is_none(),
        "a corrupt row fails its group only"
    );
    for other in &others {
        let row = store.load_execution(other).await.unwrap();
        assert_eq!(row.map(|row| row.db_version), Some(1), "{other:?}");
    }
    // And they were durable all along: a reopen finds them.
    let fourth = ExecutionKey {
        workflow_id: WorkflowId::new("after").unwrap(),
        run_id: RunId::from_u128(9),
        ..key()
    };
    assert_eq!(
        store
            .commit(vec![create_run(range, fourth.clone())])
            .await
            .unwrap(),
        [Ok(())]
    );
    drop(store);
    let store = RedbStorage::open(&path).unwrap();
    for other in others.iter().chain([&fourth]) {
        assert!(
            store.load_execution(other).await.unwrap().is_some(),
            "{other:?}"
        );
    }
}

/// A shard's lease or a namespace is a write transaction of its own, while commits hold
/// theirs open between reads: it publishes them and keeps them from opening another until it
/// commits (redb runs one write transaction at a time: it would otherwise wait for the next
/// publication, which a store with no reads and no more commits never makes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_write_transactions_never_wait_on_held_commits() {
    let directory = tempfile::tempdir().unwrap();
    let store = RedbStorage::open(directory.path().join("store.redb")).unwrap();
    let range = store.acquire_shard(ShardId(0)).await.unwrap();
    let committing = {
        let store = store.clone();
        tokio::spawn(async move {
            for run in 0..1000 {
                let key = ExecutionKey {
                    workflow_id: WorkflowId::new(format!("w-{run}")).unwrap(),
                    run_id: RunId::from_u128(run + 10),
                    ..key()
                };
                let written = store.commit(vec![create_run(range, key)]).await;
                assert_eq!(written.unwrap(), [Ok(())]);
            }
        })
    };
    let leasing = {
        let store = store.clone();
        tokio::spawn(async move {
            for _ in 0..1000 {
                store.acquire_shard(ShardId(1)).await.unwrap();
            }
        })
    };
    let both = async {
        committing.await.unwrap();
        leasing.await.unwrap();
        // The last commits are held: a lease and a namespace still go through.
        store.acquire_shard(ShardId(2)).await.unwrap();
        let record = endure_core::namespace::NamespaceRecord::new(
            Namespace::new("late").unwrap(),
            Default::default(),
            endure_core::time::Timestamp::from_unix_seconds(1_795_860_000),
        );
        assert_eq!(store.put_namespace(record, None).await.unwrap(), Ok(()));
    };
    tokio::time::timeout(std::time::Duration::from_secs(30), both)
        .await
        .expect("no write transaction waits on the held commits");
}

/// A file backend whose syncs start failing on demand.
#[derive(Debug)]
struct FailingBackend {
    file: redb::backends::FileBackend,
    fail_sync: Arc<AtomicBool>,
}

impl redb::StorageBackend for FailingBackend {
    fn len(&self) -> Result<u64, std::io::Error> {
        self.file.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        self.file.read(offset, out)
    }
    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        self.file.set_len(len)
    }
    fn sync_data(&self) -> Result<(), std::io::Error> {
        if self.fail_sync.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("injected EIO"));
        }
        self.file.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        self.file.write(offset, data)
    }
}

#[tokio::test]
async fn an_io_error_stops_the_store_until_reopened() {
    let directory = tempfile::tempdir().unwrap();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(directory.path().join("store.redb"))
        .unwrap();
    let fail_sync = Arc::new(AtomicBool::new(false));
    let backend = FailingBackend {
        file: redb::backends::FileBackend::new(file).unwrap(),
        fail_sync: Arc::clone(&fail_sync),
    };
    let store = RedbStorage::with_backend(backend).unwrap();
    let range = store.acquire_shard(ShardId(0)).await.unwrap();
    fail_sync.store(true, Ordering::Relaxed);
    let failed = store.commit(vec![create(range)]).await;
    assert!(matches!(failed, Err(StorageError::Io(_))), "{failed:?}");
    fail_sync.store(false, Ordering::Relaxed);
    let stopped = store.load_execution(&key()).await;
    assert!(
        matches!(&stopped, Err(StorageError::Stopped { cause }) if cause.contains("IO error")),
        "fail-stop after an IO error, naming it: {stopped:?}"
    );
    assert!(
        store
            .stopped()
            .is_some_and(|cause| cause.contains("IO error"))
    );
}

/// A counted store counts each write transaction and the backend's fsyncs and bytes: a
/// durable store syncs at least once per commit.
#[tokio::test]
async fn a_counted_store_counts_commits_fsyncs_and_bytes() {
    use endure_server::storage::StorageCounters;
    let directory = tempfile::tempdir().unwrap();
    let counters = Arc::new(StorageCounters::default());
    let store =
        RedbStorage::open_counted(directory.path().join("counted.redb"), Arc::clone(&counters))
            .unwrap();
    let opened = counters.read();
    let shard = endure_core::storage::ShardId(0);
    store.acquire_shard(shard).await.unwrap();
    store.acquire_shard(shard).await.unwrap();
    let counts = counters.read().since(&opened);
    assert_eq!(counts.commits, 2);
    assert!(counts.fsyncs >= 2, "{counts:?}");
    assert!(counts.bytes_written > 0, "{counts:?}");
    assert!(counters.read().durable());
}

#[tokio::test]
async fn memory_store_conforms_as_a_cluster_store() {
    conformance::run_cluster(MemoryStorage::new).await;
}
