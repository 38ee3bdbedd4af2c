//! Writes: a transition's new tasks matched to waiting pollers first (sync match), its
//! write planned ([`super::plan`]) and handed to the group committer — every write of the
//! shard goes through [`Shard::submit`].

use endure_core::clock::Clock;
use endure_core::execution::{Effects, ExecutionMachine, Input, Reply, Task};
use endure_core::history::HistoryEvent;
use endure_core::storage::{ExecutionKey, Storage};
use endure_core::time::Timestamp;
use tokio::sync::oneshot;

use super::actor::Shard;
use super::plan::{self, Before, Changes, Plan, PlanContext, dispatch_of};
use super::recent::{RecentEvents, Written};
use crate::engine::api::EngineError;
use crate::engine::in_flight::{Remembered, Ticket};
use crate::engine::matching::{Handoff, Poller, TaskKind};
use crate::engine::writer::CommitRequest;

impl<S: Storage, C: Clock> Shard<S, C> {
    /// Makes a transition from `before` to `next` durable: nothing is written when only
    /// what lives in memory changed (no ticket); otherwise the new tasks with a poller
    /// waiting are started in it (sync match, the successor run's too), and it is sent to
    /// be committed with `changes`, the started tasks handed over once it is durable.
    pub(super) fn write_transition(
        &mut self,
        key: &ExecutionKey,
        before: Before<'_>,
        mut next: ExecutionMachine,
        mut effects: Effects,
        mut changes: Changes,
        now: Timestamp,
    ) -> Result<Option<Ticket>, EngineError> {
        if next.durable_state_eq(before.machine)
            && effects.events.is_empty()
            && effects.tasks.is_empty()
            && changes.dispatch_deletes.is_empty()
        {
            if &next != before.machine {
                // Only what lives in memory changed (an update admitted): nothing to write.
                self.remember(Remembered {
                    key: key.clone(),
                    machine: next,
                    db_version: before.db_version,
                    seen: before.seen,
                    written: Written::default(),
                });
            }
            self.parts.updates.notify(key, &effects.updates);
            return Ok(None);
        }
        let mut handoffs = self.sync_match(key, &mut next, &mut effects, now);
        let recent = hands_over_workflow_task(&handoffs, key)
            .then(|| self.cache.get_mut(key))
            .flatten()
            .map(|cached| std::mem::take(&mut cached.recent));
        with_history(&mut handoffs, key, recent, &effects.events);
        if let Some(next_run) = effects.next_run.as_mut() {
            let next_key = ExecutionKey {
                run_id: next_run.machine.run_id(),
                ..key.clone()
            };
            let mut next_handoffs =
                self.sync_match(&next_key, &mut next_run.machine, &mut next_run.effects, now);
            with_history(
                &mut next_handoffs,
                &next_key,
                None,
                &next_run.effects.events,
            );
            handoffs.extend(next_handoffs);
        }
        changes.handoffs.extend(handoffs);
        let ticket = self.commit_changes(key, before, next, effects, changes, now)?;
        Ok(Some(ticket))
    }

    /// Sync match: each new task with a poller waiting is started in this same transition
    /// (one commit instead of two, no backlog row) and handed over after the commit.
    pub(super) fn sync_match(
        &mut self,
        key: &ExecutionKey,
        machine: &mut ExecutionMachine,
        effects: &mut Effects,
        now: Timestamp,
    ) -> Vec<(Poller, Handoff)> {
        let mut handoffs = Vec::new();
        let mut remaining = Vec::new();
        for task in std::mem::take(&mut effects.tasks) {
            let (task_queue, kind) = match &task {
                // Speculative tasks are only ever sync-matched: with no poller they are dropped
                // (no backlog row) and their schedule-to-start timeout makes them normal.
                Task::WorkflowTask { task_queue, .. } => {
                    (task_queue.name.clone(), TaskKind::Workflow)
                }
                Task::ActivityTask { task_queue, .. } => (task_queue.clone(), TaskKind::Activity),
                _ => {
                    remaining.push(task);
                    continue;
                }
            };
            let Some(poller) = self.parts.matching.take_poller(
                &key.namespace,
                &task_queue,
                kind,
                Some(&machine.versioning().directive()),
                &key.workflow_id,
            ) else {
                remaining.push(task);
                continue;
            };
            let request_id = format!("sync-{}", self.ids.next_task_id());
            let (_, dispatched) = dispatch_of(&task, &task_queue);
            let Some(input) = Input::task_started(&dispatched, request_id, poller.identity.clone())
            else {
                unreachable!("only workflow and activity tasks get here")
            };
            match machine.apply(input, now) {
                Ok(started) => {
                    effects.events.extend(started.events);
                    remaining.extend(started.tasks);
                    handoffs.push((
                        poller,
                        Handoff::Started {
                            execution: key.clone(),
                            reply: started.reply,
                            history: None,
                        },
                    ));
                }
                Err(_) => {
                    self.parts
                        .matching
                        .return_poller(&key.namespace, &task_queue, kind, poller);
                    remaining.push(task);
                }
            }
        }
        effects.tasks = remaining;
        handoffs
    }

    pub(super) fn with_fresh_run_ids(&mut self, input: Input) -> Input {
        match input {
            Input::WorkflowTaskCompleted(mut completion) => {
                completion.next_run_id = self.next_run_id();
                Input::WorkflowTaskCompleted(completion)
            }
            Input::Deadline { .. } => Input::Deadline {
                next_run_id: self.next_run_id(),
            },
            other => other,
        }
    }

    /// Sends the change of one run (and the next run of its chain, if any), as
    /// [`plan::commit`] plans it, to be committed.
    pub(super) fn commit_changes(
        &mut self,
        key: &ExecutionKey,
        before: Before<'_>,
        after: ExecutionMachine,
        effects: Effects,
        changes: Changes,
        now: Timestamp,
    ) -> Result<Ticket, EngineError> {
        let plan = plan::commit(
            &mut self.plan_context(key, now),
            key,
            before,
            after,
            effects,
            changes,
        )?;
        self.submit(plan)
    }

    /// What a plan for run `key` at `now` reads from the shard.
    pub(super) fn plan_context(&mut self, key: &ExecutionKey, now: Timestamp) -> PlanContext<'_> {
        PlanContext {
            shard: self.id,
            range: self.range,
            ids: &mut self.ids,
            retention: self.parts.namespaces.retention(&key.namespace),
            armed: self.deadlines.of(key),
            now,
            outbox: &self.outbox_queue,
        }
    }

    /// Sends a plan's write to the group-commit writer; its settle is what the shard does
    /// once the write is durable. Every write of the shard goes through here.
    pub(super) fn submit(&mut self, plan: Plan) -> Result<Ticket, EngineError> {
        let Plan { write, settle } = plan;
        let workflow = (write.namespace.clone(), write.workflow_id.clone());
        let (reply, result) = oneshot::channel();
        self.parts
            .writer
            .send(CommitRequest { write, reply })
            .map_err(|_| EngineError::Shutdown)?;
        Ok(self.in_flight.push(workflow, result, settle))
    }
}

/// Gives the workflow task of run `key` sync-matched in a write, if there is one, the
/// events its worker lacks — those after its previous task if it is sticky, else the run's
/// whole history — when the shard has them all at hand: `recent`, the run's latest durable
/// events (moved into the handoff: no later sticky task asks for them, see
/// [`super::recent::sticky_from`]), and `events`, the write's. Its poll then reads nothing back
/// ([`Handoff::Started`]); a task whose events are not all at hand is handed over without,
/// and its poll reads them.
pub(super) fn with_history(
    handoffs: &mut [(Poller, Handoff)],
    key: &ExecutionKey,
    recent: Option<RecentEvents>,
    events: &[HistoryEvent],
) {
    let mut recent = recent;
    for (_, handoff) in handoffs {
        if let Handoff::Started {
            execution,
            reply: Reply::WorkflowTaskStarted(started),
            history,
        } = handoff
            && execution == key
        {
            *history = recent
                .take()
                .unwrap_or_default()
                .into_events_since(started.history_from(), events);
        }
    }
}

/// Whether one of `handoffs` is a workflow task of run `key`.
fn hands_over_workflow_task(handoffs: &[(Poller, Handoff)], key: &ExecutionKey) -> bool {
    handoffs.iter().any(|(_, handoff)| {
        matches!(
            handoff,
            Handoff::Started {
                execution,
                reply: Reply::WorkflowTaskStarted(_),
                ..
            } if execution == key
        )
    })
}

/// Hands sync-matched tasks to their pollers once their start is durable. A poller that
/// gave up meanwhile loses nothing: the task, recorded as started, times out and is retried.
pub(super) fn deliver(handoffs: Vec<(Poller, Handoff)>) {
    for (poller, handoff) in handoffs {
        let _ = poller.sender.send(handoff);
    }
}
