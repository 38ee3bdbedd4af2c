//! The test environment (Temporal's time-skipping test server, in process): an in-memory
//! engine whose clock skips ahead, and a client for it. Run tests on a paused tokio runtime —
//! `#[tokio::test(start_paused = true)]` — and whenever every task waits on a timer, time
//! jumps to the next one: a workflow that sleeps for days finishes at once.
//!
//! Activities are mocked by registering another implementation for the activity type on
//! the test's worker.

use std::sync::Arc;

use endure_core::time::Timestamp;
use endure_server::clock::TokioClock;
use endure_server::engine::{Engine, EngineConfig, EngineError, InProcessTransport};
use endure_server::storage::MemoryStorage;

use crate::Client;

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
pub struct TestEnvironment {
    client: Client,
    clock: Arc<TokioClock>,
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
        Ok(Self { client, clock })
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
