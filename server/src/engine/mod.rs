//! The engine runtime: hosts execution machines behind the Storage and Clock ports.
//!
//! A request travels like this (ARCHITECTURE.md, "A transition from request to commit"):
//! the API call becomes a message to the shard owning the workflow id; the shard applies it
//! to the run's execution machine and sends the resulting conditional write to the group
//! committer; when the write is durable the shard updates its cache, offers new tasks to
//! matching, arms the run's deadline and answers. Pollers take tasks from matching and start
//! them through the same path, so a task is recorded as started before a worker sees it.

mod api;
mod deadlines;
mod deletion;
mod in_flight;
mod matching;
mod namespaces;
mod outbox;
mod shard;
mod transport;
mod updates;
mod writer;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use api::*;
use endure_core::clock::Clock;
use endure_core::execution::{
    ActivityTaskToken, Input, Rejected, Reply, ResetRequest, SignalRequest, WorkflowTaskCompletion,
    WorkflowTaskToken,
};
use endure_core::history::HistoryEvent;
use endure_core::storage::{ExecutionKey, Storage, shard_of};
use endure_core::{
    EventId, Failure, Namespace, Payloads, RunId, TaskQueueName, WorkflowId,
    WorkflowTaskFailedCause,
};
use tokio::sync::{mpsc, oneshot};
pub use transport::InProcessTransport;

pub use self::matching::QueuedTask;
use self::matching::{Handoff, Matching, QueryOffer, TaskKind};
use self::shard::{Shard, ShardMessage};
use crate::clock::SystemClock;
use crate::storage::{MemoryStorage, RedbStorage};

/// How the engine is laid out.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Number of shards of a new store; a store keeps the count it was created with.
    pub shard_count: u32,
    /// How long a poll waits for a task before returning none.
    pub poll_wait: Duration,
    /// How long a query waits for a worker's answer.
    pub query_timeout: Duration,
    /// Most writes committed in one storage transaction (group commit).
    pub commit_batch_max: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            shard_count: 32,
            poll_wait: Duration::from_secs(60),
            query_timeout: Duration::from_secs(20),
            commit_batch_max: 256,
        }
    }
}

/// The engine, in-process. Cheap to clone.
pub struct Engine<S, C> {
    inner: Arc<Inner<S, C>>,
}

impl<S, C> Clone for Engine<S, C> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

struct Inner<S, C> {
    storage: Arc<S>,
    clock: Arc<C>,
    shards: Vec<mpsc::UnboundedSender<ShardMessage>>,
    matching: Arc<Matching>,
    closings: Arc<Closings>,
    updates: Arc<updates::UpdateWaiters>,
    queries: Queries,
    namespaces: Arc<namespaces::Namespaces>,
    config: EngineConfig,
    /// The shards' actors, then the group committer: awaited in that order by
    /// [`Engine::shutdown`].
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// The outbox: stopped last by [`Engine::shutdown`] (its rows are durable and are
    /// delivered after the next open), so the store is released when that returns.
    outbox: tokio::task::JoinHandle<()>,
}

/// Queries waiting for a worker's answer, by query id.
#[derive(Default)]
struct Queries {
    next_id: std::sync::atomic::AtomicU64,
    pending: parking_lot::Mutex<std::collections::BTreeMap<u64, PendingQuery>>,
}

/// A query's question and where its answer goes.
struct PendingQuery {
    query_type: String,
    args: Payloads,
    answer: oneshot::Sender<QueryAnswer>,
}

/// What a worker's workflow-task poll got.
#[derive(Debug)]
pub enum WorkflowPoll {
    /// A workflow task, started.
    Task(Box<WorkflowTaskForWorker>),
    /// A query to answer.
    Query(Box<QueryTaskForWorker>),
}

/// Who waits for which run to close.
#[derive(Default)]
pub(crate) struct Closings {
    waiters: parking_lot::Mutex<std::collections::BTreeMap<ExecutionKey, Vec<oneshot::Sender<()>>>>,
}

impl Closings {
    fn register(&self, execution: &ExecutionKey) -> oneshot::Receiver<()> {
        let (sender, receiver) = oneshot::channel();
        self.waiters
            .lock()
            .entry(execution.clone())
            .or_default()
            .push(sender);
        receiver
    }

    /// Wakes everyone waiting for `execution` to close (called after the close is durable).
    pub(crate) fn closed(&self, execution: &ExecutionKey) {
        for waiter in self.waiters.lock().remove(execution).unwrap_or_default() {
            let _ = waiter.send(());
        }
    }
}

/// The longest single wait for a closing run before a request is retried (the waits double
/// from 10 ms, a few seconds in all).
const CLOSING_WAIT_MAX: Duration = Duration::from_secs(2);

impl Engine<RedbStorage, SystemClock> {
    /// Opens (or creates) an engine on the redb file at `path`, recovering its shards.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, EngineError> {
        Self::open_with(path, EngineConfig::default()).await
    }

    /// [`open`](Self::open) with `config` (poll wait, query timeout, shards of a new
    /// store…).
    pub async fn open_with(
        path: impl AsRef<Path>,
        config: EngineConfig,
    ) -> Result<Self, EngineError> {
        let storage = RedbStorage::open(path)?;
        Self::with_ports(Arc::new(storage), Arc::new(SystemClock), config).await
    }
}

impl Engine<MemoryStorage, SystemClock> {
    /// An engine on the in-memory store: nothing survives the process.
    pub async fn in_memory() -> Result<Self, EngineError> {
        Self::with_ports(
            Arc::new(MemoryStorage::new()),
            Arc::new(SystemClock),
            EngineConfig::default(),
        )
        .await
    }
}

impl<S: Storage, C: Clock> Engine<S, C> {
    /// An engine on the given ports: takes every shard's lease and reloads its deadlines.
    pub async fn with_ports(
        storage: Arc<S>,
        clock: Arc<C>,
        config: EngineConfig,
    ) -> Result<Self, EngineError> {
        let mut config = config;
        let shard_count = storage.shard_count(config.shard_count.max(1)).await?;
        if shard_count != config.shard_count {
            tracing::info!(
                stored = shard_count,
                configured = config.shard_count,
                "the store keeps the shard count it was created with"
            );
            config.shard_count = shard_count;
        }
        let namespaces = Arc::new(namespaces::Namespaces::load(&*storage, clock.now()).await?);
        let (writer, writer_task) =
            writer::spawn_writer(Arc::clone(&storage), config.commit_batch_max);
        let mut tasks = Vec::new();
        let matching = Arc::new(Matching::default());
        let closings = Arc::new(Closings::default());
        let updates = Arc::new(updates::UpdateWaiters::default());
        let (outbox, outbox_rows) = mpsc::unbounded_channel();
        let mut shards = Vec::new();
        for index in 0..config.shard_count.max(1) {
            let shard = Shard::open(
                endure_core::storage::ShardId(index),
                Arc::clone(&storage),
                Arc::clone(&clock),
                writer.clone(),
                Arc::clone(&matching),
                outbox.clone(),
                (
                    Arc::clone(&closings),
                    Arc::clone(&updates),
                    Arc::clone(&namespaces),
                ),
            )
            .await?;
            let (sender, receiver) = mpsc::unbounded_channel();
            tasks.push(tokio::spawn(shard.run(receiver)));
            shards.push(sender);
        }
        drop(outbox);
        drop(writer);
        tasks.push(writer_task);
        let outbox = outbox::Outbox::new(
            Arc::clone(&storage),
            Arc::clone(&clock),
            shard::Shards::new(&shards),
            Arc::clone(&namespaces),
        );
        let outbox = tokio::spawn(outbox.run(outbox_rows));
        Ok(Self {
            inner: Arc::new(Inner {
                storage,
                clock,
                shards,
                matching,
                closings,
                updates,
                queries: Queries::default(),
                namespaces,
                config,
                tasks,
                outbox,
            }),
        })
    }

    /// Stops the engine gracefully once this is its last handle: every shard finishes the
    /// messages it has taken (their writes committed, durable), then the group committer
    /// commits what it was given, and only then does this return. With other handles
    /// still alive (a transport still serving), nothing stops and the engine comes back.
    pub async fn shutdown(self) -> Result<(), Self> {
        let inner = Arc::try_unwrap(self.inner).map_err(|inner| Self { inner })?;
        let Inner {
            shards,
            tasks,
            outbox,
            ..
        } = inner;
        // Closing the inboxes: each shard drains its queue, then drops its writer handle.
        drop(shards);
        for task in tasks {
            let _ = task.await;
        }
        // With the shards gone the outbox can only wait to retry; its rows stay stored.
        outbox.abort();
        let _ = outbox.await;
        Ok(())
    }

    /// Refuses a request naming a namespace that does not exist, or the engine's own.
    fn check_namespace(&self, namespace: &Namespace) -> Result<(), EngineError> {
        self.inner.namespaces.check(namespace)
    }

    fn shard(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
    ) -> &mpsc::UnboundedSender<ShardMessage> {
        let index = shard_of(namespace, workflow_id, self.inner.shards.len() as u32).0 as usize;
        &self.inner.shards[index]
    }

    /// Starts a workflow.
    pub async fn start_workflow(
        &self,
        request: StartWorkflowRequest,
    ) -> Result<StartWorkflowResponse, EngineError> {
        self.check_namespace(&request.namespace)?;
        let (reply, result) = oneshot::channel();
        self.shard(&request.namespace, &request.options.id)
            .send(ShardMessage::Start {
                request: Box::new(request),
                signal: None,
                update: None,
                parent: None,
                reply,
            })
            .map_err(|_| EngineError::Shutdown)?;
        result.await.map_err(|_| EngineError::Shutdown)?
    }

    /// Signal-with-start (Go's `SignalWithStartWorkflow`): signals the workflow id's
    /// running run — ending its start delay, if any (spec §5.17.5) — or, if none is
    /// running, starts one (under the reuse policy) with the signal as its second event.
    /// The request id deduplicates the whole call.
    pub async fn signal_with_start_workflow(
        &self,
        request: StartWorkflowRequest,
        signal: SignalRequest,
    ) -> Result<StartWorkflowResponse, EngineError> {
        self.check_namespace(&request.namespace)?;
        let (reply, result) = oneshot::channel();
        self.shard(&request.namespace, &request.options.id)
            .send(ShardMessage::Start {
                request: Box::new(request),
                signal: Some(Box::new(signal)),
                update: None,
                parent: None,
                reply,
            })
            .map_err(|_| EngineError::Shutdown)?;
        result.await.map_err(|_| EngineError::Shutdown)?
    }

    async fn apply(
        &self,
        execution: &ExecutionKey,
        input: Input,
        dispatched: Option<endure_core::storage::DispatchKey>,
    ) -> Result<Reply, EngineError> {
        let (reply, result) = oneshot::channel();
        self.shard(&execution.namespace, &execution.workflow_id)
            .send(ShardMessage::Apply {
                execution: execution.clone(),
                input: Box::new(input),
                dispatched,
                reply,
            })
            .map_err(|_| EngineError::Shutdown)?;
        result.await.map_err(|_| EngineError::Shutdown)?
    }

    /// The run `run_id`, or the workflow id's current run.
    pub async fn resolve_run(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
        run_id: Option<RunId>,
    ) -> Result<ExecutionKey, EngineError> {
        self.check_namespace(namespace)?;
        let run_id = match run_id {
            Some(run_id) => run_id,
            None => {
                self.inner
                    .storage
                    .current_run(namespace, workflow_id)
                    .await?
                    .ok_or_else(|| EngineError::NotFound(format!("workflow {workflow_id}")))?
                    .run_id
            }
        };
        Ok(ExecutionKey {
            namespace: namespace.clone(),
            workflow_id: workflow_id.clone(),
            run_id,
        })
    }

    /// Sends a signal to the run (the current one if `run_id` is `None`).
    pub async fn signal_workflow(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
        run_id: Option<RunId>,
        signal: SignalRequest,
    ) -> Result<(), EngineError> {
        self.apply_to_run(namespace, workflow_id, run_id, Input::Signal(signal))
            .await
            .map(drop)
    }

    /// Applies `input` to run `run_id`, or to the workflow id's current run. A request for
    /// the current run that finds it closed because a new run took its place meanwhile
    /// (continue-as-new, retry, cron) follows to the new run, as Temporal does. A signal
    /// refused because the run is closing (its close waits on one more workflow task) is
    /// retried for a few seconds, then lands on the closed run's successor or fails.
    async fn apply_to_run(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
        run_id: Option<RunId>,
        input: Input,
    ) -> Result<Reply, EngineError> {
        let mut execution = self.resolve_run(namespace, workflow_id, run_id).await?;
        let mut closing_wait = Duration::from_millis(10);
        loop {
            match self.apply(&execution, input.clone(), None).await {
                Err(EngineError::Rejected(Rejected::WorkflowClosing))
                    if closing_wait <= CLOSING_WAIT_MAX =>
                {
                    let until = self.inner.clock.now().saturating_add(closing_wait);
                    self.inner.clock.sleep_until(until).await;
                    closing_wait *= 2;
                }
                Err(EngineError::Rejected(Rejected::WorkflowClosed)) if run_id.is_none() => {
                    let current = self.resolve_run(namespace, workflow_id, None).await?;
                    if current.run_id == execution.run_id {
                        return Err(Rejected::WorkflowClosed.into());
                    }
                    execution = current;
                }
                other => return other,
            }
        }
    }

    /// Requests cancellation of the run.
    pub async fn request_cancel_workflow(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
        run_id: Option<RunId>,
        reason: String,
        identity: String,
    ) -> Result<(), EngineError> {
        let input = Input::RequestCancel {
            reason,
            identity,
            request_id: None,
        };
        self.apply_to_run(namespace, workflow_id, run_id, input)
            .await
            .map(drop)
    }

    /// Terminates the run.
    pub async fn terminate_workflow(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
        run_id: Option<RunId>,
        reason: String,
        details: Option<Payloads>,
        identity: String,
    ) -> Result<(), EngineError> {
        let input = Input::Terminate {
            reason,
            details,
            identity,
        };
        self.apply_to_run(namespace, workflow_id, run_id, input)
            .await
            .map(drop)
    }

    /// Resets run `run_id` (or the current run) as `request` says (spec §5.12.5): a new
    /// run forked from its history at a workflow task's end, the current run terminated if
    /// open. Returns the new run's id.
    pub async fn reset_workflow(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
        run_id: Option<RunId>,
        request: ResetRequest,
    ) -> Result<RunId, EngineError> {
        let execution = self.resolve_run(namespace, workflow_id, run_id).await?;
        let (reply, result) = oneshot::channel();
        self.shard(namespace, workflow_id)
            .send(ShardMessage::Reset {
                execution,
                request: Box::new(request),
                reply,
            })
            .map_err(|_| EngineError::Shutdown)?;
        result.await.map_err(|_| EngineError::Shutdown)?
    }

    /// Waits, up to the configured poll wait, for a task of `kind` on the queue.
    async fn poll_handoff(
        &self,
        namespace: &Namespace,
        task_queue: &TaskQueueName,
        kind: TaskKind,
        identity: &str,
        accepts_queries: bool,
    ) -> Result<Option<Handoff>, EngineError> {
        self.check_namespace(namespace)?;
        let inner = &self.inner;
        inner
            .matching
            .poll(
                &inner.storage,
                &inner.clock,
                namespace,
                task_queue,
                kind,
                identity,
                accepts_queries,
                inner.config.poll_wait,
            )
            .await
            .map_err(EngineError::from)
    }

    /// Waits for a workflow task of the queue and starts it; `None` if none came in time.
    /// Queries are left for pollers that take them ([`poll_workflow_task_or_query`]).
    ///
    /// [`poll_workflow_task_or_query`]: Self::poll_workflow_task_or_query
    pub async fn poll_workflow_task(
        &self,
        namespace: &Namespace,
        task_queue: &TaskQueueName,
        identity: &str,
    ) -> Result<Option<WorkflowTaskForWorker>, EngineError> {
        match self
            .poll_workflow(namespace, task_queue, identity, false)
            .await?
        {
            Some(WorkflowPoll::Task(task)) => Ok(Some(*task)),
            Some(WorkflowPoll::Query(_)) | None => Ok(None),
        }
    }

    /// Waits for a workflow task (started) or a query of the queue, as workers poll.
    pub async fn poll_workflow_task_or_query(
        &self,
        namespace: &Namespace,
        task_queue: &TaskQueueName,
        identity: &str,
    ) -> Result<Option<WorkflowPoll>, EngineError> {
        self.poll_workflow(namespace, task_queue, identity, true)
            .await
    }

    async fn poll_workflow(
        &self,
        namespace: &Namespace,
        task_queue: &TaskQueueName,
        identity: &str,
        accepts_queries: bool,
    ) -> Result<Option<WorkflowPoll>, EngineError> {
        loop {
            let Some(handoff) = self
                .poll_handoff(
                    namespace,
                    task_queue,
                    TaskKind::Workflow,
                    identity,
                    accepts_queries,
                )
                .await?
            else {
                return Ok(None);
            };
            let (execution, started) = match handoff {
                Handoff::Query(offer) => match self.query_task(offer).await? {
                    Some(query) => return Ok(Some(WorkflowPoll::Query(Box::new(query)))),
                    // Answered or timed out meanwhile.
                    None => continue,
                },
                Handoff::Started {
                    execution,
                    reply: Reply::WorkflowTaskStarted(started),
                } => (execution, started),
                Handoff::Started { .. } => continue,
                Handoff::Row(taken) => {
                    let row = taken.starting();
                    let request_id = format!("dispatch-{}", row.task_id);
                    let input = match Input::task_started(&row.task, request_id, identity.into()) {
                        Some(input @ Input::WorkflowTaskStarted { .. }) => input,
                        _ => {
                            debug_assert!(
                                false,
                                "the workflow half of a queue holds workflow tasks only"
                            );
                            continue;
                        }
                    };
                    match self.apply(&row.execution, input, Some(row.key())).await {
                        Ok(Reply::WorkflowTaskStarted(started)) => (row.execution, started),
                        // Stale (the task timed out, the run closed): take the next one.
                        Ok(_) | Err(EngineError::Rejected(_) | EngineError::NotFound(_)) => {
                            continue;
                        }
                        // Not started (its row is still stored): back to the queue.
                        Err(error) => {
                            self.inner.matching.add(row);
                            return Err(error);
                        }
                    }
                }
            };
            // A sticky task's worker has the run up to its previous task: send it the rest.
            let from = match started.previous_started_event_id {
                Some(previous) if started.sticky => previous.next(),
                _ => EventId::FIRST,
            };
            // One page at most: the worker fetches the rest (DESIGN §4: pages everywhere).
            let page = self.history_page(&execution, from).await?;
            return Ok(Some(WorkflowPoll::Task(Box::new(WorkflowTaskForWorker {
                execution,
                workflow_type: started.workflow_type,
                token: started.token,
                history: page.events,
                next_page: page.next_event_id,
                transient_events: started.transient_events,
                previous_started_event_id: started.previous_started_event_id,
                updates: started.updates,
            }))));
        }
    }

    /// The query task for an offer still pending: its question and the run's history.
    async fn query_task(
        &self,
        offer: QueryOffer,
    ) -> Result<Option<QueryTaskForWorker>, EngineError> {
        let question = self
            .inner
            .queries
            .pending
            .lock()
            .get(&offer.query_id)
            .map(|pending| (pending.query_type.clone(), pending.args.clone()));
        let Some((query_type, args)) = question else {
            return Ok(None);
        };
        let machine = self.load_machine(&offer.execution).await?;
        let Some(previous) = machine.last_completed_workflow_task_started_event_id() else {
            return Ok(None);
        };
        let page = self.history_page(&offer.execution, EventId::FIRST).await?;
        Ok(Some(QueryTaskForWorker {
            execution: offer.execution,
            workflow_type: machine.workflow_type().clone(),
            query_id: offer.query_id,
            query_type,
            args,
            history: page.events,
            next_page: page.next_event_id,
            previous_started_event_id: previous,
        }))
    }

    /// A run's machine as last committed.
    async fn load_machine(
        &self,
        execution: &ExecutionKey,
    ) -> Result<endure_core::execution::ExecutionMachine, EngineError> {
        let row = self
            .inner
            .storage
            .load_execution(execution)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("{execution:?}")))?;
        Ok(endure_core::execution::ExecutionMachine::from_row(&row)?)
    }

    /// Asks a run's workflow code `query_type` (spec §5.19.1) and waits for a worker's
    /// answer: the worker the run is cached on if it is polling, else any worker of the
    /// run's queue, which replays the history. Works on closed runs too; never writes
    /// history. A run that has not completed a workflow task yet cannot be queried.
    pub async fn query_workflow(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
        run_id: Option<RunId>,
        query_type: String,
        args: Payloads,
    ) -> Result<QueryAnswer, EngineError> {
        if query_type.is_empty() || query_type.len() > endure_core::limits::ID_BYTES_MAX {
            return Err(EngineError::BadRequest(format!(
                "a query type must have 1 to {} bytes",
                endure_core::limits::ID_BYTES_MAX
            )));
        }
        args.check_size("query arguments")?;
        let execution = self.resolve_run(namespace, workflow_id, run_id).await?;
        let machine = self.load_machine(&execution).await?;
        if machine
            .last_completed_workflow_task_started_event_id()
            .is_none()
        {
            return Err(EngineError::NotReady(format!(
                "{workflow_id} has not completed its first workflow task; it cannot be queried yet"
            )));
        }
        let queue = match machine.sticky_task_queue() {
            Some(sticky) if self.inner.matching.has_query_poller(namespace, sticky) => {
                sticky.clone()
            }
            _ => machine.task_queue().clone(),
        };
        let queries = &self.inner.queries;
        let query_id = queries
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        let (answer, answered) = oneshot::channel();
        queries.pending.lock().insert(
            query_id,
            PendingQuery {
                query_type,
                args,
                answer,
            },
        );
        self.inner.matching.offer_query(
            namespace,
            &queue,
            QueryOffer {
                query_id,
                execution,
            },
        );
        let deadline = self
            .inner
            .clock
            .now()
            .saturating_add(self.inner.config.query_timeout);
        let outcome = tokio::select! {
            biased;
            answer = answered => answer.ok(),
            () = self.inner.clock.sleep_until(deadline) => None,
        };
        queries.pending.lock().remove(&query_id);
        self.inner
            .matching
            .withdraw_query(namespace, &queue, query_id);
        outcome.ok_or_else(|| {
            EngineError::TimedOut(format!(
                "no worker of {queue} answered the query within {:?}",
                self.inner.config.query_timeout
            ))
        })
    }

    /// A worker's answer to query `query_id`; unknown if it timed out meanwhile.
    pub fn respond_query(&self, query_id: u64, answer: QueryAnswer) -> Result<(), EngineError> {
        let pending = self.inner.queries.pending.lock().remove(&query_id);
        match pending {
            Some(pending) => {
                let _ = pending.answer.send(answer);
                Ok(())
            }
            None => Err(EngineError::NotFound(format!(
                "query {query_id} (it timed out?)"
            ))),
        }
    }

    /// Sends a run's next workflow tasks to its normal queue (its sticky worker stopped).
    /// A closed or unknown run has nothing to reset.
    pub async fn reset_sticky_task_queue(
        &self,
        execution: &ExecutionKey,
    ) -> Result<(), EngineError> {
        match self
            .apply(execution, Input::ResetStickyTaskQueue, None)
            .await
        {
            Ok(_) | Err(EngineError::NotFound(_) | EngineError::Rejected(_)) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Completes a started workflow task with the worker's commands.
    pub async fn complete_workflow_task(
        &self,
        execution: &ExecutionKey,
        completion: WorkflowTaskCompletion,
    ) -> Result<Reply, EngineError> {
        self.apply(
            execution,
            Input::WorkflowTaskCompleted(Box::new(completion)),
            None,
        )
        .await
    }

    /// Fails a started workflow task (it is retried).
    pub async fn fail_workflow_task(
        &self,
        execution: &ExecutionKey,
        token: WorkflowTaskToken,
        cause: WorkflowTaskFailedCause,
        failure: Option<Failure>,
        identity: String,
    ) -> Result<(), EngineError> {
        self.apply(
            execution,
            Input::WorkflowTaskFailed {
                token,
                cause,
                failure,
                identity,
            },
            None,
        )
        .await
        .map(drop)
    }

    /// Waits for an activity task of the queue and starts it; `None` if none came in time.
    pub async fn poll_activity_task(
        &self,
        namespace: &Namespace,
        task_queue: &TaskQueueName,
        identity: &str,
    ) -> Result<Option<ActivityTaskForWorker>, EngineError> {
        loop {
            let Some(handoff) = self
                .poll_handoff(namespace, task_queue, TaskKind::Activity, identity, false)
                .await?
            else {
                return Ok(None);
            };
            let taken = match handoff {
                Handoff::Started {
                    execution,
                    reply: Reply::ActivityTaskStarted(task),
                } => {
                    return Ok(Some(ActivityTaskForWorker {
                        execution,
                        task: *task,
                    }));
                }
                Handoff::Started { .. } | Handoff::Query(_) => continue,
                Handoff::Row(taken) => taken,
            };
            let row = taken.starting();
            let request_id = format!("dispatch-{}", row.task_id);
            let input = match Input::task_started(&row.task, request_id, identity.into()) {
                Some(input @ Input::ActivityTaskStarted { .. }) => input,
                _ => {
                    debug_assert!(
                        false,
                        "the activity half of a queue holds activity tasks only"
                    );
                    continue;
                }
            };
            match self.apply(&row.execution, input, Some(row.key())).await {
                Ok(Reply::ActivityTaskStarted(task)) => {
                    return Ok(Some(ActivityTaskForWorker {
                        execution: row.execution,
                        task: *task,
                    }));
                }
                Ok(_) | Err(EngineError::Rejected(_) | EngineError::NotFound(_)) => continue,
                // Not started (its row is still stored): back to the queue.
                Err(error) => {
                    self.inner.matching.add(row);
                    return Err(error);
                }
            }
        }
    }

    /// Records a heartbeat; returns whether cancellation of the activity was requested.
    pub async fn record_activity_heartbeat(
        &self,
        execution: &ExecutionKey,
        token: ActivityTaskToken,
        details: Option<Payloads>,
    ) -> Result<bool, EngineError> {
        match self
            .apply(
                execution,
                Input::ActivityTaskHeartbeat { token, details },
                None,
            )
            .await?
        {
            Reply::Heartbeat { cancel_requested } => Ok(cancel_requested),
            _ => Ok(false),
        }
    }

    /// An activity attempt returned a result.
    pub async fn complete_activity_task(
        &self,
        execution: &ExecutionKey,
        token: ActivityTaskToken,
        result: Option<Payloads>,
        identity: String,
    ) -> Result<(), EngineError> {
        self.apply(
            execution,
            Input::ActivityTaskCompleted {
                token,
                result,
                identity,
            },
            None,
        )
        .await
        .map(drop)
    }

    /// An activity attempt failed.
    pub async fn fail_activity_task(
        &self,
        execution: &ExecutionKey,
        token: ActivityTaskToken,
        failure: Failure,
        identity: String,
    ) -> Result<(), EngineError> {
        self.apply(
            execution,
            Input::ActivityTaskFailed {
                token,
                failure,
                identity,
            },
            None,
        )
        .await
        .map(drop)
    }

    /// An activity acknowledged cancellation.
    pub async fn cancel_activity_task(
        &self,
        execution: &ExecutionKey,
        token: ActivityTaskToken,
        details: Option<Payloads>,
        identity: String,
    ) -> Result<(), EngineError> {
        self.apply(
            execution,
            Input::ActivityTaskCanceled {
                token,
                details,
                identity,
            },
            None,
        )
        .await
        .map(drop)
    }

    /// One page of a run's history from `first_event_id`.
    pub async fn history_page(
        &self,
        execution: &ExecutionKey,
        first_event_id: EventId,
    ) -> Result<endure_core::storage::HistoryPage, EngineError> {
        Ok(self
            .inner
            .storage
            .read_history(execution, first_event_id)
            .await?)
    }

    /// Runs of a namespace matching `query`, latest start first.
    pub async fn list_workflows(
        &self,
        namespace: &Namespace,
        query: &endure_core::storage::VisibilityQuery,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<endure_core::storage::VisibilityRow>, EngineError> {
        self.check_namespace(namespace)?;
        Ok(self
            .inner
            .storage
            .list_visibility(namespace, query, offset, limit)
            .await?)
    }

    /// The whole history of a run.
    pub async fn history(
        &self,
        execution: &ExecutionKey,
    ) -> Result<Vec<HistoryEvent>, EngineError> {
        shard::read_whole_history(&*self.inner.storage, execution).await
    }

    /// Waits until the run closes, at most `wait`, and describes it (a long poll for results).
    pub async fn await_close(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
        run_id: Option<RunId>,
        wait: Duration,
    ) -> Result<WorkflowDescription, EngineError> {
        let execution = self.resolve_run(namespace, workflow_id, run_id).await?;
        // Register before looking, so a close between the two is not missed.
        let closed = self.inner.closings.register(&execution);
        let description = self
            .describe_workflow(namespace, workflow_id, Some(execution.run_id))
            .await?;
        if description.status.is_closed() {
            return Ok(description);
        }
        let deadline = self.inner.clock.now().saturating_add(wait);
        tokio::select! {
            biased;
            _ = closed => {}
            () = self.inner.clock.sleep_until(deadline) => {}
        }
        self.describe_workflow(namespace, workflow_id, Some(execution.run_id))
            .await
    }

    /// Whether the engine serves: a store stopped by a failure (a full disk, a failing
    /// device, a corrupt file) says why.
    pub fn health(&self) -> Health {
        Health {
            store_stopped: self.inner.storage.stopped(),
        }
    }

    /// The tasks of `workflow_id`'s runs waiting in the engine's task queues in memory,
    /// with the pollers waiting on each queue: where a run's work is when nothing picks it
    /// up. Tasks already handed to a worker, and queues no worker has polled since the
    /// engine started, are not listed.
    pub fn queued_tasks(&self, namespace: &Namespace, workflow_id: &WorkflowId) -> Vec<QueuedTask> {
        self.inner.matching.queued_tasks(namespace, workflow_id)
    }

    /// A run's stored row and the machine in it (what a describe or a poll reads, without
    /// going through its shard); `NotFound` if there is no such run.
    pub(crate) async fn load_stored(
        &self,
        execution: &ExecutionKey,
    ) -> Result<
        (
            endure_core::storage::ExecutionRow,
            endure_core::execution::ExecutionMachine,
        ),
        EngineError,
    > {
        let row = self
            .inner
            .storage
            .load_execution(execution)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("{execution:?}")))?;
        let machine = endure_core::execution::ExecutionMachine::from_row(&row)?;
        Ok((row, machine))
    }

    /// The status and size of a run.
    pub async fn describe_workflow(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
        run_id: Option<RunId>,
    ) -> Result<WorkflowDescription, EngineError> {
        let execution = self.resolve_run(namespace, workflow_id, run_id).await?;
        let (row, machine) = self.load_stored(&execution).await?;
        let history_length = row.next_event_id.get() - 1;
        let close_time = match EventId::new(history_length) {
            Some(last) if row.status.is_closed() => self
                .inner
                .storage
                .read_history(&execution, last)
                .await?
                .events
                .first()
                .map(|event| event.event_time),
            _ => None,
        };
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Ok(WorkflowDescription {
            execution,
            status: row.status,
            history_length,
            workflow_type: machine.workflow_type().clone(),
            task_queue: machine.task_queue().clone(),
            start_time: machine.start_time(),
            close_time,
            next_run_id: machine.new_execution_run_id(),
            parent: machine
                .parent()
                .map(|parent| parent.workflow_execution.clone()),
            pending_activities: count(machine.activities().len()),
            pending_timers: count(machine.timers().len()),
            pending_children: count(machine.children().len()),
            memo: machine.memo().clone(),
            search_attributes: machine.search_attributes().clone(),
            pending_activity_details: machine.pending_activities(),
            pending_child_details: machine.pending_children(),
        })
    }
}
