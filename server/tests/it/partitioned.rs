//! One node's view of a shared in-memory store, which a test can cut off: while cut, every
//! call fails as a lost connection would (`Unavailable`), as for a node partitioned from
//! its database.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use endure_core::cluster::{Member, NodeName, ShardLease};
use endure_core::storage::*;
use endure_core::time::Timestamp;
use endure_core::*;
use endure_server::storage::MemoryStorage;

/// The shared store as one node reaches it.
pub struct Partitioned {
    pub inner: Arc<MemoryStorage>,
    pub cut: Arc<AtomicBool>,
}

impl Partitioned {
    pub fn new(inner: &Arc<MemoryStorage>) -> Self {
        Self {
            inner: Arc::clone(inner),
            cut: Arc::new(AtomicBool::new(false)),
        }
    }

    fn reach(&self) -> Result<&MemoryStorage, StorageError> {
        if self.cut.load(Ordering::Acquire) {
            Err(StorageError::Unavailable(
                "partitioned from the store".into(),
            ))
        } else {
            Ok(&self.inner)
        }
    }
}

impl Storage for Partitioned {
    async fn shard_count(&self, proposed: u32) -> Result<u32, StorageError> {
        self.reach()?.shard_count(proposed).await
    }

    async fn acquire_shard(&self, shard: ShardId) -> Result<RangeId, StorageError> {
        self.reach()?.acquire_shard(shard).await
    }

    async fn commit(
        &self,
        writes: Vec<WorkflowWrite>,
    ) -> Result<Vec<Result<(), WriteRejection>>, StorageError> {
        self.reach()?.commit(writes).await
    }

    async fn load_execution(
        &self,
        key: &ExecutionKey,
    ) -> Result<Option<ExecutionRow>, StorageError> {
        self.reach()?.load_execution(key).await
    }

    async fn current_run(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
    ) -> Result<Option<CurrentRun>, StorageError> {
        self.reach()?.current_run(namespace, workflow_id).await
    }

    async fn read_history(
        &self,
        key: &ExecutionKey,
        first_event_id: EventId,
    ) -> Result<HistoryPage, StorageError> {
        self.reach()?.read_history(key, first_event_id).await
    }

    async fn due_deadlines(
        &self,
        shard: ShardId,
        until: Timestamp,
        limit: usize,
    ) -> Result<Vec<DeadlineRow>, StorageError> {
        self.reach()?.due_deadlines(shard, until, limit).await
    }

    async fn dispatch_rows(
        &self,
        namespace: &Namespace,
        task_queue: &TaskQueueName,
        limit: usize,
    ) -> Result<Vec<DispatchRow>, StorageError> {
        self.reach()?
            .dispatch_rows(namespace, task_queue, limit)
            .await
    }

    async fn find_request(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
        request_id: &RequestId,
    ) -> Result<Option<RequestRecord>, StorageError> {
        self.reach()?
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
        self.reach()?
            .list_visibility(namespace, query, offset, limit)
            .await
    }

    async fn count_visibility(
        &self,
        namespace: &Namespace,
        query: &VisibilityQuery,
    ) -> Result<u64, StorageError> {
        self.reach()?.count_visibility(namespace, query).await
    }

    async fn put_namespace(
        &self,
        record: NamespaceRecord,
        expected: Option<u64>,
    ) -> Result<Result<(), WriteRejection>, StorageError> {
        self.reach()?.put_namespace(record, expected).await
    }

    async fn namespace(&self, name: &Namespace) -> Result<Option<NamespaceRecord>, StorageError> {
        self.reach()?.namespace(name).await
    }

    async fn list_namespaces(&self) -> Result<Vec<NamespaceRecord>, StorageError> {
        self.reach()?.list_namespaces().await
    }
}

impl ClusterStore for Partitioned {
    async fn heartbeat(&self, member: &Member, ttl: Duration) -> Result<(), StorageError> {
        self.reach()?.heartbeat(member, ttl).await
    }

    async fn leave(&self, node: &NodeName) -> Result<(), StorageError> {
        self.reach()?.leave(node).await
    }

    async fn members(&self) -> Result<Vec<MemberRecord>, StorageError> {
        self.reach()?.members().await
    }

    async fn shard_leases(&self) -> Result<Vec<ShardLease>, StorageError> {
        self.reach()?.shard_leases().await
    }

    async fn acquire_lease(
        &self,
        shard: ShardId,
        node: &NodeName,
        duration: Duration,
    ) -> Result<Acquired, StorageError> {
        self.reach()?.acquire_lease(shard, node, duration).await
    }

    async fn renew_lease(
        &self,
        shard: ShardId,
        node: &NodeName,
        range: RangeId,
        duration: Duration,
    ) -> Result<bool, StorageError> {
        self.reach()?
            .renew_lease(shard, node, range, duration)
            .await
    }

    async fn release_lease(
        &self,
        shard: ShardId,
        node: &NodeName,
        range: RangeId,
    ) -> Result<bool, StorageError> {
        self.reach()?.release_lease(shard, node, range).await
    }
}
