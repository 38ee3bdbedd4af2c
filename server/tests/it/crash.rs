//! Process-crash atomicity of the redb store: a child process commits in a loop and is
//! killed (SIGKILL) at seeded random moments; after each kill the store reopens with every
//! acknowledged write whole and no write in part. Power loss is the simulator's job; this
//! is the real file system and the real process. Set `ENDURE_CRASH_SEED` to replay a run.

use crate::crash_seed::{seed, xorshift};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use endure_core::history::{EventAttributes, HistoryEvent, TimerFiredEventAttributes};
use endure_core::storage::*;
use endure_core::time::Timestamp;
use endure_core::{
    EventId, Namespace, RequestId, RunId, TaskQueueName, TimerId, WorkflowExecutionStatus,
    WorkflowId,
};
use endure_server::storage::RedbStorage;

const CHILD_ENV: &str = "ENDURE_CRASH_CHILD_DB";
const ROUNDS: u32 = 6;
const EVENTS_PER_RUN: u64 = 3;

fn key(index: u64) -> ExecutionKey {
    ExecutionKey {
        namespace: Namespace::default(),
        workflow_id: WorkflowId::new(format!("crash-{index}")).unwrap(),
        run_id: RunId::from_u128(u128::from(index)),
    }
}

fn request(index: u64) -> RequestId {
    RequestId::new(format!("request-{index}")).unwrap()
}

fn write(index: u64, range: RangeId) -> WorkflowWrite {
    let key = key(index);
    let history = (1..=EVENTS_PER_RUN)
        .map(|id| HistoryEvent {
            event_id: EventId::new(id).unwrap(),
            event_time: Timestamp::from_unix_seconds(index),
            attributes: EventAttributes::TimerFired(TimerFiredEventAttributes {
                timer_id: TimerId::new("t").unwrap(),
                started_event_id: EventId::FIRST,
            }),
        })
        .collect();
    WorkflowWrite {
        shard: ShardId(0),
        range_id: range,
        namespace: key.namespace.clone(),
        workflow_id: key.workflow_id.clone(),
        runs: vec![RunWrite {
            condition: RunCondition::Create,
            row: ExecutionRow {
                key: key.clone(),
                shard: ShardId(0),
                db_version: 1,
                next_event_id: EventId::new(EVENTS_PER_RUN + 1).unwrap(),
                status: WorkflowExecutionStatus::Running,
                state: index.to_be_bytes().to_vec(),
            },
            history,
            deadline: DeadlineUpdate::Set(Timestamp::from_unix_seconds(index)),
            dispatch_inserts: vec![DispatchRow {
                namespace: key.namespace.clone(),
                task_queue: TaskQueueName::new("crash").unwrap(),
                task_id: index,
                execution: key.clone(),
                task: DispatchTask::WorkflowTask {
                    scheduled_event_id: EventId::FIRST,
                    attempt: 1,
                },
                directive: None,
            }],
            dispatch_deletes: Vec::new(),
            visibility: None,
        }],
        current_run: None,
        request_ids: vec![RequestRecord {
            namespace: key.namespace.clone(),
            workflow_id: key.workflow_id,
            request_id: request(index),
            run_id: key.run_id,
        }],
        deletion: None,
    }
}

/// Whether run `index` is fully present (`Some(true)`), fully absent (`Some(false)`), or
/// partly present (`None`).
async fn presence(store: &RedbStorage, index: u64) -> Option<bool> {
    let key = key(index);
    let row = store.load_execution(&key).await.unwrap().is_some();
    let history = store
        .read_history(&key, EventId::FIRST)
        .await
        .unwrap()
        .events
        .len() as u64
        == EVENTS_PER_RUN;
    let no_history = store
        .read_history(&key, EventId::FIRST)
        .await
        .unwrap()
        .events
        .is_empty();
    let request = store
        .find_request(&key.namespace, &key.workflow_id, &request(index))
        .await
        .unwrap()
        .is_some();
    match (row, history, no_history, request) {
        (true, true, false, true) => Some(true),
        (false, false, true, false) => Some(false),
        _ => None,
    }
}

/// The child: commits runs in order from the first absent one, printing each acknowledgement.
#[test]
fn child_writer_process() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = RedbStorage::open(Path::new(&path)).unwrap();
        let range = store.acquire_shard(ShardId(0)).await.unwrap();
        let mut index = 1;
        while store.load_execution(&key(index)).await.unwrap().is_some() {
            index += 1;
        }
        let mut stdout = std::io::stdout();
        loop {
            store
                .commit(vec![write(index, range)])
                .await
                .unwrap()
                .remove(0)
                .unwrap();
            writeln!(stdout, "ACK {index}").unwrap();
            stdout.flush().unwrap();
            index += 1;
        }
    });
}

#[tokio::test]
async fn killed_writers_lose_nothing_acknowledged_and_leave_nothing_partial() {
    let seed = seed("ENDURE_CRASH_SEED");
    println!("crash test seed={seed} (rerun with ENDURE_CRASH_SEED={seed})");
    let mut next_random = xorshift(seed);
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("crash.redb");
    let mut acknowledged_max = 0;
    for round in 0..ROUNDS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "--nocapture", "--test-threads=1"])
            .arg("crash::child_writer_process")
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(100 + next_random() % 400));
        child.kill().unwrap();
        child.wait().unwrap();
        let acknowledged: Vec<u64> = BufReader::new(child.stdout.take().unwrap())
            .lines()
            .map_while(Result::ok)
            .filter_map(|line| line.strip_prefix("ACK ").and_then(|n| n.parse().ok()))
            .collect();
        if let Some(last) = acknowledged.last() {
            acknowledged_max = acknowledged_max.max(*last);
        }
        let store = RedbStorage::open(&path).unwrap();
        for index in 1..=acknowledged_max {
            assert_eq!(
                presence(&store, index).await,
                Some(true),
                "seed {seed} round {round}: acknowledged run {index} is not whole"
            );
        }
        for index in acknowledged_max + 1..acknowledged_max + 4 {
            assert!(
                presence(&store, index).await.is_some(),
                "seed {seed} round {round}: run {index} is partly written"
            );
        }
        drop(store);
    }
    assert!(
        acknowledged_max > 0,
        "seed {seed}: the child never acknowledged a write"
    );
}
