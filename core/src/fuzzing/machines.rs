//! Fuzz bodies for the two machines: the execution machine driven by arbitrary input
//! sequences and checked against a naive model, and the replay machine fed arbitrary
//! (mutated) histories.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::command::{
    CancelTimerCommandAttributes, Command, CompleteWorkflowExecutionCommandAttributes,
    ProtocolMessageCommandAttributes, RequestCancelActivityTaskCommandAttributes,
    ScheduleActivityTaskCommandAttributes, StartTimerCommandAttributes,
};
use crate::enums::WorkflowTaskFailedCause;
use crate::execution::{
    ActivityTaskToken, ChildOutcome, Effects, ExecutionMachine, Input, SignalRequest, StartRequest,
    WorkflowTaskCompletion, WorkflowTaskToken,
};
use crate::history::{EventAttributes, HistoryEvent, SdkMetadata, check_well_formed};
use crate::ids::{
    ActivityId, ActivityType, EventId, Namespace, RunId, SignalName, TaskQueueName, TimerId,
    UpdateId, UpdateName, WorkflowId, WorkflowType,
};
use crate::options::StartWorkflowOptions;
use crate::payload::{Header, Payloads};
use crate::replay::ReplayMachine;
use crate::time::Timestamp;
use crate::update::{UpdateMessage, UpdateMessageBody, UpdateOutcome, UpdateRequest};
use crate::{Failure, RetryPolicy};

/// Where every fuzzed run starts.
const T0: Timestamp = Timestamp::from_unix_seconds(1_795_860_000);

/// A byte source that yields zeros once exhausted.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn next(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&first, rest)) => {
                self.0 = rest;
                first
            }
            None => 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One run under the fuzzer: the machine, its history and a clock.
struct Driven {
    machine: ExecutionMachine,
    history: Vec<HistoryEvent>,
    now: Timestamp,
    sequence: u64,
}

/// Runs the execution machine over the input sequence `bytes` encodes and checks, after
/// every step: a refused input changes nothing; history stays well formed; no timer fires
/// before its time and nothing fires before the machine's own deadline; and, whenever no
/// workflow task is in flight and nothing is buffered, the machine's pending timers and
/// activities are exactly those a naive model computes from history (started or scheduled,
/// not yet resolved).
pub fn execution_machine(bytes: &[u8]) {
    let _ = drive(bytes);
}

/// Drives the execution machine as [`execution_machine`] does and returns its history.
fn drive(bytes: &[u8]) -> Vec<HistoryEvent> {
    let mut bytes = Bytes(bytes);
    let options = StartWorkflowOptions::new(
        WorkflowId::new("fuzzed").expect("a valid id"),
        TaskQueueName::new("fuzz").expect("a valid name"),
    );
    let request = StartRequest::from_options(
        Namespace::default(),
        &options,
        RunId::from_u128(1),
        WorkflowType::new("Fuzzed").expect("a valid type"),
        Payloads::default(),
        Header::new(),
        "fuzzer".into(),
        T0,
    )
    .expect("valid options");
    let (machine, effects) = ExecutionMachine::start(request, T0);
    let mut run = Driven {
        machine,
        history: effects.events,
        now: T0,
        sequence: 1,
    };
    while !bytes.is_empty() && !run.machine.status().is_closed() {
        let input = run.input(&mut bytes);
        run.apply(input);
        run.check_model();
    }
    run.check_reset();
    run.history
}

impl Driven {
    fn next_run_id(&mut self) -> RunId {
        self.sequence += 1;
        RunId::from_u128(u128::from(self.sequence))
    }

    /// The input the next bytes choose, given the run's state.
    fn input(&mut self, bytes: &mut Bytes<'_>) -> Input {
        let task = self.machine.workflow_task().cloned();
        match bytes.next() % 10 {
            0 => match task {
                Some(task) if task.started.is_none() => Input::WorkflowTaskStarted {
                    scheduled_event_id: task.scheduled_event_id,
                    request_id: format!("poll-{}", self.sequence),
                    identity: "worker".into(),
                },
                _ => self.deadline(bytes),
            },
            1 | 2 => {
                let mut commands: Vec<Command> =
                    (0..bytes.next() % 4).map(|_| self.command(bytes)).collect();
                // Answers to updates, placed among the commands (or not) at random.
                let messages: Vec<UpdateMessage> = (0..bytes.next() % 3)
                    .map(|index| update_message(bytes, index))
                    .collect();
                for message in &messages {
                    if !bytes.next().is_multiple_of(4) {
                        let at = usize::from(bytes.next()) % (commands.len() + 1);
                        commands.insert(
                            at,
                            Command::ProtocolMessage(ProtocolMessageCommandAttributes {
                                message_id: message.id.clone(),
                            }),
                        );
                    }
                }
                Input::WorkflowTaskCompleted(Box::new(WorkflowTaskCompletion {
                    token: self.task_token(),
                    commands,
                    identity: "worker".into(),
                    sticky: None,
                    force_create_workflow_task: false,
                    sdk_metadata: SdkMetadata::default(),
                    next_run_id: self.next_run_id(),
                    messages,
                    deployment_version: None,
                    versioning_behavior: Default::default(),
                }))
            }
            3 => Input::WorkflowTaskFailed {
                token: self.task_token(),
                cause: WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure,
                failure: None,
                identity: "worker".into(),
            },
            4 => Input::ActivityTaskStarted {
                token: self.activity_token(bytes.next()),
                request_id: format!("activity-poll-{}", self.sequence),
                identity: "worker".into(),
            },
            5 => Input::ActivityTaskCompleted {
                token: self.activity_token(bytes.next()),
                result: None,
                identity: "worker".into(),
            },
            6 => Input::ActivityTaskFailed {
                token: self.activity_token(bytes.next()),
                failure: Failure::application("boom", "Fuzzed"),
                identity: "worker".into(),
            },
            7 => Input::Signal(SignalRequest {
                signal_name: SignalName::new("poke").expect("a valid name"),
                input: Payloads::default(),
                identity: "client".into(),
                header: Header::new(),
                request_id: None,
            }),
            8 => {
                self.now = self
                    .now
                    .saturating_add(Duration::from_secs(u64::from(bytes.next())));
                self.deadline(bytes)
            }
            _ => match bytes.next() % 11 {
                0 => Input::Terminate {
                    reason: "fuzzed".into(),
                    details: None,
                    identity: "client".into(),
                },
                1 => Input::RequestCancel {
                    reason: "fuzzed".into(),
                    identity: "client".into(),
                    request_id: None,
                },
                2 | 3 => Input::Update {
                    request: UpdateRequest {
                        update_id: update_id(bytes.next()),
                        identity: "client".into(),
                        name: UpdateName::new("fuzz").expect("a valid name"),
                        header: Header::new(),
                        args: Payloads::default(),
                    },
                    ends_start_delay: bytes.next().is_multiple_of(2),
                },
                4 => Input::ChildWorkflowStarted {
                    initiated_event_id: self.pick_child(bytes.next()),
                    run_id: RunId::from_u128(u128::from(bytes.next() % 2) + 1_000),
                    header: Header::new(),
                },
                5 => Input::ChildWorkflowClosed {
                    initiated_event_id: self.pick_child(bytes.next()),
                    run_id: RunId::from_u128(u128::from(bytes.next() % 2) + 1_000),
                    outcome: match bytes.next() % 3 {
                        0 => ChildOutcome::Completed(None),
                        1 => ChildOutcome::Terminated,
                        _ => ChildOutcome::Failed {
                            failure: Box::new(Failure::application("child", "Fuzzed")),
                            retry_state: crate::enums::RetryState::NonRetryableFailure,
                        },
                    },
                },
                6 => Input::StartChildWorkflowFailed {
                    initiated_event_id: self.pick_child(bytes.next()),
                    cause:
                        crate::enums::StartChildWorkflowExecutionFailedCause::WorkflowAlreadyExists,
                },
                _ => Input::ActivityTaskHeartbeat {
                    token: self.activity_token(bytes.next()),
                    details: None,
                },
            },
        }
    }

    fn deadline(&mut self, _bytes: &mut Bytes<'_>) -> Input {
        Input::Deadline {
            next_run_id: self.next_run_id(),
        }
    }

    fn command(&self, bytes: &mut Bytes<'_>) -> Command {
        let id = bytes.next() % 4;
        match bytes.next() % 7 {
            0 | 1 => Command::StartTimer(StartTimerCommandAttributes {
                timer_id: TimerId::new(format!("t{id}")).expect("a valid id"),
                start_to_fire_timeout: Duration::from_secs(u64::from(bytes.next() % 60) + 1),
            }),
            2 => Command::CancelTimer(CancelTimerCommandAttributes {
                timer_id: TimerId::new(format!("t{id}")).expect("a valid id"),
            }),
            3 => Command::ScheduleActivityTask(Box::new(ScheduleActivityTaskCommandAttributes {
                activity_id: ActivityId::new(format!("a{id}")).expect("a valid id"),
                activity_type: ActivityType::new("Fuzzed").expect("a valid type"),
                task_queue: None,
                header: Header::new(),
                input: Payloads::default(),
                schedule_to_close_timeout: None,
                schedule_to_start_timeout: None,
                start_to_close_timeout: Some(Duration::from_secs(u64::from(bytes.next() % 30) + 1)),
                heartbeat_timeout: None,
                retry_policy: Some(RetryPolicy {
                    maximum_attempts: u32::from(bytes.next() % 3),
                    ..RetryPolicy::default()
                }),
                request_eager_execution: false,
            })),
            4 => Command::RequestCancelActivityTask(RequestCancelActivityTaskCommandAttributes {
                scheduled_event_id: self.pick_activity(id).unwrap_or(EventId::FIRST),
            }),
            5 => Command::StartChildWorkflowExecution(Box::new(
                crate::command::StartChildWorkflowExecutionCommandAttributes {
                    namespace: None,
                    workflow_id: crate::ids::WorkflowId::new(format!("child-{id}"))
                        .expect("a valid id"),
                    workflow_type: WorkflowType::new("Child").expect("a valid type"),
                    task_queue: None,
                    input: Payloads::default(),
                    workflow_execution_timeout: None,
                    workflow_run_timeout: None,
                    workflow_task_timeout: None,
                    parent_close_policy: crate::enums::ParentClosePolicy::default(),
                    workflow_id_reuse_policy: crate::enums::WorkflowIdReusePolicy::default(),
                    retry_policy: None,
                    cron_schedule: None,
                    header: Header::new(),
                    memo: crate::payload::Memo::default(),
                    search_attributes: crate::search_attributes::SearchAttributes::default(),
                },
            )),
            _ => Command::CompleteWorkflowExecution(CompleteWorkflowExecutionCommandAttributes {
                result: None,
            }),
        }
    }

    /// The started workflow task's token (or a made-up stale one).
    fn task_token(&self) -> WorkflowTaskToken {
        let task = self.machine.workflow_task();
        WorkflowTaskToken {
            scheduled_event_id: task.map_or(EventId::FIRST, |task| task.scheduled_event_id),
            started_event_id: task
                .and_then(|task| task.started.as_ref())
                .map_or(EventId::FIRST, |started| started.started_event_id),
            attempt: task.map_or(1, |task| task.attempt),
        }
    }

    /// A pending child's Initiated event (or a made-up one).
    fn pick_child(&self, index: u8) -> EventId {
        let ids: Vec<EventId> = self.machine.children().keys().copied().collect();
        if ids.is_empty() {
            return EventId::FIRST;
        }
        ids[usize::from(index) % ids.len()]
    }

    fn pick_activity(&self, index: u8) -> Option<EventId> {
        let ids: Vec<EventId> = self.machine.activities().keys().copied().collect();
        (!ids.is_empty()).then(|| ids[usize::from(index) % ids.len()])
    }

    fn activity_token(&self, index: u8) -> ActivityTaskToken {
        match self.pick_activity(index) {
            Some(id) => self.machine.activities()[&id].current_token(),
            None => ActivityTaskToken {
                scheduled_event_id: EventId::FIRST,
                attempt: 1,
            },
        }
    }

    /// Applies `input`, checking a refusal changes nothing and that nothing fires early.
    fn apply(&mut self, input: Input) {
        let before = self.machine.clone();
        let deadline = self.machine.next_deadline();
        let is_deadline = matches!(input, Input::Deadline { .. });
        match self.machine.apply(input, self.now) {
            Ok(effects) => {
                if is_deadline && deadline.is_none_or(|due| due > self.now) {
                    assert!(
                        effects.events.is_empty(),
                        "a deadline input before the machine's deadline wrote {:?}",
                        effects.events
                    );
                }
                self.record(effects);
            }
            Err(_) => assert!(
                self.machine == before,
                "a refused input changed the machine"
            ),
        }
    }

    fn record(&mut self, effects: Effects) {
        for event in &effects.events {
            if let EventAttributes::TimerFired(fired) = &event.attributes {
                let started = self
                    .history
                    .iter()
                    .chain(effects.events.iter())
                    .find(|candidate| candidate.event_id == fired.started_event_id);
                if let Some(HistoryEvent {
                    event_time,
                    attributes: EventAttributes::TimerStarted(timer),
                    ..
                }) = started
                {
                    assert!(
                        self.now >= event_time.saturating_add(timer.start_to_fire_timeout),
                        "timer {} fired early",
                        timer.timer_id
                    );
                }
            }
        }
        self.history.extend(effects.events);
        if let Err(error) = check_well_formed(&self.history) {
            panic!("history malformed: {error}");
        }
    }

    /// Resets the run to each workflow task end in its history: a reset never panics, and
    /// a reset it takes yields a well-formed history with a workflow task pending.
    fn check_reset(&self) {
        for event in &self.history {
            let request = crate::execution::ResetRequest {
                point: crate::execution::ResetPoint::Event(event.event_id),
                reason: "fuzz".into(),
                reapply: crate::execution::ResetReapply::SignalsAndUpdates,
                identity: "fuzzer".into(),
                request_id: None,
            };
            let fork = crate::execution::ResetFork {
                base: &self.machine,
                history: &self.history,
                successors: &[],
                request: &request,
                new_run_id: RunId::from_u128(u128::MAX),
            };
            if let Ok((machine, effects)) = ExecutionMachine::reset(fork, self.now) {
                if let Err(error) = check_well_formed(&effects.events) {
                    panic!(
                        "reset to {} gives a malformed history: {error}",
                        event.event_id
                    );
                }
                assert!(machine.workflow_task().is_some(), "a reset run has a task");
            }
        }
    }

    /// Compares the machine's pending timers and activities with a model built from
    /// history alone, when the two must agree (nothing in flight, nothing buffered).
    fn check_model(&self) {
        if self.machine.status().is_closed()
            || self
                .machine
                .workflow_task()
                .is_some_and(|task| task.started.is_some())
            || self.machine.buffered_event_count() > 0
        {
            return;
        }
        let mut timers = BTreeMap::new();
        let mut activities = BTreeSet::new();
        for event in &self.history {
            match &event.attributes {
                EventAttributes::TimerStarted(a) => {
                    timers.insert(event.event_id, a.timer_id.clone());
                }
                EventAttributes::TimerFired(a) => {
                    timers.remove(&a.started_event_id);
                }
                EventAttributes::TimerCanceled(a) => {
                    timers.remove(&a.started_event_id);
                }
                EventAttributes::ActivityTaskScheduled(_) => {
                    activities.insert(event.event_id);
                }
                EventAttributes::ActivityTaskCompleted(a) => {
                    activities.remove(&a.scheduled_event_id);
                }
                EventAttributes::ActivityTaskFailed(a) => {
                    activities.remove(&a.scheduled_event_id);
                }
                EventAttributes::ActivityTaskTimedOut(a) => {
                    activities.remove(&a.scheduled_event_id);
                }
                EventAttributes::ActivityTaskCanceled(a) => {
                    activities.remove(&a.scheduled_event_id);
                }
                _ => {}
            }
        }
        let machine_timers: BTreeSet<TimerId> = self.machine.timers().keys().cloned().collect();
        let model_timers: BTreeSet<TimerId> = timers.into_values().collect();
        assert_eq!(
            machine_timers, model_timers,
            "pending timers differ from history"
        );
        let machine_activities: BTreeSet<EventId> =
            self.machine.activities().keys().copied().collect();
        assert_eq!(
            machine_activities, activities,
            "pending activities differ from history"
        );
    }
}

/// Builds a history with the execution machine from the first half of `bytes`, mutates it
/// as the second half says (events dropped, swapped or duplicated, ids renumbered), and
/// replays it: the replay machine may refuse it, never panic.
pub fn replay_machine(bytes: &[u8]) {
    let (build, mutate) = bytes.split_at(bytes.len() / 2);
    let mut history = drive(build);
    let mut mutations = Bytes(mutate);
    while !mutations.is_empty() && !history.is_empty() {
        let at = usize::from(mutations.next()) % history.len();
        match mutations.next() % 3 {
            0 => {
                history.remove(at);
            }
            1 => {
                let other = usize::from(mutations.next()) % history.len();
                history.swap(at, other);
            }
            _ => {
                let copy = history[at].clone();
                history.insert(at, copy);
            }
        }
    }
    let mut id = EventId::FIRST;
    for event in &mut history {
        event.event_id = id;
        id = id.next();
    }
    let mut replay = ReplayMachine::new();
    if replay.feed(history).is_err() {
        return;
    }
    for _ in 0..10_000 {
        match replay.next_activation() {
            Ok(Some(_)) => {
                if replay.complete(Vec::new()).is_err() {
                    return;
                }
            }
            Ok(None) | Err(_) => return,
        }
    }
}

/// One of four update ids.
fn update_id(byte: u8) -> UpdateId {
    UpdateId::new(format!("u{}", byte % 4)).expect("a valid id")
}

/// A worker's answer to one of the four updates: acceptance, rejection or response.
fn update_message(bytes: &mut Bytes<'_>, index: u8) -> UpdateMessage {
    let update_id = update_id(bytes.next());
    let body = match bytes.next() % 3 {
        0 => UpdateMessageBody::Acceptance,
        1 => UpdateMessageBody::Rejection(Failure::application("no", "Fuzzed")),
        _ => UpdateMessageBody::Response(UpdateOutcome::Success(Payloads::default())),
    };
    UpdateMessage {
        id: format!("{update_id}/{index}"),
        update_id,
        body,
    }
}
