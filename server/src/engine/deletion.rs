//! Deleting a workflow run (Temporal's `DeleteWorkflowExecution`): an open run is
//! terminated first, then its row, history, deadline, visibility row and request records
//! go — the same deletion as the end of a retention, asked for now.

use std::time::Duration;

use endure_core::clock::Clock;
use endure_core::execution::{Input, Rejected};
use endure_core::storage::Storage;
use endure_core::{Namespace, RunId, WorkflowId};
use tokio::sync::oneshot;

use super::api::EngineError;
use super::runtime::Engine;
use super::shard::ShardMessage;

/// How long a deletion waits, in all, for the run's outbox work (signals, cancel requests,
/// child close policies) to be sent before it gives up with `NotReady`.
const OUTBOX_WAIT_MAX: Duration = Duration::from_secs(5);

impl<S: Storage, C: Clock> Engine<S, C> {
    /// Deletes run `run_id` of `workflow_id`, or its current run: terminated first if open
    /// (reason "deleted"), then gone with its history and visibility row, as Temporal's
    /// `DeleteWorkflowExecution`. The workflow id is free again afterwards.
    pub async fn delete_workflow(
        &self,
        namespace: &Namespace,
        workflow_id: &WorkflowId,
        run_id: Option<RunId>,
        identity: String,
    ) -> Result<(), EngineError> {
        self.check_namespace(namespace)?;
        let execution = self.resolve_run(namespace, workflow_id, run_id).await?;
        let terminate = Input::Terminate {
            reason: "deleted".into(),
            details: None,
            identity,
        };
        match self
            .apply_to_run(namespace, workflow_id, Some(execution.run_id), terminate)
            .await
        {
            Ok(_) | Err(EngineError::Rejected(Rejected::WorkflowClosed)) => {}
            Err(error) => return Err(error),
        }
        let mut waited = Duration::ZERO;
        let mut wait = Duration::from_millis(10);
        loop {
            let (reply, result) = oneshot::channel();
            self.send_to_shard(
                namespace,
                workflow_id,
                ShardMessage::Delete {
                    execution: execution.clone(),
                    reply,
                },
            )?;
            match result.await.map_err(|_| EngineError::Shutdown)? {
                Err(EngineError::NotReady(_)) if waited < OUTBOX_WAIT_MAX => {
                    let until = self.inner.clock.now().saturating_add(wait);
                    self.inner.clock.sleep_until(until).await;
                    waited += wait;
                    wait = (wait * 2).min(Duration::from_millis(500));
                }
                outcome => return outcome,
            }
        }
    }
}
