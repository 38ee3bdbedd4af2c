//! A store file whose pages were overwritten (a bad disk, a stray `dd`): every call on it
//! returns — a typed error or a value — and never unwinds through its caller. redb reaches
//! `unreachable!()` on some corrupt pages; the store turns that into
//! [`StorageError::Panicked`] and stops (fail-stop, as after an IO error), so a request
//! gets an error reply instead of a dead task and a client waiting for its deadline.

use std::sync::Arc;

use endure_core::random::SplitMix64;
use endure_core::storage::*;
use endure_core::*;
use endure_server::clock::SystemClock;
use endure_server::engine::{Engine, EngineConfig, StartWorkflowRequest};
use endure_server::storage::RedbStorage;

const WORKFLOWS: usize = 400;
const PAGE_BYTES: u64 = 4096;
const SEEDS: u64 = 48;

/// A store of `WORKFLOWS` started runs, closed cleanly.
async fn populated(path: &std::path::Path) {
    let storage = Arc::new(RedbStorage::open(path).unwrap());
    let engine = Engine::with_ports(storage, Arc::new(SystemClock), EngineConfig::default())
        .await
        .unwrap();
    for index in 0..WORKFLOWS {
        engine
            .start_workflow(StartWorkflowRequest {
                namespace: Namespace::default(),
                options: StartWorkflowOptions::new(
                    WorkflowId::new(format!("order-{index}")).unwrap(),
                    TaskQueueName::new("orders").unwrap(),
                ),
                workflow_type: WorkflowType::new("Order").unwrap(),
                input: Payloads::one(Payload::json(&"x".repeat(200)).unwrap()),
                header: Header::new(),
                identity: "client".into(),
            })
            .await
            .unwrap();
    }
    assert!(engine.shutdown().await.is_ok(), "the engine shuts down");
}

/// Overwrites a few whole pages (never the first, whose header makes the open fail
/// plainly) with seeded garbage.
fn corrupt(path: &std::path::Path, seed: u64) {
    use std::io::{Seek, SeekFrom, Write};
    let mut random = SplitMix64::new(seed);
    let mut file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    let pages = file.metadata().unwrap().len() / PAGE_BYTES;
    for _ in 0..1 + random.next_u64() % 4 {
        let page = 1 + random.next_u64() % (pages - 1);
        let garbage: Vec<u8> = (0..PAGE_BYTES).map(|_| random.next_u64() as u8).collect();
        file.seek(SeekFrom::Start(page * PAGE_BYTES)).unwrap();
        file.write_all(&garbage).unwrap();
    }
    file.sync_all().unwrap();
}

/// Every read the engine makes, once each; returns whether one reported a panic, and
/// checks the store stopped after it.
async fn read_everything(store: &RedbStorage) -> bool {
    let mut panicked = false;
    let mut note = |result: Result<(), StorageError>| {
        if let Err(StorageError::Panicked(_)) = result {
            panicked = true;
        }
    };
    let namespace = Namespace::default();
    let query = VisibilityQuery::default();
    note(
        store
            .list_visibility(&namespace, &query, 0, 10_000)
            .await
            .map(drop),
    );
    note(store.count_visibility(&namespace, &query).await.map(drop));
    note(
        store
            .dispatch_rows(&namespace, &TaskQueueName::new("orders").unwrap(), 10_000)
            .await
            .map(drop),
    );
    for shard in 0..32 {
        note(
            store
                .due_deadlines(
                    ShardId(shard),
                    time::Timestamp::from_unix_nanos(u64::MAX),
                    10_000,
                )
                .await
                .map(drop),
        );
    }
    for index in 0..WORKFLOWS {
        let workflow_id = WorkflowId::new(format!("order-{index}")).unwrap();
        let current = store.current_run(&namespace, &workflow_id).await;
        if let Ok(Some(current)) = &current {
            let key = ExecutionKey {
                namespace: namespace.clone(),
                workflow_id,
                run_id: current.run_id,
            };
            note(store.load_execution(&key).await.map(drop));
            note(store.read_history(&key, EventId::FIRST).await.map(drop));
        }
        note(current.map(drop));
    }
    if panicked {
        assert!(
            matches!(store.stopped(), Some(cause) if cause.contains("may be corrupt")),
            "a panic stops the store, naming the cause"
        );
        let after = store.list_namespaces().await;
        assert!(
            matches!(&after, Err(StorageError::Stopped { .. })),
            "every later call is refused: {after:?}"
        );
    }
    panicked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_with_overwritten_pages_answers_every_call_without_unwinding() {
    let directory = tempfile::tempdir().unwrap();
    let pristine = directory.path().join("pristine.redb");
    populated(&pristine).await;
    let report = endure_server::storage::check(&pristine).unwrap();
    assert!(report.is_sound(), "{report:?}");
    let executions = report.tables.iter().find(|(name, _)| name == "executions");
    assert_eq!(
        executions,
        Some(&("executions".to_owned(), WORKFLOWS as u64))
    );
    let (mut panics, mut found) = (0, 0);
    for seed in 0..SEEDS {
        let path = directory.path().join(format!("corrupt-{seed}.redb"));
        std::fs::copy(&pristine, &path).unwrap();
        corrupt(&path, seed);
        // `endure admin check` finds the damage (a page outside every tree may escape it).
        match endure_server::storage::check(&path) {
            Ok(report) if report.is_sound() => {}
            Ok(_) | Err(StorageError::Corrupt { .. } | StorageError::Panicked(_)) => found += 1,
            Err(error) => panic!("seed {seed}: the check failed with {error:?}"),
        }
        match RedbStorage::open(&path) {
            Ok(store) => panics += u32::from(read_everything(&store).await),
            // Debug builds of redb walk every page at open, and reach the panics there.
            Err(StorageError::Panicked(_)) => panics += 1,
            Err(error) => assert!(
                matches!(error, StorageError::Corrupt { .. } | StorageError::Io(_)),
                "seed {seed}: {error:?}"
            ),
        }
    }
    assert!(
        panics > 0,
        "some seed reaches a panic inside redb, or this test no longer tests it"
    );
    assert!(found > SEEDS / 2, "the check found {found} of {SEEDS}");
}

/// A file whose reads return garbage for every page but the header once `rotten` is set:
/// corruption that appears after the store opened (debug builds of redb check every page
/// at open, so only this reaches the panics of reads in a test build).
#[derive(Debug)]
struct RottingBackend {
    file: redb::backends::FileBackend,
    rotten: Arc<std::sync::atomic::AtomicBool>,
}

impl redb::StorageBackend for RottingBackend {
    fn len(&self) -> Result<u64, std::io::Error> {
        self.file.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        self.file.read(offset, out)?;
        if self.rotten.load(std::sync::atomic::Ordering::SeqCst) && offset >= PAGE_BYTES {
            let mut random = SplitMix64::new(offset);
            for byte in out.iter_mut() {
                *byte = random.next_u64() as u8;
            }
        }
        Ok(())
    }
    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        self.file.set_len(len)
    }
    fn sync_data(&self) -> Result<(), std::io::Error> {
        self.file.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        self.file.write(offset, data)
    }
}

#[tokio::test]
async fn pages_that_rot_after_the_open_stop_the_store_with_its_cause() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("store.redb");
    populated(&path).await;
    let rotten = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    // No page cache: every read after the open reaches the file.
    let store = RedbStorage::with_backend_and_cache(
        RottingBackend {
            file: redb::backends::FileBackend::new(file).unwrap(),
            rotten: Arc::clone(&rotten),
        },
        0,
    )
    .unwrap();
    rotten.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(
        read_everything(&store).await,
        "a read of rotten pages reaches a panic inside redb"
    );
}
