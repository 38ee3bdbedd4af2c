//! Continue-as-new (Go's `workflow.NewContinueAsNewError`, spec §5.21): the run closes and
//! a new run of the same workflow id starts with new arguments, in one write. Returned from
//! the workflow function as its error.
//!
//! The new run keeps the workflow type, task queue, timeouts, retry policy, memo and search
//! attributes unless [`ContinueAsNewOptions`] changes them; the execution timeout spans the
//! whole chain and cannot change. Pending activities and timers are abandoned. If events
//! arrive while the closing task runs (a signal, say), the engine refuses the close and the
//! workflow sees them first — as in Temporal.

use std::time::Duration;

use endure_core::{
    ContinueAsNewWorkflowExecutionCommandAttributes, Memo, Payloads, RetryPolicy, SearchAttributes,
    TaskQueueName, WorkflowType,
};
use serde::Serialize;

use super::WorkflowContext;
use super::definition::WorkflowDefinition;
use super::state::WorkflowError;

/// What the next run changes; everything left `None` carries over.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct ContinueAsNewOptions {
    /// Another workflow type (the new run runs that type's code).
    pub workflow_type: Option<WorkflowType>,
    /// Another task queue.
    pub task_queue: Option<TaskQueueName>,
    /// Another run timeout.
    pub run_timeout: Option<Duration>,
    /// Another workflow task timeout.
    pub task_timeout: Option<Duration>,
    /// Wait this long before the new run's first workflow task.
    pub start_delay: Option<Duration>,
    /// Another retry policy.
    pub retry_policy: Option<RetryPolicy>,
    /// Another memo (replaces the whole memo).
    pub memo: Option<Memo>,
    /// Other search attributes (replace them all).
    pub search_attributes: Option<SearchAttributes>,
}

impl ContinueAsNewOptions {
    /// Options that continue as workflow `W` (on the same queue unless changed).
    pub fn to_workflow<W: WorkflowDefinition>() -> Self {
        Self {
            workflow_type: WorkflowType::new(W::NAME).ok(),
            ..Self::default()
        }
    }
}

impl WorkflowContext {
    /// Ends this run by continuing as a new run of the same workflow with `input` (return
    /// it: `return Err(ctx.continue_as_new(&next))`).
    pub fn continue_as_new<I: Serialize>(&self, input: &I) -> WorkflowError {
        self.continue_as_new_with(input, ContinueAsNewOptions::default())
    }

    /// [`continue_as_new`](Self::continue_as_new), changing what `options` says.
    pub fn continue_as_new_with<I: Serialize>(
        &self,
        input: &I,
        options: ContinueAsNewOptions,
    ) -> WorkflowError {
        let input = match Payloads::encode_arguments(input) {
            Ok(input) => input,
            Err(error) => return error.into(),
        };
        // Named as the next run's type: the options' or this run's.
        let next_type = options.workflow_type.as_ref().map_or_else(
            || self.info().started.workflow_type.as_str().to_owned(),
            |workflow_type| workflow_type.as_str().to_owned(),
        );
        let header = self.outbound_header(&next_type, |interceptor, ctx, call| {
            interceptor.continue_as_new(ctx, call);
        });
        WorkflowError::ContinueAsNew(Box::new(ContinueAsNewWorkflowExecutionCommandAttributes {
            workflow_type: options.workflow_type,
            task_queue: options.task_queue,
            input,
            workflow_run_timeout: options.run_timeout,
            workflow_task_timeout: options.task_timeout,
            backoff_start_interval: options.start_delay,
            retry_policy: options.retry_policy,
            cron_schedule: None,
            header,
            memo: options.memo,
            search_attributes: options.search_attributes,
        }))
    }

    /// Whether the engine suggests continuing as new: the history has passed 4,096 events
    /// or 4 MiB (Go's `GetInfo(ctx).GetContinueAsNewSuggested()`). Known as of the current
    /// workflow task.
    pub fn is_continue_as_new_suggested(&self) -> bool {
        self.state.lock().continue_as_new_suggested
    }

    /// The number of events in history up to the current workflow task's start (Go's
    /// `GetInfo(ctx).GetCurrentHistoryLength()`).
    pub fn history_length(&self) -> u64 {
        self.state.lock().history_length
    }
}
