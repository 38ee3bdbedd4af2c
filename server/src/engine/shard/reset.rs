//! Resets: a new run forked from a run's history, the current run terminated in the same
//! write.

use endure_core::clock::Clock;
use endure_core::execution::{Effects, ExecutionMachine, Input, NextRun, ResetFork, ResetRequest};
use endure_core::storage::{ExecutionKey, RequestRecord, Storage};
use endure_core::{RequestId, RunId};

use super::actor::{RESET_SUCCESSORS_MAX, Shard, read_whole_history};
use super::plan::{Before, Changes};
use crate::engine::api::EngineError;

impl<S: Storage, C: Clock> Shard<S, C> {
    /// Resets run `base`: forks a new run from its history (reapplying what it and the
    /// runs that continued it received after the point), and in the same write terminates
    /// the workflow id's current run if open and makes the new run current. A request id
    /// deduplicates it: a retry gets the run the first reset created.
    pub(super) async fn reset(
        &mut self,
        base_key: &ExecutionKey,
        request: ResetRequest,
    ) -> Result<RunId, EngineError> {
        request.validate()?;
        self.settle_workflow(&base_key.namespace, &base_key.workflow_id)
            .await;
        let record_id = request
            .request_id
            .as_ref()
            .map(|id| RequestId::new(format!("reset:{id}")))
            .transpose()?;
        if let Some(request_id) = &record_id
            && let Some(record) = self
                .parts
                .storage
                .find_request(&base_key.namespace, &base_key.workflow_id, request_id)
                .await?
        {
            return Ok(record.run_id);
        }
        let (base, _, mut seen) = self.load(base_key).await?;
        let history = read_whole_history(&*self.parts.storage, base_key).await?;
        let mut successors = Vec::new();
        let mut next = base.new_execution_run_id();
        for _ in 0..RESET_SUCCESSORS_MAX {
            let Some(run_id) = next else { break };
            let key = ExecutionKey {
                run_id,
                ..base_key.clone()
            };
            let (machine, _, run_seen) = self.load(&key).await?;
            successors.extend(read_whole_history(&*self.parts.storage, &key).await?);
            seen = seen.max(run_seen);
            next = machine.new_execution_run_id();
        }
        let current = self
            .parts
            .storage
            .current_run(&base_key.namespace, &base_key.workflow_id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("workflow {}", base_key.workflow_id)))?;
        let current_key = ExecutionKey {
            run_id: current.run_id,
            ..base_key.clone()
        };
        let (before, db_version, current_seen) = self.load(&current_key).await?;
        let now = self.parts.clock.now().max(seen).max(current_seen);
        let new_run_id = self.next_run_id();
        let fork = ResetFork {
            base: &base,
            history: &history,
            successors: &successors,
            request: &request,
            new_run_id,
        };
        let (mut machine, mut new_effects) = ExecutionMachine::reset(fork, now)
            .map_err(|error| EngineError::BadRequest(error.to_string()))?;
        let mut after = ExecutionMachine::clone(&before);
        let mut effects = if before.status().is_closed() {
            Effects::default()
        } else {
            let terminate = Input::Terminate {
                reason: format!("reset: {}", request.reason),
                details: None,
                identity: request.identity.clone(),
            };
            after.apply(terminate, now)?
        };
        let new_key = ExecutionKey {
            run_id: new_run_id,
            ..base_key.clone()
        };
        let handoffs = self.sync_match(&new_key, &mut machine, &mut new_effects, now);
        effects.next_run = Some(Box::new(NextRun {
            machine,
            effects: new_effects,
        }));
        let records = record_id
            .map(|request_id| RequestRecord {
                namespace: base_key.namespace.clone(),
                workflow_id: base_key.workflow_id.clone(),
                request_id,
                run_id: new_run_id,
            })
            .into_iter()
            .collect();
        let changes = Changes {
            request_records: records,
            handoffs,
            ..Changes::default()
        };
        let before = Before {
            machine: &before,
            db_version,
            seen: now,
        };
        let ticket = self.commit_changes(&current_key, before, after, effects, changes, now)?;
        self.wait(ticket).await?;
        Ok(new_run_id)
    }
}
