//! How a worker is tuned: pollers, slots, cache, shutdown, sessions, versioning.

use endure_core::versioning::{VersioningBehavior, WorkerDeploymentVersion};

/// Tuning of a worker.
#[derive(Clone, Debug)]
pub struct WorkerOptions {
    /// Concurrent workflow task polls, per queue (the normal one and the sticky one); Go's
    /// `MaxConcurrentWorkflowTaskPollers`. A poller hands the task it gets over and polls
    /// again at once.
    pub workflow_pollers: usize,
    /// Concurrent activity task polls (Go's `MaxConcurrentActivityTaskPollers`).
    pub activity_pollers: usize,
    /// Most workflow and query tasks running at once (Go's
    /// `MaxConcurrentWorkflowTaskExecutionSize`); pollers wait for a free slot before they
    /// poll.
    pub max_concurrent_workflow_tasks: usize,
    /// Most activities running at once (Go's `MaxConcurrentActivityExecutionSize`).
    pub max_concurrent_activities: usize,
    /// Runs kept in the cache; the least recently used is evicted past this.
    pub max_cached_workflows: usize,
    /// The worker's identity in history.
    pub identity: String,
    /// How long running activities may keep running once shutdown begins (Go's
    /// `WorkerStopTimeout`). When it passes their contexts are canceled
    /// ([`CancelReason::WorkerShutdown`](crate::CancelReason::WorkerShutdown)); those still running after a second such period
    /// are dropped, and the engine retries them when their timeouts fire. `None` waits for
    /// running activities however long they take.
    pub graceful_shutdown_timeout: Option<std::time::Duration>,
    /// How long a task may wait on this worker's sticky queue before the engine sends it to
    /// the normal queue (Go's `StickyScheduleToStartTimeout`). Stickiness is off when
    /// `max_cached_workflows` is 0.
    pub sticky_schedule_to_start_timeout: std::time::Duration,
    /// Take sessions (spec §5.15; Go's `EnableSessionWorker`): poll the task queue's
    /// session creation queue and this worker's own queue for its sessions' activities.
    pub enable_session_worker: bool,
    /// Most sessions open on this worker at once (Go's
    /// `MaxConcurrentSessionExecutionSize`); past it, creations wait for another worker or
    /// their creation timeout.
    pub max_concurrent_session_execution_size: usize,
    /// The resource this worker's sessions use (Go's `SessionResourceID`), which names its
    /// session queue: give a stable one so a restarted worker takes the sessions recreated
    /// from its old tokens. `None` draws a random one per run.
    pub session_resource_id: Option<String>,
    /// Run versioned (spec §5.13.1; Go's `DeploymentOptions`): the worker's deployment
    /// version, and the behavior of workflow types registered without one. `None` (or
    /// `use_versioning: false`) runs unversioned.
    pub deployment_options: Option<WorkerDeploymentOptions>,
    /// Faults this worker injects into its own work, for tests (see
    /// [`chaos`](crate::chaos)): every task replayed and compared, cache evictions,
    /// activity attempts failed, lost or run twice. `None` (the default) in production.
    pub chaos: Option<crate::chaos::Chaos>,
    /// Never ask for eager activities (Go's `DisableEagerActivities`). By default a
    /// workflow task's completion asks the engine to start the activities it schedules on
    /// this worker's queue for this worker (at most three, each with a free activity slot)
    /// and hand them over in its reply, saving a poll.
    pub disable_eager_activities: bool,
}

/// A versioned worker's deployment (Go's `worker.DeploymentOptions`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerDeploymentOptions {
    /// Poll and complete as this version: the worker gets only tasks routed to it.
    pub use_versioning: bool,
    /// The deployment and build id.
    pub version: WorkerDeploymentVersion,
    /// The behavior of workflow types registered without one
    /// ([`Worker::register_workflow_with_options`](super::Worker::register_workflow_with_options)).
    pub default_versioning_behavior: VersioningBehavior,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            workflow_pollers: 2,
            activity_pollers: 4,
            max_concurrent_workflow_tasks: 1000,
            max_concurrent_activities: 1000,
            max_cached_workflows: 1000,
            identity: "endure-worker".into(),
            graceful_shutdown_timeout: None,
            sticky_schedule_to_start_timeout: std::time::Duration::from_secs(5),
            enable_session_worker: false,
            max_concurrent_session_execution_size: 1000,
            session_resource_id: None,
            deployment_options: None,
            chaos: None,
            disable_eager_activities: false,
        }
    }
}
