//! Writes: a transition's effects turned into one conditional write (the run's new state,
//! history, backlog rows, visibility, deadlines, request records), tasks matched to waiting
//! pollers first, and the write handed to the group committer.

use endure_core::clock::Clock;
use endure_core::execution::{Effects, ExecutionMachine, Input, NextRun, Task};
use endure_core::history::{EventAttributes, HistoryEvent};
use endure_core::storage::{
    CurrentRun, CurrentRunWrite, DeadlineUpdate, DispatchKey, DispatchRow, DispatchTask,
    ExecutionKey, ExecutionRow, RequestRecord, RunCondition, RunWrite, Storage, VisibilityRow,
    WorkflowWrite, outbox_queue,
};
use endure_core::time::Timestamp;
use endure_core::{TaskQueueName, WorkflowExecutionStatus};
use tokio::sync::oneshot;

use super::actor::Shard;
use crate::engine::api::EngineError;
use crate::engine::in_flight::{Settle, Ticket};
use crate::engine::matching::{Handoff, Poller, TaskKind};
use crate::engine::writer::CommitRequest;

impl<S: Storage, C: Clock> Shard<S, C> {
    /// Makes a transition from `machine` (at `db_version`, having seen `seen`) to `next`
    /// durable: nothing is written when only what lives in memory changed (no ticket);
    /// otherwise the new tasks with a poller waiting are started in it (sync match, the
    /// successor run's too), and it is sent to be committed with `deletes` and `records`,
    /// the started tasks handed over once it is durable.
    pub(super) fn write_transition(
        &mut self,
        key: &ExecutionKey,
        (machine, db_version, seen): (&ExecutionMachine, u64, Timestamp),
        mut next: ExecutionMachine,
        mut effects: Effects,
        (deletes, records): (Vec<DispatchKey>, Vec<RequestRecord>),
        now: Timestamp,
    ) -> Result<Option<Ticket>, EngineError> {
        if next.durable_state_eq(machine)
            && effects.events.is_empty()
            && effects.tasks.is_empty()
            && deletes.is_empty()
        {
            if &next != machine {
                // Only what lives in memory changed (an update admitted): nothing to write.
                self.remember(key.clone(), next, db_version, seen);
            }
            self.updates.notify(key, &effects.updates);
            return Ok(None);
        }
        let mut handoffs = self.sync_match(key, &mut next, &mut effects, now);
        if let Some(next_run) = effects.next_run.as_mut() {
            let next_key = ExecutionKey {
                run_id: next_run.machine.run_id(),
                ..key.clone()
            };
            handoffs.extend(self.sync_match(
                &next_key,
                &mut next_run.machine,
                &mut next_run.effects,
                now,
            ));
        }
        let ticket = self.commit_changes(
            key,
            (machine, db_version),
            next,
            effects,
            (deletes, records),
            (handoffs, now),
        )?;
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
            let Some(poller) = self.matching.take_poller(&key.namespace, &task_queue, kind) else {
                remaining.push(task);
                continue;
            };
            let request_id = format!("sync-{}", self.next_task_id());
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
                        },
                    ));
                }
                Err(_) => {
                    self.matching
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

    /// Sends the change of one run (and the next run of its chain, if any) to be committed;
    /// its effects are released, and `handoffs` delivered, once it is durable. The new
    /// machines and events move into the write and the settle: none of them is copied.
    pub(super) fn commit_changes(
        &mut self,
        key: &ExecutionKey,
        (before, db_version): (&ExecutionMachine, u64),
        after: ExecutionMachine,
        effects: Effects,
        (dispatch_deletes, request_ids): (Vec<DispatchKey>, Vec<RequestRecord>),
        (handoffs, now): (Vec<(Poller, Handoff)>, Timestamp),
    ) -> Result<Ticket, EngineError> {
        let Effects {
            events,
            tasks,
            next_run,
            updates,
            warnings,
            ..
        } = effects;
        let (mut run, rows) = self.run_write(
            key,
            RunCondition::DbVersion(db_version),
            &after,
            events,
            &tasks,
            now,
        )?;
        let (outbox_namespace, outbox) = outbox_queue(self.id);
        let outbox_deleted = dispatch_deletes
            .iter()
            .filter(|row| row.namespace == outbox_namespace && row.task_queue == outbox)
            .cloned()
            .collect();
        run.dispatch_deletes = dispatch_deletes;
        let mut released = vec![(key.clone(), rows, self.armed_after(key, run.deadline))];
        let mut runs = vec![run];
        let mut current_run = (after.status() != before.status()).then(|| CurrentRunWrite {
            expected: Some(key.run_id),
            new: CurrentRun {
                run_id: key.run_id,
                status: after.status(),
                start_request_id: None,
            },
        });
        let closed = after.status().is_closed() && !before.status().is_closed();
        let mut remember = vec![(key.clone(), after, db_version + 1, now)];
        if let Some(next_run) = next_run {
            let NextRun { machine, effects } = *next_run;
            let next_key = ExecutionKey {
                run_id: machine.run_id(),
                ..key.clone()
            };
            let (run, rows) = self.run_write(
                &next_key,
                RunCondition::Create,
                &machine,
                effects.events,
                &effects.tasks,
                now,
            )?;
            runs.push(run);
            released.push((next_key.clone(), rows, machine.next_deadline()));
            current_run = Some(CurrentRunWrite {
                expected: Some(key.run_id),
                new: CurrentRun {
                    run_id: next_key.run_id,
                    status: WorkflowExecutionStatus::Running,
                    start_request_id: None,
                },
            });
            remember.push((next_key, machine, 1, now));
        }
        let write = WorkflowWrite {
            shard: self.id,
            range_id: self.range,
            namespace: key.namespace.clone(),
            workflow_id: key.workflow_id.clone(),
            runs,
            current_run,
            request_ids,
            deletion: None,
        };
        let settle = Settle {
            closed,
            warnings,
            updates,
            remember,
            released,
            handoffs,
            outbox_deleted,
            ..Settle::new(key.clone())
        };
        self.submit(write, settle)
    }

    /// The write of one run's new state, and the backlog rows of its new tasks.
    pub(super) fn run_write(
        &mut self,
        key: &ExecutionKey,
        condition: RunCondition,
        machine: &ExecutionMachine,
        events: Vec<HistoryEvent>,
        tasks: &[Task],
        now: Timestamp,
    ) -> Result<(RunWrite, Vec<DispatchRow>), EngineError> {
        let state = machine.to_state(key)?;
        let db_version = match condition {
            RunCondition::Create => 1,
            RunCondition::DbVersion(version) => version + 1,
        };
        let (outbox_namespace, outbox) = outbox_queue(self.id);
        // A speculative task's row is only offered to matching, never stored: if it is
        // lost, its schedule-to-start timeout makes the task a normal one.
        let rows: Vec<(DispatchRow, bool)> = tasks
            .iter()
            .map(|task| {
                let stored = !matches!(
                    task,
                    Task::WorkflowTask {
                        speculative: true,
                        ..
                    }
                );
                let (task_queue, task) = dispatch_of(task, &outbox);
                let row = DispatchRow {
                    namespace: if task.is_outbox() {
                        outbox_namespace.clone()
                    } else {
                        key.namespace.clone()
                    },
                    task_queue,
                    task_id: self.next_task_id(),
                    execution: key.clone(),
                    task,
                };
                (row, stored)
            })
            .collect();
        let visibility = visibility_row(key, machine, &events, now);
        let deadline = self.deadline_update(key, machine, &events, now);
        let write = RunWrite {
            condition,
            row: ExecutionRow {
                key: key.clone(),
                shard: self.id,
                db_version,
                next_event_id: machine.next_event_id(),
                status: machine.status(),
                state,
            },
            history: events,
            deadline,
            dispatch_inserts: rows
                .iter()
                .filter(|(_, stored)| *stored)
                .map(|(row, _)| row.clone())
                .collect(),
            dispatch_deletes: Vec::new(),
            visibility,
        };
        Ok((write, rows.into_iter().map(|(row, _)| row).collect()))
    }

    /// The run's durable deadline after a transition: the machine's next one while it is
    /// open; once it closes, the end of its namespace's retention, set by the transition
    /// that closed it (Temporal's DELETE_HISTORY_EVENT timer) and kept after that.
    pub(super) fn deadline_update(
        &self,
        key: &ExecutionKey,
        machine: &ExecutionMachine,
        events: &[HistoryEvent],
        now: Timestamp,
    ) -> DeadlineUpdate {
        if !machine.status().is_closed() {
            return machine
                .next_deadline()
                .map_or(DeadlineUpdate::Clear, DeadlineUpdate::Set);
        }
        if events.iter().any(|event| event.event_type().is_closing()) {
            DeadlineUpdate::Set(now.saturating_add(self.namespaces.retention(&key.namespace)))
        } else {
            DeadlineUpdate::Keep
        }
    }

    /// The in-memory deadline that mirrors a run's durable one after `update`.
    pub(super) fn armed_after(
        &self,
        key: &ExecutionKey,
        update: DeadlineUpdate,
    ) -> Option<Timestamp> {
        match update {
            DeadlineUpdate::Set(time) => Some(time),
            DeadlineUpdate::Clear => None,
            DeadlineUpdate::Keep => self.deadlines.of(key),
        }
    }

    /// Sends `write` to the group-commit writer; `settle` is what it does once durable.
    pub(super) fn submit(
        &mut self,
        write: WorkflowWrite,
        settle: Settle,
    ) -> Result<Ticket, EngineError> {
        let workflow = (write.namespace.clone(), write.workflow_id.clone());
        let (reply, result) = oneshot::channel();
        self.writer
            .send(CommitRequest { write, reply })
            .map_err(|_| EngineError::Shutdown)?;
        Ok(self.in_flight.push(workflow, result, settle))
    }
}

/// The stored row kind of a task, and the queue it goes to (`outbox` for the engine's own).
pub(super) fn dispatch_of(task: &Task, outbox: &TaskQueueName) -> (TaskQueueName, DispatchTask) {
    match task {
        Task::WorkflowTask {
            scheduled_event_id,
            attempt,
            task_queue,
            ..
        } => (
            task_queue.name.clone(),
            DispatchTask::WorkflowTask {
                scheduled_event_id: *scheduled_event_id,
                attempt: *attempt,
            },
        ),
        Task::ActivityTask {
            scheduled_event_id,
            attempt,
            task_queue,
        } => (
            task_queue.clone(),
            DispatchTask::ActivityTask {
                scheduled_event_id: *scheduled_event_id,
                attempt: *attempt,
            },
        ),
        Task::SignalExternalWorkflow { initiated_event_id } => (
            outbox.clone(),
            DispatchTask::SignalExternalWorkflow {
                initiated_event_id: *initiated_event_id,
            },
        ),
        Task::RequestCancelExternalWorkflow { initiated_event_id } => (
            outbox.clone(),
            DispatchTask::RequestCancelExternalWorkflow {
                initiated_event_id: *initiated_event_id,
            },
        ),
        Task::StartChildWorkflow { initiated_event_id } => (
            outbox.clone(),
            DispatchTask::StartChildWorkflow {
                initiated_event_id: *initiated_event_id,
            },
        ),
        Task::ApplyParentClosePolicy { initiated_event_id } => (
            outbox.clone(),
            DispatchTask::ApplyParentClosePolicy {
                initiated_event_id: *initiated_event_id,
            },
        ),
        Task::RecordChildCompletion => (outbox.clone(), DispatchTask::RecordChildCompletion),
    }
}

/// Hands sync-matched tasks to their pollers once their start is durable. A poller that
/// gave up meanwhile loses nothing: the task, recorded as started, times out and is retried.
pub(super) fn deliver(handoffs: Vec<(Poller, Handoff)>) {
    for (poller, handoff) in handoffs {
        let _ = poller.sender.send(handoff);
    }
}

/// The visibility row of a run, when this transition started or closed it.
pub(super) fn visibility_row(
    key: &ExecutionKey,
    machine: &ExecutionMachine,
    events: &[HistoryEvent],
    now: Timestamp,
) -> Option<VisibilityRow> {
    let started = events.iter().any(|event| {
        matches!(
            event.attributes,
            EventAttributes::WorkflowExecutionStarted(_)
        )
    });
    let closed = events.iter().any(|event| event.event_type().is_closing());
    let upserted = events.iter().any(|event| {
        matches!(
            event.attributes,
            EventAttributes::UpsertWorkflowSearchAttributes(_)
                | EventAttributes::WorkflowPropertiesModified(_)
        )
    });
    if !started && !closed && !upserted {
        return None;
    }
    Some(VisibilityRow {
        execution: key.clone(),
        workflow_type: machine.workflow_type().clone(),
        task_queue: machine.task_queue().clone(),
        status: machine.status(),
        start_time: machine.start_time(),
        close_time: closed.then_some(now),
        memo: machine.memo().clone(),
        search_attributes: machine.search_attributes().clone(),
    })
}
