//! A store that runs a test's hooks before its commits, loads and history reads, so a
//! test can hold the engine at a chosen step (a commit in flight, a read that never
//! returns) and play a race or a crash deterministically. Everything else goes straight to
//! the in-memory store.

use std::sync::Arc;

use endure_core::storage::*;
use endure_core::time::Timestamp;
use endure_core::*;
use endure_server::storage::MemoryStorage;

/// What a test does before a call reaches the store (each returns when the call may go on).
pub trait Hooks: Send + Sync + 'static {
    /// Before a group commit of `writes`.
    fn before_commit(&self, writes: &[WorkflowWrite]) -> impl Future<Output = ()> + Send {
        let _ = writes;
        std::future::ready(())
    }

    /// Before a run's row is loaded.
    fn before_load(&self, key: &ExecutionKey) -> impl Future<Output = ()> + Send {
        let _ = key;
        std::future::ready(())
    }

    /// Before a page of a run's history is read.
    fn before_read_history(&self, key: &ExecutionKey) -> impl Future<Output = ()> + Send {
        let _ = key;
        std::future::ready(())
    }
}

/// The in-memory store behind `hooks`.
pub struct Hooked<H> {
    pub inner: Arc<MemoryStorage>,
    pub hooks: H,
}

impl<H: Hooks> Hooked<H> {
    pub fn new(hooks: H) -> Self {
        Self {
            inner: Arc::new(MemoryStorage::new()),
            hooks,
        }
    }
}

impl<H: Hooks> Storage for Hooked<H> {
    fn stopped(&self) -> Option<String> {
        self.inner.stopped()
    }

    async fn shard_count(&self, proposed: u32) -> Result<u32, StorageError> {
        self.inner.shard_count(proposed).await
    }

    async fn acquire_shard(&self, shard: ShardId) -> Result<RangeId, StorageError> {
        self.inner.acquire_shard(shard).await
    }

    async fn commit(
        &self,
        writes: Vec<WorkflowWrite>,
    ) -> Result<Vec<Result<(), WriteRejection>>, StorageError> {
        self.hooks.before_commit(&writes).await;
        self.inner.commit(writes).await
    }

    async fn load_execution(
        &self,
        key: &ExecutionKey,
    ) -> Result<Option<ExecutionRow>, StorageError> {
        self.hooks.before_load(key).await;
        self.inner.load_execution(key).await
    }

    async fn current_run(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
    ) -> Result<Option<CurrentRun>, StorageError> {
        self.inner.current_run(namespace, workflow_id).await
    }

    async fn read_history(
        &self,
        key: &ExecutionKey,
        first_event_id: EventId,
    ) -> Result<HistoryPage, StorageError> {
        self.hooks.before_read_history(key).await;
        self.inner.read_history(key, first_event_id).await
    }

    async fn due_deadlines(
        &self,
        shard: ShardId,
        until: Timestamp,
        limit: usize,
    ) -> Result<Vec<DeadlineRow>, StorageError> {
        self.inner.due_deadlines(shard, until, limit).await
    }

    async fn dispatch_rows(
        &self,
        namespace: &Namespace,
        task_queue: &TaskQueueName,
        limit: usize,
    ) -> Result<Vec<DispatchRow>, StorageError> {
        self.inner.dispatch_rows(namespace, task_queue, limit).await
    }

    async fn find_request(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
        request_id: &RequestId,
    ) -> Result<Option<RequestRecord>, StorageError> {
        self.inner
            .find_request(namespace, workflow_id, request_id)
            .await
    }

    async fn list_visibility(
        &self,
        namespace: &Namespace,
        query: &VisibilityQuery,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<VisibilityRow>, StorageError> {
        self.inner
            .list_visibility(namespace, query, offset, limit)
            .await
    }

    async fn count_visibility(
        &self,
        namespace: &Namespace,
        query: &VisibilityQuery,
    ) -> Result<u64, StorageError> {
        self.inner.count_visibility(namespace, query).await
    }

    async fn put_namespace(
        &self,
        record: NamespaceRecord,
        expected: Option<u64>,
    ) -> Result<Result<(), WriteRejection>, StorageError> {
        self.inner.put_namespace(record, expected).await
    }

    async fn namespace(&self, name: &Namespace) -> Result<Option<NamespaceRecord>, StorageError> {
        self.inner.namespace(name).await
    }

    async fn list_namespaces(&self) -> Result<Vec<NamespaceRecord>, StorageError> {
        self.inner.list_namespaces().await
    }
}
