//! Deadlines firing: the in-memory window of due runs refilled from storage, a due run's
//! timeout or timer applied, and a closed run deleted once its retention has passed.

use endure_core::RunId;
use endure_core::clock::Clock;
use endure_core::execution::{ExecutionMachine, Input};
use endure_core::storage::{
    DeadlineRow, ExecutionKey, RunDeletion, Storage, StorageError, WorkflowWrite,
};
use endure_core::time::Timestamp;

use super::actor::{RETENTION_RETRY, Shard};
use super::plan::Plan;
use crate::engine::api::EngineError;
use crate::engine::deadlines;
use crate::engine::in_flight::{Answer, Settle};

impl<S: Storage, C: Clock> Shard<S, C> {
    /// The deadline rows due within the window from `now`, the window's edge, and — when
    /// the rows did not fill the read — the time of the first row past the edge (see
    /// [`Deadlines::refilled`]).
    pub(super) async fn read_window(
        &self,
        now: Timestamp,
    ) -> Result<(Vec<DeadlineRow>, Timestamp, Option<Timestamp>), StorageError> {
        let until = now.saturating_add(deadlines::WINDOW);
        let rows = self
            .parts
            .storage
            .due_deadlines(self.id, until, deadlines::LOAD_MAX)
            .await?;
        if rows.len() >= deadlines::LOAD_MAX {
            return Ok((rows, until, None));
        }
        // The rows again and one more: the first past the edge, if any.
        let next_beyond = self
            .parts
            .storage
            .due_deadlines(self.id, deadlines::NEVER, rows.len() + 1)
            .await?
            .get(rows.len())
            .map(|row| row.time);
        Ok((rows, until, next_beyond))
    }

    /// Reads in the deadline rows due within the window (see [`Deadlines`]).
    pub(super) async fn refill(&mut self, now: Timestamp) {
        match self.read_window(now).await {
            Ok((rows, until, next_beyond)) => {
                self.deadlines.refilled(rows, until, now, next_beyond);
            }
            Err(error) => {
                tracing::warn!(shard = self.id.0, %error, "reading deadlines failed; retrying");
                self.deadlines.refill_failed(now);
            }
        }
    }

    pub(super) async fn fire_due(&mut self) {
        let now = self.parts.clock.now();
        let due = self.deadlines.due(now);
        for key in due {
            // A write of this workflow still in flight may move the deadline: a transition
            // that closed the run replaces its timer with the end of its retention. Settle
            // it first and fire only what is still due, or a run that just closed would be
            // deleted as though its retention had passed.
            self.settle_workflow(&key.namespace, &key.workflow_id).await;
            let Some(time) = self.deadlines.of(&key).filter(|time| *time <= now) else {
                continue;
            };
            metrics::counter!(crate::engine::instruments::DEADLINES_FIRED).increment(1);
            metrics::histogram!(crate::engine::instruments::DEADLINE_LATENESS)
                .record(crate::engine::instruments::seconds(time, now));
            self.arm(key.clone(), None);
            if self.expire_if_closed(&key, now).await {
                continue;
            }
            // The transition draws the run id a retry or cron run would get.
            let deadline = Input::Deadline {
                next_run_id: RunId::from_u128(0),
            };
            match self.transition(&key, deadline, None).await {
                Ok((_, Some(ticket))) => self.in_flight.answer(ticket, Answer::Deadline(key)),
                Ok((_, None)) => {}
                Err(error) => self.deadline_failed(&key, &error).await,
            }
        }
    }

    /// A deadline's transition failed (before its write or in it): the run's stored
    /// deadline is armed again so it is retried.
    pub(super) async fn deadline_failed(&mut self, key: &ExecutionKey, error: &EngineError) {
        tracing::warn!(execution = ?key, %error, "deadline transition failed; the run is reloaded on its next input");
        if let Ok(Some(row)) = self.parts.storage.load_execution(key).await
            && let Ok(machine) = ExecutionMachine::from_row(&row)
        {
            self.arm(key.clone(), machine.next_deadline());
        }
    }

    /// A closed run's deadline is the end of its retention: deletes the run, unless the
    /// outbox still has work for it (a parent close policy, a report to its parent), which
    /// postpones the deletion. Returns whether the run was closed (or gone), so that no
    /// deadline input is applied to it.
    pub(super) async fn expire_if_closed(&mut self, key: &ExecutionKey, now: Timestamp) -> bool {
        self.settle_workflow(&key.namespace, &key.workflow_id).await;
        // Closed runs are never cached: the stored row says all that is needed.
        let db_version = match self.parts.storage.load_execution(key).await {
            Ok(Some(row)) if row.status.is_closed() => row.db_version,
            Ok(Some(_)) | Err(_) => return false,
            Ok(None) => return true,
        };
        let retry_at = now.saturating_add(RETENTION_RETRY);
        match self.delete_stored_run(key, db_version).await {
            Ok(true) => tracing::debug!(execution = ?key, "retention passed: run deleted"),
            Ok(false) => self.arm(key.clone(), Some(retry_at)),
            Err(error) => {
                tracing::warn!(execution = ?key, %error, "deleting a run past its retention failed; retrying later");
                self.arm(key.clone(), Some(retry_at));
            }
        }
        true
    }

    /// A client's deletion of a closed run (`Engine::delete_workflow`).
    pub(super) async fn delete(&mut self, key: &ExecutionKey) -> Result<(), EngineError> {
        self.settle_workflow(&key.namespace, &key.workflow_id).await;
        let db_version = match self.parts.storage.load_execution(key).await? {
            Some(row) if row.status.is_closed() => row.db_version,
            Some(_) => {
                return Err(EngineError::NotReady(
                    "the run is still open; it is terminated before it is deleted".into(),
                ));
            }
            None => return Err(EngineError::NotFound(format!("{key}"))),
        };
        if self.delete_stored_run(key, db_version).await? {
            self.arm(key.clone(), None);
            Ok(())
        } else {
            Err(EngineError::NotReady(
                "the run still has signals, cancel requests or child close policies to send".into(),
            ))
        }
    }

    /// Deletes closed run `key`, stored at `db_version` — its row, history, deadline,
    /// visibility row and request records — unless the outbox still has work for it;
    /// whether it did. The deletion is a write like any other: group-committed under the
    /// shard's lease, and waited for.
    pub(super) async fn delete_stored_run(
        &mut self,
        key: &ExecutionKey,
        db_version: u64,
    ) -> Result<bool, EngineError> {
        if self.outbox_rows.has_pending(key) {
            return Ok(false);
        }
        let write = WorkflowWrite {
            shard: self.id,
            range_id: self.range,
            namespace: key.namespace.clone(),
            workflow_id: key.workflow_id.clone(),
            runs: Vec::new(),
            current_run: None,
            request_ids: Vec::new(),
            deletion: Some(RunDeletion {
                key: key.clone(),
                db_version,
            }),
        };
        let ticket = self.submit(Plan {
            write,
            settle: Settle::new(key.clone()),
        })?;
        self.wait(ticket).await?;
        self.forget(key);
        Ok(true)
    }
}
