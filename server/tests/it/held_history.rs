//! A run's history is read from the held commits and the published state together
//! (`redb_store/run_view.rs`): a read never publishes held commits, and each read is the
//! state after one commit even while commits move the run's tail into batches and scans
//! publish them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use endure_core::EventId;
use endure_core::storage::*;
use endure_core::time::Timestamp;
use endure_server::storage::{RedbStorage, StorageCounters, conformance};

/// The conformance check of a history grown by writes of every size, each read back at
/// once, on a file-backed store: every read finds the held commits' events, and none of
/// them publishes; a scan then does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_reads_see_held_commits_without_publishing_them() {
    let directory = tempfile::tempdir().unwrap();
    let counters = Arc::new(StorageCounters::default());
    let store =
        RedbStorage::open_counted(directory.path().join("held.redb"), Arc::clone(&counters))
            .unwrap();
    let opened = counters.read();
    conformance::history_reads_whole_across_its_writes(&store).await;
    let counts = counters.read().since(&opened);
    assert!(counts.commits > 40, "{counts:?}");
    assert_eq!(counts.publications, 0, "{counts:?}");
    store
        .due_deadlines(ShardId(6), Timestamp::from_unix_seconds(0), 1)
        .await
        .unwrap();
    assert_eq!(counters.read().since(&opened).publications, 1);
}

/// One writer appends 1 to 3 events of 300 B a commit (the row's tail spills into a batch
/// every few commits); a scanner publishes whatever is held, over and over; two readers
/// read the history from pseudo-random events meanwhile. Every page is a contiguous run of
/// events from the one asked for, through at least the last one acknowledged before the
/// read began.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_history_read_is_one_commits_state_while_commits_spill_and_publish() {
    const WRITES: u64 = 300;
    let directory = tempfile::tempdir().unwrap();
    let store = RedbStorage::open(directory.path().join("race.redb")).unwrap();
    let shard = ShardId(0);
    let range = store.acquire_shard(shard).await.unwrap();
    let run = conformance::key("racing", 1);
    let acknowledged = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));

    let scanner = {
        let (store, done) = (store.clone(), Arc::clone(&done));
        tokio::spawn(async move {
            let mut scans = 0u64;
            while !done.load(Ordering::Acquire) {
                store
                    .due_deadlines(shard, Timestamp::from_unix_seconds(0), 1)
                    .await
                    .unwrap();
                scans += 1;
                tokio::task::yield_now().await;
            }
            scans
        })
    };
    let readers: Vec<_> = (0..2u64)
        .map(|reader| {
            let (store, run) = (store.clone(), run.clone());
            let (acknowledged, done) = (Arc::clone(&acknowledged), Arc::clone(&done));
            tokio::spawn(async move {
                let mut seed = 0x9e37_79b9_7f4a_7c15_u64.wrapping_mul(reader + 1);
                let mut reads = 0u64;
                while !done.load(Ordering::Acquire) {
                    let floor = acknowledged.load(Ordering::Acquire);
                    if floor == 0 {
                        tokio::task::yield_now().await;
                        continue;
                    }
                    seed = seed
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    let first = 1 + (seed >> 33) % floor;
                    let page = store
                        .read_history(&run, EventId::new(first).unwrap())
                        .await
                        .unwrap();
                    let ids: Vec<u64> = page.events.iter().map(|e| e.event_id.get()).collect();
                    let expected: Vec<u64> = (first..first + ids.len() as u64).collect();
                    assert_eq!(ids, expected, "a page from event {first} (floor {floor})");
                    if page.next_event_id.is_none() {
                        assert!(
                            ids.last().is_some_and(|&last| last >= floor),
                            "the page from {first} ends before {floor}, acknowledged: {ids:?}"
                        );
                    }
                    reads += 1;
                    tokio::task::yield_now().await;
                }
                reads
            })
        })
        .collect();

    let mut next = 1u64;
    for index in 0..WRITES {
        let condition = match index {
            0 => RunCondition::Create,
            version => RunCondition::DbVersion(version),
        };
        let count = 1 + index % 3;
        let mut run_write = conformance::run_write(&run, shard, condition, next, count);
        run_write.history = conformance::events(next, count, 300);
        let write = conformance::write(shard, range, "racing", vec![run_write]);
        assert_eq!(store.commit(vec![write]).await.unwrap(), [Ok(())]);
        next += count;
        acknowledged.store(next - 1, Ordering::Release);
    }
    done.store(true, Ordering::Release);
    let scans = scanner.await.unwrap();
    for reader in readers {
        assert!(reader.await.unwrap() > 0, "every reader read");
    }
    assert!(scans > 0);
    let whole = store.read_history(&run, EventId::FIRST).await.unwrap();
    let ids: Vec<u64> = whole.events.iter().map(|e| e.event_id.get()).collect();
    assert_eq!(ids, (1..next).collect::<Vec<_>>());
}
