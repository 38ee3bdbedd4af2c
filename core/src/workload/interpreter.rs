//! A command-level interpreter of workload programs: activations in, workflow commands out,
//! the way an SDK's workflow would run the program — coroutines included — but with no
//! executor, so core's property tests can drive it on the machines directly.
//!
//! Each coroutine ("thread") runs its steps until one must wait; threads run in the order
//! they were spawned, the program's own first. Values reach the program through history:
//! activity results, signal payloads. The program completes with the sum of every thread's
//! contributions, which a correct engine makes equal to [`Program::expected`].

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use crate::command::{
    CompleteWorkflowExecutionCommandAttributes, FailWorkflowExecutionCommandAttributes,
    RecordMarkerCommandAttributes, ScheduleActivityTaskCommandAttributes,
};
use crate::failure::Failure;
use crate::history::ActivityTaskScheduledEventAttributes;
use crate::ids::{ActivityId, ActivityType, MarkerName};
use crate::payload::{Header, Payload, Payloads};
use crate::replay::{Activation, ActivityResolution, Job, UpdateResponse, WorkflowCommand};
use crate::retry::RetryPolicy;
use crate::simulated_run::ActivityOutcome;
use crate::update::UpdateOutcome;
use crate::workload::program::{Program, Step, signal_name, update_name};

/// The activity type every program schedules; its input is `(id, failing)`.
pub const ACTIVITY_TYPE: &str = "Attempt";

/// The outcome of attempt `attempt` of an activity a program scheduled: its first
/// `failing` attempts fail, then it returns its `id`. Unknown input is a failure.
#[allow(
    clippy::result_large_err,
    reason = "the simulated worker's outcome, as an activity returns it"
)]
pub fn attempt_outcome(
    scheduled: &ActivityTaskScheduledEventAttributes,
    attempt: u32,
) -> ActivityOutcome {
    let decoded = scheduled
        .input
        .as_slice()
        .first()
        .map(|payload| payload.decode::<(u32, u8)>());
    let Some(Ok((id, failing))) = decoded else {
        return Err(Failure::application(
            "input is not (id, failing)",
            "BadInput",
        ));
    };
    if attempt <= u32::from(failing) {
        return Err(Failure::application("a planned failure", "Planned"));
    }
    Ok(Some(Payloads::one(json(&id))))
}

/// What a thread waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wait {
    Activity(u32),
    Timer(u32),
    Signal(u8),
    Update(u8),
    Race { timer: u32, activity: u32 },
}

/// One coroutine: its remaining steps, what it waits for and what it has contributed.
#[derive(Debug, Default)]
struct Thread {
    steps: VecDeque<Step>,
    waiting: Option<Wait>,
    sum: u64,
}

/// What running one step did.
enum Ran {
    /// The step is done and contributed this.
    Contributed(u64),
    /// The step waits.
    Waits(Wait),
}

/// Runs a [`Program`] one activation at a time; deterministic: the same activations give
/// the same commands, live or replayed.
#[derive(Debug)]
pub struct Interpreter {
    threads: Vec<Thread>,
    timer_seq: u32,
    activity_seq: u32,
    /// Signals that arrived and no step has taken yet, by name.
    signals: BTreeMap<String, u64>,
    /// Arguments of updates accepted and no step has taken yet, by name.
    updates: BTreeMap<String, u64>,
    fired_timers: BTreeSet<u32>,
    /// Finished activities no step has taken yet: their value, or their failure.
    activities: BTreeMap<u32, Result<u64, Box<Failure>>>,
    /// The value each mutable side effect last recorded.
    mutable: BTreeMap<u8, u32>,
    closed: bool,
}

impl Interpreter {
    /// An interpreter about to run `program`.
    pub fn new(program: Program) -> Self {
        Self {
            threads: vec![Thread {
                steps: program.steps.into(),
                ..Thread::default()
            }],
            timer_seq: 0,
            activity_seq: 0,
            signals: BTreeMap::new(),
            updates: BTreeMap::new(),
            fired_timers: BTreeSet::new(),
            activities: BTreeMap::new(),
            mutable: BTreeMap::new(),
            closed: false,
        }
    }

    /// Whether the program has sent its closing command.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The commands for `activation`.
    pub fn activate(&mut self, activation: &Activation) -> Vec<WorkflowCommand> {
        let mut commands = Vec::new();
        for job in &activation.jobs {
            self.take(job, &mut commands);
        }
        if self.closed {
            return commands;
        }
        let mut index = 0;
        // Threads spawned during the pass join it at the end.
        while index < self.threads.len() {
            if let Err(failure) = self.advance(index, &mut commands) {
                commands.push(WorkflowCommand::Fail(
                    FailWorkflowExecutionCommandAttributes { failure: *failure },
                ));
                self.closed = true;
                return commands;
            }
            index += 1;
        }
        let finished = self
            .threads
            .iter()
            .all(|thread| thread.steps.is_empty() && thread.waiting.is_none());
        if finished {
            let sum: u64 = self.threads.iter().map(|thread| thread.sum).sum();
            commands.push(WorkflowCommand::Complete(
                CompleteWorkflowExecutionCommandAttributes {
                    result: Some(Payloads::one(json(&sum))),
                },
            ));
            self.closed = true;
        }
        commands
    }

    /// Records what `job` tells the program; updates are accepted and completed at once
    /// (their handler returns the argument), the step that awaits one takes its value.
    fn take(&mut self, job: &Job, commands: &mut Vec<WorkflowCommand>) {
        match job {
            Job::DoUpdate {
                update_id,
                name,
                args,
                ..
            } => {
                let value = args
                    .as_slice()
                    .first()
                    .and_then(|payload| payload.decode::<u64>().ok())
                    .unwrap_or_default();
                commands.push(WorkflowCommand::UpdateResponse {
                    update_id: update_id.clone(),
                    response: UpdateResponse::Accepted,
                });
                commands.push(WorkflowCommand::UpdateResponse {
                    update_id: update_id.clone(),
                    response: UpdateResponse::Completed(UpdateOutcome::Success(Payloads::one(
                        json(&value),
                    ))),
                });
                self.updates.insert(name.as_str().to_owned(), value);
            }
            Job::Signal {
                signal_name, input, ..
            } => {
                let value = input
                    .as_slice()
                    .first()
                    .and_then(|payload| payload.decode::<u64>().ok())
                    .unwrap_or_default();
                self.signals.insert(signal_name.as_str().to_owned(), value);
            }
            Job::FireTimer { seq } => {
                self.fired_timers.insert(*seq);
            }
            Job::ResolveActivity { seq, resolution } => {
                let outcome = match resolution {
                    ActivityResolution::Completed(result) => Ok(result
                        .as_ref()
                        .and_then(|payloads| payloads.as_slice().first())
                        .and_then(|payload| payload.decode::<u64>().ok())
                        .unwrap_or_default()),
                    ActivityResolution::Failed(failure) | ActivityResolution::Canceled(failure) => {
                        Err(Box::new(failure.clone()))
                    }
                };
                self.activities.insert(*seq, outcome);
            }
            _ => {}
        }
    }

    /// Runs thread `index` until it must wait or has no steps left.
    fn advance(
        &mut self,
        index: usize,
        commands: &mut Vec<WorkflowCommand>,
    ) -> Result<(), Box<Failure>> {
        loop {
            if let Some(wait) = self.threads[index].waiting {
                let Some(value) = self.resolved(wait, commands)? else {
                    return Ok(());
                };
                let thread = &mut self.threads[index];
                thread.waiting = None;
                thread.sum += value;
            }
            let Some(step) = self.threads[index].steps.pop_front() else {
                return Ok(());
            };
            match self.run(step, commands) {
                Ran::Contributed(value) => self.threads[index].sum += value,
                Ran::Waits(wait) => self.threads[index].waiting = Some(wait),
            }
        }
    }

    /// What `wait` yields, once it is over.
    fn resolved(
        &mut self,
        wait: Wait,
        commands: &mut Vec<WorkflowCommand>,
    ) -> Result<Option<u64>, Box<Failure>> {
        Ok(match wait {
            Wait::Activity(seq) => match self.activities.remove(&seq) {
                Some(outcome) => Some(outcome?),
                None => None,
            },
            Wait::Timer(seq) => self.fired_timers.remove(&seq).then_some(1),
            Wait::Signal(name) => self.signals.remove(&signal_name(name)),
            Wait::Update(name) => self.updates.remove(&update_name(name)),
            Wait::Race { timer, activity } => {
                let fired = self.fired_timers.remove(&timer);
                let finished = self.activities.contains_key(&activity);
                if finished && !fired {
                    // The activity won: the timer is of no use any more.
                    commands.push(WorkflowCommand::CancelTimer { seq: timer });
                }
                (fired || finished).then_some(1)
            }
        })
    }

    /// Runs one step, sending its commands.
    fn run(&mut self, step: Step, commands: &mut Vec<WorkflowCommand>) -> Ran {
        match step {
            Step::Activity { id, failing, .. } => {
                let seq = self.schedule(id, failing, commands);
                Ran::Waits(Wait::Activity(seq))
            }
            Step::Timer { millis } => {
                let seq = self.start_timer(millis, commands);
                Ran::Waits(Wait::Timer(seq))
            }
            Step::SideEffect { value } => {
                commands.push(marker("SideEffect", "data", json(&value)));
                Ran::Contributed(u64::from(value))
            }
            Step::Version { change } => {
                commands.push(marker(
                    "Version",
                    "change-id",
                    json(&format!("change-{change}")),
                ));
                Ran::Contributed(1)
            }
            Step::MutableSideEffect { id, value } => {
                if self.mutable.insert(id, value) != Some(value) {
                    commands.push(marker("MutableSideEffect", "data", json(&value)));
                }
                Ran::Contributed(u64::from(value))
            }
            Step::Race {
                timer_millis,
                activity_millis: _,
            } => {
                let timer = self.start_timer(timer_millis, commands);
                let activity = self.schedule(0, 0, commands);
                Ran::Waits(Wait::Race { timer, activity })
            }
            Step::Pipe { values } => {
                Ran::Contributed(values.iter().map(|value| u64::from(*value)).sum())
            }
            Step::Spawn(steps) => {
                self.threads.push(Thread {
                    steps: steps.into(),
                    ..Thread::default()
                });
                Ran::Contributed(0)
            }
            Step::AwaitUpdate { name } => match self.updates.remove(&update_name(name)) {
                Some(value) => Ran::Contributed(value),
                None => Ran::Waits(Wait::Update(name)),
            },
            Step::AwaitSignal { name } => match self.signals.remove(&signal_name(name)) {
                Some(value) => Ran::Contributed(value),
                None => Ran::Waits(Wait::Signal(name)),
            },
        }
    }

    fn schedule(&mut self, id: u32, failing: u8, commands: &mut Vec<WorkflowCommand>) -> u32 {
        self.activity_seq += 1;
        let seq = self.activity_seq;
        commands.push(WorkflowCommand::ScheduleActivity {
            seq,
            attributes: Box::new(ScheduleActivityTaskCommandAttributes {
                activity_id: ActivityId::new(seq.to_string())
                    .unwrap_or_else(|_| unreachable!("a number is a valid id")),
                activity_type: ActivityType::new(ACTIVITY_TYPE)
                    .unwrap_or_else(|_| unreachable!("valid literal")),
                task_queue: None,
                header: Header::new(),
                input: Payloads::one(json(&(id, failing))),
                schedule_to_close_timeout: None,
                schedule_to_start_timeout: None,
                start_to_close_timeout: Some(Duration::from_secs(30)),
                heartbeat_timeout: None,
                retry_policy: Some(RetryPolicy {
                    initial_interval: Duration::from_millis(200),
                    maximum_interval: Some(Duration::from_secs(1)),
                    ..RetryPolicy::default()
                }),
                request_eager_execution: false,
            }),
        });
        seq
    }

    fn start_timer(&mut self, millis: u16, commands: &mut Vec<WorkflowCommand>) -> u32 {
        self.timer_seq += 1;
        commands.push(WorkflowCommand::StartTimer {
            seq: self.timer_seq,
            duration: Duration::from_millis(u64::from(millis)),
        });
        self.timer_seq
    }
}

fn marker(name: &str, key: &str, value: Payload) -> WorkflowCommand {
    WorkflowCommand::RecordMarker(RecordMarkerCommandAttributes {
        marker_name: MarkerName::new(name).unwrap_or_else(|_| unreachable!("valid literal")),
        details: [(key.to_owned(), Payloads::one(value))].into(),
        header: Header::new(),
        failure: None,
    })
}

fn json<T: serde::Serialize + ?Sized>(value: &T) -> Payload {
    Payload::json(value).unwrap_or_else(|error| unreachable!("plain data encodes: {error}"))
}
