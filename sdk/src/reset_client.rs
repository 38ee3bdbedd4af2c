//! Reset from the client (Go's `ResetWorkflowExecution`, spec §5.12.5): fork a new run from
//! a workflow's history at the end of one of its workflow tasks — to rerun it after fixing a
//! bug, say — terminating the current run if it is still open.

use endure_core::RunId;
use endure_core::execution::{ResetPoint, ResetReapply, ResetRequest};
use endure_core::protocol::ResetWorkflowRequest;

use crate::client::{ClientError, WorkflowHandle, fresh_request_id};

/// How a reset is done (Go's `ResetWorkflowExecutionRequest`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResetOptions {
    /// Where to fork: the first or last completed workflow task, or a
    /// WorkflowTaskCompleted event id.
    pub point: ResetPoint,
    /// Why; written into the new run's WorkflowTaskFailed and the old run's termination.
    pub reason: String,
    /// Which later signals and updates the new run receives again (all by default).
    pub reapply: ResetReapply,
    /// Deduplicates a retried reset (a fresh id if `None`): the same id gives the same run.
    pub request_id: Option<String>,
}

impl ResetOptions {
    /// A reset to `point`, reapplying signals and updates.
    pub fn new(point: ResetPoint, reason: impl Into<String>) -> Self {
        Self {
            point,
            reason: reason.into(),
            reapply: ResetReapply::default(),
            request_id: None,
        }
    }
}

impl WorkflowHandle {
    /// Resets the run this handle names (the current run if none): a new run with the same
    /// workflow id continues from the chosen workflow task, the current run is terminated
    /// if open. Returns the new run's id; [`Client::handle`](crate::Client::handle) with it
    /// follows the new run.
    pub async fn reset(&self, options: ResetOptions) -> Result<RunId, ClientError> {
        let request_id = match options.request_id {
            Some(id) => endure_core::RequestId::new(id)?,
            None => fresh_request_id(),
        };
        let request = ResetRequest {
            point: options.point,
            reason: options.reason,
            reapply: options.reapply,
            identity: self.client.identity.clone(),
            request_id: Some(request_id),
        };
        request.validate()?;
        let reset = self
            .client
            .rpc(ResetWorkflowRequest {
                namespace: self.client.namespace.clone(),
                workflow_id: self.workflow_id.clone(),
                run_id: self.run_id,
                request,
            })
            .await?;
        Ok(reset.run_id)
    }
}
