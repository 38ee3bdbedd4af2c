//! A run's history grown by many writes of every size reads back whole from every event.
//! (The redb store keeps a run's latest events in its row and moves them to batches once
//! they pass a limit; no reader may tell where they are.)

use super::*;

/// Forty writes of one to three events, of 8 B to 1.5 KiB each, then one of three 3 KiB
/// events: every event reads back, from every first event asked for, exactly as written;
/// and the row reads back as written after each write.
pub async fn history_reads_whole_across_its_writes<S: Storage>(store: &S) {
    let shard = ShardId(6);
    let range = store.acquire_shard(shard).await.expect("acquire");
    let run = key("growing", 1);
    let sizes = [8, 100, 700, 1500, 40];
    let mut written: Vec<HistoryEvent> = Vec::new();
    for index in 0..41u64 {
        let next = written.len() as u64 + 1;
        let condition = match index {
            0 => RunCondition::Create,
            version => RunCondition::DbVersion(version),
        };
        let count = if index == 40 { 3 } else { 1 + index % 3 };
        let bytes = if index == 40 {
            3 * 1024
        } else {
            sizes[(index % 5) as usize]
        };
        let mut run_write = run_write(&run, shard, condition, next, count);
        run_write.history = events(next, count, bytes);
        written.extend(run_write.history.iter().cloned());
        let row = run_write.row.clone();
        commit_one(store, write(shard, range, "growing", vec![run_write]))
            .await
            .unwrap_or_else(|e| panic!("write {index}: {e}"));
        let loaded = store.load_execution(&run).await.expect("load");
        assert_eq!(loaded.as_ref(), Some(&row), "the row after write {index}");
        let last = store
            .read_history(&run, written.last().expect("events").event_id)
            .await
            .expect("read");
        assert_eq!(
            last.events.last(),
            written.last(),
            "the latest event after write {index}"
        );
    }
    for from in 1..=written.len() {
        let page = store
            .read_history(&run, EventId::new(from as u64).expect("positive"))
            .await
            .expect("read");
        assert_eq!(page.next_event_id, None, "one page holds it all");
        assert!(
            page.events == written[from - 1..],
            "the history from event {from} is not what was written (ids {:?})",
            page.events
                .iter()
                .map(|event| event.event_id.get())
                .collect::<Vec<_>>()
        );
    }
}
