//! Random workflow programs — the simulator's workload generator, `endure_core::workload` —
//! run live on the execution machine by the command-level interpreter (with a simulated
//! worker, signaller, update sender and clock), then replayed from the final history: the
//! run must return the program's expected result, every update must be accepted and
//! completed once, replay must accept every task, and a program with two steps swapped
//! must be caught as nondeterminism.

use endure_core::execution::SignalRequest;
use endure_core::replay::*;
use endure_core::simulated_run::SimulatedRun;
use endure_core::workload::{Interpreter, Program, Step, attempt_outcome};
use endure_core::*;
use proptest::prelude::*;

/// Runs `program` live and returns the final history.
fn run_live(program: &Program) -> Vec<HistoryEvent> {
    let mut interpreter = Interpreter::new(program.clone());
    let signals = program
        .signals()
        .into_iter()
        .map(|(name, value)| SignalRequest {
            signal_name: SignalName::new(name).unwrap(),
            input: Payloads::one(Payload::json(&value).unwrap()),
            identity: "c".into(),
            header: Header::new(),
            request_id: None,
        })
        .collect();
    SimulatedRun {
        workflow: Box::new(|activation| {
            assert!(!activation.is_replaying);
            interpreter.activate(activation)
        }),
        activity: Box::new(attempt_outcome),
        signals,
        attempts: None,
        updates: program
            .updates()
            .into_iter()
            .map(|(name, value)| UpdateRequest {
                update_id: UpdateId::new(format!("send-{name}")).unwrap(),
                identity: "c".into(),
                name: UpdateName::new(name).unwrap(),
                header: Header::new(),
                args: Payloads::one(Payload::json(&value).unwrap()),
            })
            .collect(),
    }
    .run(Payloads::one(Payload::json(program).unwrap()))
}

/// Replays `history` with `program`; the first error, if any.
fn replay(history: &[HistoryEvent], program: &Program) -> Result<(), ReplayError> {
    let mut machine = ReplayMachine::new();
    machine.feed(history.iter().cloned())?;
    let mut interpreter = Interpreter::new(program.clone());
    let mut tasks = 0;
    while let Some(activation) = machine.next_activation()? {
        assert!(
            activation.is_replaying,
            "every task of a closed history is replayed"
        );
        let commands = interpreter.activate(&activation);
        assert!(
            machine.complete(commands)?.is_empty(),
            "replay sends nothing"
        );
        tasks += 1;
        assert!(tasks < 10_000);
    }
    Ok(())
}

/// The result the run's Completed event carries.
fn result_of(history: &[HistoryEvent]) -> Option<u64> {
    history.iter().find_map(|event| match &event.attributes {
        EventAttributes::WorkflowExecutionCompleted(completed) => completed
            .result
            .as_ref()
            .and_then(|payloads| payloads.as_slice().first())
            .and_then(|payload| payload.decode().ok()),
        _ => None,
    })
}

/// The first command a step sends, if it sends one at once.
fn first_command(step: &Step) -> Option<&'static str> {
    match step {
        Step::Activity { .. } => Some("activity"),
        Step::Timer { .. } | Step::Race { .. } => Some("timer"),
        Step::SideEffect { .. } => Some("side effect"),
        Step::Version { .. } => Some("version"),
        _ => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn programs_return_their_result_replay_exactly_and_reordering_is_caught(seed in any::<u64>(), length in 1usize..10) {
        let program = Program::generate(seed, length);
        let history = run_live(&program);
        prop_assert_eq!(result_of(&history), Some(program.expected()), "{:#?}", program);
        let accepted = history.iter().filter(|event| event.event_type() == EventType::WorkflowExecutionUpdateAccepted).count();
        let completed = history.iter().filter(|event| event.event_type() == EventType::WorkflowExecutionUpdateCompleted).count();
        prop_assert_eq!(accepted, program.updates().len());
        prop_assert_eq!(completed, accepted);
        prop_assert_eq!(replay(&history, &program), Ok(()));
        // Swap the first two adjacent steps that send different first commands.
        let steps = &program.steps;
        if let Some(index) = (0..steps.len().saturating_sub(1)).find(|&i| {
            matches!((first_command(&steps[i]), first_command(&steps[i + 1])), (Some(a), Some(b)) if a != b)
        }) {
            let mut swapped = program.clone();
            swapped.steps.swap(index, index + 1);
            let result = replay(&history, &swapped);
            prop_assert!(matches!(result, Err(ReplayError::Nondeterminism(_))), "swapping {:?} was not caught: {:?}", &steps[index..index + 2], result);
        }
    }
}
