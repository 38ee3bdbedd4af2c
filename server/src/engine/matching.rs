//! Matching: task queues where tasks wait for pollers and pollers wait for tasks.
//!
//! The durable backlog is the dispatch rows written with each schedule; matching keeps an
//! in-memory mirror per queue, loaded from storage the first time a queue is polled (so after
//! a restart nothing is lost) and fed by every committed schedule. A task goes to the longest
//! waiting poller, else to the end of the backlog.
//!
//! Queries are matched on the workflow half too, but live only in memory: a query offered
//! goes to the longest-waiting workflow poller that takes queries, else waits in the queue's
//! query list (ahead of tasks) until one polls or the query times out.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use endure_core::clock::Clock;
use endure_core::storage::{DispatchRow, DispatchTask, ShardId, Storage, StorageError, shard_of};
use endure_core::versioning::{RoutingConfig, TaskDirective, WorkerDeploymentVersion};
use endure_core::{Namespace, TaskQueueName, WorkflowId};

use super::version_routing::VersionRouting;
use parking_lot::{Mutex, RwLock};
use tokio::sync::oneshot;

/// Rows loaded from storage per queue on first poll.
const BACKLOG_LOAD_MAX: usize = 100_000;

/// Which tasks a queue holds: a task queue has a workflow half and an activity half.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TaskKind {
    Workflow,
    Activity,
    /// An outbox row: the engine's own work, never handed to a poller.
    Outbox,
}

impl TaskKind {
    fn of(task: &DispatchTask) -> Self {
        match task {
            DispatchTask::WorkflowTask { .. } => Self::Workflow,
            DispatchTask::ActivityTask { .. } => Self::Activity,
            DispatchTask::SignalExternalWorkflow { .. }
            | DispatchTask::RequestCancelExternalWorkflow { .. }
            | DispatchTask::StartChildWorkflow { .. }
            | DispatchTask::ApplyParentClosePolicy { .. }
            | DispatchTask::RecordChildCompletion => Self::Outbox,
        }
    }
}

type QueueKey = (Namespace, TaskQueueName, TaskKind);

fn key_of(row: &DispatchRow) -> QueueKey {
    (
        row.namespace.clone(),
        row.task_queue.clone(),
        TaskKind::of(&row.task),
    )
}

/// What a waiting poller receives.
pub(crate) enum Handoff {
    /// A backlog task; the poller starts it.
    Row(TakenRow),
    /// A task started in the transition that scheduled it (sync match).
    Started {
        /// The run.
        execution: endure_core::storage::ExecutionKey,
        /// The start's reply (token, task details).
        reply: endure_core::execution::Reply,
        /// A workflow task's history from the first event its worker needs (all of it, or
        /// after its previous task if the task is sticky) through the write that started
        /// it, when the shard had those events at hand — a new run's write, or a busy
        /// run's latest events (the shard's `with_history`) — so the poll hands them over
        /// instead of reading back what was just written. `None`: the poll reads them.
        history: Option<Vec<endure_core::history::HistoryEvent>>,
    },
    /// A query for a worker to answer.
    Query(QueryOffer),
}

/// A query waiting for a workflow poller (its name and arguments stay with the engine).
#[derive(Clone, Debug)]
pub(crate) struct QueryOffer {
    pub(crate) query_id: u64,
    pub(crate) execution: endure_core::storage::ExecutionKey,
    /// The build that last ran the run's workflow tasks: on a deployment's queue only its
    /// workers answer (they can replay the run's history).
    pub(crate) version: Option<WorkerDeploymentVersion>,
}

/// A task waiting in a queue's in-memory backlog (see [`Engine::queued_tasks`](crate::engine::Engine::queued_tasks)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedTask {
    /// The queue.
    pub task_queue: TaskQueueName,
    /// Its order within the queue.
    pub task_id: u64,
    /// The run it belongs to.
    pub execution: endure_core::storage::ExecutionKey,
    /// What it starts.
    pub task: DispatchTask,
    /// Pollers waiting on its half of the queue right now (more than zero while the task
    /// waits means a hand-over is stuck).
    pub waiting_pollers: usize,
}

/// A poller waiting for a task: who it is and where to send the task.
pub(crate) struct Poller {
    pub(crate) identity: String,
    pub(crate) sender: oneshot::Sender<Handoff>,
    /// Whether the poller can be handed a query (workers can; raw task pollers cannot).
    pub(crate) accepts_queries: bool,
    /// The worker's deployment version; `None` for an unversioned worker. It gets only the
    /// tasks routed to its version.
    pub(crate) version: Option<WorkerDeploymentVersion>,
}

/// Rows a queue's backlog keeps room for once drained (it shrinks no further).
const BACKLOG_ROWS_KEPT: usize = 1_024;

#[derive(Default)]
struct Queue {
    loaded: bool,
    backlog: VecDeque<DispatchRow>,
    known: BTreeSet<u64>,
    pollers: VecDeque<Poller>,
    queries: VecDeque<QueryOffer>,
}

/// Every queue, and the deployments' routing that decides which poller takes a task. Lock
/// order: `routing` before `map`.
#[derive(Default)]
struct Queues {
    map: Mutex<BTreeMap<QueueKey, Queue>>,
    routing: RwLock<VersionRouting>,
}

/// All task queues of the engine.
#[derive(Default)]
pub(crate) struct Matching {
    queues: Arc<Queues>,
    /// Who polled each queue lately (`DescribeTaskQueue`).
    pub(crate) seen: super::pollers_seen::PollersSeen,
    /// Backlog handoffs so far, numbering each start's request id.
    handoffs: std::sync::atomic::AtomicU64,
    /// On a cluster node: the store's shard count and the shards this node serves, whose
    /// rows alone a backlog load keeps (another node hands out the rest). `None`: every
    /// shard is served here.
    served: RwLock<Option<(u32, BTreeSet<ShardId>)>>,
}

/// A backlog task handed to a poller. Until the poller sends its run the start
/// ([`TakenRow::starting`]), dropping it — the poll was cancelled, its connection closed,
/// the start failed — puts the task back in its queue: a task whose row is stored is never
/// lost from matching while the engine runs.
pub(crate) struct TakenRow {
    row: Option<DispatchRow>,
    queues: Arc<Queues>,
}

impl TakenRow {
    /// The poller sends the start now: from here the run's shard decides (a start that is
    /// never answered leaves the task started, and its timeout retries it).
    pub(crate) fn starting(mut self) -> DispatchRow {
        let row = self
            .row
            .take()
            .expect("a taken row holds its row until started");
        if let Some(queue) = self.queues.map.lock().get_mut(&key_of(&row)) {
            queue.known.remove(&row.task_id);
        }
        row
    }
}

impl Drop for TakenRow {
    fn drop(&mut self) {
        if let Some(row) = self.row.take() {
            if let Some(queue) = self.queues.map.lock().get_mut(&key_of(&row)) {
                queue.known.remove(&row.task_id);
            }
            offer(&self.queues, row);
        }
    }
}

/// Offers a task: to the longest-waiting poller of the version it is routed to, else to the
/// end of the backlog; a task already known to the queue is ignored.
fn offer(queues: &Arc<Queues>, row: DispatchRow) {
    let routing = queues.routing.read();
    let target = routing.target_of(&row);
    let mut locked = queues.map.lock();
    let queue = locked.entry(key_of(&row)).or_default();
    if !queue.known.insert(row.task_id) {
        return;
    }
    let mut handoff = Handoff::Row(TakenRow {
        row: Some(row),
        queues: Arc::clone(queues),
    });
    while let Some(poller) = queue.take_poller(target.as_ref()) {
        match poller.sender.send(handoff) {
            Ok(()) => return,
            Err(returned) => handoff = returned,
        }
    }
    if let Handoff::Row(mut taken) = handoff
        && let Some(row) = taken.row.take()
    {
        queue.backlog.push_back(row);
    }
}

impl Queue {
    /// Takes the longest-waiting poller of `version` (closed ones are skipped later).
    fn take_poller(&mut self, version: Option<&WorkerDeploymentVersion>) -> Option<Poller> {
        let position = self
            .pollers
            .iter()
            .position(|poller| poller.version.as_ref() == version)?;
        self.pollers.remove(position)
    }

    /// Takes the first backlog row routed to `version`.
    fn take_row(
        &mut self,
        routing: &VersionRouting,
        version: Option<&WorkerDeploymentVersion>,
    ) -> Option<DispatchRow> {
        let position = if routing.is_empty() {
            // No deployment anywhere: every row is for unversioned workers.
            version
                .is_none()
                .then_some(0)
                .filter(|_| !self.backlog.is_empty())?
        } else {
            self.backlog
                .iter()
                .position(|row| routing.target_of(row).as_ref() == version)?
        };
        let row = self.backlog.remove(position)?;
        // A burst's backlog, drained, gives its memory back: a `VecDeque` never shrinks
        // itself, and 100,000 rows hold 25 MB. Shrinking to twice the rows left, only once
        // they fill under a quarter, copies each row a bounded number of times.
        let capacity = self.backlog.capacity();
        if capacity > BACKLOG_ROWS_KEPT && self.backlog.len() * 4 < capacity {
            self.backlog
                .shrink_to((self.backlog.len() * 2).max(BACKLOG_ROWS_KEPT));
        }
        Some(row)
    }
}

impl Matching {
    /// From now on, backlog loads keep only the rows of shards [`Self::shard_added`]
    /// names (a cluster node, which serves some of the store's `shard_count` shards).
    pub(crate) fn serve_added_shards_only(&self, shard_count: u32) {
        *self.served.write() = Some((shard_count, BTreeSet::new()));
    }

    /// This node serves `shard` now: every queue loads its backlog again at its next
    /// poll, to take the shard's stored tasks (rows it holds already are kept once).
    pub(crate) fn shard_added(&self, shard: ShardId) {
        if let Some((_, shards)) = self.served.write().as_mut() {
            shards.insert(shard);
        }
        for queue in self.queues.map.lock().values_mut() {
            queue.loaded = false;
        }
    }

    /// This node no longer serves `shard`: its tasks leave the backlogs (the node that
    /// takes the shard loads them from storage).
    pub(crate) fn shard_removed(&self, shard: ShardId) {
        let count = {
            let mut served = self.served.write();
            let Some((count, shards)) = served.as_mut() else {
                return;
            };
            shards.remove(&shard);
            *count
        };
        for queue in self.queues.map.lock().values_mut() {
            let Queue { backlog, known, .. } = queue;
            backlog.retain(|row| {
                let keep =
                    shard_of(&row.execution.namespace, &row.execution.workflow_id, count) != shard;
                if !keep {
                    known.remove(&row.task_id);
                }
                keep
            });
        }
    }

    /// Whether a stored row's task is this node's to hand out.
    fn serves(&self, row: &DispatchRow) -> bool {
        match &*self.served.read() {
            None => true,
            Some((count, shards)) => shards.contains(&shard_of(
                &row.execution.namespace,
                &row.execution.workflow_id,
                *count,
            )),
        }
    }

    /// Offers a committed task: to a waiting poller, else to the backlog.
    pub(crate) fn add(&self, row: DispatchRow) {
        offer(&self.queues, row);
    }

    /// The request id of the start of backlog row `task_id` by the poller it was handed to:
    /// unique to this handoff. The same row can reach matching twice (the settle of the
    /// commit that wrote it, and a backlog load that read it from storage meanwhile); a
    /// second poller's start then differs from the first's and is refused as already
    /// started, so a task is never delivered to two workers.
    pub(crate) fn start_request_id(&self, task_id: u64) -> String {
        let handoff = self
            .handoffs
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("dispatch-{task_id}-{handoff}")
    }

    /// Offers a query to the queue's longest-waiting workflow poller that takes queries,
    /// else keeps it for the next one.
    pub(crate) fn offer_query(
        &self,
        namespace: &Namespace,
        task_queue: &TaskQueueName,
        mut offer: QueryOffer,
    ) {
        if !self
            .queues
            .routing
            .read()
            .is_assigned(namespace, task_queue)
        {
            offer.version = None;
        }
        let mut queues = self.queues.map.lock();
        let queue = queues
            .entry((namespace.clone(), task_queue.clone(), TaskKind::Workflow))
            .or_default();
        let target = offer.version.clone();
        let mut handoff = Handoff::Query(offer);
        let mut skipped = VecDeque::new();
        while let Some(poller) = queue.pollers.pop_front() {
            if !poller.accepts_queries || poller.version != target {
                skipped.push_back(poller);
                continue;
            }
            match poller.sender.send(handoff) {
                Ok(()) => {
                    skipped.append(&mut queue.pollers);
                    queue.pollers = skipped;
                    return;
                }
                Err(returned) => handoff = returned,
            }
        }
        queue.pollers = skipped;
        if let Handoff::Query(offer) = handoff {
            queue.queries.push_back(offer);
        }
    }

    /// Whether a live poller that takes queries waits on the queue.
    pub(crate) fn has_query_poller(
        &self,
        namespace: &Namespace,
        task_queue: &TaskQueueName,
    ) -> bool {
        self.queues
            .map
            .lock()
            .get(&(namespace.clone(), task_queue.clone(), TaskKind::Workflow))
            .is_some_and(|queue| {
                queue
                    .pollers
                    .iter()
                    .any(|poller| poller.accepts_queries && !poller.sender.is_closed())
            })
    }

    /// Drops a query nobody took in time.
    pub(crate) fn withdraw_query(
        &self,
        namespace: &Namespace,
        task_queue: &TaskQueueName,
        query_id: u64,
    ) {
        if let Some(queue) = self.queues.map.lock().get_mut(&(
            namespace.clone(),
            task_queue.clone(),
            TaskKind::Workflow,
        )) {
            queue.queries.retain(|offer| offer.query_id != query_id);
        }
    }

    /// Takes the longest-waiting live poller of a queue half that may take a task of
    /// `workflow_id` with `directive`, for a sync match.
    pub(crate) fn take_poller(
        &self,
        namespace: &Namespace,
        task_queue: &TaskQueueName,
        kind: TaskKind,
        directive: Option<&TaskDirective>,
        workflow_id: &WorkflowId,
    ) -> Option<Poller> {
        let routing = self.queues.routing.read();
        let target = routing.target(namespace, task_queue, directive, workflow_id);
        let mut queues = self.queues.map.lock();
        let queue = queues.get_mut(&(namespace.clone(), task_queue.clone(), kind))?;
        while let Some(poller) = queue.take_poller(target.as_ref()) {
            if !poller.sender.is_closed() {
                return Some(poller);
            }
        }
        None
    }

    /// Records that `task_queue` belongs to `deployment` (a worker of one of its versions
    /// polled it) and hands waiting tasks to the pollers the routing now picks.
    pub(crate) fn assign_queue(
        &self,
        namespace: &Namespace,
        task_queue: &TaskQueueName,
        deployment: &str,
    ) {
        if self
            .queues
            .routing
            .write()
            .assign(namespace, task_queue, deployment)
        {
            self.rebalance(namespace, std::slice::from_ref(task_queue));
        }
    }

    /// Sets `deployment`'s routing and hands waiting tasks to the pollers it now picks.
    pub(crate) fn configure_deployment(
        &self,
        namespace: &Namespace,
        deployment: &str,
        config: RoutingConfig,
    ) {
        let queues = {
            let mut routing = self.queues.routing.write();
            routing.configure(namespace, deployment, config);
            routing.queues_of(namespace, deployment)
        };
        self.rebalance(namespace, &queues);
    }

    /// Matches backlog rows of `task_queues` with the pollers now routed to them.
    fn rebalance(&self, namespace: &Namespace, task_queues: &[TaskQueueName]) {
        let routing = self.queues.routing.read();
        let mut queues = self.queues.map.lock();
        for (key, queue) in queues.iter_mut() {
            if &key.0 != namespace || !task_queues.contains(&key.1) {
                continue;
            }
            let mut waiting = std::mem::take(&mut queue.pollers);
            while let Some(poller) = waiting.pop_front() {
                if poller.sender.is_closed() {
                    continue;
                }
                let Some(row) = queue.take_row(&routing, poller.version.as_ref()) else {
                    queue.pollers.push_back(poller);
                    continue;
                };
                let handoff = Handoff::Row(TakenRow {
                    row: Some(row),
                    queues: Arc::clone(&self.queues),
                });
                if let Err(Handoff::Row(mut taken)) = poller.sender.send(handoff)
                    && let Some(row) = taken.row.take()
                {
                    queue.backlog.push_front(row);
                }
            }
        }
    }

    /// Puts back a poller taken for a sync match that did not happen.
    pub(crate) fn return_poller(
        &self,
        namespace: &Namespace,
        task_queue: &TaskQueueName,
        kind: TaskKind,
        poller: Poller,
    ) {
        let mut queues = self.queues.map.lock();
        queues
            .entry((namespace.clone(), task_queue.clone(), kind))
            .or_default()
            .pollers
            .push_front(poller);
    }

    /// Where the tasks of `workflow_id` wait in memory: each backlog entry of its runs, with
    /// its queue's waiting pollers (a diagnostic: "why does nothing pick this run up?").
    pub(crate) fn queued_tasks(
        &self,
        namespace: &Namespace,
        workflow_id: &endure_core::WorkflowId,
    ) -> Vec<QueuedTask> {
        let queues = self.queues.map.lock();
        queues
            .iter()
            .filter(|((queue_namespace, _, _), _)| queue_namespace == namespace)
            .flat_map(|((_, task_queue, _), queue)| {
                queue
                    .backlog
                    .iter()
                    .filter(|row| &row.execution.workflow_id == workflow_id)
                    .map(|row| QueuedTask {
                        task_queue: task_queue.clone(),
                        task_id: row.task_id,
                        execution: row.execution.clone(),
                        task: row.task,
                        waiting_pollers: queue.pollers.len(),
                    })
            })
            .collect()
    }

    /// Returns a task of the queue's `kind` half: at once from the backlog, or the first one added within
    /// `wait`; `None` if none came.
    #[allow(
        clippy::too_many_arguments,
        reason = "the ports, the queue's identity and the poller's"
    )]
    pub(crate) async fn poll<S: Storage, C: Clock>(
        &self,
        storage: &Arc<S>,
        clock: &Arc<C>,
        namespace: &Namespace,
        task_queue: &TaskQueueName,
        kind: TaskKind,
        identity: &str,
        accepts_queries: bool,
        version: Option<&WorkerDeploymentVersion>,
        wait: Duration,
    ) -> Result<Option<Handoff>, StorageError> {
        if kind != TaskKind::Outbox {
            self.seen.record(
                namespace,
                task_queue,
                kind == TaskKind::Workflow,
                identity,
                version,
                clock.now(),
            );
        }
        let key = (namespace.clone(), task_queue.clone(), kind);
        let needs_load = !self
            .queues
            .map
            .lock()
            .entry(key.clone())
            .or_default()
            .loaded;
        if needs_load {
            let rows = storage
                .dispatch_rows(namespace, task_queue, BACKLOG_LOAD_MAX)
                .await?;
            let mut queues = self.queues.map.lock();
            let queue = queues.entry(key.clone()).or_default();
            if !queue.loaded {
                queue.loaded = true;
                for row in rows
                    .into_iter()
                    .filter(|row| TaskKind::of(&row.task) == kind && self.serves(row))
                {
                    if queue.known.insert(row.task_id) {
                        queue.backlog.push_back(row);
                    }
                }
                let mut sorted: Vec<DispatchRow> = queue.backlog.drain(..).collect();
                sorted.sort_by_key(|row| row.task_id);
                queue.backlog.extend(sorted);
            }
        }
        let mut receiver = {
            let routing = self.queues.routing.read();
            let mut queues = self.queues.map.lock();
            let queue = queues.entry(key).or_default();
            if accepts_queries
                && let Some(position) = queue
                    .queries
                    .iter()
                    .position(|offer| offer.version.as_ref() == version)
                && let Some(offer) = queue.queries.remove(position)
            {
                return Ok(Some(Handoff::Query(offer)));
            }
            if let Some(row) = queue.take_row(&routing, version) {
                return Ok(Some(Handoff::Row(TakenRow {
                    row: Some(row),
                    queues: Arc::clone(&self.queues),
                })));
            }
            let (sender, receiver) = oneshot::channel();
            queue.pollers.push_back(Poller {
                identity: identity.to_owned(),
                sender,
                accepts_queries,
                version: version.cloned(),
            });
            receiver
        };
        let deadline = clock.now().saturating_add(wait);
        tokio::select! {
            biased;
            row = &mut receiver => Ok(row.ok()),
            () = clock.sleep_until(deadline) => {
                // Close first: a later offer then goes to another poller or the backlog, and
                // one that arrived just now is still taken here rather than lost.
                receiver.close();
                Ok(receiver.try_recv().ok())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    use endure_core::storage::{DispatchTask, ExecutionKey};
    use endure_core::time::Timestamp;
    use endure_core::{EventId, RunId, WorkflowId};

    use super::*;
    use crate::clock::ManualClock;
    use crate::storage::MemoryStorage;

    fn row() -> DispatchRow {
        DispatchRow {
            namespace: Namespace::default(),
            task_queue: TaskQueueName::new("q").unwrap(),
            task_id: 7,
            execution: ExecutionKey {
                namespace: Namespace::default(),
                workflow_id: WorkflowId::new("w").unwrap(),
                run_id: RunId::from_u128(1),
            },
            task: DispatchTask::WorkflowTask {
                scheduled_event_id: EventId::new(2).unwrap(),
                attempt: 1,
            },
            directive: None,
        }
    }

    #[tokio::test]
    async fn a_task_handed_to_a_poll_that_is_cancelled_goes_back_to_its_queue() {
        let storage = Arc::new(MemoryStorage::new());
        let clock = Arc::new(ManualClock::new(Timestamp::from_unix_seconds(1_000)));
        let matching = Matching::default();
        let (namespace, queue) = (Namespace::default(), TaskQueueName::new("q").unwrap());
        {
            // A poller waits (its poll ran once, so it is registered)…
            let mut waiting = pin!(matching.poll(
                &storage,
                &clock,
                &namespace,
                &queue,
                TaskKind::Workflow,
                "worker",
                false,
                None,
                Duration::from_secs(60),
            ));
            let mut cx = Context::from_waker(Waker::noop());
            assert!(waiting.as_mut().poll(&mut cx).is_pending());
            // …the task is handed to it…
            matching.add(row());
            // …and the poll is cancelled before it looked (its connection closed).
        }
        let next = matching
            .poll(
                &storage,
                &clock,
                &namespace,
                &queue,
                TaskKind::Workflow,
                "another",
                false,
                None,
                Duration::ZERO,
            )
            .await
            .unwrap();
        let Some(Handoff::Row(taken)) = next else {
            panic!("the task came back to the queue");
        };
        // Started now: it does not come back again.
        assert_eq!(taken.starting(), row());
        let mut cx = Context::from_waker(Waker::noop());
        let mut again = pin!(matching.poll(
            &storage,
            &clock,
            &namespace,
            &queue,
            TaskKind::Workflow,
            "third",
            false,
            None,
            Duration::from_secs(60),
        ));
        assert!(matches!(again.as_mut().poll(&mut cx), Poll::Pending));
    }

    #[test]
    fn a_drained_backlog_gives_its_memory_back_and_keeps_its_order() {
        let mut queue = Queue::default();
        for task_id in 0..20_000 {
            queue.backlog.push_back(DispatchRow { task_id, ..row() });
        }
        assert!(queue.backlog.capacity() >= 20_000);
        let routing = VersionRouting::default();
        for expected in 0..20_000 {
            let taken = queue.take_row(&routing, None).unwrap();
            assert_eq!(taken.task_id, expected, "oldest first, across shrinks");
            let (left, capacity) = (queue.backlog.len(), queue.backlog.capacity());
            assert!(
                capacity <= (4 * left).max(BACKLOG_ROWS_KEPT),
                "{left} rows left in room for {capacity}"
            );
        }
        assert!(queue.take_row(&routing, None).is_none());
        assert_eq!(queue.backlog.capacity(), BACKLOG_ROWS_KEPT);
    }
}
