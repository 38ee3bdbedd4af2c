//! Drives one run through inputs, keeping the whole history and checking it after every
//! transition; renders events one per line for data-driven expectations.

use std::time::Duration;

use crate::command::*;
use crate::execution::*;
use crate::history::{EventAttributes, HistoryEvent, SdkMetadata, check_well_formed};
use crate::ids::*;
use crate::options::StartWorkflowOptions;
use crate::payload::{Header, Payload, Payloads};
use crate::time::Timestamp;

/// 2026-11-28T10:00:00Z.
pub(super) const T0: Timestamp = Timestamp::from_unix_seconds(1_795_860_000);

pub(super) fn queue() -> TaskQueueName {
    TaskQueueName::new("orders").unwrap()
}

pub(super) fn options() -> StartWorkflowOptions {
    StartWorkflowOptions::new(WorkflowId::new("order_42").unwrap(), queue())
}

pub(super) fn json(value: &str) -> Payloads {
    Payloads::one(Payload::json(value).unwrap())
}

/// One run under test, its history so far, and a clock.
pub(super) struct Run {
    pub(super) machine: ExecutionMachine,
    pub(super) history: Vec<HistoryEvent>,
    pub(super) now: Timestamp,
    next_run_seq: u128,
    poll_seq: u64,
}

impl Run {
    pub(super) fn start(options: StartWorkflowOptions) -> (Self, Effects) {
        let request = StartRequest::from_options(
            Namespace::default(),
            &options,
            RunId::from_u128(1),
            WorkflowType::new("OrderWorkflow").unwrap(),
            json("user_123"),
            Header::new(),
            "client".into(),
            T0,
        )
        .unwrap();
        Self::start_request(request)
    }

    pub(super) fn start_request(request: StartRequest) -> (Self, Effects) {
        let (machine, effects) = ExecutionMachine::start(request, T0);
        let run = Self {
            machine,
            history: effects.events.clone(),
            now: T0,
            next_run_seq: 100,
            poll_seq: 0,
        };
        check_well_formed(&run.history).unwrap();
        (run, effects)
    }

    /// Applies an input that must be accepted.
    pub(super) fn apply(&mut self, input: Input) -> Effects {
        match self.try_apply(input) {
            Ok(effects) => effects,
            Err(rejected) => panic!("input refused: {rejected}"),
        }
    }

    /// Applies an input; on refusal checks the machine is unchanged.
    pub(super) fn try_apply(&mut self, input: Input) -> Result<Effects, Rejected> {
        let before = self.machine.clone();
        match self.machine.apply(input, self.now) {
            Ok(effects) => {
                self.history.extend(effects.events.iter().cloned());
                if let Err(error) = check_well_formed(&self.history) {
                    panic!("history malformed: {error}\n{}", render(&self.history));
                }
                Ok(effects)
            }
            Err(rejected) => {
                assert_eq!(self.machine, before, "a refused input changed the machine");
                Err(rejected)
            }
        }
    }

    pub(super) fn advance(&mut self, duration: Duration) -> &mut Self {
        self.now = self.now.saturating_add(duration);
        self
    }

    pub(super) fn next_run_id(&mut self) -> RunId {
        self.next_run_seq += 1;
        RunId::from_u128(self.next_run_seq)
    }

    /// Applies a deadline input at the current time.
    pub(super) fn fire(&mut self) -> Effects {
        let next_run_id = self.next_run_id();
        self.apply(Input::Deadline { next_run_id })
    }

    /// Moves the clock to the next deadline and fires it.
    pub(super) fn fire_next_deadline(&mut self) -> Effects {
        let deadline = self.machine.next_deadline().expect("a deadline is pending");
        assert!(deadline >= self.now, "deadline in the past");
        self.now = deadline;
        self.fire()
    }

    /// Starts the pending workflow task.
    pub(super) fn start_task(&mut self) -> WorkflowTaskToken {
        let scheduled_event_id = self
            .machine
            .workflow_task()
            .expect("a workflow task is pending")
            .scheduled_event_id;
        self.poll_seq += 1;
        let effects = self.apply(Input::WorkflowTaskStarted {
            scheduled_event_id,
            request_id: format!("poll-{}", self.poll_seq),
            identity: "worker".into(),
        });
        match effects.reply {
            Reply::WorkflowTaskStarted(reply) => reply.token,
            other => panic!("unexpected reply {other:?}"),
        }
    }

    pub(super) fn completion(&mut self, token: WorkflowTaskToken, commands: Vec<Command>) -> Input {
        let next_run_id = self.next_run_id();
        Input::WorkflowTaskCompleted(Box::new(WorkflowTaskCompletion {
            token,
            commands,
            identity: "worker".into(),
            sticky: None,
            force_create_workflow_task: false,
            sdk_metadata: SdkMetadata::default(),
            next_run_id,
            messages: Vec::new(),
            deployment_version: None,
            versioning_behavior: Default::default(),
        }))
    }

    /// Starts the pending workflow task and completes it with `commands`.
    pub(super) fn run_task(&mut self, commands: Vec<Command>) -> Effects {
        let token = self.start_task();
        let input = self.completion(token, commands);
        self.apply(input)
    }

    /// Starts the current attempt of the activity scheduled by `scheduled_event_id`.
    pub(super) fn start_activity(&mut self, scheduled_event_id: u64) -> ActivityTaskToken {
        let scheduled_event_id = EventId::new(scheduled_event_id).unwrap();
        let token = self.machine.activities()[&scheduled_event_id].current_token();
        self.poll_seq += 1;
        self.apply(Input::ActivityTaskStarted {
            token,
            request_id: format!("activity-poll-{}", self.poll_seq),
            identity: "activity-worker".into(),
        });
        token
    }

    pub(super) fn signal(
        &mut self,
        name: &str,
        request_id: Option<&str>,
    ) -> Result<Effects, Rejected> {
        self.try_apply(Input::Signal(signal(name, request_id)))
    }
}

pub(super) fn signal(name: &str, request_id: Option<&str>) -> SignalRequest {
    SignalRequest {
        signal_name: SignalName::new(name).unwrap(),
        input: json(name),
        identity: "client".into(),
        header: Header::new(),
        request_id: request_id.map(|id| RequestId::new(id).unwrap()),
    }
}

pub(super) fn schedule_activity(
    id: &str,
    start_to_close: Duration,
) -> ScheduleActivityTaskCommandAttributes {
    ScheduleActivityTaskCommandAttributes {
        activity_id: ActivityId::new(id).unwrap(),
        activity_type: ActivityType::new("SendEmail").unwrap(),
        task_queue: None,
        header: Header::new(),
        input: json("user_123"),
        schedule_to_close_timeout: None,
        schedule_to_start_timeout: None,
        start_to_close_timeout: Some(start_to_close),
        heartbeat_timeout: None,
        retry_policy: None,
        request_eager_execution: false,
    }
}

pub(super) fn activity_command(attributes: ScheduleActivityTaskCommandAttributes) -> Command {
    Command::ScheduleActivityTask(Box::new(attributes))
}

pub(super) fn start_timer(id: &str, duration: Duration) -> Command {
    Command::StartTimer(StartTimerCommandAttributes {
        timer_id: TimerId::new(id).unwrap(),
        start_to_fire_timeout: duration,
    })
}

pub(super) fn complete(result: &str) -> Command {
    Command::CompleteWorkflowExecution(CompleteWorkflowExecutionCommandAttributes {
        result: Some(json(result)),
    })
}

/// One line per event: id, type, back-references and the attributes that matter.
pub(super) fn render(events: &[HistoryEvent]) -> String {
    events.iter().map(describe).collect::<Vec<_>>().join("\n")
}

fn describe(event: &HistoryEvent) -> String {
    let mut line = format!("{} {}", event.event_id, event.event_type());
    for reference in event.attributes.back_references() {
        let field = match reference.field {
            "workflow_task_completed_event_id" => "wtc",
            "scheduled_event_id" => "scheduled",
            "started_event_id" => "started",
            "initiated_event_id" => "initiated",
            "latest_cancel_requested_event_id" => "cancel_requested",
            other => other,
        };
        line.push_str(&format!(" {field}={}", reference.target));
    }
    let extra = match &event.attributes {
        EventAttributes::WorkflowTaskScheduled(a) => {
            let mut extra = Vec::new();
            if a.task_queue.kind == crate::enums::TaskQueueKind::Sticky {
                extra.push("sticky".to_owned());
            }
            if a.attempt > 1 {
                extra.push(format!("attempt={}", a.attempt));
            }
            extra.join(" ")
        }
        EventAttributes::WorkflowTaskTimedOut(a) => format!("{:?}", a.timeout_type),
        EventAttributes::WorkflowTaskFailed(a) => format!("{:?}", a.cause),
        EventAttributes::ActivityTaskStarted(a) => format!(
            "attempt={}{}",
            a.attempt,
            if a.last_failure.is_some() {
                " last_failure"
            } else {
                ""
            }
        ),
        EventAttributes::ActivityTaskFailed(a) => format!("{:?}", a.retry_state),
        EventAttributes::ActivityTaskTimedOut(a) => {
            let timeout_type = match &a.failure.info {
                crate::failure::FailureInfo::Timeout { timeout_type, .. } => {
                    format!("{timeout_type:?}")
                }
                _ => "?".into(),
            };
            format!("{timeout_type} {:?}", a.retry_state)
        }
        EventAttributes::WorkflowExecutionSignaled(a) => a.signal_name.to_string(),
        EventAttributes::WorkflowExecutionFailed(a) => {
            format!(
                "{:?}{}",
                a.retry_state,
                if a.new_execution_run_id.is_some() {
                    " new_run"
                } else {
                    ""
                }
            )
        }
        EventAttributes::WorkflowExecutionTimedOut(a) => {
            format!(
                "{:?}{}",
                a.retry_state,
                if a.new_execution_run_id.is_some() {
                    " new_run"
                } else {
                    ""
                }
            )
        }
        EventAttributes::WorkflowExecutionCompleted(a) => {
            if a.new_execution_run_id.is_some() {
                "new_run".into()
            } else {
                String::new()
            }
        }
        _ => String::new(),
    };
    if !extra.is_empty() {
        line.push(' ');
        line.push_str(&extra);
    }
    line
}

/// Asserts `events` render to `expected` (one event per line, leading spaces ignored).
#[track_caller]
pub(super) fn check(events: &[HistoryEvent], expected: &str) {
    let expected: Vec<&str> = expected
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    let actual = render(events);
    let actual: Vec<&str> = actual.lines().collect();
    assert_eq!(actual, expected, "\nactual:\n{}\n", actual.join("\n"));
}
