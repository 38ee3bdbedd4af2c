//! Queries (spec §5.19.1): held in memory only, offered to the run's workers, answered or
//! timed out; never written to history.

use endure_core::clock::Clock;
use endure_core::storage::Storage;
use endure_core::{EventId, ExecutionKey, Header, Namespace, Payloads, RunId, WorkflowId};
use tokio::sync::oneshot;

use super::api::{EngineError, QueryAnswer, QueryTaskForWorker};
use super::matching::QueryOffer;
use super::runtime::Engine;

/// Queries waiting for a worker's answer, by query id.
#[derive(Default)]
pub(super) struct Queries {
    pub(super) next_id: std::sync::atomic::AtomicU64,
    pub(super) pending: parking_lot::Mutex<std::collections::BTreeMap<u64, PendingQuery>>,
}

/// A query's question and where its answer goes.
pub(super) struct PendingQuery {
    /// The queried namespace and workflow: only an answer naming them is taken.
    pub(super) namespace: Namespace,
    pub(super) workflow_id: WorkflowId,
    pub(super) query_type: String,
    pub(super) args: Payloads,
    pub(super) header: Header,
    pub(super) answer: oneshot::Sender<QueryAnswer>,
}

impl<S: Storage, C: Clock> Engine<S, C> {
    /// The query task for an offer still pending: its question and the run's history.
    pub(super) async fn query_task(
        &self,
        offer: QueryOffer,
    ) -> Result<Option<QueryTaskForWorker>, EngineError> {
        let question = self
            .inner
            .queries
            .pending
            .lock()
            .get(&offer.query_id)
            .map(|pending| {
                (
                    pending.query_type.clone(),
                    pending.args.clone(),
                    pending.header.clone(),
                )
            });
        let Some((query_type, args, header)) = question else {
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
            header,
            history: page.events,
            next_page: page.next_event_id,
            previous_started_event_id: previous,
        }))
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
        header: Header,
    ) -> Result<QueryAnswer, EngineError> {
        if query_type.is_empty() || query_type.len() > endure_core::limits::ID_BYTES_MAX {
            return Err(EngineError::BadRequest(format!(
                "a query type must have 1 to {} bytes",
                endure_core::limits::ID_BYTES_MAX
            )));
        }
        args.check_size("query arguments")?;
        header.check_size("query header")?;
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
                namespace: namespace.clone(),
                workflow_id: workflow_id.clone(),
                query_type,
                args,
                header,
                answer,
            },
        );
        self.inner.matching.offer_query(
            namespace,
            &queue,
            QueryOffer {
                query_id,
                execution,
                version: machine.versioning().version.clone(),
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
    pub fn respond_query(
        &self,
        execution: &ExecutionKey,
        query_id: u64,
        answer: QueryAnswer,
    ) -> Result<(), EngineError> {
        let pending = {
            let mut pending = self.inner.queries.pending.lock();
            // An answer naming another run (another namespace) leaves the query waiting.
            let ours = pending.get(&query_id).is_some_and(|query| {
                query.namespace == execution.namespace && query.workflow_id == execution.workflow_id
            });
            if ours {
                pending.remove(&query_id)
            } else {
                None
            }
        };
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
}
