//! The engine handle: its parts, how it opens and stops, and how a request reaches the
//! shard that owns its workflow id.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use endure_core::clock::Clock;
use endure_core::execution::{Input, Rejected, Reply};
use endure_core::storage::{ExecutionKey, ShardId, Storage, shard_of};
use endure_core::time::Timestamp;
use endure_core::{Namespace, RunId, WorkflowId};
use tokio::sync::{mpsc, oneshot};

use super::api::{EngineError, Health};
use super::closings::{CLOSING_WAIT_MAX, Closings};
use super::matching::{Matching, QueuedTask};
use super::queries::Queries;
use super::shard::{NotSent, Shard, ShardMessage, ShardParts, ShardSlots};
use super::{namespaces, outbox, shard, updates, writer};
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
    /// Most requests (messages) waiting in one shard's inbox; a request beyond it is
    /// refused at once as retryable (`Unavailable`: the engine is overloaded) instead of
    /// queueing without bound.
    pub shard_inbox_max: usize,
    /// Most writes one shard keeps in flight to the group committer; at the limit it
    /// settles the oldest before taking more requests, so a slow disk pushes back on the
    /// inbox instead of growing the commit queue.
    pub shard_writes_in_flight_max: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            shard_count: 32,
            poll_wait: Duration::from_secs(60),
            query_timeout: Duration::from_secs(20),
            commit_batch_max: 256,
            shard_inbox_max: 10_000,
            shard_writes_in_flight_max: 1_024,
        }
    }
}

/// The engine, in-process. Cheap to clone.
pub struct Engine<S, C> {
    pub(super) inner: Arc<Inner<S, C>>,
}

impl<S, C> Clone for Engine<S, C> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

pub(super) struct Inner<S, C> {
    pub(super) storage: Arc<S>,
    pub(super) clock: Arc<C>,
    /// The shards this node serves (all of them, unless it is a cluster node).
    pub(super) shards: Arc<ShardSlots>,
    pub(super) matching: Arc<Matching>,
    pub(super) closings: Arc<Closings>,
    pub(super) updates: Arc<updates::UpdateWaiters>,
    pub(super) queries: Queries,
    pub(super) namespaces: Arc<namespaces::Namespaces>,
    /// What the engine did since [`Engine::take_tally`] was last called.
    pub(super) tally: Arc<super::tally::Tally>,
    pub(super) config: EngineConfig,
    /// The shards' actors, then the group committer: awaited in that order by
    /// [`Engine::shutdown`].
    pub(super) tasks: Vec<tokio::task::JoinHandle<()>>,
    /// The outbox: stopped last by [`Engine::shutdown`] (its rows are durable and are
    /// delivered after the next open), so the store is released when that returns.
    pub(super) outbox: tokio::task::JoinHandle<()>,
    /// The engine as the worker of its schedule workflows: stopped first by
    /// [`Engine::shutdown`].
    pub(super) schedulers: super::schedules::SchedulerWorkers,
    /// Serialises each schedule's updates (conflict check, then signal).
    pub(super) schedule_updates: super::schedules::UpdateLocks,
    /// On a cluster node: its membership task, stopped (handing its shards back) before
    /// anything else by [`Engine::shutdown`].
    pub(super) node: std::sync::OnceLock<super::cluster::NodeHandle>,
    /// On a cluster node that reaches its peers: how its outbox reaches runs they serve.
    pub(super) router: Arc<std::sync::OnceLock<Arc<super::cluster::PeerRouter>>>,
}

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
        let (engine, _) = Self::assemble(storage, clock, config, true).await?;
        Ok(engine)
    }

    /// The engine's parts, its shards opened when `open_all` (a single node), else none
    /// and the parts to open them with returned (a cluster node opens the shards it
    /// takes leases on).
    pub(super) async fn assemble(
        storage: Arc<S>,
        clock: Arc<C>,
        config: EngineConfig,
        open_all: bool,
    ) -> Result<(Self, Option<ShardParts<S, C>>), EngineError> {
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
        let tally = Arc::new(super::tally::Tally::default());
        let (writer, writer_task) = writer::spawn_writer(
            Arc::clone(&storage),
            Arc::clone(&clock),
            Arc::clone(&tally),
            config.commit_batch_max,
        );
        let mut tasks = Vec::new();
        let matching = Arc::new(Matching::default());
        // Each deployment's routing; its queues join as its workers poll again.
        for (namespace, deployment) in namespaces.all_deployments() {
            matching.configure_deployment(&namespace, &deployment.name, deployment.routing);
        }
        let closings = Arc::new(Closings::default());
        let updates = Arc::new(updates::UpdateWaiters::default());
        let (outbox, outbox_rows) = mpsc::unbounded_channel();
        let shards = Arc::new(ShardSlots::new(config.shard_count));
        let parts = ShardParts {
            storage: Arc::clone(&storage),
            clock: Arc::clone(&clock),
            writer,
            matching: Arc::clone(&matching),
            outbox,
            closings: Arc::clone(&closings),
            updates: Arc::clone(&updates),
            namespaces: Arc::clone(&namespaces),
            tally: Arc::clone(&tally),
            writes_in_flight_max: config.shard_writes_in_flight_max,
        };
        let parts = if open_all {
            for index in 0..config.shard_count.max(1) {
                let shard = Shard::open(ShardId(index), parts.clone()).await?;
                let (sender, receiver) = mpsc::channel(config.shard_inbox_max.max(1));
                tasks.push(tokio::spawn(shard.run(receiver)));
                shards.install(ShardId(index), sender, Timestamp::from_unix_nanos(u64::MAX));
            }
            // The shards hold the only writer and outbox senders now: each ends when they
            // do.
            None
        } else {
            matching.serve_added_shards_only(config.shard_count);
            Some(parts)
        };
        tasks.push(writer_task);
        let router = Arc::new(std::sync::OnceLock::new());
        let outbox = outbox::Outbox::new(
            Arc::clone(&storage),
            Arc::clone(&clock),
            shard::Shards::new(&shards, Arc::clone(&router)),
            Arc::clone(&namespaces),
        );
        let outbox = tokio::spawn(outbox.run(outbox_rows));
        let engine = Self {
            inner: Arc::new(Inner {
                storage,
                clock,
                shards,
                matching,
                closings,
                updates,
                queries: Queries::default(),
                namespaces,
                tally,
                config,
                tasks,
                outbox,
                schedulers: super::schedules::SchedulerWorkers::default(),
                schedule_updates: super::schedules::UpdateLocks::default(),
                node: std::sync::OnceLock::new(),
                router,
            }),
        };
        // Every namespace's schedules are served from the start (their wake-ups are
        // durable timers; the tasks wait in the queue until polled).
        for namespace in engine.inner.namespaces.names() {
            engine.inner.schedulers.serve(&engine, &namespace);
        }
        Ok((engine, parts))
    }

    /// Stops the engine gracefully once this is its last handle: every shard finishes the
    /// messages it has taken (their writes committed, durable), then the group committer
    /// commits what it was given, and only then does this return. With other handles
    /// still alive (a transport still serving), nothing stops and the engine comes back.
    pub async fn shutdown(self) -> Result<(), Self> {
        let mut inner = Arc::try_unwrap(self.inner).map_err(|inner| Self { inner })?;
        inner.schedulers.stop().await;
        if let Some(node) = std::mem::take(&mut inner.node).into_inner() {
            node.leave().await;
        }
        let Inner {
            shards,
            tasks,
            outbox,
            ..
        } = inner;
        // Closing the inboxes: each shard drains its queue, then drops its writer handle.
        drop(shards.close());
        for task in tasks {
            let _ = task.await;
        }
        // With the shards gone the outbox can only wait to retry; its rows stay stored.
        outbox.abort();
        let _ = outbox.await;
        Ok(())
    }

    /// Refuses a request naming a namespace that does not exist, or the engine's own.
    pub(super) fn check_namespace(&self, namespace: &Namespace) -> Result<(), EngineError> {
        self.inner.namespaces.check(namespace)
    }

    /// Sends `message` to the shard of `workflow_id`: refused at once, retryably, when the
    /// shard's inbox is full (see [`EngineConfig::shard_inbox_max`]).
    pub(super) fn send_to_shard(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
        message: ShardMessage,
    ) -> Result<(), EngineError> {
        let shard = shard_of(namespace, workflow_id, self.inner.shards.count());
        match self
            .inner
            .shards
            .try_send(shard, self.inner.clock.now(), message)
        {
            Ok(()) => Ok(()),
            Err(NotSent::Full) => Err(EngineError::Overloaded(format!(
                "the shard of workflow {workflow_id} has {} requests waiting",
                self.inner.config.shard_inbox_max
            ))),
            Err(NotSent::Closed) => Err(EngineError::Shutdown),
            Err(NotSent::NotServed) => Err(EngineError::NotServed { shard: shard.0 }),
        }
    }

    pub(super) async fn apply(
        &self,
        execution: &ExecutionKey,
        input: Input,
        dispatched: Option<endure_core::storage::DispatchKey>,
    ) -> Result<Reply, EngineError> {
        let (reply, result) = oneshot::channel();
        self.send_to_shard(
            &execution.namespace,
            &execution.workflow_id,
            ShardMessage::Apply {
                execution: execution.clone(),
                input: Box::new(input),
                dispatched,
                reply,
            },
        )?;
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

    /// Applies `input` to run `run_id`, or to the workflow id's current run. A request for
    /// the current run that finds it closed because a new run took its place meanwhile
    /// (continue-as-new, retry, cron) follows to the new run, as Temporal does. A signal
    /// refused because the run is closing (its close waits on one more workflow task) is
    /// retried for a few seconds, then lands on the closed run's successor or fails.
    pub(super) async fn apply_to_run(
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

    /// Whether the engine serves: a store stopped by a failure (a full disk, a failing
    /// device, a corrupt file) says why.
    pub fn health(&self) -> Health {
        Health {
            store_stopped: self.inner.storage.stopped(),
        }
    }

    /// Runs started and closed and commits made since the last call (the dev server's
    /// once-a-minute summary line).
    pub fn take_tally(&self) -> super::TallySummary {
        self.inner.tally.take()
    }

    /// Whether every shard's actor still runs (none stopped by a panic or a lost lease).
    pub fn shards_running(&self) -> bool {
        self.inner.shards.all_running()
    }

    /// The tasks of `workflow_id`'s runs waiting in the engine's task queues in memory,
    /// with the pollers waiting on each queue: where a run's work is when nothing picks it
    /// up. Tasks already handed to a worker, and queues no worker has polled since the
    /// engine started, are not listed.
    pub fn queued_tasks(&self, namespace: &Namespace, workflow_id: &WorkflowId) -> Vec<QueuedTask> {
        self.inner.matching.queued_tasks(namespace, workflow_id)
    }
}
