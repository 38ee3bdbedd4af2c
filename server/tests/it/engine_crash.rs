//! The engine survives being killed: a child process runs the engine on a store (a redb
//! file; a PostgreSQL database with the `postgres` feature) with 200 workflows (each: one
//! activity, then complete) and a worker, and is SIGKILLed at seeded random moments; it is
//! restarted until every workflow completed, each exactly once, with a well-formed history.
//! Set `ENDURE_ENGINE_CRASH_SEED` to replay a run.

use crate::crash_seed::{seed, xorshift};
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::time::Duration;

use endure_core::storage::Storage;
use endure_server::clock::SystemClock;

use endure_core::execution::WorkflowTaskCompletion;
use endure_core::history::{EventType, HistoryEvent, check_well_formed};
use endure_core::*;
use endure_server::engine::{Engine, StartWorkflowRequest};

const CHILD_ENV: &str = "ENDURE_ENGINE_CRASH_DB";
const WORKFLOWS: u32 = 200;
const KILLS: u32 = 4;

fn workflow_id(index: u32) -> WorkflowId {
    WorkflowId::new(format!("crash-{index}")).unwrap()
}

fn queue() -> TaskQueueName {
    TaskQueueName::new("crash").unwrap()
}

/// What the worker does for a history: schedule the activity, then complete.
fn decide(history: &[HistoryEvent]) -> Vec<Command> {
    let has = |event_type| history.iter().any(|event| event.event_type() == event_type);
    if !has(EventType::ActivityTaskScheduled) {
        vec![Command::ScheduleActivityTask(Box::new(
            ScheduleActivityTaskCommandAttributes {
                activity_id: ActivityId::new("1").unwrap(),
                activity_type: ActivityType::new("Work").unwrap(),
                task_queue: None,
                header: Header::new(),
                input: Payloads::empty(),
                schedule_to_close_timeout: None,
                schedule_to_start_timeout: None,
                start_to_close_timeout: Some(Duration::from_secs(1)),
                heartbeat_timeout: None,
                retry_policy: None,
                request_eager_execution: false,
            },
        ))]
    } else if has(EventType::ActivityTaskCompleted) {
        vec![Command::CompleteWorkflowExecution(
            CompleteWorkflowExecutionCommandAttributes { result: None },
        )]
    } else {
        Vec::new()
    }
}

/// The store a child runs on, passed to it in [`CHILD_ENV`] as `redb:PATH` or
/// `postgres:URL`.
#[derive(Clone, Debug)]
enum Store {
    Redb(PathBuf),
    #[cfg(feature = "postgres")]
    Postgres(String),
}

impl Store {
    fn to_env(&self) -> String {
        match self {
            Self::Redb(path) => format!("redb:{}", path.display()),
            #[cfg(feature = "postgres")]
            Self::Postgres(url) => format!("postgres:{url}"),
        }
    }

    fn from_env(text: &str) -> Self {
        #[cfg(feature = "postgres")]
        if let Some(url) = text.strip_prefix("postgres:") {
            return Self::Postgres(url.to_owned());
        }
        Self::Redb(PathBuf::from(text.strip_prefix("redb:").unwrap_or(text)))
    }
}

/// Runs `$body` with `$engine` bound to an engine on `$store`, whatever its storage type.
macro_rules! with_engine {
    ($store:expr, |$engine:ident| $body:expr) => {
        match $store {
            Store::Redb(path) => {
                let $engine = Engine::open(Path::new(path)).await.unwrap();
                $body
            }
            #[cfg(feature = "postgres")]
            Store::Postgres(url) => {
                let storage = endure_server::storage::PostgresStorage::connect(
                    url,
                    endure_server::storage::PostgresOptions::default(),
                )
                .await
                .unwrap();
                let $engine = Engine::with_ports(
                    std::sync::Arc::new(storage),
                    std::sync::Arc::new(SystemClock),
                    endure_server::engine::EngineConfig::default(),
                )
                .await
                .unwrap();
                $body
            }
        }
    };
}

pub(crate) async fn all_completed<S: Storage>(engine: &Engine<S, SystemClock>) -> bool {
    for index in 0..WORKFLOWS {
        match engine
            .describe_workflow(&Namespace::default(), &workflow_id(index), None)
            .await
        {
            Ok(description) if description.status == WorkflowExecutionStatus::Completed => {}
            _ => return false,
        }
    }
    true
}

/// The child: opens the engine, (re)starts every workflow idempotently, works until all
/// completed (or until killed).
#[test]
fn engine_child_process() {
    let Some(store) = std::env::var(CHILD_ENV)
        .ok()
        .map(|text| Store::from_env(&text))
    else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async { with_engine!(&store, |engine| work(engine).await) });
}

/// Starts every workflow idempotently and works until all completed (or until killed).
pub(crate) async fn work<S: Storage>(engine: Engine<S, SystemClock>) {
    {
        for index in 0..WORKFLOWS {
            let mut options = StartWorkflowOptions::new(workflow_id(index), queue());
            options.request_id = Some(RequestId::new(format!("start-{index}")).unwrap());
            options.task_timeout = Some(Duration::from_secs(1));
            let request = StartWorkflowRequest {
                namespace: Namespace::default(),
                options,
                workflow_type: WorkflowType::new("Crash").unwrap(),
                input: Payloads::empty(),
                header: Header::new(),
                identity: "crash-child".into(),
            };
            // As a client does: a storage failure (the database restarting) is retried.
            loop {
                match engine.start_workflow(request.clone()).await {
                    Ok(_) | Err(endure_server::engine::EngineError::AlreadyStarted { .. }) => {
                        break;
                    }
                    Err(endure_server::engine::EngineError::Storage(_)) => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Err(error) => panic!("start failed: {error}"),
                }
            }
        }
        let workflows = engine.clone();
        tokio::spawn(async move {
            loop {
                let Ok(Some(task)) = workflows
                    .poll_workflow_task(&Namespace::default(), &queue(), "w")
                    .await
                else {
                    continue;
                };
                let completion =
                    WorkflowTaskCompletion::new(task.token, decide(&task.history), "w");
                let _ = workflows
                    .complete_workflow_task(&task.execution, completion)
                    .await;
            }
        });
        let activities = engine.clone();
        tokio::spawn(async move {
            loop {
                let Ok(Some(task)) = activities
                    .poll_activity_task(&Namespace::default(), &queue(), "a")
                    .await
                else {
                    continue;
                };
                let _ = activities
                    .complete_activity_task(&task.execution, task.token(), None, "a".into())
                    .await;
            }
        });
        while !all_completed(&engine).await {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn child(store: &Store) -> std::process::Child {
    Process::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "--nocapture",
            "--test-threads=1",
            "engine_crash::engine_child_process",
        ])
        .env(CHILD_ENV, store.to_env())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn killed_engines_complete_every_workflow_exactly_once() {
    let directory = tempfile::tempdir().unwrap();
    kill_and_check(&Store::Redb(directory.path().join("engine.redb"))).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_engines_on_postgres_complete_every_workflow_exactly_once() {
    use endure_server::storage::postgres::testing;
    let Some(admin) = testing::admin_url() else {
        return;
    };
    let url = testing::fresh_database(&admin).await.unwrap();
    kill_and_check(&Store::Postgres(url)).await;
}

/// Kills children on `store` at seeded moments, lets the last one finish, and checks every
/// workflow's history.
async fn kill_and_check(store: &Store) {
    let seed = seed("ENDURE_ENGINE_CRASH_SEED");
    println!(
        "engine crash test on {store:?} seed={seed} (rerun with ENDURE_ENGINE_CRASH_SEED={seed})"
    );
    let mut next_random = xorshift(seed);
    for _ in 0..KILLS {
        let mut running = child(store);
        std::thread::sleep(Duration::from_millis(150 + next_random() % 600));
        running.kill().unwrap();
        running.wait().unwrap();
    }
    let mut last = child(store);
    let mut finished = false;
    for _ in 0..600 {
        if let Some(status) = last.try_wait().unwrap() {
            assert!(
                status.success(),
                "seed {seed}: the final child failed: {status}"
            );
            finished = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if !finished {
        last.kill().unwrap();
        panic!("seed {seed}: the workflows did not all complete within 60 s");
    }
    with_engine!(store, |engine| check_histories(&engine, seed).await);
}

/// Every workflow completed once, its activity scheduled and completed once.
pub(crate) async fn check_histories<S: Storage>(engine: &Engine<S, SystemClock>, seed: u64) {
    for index in 0..WORKFLOWS {
        let execution = engine
            .resolve_run(&Namespace::default(), &workflow_id(index), None)
            .await
            .unwrap();
        let history = engine.history(&execution).await.unwrap();
        check_well_formed(&history)
            .unwrap_or_else(|error| panic!("seed {seed}: workflow {index}: {error}"));
        let count = |event_type| {
            history
                .iter()
                .filter(|event| event.event_type() == event_type)
                .count()
        };
        assert_eq!(
            count(EventType::WorkflowExecutionCompleted),
            1,
            "seed {seed}: workflow {index}"
        );
        assert_eq!(
            count(EventType::ActivityTaskScheduled),
            1,
            "seed {seed}: workflow {index} scheduled its activity once"
        );
        assert_eq!(
            count(EventType::ActivityTaskCompleted),
            1,
            "seed {seed}: workflow {index}"
        );
        assert_eq!(
            count(EventType::WorkflowExecutionStarted),
            1,
            "seed {seed}: workflow {index}"
        );
    }
}
