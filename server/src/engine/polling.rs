//! Workers' polls: a task of the queue taken from matching (a sync-matched one already
//! started, a backlog row started now through its shard) or a query to answer.

use endure_core::clock::Clock;
use endure_core::execution::{Input, Reply};
use endure_core::protocol::PolledWorkflowTask;
use endure_core::storage::{HistoryPage, Storage};
use endure_core::versioning::WorkerDeploymentVersion;
use endure_core::{Namespace, TaskQueueName};

use super::api::{ActivityTaskForWorker, EngineError, WorkflowTaskForWorker};
use super::matching::{Handoff, TaskKind};
use super::runtime::Engine;

impl<S: Storage, C: Clock> Engine<S, C> {
    /// Waits, up to the configured poll wait, for a task of `kind` on the queue.
    pub(super) async fn poll_handoff(
        &self,
        namespace: &Namespace,
        task_queue: &TaskQueueName,
        kind: TaskKind,
        identity: &str,
        accepts_queries: bool,
        version: Option<&WorkerDeploymentVersion>,
    ) -> Result<Option<Handoff>, EngineError> {
        self.check_namespace(namespace)?;
        let inner = &self.inner;
        inner
            .matching
            .poll(
                &inner.storage,
                &inner.clock,
                namespace,
                task_queue,
                kind,
                identity,
                accepts_queries,
                version,
                inner.config.poll_wait,
            )
            .await
            .map_err(EngineError::from)
    }

    /// Waits for a workflow task of the queue and starts it; `None` if none came in time.
    /// Queries are left for pollers that take them ([`poll_workflow_task_or_query`]).
    ///
    /// [`poll_workflow_task_or_query`]: Self::poll_workflow_task_or_query
    pub async fn poll_workflow_task(
        &self,
        namespace: &Namespace,
        task_queue: &TaskQueueName,
        identity: &str,
    ) -> Result<Option<WorkflowTaskForWorker>, EngineError> {
        match self
            .poll_workflow(namespace, task_queue, identity, false, None)
            .await?
        {
            Some(PolledWorkflowTask::Task(task)) => Ok(Some(*task)),
            Some(PolledWorkflowTask::Query(_)) | None => Ok(None),
        }
    }

    /// Waits for a workflow task (started) or a query of the queue, as workers poll.
    pub async fn poll_workflow_task_or_query(
        &self,
        namespace: &Namespace,
        task_queue: &TaskQueueName,
        identity: &str,
    ) -> Result<Option<PolledWorkflowTask>, EngineError> {
        self.poll_workflow(namespace, task_queue, identity, true, None)
            .await
    }

    /// [`poll_workflow_task_or_query`](Self::poll_workflow_task_or_query) by a worker of
    /// deployment `version` (spec §5.13.1): it gets only the tasks routed to that version,
    /// and the queue joins the version's deployment (`normal_queue`: the queue a sticky
    /// queue stands in for, which is what the deployment lists).
    pub async fn poll_workflow_task_or_query_as(
        &self,
        namespace: &Namespace,
        task_queue: &TaskQueueName,
        identity: &str,
        version: Option<&WorkerDeploymentVersion>,
        normal_queue: Option<&TaskQueueName>,
    ) -> Result<Option<PolledWorkflowTask>, EngineError> {
        if let Some(version) = version {
            self.record_versioned_poll(namespace, task_queue, version, normal_queue)
                .await?;
        }
        self.poll_workflow(namespace, task_queue, identity, true, version)
            .await
    }

    pub(super) async fn poll_workflow(
        &self,
        namespace: &Namespace,
        task_queue: &TaskQueueName,
        identity: &str,
        accepts_queries: bool,
        version: Option<&WorkerDeploymentVersion>,
    ) -> Result<Option<PolledWorkflowTask>, EngineError> {
        loop {
            let Some(handoff) = self
                .poll_handoff(
                    namespace,
                    task_queue,
                    TaskKind::Workflow,
                    identity,
                    accepts_queries,
                    version,
                )
                .await?
            else {
                return Ok(None);
            };
            if let Some(task) = self.take_workflow_handoff(handoff, identity).await? {
                return Ok(Some(task));
            }
        }
    }

    /// What a workflow poller gets for `handoff`: the task started (a backlog row started
    /// now through its shard) with its first history page, or the query; `None` when the
    /// handoff went stale meanwhile (take the next).
    pub(super) async fn take_workflow_handoff(
        &self,
        handoff: Handoff,
        identity: &str,
    ) -> Result<Option<PolledWorkflowTask>, EngineError> {
        let (execution, started, history) = match handoff {
            Handoff::Query(offer) => {
                // Answered or timed out meanwhile: `None`.
                return Ok(self
                    .query_task(offer)
                    .await?
                    .map(|query| PolledWorkflowTask::Query(Box::new(query))));
            }
            Handoff::Started {
                execution,
                reply: Reply::WorkflowTaskStarted(started),
                history,
            } => (execution, started, history),
            Handoff::Started { .. } => return Ok(None),
            Handoff::Row(taken) => {
                let row = taken.starting();
                let request_id = self.inner.matching.start_request_id(row.task_id);
                let input = match Input::task_started(&row.task, request_id, identity.into()) {
                    Some(input @ Input::WorkflowTaskStarted { .. }) => input,
                    _ => {
                        debug_assert!(
                            false,
                            "the workflow half of a queue holds workflow tasks only"
                        );
                        return Ok(None);
                    }
                };
                match self.apply(&row.execution, input, Some(row.key())).await {
                    Ok(Reply::WorkflowTaskStarted(started)) => (row.execution, started, None),
                    // Stale (the task timed out, the run closed): take the next one.
                    Ok(_) | Err(EngineError::Rejected(_) | EngineError::NotFound(_)) => {
                        return Ok(None);
                    }
                    // Not started (its row is still stored): back to the queue.
                    Err(error) => {
                        self.inner.matching.add(row);
                        return Err(error);
                    }
                }
            }
        };
        // A sticky task's worker has the run up to its previous task: send it the rest. One
        // page at most: the worker fetches the rest (DESIGN §4: pages everywhere). A task
        // sync-matched in a write may have come with those events (the shard had them all).
        let from = started.history_from();
        let page = match history {
            Some(events) => {
                debug_assert_eq!(events.first().map(|event| event.event_id), Some(from));
                HistoryPage::cut(events)
            }
            None => self.history_page(&execution, from).await?,
        };
        Ok(Some(PolledWorkflowTask::Task(Box::new(
            WorkflowTaskForWorker {
                execution,
                workflow_type: started.workflow_type,
                token: started.token,
                history: page.events,
                next_page: page.next_event_id,
                transient_events: started.transient_events,
                previous_started_event_id: started.previous_started_event_id,
                updates: started.updates,
            },
        ))))
    }

    /// Waits for an activity task of the queue and starts it; `None` if none came in time.
    pub async fn poll_activity_task(
        &self,
        namespace: &Namespace,
        task_queue: &TaskQueueName,
        identity: &str,
    ) -> Result<Option<ActivityTaskForWorker>, EngineError> {
        self.poll_activity_task_as(namespace, task_queue, identity, None)
            .await
    }

    /// [`poll_activity_task`](Self::poll_activity_task) by a worker of deployment `version`.
    pub async fn poll_activity_task_as(
        &self,
        namespace: &Namespace,
        task_queue: &TaskQueueName,
        identity: &str,
        version: Option<&WorkerDeploymentVersion>,
    ) -> Result<Option<ActivityTaskForWorker>, EngineError> {
        if let Some(version) = version {
            self.record_versioned_poll(namespace, task_queue, version, None)
                .await?;
        }
        loop {
            let Some(handoff) = self
                .poll_handoff(
                    namespace,
                    task_queue,
                    TaskKind::Activity,
                    identity,
                    false,
                    version,
                )
                .await?
            else {
                return Ok(None);
            };
            let taken = match handoff {
                Handoff::Started {
                    execution,
                    reply: Reply::ActivityTaskStarted(task),
                    ..
                } => {
                    return Ok(Some(ActivityTaskForWorker {
                        execution,
                        task: (*task).into(),
                    }));
                }
                Handoff::Started { .. } | Handoff::Query(_) => continue,
                Handoff::Row(taken) => taken,
            };
            let row = taken.starting();
            let request_id = self.inner.matching.start_request_id(row.task_id);
            let input = match Input::task_started(&row.task, request_id, identity.into()) {
                Some(input @ Input::ActivityTaskStarted { .. }) => input,
                _ => {
                    debug_assert!(
                        false,
                        "the activity half of a queue holds activity tasks only"
                    );
                    continue;
                }
            };
            match self.apply(&row.execution, input, Some(row.key())).await {
                Ok(Reply::ActivityTaskStarted(task)) => {
                    return Ok(Some(ActivityTaskForWorker {
                        execution: row.execution,
                        task: (*task).into(),
                    }));
                }
                Ok(_) | Err(EngineError::Rejected(_) | EngineError::NotFound(_)) => continue,
                // Not started (its row is still stored): back to the queue.
                Err(error) => {
                    self.inner.matching.add(row);
                    return Err(error);
                }
            }
        }
    }
}
