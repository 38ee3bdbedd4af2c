//! The test environment (Temporal's time-skipping test server, in process): an in-memory
//! engine whose clock skips ahead, and a client for it. Run tests on a paused tokio runtime —
//! `#[tokio::test(start_paused = true)]` — and whenever every task waits on a timer, time
//! jumps to the next one: a workflow that sleeps for days finishes at once.
//!
//! Activities are mocked by registering another implementation for the activity type on
//! the test's worker.
//!
//! **Chaos without special builds**: `check_seeds` (feature `test-util`) runs a scenario once per seed, each on
//! a [`TestEnvironment::with_chaos`] whose workers replay every task from scratch and
//! compare, evict runs from their caches, fail activity attempts, lose their results and run
//! them twice, and whose client delays signals and updates (see [`crate::chaos`]). A
//! failing seed comes back as a [`SeedFailure`]: the seed, its rerun command, the faults
//! injected and every history saved as JSON. Faults of machines and networks (engine kills,
//! power loss inside a commit, partitions, clock skew, duplicated requests) need the
//! simulator: `endure-sim`'s `Simulation`, built with `RUSTFLAGS="--cfg madsim"`.

mod report;
#[cfg(all(feature = "test-util", not(madsim)))]
mod seeds;

pub use report::{
    REPORTS_VARIABLE, SEED_VARIABLE, SeedFailure, panic_message, reports_dir, seeds_to_run,
};
#[cfg(all(feature = "test-util", not(madsim)))]
pub use seeds::{ScenarioError, check_seeds};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use endure_core::time::Timestamp;
use endure_server::clock::TokioClock;
use endure_server::engine::{Engine, EngineConfig, EngineError, InProcessTransport};
use endure_server::storage::MemoryStorage;

use crate::chaos::{Chaos, ChaosKind};
use crate::interceptors::{CallFuture, ClientInterceptor, ClientNext};
use crate::{Client, ClientError, Worker, WorkerOptions};
use endure_core::TaskQueueName;
use endure_core::history::HistoryEvent;
use endure_core::protocol::Request;
use endure_core::storage::VisibilityQuery;

/// Long polls of the test environment: ten years, so they never end a time skip early.
const LONG_POLL: std::time::Duration = std::time::Duration::from_secs(10 * 365 * 24 * 3600);

/// When test environments start: 2026-01-01T00:00:00Z.
pub const TEST_START: Timestamp = Timestamp::from_unix_seconds(1_767_225_600);

/// An in-memory engine on a skipping clock, with a client: a workflow that sleeps for a
/// month finishes in milliseconds, and activities are mocked by registering another
/// implementation on the test's worker.
///
/// ```
/// use std::time::Duration;
///
/// use endure::testing::TestEnvironment;
/// use endure::{StartWorkflowOptions, TaskQueueName, Worker, WorkerOptions};
/// use endure::{WorkflowContext, WorkflowError, WorkflowId};
///
/// #[endure::workflow(name = "Trial")]
/// async fn trial(ctx: WorkflowContext, user: String) -> Result<String, WorkflowError> {
///     ctx.sleep(Duration::from_secs(30 * 24 * 3600)).await?;
///     Ok(format!("{user}: trial over"))
/// }
///
/// // In a test: #[tokio::test(start_paused = true)]
/// # fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?.block_on(async {
/// let environment = TestEnvironment::new().await?;
/// let client = environment.client().clone();
/// let queue = TaskQueueName::new("trials")?;
/// let mut worker = Worker::new(client.transport(), client.namespace().clone(), queue.clone(), WorkerOptions::default());
/// worker.register::<trial>();
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// let running = tokio::spawn(worker.run(async { let _ = stopped.await; }));
///
/// let started = environment.now();
/// let options = StartWorkflowOptions::new(WorkflowId::new("trial-ada")?, queue);
/// let handle = client.start::<trial>(options, &"ada".to_owned()).await?;
/// assert_eq!(handle.result::<String>().await?, "ada: trial over");
/// assert!(environment.now().saturating_duration_since(started) >= Duration::from_secs(30 * 24 * 3600));
/// let _ = stop.send(());
/// running.await?;
/// # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
/// # })
/// # }
/// ```
#[derive(Clone)]
pub struct TestEnvironment {
    client: Client,
    clock: Arc<TokioClock>,
    chaos: Option<Chaos>,
    workers: Arc<AtomicUsize>,
}

impl TestEnvironment {
    /// A fresh environment; its clock reads [`TEST_START`].
    pub async fn new() -> Result<Self, EngineError> {
        let clock = Arc::new(TokioClock::new(TEST_START));
        // Long polls that never expire on their own: the only timers left are the
        // workflows' own, so time jumps straight to them.
        let config = EngineConfig {
            poll_wait: LONG_POLL,
            ..EngineConfig::default()
        };
        let engine =
            Engine::with_ports(Arc::new(MemoryStorage::new()), Arc::clone(&clock), config).await?;
        let client = Client::new(
            Arc::new(InProcessTransport::new(engine)),
            endure_core::Namespace::default(),
        )
        .with_long_poll(LONG_POLL);
        Ok(Self {
            client,
            clock,
            chaos: None,
            workers: Arc::default(),
        })
    }

    /// A fresh environment under `chaos`: the workers made by [`worker`](Self::worker)
    /// inject its faults, and its client holds signals and updates back by up to its
    /// message delay (skipped time). See [`check_seeds`] to run many seeds.
    pub async fn with_chaos(chaos: Chaos) -> Result<Self, EngineError> {
        let mut environment = Self::new().await?;
        environment.client = environment
            .client
            .with_interceptor(Arc::new(MessageDelays(chaos.for_worker("client"))));
        environment.chaos = Some(chaos);
        Ok(environment)
    }

    /// The chaos of this environment, if any: its log says what was injected and found.
    pub fn chaos(&self) -> Option<&Chaos> {
        self.chaos.as_ref()
    }

    /// A worker for `task_queue` on this environment, with its chaos and an identity of
    /// its own (`test-worker-N`). Register workflows and activities, then run it.
    pub fn worker(&self, task_queue: TaskQueueName) -> Worker {
        let number = self.workers.fetch_add(1, Ordering::SeqCst) + 1;
        let options = WorkerOptions {
            identity: format!("test-worker-{number}"),
            chaos: self.chaos.clone(),
            ..WorkerOptions::default()
        };
        Worker::new(
            self.client.transport(),
            self.client.namespace().clone(),
            task_queue,
            options,
        )
    }

    /// Runs `worker` in the background until the runtime ends (a test's, or a seed's in
    /// [`check_seeds`]).
    pub fn spawn_worker(&self, worker: Worker) {
        tokio::spawn(worker.run(std::future::pending::<()>()));
    }

    /// Every run's history, by `workflow-id/run-id`.
    pub async fn histories(&self) -> Result<BTreeMap<String, Vec<HistoryEvent>>, ClientError> {
        let mut histories = BTreeMap::new();
        let mut offset = 0;
        loop {
            let page = self
                .client
                .list_workflows(VisibilityQuery::default(), offset, 1_000)
                .await?;
            if page.is_empty() {
                return Ok(histories);
            }
            offset += page.len();
            for run in page {
                let execution = run.execution;
                let handle = self
                    .client
                    .handle(execution.workflow_id.clone(), Some(execution.run_id));
                histories.insert(
                    format!("{}/{}", execution.workflow_id, execution.run_id),
                    handle.history().await?,
                );
            }
        }
    }

    /// The client of the environment (and its transport, for workers).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The environment's current time.
    pub fn now(&self) -> Timestamp {
        endure_core::clock::Clock::now(&*self.clock)
    }
}

/// Holds a client's signals and updates back by a delay chaos draws, so they land at other
/// points of the run.
struct MessageDelays(Chaos);

impl ClientInterceptor for MessageDelays {
    fn call<'a>(&'a self, request: Request, next: ClientNext<'a>) -> CallFuture<'a> {
        Box::pin(async move {
            let message = match &request {
                Request::SignalWorkflow(signal) => Some(format!(
                    "signal {} to workflow {}",
                    signal.signal.signal_name, signal.workflow_id
                )),
                Request::UpdateWorkflow(update) => Some(format!(
                    "update {} of workflow {}",
                    update.request.name, update.workflow_id
                )),
                _ => None,
            };
            if let Some(message) = message {
                let delay = self.0.message_delay();
                if !delay.is_zero() {
                    self.0.record(
                        ChaosKind::MessageDelay,
                        "client",
                        format!("{message} held {} ms", delay.as_millis()),
                    );
                    tokio::time::sleep(delay).await;
                }
            }
            next.run(request).await
        })
    }
}
