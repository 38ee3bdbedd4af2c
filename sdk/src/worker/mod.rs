//! The worker: hosts registered workflows and activities and polls a task queue for them
//! (spec §2.3, §5.9).
//!
//! Workflow tasks run through a per-run [`ReplayMachine`] and [`WorkflowExecutor`] kept in a
//! cache, so a run's next task only feeds the new events; a run not cached (or evicted) is
//! rebuilt by replaying its whole history. The worker asks for the runs it caches to be
//! *sticky*: their next tasks come to the worker's own queue with only the new events. A
//! task whose previous-started event is not where the cached run stopped is rebuilt from the
//! full history. Runs are evicted when they close, when a task fails and when the cache is
//! full (least recently used first); on shutdown the worker hands its runs back to the
//! normal queue. A task the code cannot run — an unregistered type,
//! nondeterminism, a panic — fails the workflow task (the engine retries it), never the
//! workflow. Activities run their registered implementation and report the outcome.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use endure_core::execution::StickyAttributes;
use endure_core::history::{HistoryEvent, SdkMetadata};
use endure_core::lru::LruMap;
use endure_core::protocol::{
    CompleteWorkflowTaskRequest, CompleteWorkflowTaskResponse, FailWorkflowTaskRequest,
    PollWorkflowTaskRequest, PolledWorkflowTask, QueryTaskForWorker, Request,
    ResetStickyTaskQueueRequest, Response, Rpc, Transport, WorkflowTaskForWorker,
};
use endure_core::replay::{ReplayError, ReplayMachine};
use endure_core::storage::ExecutionKey;
use endure_core::versioning::{VersioningBehavior, WorkerDeploymentVersion};
use endure_core::{Failure, Namespace, Payloads, TaskQueueName, WorkflowTaskFailedCause};
use parking_lot::Mutex;
use tracing::Instrument;

use crate::activity_context::{ActivityContext, StopPhase};
use crate::chaos::Chaos;
use crate::interceptors::{WorkerInterceptor, WorkerInterceptors};
use crate::local_activities::{HEARTBEAT_FRACTION, Invoke, LocalActivities, Runner};
use crate::task_slots::{Slot, TaskSlots};
use crate::workflow::{ActivityError, BoxFuture, WorkflowExecutor, WorkflowFunction};

mod activity_tasks;
mod chaos;
mod eager_activities;
mod histories;
mod instruments;
mod options;
mod queries;
mod registration;
mod sessions;
mod spans;

pub use options::{WorkerDeploymentOptions, WorkerOptions};

use sessions::{SessionSlot, Sessions};

type WorkflowFactory = Arc<dyn Fn() -> WorkflowFunction + Send + Sync>;
type DynamicWorkflowFactory = Arc<dyn Fn(String) -> WorkflowFunction + Send + Sync>;
type DynamicActivityFunction = Arc<
    dyn Fn(ActivityContext, String, Payloads) -> BoxFuture<Result<Option<Payloads>, ActivityError>>
        + Send
        + Sync,
>;
type ActivityFunction = Arc<
    dyn Fn(ActivityContext, Payloads) -> BoxFuture<Result<Option<Payloads>, ActivityError>>
        + Send
        + Sync,
>;

/// A cached run: its replay machine and executor, ready for the run's next task, and the
/// channel its running local activities report on.
struct CachedRun {
    replay: ReplayMachine,
    executor: WorkflowExecutor,
    local_activities: LocalActivities,
}

/// Hosts workflows and activities for one task queue: it polls the queue, runs workflow
/// tasks on its sticky cache of runs, and runs activities, each up to its slots.
///
/// Register definitions (`#[endure::workflow]`, `#[endure::activity]`) or closures, then
/// [`run`](Worker::run) until the shutdown future resolves; in-flight tasks finish first.
///
/// ```
/// use endure::activity::ActivityDefinition;
/// use endure::{
///     ActivityContext, ActivityError, TaskQueueName, Worker, WorkerOptions, WorkflowContext,
///     WorkflowError,
/// };
///
/// /// The activity's name and types, declared apart from its implementation.
/// struct SendEmail;
/// impl ActivityDefinition for SendEmail {
///     const NAME: &'static str = "SendEmail";
///     type Input = String;
///     type Output = String;
/// }
///
/// struct Mailer {
///     sender: String,
/// }
///
/// async fn welcome(ctx: WorkflowContext, to: String) -> Result<String, WorkflowError> {
///     Ok(ctx.run_activity::<SendEmail>(&to).await?)
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let client = endure::embedded::in_memory().await?;
/// let mut worker = Worker::new(
///     client.transport(),
///     client.namespace().clone(),
///     TaskQueueName::new("email")?,
///     WorkerOptions {
///         identity: "mailer-1".into(),
///         ..WorkerOptions::default()
///     },
/// );
/// worker.register_workflow("Welcome", welcome);
/// // An activity holding a shared resource registers as a closure.
/// let mailer = std::sync::Arc::new(Mailer { sender: "shop@example.com".into() });
/// worker.register_activity::<SendEmail, _, _>(move |_ctx: ActivityContext, to: String| {
///     let mailer = mailer.clone();
///     async move { Ok::<_, ActivityError>(format!("{} -> {to}", mailer.sender)) }
/// });
/// // Run until told to stop (here at once: ctrl-c or a SIGTERM future in a service).
/// worker.run(async {}).await;
/// # Ok(())
/// # }
/// ```
pub struct Worker {
    transport: Arc<dyn Transport>,
    namespace: Namespace,
    task_queue: TaskQueueName,
    options: WorkerOptions,
    workflows: BTreeMap<String, WorkflowFactory>,
    activities: BTreeMap<String, ActivityFunction>,
    dynamic_workflow: Option<DynamicWorkflowFactory>,
    dynamic_activity: Option<DynamicActivityFunction>,
    /// Workflow types registered with a versioning behavior of their own.
    behaviors: BTreeMap<String, VersioningBehavior>,
    /// What workflows and activities run through, outermost first.
    interceptors: Vec<Arc<dyn WorkerInterceptor>>,
}

impl Worker {
    /// A worker for `task_queue` (Go's `worker.New`).
    pub fn new(
        transport: Arc<dyn Transport>,
        namespace: Namespace,
        task_queue: TaskQueueName,
        options: WorkerOptions,
    ) -> Self {
        Self {
            transport,
            namespace,
            task_queue,
            options,
            workflows: BTreeMap::new(),
            behaviors: BTreeMap::new(),
            activities: BTreeMap::new(),
            dynamic_workflow: None,
            dynamic_activity: None,
            interceptors: Vec::new(),
        }
    }

    /// Runs every workflow and activity of this worker through `interceptor` too (inside
    /// those added before it): see [`interceptors`](crate::interceptors).
    pub fn add_interceptor(&mut self, interceptor: Arc<dyn WorkerInterceptor>) -> &mut Self {
        self.interceptors.push(interceptor);
        self
    }

    /// Runs the pollers until `shutdown` resolves (Go's `worker.Run`). Waiting polls stop at
    /// once; workflow tasks already taken finish and are answered first; running activities
    /// learn of the shutdown at once and have
    /// [`graceful_shutdown_timeout`](WorkerOptions::graceful_shutdown_timeout) to finish.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        let (stop, stopped) = tokio::sync::watch::channel(StopPhase::Running);
        let sticky_queue = (self.options.max_cached_workflows > 0)
            .then(|| sticky_queue_name(&self.task_queue, &self.options.identity));
        let sessions = self.options.enable_session_worker.then(|| {
            let resource_id = self.options.session_resource_id.clone().unwrap_or_else(|| {
                format!(
                    "{:016x}",
                    worker_tag(&self.options.identity, &self.task_queue)
                )
            });
            Sessions::new(
                &self.task_queue,
                &self.options.identity,
                resource_id,
                self.options.max_concurrent_session_execution_size,
            )
        });
        let sessions = match sessions.transpose() {
            Ok(sessions) => sessions,
            Err(error) => {
                tracing::error!(%error, "sessions disabled: the task queue's name is too long for them");
                None
            }
        };
        let metric_labels =
            instruments::base_labels(self.namespace.as_str(), self.task_queue.as_str());
        let slot_labels = |worker_type: &'static str| {
            let mut labels = metric_labels.clone();
            labels.push(metrics::Label::new("worker_type", worker_type));
            labels
        };
        let workflow_slots = TaskSlots::new(self.options.max_concurrent_workflow_tasks)
            .with_gauges(slot_labels(crate::metrics::WORKFLOW_WORKER));
        let activity_slots = TaskSlots::new(self.options.max_concurrent_activities)
            .with_gauges(slot_labels(crate::metrics::ACTIVITY_WORKER));
        let chaos = self
            .options
            .chaos
            .as_ref()
            .map(|chaos| chaos.for_worker(&self.options.identity));
        let worker = Arc::new(Shared {
            chaos,
            sticky_queue,
            transport: self.transport,
            namespace: self.namespace,
            task_queue: self.task_queue,
            options: self.options,
            workflows: self.workflows,
            behaviors: self.behaviors,
            activities: self.activities,
            dynamic_workflow: self.dynamic_workflow,
            dynamic_activity: self.dynamic_activity,
            interceptors: self.interceptors.into(),
            sessions,
            cache: Mutex::new(LruMap::new()),
            stop: stopped.clone(),
            metric_labels,
            activity_slots: Arc::clone(&activity_slots),
        });
        let mut pollers = Vec::new();
        // Each queue gets its own pollers, so a sticky task never waits behind a long poll
        // of the normal queue.
        let queues = std::iter::once(worker.task_queue.clone()).chain(worker.sticky_queue.clone());
        for queue in queues
            .flat_map(|queue| std::iter::repeat_n(queue, worker.options.workflow_pollers.max(1)))
        {
            let (worker, slots, mut stopped) = (
                Arc::clone(&worker),
                Arc::clone(&workflow_slots),
                stopped.clone(),
            );
            pollers.push(tokio::spawn(async move {
                while let Some((slot, polled)) =
                    take_and_poll(&slots, &mut stopped, worker.poll_workflow_task(&queue)).await
                {
                    let worker = Arc::clone(&worker);
                    match polled {
                        Some(Polled::Task(task)) => {
                            let span = spans::workflow_task(&worker, &task);
                            let run = async move { worker.run_workflow_task(*task).await };
                            slots.spawn_in(slot, span, run);
                        }
                        Some(Polled::Query(query)) => {
                            let span = spans::query_task(&worker, &query);
                            let run = async move { worker.run_query_task(*query).await };
                            slots.spawn_in(slot, span, run);
                        }
                        None => {}
                    }
                }
            }));
        }
        // The activity queues: the task queue, and with sessions this worker's own queue
        // (sharing the activity slots) and the creation queue (taking a session slot).
        let mut activity_queues = vec![(worker.task_queue.clone(), Arc::clone(&activity_slots))];
        if let Some(sessions) = &worker.sessions {
            activity_queues.push((sessions.resource_queue.clone(), Arc::clone(&activity_slots)));
        }
        let activity_pollers = activity_queues
            .into_iter()
            .flat_map(|queue| std::iter::repeat_n(queue, worker.options.activity_pollers.max(1)))
            .chain(
                worker
                    .sessions
                    .as_ref()
                    .map(|sessions| (sessions.creation_queue.clone(), Arc::clone(&sessions.slots))),
            );
        for (queue, slots) in activity_pollers {
            let (worker, mut stopped) = (Arc::clone(&worker), stopped.clone());
            let session_slot = match &worker.sessions {
                Some(sessions) if queue == sessions.creation_queue => SessionSlot::Held,
                _ => SessionSlot::Take,
            };
            pollers.push(tokio::spawn(async move {
                while let Some((slot, task)) =
                    take_and_poll(&slots, &mut stopped, worker.poll_activity_task(&queue)).await
                {
                    if let Some(task) = task {
                        let worker = Arc::clone(&worker);
                        let span = spans::activity_task(&worker, &task);
                        let run = async move {
                            worker.run_activity_task(task, session_slot).await;
                        };
                        slots.spawn_in(slot, span, run);
                    }
                }
            }));
        }
        shutdown.await;
        stop.send_replace(StopPhase::Stopping);
        for poller in pollers {
            let _ = poller.await;
        }
        workflow_slots.drained().await;
        worker.release_sticky_runs().await;
        // Sessions end once the runs are handed back (so their workflows' next tasks go to
        // other workers at once, not after a heartbeat or sticky timeout); their
        // activities have the grace period like any other.
        if let Some(sessions) = &worker.sessions {
            sessions.end_all().await;
        }
        let Some(grace) = worker.options.graceful_shutdown_timeout else {
            activity_slots.drained().await;
            return;
        };
        if activity_slots.drained_within(grace).await {
            return;
        }
        tracing::info!(
            running = activity_slots.running(),
            "shutdown grace period passed; canceling running activities"
        );
        stop.send_replace(StopPhase::Canceled);
        if activity_slots.drained_within(grace).await {
            return;
        }
        tracing::warn!(
            running = activity_slots.running(),
            "activities ignored the shutdown cancel; dropping them"
        );
        activity_slots.abort_all();
        activity_slots.drained().await;
    }
}

/// How a workflow type is registered (Go's `workflow.RegisterOptions`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkflowRegisterOptions {
    /// How its runs follow new versions of a versioned worker (spec §5.13.1).
    pub versioning_behavior: VersioningBehavior,
}

/// Something a worker can register by type: what `#[endure::workflow]` and
/// `#[endure::activity]` generate implements it.
pub trait Registration {
    /// Registers `Self` with `worker`.
    fn register_with(worker: &mut Worker);
}

/// Takes an execution slot and polls with it, unless shutdown begins first (`None`): only
/// the wait for a slot and the poll are cut short; a task taken runs to its answer.
async fn take_and_poll<T>(
    slots: &Arc<TaskSlots>,
    stopped: &mut tokio::sync::watch::Receiver<StopPhase>,
    poll: impl Future<Output = T>,
) -> Option<(Slot, T)> {
    tokio::select! {
        biased;
        _ = stopped.changed() => None,
        taken = async { (slots.take().await, poll.await) } => Some(taken),
    }
}

/// What a workflow-task poll brought.
enum Polled {
    Task(Box<WorkflowTaskForWorker>),
    Query(Box<QueryTaskForWorker>),
}

/// A workflow task run: the commands and update messages to send, and the run to cache.
type ActivatedTask = (
    Vec<endure_core::Command>,
    Vec<endure_core::UpdateMessage>,
    Box<CachedRun>,
);

/// Where a workflow task's run starts from.
enum RunStart {
    /// The cached run, which has seen every event before the task's, and those events.
    Cached(Box<CachedRun>, Vec<HistoryEvent>),
    /// A new run, replaying this whole history.
    New(Vec<HistoryEvent>),
}

/// A name for this worker's sticky queue, distinct between workers: the identity and a
/// random tag. The tag comes from std's hasher keys, which the OS seeds (madsim's seeded
/// generator under simulation, so a simulated run names its queues the same every time).
fn sticky_queue_name(task_queue: &TaskQueueName, identity: &str) -> TaskQueueName {
    let tag = worker_tag(identity, task_queue);
    let name = format!("{identity}:{tag:016x}:sticky");
    // Task queue names are bounded; an over-long identity falls back to the tag alone.
    TaskQueueName::new(name).unwrap_or_else(|_| {
        TaskQueueName::new(format!("{tag:016x}:sticky")).expect("a short ASCII name is valid")
    })
}

/// A random tag telling this worker's queues from other workers': std's hasher keys, which
/// the OS seeds (madsim's seeded generator under simulation, so a simulated run names its
/// queues the same every time).
fn worker_tag(identity: &str, task_queue: &TaskQueueName) -> u64 {
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one((identity, task_queue.as_str()))
}

/// The worker's state shared by its pollers.
struct Shared {
    transport: Arc<dyn Transport>,
    namespace: Namespace,
    task_queue: TaskQueueName,
    options: WorkerOptions,
    workflows: BTreeMap<String, WorkflowFactory>,
    activities: BTreeMap<String, ActivityFunction>,
    dynamic_workflow: Option<DynamicWorkflowFactory>,
    dynamic_activity: Option<DynamicActivityFunction>,
    behaviors: BTreeMap<String, VersioningBehavior>,
    /// This worker's own queue for the runs it caches; `None` with caching off.
    sticky_queue: Option<TaskQueueName>,
    /// What workflows and activities run through, outermost first.
    interceptors: WorkerInterceptors,
    /// The session side, when sessions are enabled.
    sessions: Option<Sessions>,
    /// The sticky cache: runs ready for their next task, the least recently cached
    /// evicted past `max_cached_workflows`.
    cache: Mutex<LruMap<ExecutionKey, Box<CachedRun>>>,
    /// The shutdown phase, seen by activity contexts.
    stop: tokio::sync::watch::Receiver<StopPhase>,
    /// The labels of the worker's metrics: namespace and task queue.
    metric_labels: Vec<metrics::Label>,
    /// The faults this worker injects into its own work (tests only).
    chaos: Option<crate::chaos::Chaos>,
    /// The activity slots, which eager activities take too.
    activity_slots: Arc<TaskSlots>,
}

/// The pause after a failed poll before the next.
const POLL_FAILURE_PAUSE: std::time::Duration = std::time::Duration::from_millis(100);
/// The pause after a poll the server refused for the worker's credentials: nothing will
/// change until an operator acts, so the worker does not hammer the server meanwhile.
const POLL_REFUSED_PAUSE: std::time::Duration = std::time::Duration::from_secs(2);

/// How long to wait after a poll failed with `kind`.
fn poll_failure_pause(kind: endure_core::protocol::ErrorKind) -> std::time::Duration {
    use endure_core::protocol::ErrorKind;
    match kind {
        ErrorKind::PermissionDenied | ErrorKind::Unauthenticated => POLL_REFUSED_PAUSE,
        _ => POLL_FAILURE_PAUSE,
    }
}

impl Shared {
    /// The version this worker polls and completes as, when it runs versioned.
    fn deployment_version(&self) -> Option<WorkerDeploymentVersion> {
        self.options
            .deployment_options
            .as_ref()
            .filter(|deployment| deployment.use_versioning)
            .map(|deployment| deployment.version.clone())
    }

    /// How runs of `workflow_type` follow versions: its own behavior, else the deployment's
    /// default; unspecified on an unversioned worker.
    fn versioning_behavior(&self, workflow_type: &str) -> VersioningBehavior {
        let Some(deployment) = self
            .options
            .deployment_options
            .as_ref()
            .filter(|deployment| deployment.use_versioning)
        else {
            return VersioningBehavior::Unspecified;
        };
        self.behaviors
            .get(workflow_type)
            .copied()
            .unwrap_or(deployment.default_versioning_behavior)
    }

    /// Sends one long poll; a failed poll is logged and backed off before the next.
    async fn poll(&self, request: Request, kind: &str) -> Option<Response> {
        match self.transport.call(request).await {
            Ok(response) => Some(response),
            Err(error) => {
                self.record_poll(kind == "workflow", instruments::PollOutcome::Failed);
                let pause = poll_failure_pause(error.kind);
                if pause > POLL_FAILURE_PAUSE {
                    tracing::error!(%error, kind, ?pause, "task poll refused; fix the worker's credentials (it keeps trying)");
                } else {
                    tracing::warn!(%error, kind, "task poll failed");
                }
                tokio::time::sleep(pause).await;
                None
            }
        }
    }

    async fn poll_workflow_task(&self, task_queue: &TaskQueueName) -> Option<Polled> {
        let request = PollWorkflowTaskRequest {
            namespace: self.namespace.clone(),
            task_queue: task_queue.clone(),
            identity: self.options.identity.clone(),
            deployment_version: self.deployment_version(),
            // A sticky queue stands in for the task queue.
            normal_queue: (task_queue != &self.task_queue).then(|| self.task_queue.clone()),
        };
        let polled = match self.poll(request.into_request(), "workflow").await? {
            Response::PollWorkflowTask(Some(PolledWorkflowTask::Task(task))) => {
                Some(Polled::Task(task))
            }
            Response::PollWorkflowTask(Some(PolledWorkflowTask::Query(query))) => {
                Some(Polled::Query(query))
            }
            _ => None,
        };
        let outcome = match polled {
            Some(_) => instruments::PollOutcome::Task,
            None => instruments::PollOutcome::Empty,
        };
        self.record_poll(true, outcome);
        polled
    }

    async fn run_workflow_task(self: &Arc<Self>, mut task: WorkflowTaskForWorker) {
        let started = tokio::time::Instant::now();
        let workflow_type = task.workflow_type.clone();
        let mut shadow = None;
        let start = match self.task_events(&mut task).await {
            Ok(events) => {
                self.record_workflow_task_wait(workflow_type.as_str(), &events);
                if self.chaos.as_ref().is_some_and(Chaos::replays_every_task) {
                    shadow = Some(events.clone());
                }
                self.cached_or_history(&task, events).await
            }
            Err(message) => Err(message),
        };
        let mut outcome = match start {
            Ok(start) => self.activate(&task, start),
            Err(message) => Err((
                WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure,
                message,
            )),
        };
        let issued = match &outcome {
            Ok((commands, _, _)) if shadow.is_some() => Some(commands.clone()),
            _ => None,
        };
        if let (Some(events), Some(issued)) = (shadow, issued)
            && let Err(divergence) = self.replay_and_compare(&task, events, &issued).await
        {
            outcome = Err(divergence);
        }
        let outcome = match outcome {
            Ok((commands, mut messages, mut run)) => {
                match self.run_local_activities(&task, &mut run, commands).await {
                    Ok((commands, heartbeat)) => {
                        messages.extend(run.replay.take_update_messages());
                        Ok((commands, messages, run, heartbeat))
                    }
                    Err(error) => Err(error),
                }
            }
            Err(error) => Err(error),
        };
        let mut closing = Vec::new();
        let mut eager_slots = Vec::new();
        let request = match outcome {
            Ok((mut commands, messages, run, heartbeat)) => {
                eager_slots = self.reserve_eager_activities(&mut commands);
                // A closing task ends the run: nothing to keep or to be sticky for.
                let closes = commands
                    .iter()
                    .any(|command| command.command_type().is_closing());
                let sticky = match &self.sticky_queue {
                    Some(queue) if !closes => {
                        self.cache_run(task.execution.clone(), run);
                        self.chaos_evict(&task.execution);
                        Some(StickyAttributes {
                            task_queue: queue.clone(),
                            schedule_to_start_timeout: self
                                .options
                                .sticky_schedule_to_start_timeout,
                        })
                    }
                    _ => None,
                };
                if closes {
                    closing.clone_from(&commands);
                }
                self.record_workflow_task_done(workflow_type.as_str(), started, None);
                Request::CompleteWorkflowTask(CompleteWorkflowTaskRequest {
                    execution: task.execution.clone(),
                    token: task.token,
                    commands,
                    identity: self.options.identity.clone(),
                    sticky,
                    force_create_workflow_task: heartbeat,
                    sdk_metadata: SdkMetadata {
                        flags: Vec::new(),
                        sdk_name: "endure".into(),
                        sdk_version: env!("CARGO_PKG_VERSION").into(),
                    },
                    messages,
                    deployment_version: self.deployment_version(),
                    versioning_behavior: self.versioning_behavior(task.workflow_type.as_str()),
                })
            }
            Err((cause, message)) => {
                self.record_workflow_task_done(workflow_type.as_str(), started, Some(cause));
                tracing::warn!(execution = ?task.execution, %message, "workflow task failed");
                // Reported on the first attempt only, so a failing task does not grow history.
                if task.token.attempt > 1 {
                    return;
                }
                Request::FailWorkflowTask(FailWorkflowTaskRequest {
                    execution: task.execution.clone(),
                    token: task.token,
                    cause,
                    failure: Some(Failure::application(message, format!("{cause:?}"))),
                    identity: self.options.identity.clone(),
                })
            }
        };
        // The cached run went on past this task; it stays valid only if the engine took
        // the completion as sent. Otherwise (commands refused, a speculative task
        // discarded, the call failed) history will not hold what the run did — and the
        // task's reserved event ids may be reused by the next attempt, so the event-id
        // check alone would not notice — so it is rebuilt from history next time.
        match self.transport.call(request).await {
            Ok(Response::CompleteWorkflowTask(CompleteWorkflowTaskResponse::Accepted)) => {
                self.record_workflow_closed(workflow_type.as_str(), &closing);
            }
            Ok(Response::CompleteWorkflowTask(
                CompleteWorkflowTaskResponse::AcceptedWithActivityTasks { activity_tasks },
            )) => {
                self.record_workflow_closed(workflow_type.as_str(), &closing);
                self.run_eager_activities(&task.execution, activity_tasks, eager_slots);
            }
            Ok(Response::FailWorkflowTask(())) => {}
            Ok(reply) => {
                tracing::debug!(?reply, "workflow task completion not taken as sent");
                self.evict(&task.execution);
            }
            Err(error) => {
                tracing::warn!(%error, "workflow task answer refused");
                self.evict(&task.execution);
            }
        }
    }

    /// Runs the local activities the live activation requested until none waits, feeding
    /// each outcome back into the open task; returns the task's commands and whether it
    /// must be completed as a heartbeat (80 % of the task timeout passed, or the run
    /// closed with activities still running is not one: a closing task just ends).
    async fn run_local_activities(
        &self,
        task: &WorkflowTaskForWorker,
        run: &mut CachedRun,
        mut commands: Vec<endure_core::Command>,
    ) -> Result<(Vec<endure_core::Command>, bool), (WorkflowTaskFailedCause, String)> {
        if !run.executor.has_unresolved_local_activities() {
            return Ok((commands, false));
        }
        let task_timeout = run
            .executor
            .workflow_task_timeout()
            .unwrap_or(endure_core::limits::WORKFLOW_TASK_TIMEOUT_DEFAULT);
        let deadline = tokio::time::Instant::now() + task_timeout.mul_f64(HEARTBEAT_FRACTION);
        let unhandled = |message: String| {
            (
                WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure,
                message,
            )
        };
        loop {
            if commands
                .iter()
                .any(|command| command.command_type().is_closing())
            {
                return Ok((commands, false));
            }
            for request in run.executor.take_local_activities_to_run() {
                let runner = Runner {
                    transport: Arc::clone(&self.transport),
                    execution: task.execution.clone(),
                    workflow_type: task.workflow_type.clone(),
                    task_queue: self.task_queue.clone(),
                    stop: self.stop.clone(),
                    now: run.executor.now(),
                    retry_threshold: task_timeout,
                    interceptors: Arc::clone(&self.interceptors),
                };
                let invoke = self.invoker(&request.activity_type);
                let sender = run.local_activities.sender.clone();
                // Inside the workflow task's span: a local activity is part of its task.
                let span = tracing::debug_span!(
                    "local_activity",
                    activity_type = %request.activity_type,
                    seq = request.seq,
                    attempt = request.attempt,
                );
                let run = async move {
                    let seq = request.seq;
                    let outcome = runner.run(request, invoke).await;
                    let _ = sender.send((seq, outcome));
                };
                if span.is_disabled() {
                    tokio::spawn(run);
                } else {
                    tokio::spawn(run.instrument(span));
                }
            }
            if !run.executor.has_unresolved_local_activities() {
                return Ok((commands, false));
            }
            tokio::select! {
                biased;
                received = run.local_activities.receiver.recv() => {
                    let Some((seq, outcome)) = received else {
                        return Ok((commands, false));
                    };
                    let issued = run
                        .executor
                        .resolve_local_activity(seq, outcome)
                        .map_err(|error| unhandled(error.to_string()))?;
                    commands.extend(
                        run.replay
                            .extend_live(issued)
                            .map_err(|error| unhandled(error.to_string()))?,
                    );
                }
                () = tokio::time::sleep_until(deadline) => return Ok((commands, true)),
            }
        }
    }

    /// The implementation of activity type `activity_type`, for local execution.
    fn invoker(&self, activity_type: &str) -> Option<Invoke> {
        match (self.activities.get(activity_type), &self.dynamic_activity) {
            (Some(function), _) => {
                let function = Arc::clone(function);
                Some(Arc::new(move |context, input| function(context, input)))
            }
            (None, Some(dynamic)) => {
                let dynamic = Arc::clone(dynamic);
                let activity_type = activity_type.to_owned();
                Some(Arc::new(move |context, input| {
                    dynamic(context, activity_type.clone(), input)
                }))
            }
            (None, None) => None,
        }
    }

    /// Runs a workflow task from `start` up to the task's WorkflowTaskStarted.
    fn activate(
        &self,
        task: &WorkflowTaskForWorker,
        start: RunStart,
    ) -> Result<ActivatedTask, (WorkflowTaskFailedCause, String)> {
        let (mut run, events) = match start {
            RunStart::Cached(run, events) => (run, events),
            RunStart::New(history) => {
                let workflow_type = task.workflow_type.as_str();
                let function = match (self.workflows.get(workflow_type), &self.dynamic_workflow) {
                    (Some(factory), _) => factory(),
                    (None, Some(dynamic)) => dynamic(workflow_type.to_owned()),
                    (None, None) => {
                        return Err((
                            WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure,
                            format!(
                                "workflow type {workflow_type} is not registered with this worker"
                            ),
                        ));
                    }
                };
                let mut executor = WorkflowExecutor::new(function)
                    .with_execution(task.execution.clone())
                    .with_interceptors(Arc::clone(&self.interceptors));
                if let Some(hook) = self.outside_wake_hook(&task.execution) {
                    executor = executor.with_outside_wake_hook(hook);
                }
                let run = Box::new(CachedRun {
                    replay: ReplayMachine::new(),
                    executor,
                    local_activities: LocalActivities::new(),
                });
                (run, history)
            }
        };
        // Only the events the run has not seen yet (a full history sent to a cached run).
        let fed = run.replay.last_event_id();
        let replay_failure = |error: ReplayError| {
            let cause = match error {
                ReplayError::Nondeterminism(_) => WorkflowTaskFailedCause::NonDeterministicError,
                _ => WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure,
            };
            (cause, error.to_string())
        };
        run.replay
            .feed(
                events
                    .into_iter()
                    .filter(|event| fed.is_none_or(|fed| event.event_id > fed)),
            )
            .map_err(replay_failure)?;
        run.replay.deliver_updates(task.updates.clone());
        let mut commands = Vec::new();
        while let Some(activation) = run.replay.next_activation().map_err(replay_failure)? {
            let issued = run.executor.activate(&activation).map_err(|error| {
                (
                    WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure,
                    error.to_string(),
                )
            })?;
            commands = run.replay.complete(issued).map_err(replay_failure)?;
        }
        let messages = run.replay.take_update_messages();
        Ok((commands, messages, run))
    }

    fn cache_run(&self, execution: ExecutionKey, run: Box<CachedRun>) {
        let mut cache = self.cache.lock();
        cache.insert(execution, run);
        let evicted =
            cache.len() > self.options.max_cached_workflows && cache.pop_oldest().is_some();
        self.record_cache_size(cache.len(), evicted);
    }

    /// Drops a run from the cache: its next task rebuilds it from history.
    fn evict(&self, execution: &ExecutionKey) {
        let mut cache = self.cache.lock();
        cache.remove(execution);
        self.record_cache_size(cache.len(), false);
    }

    /// Empties the cache and sends its runs' next tasks back to the normal queue, so other
    /// workers pick them up at once instead of after the sticky timeout.
    async fn release_sticky_runs(&self) {
        let runs = self.cache.lock().take_keys();
        self.record_cache_size(0, false);
        for execution in runs {
            let request = ResetStickyTaskQueueRequest { execution };
            if let Err(error) = self.transport.call(request.into_request()).await {
                tracing::warn!(%error, "could not hand a run back to the normal queue");
            }
        }
    }
}
