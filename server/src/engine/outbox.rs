//! The outbox: delivers what runs send to other workflows — signals and cancel requests —
//! and reports each outcome back to the sender (Temporal's transfer queue).
//!
//! A SignalExternal… or RequestCancelExternal…Initiated event is written with an outbox row
//! in the same commit (`DispatchTask::SignalExternalWorkflow`, …, in the shard's
//! [`outbox_queue`](endure_core::storage::outbox_queue)). After the commit the shard hands
//! the row here; after a crash the shard reads its rows back when it opens. Delivery is
//! at least once and applied once:
//!
//! 1. the sender's stored state says whether the request is still pending (a closed sender
//!    or a resolved request drops the row, as Temporal drops the task);
//! 2. the request goes to the target as an input of its own shard — a signal carries a
//!    request id derived from the sender's run and Initiated event, so a redelivery is a
//!    duplicate the target ignores; a second cancel request is one too;
//! 3. the outcome (`Input::ExternalSignalResolved` / `ExternalCancelResolved`) is applied to
//!    the sender in the same write that deletes the row.
//!
//! A crash between 2 and 3 redelivers from 1. Rows are delivered one at a time in the order
//! they were committed; a transient failure (storage, shutdown, a write conflict, a target
//! retrying its close) retries the row with a doubling backoff.

use std::sync::Arc;
use std::time::Duration;

use endure_core::clock::Clock;
use endure_core::execution::{
    ENGINE_IDENTITY, ExecutionMachine, ExternalRequest, Input, Rejected, SignalRequest,
};
use endure_core::history::EventAttributes;
use endure_core::storage::{DispatchRow, DispatchTask, ExecutionKey, Storage, StorageError};
use endure_core::{
    CancelExternalWorkflowExecutionFailedCause, SignalExternalWorkflowExecutionFailedCause,
};
use endure_core::{EventId, RequestId, WorkflowExecution};
use tokio::sync::mpsc;

use super::api::EngineError;
use super::shard::Shards;

mod children;

/// The first wait before retrying a row after a transient failure.
const RETRY_INITIAL: Duration = Duration::from_millis(10);

/// The longest wait between retries of one row.
const RETRY_MAX: Duration = Duration::from_secs(2);

/// The engine's outbox worker.
pub(crate) struct Outbox<S, C> {
    storage: Arc<S>,
    clock: Arc<C>,
    shards: Shards,
    namespaces: Arc<super::namespaces::Namespaces>,
}

/// Why a row could not be handled now.
enum Retry {
    /// Try again later.
    Transient(EngineError),
    /// The row names something that cannot be read; it stays stored and is retried at the
    /// next open.
    Broken(String),
}

impl From<EngineError> for Retry {
    fn from(error: EngineError) -> Self {
        Self::Transient(error)
    }
}

impl From<StorageError> for Retry {
    fn from(error: StorageError) -> Self {
        Self::Transient(error.into())
    }
}

/// What a sent request is, as its Initiated event says.
struct Sent {
    request: ExternalRequest,
    /// Only a child of the sender may be the target.
    child_workflow_only: bool,
    kind: SentKind,
}

enum SentKind {
    Signal(SignalRequest),
    Cancel { reason: String },
}

impl<S: Storage, C: Clock> Outbox<S, C> {
    /// An outbox sending through `shards` (which it holds weakly, so the engine's shards
    /// still stop when the engine is dropped).
    pub(crate) fn new(
        storage: Arc<S>,
        clock: Arc<C>,
        shards: Shards,
        namespaces: Arc<super::namespaces::Namespaces>,
    ) -> Self {
        Self {
            storage,
            clock,
            shards,
            namespaces,
        }
    }

    /// Delivers rows until every shard is gone.
    pub(crate) async fn run(self, mut rows: mpsc::UnboundedReceiver<DispatchRow>) {
        while let Some(row) = rows.recv().await {
            let mut backoff = RETRY_INITIAL;
            loop {
                match self.deliver(&row).await {
                    Ok(()) => break,
                    Err(Retry::Transient(_)) if !self.shards.alive() => return,
                    Err(Retry::Transient(error)) => {
                        tracing::debug!(execution = ?row.execution, task = ?row.task, %error, "outbox row retried");
                        let until = self.clock.now().saturating_add(backoff);
                        self.clock.sleep_until(until).await;
                        backoff = (backoff * 2).min(RETRY_MAX);
                    }
                    Err(Retry::Broken(reason)) => {
                        tracing::error!(execution = ?row.execution, task = ?row.task, %reason, "outbox row cannot be delivered; it is kept and retried at the next open");
                        break;
                    }
                }
            }
        }
    }

    /// Handles one row: delivers its request unless it is moot, then reports the outcome.
    async fn deliver(&self, row: &DispatchRow) -> Result<(), Retry> {
        let source = &row.execution;
        let Some(stored) = self.storage.load_execution(source).await? else {
            return Err(Retry::Broken("the sending run does not exist".into()));
        };
        let machine = ExecutionMachine::from_row(&stored)
            .map_err(|error| Retry::Broken(format!("the sending run is corrupt: {error}")))?;
        let (initiated_event_id, pending) = match row.task {
            DispatchTask::SignalExternalWorkflow { initiated_event_id } => (
                initiated_event_id,
                machine
                    .pending_external_signals()
                    .contains(&initiated_event_id),
            ),
            DispatchTask::RequestCancelExternalWorkflow { initiated_event_id } => (
                initiated_event_id,
                machine
                    .pending_external_cancels()
                    .contains(&initiated_event_id),
            ),
            DispatchTask::StartChildWorkflow { initiated_event_id } => {
                return self.start_child(row, &machine, initiated_event_id).await;
            }
            DispatchTask::ApplyParentClosePolicy { initiated_event_id } => {
                return self
                    .apply_parent_close_policy(row, &machine, initiated_event_id)
                    .await;
            }
            DispatchTask::RecordChildCompletion => {
                return self.record_child_completion(row, &machine).await;
            }
            DispatchTask::WorkflowTask { .. } | DispatchTask::ActivityTask { .. } => {
                return Err(Retry::Broken("not an outbox task".into()));
            }
        };
        let sent = self.read_sent(source, initiated_event_id).await?;
        if machine.status().is_closed() || !pending {
            // Moot: the report is refused and the refusal deletes the row.
            return self.report(row, sent, Outcome::NotFound).await;
        }
        let outcome = self.send(source, &sent).await?;
        self.report(row, sent, outcome).await
    }

    /// The request as its Initiated event names it.
    async fn read_sent(
        &self,
        source: &ExecutionKey,
        initiated_event_id: EventId,
    ) -> Result<Sent, Retry> {
        let event = self.read_event(source, initiated_event_id).await?;
        match event.attributes {
            EventAttributes::SignalExternalWorkflowExecutionInitiated(a) => {
                let request_id =
                    RequestId::new(format!("{}/{}", source.run_id, initiated_event_id))
                        .map_err(|error| Retry::Broken(error.to_string()))?;
                Ok(Sent {
                    request: ExternalRequest {
                        initiated_event_id,
                        workflow_task_completed_event_id: a.workflow_task_completed_event_id,
                        namespace: a.namespace,
                        workflow_execution: a.workflow_execution,
                    },
                    child_workflow_only: a.child_workflow_only,
                    kind: SentKind::Signal(SignalRequest {
                        signal_name: a.signal_name,
                        input: a.input,
                        identity: ENGINE_IDENTITY.to_owned(),
                        header: a.header,
                        request_id: Some(request_id),
                    }),
                })
            }
            EventAttributes::RequestCancelExternalWorkflowExecutionInitiated(a) => Ok(Sent {
                request: ExternalRequest {
                    initiated_event_id,
                    workflow_task_completed_event_id: a.workflow_task_completed_event_id,
                    namespace: a.namespace,
                    workflow_execution: a.workflow_execution,
                },
                child_workflow_only: a.child_workflow_only,
                kind: SentKind::Cancel { reason: a.reason },
            }),
            other => Err(Retry::Broken(format!(
                "event {initiated_event_id} is {:?}, not a request to another workflow",
                other.event_type()
            ))),
        }
    }

    /// Delivers the request to its target and says how it went.
    async fn send(&self, source: &ExecutionKey, sent: &Sent) -> Result<Outcome, Retry> {
        let target = &sent.request.workflow_execution;
        // A workflow cannot signal or cancel itself this way, whatever the run id (as in
        // Temporal).
        if sent.request.namespace == source.namespace && target.workflow_id == source.workflow_id {
            return Ok(Outcome::NotFound);
        }
        if self.namespaces.check(&sent.request.namespace).is_err() {
            return Ok(Outcome::NamespaceNotFound);
        }
        let run_id = match target.run_id {
            Some(run_id) => run_id,
            None => match self
                .storage
                .current_run(&sent.request.namespace, &target.workflow_id)
                .await?
            {
                Some(current) => current.run_id,
                None => return Ok(Outcome::NotFound),
            },
        };
        let mut key = ExecutionKey {
            namespace: sent.request.namespace.clone(),
            workflow_id: target.workflow_id.clone(),
            run_id,
        };
        if sent.child_workflow_only && !self.is_child_of(&key, source).await? {
            return Ok(Outcome::NotFound);
        }
        let sender = WorkflowExecution {
            workflow_id: source.workflow_id.clone(),
            run_id: Some(source.run_id),
        };
        let input = match &sent.kind {
            SentKind::Signal(signal) => Input::SignalFromWorkflow {
                signal: signal.clone(),
                sender,
            },
            SentKind::Cancel { reason } => Input::RequestCancelFromWorkflow {
                reason: reason.clone(),
                sender,
                initiated_event_id: sent.request.initiated_event_id,
            },
        };
        let mut result = self
            .shards
            .apply(&key, input.clone(), None, self.clock.now())
            .await;
        // Addressed to the current run, which a new run replaced meanwhile
        // (continue-as-new): follow to the new one, as a client's request does.
        while target.run_id.is_none()
            && matches!(result, Err(EngineError::Rejected(Rejected::WorkflowClosed)))
        {
            match self
                .storage
                .current_run(&key.namespace, &key.workflow_id)
                .await?
            {
                Some(current) if current.run_id != key.run_id => {
                    key.run_id = current.run_id;
                    result = self
                        .shards
                        .apply(&key, input.clone(), None, self.clock.now())
                        .await;
                }
                _ => break,
            }
        }
        match result {
            Ok(_) => Ok(Outcome::Delivered),
            Err(EngineError::NotFound(_) | EngineError::Rejected(Rejected::WorkflowClosed)) => {
                Ok(Outcome::NotFound)
            }
            Err(EngineError::Rejected(Rejected::SignalLimitExceeded(_))) => {
                Ok(Outcome::SignalLimitExceeded)
            }
            Err(EngineError::Rejected(Rejected::WorkflowClosing)) => Err(Retry::Transient(
                EngineError::Rejected(Rejected::WorkflowClosing),
            )),
            Err(EngineError::Rejected(refused)) => {
                tracing::warn!(target = ?key, %refused, "the target refused a request from another workflow");
                Ok(Outcome::NotFound)
            }
            Err(error) => Err(Retry::Transient(error)),
        }
    }

    /// Records the outcome in the sender, deleting the row in the same write. A refusal
    /// (the sender closed, or already knows) deletes the row and records nothing.
    async fn report(&self, row: &DispatchRow, sent: Sent, outcome: Outcome) -> Result<(), Retry> {
        let request = sent.request;
        let input = match sent.kind {
            SentKind::Signal(_) => Input::ExternalSignalResolved {
                request,
                failure: outcome.signal_failure(),
            },
            SentKind::Cancel { .. } => Input::ExternalCancelResolved {
                request,
                failure: outcome.cancel_failure(),
            },
        };
        match self
            .shards
            .apply(&row.execution, input, Some(row.key()), self.clock.now())
            .await
        {
            // The row's own shard moved to another node, which delivers it from there.
            Ok(_) | Err(EngineError::Rejected(_) | EngineError::NotServed { .. }) => Ok(()),
            Err(error) => Err(Retry::Transient(error)),
        }
    }
}

impl<S: Storage, C: Clock> Outbox<S, C> {
    /// Whether run `key` was started as a child of run `parent`.
    async fn is_child_of(&self, key: &ExecutionKey, parent: &ExecutionKey) -> Result<bool, Retry> {
        let Some(stored) = self.storage.load_execution(key).await? else {
            return Ok(false);
        };
        let machine = ExecutionMachine::from_row(&stored)
            .map_err(|error| Retry::Broken(format!("the target run is corrupt: {error}")))?;
        Ok(machine.parent().is_some_and(|info| {
            info.namespace == parent.namespace
                && info.workflow_execution.workflow_id == parent.workflow_id
                && info.workflow_execution.run_id == Some(parent.run_id)
        }))
    }
}

/// How a delivery went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Delivered,
    NotFound,
    NamespaceNotFound,
    SignalLimitExceeded,
}

impl Outcome {
    fn signal_failure(self) -> Option<SignalExternalWorkflowExecutionFailedCause> {
        match self {
            Self::Delivered => None,
            Self::NotFound => {
                Some(SignalExternalWorkflowExecutionFailedCause::ExternalWorkflowExecutionNotFound)
            }
            Self::NamespaceNotFound => {
                Some(SignalExternalWorkflowExecutionFailedCause::NamespaceNotFound)
            }
            Self::SignalLimitExceeded => {
                Some(SignalExternalWorkflowExecutionFailedCause::SignalCountLimitExceeded)
            }
        }
    }

    fn cancel_failure(self) -> Option<CancelExternalWorkflowExecutionFailedCause> {
        match self {
            Self::Delivered => None,
            Self::NamespaceNotFound => {
                Some(CancelExternalWorkflowExecutionFailedCause::NamespaceNotFound)
            }
            Self::NotFound | Self::SignalLimitExceeded => {
                Some(CancelExternalWorkflowExecutionFailedCause::ExternalWorkflowExecutionNotFound)
            }
        }
    }
}
