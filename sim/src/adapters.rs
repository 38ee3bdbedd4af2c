//! Fault-injecting adapters of the ports (DESIGN §7): a skewed clock, a store whose commits
//! are acknowledged late (slow fsync), and a transport that sends requests twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::Duration;

use endure_core::clock::Clock;
use endure_core::protocol::{Request, Transport, TransportFuture};
use endure_core::storage::{
    CurrentRun, DeadlineRow, DispatchRow, ExecutionKey, ExecutionRow, HistoryPage, NamespaceRecord,
    RangeId, RequestRecord, ShardId, Storage, StorageError, VisibilityQuery, VisibilityRow,
    WorkflowWrite, WriteRejection,
};
use endure_core::time::Timestamp;
use endure_core::{EventId, Namespace, RequestId, TaskQueueName, WorkflowId};

/// A clock running ahead of (or behind) another by a fixed offset: a node whose clock is
/// off. The engine's timers must still never fire early by the clock that fires them.
#[derive(Clone, Debug)]
pub struct SkewedClock<C> {
    inner: Arc<C>,
    /// Milliseconds ahead of `inner` (behind if negative); shared, so the offset can jump
    /// while the clock is in use.
    offset: Arc<AtomicI64>,
}

impl<C: Clock> SkewedClock<C> {
    /// `inner` moved forward by `skew_millis` (backward if negative).
    pub fn new(inner: Arc<C>, skew_millis: i64) -> Self {
        Self::with_offset(inner, Arc::new(AtomicI64::new(skew_millis)))
    }

    /// `inner` moved by whatever `offset` holds (milliseconds) when read: changing it
    /// makes the clock jump.
    pub fn with_offset(inner: Arc<C>, offset: Arc<AtomicI64>) -> Self {
        Self { inner, offset }
    }

    fn shift(&self, time: Timestamp, sign: i64) -> Timestamp {
        let offset = self.offset.load(Ordering::SeqCst).saturating_mul(sign);
        let magnitude = Duration::from_millis(offset.unsigned_abs());
        if offset >= 0 {
            time.saturating_add(magnitude)
        } else {
            time.saturating_sub(magnitude)
        }
    }
}

impl<C: Clock> Clock for SkewedClock<C> {
    fn now(&self) -> Timestamp {
        self.shift(self.inner.now(), 1)
    }

    /// Sleeps until the inner clock reaches `deadline` less the offset as it is now; after
    /// a jump the sleeper wakes early or late by the jump, and callers re-check the time.
    async fn sleep_until(&self, deadline: Timestamp) {
        self.inner.sleep_until(self.shift(deadline, -1)).await;
    }
}

/// A store whose commits are durable but acknowledged only after a delay `delay` chooses
/// (a slow fsync): what the engine does in between must not leak the commit's effects.
/// It also keeps the most writes one commit carried.
pub struct SlowCommits<S> {
    inner: Arc<S>,
    delay: Arc<dyn Fn() -> Duration + Send + Sync>,
    most_writes: Arc<AtomicUsize>,
}

impl<S> SlowCommits<S> {
    /// `inner`, acknowledging each commit `delay()` after it is durable and raising
    /// `most_writes` to the writes of the largest commit.
    pub fn new(
        inner: Arc<S>,
        delay: impl Fn() -> Duration + Send + Sync + 'static,
        most_writes: Arc<AtomicUsize>,
    ) -> Self {
        Self {
            inner,
            delay: Arc::new(delay),
            most_writes,
        }
    }
}

impl<S: Storage> Storage for SlowCommits<S> {
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
        self.most_writes.fetch_max(writes.len(), Ordering::SeqCst);
        let result = self.inner.commit(writes).await;
        let delay = (self.delay)();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        result
    }

    async fn load_execution(
        &self,
        key: &ExecutionKey,
    ) -> Result<Option<ExecutionRow>, StorageError> {
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

/// A transport that holds each request back for a while before sending it — a slow or
/// congested path — so requests of one caller may overtake each other.
pub struct Delaying {
    inner: Arc<dyn Transport>,
    delay: Arc<dyn Fn() -> Duration + Send + Sync>,
}

impl Delaying {
    /// Wraps `inner`; `delay()` says how long each request waits.
    pub fn new(
        inner: Arc<dyn Transport>,
        delay: impl Fn() -> Duration + Send + Sync + 'static,
    ) -> Self {
        Self {
            inner,
            delay: Arc::new(delay),
        }
    }
}

impl Transport for Delaying {
    fn call(&self, request: Request) -> TransportFuture<'_> {
        Box::pin(async move {
            let delay = (self.delay)();
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            self.inner.call(request).await
        })
    }
}

/// A transport that sends some requests twice, as a client does whose first answer was
/// lost: the caller gets the answer to the second copy. Long polls are never doubled (a
/// second poll would take a second task that nobody runs); everything else must be safe to
/// repeat — starts and signals by their request ids, task answers by being refused.
pub struct Duplicating {
    inner: Arc<dyn Transport>,
    duplicate: Arc<dyn Fn() -> bool + Send + Sync>,
}

impl Duplicating {
    /// Wraps `inner`; `duplicate()` decides for each request.
    pub fn new(
        inner: Arc<dyn Transport>,
        duplicate: impl Fn() -> bool + Send + Sync + 'static,
    ) -> Self {
        Self {
            inner,
            duplicate: Arc::new(duplicate),
        }
    }
}

impl Transport for Duplicating {
    fn call(&self, request: Request) -> TransportFuture<'_> {
        Box::pin(async move {
            let is_poll = matches!(
                request,
                Request::PollWorkflowTask(_)
                    | Request::PollActivityTask(_)
                    | Request::AwaitWorkflowClose(_)
            );
            if !is_poll && (self.duplicate)() {
                tracing::debug!(?request, "sending a request twice");
                let _lost = self.inner.call(request.clone()).await;
            }
            self.inner.call(request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use endure_core::protocol::Response;
    use endure_server::clock::ManualClock;

    use super::*;

    #[test]
    fn a_skewed_clock_is_off_by_its_offset_both_ways() {
        let base = Arc::new(ManualClock::new(Timestamp::from_unix_seconds(1_000)));
        let ahead = SkewedClock::new(Arc::clone(&base), 1_500);
        let behind = SkewedClock::new(Arc::clone(&base), -2_000);
        assert_eq!(ahead.now(), Timestamp::from_unix_millis(1_001_500));
        assert_eq!(behind.now(), Timestamp::from_unix_seconds(998));
    }

    struct Counting(AtomicUsize);

    impl Transport for Counting {
        fn call(&self, _request: Request) -> TransportFuture<'_> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Ok(Response::SignalWorkflow(())) })
        }
    }

    #[tokio::test]
    async fn requests_are_doubled_but_polls_never() {
        let counting = Arc::new(Counting(AtomicUsize::new(0)));
        let duplicating = Duplicating::new(counting.clone(), || true);
        duplicating
            .call(Request::ResetStickyTaskQueue(
                endure_core::protocol::ResetStickyTaskQueueRequest {
                    execution: ExecutionKey {
                        namespace: Namespace::default(),
                        workflow_id: WorkflowId::new("w").unwrap(),
                        run_id: endure_core::RunId::from_u128(1),
                    },
                },
            ))
            .await
            .unwrap();
        assert_eq!(counting.0.load(Ordering::SeqCst), 2);
        duplicating
            .call(Request::PollActivityTask(
                endure_core::protocol::PollActivityTaskRequest {
                    namespace: Namespace::default(),
                    task_queue: TaskQueueName::new("q").unwrap(),
                    identity: "w".into(),
                    deployment_version: None,
                },
            ))
            .await
            .unwrap();
        assert_eq!(counting.0.load(Ordering::SeqCst), 3);
    }
}
