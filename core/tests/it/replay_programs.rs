//! Random workflow programs run live on the execution machine (with a simulated worker and
//! clock) and then replayed from the final history: replay must accept every task, and a
//! program with two steps swapped must be caught as nondeterminism.

// The simulated activity worker returns `Failure`s by value, as an activity function would.
#![allow(clippy::result_large_err)]

use std::time::Duration;

use endure_core::execution::*;
use endure_core::replay::*;
use endure_core::simulated_run::SimulatedRun;
use endure_core::*;
use proptest::prelude::*;

/// One step of a workflow program.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Step {
    /// Run an activity; the simulated worker fails its first attempt if asked.
    Activity { fail_first: bool },
    /// Sleep.
    Timer { seconds: u8 },
    /// Wait for a signal.
    WaitSignal,
    /// Record a side-effect marker.
    Marker,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        any::<bool>().prop_map(|fail_first| Step::Activity { fail_first }),
        (1u8..120).prop_map(|seconds| Step::Timer { seconds }),
        Just(Step::WaitSignal),
        Just(Step::Marker),
    ]
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Awaiting {
    Activity(u32),
    Timer(u32),
    Signal,
}

/// A deterministic interpreter of a program: the same jobs give the same commands.
struct Program {
    steps: Vec<Step>,
    next_step: usize,
    awaiting: Option<Awaiting>,
    timer_seq: u32,
    activity_seq: u32,
    signals_available: u32,
    done: bool,
}

impl Program {
    fn new(steps: Vec<Step>) -> Self {
        Self {
            steps,
            next_step: 0,
            awaiting: None,
            timer_seq: 0,
            activity_seq: 0,
            signals_available: 0,
            done: false,
        }
    }

    fn activate(&mut self, activation: &Activation) -> Vec<WorkflowCommand> {
        for job in &activation.jobs {
            match job {
                Job::Signal { .. } => self.signals_available += 1,
                Job::FireTimer { seq } if self.awaiting == Some(Awaiting::Timer(*seq)) => {
                    self.awaiting = None
                }
                Job::ResolveActivity { seq, .. }
                    if self.awaiting == Some(Awaiting::Activity(*seq)) =>
                {
                    self.awaiting = None
                }
                _ => {}
            }
        }
        if self.awaiting == Some(Awaiting::Signal) && self.signals_available > 0 {
            self.signals_available -= 1;
            self.awaiting = None;
        }
        let mut commands = Vec::new();
        while self.awaiting.is_none() && !self.done {
            let Some(step) = self.steps.get(self.next_step).copied() else {
                commands.push(WorkflowCommand::Complete(
                    CompleteWorkflowExecutionCommandAttributes { result: None },
                ));
                self.done = true;
                break;
            };
            self.next_step += 1;
            match step {
                Step::Activity { .. } => {
                    self.activity_seq += 1;
                    let seq = self.activity_seq;
                    commands.push(WorkflowCommand::ScheduleActivity {
                        seq,
                        attributes: Box::new(ScheduleActivityTaskCommandAttributes {
                            activity_id: ActivityId::new(seq.to_string()).unwrap(),
                            activity_type: ActivityType::new("Work").unwrap(),
                            task_queue: None,
                            header: Header::new(),
                            input: Payloads::empty(),
                            schedule_to_close_timeout: None,
                            schedule_to_start_timeout: None,
                            start_to_close_timeout: Some(Duration::from_secs(30)),
                            heartbeat_timeout: None,
                            retry_policy: None,
                            request_eager_execution: false,
                        }),
                    });
                    self.awaiting = Some(Awaiting::Activity(seq));
                }
                Step::Timer { seconds } => {
                    self.timer_seq += 1;
                    commands.push(WorkflowCommand::StartTimer {
                        seq: self.timer_seq,
                        duration: Duration::from_secs(u64::from(seconds)),
                    });
                    self.awaiting = Some(Awaiting::Timer(self.timer_seq));
                }
                Step::WaitSignal => {
                    if self.signals_available > 0 {
                        self.signals_available -= 1;
                    } else {
                        self.awaiting = Some(Awaiting::Signal);
                    }
                }
                Step::Marker => commands.push(WorkflowCommand::RecordMarker(
                    RecordMarkerCommandAttributes {
                        marker_name: MarkerName::new("SideEffect").unwrap(),
                        details: Default::default(),
                        header: Header::new(),
                        failure: None,
                    },
                )),
            }
        }
        commands
    }
}

/// Runs `steps` live and returns the final history.
fn run_live(steps: &[Step]) -> Vec<endure_core::HistoryEvent> {
    let mut program = Program::new(steps.to_vec());
    let activity_steps: Vec<Step> = steps
        .iter()
        .copied()
        .filter(|step| matches!(step, Step::Activity { .. }))
        .collect();
    let signals = steps
        .iter()
        .filter(|step| **step == Step::WaitSignal)
        .map(|_| SignalRequest {
            signal_name: SignalName::new("go").unwrap(),
            input: Payloads::empty(),
            identity: "c".into(),
            header: Header::new(),
            request_id: None,
        })
        .collect();
    SimulatedRun {
        workflow: Box::new(|activation| {
            assert!(!activation.is_replaying);
            program.activate(activation)
        }),
        activity: Box::new(|scheduled, attempt| {
            let seq: usize = scheduled.activity_id.as_str().parse().unwrap();
            let flaky = matches!(
                activity_steps.get(seq - 1),
                Some(Step::Activity { fail_first: true })
            );
            if flaky && attempt == 1 {
                Err(Failure::application("first attempt", "Flaky"))
            } else {
                Ok(None)
            }
        }),
        signals,
    }
    .run(Payloads::empty())
}

/// Replays `history` with `steps`; the first error, if any.
fn replay(history: &[endure_core::HistoryEvent], steps: &[Step]) -> Result<(), ReplayError> {
    let mut machine = ReplayMachine::new();
    machine.feed(history.iter().cloned())?;
    let mut program = Program::new(steps.to_vec());
    let mut tasks = 0;
    while let Some(activation) = machine.next_activation()? {
        assert!(
            activation.is_replaying,
            "every task of a closed history is replayed"
        );
        let commands = program.activate(&activation);
        assert!(
            machine.complete(commands)?.is_empty(),
            "replay sends nothing"
        );
        tasks += 1;
        assert!(tasks < 1000);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn programs_replay_exactly_and_reordering_is_caught(steps in proptest::collection::vec(step(), 0..8)) {
        let history = run_live(&steps);
        prop_assert_eq!(replay(&history, &steps), Ok(()));
        // Swap the first two steps that issue different first commands.
        let kind = |step: &Step| std::mem::discriminant(step);
        if let Some(index) = (0..steps.len().saturating_sub(1)).find(|&i| {
            kind(&steps[i]) != kind(&steps[i + 1]) && steps[i] != Step::WaitSignal && steps[i + 1] != Step::WaitSignal
        }) {
            let mut swapped = steps.clone();
            swapped.swap(index, index + 1);
            let result = replay(&history, &swapped);
            prop_assert!(matches!(result, Err(ReplayError::Nondeterminism(_))), "swapping {:?} was not caught: {:?}", &steps[index..index + 2], result);
        }
    }
}
