//! Query tasks: answered from the cached run when it stands at the last completed task,
//! else by replaying the history in a throwaway run.

use std::sync::Arc;

use endure_core::protocol::{QueryTaskForWorker, RespondQueryTaskRequest, Rpc};
use endure_core::replay::ReplayMachine;

use super::Shared;
use crate::workflow::WorkflowExecutor;

impl Shared {
    /// Answers a query and reports the answer (a failed report is only logged: the client
    /// times out).
    pub(super) async fn run_query_task(&self, mut task: QueryTaskForWorker) {
        let answer = match task.next_page.take() {
            Some(next) => match self.read_pages(&task.execution, next, None).await {
                Ok(rest) => {
                    task.history.extend(rest);
                    self.answer_query(&task)
                }
                Err(message) => Err(message),
            },
            None => self.answer_query(&task),
        };
        let request = RespondQueryTaskRequest {
            execution: task.execution.clone(),
            query_id: task.query_id,
            answer,
        };
        if let Err(error) = self.transport.call(request.into_request()).await {
            tracing::warn!(%error, "query answer refused (timed out?)");
        }
    }

    /// The query's answer from the cached run if it stands exactly at the last completed
    /// workflow task, else from a run rebuilt by replaying the history (not cached: it is
    /// past that point when events arrived after the task).
    pub(super) fn answer_query(
        &self,
        task: &QueryTaskForWorker,
    ) -> endure_core::protocol::QueryAnswer {
        if let Some(run) = self.cache.lock().peek(&task.execution)
            && run.replay.last_event_id() == Some(task.previous_started_event_id)
        {
            return run
                .executor
                .query(&task.query_type, &task.args, &task.header);
        }
        let workflow_type = task.workflow_type.as_str();
        let function = match (self.workflows.get(workflow_type), &self.dynamic_workflow) {
            (Some(factory), _) => factory(),
            (None, Some(dynamic)) => dynamic(workflow_type.to_owned()),
            (None, None) => {
                return Err(format!(
                    "workflow type {workflow_type} is not registered with this worker"
                ));
            }
        };
        let mut replay = ReplayMachine::new();
        let mut executor = WorkflowExecutor::new(function)
            .with_execution(task.execution.clone())
            .with_interceptors(Arc::clone(&self.interceptors));
        replay
            .feed(task.history.iter().cloned())
            .map_err(|error| format!("cannot replay the history: {error}"))?;
        while let Some(mut activation) = replay
            .next_activation()
            .map_err(|error| format!("cannot replay the history: {error}"))?
        {
            // All of it happened already, the last task included: logging, metrics and
            // interceptors stay quiet (Go replays a query's history as replaying too).
            activation.is_replaying = true;
            let commands = executor
                .activate(&activation)
                .map_err(|error| format!("the workflow failed while replaying: {error}"))?;
            replay
                .complete(commands)
                .map_err(|error| format!("cannot replay the history: {error}"))?;
        }
        executor.query(&task.query_type, &task.args, &task.header)
    }
}
