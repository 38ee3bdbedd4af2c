//! The Storage port: what the engine needs from a database, at the level of its domain.
//!
//! There is one write, [`Storage::commit`]: a batch of [`WorkflowWrite`]s committed in one
//! storage transaction, each one conditional and each with its own result — a stale
//! condition rejects only that write (group commit, DESIGN §5). A workflow write is fenced
//! by its shard's [`RangeId`] and may touch up to two runs of one workflow id (a close and
//! the next run), the id's current-run row (conditioned on its previous value), history,
//! the runs' deadline, dispatch and visibility rows, and request-id records. Apart from it,
//! namespace records are written one at a time ([`Storage::put_namespace`], conditioned on
//! their version) and a closed run past its retention is deleted whole
//! ([`WorkflowWrite::deletion`]).
//!
//! Adapters (in `endure-server`): redb (default), an in-memory model, PostgreSQL. One
//! conformance suite runs against all of them. The trait has no runtime: methods return
//! `impl Future + Send`.

use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::enums::WorkflowExecutionStatus;
use crate::history::HistoryEvent;
use crate::ids::{EventId, Namespace, RequestId, RunId, TaskQueueName, WorkflowId, WorkflowType};
pub use crate::namespace::NamespaceRecord;
use crate::payload::Memo;
use crate::search_attributes::{SearchAttributeValue, SearchAttributes};
use crate::time::Timestamp;

/// A shard: a fixed partition of workflow ids, owned by one node at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ShardId(pub u32);

/// A shard owner's lease generation; every write carries it and a newer owner fences out
/// older ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RangeId(pub u64);

/// The shard of a workflow id: FNV-1a over namespace and id, modulo the shard count. Fixed
/// forever, since it decides where existing executions live.
pub fn shard_of(namespace: &Namespace, workflow_id: &WorkflowId, shard_count: u32) -> ShardId {
    debug_assert!(shard_count > 0);
    let mut hash: u32 = 0x811c_9dc5;
    for byte in namespace
        .as_str()
        .bytes()
        .chain([0])
        .chain(workflow_id.as_str().bytes())
    {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    ShardId(hash % shard_count.max(1))
}

/// Runs are named by the domain's run key; storage keys its rows by it.
pub use crate::ids::ExecutionKey;

/// The stored state of one run: the encoded execution machine and what the storage needs
/// to know about it.
///
/// Its tagged fields 6, 7 and 8 are taken: a store may record the run's deadline, its
/// history's tail and how much of the state's head its key holds there
/// ([`ExecutionRow::encode_under_key`], which also leaves the key out), which decoding the
/// row skips. A field added to the row goes after them (declare them here first).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionRow {
    /// The run.
    pub key: ExecutionKey,
    /// The shard it belongs to.
    pub shard: ShardId,
    /// Incremented by every write; writes are conditioned on it.
    pub db_version: u64,
    /// The id the run's next event gets; history holds exactly the events before it.
    pub next_event_id: EventId,
    /// The run's status.
    pub status: WorkflowExecutionStatus,
    /// The encoded execution machine, opaque to storage.
    #[serde(with = "serde_bytes")]
    pub state: Vec<u8>,
}

/// The current (latest) run of a workflow id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentRun {
    /// The run.
    pub run_id: RunId,
    /// Its status.
    pub status: WorkflowExecutionStatus,
    /// The request id of the start that created the chain's first run, for idempotent starts.
    pub start_request_id: Option<RequestId>,
}

/// A task waiting in a task queue's backlog: the durable half of matching.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispatchRow {
    /// The queue's namespace.
    pub namespace: Namespace,
    /// The queue.
    pub task_queue: TaskQueueName,
    /// Order within the queue; unique per queue.
    pub task_id: u64,
    /// The run the task belongs to.
    pub execution: ExecutionKey,
    /// What to start.
    pub task: DispatchTask,
    /// Which workers may take it when its queue belongs to a worker deployment (spec
    /// §5.13.1): those of the run's pinned version, or those routing picks. `None` (the
    /// default, and every row written before versioning) is routed.
    #[serde(default)]
    pub directive: Option<crate::versioning::TaskDirective>,
}

/// The task a dispatch row stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DispatchTask {
    /// A workflow task.
    WorkflowTask {
        /// Its WorkflowTaskScheduled event.
        scheduled_event_id: EventId,
        /// Its attempt.
        attempt: u32,
    },
    /// An activity attempt.
    ActivityTask {
        /// Its ActivityTaskScheduled event.
        scheduled_event_id: EventId,
        /// Its attempt.
        attempt: u32,
    },
    /// Deliver a signal the run sent to another workflow (an outbox row, handled by the
    /// engine itself, never by a worker).
    SignalExternalWorkflow {
        /// Its SignalExternalWorkflowExecutionInitiated event.
        initiated_event_id: EventId,
    },
    /// Deliver a cancel request the run sent to another workflow (an outbox row).
    RequestCancelExternalWorkflow {
        /// Its RequestCancelExternalWorkflowExecutionInitiated event.
        initiated_event_id: EventId,
    },
    /// Start a child workflow the run initiated (an outbox row).
    StartChildWorkflow {
        /// Its StartChildWorkflowExecutionInitiated event.
        initiated_event_id: EventId,
    },
    /// The run closed: apply its parent close policy to a child (an outbox row).
    ApplyParentClosePolicy {
        /// The child's StartChildWorkflowExecutionInitiated event.
        initiated_event_id: EventId,
    },
    /// The run, a child, ended its chain: tell the parent (an outbox row).
    RecordChildCompletion,
}

impl DispatchTask {
    /// Whether the engine handles this task itself (its outbox) rather than a worker.
    pub fn is_outbox(&self) -> bool {
        !matches!(self, Self::WorkflowTask { .. } | Self::ActivityTask { .. })
    }
}

/// The namespace of the engine's own queues (the outboxes). Requests naming it are
/// refused, so no workflow or worker of a user shares its queues.
pub const SYSTEM_NAMESPACE: &str = "endure-system";

/// Where the outbox rows of `shard` are stored: a queue of [`SYSTEM_NAMESPACE`] that the
/// shard reads back when it opens, so a request a run sent survives a crash.
pub fn outbox_queue(shard: ShardId) -> (Namespace, TaskQueueName) {
    (
        Namespace::new(SYSTEM_NAMESPACE).expect("the system namespace is a valid name"),
        TaskQueueName::new(format!("outbox-{}", shard.0))
            .expect("an outbox queue name is a valid name"),
    )
}

/// Identifies a dispatch row for deletion.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DispatchKey {
    /// The queue's namespace.
    pub namespace: Namespace,
    /// The queue.
    pub task_queue: TaskQueueName,
    /// The row's order key.
    pub task_id: u64,
}

impl DispatchRow {
    /// The row's key.
    pub fn key(&self) -> DispatchKey {
        DispatchKey {
            namespace: self.namespace.clone(),
            task_queue: self.task_queue.clone(),
            task_id: self.task_id,
        }
    }
}

/// A run's next deadline, as stored for the shard's timer scan.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DeadlineRow {
    /// When.
    pub time: Timestamp,
    /// The run.
    pub execution: ExecutionKey,
}

/// A request id seen once, so that a retried request is answered, not applied again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// The namespace.
    pub namespace: Namespace,
    /// The workflow id the request was for.
    pub workflow_id: WorkflowId,
    /// The request id.
    pub request_id: RequestId,
    /// The run that handled it.
    pub run_id: RunId,
}

/// What list and count show about a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VisibilityRow {
    /// The run.
    pub execution: ExecutionKey,
    /// Its type.
    pub workflow_type: WorkflowType,
    /// Its task queue.
    pub task_queue: TaskQueueName,
    /// Its status.
    pub status: WorkflowExecutionStatus,
    /// When it started.
    pub start_time: Timestamp,
    /// When it closed.
    pub close_time: Option<Timestamp>,
    /// Its memo.
    pub memo: Memo,
    /// Its search attributes.
    pub search_attributes: SearchAttributes,
}

/// The condition a run write requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunCondition {
    /// The run must not exist yet.
    Create,
    /// The run's row must have this db version.
    DbVersion(u64),
}

/// What to do with a run's deadline row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeadlineUpdate {
    /// Leave it.
    Keep,
    /// Set (or move) it.
    Set(Timestamp),
    /// Remove it.
    Clear,
}

/// The change to one run in a workflow write.
#[derive(Clone, Debug, PartialEq)]
pub struct RunWrite {
    /// The condition on the run's current row.
    pub condition: RunCondition,
    /// The new row; its `db_version` must be the old one plus one (1 for a new run).
    pub row: ExecutionRow,
    /// Events to append; the first must have the id after the run's last stored event.
    pub history: Vec<HistoryEvent>,
    /// The run's deadline.
    pub deadline: DeadlineUpdate,
    /// Backlog rows to add.
    pub dispatch_inserts: Vec<DispatchRow>,
    /// Backlog rows to remove (a task handed out).
    pub dispatch_deletes: Vec<DispatchKey>,
    /// The run's visibility row, when a listed field changed.
    pub visibility: Option<VisibilityRow>,
}

/// A change of a workflow id's current run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrentRunWrite {
    /// The current run the write expects (`None`: the id has never been used).
    pub expected: Option<RunId>,
    /// The new current run row.
    pub new: CurrentRun,
}

/// One conditional write: everything one transition changes for one workflow id.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkflowWrite {
    /// The shard of the workflow id.
    pub shard: ShardId,
    /// The writer's lease; a newer lease rejects the write.
    pub range_id: RangeId,
    /// The namespace.
    pub namespace: Namespace,
    /// The workflow id.
    pub workflow_id: WorkflowId,
    /// One or two runs of this workflow id.
    pub runs: Vec<RunWrite>,
    /// The current-run row, when it changes.
    pub current_run: Option<CurrentRunWrite>,
    /// Request ids to record; an id already recorded rejects the write.
    pub request_ids: Vec<RequestRecord>,
    /// A closed run of this workflow id to delete (its retention passed, or a client
    /// deleted it) — a write of its own: no runs, no current run, no request ids.
    pub deletion: Option<RunDeletion>,
}

impl WorkflowWrite {
    /// A write of one run's `row` under `condition`, with its `history` and `deadline`, and
    /// nothing more: no backlog or visibility rows, no current run or request ids.
    pub fn of_run(
        range_id: RangeId,
        condition: RunCondition,
        row: ExecutionRow,
        history: Vec<HistoryEvent>,
        deadline: DeadlineUpdate,
    ) -> Self {
        Self {
            shard: row.shard,
            range_id,
            namespace: row.key.namespace.clone(),
            workflow_id: row.key.workflow_id.clone(),
            runs: vec![RunWrite {
                condition,
                row,
                history,
                deadline,
                dispatch_inserts: Vec::new(),
                dispatch_deletes: Vec::new(),
                visibility: None,
            }],
            current_run: None,
            request_ids: Vec::new(),
            deletion: None,
        }
    }
}

/// The deletion of a closed run: its row (if at `db_version`), history, deadline,
/// visibility row, the request records that name it, and the workflow id's current-run
/// row if it names this run. A run already gone is a success.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunDeletion {
    /// The run.
    pub key: ExecutionKey,
    /// The version it must be stored at.
    pub db_version: u64,
}

/// Why one write of a commit was rejected; nothing of it was written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WriteRejection {
    /// The shard has a newer owner.
    #[error("shard {shard:?} is owned by range {actual:?}, not {expected:?}")]
    ShardOwnershipLost {
        /// The shard.
        shard: ShardId,
        /// The writer's range.
        expected: RangeId,
        /// The current range.
        actual: RangeId,
    },
    /// A run's row was changed by someone else (or exists, for a create).
    #[error("execution {key:?} has db version {actual:?}; the write expected {expected:?}")]
    ExecutionConditionFailed {
        /// The run.
        key: ExecutionKey,
        /// The condition's version (`None`: must not exist).
        expected: Option<u64>,
        /// The stored version (`None`: does not exist).
        actual: Option<u64>,
    },
    /// The workflow id's current run is not the one the write expected.
    #[error("the current run of the workflow id is {actual:?}; the write expected {expected:?}")]
    CurrentRunConditionFailed {
        /// The expected run.
        expected: Option<RunId>,
        /// The stored run.
        actual: Option<RunId>,
    },
    /// A request id was already recorded.
    #[error("request id {0:?} was already recorded")]
    DuplicateRequestId(RequestRecord),
    /// A namespace's record is not at the version the change expected (or exists, for a
    /// create).
    #[error("namespace {name} is at version {actual:?}; the change expected {expected:?}")]
    NamespaceConditionFailed {
        /// The namespace.
        name: Namespace,
        /// The expected version (`None`: must not exist).
        expected: Option<u64>,
        /// The stored version (`None`: does not exist).
        actual: Option<u64>,
    },
    /// The write itself is malformed (a bug in the engine).
    #[error("malformed write: {0}")]
    Malformed(String),
}

/// A storage failure: the whole call failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// A stored record does not decode; names what it belongs to.
    #[error("corrupt record for {what}: {reason}")]
    Corrupt {
        /// The execution or row the record belongs to.
        what: String,
        /// The decoder's report.
        reason: String,
    },
    /// The storage device failed; the store refuses all work until reopened (fail-stop).
    #[error("storage IO error: {0}; the store is stopped until reopened")]
    Io(String),
    /// An earlier failure stopped the store (fail-stop): it refuses every call until the
    /// process reopens it, so nothing is acknowledged that might not be durable.
    #[error(
        "the store is stopped since an earlier failure ({cause}); fix the cause, then restart the server"
    )]
    Stopped {
        /// The failure that stopped it, as first reported.
        cause: String,
    },
    /// The storage engine panicked inside a call — a corrupt page, most likely, or a bug in
    /// it. The store stops, as after an IO error.
    #[error(
        "the storage engine failed inside a call ({0}); its file may be corrupt — the store is stopped (check the file with `endure admin check --db FILE`)"
    )]
    Panicked(String),
    /// The store's file is open in another process (another server, say).
    #[error("the store's file is already open in another process (is another server using it?)")]
    InUse,
    /// The database server could not be reached, or dropped the connection (PostgreSQL).
    /// Not fail-stop: a later call may succeed once it is back. A commit that failed this
    /// way may or may not have been applied; the engine reloads what it touched.
    #[error("the database is unavailable ({0}); the call may be retried")]
    Unavailable(String),
    /// The database refused a statement for a reason no retry fixes (PostgreSQL SQLSTATE
    /// `code`): the store stops, as after an IO error.
    #[error("the database refused a statement (SQLSTATE {code}: {message}); the store is stopped")]
    Database {
        /// The SQLSTATE code.
        code: String,
        /// The database's message.
        message: String,
    },
}

/// One page of a run's history.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct HistoryPage {
    /// Events in order.
    pub events: Vec<HistoryEvent>,
    /// The id to continue from, if more events follow.
    pub next_event_id: Option<EventId>,
}

impl HistoryPage {
    /// The page of `events` (which start at the page's first event): cut once it holds
    /// [`HISTORY_PAGE_BYTES_MAX`] encoded bytes, naming the next event if one follows.
    /// Every store cuts its pages here, and so does an engine handing over events it has
    /// just written, so a page is the same whoever makes it.
    pub fn cut(events: impl IntoIterator<Item = HistoryEvent>) -> Self {
        let mut page = Self::default();
        let mut bytes = 0;
        for event in events {
            if bytes >= HISTORY_PAGE_BYTES_MAX {
                page.next_event_id = Some(event.event_id);
                break;
            }
            bytes += crate::codec::encoded_size(&event);
            page.events.push(event);
        }
        page
    }
}

/// A filter for listing and counting runs.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct VisibilityQuery {
    /// Only this status.
    pub status: Option<WorkflowExecutionStatus>,
    /// Only this type.
    pub workflow_type: Option<WorkflowType>,
    /// Only this workflow id.
    pub workflow_id: Option<WorkflowId>,
    /// Only runs started at or after.
    pub started_after: Option<Timestamp>,
    /// Only runs started before.
    pub started_before: Option<Timestamp>,
    /// Only runs whose search attribute equals the value.
    pub search_attribute: Option<(String, SearchAttributeValue)>,
    /// Only runs the filter (the list-filter language) passes.
    pub filter: Option<crate::list_filter::ListFilter>,
}

impl VisibilityQuery {
    /// The runs `text` selects, in the list-filter language
    /// (`WorkflowType = 'Order' AND ExecutionStatus = 'Running'`, see
    /// [`crate::list_filter`]); an empty text selects every run.
    pub fn parse(text: &str) -> Result<Self, crate::list_filter::FilterError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        Ok(Self {
            filter: Some(crate::list_filter::ListFilter::parse(text)?),
            ..Self::default()
        })
    }

    /// Whether `row` passes the filter.
    pub fn matches(&self, row: &VisibilityRow) -> bool {
        self.status.is_none_or(|status| status == row.status)
            && self
                .workflow_type
                .as_ref()
                .is_none_or(|t| *t == row.workflow_type)
            && self
                .workflow_id
                .as_ref()
                .is_none_or(|id| *id == row.execution.workflow_id)
            && self
                .started_after
                .is_none_or(|after| row.start_time >= after)
            && self
                .started_before
                .is_none_or(|before| row.start_time < before)
            && self
                .search_attribute
                .as_ref()
                .is_none_or(|(key, value)| row.search_attributes.0.get(key) == Some(value))
            && self
                .filter
                .as_ref()
                .is_none_or(|filter| filter.matches(row))
    }
}

/// Largest history page, in encoded bytes (one event more may be included so that a page
/// always makes progress).
pub const HISTORY_PAGE_BYTES_MAX: usize = 1024 * 1024;

/// The storage port. Every method's doc states its fencing, ordering and what a crash may
/// lose; adapters must pass `endure_server::storage::conformance`.
///
/// Reads are not fenced: they see every commit that has returned and nothing of one that
/// has not, so a reader racing a commit sees the state before or after it, never between.
pub trait Storage: Send + Sync + 'static {
    /// Why the store stopped, if a failure stopped it (fail-stop): health checks report it.
    /// A store that cannot stop says `None`.
    fn stopped(&self) -> Option<String> {
        None
    }

    /// The store's number of shards: fixed by the first call on a new store (to
    /// `proposed`) and returned unchanged forever after, whatever is proposed — workflow ids
    /// are mapped to shards by it. A store written before the count was recorded reports
    /// the shards it holds. Durable before it returns.
    fn shard_count(&self, proposed: u32) -> impl Future<Output = Result<u32, StorageError>> + Send;

    /// Takes ownership of `shard`: increments its range id and returns the new one. Every
    /// later write with an older range id is rejected. Durable before it returns.
    fn acquire_shard(
        &self,
        shard: ShardId,
    ) -> impl Future<Output = Result<RangeId, StorageError>> + Send;

    /// Commits `writes` in one transaction: each write is applied whole or rejected whole
    /// (its own result), and the applied ones are durable together before this returns.
    /// Writes of one call are applied in order, so a later write sees an earlier one. A
    /// crash before return may lose the whole call, never part of a write.
    fn commit(
        &self,
        writes: Vec<WorkflowWrite>,
    ) -> impl Future<Output = Result<Vec<Result<(), WriteRejection>>, StorageError>> + Send;

    /// The stored row of a run, as of the last commit.
    fn load_execution(
        &self,
        key: &ExecutionKey,
    ) -> impl Future<Output = Result<Option<ExecutionRow>, StorageError>> + Send;

    /// The current run of a workflow id.
    fn current_run(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
    ) -> impl Future<Output = Result<Option<CurrentRun>, StorageError>> + Send;

    /// Events of a run from `first_event_id`, at most [`HISTORY_PAGE_BYTES_MAX`] per page
    /// (at least one event per page).
    fn read_history(
        &self,
        key: &ExecutionKey,
        first_event_id: EventId,
    ) -> impl Future<Output = Result<HistoryPage, StorageError>> + Send;

    /// Deadlines of `shard` due at or before `until`, earliest first, at most `limit`.
    fn due_deadlines(
        &self,
        shard: ShardId,
        until: Timestamp,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<DeadlineRow>, StorageError>> + Send;

    /// Backlog rows of a task queue in task-id order, at most `limit`.
    fn dispatch_rows(
        &self,
        namespace: &Namespace,
        task_queue: &TaskQueueName,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<DispatchRow>, StorageError>> + Send;

    /// The record of a request id, if seen.
    fn find_request(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
        request_id: &RequestId,
    ) -> impl Future<Output = Result<Option<RequestRecord>, StorageError>> + Send;

    /// Runs of a namespace matching `query`, latest start first (ties by workflow id, then
    /// run id), skipping `offset`, at most `limit`.
    fn list_visibility(
        &self,
        namespace: &Namespace,
        query: &VisibilityQuery,
        offset: usize,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<VisibilityRow>, StorageError>> + Send;

    /// Number of runs of a namespace matching `query`.
    fn count_visibility(
        &self,
        namespace: &Namespace,
        query: &VisibilityQuery,
    ) -> impl Future<Output = Result<u64, StorageError>> + Send;

    /// Writes a namespace's record if the stored one is at `expected` (`None`: there must
    /// be none); `record.version` must be one above it (1 for a new namespace). Durable
    /// before it returns.
    fn put_namespace(
        &self,
        record: NamespaceRecord,
        expected: Option<u64>,
    ) -> impl Future<Output = Result<Result<(), WriteRejection>, StorageError>> + Send;

    /// The record of a namespace, if it exists.
    fn namespace(
        &self,
        name: &Namespace,
    ) -> impl Future<Output = Result<Option<NamespaceRecord>, StorageError>> + Send;

    /// Every namespace, by name.
    fn list_namespaces(
        &self,
    ) -> impl Future<Output = Result<Vec<NamespaceRecord>, StorageError>> + Send;
}

mod checks;
mod history_tail;
mod keyed_rows;
mod leases;
mod stored_row;
mod stored_state;

pub use checks::*;
pub use history_tail::{
    HISTORY_TAIL_BYTES_MAX, TailAppend, TailError, append_to_tail, tail_events,
};
pub use leases::{Acquired, ClusterStore, MemberRecord};
pub use stored_row::StoredExtras;
