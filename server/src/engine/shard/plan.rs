//! A transition's write, planned: a run's new state and effects as one conditional write
//! (state, history, backlog rows, visibility, deadline, request records) and what the shard
//! does once it is durable ([`Settle`]). No IO and no clock: what a plan reads from its
//! shard — the shard's id and lease, ids to draw, the namespace's retention, the run's
//! armed deadline, `now` — comes in a [`PlanContext`]; the shard submits the [`Plan`].

use std::time::Duration;

use endure_core::execution::{Effects, ExecutionMachine, NextRun, Task};
use endure_core::history::{EventAttributes, HistoryEvent};
use endure_core::storage::{
    CurrentRun, CurrentRunWrite, DeadlineUpdate, DispatchKey, DispatchRow, DispatchTask,
    ExecutionKey, ExecutionRow, RangeId, RequestRecord, RunCondition, RunWrite, ShardId,
    VisibilityRow, WorkflowWrite,
};
use endure_core::time::Timestamp;
use endure_core::versioning::TaskDirective;
use endure_core::{Namespace, RequestId, RunId, TaskQueueName, WorkflowExecutionStatus};

use super::actor::stays_cached;
use super::ids::IdSource;
use super::recent::{RECENT_EVENTS_BYTES_MAX, Written, sticky_from};
use crate::engine::api::EngineError;
use crate::engine::in_flight::{Remembered, Settle};
use crate::engine::matching::{Handoff, Poller};

/// A run as a transition found it.
#[derive(Clone, Copy)]
pub(super) struct Before<'a> {
    /// Its machine.
    pub(super) machine: &'a ExecutionMachine,
    /// The version its write is conditioned on.
    pub(super) db_version: u64,
    /// The latest time it has seen (inputs apply no earlier).
    pub(super) seen: Timestamp,
}

/// What a transition writes besides the run's own rows, and hands over once durable.
#[derive(Default)]
pub(super) struct Changes {
    /// Backlog rows the transition consumed.
    pub(super) dispatch_deletes: Vec<DispatchKey>,
    /// Request ids it records (signals, cancels, resets: deduplicated across the chain).
    pub(super) request_records: Vec<RequestRecord>,
    /// Tasks started in it, for the pollers waiting for them.
    pub(super) handoffs: Vec<(Poller, Handoff)>,
}

/// What a plan reads from its shard.
pub(super) struct PlanContext<'a> {
    /// The shard.
    pub(super) shard: ShardId,
    /// Its lease: every write is fenced by it.
    pub(super) range: RangeId,
    /// Where backlog task ids come from.
    pub(super) ids: &'a mut IdSource,
    /// The run's namespace's retention: a closing run is deleted that long after.
    pub(super) retention: Duration,
    /// The run's deadline armed now.
    pub(super) armed: Option<Timestamp>,
    /// The transition's time.
    pub(super) now: Timestamp,
    /// The shard's outbox queue ([`outbox_queue`](endure_core::storage::outbox_queue)), made
    /// once per shard.
    pub(super) outbox: &'a (Namespace, TaskQueueName),
}

/// A write and what to do once it is durable.
pub(super) struct Plan {
    /// The conditional write.
    pub(super) write: WorkflowWrite,
    /// Its settle.
    pub(super) settle: Settle,
}

/// The change of one run (and the next run of its chain, if any) as one conditional
/// write, and what to do once it is durable: release the effects, deliver `changes`'
/// handoffs. The new machines and events move into the write and the settle: none of them
/// is copied, but for the events of a run that stays cached (its sticky tasks get them).
pub(super) fn commit(
    ctx: &mut PlanContext<'_>,
    key: &ExecutionKey,
    before: Before<'_>,
    after: ExecutionMachine,
    effects: Effects,
    changes: Changes,
) -> Result<Plan, EngineError> {
    let Changes {
        dispatch_deletes,
        request_records: request_ids,
        handoffs,
    } = changes;
    let (db_version, now) = (before.db_version, ctx.now);
    let before = before.machine;
    let Effects {
        events,
        tasks,
        next_run,
        updates,
        warnings,
        ..
    } = effects;
    let closed = after.status().is_closed() && !before.status().is_closed();
    let closing_event = closed.then(|| closing_event(&events)).flatten();
    let written = written_events(
        &after,
        &events,
        after
            .history_size_bytes()
            .saturating_sub(before.history_size_bytes()),
    );
    let (mut run, rows) = run_write(
        ctx,
        key,
        RunCondition::DbVersion(db_version),
        &after,
        events,
        &tasks,
    )?;
    let (outbox_namespace, outbox) = ctx.outbox;
    let outbox_deleted = dispatch_deletes
        .iter()
        .filter(|row| row.namespace == *outbox_namespace && row.task_queue == *outbox)
        .cloned()
        .collect();
    run.dispatch_deletes = dispatch_deletes;
    let mut released = vec![(key.clone(), rows, armed_after(ctx.armed, run.deadline))];
    let mut runs = vec![run];
    let mut current_run = (after.status() != before.status()).then(|| CurrentRunWrite {
        expected: Some(key.run_id),
        new: CurrentRun {
            run_id: key.run_id,
            status: after.status(),
            start_request_id: None,
        },
    });
    let mut remember = vec![Remembered {
        key: key.clone(),
        machine: after,
        db_version: db_version + 1,
        seen: now,
        written,
    }];
    if let Some(next_run) = next_run {
        let NextRun { machine, effects } = *next_run;
        let next_key = ExecutionKey {
            run_id: machine.run_id(),
            ..key.clone()
        };
        let written = written_events(&machine, &effects.events, machine.history_size_bytes());
        let (run, rows) = run_write(
            ctx,
            &next_key,
            RunCondition::Create,
            &machine,
            effects.events,
            &effects.tasks,
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
        remember.push(Remembered {
            key: next_key,
            machine,
            db_version: 1,
            seen: now,
            written,
        });
    }
    let write = WorkflowWrite {
        shard: ctx.shard,
        range_id: ctx.range,
        namespace: key.namespace.clone(),
        workflow_id: key.workflow_id.clone(),
        runs,
        current_run,
        request_ids,
        deletion: None,
    };
    let settle = Settle {
        closed,
        closing_event,
        warnings,
        updates,
        remember,
        released,
        handoffs,
        outbox_deleted,
        ..Settle::new(key.clone())
    };
    Ok(Plan { write, settle })
}

/// The events of a write that a run's cache entry keeps (see [`super::recent`]), copied:
/// none if the run does not stay cached, only those a sticky task could ask for
/// ([`sticky_from`]), none if the write's events are over the limit.
fn written_events(machine: &ExecutionMachine, events: &[HistoryEvent], bytes: u64) -> Written {
    if !stays_cached(machine) || bytes > RECENT_EVENTS_BYTES_MAX {
        return Written::default();
    }
    let from = sticky_from(machine);
    let kept = events.partition_point(|event| event.event_id < from);
    Written {
        events: events[kept..].to_vec(),
        // At most: what the write's events take (those not kept included).
        bytes,
    }
}

/// The closing event of a transition that closed its run (the one event copied, for those
/// waiting for the close).
fn closing_event(events: &[HistoryEvent]) -> Option<HistoryEvent> {
    let closing = events
        .iter()
        .rfind(|event| event.event_type().is_closing())
        .cloned();
    debug_assert!(closing.is_some(), "a run closes with its closing event");
    closing
}

/// What a start changes in its workflow id's chain.
pub(super) struct NewChain {
    /// The current run it replaces (closed, or terminated by the start), if any.
    pub(super) replaced: Option<RunId>,
    /// The start's request id, which deduplicates it.
    pub(super) request_id: Option<RequestId>,
}

/// A new run's creation as one conditional write: the run, the workflow id's current run
/// (conditioned on the one it replaces), the start's request record; handing `handoffs`
/// over once durable.
pub(super) fn start(
    ctx: &mut PlanContext<'_>,
    key: &ExecutionKey,
    machine: ExecutionMachine,
    mut effects: Effects,
    chain: NewChain,
    handoffs: Vec<(Poller, Handoff)>,
) -> Result<Plan, EngineError> {
    let written = written_events(&machine, &effects.events, machine.history_size_bytes());
    let (run, rows) = run_write(
        ctx,
        key,
        RunCondition::Create,
        &machine,
        std::mem::take(&mut effects.events),
        &effects.tasks,
    )?;
    let write = WorkflowWrite {
        shard: ctx.shard,
        range_id: ctx.range,
        namespace: key.namespace.clone(),
        workflow_id: key.workflow_id.clone(),
        runs: vec![run],
        current_run: Some(CurrentRunWrite {
            expected: chain.replaced,
            new: CurrentRun {
                run_id: key.run_id,
                status: WorkflowExecutionStatus::Running,
                start_request_id: chain.request_id.clone(),
            },
        }),
        request_ids: chain
            .request_id
            .into_iter()
            .map(|request_id| RequestRecord {
                namespace: key.namespace.clone(),
                workflow_id: key.workflow_id.clone(),
                request_id,
                run_id: key.run_id,
            })
            .collect(),
        deletion: None,
    };
    let deadline = machine.next_deadline();
    let settle = Settle {
        remember: vec![Remembered {
            key: key.clone(),
            machine,
            db_version: 1,
            seen: ctx.now,
            written,
        }],
        released: vec![(key.clone(), rows, deadline)],
        handoffs,
        ..Settle::new(key.clone())
    };
    Ok(Plan { write, settle })
}

/// The write of one run's new state, and the backlog rows of its new tasks.
pub(super) fn run_write(
    ctx: &mut PlanContext<'_>,
    key: &ExecutionKey,
    condition: RunCondition,
    machine: &ExecutionMachine,
    events: Vec<HistoryEvent>,
    tasks: &[Task],
) -> Result<(RunWrite, Vec<DispatchRow>), EngineError> {
    let now = ctx.now;
    let state = machine.to_state(key)?;
    let db_version = match condition {
        RunCondition::Create => 1,
        RunCondition::DbVersion(version) => version + 1,
    };
    let (outbox_namespace, outbox) = ctx.outbox;
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
            let (task_queue, task) = dispatch_of(task, outbox);
            let row = DispatchRow {
                namespace: if task.is_outbox() {
                    outbox_namespace.clone()
                } else {
                    key.namespace.clone()
                },
                task_queue,
                task_id: ctx.ids.next_task_id(),
                execution: key.clone(),
                task,
                // A pinned run's tasks go to its build; every other row is routed (`None`,
                // which costs no bytes in the row).
                directive: match machine.versioning().directive() {
                    TaskDirective::Pinned(version) if !task.is_outbox() => {
                        Some(TaskDirective::Pinned(version))
                    }
                    _ => None,
                },
            };
            (row, stored)
        })
        .collect();
    let visibility = visibility_row(key, machine, &events, now);
    let deadline = deadline_update(ctx.retention, machine, &events, now);
    let write = RunWrite {
        condition,
        row: ExecutionRow {
            key: key.clone(),
            shard: ctx.shard,
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
fn deadline_update(
    retention: Duration,
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
        DeadlineUpdate::Set(now.saturating_add(retention))
    } else {
        DeadlineUpdate::Keep
    }
}

/// The in-memory deadline that mirrors a run's durable one after `update`, `armed` being
/// the one armed before.
fn armed_after(armed: Option<Timestamp>, update: DeadlineUpdate) -> Option<Timestamp> {
    match update {
        DeadlineUpdate::Set(time) => Some(time),
        DeadlineUpdate::Clear => None,
        DeadlineUpdate::Keep => armed,
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
    // A versioned worker's completion may pin or move the run: listed by its version.
    let versioned = events.iter().any(|event| {
        matches!(&event.attributes, EventAttributes::WorkflowTaskCompleted(completed)
            if completed.worker_deployment_version.is_some())
    });
    if !started && !closed && !upserted && !versioned {
        return None;
    }
    let mut search_attributes = machine.search_attributes().clone();
    versioning_search_attributes(machine, &mut search_attributes);
    Some(VisibilityRow {
        execution: key.clone(),
        workflow_type: machine.workflow_type().clone(),
        task_queue: machine.task_queue().clone(),
        status: machine.status(),
        start_time: machine.start_time(),
        close_time: closed.then_some(now),
        memo: machine.memo().clone(),
        search_attributes,
    })
}

/// Temporal's system search attributes of a versioned run, so lists can filter by version
/// (`TemporalWorkerDeploymentVersion = 'orders.2'`) and a version's drainage counts its
/// open pinned runs.
fn versioning_search_attributes(
    machine: &ExecutionMachine,
    search_attributes: &mut endure_core::SearchAttributes,
) {
    use endure_core::SearchAttributeValue::Keyword;
    use endure_core::versioning::search_attributes as names;
    let versioning = machine.versioning();
    if let Some(version) = &versioning.version {
        search_attributes.insert(names::DEPLOYMENT, Keyword(version.deployment_name.clone()));
        search_attributes.insert(names::VERSION, Keyword(version.to_string()));
    }
    let behavior = versioning.effective_behavior();
    if behavior != endure_core::VersioningBehavior::Unspecified {
        search_attributes.insert(names::BEHAVIOR, Keyword(format!("{behavior:?}")));
    }
}

#[cfg(test)]
mod tests {
    use endure_core::execution::{Input, StartRequest};
    use endure_core::{
        Header, Namespace, Payloads, StartWorkflowOptions, TaskQueueName, WorkflowId, WorkflowType,
    };

    use super::*;

    const RETENTION: Duration = Duration::from_secs(3_600);

    fn now() -> Timestamp {
        Timestamp::from_unix_seconds(1_795_860_000)
    }

    fn key() -> ExecutionKey {
        ExecutionKey {
            namespace: Namespace::default(),
            workflow_id: WorkflowId::new("order-1").unwrap(),
            run_id: RunId::from_u128(7),
        }
    }

    fn context(ids: &mut IdSource, armed: Option<Timestamp>) -> PlanContext<'_> {
        static OUTBOX: std::sync::LazyLock<(Namespace, TaskQueueName)> =
            std::sync::LazyLock::new(|| endure_core::storage::outbox_queue(ShardId(3)));
        PlanContext {
            shard: ShardId(3),
            range: RangeId(2),
            ids,
            retention: RETENTION,
            armed,
            now: now(),
            outbox: &OUTBOX,
        }
    }

    fn started() -> (ExecutionMachine, Effects) {
        let options =
            StartWorkflowOptions::new(key().workflow_id, TaskQueueName::new("orders").unwrap());
        let request = StartRequest::from_options(
            Namespace::default(),
            &options,
            key().run_id,
            WorkflowType::new("Order").unwrap(),
            Payloads::default(),
            Header::new(),
            "client".into(),
            now(),
        )
        .unwrap();
        ExecutionMachine::start(request, now())
    }

    #[test]
    fn a_start_creates_its_run_its_current_run_and_its_request_record() {
        let (machine, effects) = started();
        let mut ids = IdSource::new(ShardId(3), RangeId(2));
        let chain = NewChain {
            replaced: Some(RunId::from_u128(5)),
            request_id: Some(RequestId::new("start-1").unwrap()),
        };
        let plan = start(
            &mut context(&mut ids, None),
            &key(),
            machine,
            effects,
            chain,
            Vec::new(),
        )
        .unwrap();
        let write = &plan.write;
        assert_eq!((write.shard, write.range_id), (ShardId(3), RangeId(2)));
        let [run] = write.runs.as_slice() else {
            panic!("one run")
        };
        assert_eq!(run.condition, RunCondition::Create);
        assert_eq!(run.row.db_version, 1);
        let types: Vec<_> = run.history.iter().map(HistoryEvent::event_type).collect();
        assert_eq!(
            types,
            [
                endure_core::EventType::WorkflowExecutionStarted,
                endure_core::EventType::WorkflowTaskScheduled
            ]
        );
        // The first workflow task is a backlog row with an id drawn under the lease.
        let [row] = run.dispatch_inserts.as_slice() else {
            panic!("one backlog row")
        };
        assert_eq!(row.task_id >> 40, 2, "the lease's bits");
        assert!(matches!(row.task, DispatchTask::WorkflowTask { .. }));
        let visibility = run.visibility.as_ref().expect("listed at start");
        assert_eq!(visibility.close_time, None);
        let current = write.current_run.as_ref().expect("the chain's current run");
        assert_eq!(current.expected, Some(RunId::from_u128(5)));
        assert_eq!(current.new.run_id, key().run_id);
        assert_eq!(write.request_ids.len(), 1);
        assert_eq!(write.request_ids[0].run_id, key().run_id);
        assert_eq!(plan.settle.remember.len(), 1);
        assert_eq!(
            plan.settle.released[0].1.len(),
            1,
            "the row goes to matching"
        );
    }

    #[test]
    fn a_closing_transition_keeps_the_run_for_its_retention_and_lists_its_close() {
        let (before, _) = started();
        let mut after = before.clone();
        let effects = after
            .apply(
                Input::Terminate {
                    reason: "done".into(),
                    details: None,
                    identity: "cli".into(),
                },
                now(),
            )
            .unwrap();
        let mut ids = IdSource::new(ShardId(3), RangeId(2));
        let plan = commit(
            &mut context(&mut ids, Some(now())),
            &key(),
            Before {
                machine: &before,
                db_version: 4,
                seen: now(),
            },
            after,
            effects,
            Changes::default(),
        )
        .unwrap();
        let run = &plan.write.runs[0];
        assert_eq!(run.condition, RunCondition::DbVersion(4));
        assert_eq!(run.row.db_version, 5);
        assert_eq!(
            run.deadline,
            DeadlineUpdate::Set(now().saturating_add(RETENTION))
        );
        assert_eq!(
            run.visibility.as_ref().and_then(|row| row.close_time),
            Some(now())
        );
        let current = plan.write.current_run.as_ref().expect("status changed");
        assert_eq!(current.new.status, WorkflowExecutionStatus::Terminated);
        assert!(plan.settle.closed);
        assert_eq!(
            plan.settle
                .closing_event
                .as_ref()
                .map(|event| (event.event_type(), event.event_time)),
            Some((
                endure_core::history::EventType::WorkflowExecutionTerminated,
                now()
            )),
            "the closing event, for whoever waits for the close"
        );
        assert_eq!(
            plan.settle.released[0].2,
            Some(now().saturating_add(RETENTION)),
            "the deadline armed in memory mirrors the durable one"
        );
    }
}
