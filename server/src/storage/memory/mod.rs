//! The in-memory model of the Storage port: the reference semantics, written to be obviously
//! right rather than fast. Nothing survives the process; every commit is "durable" at once.

use std::collections::BTreeMap;

use endure_core::history::HistoryEvent;
use endure_core::storage::*;
use endure_core::time::Timestamp;
use endure_core::{EventId, Namespace, RequestId, RunId, TaskQueueName, WorkflowId};
use parking_lot::Mutex;

mod cluster;

pub use cluster::StoreClock;

/// The in-memory model store.
#[derive(Debug, Default)]
pub struct MemoryStorage {
    state: Mutex<State>,
    /// The store's own clock, by which member rows and shard leases expire.
    clock: StoreClock,
}

#[derive(Debug, Default)]
struct State {
    shards: BTreeMap<ShardId, RangeId>,
    executions: BTreeMap<ExecutionKey, ExecutionRow>,
    current_runs: BTreeMap<(Namespace, WorkflowId), CurrentRun>,
    history: BTreeMap<ExecutionKey, Vec<HistoryEvent>>,
    deadlines: BTreeMap<ExecutionKey, (ShardId, Timestamp)>,
    dispatch: BTreeMap<DispatchKey, DispatchRow>,
    requests: BTreeMap<(Namespace, WorkflowId, RequestId), RequestRecord>,
    visibility: BTreeMap<ExecutionKey, VisibilityRow>,
    namespaces: BTreeMap<Namespace, NamespaceRecord>,
    shard_count: Option<u32>,
    /// Shard leases of cluster nodes (`ClusterStore`).
    leases: BTreeMap<ShardId, cluster::LeaseRow>,
    /// Member rows of cluster nodes.
    members: BTreeMap<endure_core::cluster::NodeName, cluster::MemberRow>,
}

impl MemoryStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store whose leases and member rows expire by `clock` (the simulator's
    /// store clock, apart from every node's).
    pub fn with_clock(clock: StoreClock) -> Self {
        Self {
            clock,
            ..Self::default()
        }
    }
}

impl StoredState for State {
    fn range(&self, shard: ShardId) -> Result<RangeId, StorageError> {
        Ok(self.shards.get(&shard).copied().unwrap_or(RangeId(0)))
    }

    fn execution(&self, key: &ExecutionKey) -> Result<Option<StoredRun>, StorageError> {
        Ok(self.executions.get(key).map(StoredRun::from))
    }

    fn current_run(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
    ) -> Result<Option<RunId>, StorageError> {
        Ok(self
            .current_runs
            .get(&(namespace.clone(), workflow_id.clone()))
            .map(|current| current.run_id))
    }

    fn request(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
        request_id: &RequestId,
    ) -> Result<Option<RequestRecord>, StorageError> {
        let key = (namespace.clone(), workflow_id.clone(), request_id.clone());
        Ok(self.requests.get(&key).cloned())
    }
}

impl State {
    fn apply(&mut self, write: WorkflowWrite) {
        if let Some(deletion) = write.deletion {
            self.delete_run(&deletion.key);
        }
        for run in write.runs {
            let key = run.row.key.clone();
            self.history
                .entry(key.clone())
                .or_default()
                .extend(run.history);
            match run.deadline {
                DeadlineUpdate::Keep => {}
                DeadlineUpdate::Set(time) => {
                    self.deadlines.insert(key.clone(), (run.row.shard, time));
                }
                DeadlineUpdate::Clear => {
                    self.deadlines.remove(&key);
                }
            }
            for row in run.dispatch_inserts {
                self.dispatch.insert(row.key(), row);
            }
            for dispatch_key in run.dispatch_deletes {
                self.dispatch.remove(&dispatch_key);
            }
            if let Some(visibility) = run.visibility {
                self.visibility.insert(key.clone(), visibility);
            }
            self.executions.insert(key, run.row);
        }
        if let Some(current) = write.current_run {
            self.current_runs.insert(
                (write.namespace.clone(), write.workflow_id.clone()),
                current.new,
            );
        }
        for record in write.request_ids {
            let key = (
                record.namespace.clone(),
                record.workflow_id.clone(),
                record.request_id.clone(),
            );
            self.requests.insert(key, record);
        }
    }
}

impl State {
    /// Deletes a run and everything that names it (see [`RunDeletion`]).
    fn delete_run(&mut self, key: &ExecutionKey) {
        self.executions.remove(key);
        self.history.remove(key);
        self.deadlines.remove(key);
        self.visibility.remove(key);
        self.requests.retain(|_, record| {
            !(record.namespace == key.namespace
                && record.workflow_id == key.workflow_id
                && record.run_id == key.run_id)
        });
        let workflow = (key.namespace.clone(), key.workflow_id.clone());
        if self
            .current_runs
            .get(&workflow)
            .is_some_and(|current| current.run_id == key.run_id)
        {
            self.current_runs.remove(&workflow);
        }
    }
}

/// Sorts and cuts a visibility listing: latest start first, then workflow id, then run id.
pub(super) fn order_visibility(
    mut rows: Vec<VisibilityRow>,
    offset: usize,
    limit: usize,
) -> Vec<VisibilityRow> {
    rows.sort_by(|a, b| {
        b.start_time
            .cmp(&a.start_time)
            .then_with(|| a.execution.workflow_id.cmp(&b.execution.workflow_id))
            .then_with(|| a.execution.run_id.cmp(&b.execution.run_id))
    });
    rows.into_iter().skip(offset).take(limit).collect()
}

impl Storage for MemoryStorage {
    async fn shard_count(&self, proposed: u32) -> Result<u32, StorageError> {
        let mut state = self.state.lock();
        let held = state.shards.keys().map(|shard| shard.0 + 1).max();
        Ok(*state.shard_count.get_or_insert(held.unwrap_or(proposed)))
    }

    async fn acquire_shard(&self, shard: ShardId) -> Result<RangeId, StorageError> {
        let mut state = self.state.lock();
        let range = state.shards.entry(shard).or_insert(RangeId(0));
        range.0 += 1;
        Ok(*range)
    }

    async fn commit(
        &self,
        writes: Vec<WorkflowWrite>,
    ) -> Result<Vec<Result<(), WriteRejection>>, StorageError> {
        let mut state = self.state.lock();
        let mut results = Vec::with_capacity(writes.len());
        for write in writes {
            let result = check_write(&write, &*state)?;
            if result.is_ok() {
                state.apply(write);
            }
            results.push(result);
        }
        Ok(results)
    }

    async fn load_execution(
        &self,
        key: &ExecutionKey,
    ) -> Result<Option<ExecutionRow>, StorageError> {
        Ok(self.state.lock().executions.get(key).cloned())
    }

    async fn current_run(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
    ) -> Result<Option<CurrentRun>, StorageError> {
        Ok(self
            .state
            .lock()
            .current_runs
            .get(&(namespace.clone(), workflow_id.clone()))
            .cloned())
    }

    async fn read_history(
        &self,
        key: &ExecutionKey,
        first_event_id: EventId,
    ) -> Result<HistoryPage, StorageError> {
        let state = self.state.lock();
        let start = usize::try_from(first_event_id.get() - 1).unwrap_or(usize::MAX);
        Ok(state
            .history
            .get(key)
            .map(|events| HistoryPage::cut(events.iter().skip(start).cloned()))
            .unwrap_or_default())
    }

    async fn due_deadlines(
        &self,
        shard: ShardId,
        until: Timestamp,
        limit: usize,
    ) -> Result<Vec<DeadlineRow>, StorageError> {
        let state = self.state.lock();
        let mut due: Vec<DeadlineRow> = state
            .deadlines
            .iter()
            .filter(|(_, (row_shard, time))| *row_shard == shard && *time <= until)
            .map(|(key, (_, time))| DeadlineRow {
                time: *time,
                execution: key.clone(),
            })
            .collect();
        due.sort();
        due.truncate(limit);
        Ok(due)
    }

    async fn dispatch_rows(
        &self,
        namespace: &Namespace,
        task_queue: &TaskQueueName,
        limit: usize,
    ) -> Result<Vec<DispatchRow>, StorageError> {
        let state = self.state.lock();
        Ok(state
            .dispatch
            .values()
            .filter(|row| &row.namespace == namespace && &row.task_queue == task_queue)
            .take(limit)
            .cloned()
            .collect())
    }

    async fn find_request(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
        request_id: &RequestId,
    ) -> Result<Option<RequestRecord>, StorageError> {
        let key = (namespace.clone(), workflow_id.clone(), request_id.clone());
        Ok(self.state.lock().requests.get(&key).cloned())
    }

    async fn list_visibility(
        &self,
        namespace: &Namespace,
        query: &VisibilityQuery,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<VisibilityRow>, StorageError> {
        let state = self.state.lock();
        let rows = state
            .visibility
            .values()
            .filter(|row| &row.execution.namespace == namespace && query.matches(row))
            .cloned()
            .collect();
        Ok(order_visibility(rows, offset, limit))
    }

    async fn count_visibility(
        &self,
        namespace: &Namespace,
        query: &VisibilityQuery,
    ) -> Result<u64, StorageError> {
        let state = self.state.lock();
        Ok(state
            .visibility
            .values()
            .filter(|row| &row.execution.namespace == namespace && query.matches(row))
            .count() as u64)
    }

    async fn put_namespace(
        &self,
        record: NamespaceRecord,
        expected: Option<u64>,
    ) -> Result<Result<(), WriteRejection>, StorageError> {
        let mut state = self.state.lock();
        if let Err(rejection) =
            check_namespace_condition(&record, expected, state.namespaces.get(&record.name))
        {
            return Ok(Err(rejection));
        }
        state.namespaces.insert(record.name.clone(), record);
        Ok(Ok(()))
    }

    async fn namespace(&self, name: &Namespace) -> Result<Option<NamespaceRecord>, StorageError> {
        Ok(self.state.lock().namespaces.get(name).cloned())
    }

    async fn list_namespaces(&self) -> Result<Vec<NamespaceRecord>, StorageError> {
        Ok(self.state.lock().namespaces.values().cloned().collect())
    }
}
