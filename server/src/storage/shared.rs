//! One in-memory store shared by several engine nodes of a test or a simulation, as each
//! node reaches it: a handle that can be cut off from the store (every call fails as a
//! lost connection does) and that logs every write the store accepted, with the range it
//! carried and the node that sent it — the evidence for "at most one node writes a shard
//! at any instant".
//!
//! The in-memory store applies a commit within one poll, and the log is appended in that
//! same poll, so under the simulator the log's order is the store's commit order.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use endure_core::cluster::{Member, NodeName, ShardLease};
use endure_core::storage::*;
use endure_core::time::Timestamp;
use endure_core::{EventId, Namespace, RequestId, TaskQueueName, WorkflowId};
use parking_lot::Mutex;

use super::MemoryStorage;

/// The writes the store accepted, in commit order: shard, range, node.
#[derive(Debug, Default)]
pub struct CommitLog {
    entries: Mutex<Vec<(ShardId, RangeId, String)>>,
}

impl CommitLog {
    /// How many writes were accepted.
    pub fn len(&self) -> usize {
        self.entries.lock().len()
    }

    /// Whether none was.
    pub fn is_empty(&self) -> bool {
        self.entries.lock().is_empty()
    }

    /// Checks that each shard was written by one node at a time: in commit order a shard's
    /// ranges never go back (no write of a lease another node had already replaced), and
    /// every range was written by one node only (a range is one lease).
    pub fn check_single_writer(&self) -> Result<(), String> {
        let mut latest: BTreeMap<ShardId, RangeId> = BTreeMap::new();
        let mut writer: BTreeMap<(ShardId, RangeId), &str> = BTreeMap::new();
        let entries = self.entries.lock();
        for (position, (shard, range, node)) in entries.iter().enumerate() {
            if let Some(newest) = latest.get(shard)
                && range < newest
            {
                return Err(format!(
                    "write {position}: shard {} written by {node} at range {} after range {} had written",
                    shard.0, range.0, newest.0
                ));
            }
            latest.insert(*shard, *range);
            if let Some(other) = writer.insert((*shard, *range), node)
                && other != node
            {
                return Err(format!(
                    "write {position}: shard {} range {} written by both {other} and {node}",
                    shard.0, range.0
                ));
            }
        }
        Ok(())
    }
}

/// The shared store as one node reaches it.
pub struct NodeStore {
    inner: Arc<MemoryStorage>,
    node: String,
    cut: Arc<AtomicBool>,
    log: Arc<CommitLog>,
}

impl NodeStore {
    /// `node`'s handle on `inner`, logging accepted writes to `log`; `cut` cuts it off.
    pub fn new(
        inner: Arc<MemoryStorage>,
        node: impl Into<String>,
        cut: Arc<AtomicBool>,
        log: Arc<CommitLog>,
    ) -> Self {
        Self {
            inner,
            node: node.into(),
            cut,
            log,
        }
    }

    fn reach(&self) -> Result<&MemoryStorage, StorageError> {
        if self.cut.load(Ordering::Acquire) {
            Err(StorageError::Unavailable(format!(
                "{} is cut off from the store",
                self.node
            )))
        } else {
            Ok(&self.inner)
        }
    }
}

impl Storage for NodeStore {
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
        let fenced: Vec<(ShardId, RangeId)> = writes
            .iter()
            .map(|write| (write.shard, write.range_id))
            .collect();
        let results = self.reach()?.commit(writes).await?;
        let mut entries = self.log.entries.lock();
        for ((shard, range), result) in fenced.into_iter().zip(&results) {
            if result.is_ok() {
                entries.push((shard, range, self.node.clone()));
            }
        }
        Ok(results)
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

impl ClusterStore for NodeStore {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(shard: u32, range: u64, node: &str) -> (ShardId, RangeId, String) {
        (ShardId(shard), RangeId(range), node.to_owned())
    }

    #[test]
    fn the_log_refuses_a_stale_range_and_a_shared_one() {
        let log = CommitLog::default();
        log.entries.lock().extend([
            entry(0, 1, "a"),
            entry(1, 1, "b"),
            entry(0, 2, "b"),
            entry(0, 2, "b"),
        ]);
        log.check_single_writer().unwrap();
        log.entries.lock().push(entry(0, 1, "a"));
        assert!(
            log.check_single_writer()
                .unwrap_err()
                .contains("after range 2")
        );
        log.entries.lock().pop();
        log.entries.lock().push(entry(1, 1, "c"));
        assert!(
            log.check_single_writer()
                .unwrap_err()
                .contains("both b and c")
        );
    }
}
