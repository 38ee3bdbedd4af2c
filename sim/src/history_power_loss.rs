//! A run's history grown by writes of every size — kept in the run's row as its tail, then
//! spilled into batches — through power lost at every point of a commit: after each
//! reopen the row and the history agree, no acknowledged event is lost, and every event
//! reads back as written — as it does right after each commit, read from the commits the
//! store holds unpublished. (A test of the redb store on [`SimDisk`](crate::disk::SimDisk).)

use endure_core::history::{
    EventAttributes, HistoryEvent, WorkflowExecutionSignaledEventAttributes,
};
use endure_core::storage::*;
use endure_core::time::Timestamp;
use endure_core::*;
use endure_server::storage::{RedbStorage, WalConfig};

use crate::disk::{CrashPoint, SimDisk};

/// Event `id`: a signal carrying 8, 300 or 900 bytes, so the run's tail spills every few
/// writes.
fn event(id: u64) -> HistoryEvent {
    HistoryEvent {
        event_id: EventId::new(id).expect("positive"),
        event_time: Timestamp::from_unix_seconds(1_795_860_000 + id),
        attributes: EventAttributes::WorkflowExecutionSignaled(
            WorkflowExecutionSignaledEventAttributes {
                signal_name: SignalName::new("s").expect("valid"),
                input: Payloads::one(Payload::binary(vec![7; [8, 300, 900][(id % 3) as usize]])),
                identity: String::new(),
                header: Header::new(),
                request_id: None,
                external_workflow_execution: None,
            },
        ),
    }
}

fn key() -> ExecutionKey {
    ExecutionKey {
        namespace: Namespace::default(),
        workflow_id: WorkflowId::new("growing").expect("valid"),
        run_id: RunId::from_u128(1),
    }
}

/// The write appending `count` events to the run stored at `version` (0: none yet), whose
/// next event is `next`.
fn append(range: RangeId, version: u64, next: u64, count: u64) -> WorkflowWrite {
    let condition = match version {
        0 => RunCondition::Create,
        version => RunCondition::DbVersion(version),
    };
    let row = ExecutionRow {
        key: key(),
        shard: ShardId(0),
        db_version: version + 1,
        next_event_id: EventId::new(next + count).expect("positive"),
        status: WorkflowExecutionStatus::Running,
        state: next.to_be_bytes().to_vec(),
    };
    let history = (next..next + count).map(event).collect();
    WorkflowWrite::of_run(range, condition, row, history, DeadlineUpdate::Keep)
}

/// The run's version and next event as stored (0 and 1 when there is no run), after
/// checking that the row and the history agree and every stored event is the one written;
/// or why the store could not be read (power lost).
async fn stored(store: &RedbStorage, context: &str) -> Result<(u64, u64), StorageError> {
    let Some(row) = store.load_execution(&key()).await? else {
        let history = store.read_history(&key(), EventId::FIRST).await?;
        assert!(
            history.events.is_empty(),
            "{context}: history without its run"
        );
        return Ok((0, 1));
    };
    let next = row.next_event_id.get();
    // The row's state names the first event of the write that made it: one or two before.
    let state: [u8; 8] = row.state.as_slice().try_into().expect("eight bytes");
    let last_write = u64::from_be_bytes(state);
    assert!(
        last_write < next && next - last_write <= 2,
        "{context}: the row of the write from {last_write} says its next event is {next}"
    );
    let history = store.read_history(&key(), EventId::FIRST).await?;
    assert_eq!(history.next_event_id, None, "{context}: one page");
    let expected: Vec<HistoryEvent> = (1..next).map(event).collect();
    assert!(
        history.events == expected,
        "{context}: the history is not what was written (ids {:?}, row's next {next})",
        history
            .events
            .iter()
            .map(|e| e.event_id.get())
            .collect::<Vec<_>>()
    );
    Ok((row.db_version, next))
}

#[test]
fn a_growing_history_survives_power_loss_at_every_point() {
    const WAL: WalConfig = WalConfig {
        capacity_bytes: 64 << 10,
        checkpoint_bytes: 8 << 10,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let open = |disk: &SimDisk| {
        RedbStorage::with_backends(disk.backend(), disk.wal_backend(), WAL)
            .unwrap_or_else(|error| panic!("the store reopens on what the disk kept: {error}"))
    };
    runtime.block_on(async {
        for seed in 1..6_u64 {
            for point in (1..8)
                .map(CrashPoint::AfterWrite)
                .chain((1..4).map(CrashPoint::AfterSync))
            {
                let disk = SimDisk::new(seed);
                // The last event id acknowledged as written.
                let mut acknowledged = 0;
                for life in 0..3 {
                    let context = format!("seed {seed}, {point:?}, life {life}");
                    let store = open(&disk);
                    let (mut version, mut next) = stored(&store, &context).await.expect("reads");
                    assert!(next > acknowledged, "{context}: acknowledged events lost");
                    let range = store.acquire_shard(ShardId(0)).await.expect("acquire");
                    // Writes of one and two events by turns, so each write's version
                    // follows from its first event; power goes at `point` after a few.
                    for commit in 0..12 {
                        if commit == 4 {
                            disk.crash_at(point);
                        }
                        let count = 1 + next % 2;
                        let written = store
                            .commit(vec![append(range, version, next, count)])
                            .await;
                        if !matches!(written.as_deref(), Ok([Ok(())])) {
                            assert!(commit >= 4, "{context}: {written:?}");
                            break;
                        }
                        version += 1;
                        next += count;
                        acknowledged = next - 1;
                        // Read back at once from the held commits (reads publish
                        // nothing: they stay held through the next writes and the loss).
                        match stored(&store, &format!("{context}, commit {commit}")).await {
                            Ok(read) => assert_eq!(read, (version, next), "{context}"),
                            // Power went after the commit (in its checkpoint, say).
                            Err(StorageError::Stopped { .. }) if commit >= 4 => break,
                            Err(error) => panic!("{context}, commit {commit}: {error}"),
                        }
                    }
                    disk.crash();
                    drop(store);
                    disk.recover();
                }
                let store = open(&disk);
                let (_, next) = stored(&store, &format!("seed {seed}, {point:?}, at the end"))
                    .await
                    .expect("reads");
                assert!(
                    next > acknowledged && next > 20,
                    "seed {seed}, {point:?}: {next}"
                );
            }
        }
    });
}
