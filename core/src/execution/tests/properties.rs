//! Properties of the machine on random input sequences: it never panics, a refused input
//! changes nothing, the history stays well formed, nothing closes twice, no deadline fires
//! early, an open run is never stuck, and the state survives the codec.

use std::collections::BTreeMap;
use std::time::Duration;

use proptest::prelude::*;

use super::harness::*;
use crate::command::*;
use crate::enums::WorkflowTaskFailedCause;
use crate::execution::*;
use crate::failure::Failure;
use crate::history::{EventAttributes, EventType, HistoryEvent};
use crate::ids::{EventId, MarkerName, TimerId};
use crate::options::StartWorkflowOptions;
use crate::payload::Header;
use crate::retry::RetryPolicy;

/// A command in terms the test can generate without knowing the run's state.
#[derive(Clone, Debug)]
enum AbstractCommand {
    ScheduleActivity {
        id: u8,
        start_to_close_secs: u8,
        schedule_to_close_secs: Option<u8>,
        heartbeat_secs: Option<u8>,
        maximum_attempts: u8,
    },
    StartTimer {
        id: u8,
        secs: u8,
    },
    CancelTimer {
        id: u8,
    },
    CancelActivity {
        index: u8,
    },
    Marker,
    SignalExternal,
    Complete,
    Fail,
    ContinueAsNew,
}

#[derive(Clone, Debug)]
enum Action {
    StartTask,
    /// The commands, and whether the worker asks for stickiness.
    CompleteTask(Vec<AbstractCommand>, bool),
    ResetSticky,
    FailTask,
    StaleCompletion,
    StartActivity(u8),
    CompleteActivity(u8),
    FailActivity(u8, bool),
    HeartbeatActivity(u8),
    AcknowledgeActivityCancel(u8),
    Signal(u8),
    /// The runtime reports the outcome of a pending signal to another workflow.
    ResolveExternalSignal(u8, bool),
    RequestCancel,
    Terminate,
    Advance(u16),
}

fn abstract_command() -> impl Strategy<Value = AbstractCommand> {
    prop_oneof![
        4 => (0u8..4, 1u8..60, proptest::option::of(1u8..120), proptest::option::of(1u8..30), 0u8..4).prop_map(
            |(id, start_to_close_secs, schedule_to_close_secs, heartbeat_secs, maximum_attempts)| {
                AbstractCommand::ScheduleActivity {
                    id,
                    start_to_close_secs,
                    schedule_to_close_secs,
                    heartbeat_secs,
                    maximum_attempts,
                }
            }
        ),
        3 => (0u8..4, 1u8..60).prop_map(|(id, secs)| AbstractCommand::StartTimer { id, secs }),
        2 => (0u8..4).prop_map(|id| AbstractCommand::CancelTimer { id }),
        1 => any::<u8>().prop_map(|index| AbstractCommand::CancelActivity { index }),
        1 => Just(AbstractCommand::Marker),
        1 => Just(AbstractCommand::SignalExternal),
        1 => Just(AbstractCommand::Complete),
        1 => Just(AbstractCommand::Fail),
        1 => Just(AbstractCommand::ContinueAsNew),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        6 => Just(Action::StartTask),
        6 => (proptest::collection::vec(abstract_command(), 0..4), any::<bool>()).prop_map(|(commands, sticky)| Action::CompleteTask(commands, sticky)),
        1 => Just(Action::ResetSticky),
        1 => Just(Action::FailTask),
        1 => Just(Action::StaleCompletion),
        3 => any::<u8>().prop_map(Action::StartActivity),
        3 => any::<u8>().prop_map(Action::CompleteActivity),
        2 => (any::<u8>(), any::<bool>()).prop_map(|(index, final_failure)| Action::FailActivity(index, final_failure)),
        1 => any::<u8>().prop_map(Action::HeartbeatActivity),
        1 => any::<u8>().prop_map(Action::AcknowledgeActivityCancel),
        3 => (0u8..6).prop_map(Action::Signal),
        1 => (any::<u8>(), any::<bool>()).prop_map(|(index, delivered)| Action::ResolveExternalSignal(index, delivered)),
        1 => Just(Action::RequestCancel),
        1 => Just(Action::Terminate),
        5 => (0u16..200).prop_map(Action::Advance),
    ]
}

fn to_command(command: &AbstractCommand, run: &Run) -> Command {
    match command {
        AbstractCommand::ScheduleActivity {
            id,
            start_to_close_secs,
            schedule_to_close_secs,
            heartbeat_secs,
            maximum_attempts,
        } => {
            let mut attributes = schedule_activity(
                &format!("a{id}"),
                Duration::from_secs(u64::from(*start_to_close_secs)),
            );
            attributes.schedule_to_close_timeout =
                schedule_to_close_secs.map(|secs| Duration::from_secs(u64::from(secs)));
            attributes.heartbeat_timeout =
                heartbeat_secs.map(|secs| Duration::from_secs(u64::from(secs)));
            attributes.retry_policy = Some(RetryPolicy {
                maximum_attempts: u32::from(*maximum_attempts),
                ..RetryPolicy::default()
            });
            activity_command(attributes)
        }
        AbstractCommand::StartTimer { id, secs } => {
            start_timer(&format!("t{id}"), Duration::from_secs(u64::from(*secs)))
        }
        AbstractCommand::CancelTimer { id } => Command::CancelTimer(CancelTimerCommandAttributes {
            timer_id: TimerId::new(format!("t{id}")).expect("valid"),
        }),
        AbstractCommand::CancelActivity { index } => {
            let scheduled_event_id = pick(run, *index).unwrap_or(EventId::FIRST);
            Command::RequestCancelActivityTask(RequestCancelActivityTaskCommandAttributes {
                scheduled_event_id,
            })
        }
        AbstractCommand::Marker => Command::RecordMarker(RecordMarkerCommandAttributes {
            marker_name: MarkerName::new("SideEffect").expect("valid"),
            details: BTreeMap::new(),
            header: Header::new(),
            failure: None,
        }),
        AbstractCommand::SignalExternal => Command::SignalExternalWorkflowExecution(
            SignalExternalWorkflowExecutionCommandAttributes {
                namespace: None,
                workflow_execution: crate::ids::WorkflowExecution {
                    workflow_id: crate::ids::WorkflowId::new("other").expect("valid"),
                    run_id: None,
                },
                signal_name: crate::ids::SignalName::new("ping").expect("valid"),
                input: json("x"),
                child_workflow_only: false,
                header: Header::new(),
            },
        ),
        AbstractCommand::Complete => complete("done"),
        AbstractCommand::Fail => {
            Command::FailWorkflowExecution(FailWorkflowExecutionCommandAttributes {
                failure: Failure::application("boom", "E"),
            })
        }
        AbstractCommand::ContinueAsNew => Command::ContinueAsNewWorkflowExecution(Box::new(
            ContinueAsNewWorkflowExecutionCommandAttributes {
                workflow_type: None,
                task_queue: None,
                input: json("next"),
                workflow_run_timeout: None,
                workflow_task_timeout: None,
                backoff_start_interval: None,
                retry_policy: None,
                cron_schedule: None,
                header: Header::new(),
                memo: None,
                search_attributes: None,
            },
        )),
    }
}

/// The `index`-th pending activity, wrapping around.
fn pick(run: &Run, index: u8) -> Option<EventId> {
    let ids: Vec<EventId> = run.machine.activities().keys().copied().collect();
    (!ids.is_empty()).then(|| ids[usize::from(index) % ids.len()])
}

fn activity_token(run: &Run, index: u8) -> Option<ActivityTaskToken> {
    pick(run, index).map(|id| run.machine.activities()[&id].current_token())
}

/// Applies one action; refusals are fine (and checked to change nothing by the harness).
fn step(run: &mut Run, action: &Action, last_token: &mut Option<WorkflowTaskToken>) {
    let started_token = run.machine.workflow_task().and_then(|task| {
        task.started.as_ref().map(|started| WorkflowTaskToken {
            scheduled_event_id: task.scheduled_event_id,
            started_event_id: started.started_event_id,
            attempt: task.attempt,
        })
    });
    let input = match action {
        Action::StartTask => match run.machine.workflow_task() {
            Some(task) if task.started.is_none() => Input::WorkflowTaskStarted {
                scheduled_event_id: task.scheduled_event_id,
                request_id: format!("p{}", run.history.len()),
                identity: "w".into(),
            },
            _ => return,
        },
        Action::CompleteTask(commands, sticky) => {
            let Some(token) = started_token else { return };
            *last_token = Some(token);
            let commands = commands
                .iter()
                .map(|command| to_command(command, run))
                .collect();
            let mut input = run.completion(token, commands);
            if let (Input::WorkflowTaskCompleted(completion), true) = (&mut input, sticky) {
                completion.sticky = Some(StickyAttributes {
                    task_queue: TaskQueueName::new("w-sticky").expect("valid"),
                    schedule_to_start_timeout: Duration::from_secs(5),
                });
            }
            input
        }
        Action::ResetSticky => Input::ResetStickyTaskQueue,
        Action::FailTask => {
            let Some(token) = started_token else { return };
            Input::WorkflowTaskFailed {
                token,
                cause: WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure,
                failure: None,
                identity: "w".into(),
            }
        }
        Action::StaleCompletion => {
            let Some(token) = *last_token else { return };
            run.completion(token, vec![complete("stale")])
        }
        Action::StartActivity(index) => {
            let Some(token) = activity_token(run, *index) else {
                return;
            };
            Input::ActivityTaskStarted {
                token,
                request_id: format!("a{}", run.history.len()),
                identity: "aw".into(),
            }
        }
        Action::CompleteActivity(index) => {
            let Some(token) = activity_token(run, *index) else {
                return;
            };
            Input::ActivityTaskCompleted {
                token,
                result: None,
                identity: "aw".into(),
            }
        }
        Action::FailActivity(index, final_failure) => {
            let Some(token) = activity_token(run, *index) else {
                return;
            };
            let failure = Failure::application("x", "E");
            let failure = if *final_failure {
                failure.non_retryable()
            } else {
                failure
            };
            Input::ActivityTaskFailed {
                token,
                failure,
                identity: "aw".into(),
            }
        }
        Action::HeartbeatActivity(index) => {
            let Some(token) = activity_token(run, *index) else {
                return;
            };
            Input::ActivityTaskHeartbeat {
                token,
                details: Some(json("progress")),
            }
        }
        Action::AcknowledgeActivityCancel(index) => {
            let Some(token) = activity_token(run, *index) else {
                return;
            };
            Input::ActivityTaskCanceled {
                token,
                details: None,
                identity: "aw".into(),
            }
        }
        Action::Signal(key) => Input::Signal(signal(
            "s",
            (*key < 3).then(|| format!("r{key}")).as_deref(),
        )),
        Action::ResolveExternalSignal(index, delivered) => {
            let pending: Vec<EventId> = run
                .machine
                .pending_external_signals()
                .iter()
                .copied()
                .collect();
            let initiated_event_id = if pending.is_empty() {
                EventId::FIRST
            } else {
                pending[usize::from(*index) % pending.len()]
            };
            // What the runtime does: read the Initiated event's back-reference from history.
            let workflow_task_completed_event_id = run
                .history
                .iter()
                .find_map(|event| match &event.attributes {
                    EventAttributes::SignalExternalWorkflowExecutionInitiated(a)
                        if event.event_id == initiated_event_id =>
                    {
                        Some(a.workflow_task_completed_event_id)
                    }
                    _ => None,
                })
                .unwrap_or(EventId::FIRST);
            Input::ExternalSignalResolved {
                request: ExternalRequest {
                    initiated_event_id,
                    workflow_task_completed_event_id,
                    namespace: crate::ids::Namespace::default_namespace(),
                    workflow_execution: crate::ids::WorkflowExecution {
                        workflow_id: crate::ids::WorkflowId::new("other").expect("valid"),
                        run_id: None,
                    },
                },
                failure: (!delivered).then_some(
                    crate::enums::SignalExternalWorkflowExecutionFailedCause::ExternalWorkflowExecutionNotFound,
                ),
            }
        }
        Action::RequestCancel => Input::RequestCancel {
            reason: "r".into(),
            identity: "c".into(),
            request_id: None,
        },
        Action::Terminate => Input::Terminate {
            reason: "t".into(),
            details: None,
            identity: "c".into(),
        },
        Action::Advance(secs) => {
            run.advance(Duration::from_secs(u64::from(*secs)));
            let before = run.machine.clone();
            let not_due = run
                .machine
                .next_deadline()
                .is_none_or(|deadline| deadline > run.now);
            let next_run_id = run.next_run_id();
            let effects = run.apply(Input::Deadline { next_run_id });
            if not_due {
                assert!(
                    effects.events.is_empty() && effects.tasks.is_empty(),
                    "a deadline fired early"
                );
                assert_eq!(
                    run.machine, before,
                    "a deadline that is not due changed the machine"
                );
            }
            check_next_run(&effects);
            return;
        }
    };
    if let Ok(effects) = run.try_apply(input) {
        check_next_run(&effects);
    }
}

fn check_next_run(effects: &Effects) {
    if let Some(next) = &effects.next_run {
        crate::history::check_well_formed(&next.effects.events)
            .expect("the next run's history is well formed");
        assert_eq!(
            next.effects.events[0].event_type(),
            EventType::WorkflowExecutionStarted
        );
    }
}

/// Checks the invariants over the whole history and state.
fn check_invariants(run: &Run) {
    let history: &[HistoryEvent] = &run.history;
    let mut timer_due = BTreeMap::new();
    let mut closes: BTreeMap<EventId, usize> = BTreeMap::new();
    for event in history {
        match &event.attributes {
            EventAttributes::TimerStarted(started) => {
                timer_due.insert(
                    event.event_id,
                    event
                        .event_time
                        .saturating_add(started.start_to_fire_timeout),
                );
            }
            EventAttributes::TimerFired(fired) => {
                assert!(
                    event.event_time >= timer_due[&fired.started_event_id],
                    "timer fired early"
                );
                *closes.entry(fired.started_event_id).or_default() += 1;
            }
            EventAttributes::TimerCanceled(canceled) => {
                *closes.entry(canceled.started_event_id).or_default() += 1
            }
            EventAttributes::ActivityTaskCompleted(a) => {
                *closes.entry(a.scheduled_event_id).or_default() += 1
            }
            EventAttributes::ActivityTaskFailed(a) => {
                *closes.entry(a.scheduled_event_id).or_default() += 1
            }
            EventAttributes::ActivityTaskTimedOut(a) => {
                *closes.entry(a.scheduled_event_id).or_default() += 1
            }
            EventAttributes::ActivityTaskCanceled(a) => {
                *closes.entry(a.scheduled_event_id).or_default() += 1
            }
            _ => {}
        }
    }
    for (id, count) in closes {
        assert_eq!(count, 1, "item {id} closed {count} times");
    }
    let closed = history.iter().any(|event| event.event_type().is_closing());
    assert_eq!(closed, run.machine.status().is_closed());
    if !closed {
        let in_flight = run
            .machine
            .workflow_task()
            .is_some_and(|task| task.started.is_some());
        if !in_flight {
            assert_eq!(
                run.machine.buffered_event_count(),
                0,
                "events buffered with no task in flight"
            );
        }
        let waiting_for_nothing =
            run.machine.workflow_task().is_none() && run.machine.next_deadline().is_none();
        if waiting_for_nothing {
            let last_task_event = history
                .iter()
                .rev()
                .find(|event| event.event_type().is_workflow_task_event());
            assert_eq!(
                last_task_event.map(HistoryEvent::event_type),
                Some(EventType::WorkflowTaskCompleted),
                "an open run with nothing pending must have let the workflow see everything"
            );
        }
    }
}

/// While a task is in flight with nothing buffered, the state rebuilt from history (what a
/// reset starts from) holds what the live machine holds, in everything history records.
fn check_rebuild(run: &Run) {
    let live = &run.machine;
    let in_flight = live
        .workflow_task()
        .is_some_and(|task| task.started.is_some());
    let last_is_started = run
        .history
        .last()
        .is_some_and(|event| event.event_type() == EventType::WorkflowTaskStarted);
    if !in_flight || !last_is_started || live.buffered_event_count() > 0 {
        return;
    }
    let rebuilt = ExecutionMachine::rebuild(live, &run.history, live.run_id)
        .expect("a live history rebuilds");
    assert_eq!(rebuilt.next_event_id, live.next_event_id);
    assert_eq!(rebuilt.history_size_bytes, live.history_size_bytes);
    assert_eq!(rebuilt.timers, live.timers);
    assert_eq!(rebuilt.activity_ids, live.activity_ids);
    let activities = |machine: &ExecutionMachine| {
        machine
            .activities
            .values()
            .map(|info| {
                (
                    info.scheduled_event_id,
                    info.scheduled.clone(),
                    info.cancel_requested_event_id,
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(activities(&rebuilt), activities(live));
    assert_eq!(
        rebuilt.pending_external_signals,
        live.pending_external_signals
    );
    assert_eq!(
        rebuilt.pending_external_cancels,
        live.pending_external_cancels
    );
    assert_eq!(rebuilt.signal_count, live.signal_count);
    assert_eq!(rebuilt.signal_request_ids, live.signal_request_ids);
    assert_eq!(rebuilt.cancel_requested, live.cancel_requested);
    assert_eq!(rebuilt.memo, live.memo);
    assert_eq!(rebuilt.search_attributes, live.search_attributes);
    assert_eq!(rebuilt.updates, live.updates);
    assert_eq!(
        rebuilt.last_completed_workflow_task_started_event_id,
        live.last_completed_workflow_task_started_event_id
    );
    let task = |machine: &ExecutionMachine| {
        machine.workflow_task().map(|task| {
            (
                task.scheduled_event_id,
                task.attempt,
                task.started
                    .as_ref()
                    .map(|started| started.started_event_id),
            )
        })
    };
    assert_eq!(task(&rebuilt), task(live));
}

fn start_options(variant: u8) -> StartWorkflowOptions {
    match variant % 3 {
        0 => options(),
        1 => StartWorkflowOptions {
            run_timeout: Some(Duration::from_secs(300)),
            retry_policy: Some(RetryPolicy {
                maximum_attempts: 3,
                ..RetryPolicy::default()
            }),
            ..options()
        },
        _ => StartWorkflowOptions {
            start_delay: Some(Duration::from_secs(30)),
            ..options()
        },
    }
}

/// Regression (CI, found by the property below): an activity completes while a workflow task
/// is in flight, so its completion is buffered; the task then schedules a new activity under
/// the same id. History closes the old activity after the new one is scheduled, and the state
/// rebuilt from it must still know the new activity's id.
#[test]
fn an_activity_id_reused_behind_a_buffered_completion_survives_rebuild() {
    let schedule_a1 = || AbstractCommand::ScheduleActivity {
        id: 1,
        start_to_close_secs: 1,
        schedule_to_close_secs: None,
        heartbeat_secs: None,
        maximum_attempts: 0,
    };
    let (mut run, _) = Run::start(start_options(0));
    let mut last_token = None;
    let actions = [
        Action::StartTask,
        Action::CompleteTask(vec![schedule_a1()], false),
        Action::Signal(0),
        Action::StartActivity(0),
        Action::StartTask,
        Action::CompleteActivity(0),
        Action::CompleteTask(vec![schedule_a1()], false),
        Action::StartTask,
    ];
    for action in &actions {
        step(&mut run, action, &mut last_token);
        check_invariants(&run);
    }
    let types: Vec<EventType> = run.history.iter().map(HistoryEvent::event_type).collect();
    assert_eq!(
        types,
        [
            EventType::WorkflowExecutionStarted,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
            EventType::WorkflowTaskCompleted,
            EventType::ActivityTaskScheduled,
            EventType::WorkflowExecutionSignaled,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
            EventType::WorkflowTaskCompleted,
            EventType::ActivityTaskScheduled,
            EventType::ActivityTaskStarted,
            EventType::ActivityTaskCompleted,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
        ]
    );
    let EventAttributes::ActivityTaskCompleted(completed) = &run.history[11].attributes else {
        panic!("event 12 is the old activity's completion");
    };
    assert_eq!(completed.scheduled_event_id.get(), 5);
    check_rebuild(&run);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn random_inputs_keep_every_invariant(variant in any::<u8>(), actions in proptest::collection::vec(action(), 1..60)) {
        let (mut run, _) = Run::start(start_options(variant));
        let mut last_token = None;
        for (index, action) in actions.iter().enumerate() {
            step(&mut run, action, &mut last_token);
            check_invariants(&run);
            check_rebuild(&run);
            if index % 16 == 0 {
                let bytes = postcard::to_allocvec(&run.machine).expect("state encodes");
                let decoded: ExecutionMachine = postcard::from_bytes(&bytes).expect("state decodes");
                prop_assert_eq!(&decoded, &run.machine);
            }
        }
        // Any run with a completed task can be reset to it, into a well-formed new run.
        let request = ResetRequest {
            point: ResetPoint::LastWorkflowTask,
            reason: "property".into(),
            reapply: ResetReapply::SignalsAndUpdates,
            identity: "test".into(),
            request_id: None,
        };
        let fork = ResetFork {
            base: &run.machine,
            history: &run.history,
            successors: &[],
            request: &request,
            new_run_id: crate::ids::RunId::from_u128(999),
        };
        match ExecutionMachine::reset(fork, run.now) {
            Ok((machine, effects)) => {
                crate::history::check_well_formed(&effects.events).expect("well formed");
                prop_assert!(machine.workflow_task().is_some());
                prop_assert_eq!(machine.next_event_id().get(), effects.events.len() as u64 + 1);
            }
            Err(ResetError::NoCompletedWorkflowTask) => {}
            Err(other) => prop_assert!(false, "reset refused: {other}"),
        }
    }
}

/// The same for timers: a timer fires while a task is in flight (the firing is buffered), the
/// task starts a new timer under the same id, and the rebuilt state keeps the new timer.
#[test]
fn a_timer_id_reused_behind_a_buffered_firing_survives_rebuild() {
    let (mut run, _) = Run::start(start_options(0));
    let mut last_token = None;
    let actions = [
        Action::StartTask,
        Action::CompleteTask(vec![AbstractCommand::StartTimer { id: 1, secs: 1 }], false),
        Action::Signal(0),
        Action::StartTask,
        Action::Advance(2),
        Action::CompleteTask(vec![AbstractCommand::StartTimer { id: 1, secs: 5 }], false),
        Action::StartTask,
    ];
    for action in &actions {
        step(&mut run, action, &mut last_token);
        check_invariants(&run);
    }
    let types: Vec<EventType> = run.history.iter().map(HistoryEvent::event_type).collect();
    assert_eq!(
        types,
        [
            EventType::WorkflowExecutionStarted,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
            EventType::WorkflowTaskCompleted,
            EventType::TimerStarted,
            EventType::WorkflowExecutionSignaled,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
            EventType::WorkflowTaskCompleted,
            EventType::TimerStarted,
            EventType::TimerFired,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
        ]
    );
    let EventAttributes::TimerFired(fired) = &run.history[10].attributes else {
        panic!("event 11 is the first timer's firing");
    };
    assert_eq!(fired.started_event_id.get(), 5);
    check_rebuild(&run);
}
