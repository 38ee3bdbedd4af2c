//! Test support: runs one workflow to its close against the real execution machine, with the
//! replay machine cutting activations, a simulated activity worker, signaller and clock.
//! The workflow side is a closure from activation to commands, so core's step programs and
//! the SDK's async executor share one driver.

use crate::execution::{
    ExecutionMachine, Input, Reply, SignalRequest, StartRequest, WorkflowTaskCompletion,
};
use crate::failure::Failure;
use crate::history::{
    ActivityTaskScheduledEventAttributes, HistoryEvent, SdkMetadata, check_well_formed,
};
use crate::ids::{Namespace, RunId, TaskQueueName, WorkflowId, WorkflowType};
use crate::options::StartWorkflowOptions;
use crate::payload::{Header, Payloads};
use crate::replay::{Activation, ReplayMachine, WorkflowCommand};
use crate::time::Timestamp;
use crate::update::UpdateRequest;

/// When simulated runs start: 2026-11-28T10:00:00Z.
pub const SIMULATION_START: Timestamp = Timestamp::from_unix_seconds(1_795_860_000);

/// Upper bound on driver steps; a run that needs more is reported as stuck.
const STEPS_MAX: usize = 10_000;

/// The workflow side: commands for an activation.
pub type WorkflowSide<'a> = Box<dyn FnMut(&Activation) -> Vec<WorkflowCommand> + 'a>;

/// The outcome of one activity attempt.
pub type ActivityOutcome = Result<Option<Payloads>, Failure>;

/// The activity worker: the outcome of an attempt of a scheduled activity.
pub type ActivityWorker<'a> =
    Box<dyn FnMut(&ActivityTaskScheduledEventAttributes, u32) -> ActivityOutcome + 'a>;

/// What the simulated worker does with an activity ready to start.
#[derive(Clone, Debug, PartialEq)]
pub enum Attempt {
    /// Runs it through the [`ActivityWorker`] and reports the outcome.
    Run,
    /// Starts it and never reports: it runs until a timeout ends it. The signals are sent
    /// as it starts (a session's creation activity telling its workflow where it is).
    Hold(Vec<SignalRequest>),
    /// Leaves it in its queue (no worker polls that queue).
    Ignore,
}

/// Chooses the [`Attempt`] for each ready activity; without one, every activity runs.
pub type AttemptPolicy<'a> = Box<dyn FnMut(&ActivityTaskScheduledEventAttributes) -> Attempt + 'a>;

/// The simulated world around a workflow.
pub struct SimulatedRun<'a> {
    /// The workflow: commands for an activation.
    pub workflow: WorkflowSide<'a>,
    /// The activity worker: the outcome of an attempt.
    pub activity: ActivityWorker<'a>,
    /// Signals sent, in order, whenever nothing else can happen.
    pub signals: Vec<SignalRequest>,
    /// Updates sent, in order, when no signal is left to send.
    pub updates: Vec<UpdateRequest>,
    /// Which activities run, are held or are left in their queues.
    pub attempts: Option<AttemptPolicy<'a>>,
}

impl SimulatedRun<'_> {
    /// Runs the workflow to its close and returns its (well-formed) history. Order of
    /// events: a pending workflow task runs first, then the lowest ready activity attempt,
    /// then the next signal, then the next update, then time jumps to the next deadline.
    /// A speculative task (an update's) is fed to the replay machine with its reserved
    /// events, as a worker gets them.
    pub fn run(mut self, input: Payloads) -> Vec<HistoryEvent> {
        let options = StartWorkflowOptions::new(
            WorkflowId::new("simulated").unwrap_or_else(|_| unreachable!("valid literal")),
            TaskQueueName::new("simulated").unwrap_or_else(|_| unreachable!("valid literal")),
        );
        let request = StartRequest::from_options(
            Namespace::default(),
            &options,
            RunId::from_u128(1),
            WorkflowType::new("Simulated").unwrap_or_else(|_| unreachable!("valid literal")),
            input,
            Header::new(),
            "simulation".into(),
            SIMULATION_START,
        )
        .unwrap_or_else(|error| panic!("simulated start refused: {error}"));
        let (mut machine, effects) = ExecutionMachine::start(request, SIMULATION_START);
        let mut history = effects.events;
        // The last event id fed to the replay machine (transient events included).
        let mut fed = 0u64;
        let mut replay = ReplayMachine::new();
        let mut now = SIMULATION_START;
        let mut signals = std::mem::take(&mut self.signals).into_iter();
        let mut updates = std::mem::take(&mut self.updates).into_iter();
        for _ in 0..STEPS_MAX {
            if machine.status().is_closed() {
                check_well_formed(&history)
                    .unwrap_or_else(|error| panic!("history malformed: {error}"));
                return history;
            }
            if let Some(scheduled_event_id) =
                machine.workflow_task().map(|task| task.scheduled_event_id)
            {
                let started = apply(
                    &mut machine,
                    &mut history,
                    Input::WorkflowTaskStarted {
                        scheduled_event_id,
                        request_id: format!("poll-{scheduled_event_id}"),
                        identity: "worker".into(),
                    },
                    now,
                );
                let Reply::WorkflowTaskStarted(started) = started else {
                    panic!("workflow task not started: {started:?}")
                };
                let unfed: Vec<HistoryEvent> = history
                    .iter()
                    .chain(&started.transient_events)
                    .filter(|event| event.event_id.get() > fed)
                    .cloned()
                    .collect();
                fed = unfed.last().map_or(fed, |event| event.event_id.get());
                replay.feed(unfed).unwrap_or_else(|error| panic!("{error}"));
                replay.deliver_updates(started.updates.clone());
                let activation = replay
                    .next_activation()
                    .unwrap_or_else(|error| panic!("{error}"))
                    .unwrap_or_else(|| panic!("no activation for a started task"));
                let commands = (self.workflow)(&activation);
                let mut commands = replay
                    .complete(commands)
                    .unwrap_or_else(|error| panic!("{error}"));
                // The simulated worker takes every activity from its queue (its policy
                // chooses which run), so it asks for none eagerly, as an SDK worker
                // without room for them does.
                for command in &mut commands {
                    if let crate::command::Command::ScheduleActivityTask(attributes) = command {
                        attributes.request_eager_execution = false;
                    }
                }
                let completion = WorkflowTaskCompletion {
                    token: started.token,
                    commands,
                    identity: "worker".into(),
                    sticky: None,
                    force_create_workflow_task: false,
                    sdk_metadata: SdkMetadata::default(),
                    next_run_id: RunId::from_u128(2),
                    messages: replay.take_update_messages(),
                    deployment_version: None,
                    versioning_behavior: Default::default(),
                };
                let reply = apply(
                    &mut machine,
                    &mut history,
                    Input::WorkflowTaskCompleted(Box::new(completion)),
                    now,
                );
                assert!(
                    matches!(reply, Reply::Accepted),
                    "commands refused: {reply:?}"
                );
                continue;
            }
            let attempts = &mut self.attempts;
            let ready = machine
                .activities()
                .values()
                .filter(|info| info.retry_time.is_none() && info.started.is_none())
                .find_map(|info| {
                    let attempt = attempts
                        .as_mut()
                        .map_or(Attempt::Run, |policy| policy(&info.scheduled));
                    (attempt != Attempt::Ignore)
                        .then(|| (info.scheduled.clone(), info.current_token(), attempt))
                });
            if let Some((scheduled, token, attempt)) = ready {
                apply(
                    &mut machine,
                    &mut history,
                    Input::ActivityTaskStarted {
                        token,
                        request_id: "activity-poll".into(),
                        identity: "activity-worker".into(),
                    },
                    now,
                );
                if let Attempt::Hold(signals) = attempt {
                    for signal in signals {
                        apply(&mut machine, &mut history, Input::Signal(signal), now);
                    }
                    continue;
                }
                let input = match (self.activity)(&scheduled, token.attempt) {
                    Ok(result) => Input::ActivityTaskCompleted {
                        token,
                        result,
                        identity: "activity-worker".into(),
                    },
                    Err(failure) => Input::ActivityTaskFailed {
                        token,
                        failure,
                        identity: "activity-worker".into(),
                    },
                };
                apply(&mut machine, &mut history, input, now);
                continue;
            }
            if let Some(signal) = signals.next() {
                apply(&mut machine, &mut history, Input::Signal(signal), now);
                continue;
            }
            if let Some(request) = updates.next() {
                let input = Input::Update {
                    request,
                    ends_start_delay: false,
                };
                apply(&mut machine, &mut history, input, now);
                continue;
            }
            let deadline = machine.next_deadline().unwrap_or_else(|| {
                panic!("the workflow waits for nothing that can happen:\n{history:#?}")
            });
            now = now.max(deadline);
            apply(
                &mut machine,
                &mut history,
                Input::Deadline {
                    next_run_id: RunId::from_u128(3),
                },
                now,
            );
        }
        panic!("the workflow did not close within {STEPS_MAX} steps");
    }
}

fn apply(
    machine: &mut ExecutionMachine,
    history: &mut Vec<HistoryEvent>,
    input: Input,
    now: Timestamp,
) -> Reply {
    let effects = machine
        .apply(input, now)
        .unwrap_or_else(|rejected| panic!("input refused: {rejected}"));
    history.extend(effects.events);
    effects.reply
}
