//! Updates across the two machines: delivered live with a task (the validator runs), their
//! answers turned into protocol messages the execution machine writes as UpdateAccepted
//! and UpdateCompleted, then replayed from history — delivered again from UpdateAccepted,
//! validators off — where code that no longer accepts the update is caught.

use std::time::Duration;

use endure_core::execution::*;
use endure_core::replay::*;
use endure_core::*;

const T0: Timestamp = Timestamp::from_unix_seconds(1_795_860_000);

fn request(id: &str) -> UpdateRequest {
    UpdateRequest {
        update_id: UpdateId::new(id).unwrap(),
        identity: "client".into(),
        name: UpdateName::new("AddItem").unwrap(),
        header: Header::new(),
        args: Payloads::one(Payload::json(&3).unwrap()),
    }
}

/// The workflow: accepts every update, its handler sleeps a second then answers "added";
/// the workflow completes once the handler is done.
fn workflow(activation: &Activation, accept: bool) -> Vec<WorkflowCommand> {
    let mut commands = Vec::new();
    for job in &activation.jobs {
        match job {
            Job::DoUpdate { update_id, .. } if accept => {
                commands.push(WorkflowCommand::UpdateResponse {
                    update_id: update_id.clone(),
                    response: UpdateResponse::Accepted,
                });
                commands.push(WorkflowCommand::StartTimer {
                    seq: 1,
                    duration: Duration::from_secs(1),
                });
            }
            Job::DoUpdate { update_id, .. } => commands.push(WorkflowCommand::UpdateResponse {
                update_id: update_id.clone(),
                response: UpdateResponse::Rejected(Failure::application("no", "Refused")),
            }),
            Job::FireTimer { seq: 1 } => {
                commands.push(WorkflowCommand::UpdateResponse {
                    update_id: UpdateId::new("u1").unwrap(),
                    response: UpdateResponse::Completed(UpdateOutcome::Success(Payloads::one(
                        Payload::json(&"added").unwrap(),
                    ))),
                });
                commands.push(WorkflowCommand::Complete(
                    CompleteWorkflowExecutionCommandAttributes { result: None },
                ));
            }
            _ => {}
        }
    }
    commands
}

fn apply(
    machine: &mut ExecutionMachine,
    history: &mut Vec<HistoryEvent>,
    input: Input,
    now: Timestamp,
) -> Effects {
    let effects = machine.apply(input, now).unwrap();
    history.extend(effects.events.iter().cloned());
    effects
}

/// Runs the workflow live with update `u1` sent with its first task; the final history.
fn run_live() -> Vec<HistoryEvent> {
    let options = StartWorkflowOptions::new(
        WorkflowId::new("cart").unwrap(),
        TaskQueueName::new("carts").unwrap(),
    );
    let start = StartRequest::from_options(
        Namespace::default(),
        &options,
        RunId::from_u128(1),
        WorkflowType::new("Cart").unwrap(),
        Payloads::empty(),
        Header::new(),
        "client".into(),
        T0,
    )
    .unwrap();
    let (mut machine, effects) = ExecutionMachine::start(start, T0);
    let mut history = effects.events;
    let mut replay = ReplayMachine::new();
    let mut now = T0;
    apply(
        &mut machine,
        &mut history,
        Input::Update {
            request: request("u1"),
            ends_start_delay: false,
        },
        now,
    );
    let mut fed = 0;
    let mut saw_live_update = false;
    while !machine.status().is_closed() {
        if machine.workflow_task().is_none() {
            now = machine.next_deadline().unwrap();
            apply(
                &mut machine,
                &mut history,
                Input::Deadline {
                    next_run_id: RunId::from_u128(2),
                },
                now,
            );
            continue;
        }
        let scheduled_event_id = machine.workflow_task().unwrap().scheduled_event_id;
        let effects = apply(
            &mut machine,
            &mut history,
            Input::WorkflowTaskStarted {
                scheduled_event_id,
                request_id: format!("poll-{scheduled_event_id}"),
                identity: "worker".into(),
            },
            now,
        );
        let Reply::WorkflowTaskStarted(started) = effects.reply else {
            panic!("not started")
        };
        replay.feed(history[fed..].iter().cloned()).unwrap();
        fed = history.len();
        replay.deliver_updates(started.updates.clone());
        let activation = replay.next_activation().unwrap().unwrap();
        saw_live_update |= activation.jobs.iter().any(|job| {
            matches!(
                job,
                Job::DoUpdate {
                    run_validator: true,
                    ..
                }
            )
        });
        let commands = replay.complete(workflow(&activation, true)).unwrap();
        let effects = apply(
            &mut machine,
            &mut history,
            Input::WorkflowTaskCompleted(Box::new(WorkflowTaskCompletion {
                token: started.token,
                commands,
                identity: "worker".into(),
                sticky: None,
                force_create_workflow_task: false,
                sdk_metadata: Default::default(),
                next_run_id: RunId::from_u128(3),
                messages: replay.take_update_messages(),
                deployment_version: None,
                versioning_behavior: Default::default(),
            })),
            now,
        );
        assert_eq!(effects.reply, Reply::Accepted);
    }
    assert!(
        saw_live_update,
        "the live task delivered the update with its validator on"
    );
    history::check_well_formed(&history).unwrap();
    history
}

fn replay(history: &[HistoryEvent], accept: bool) -> Result<Vec<Activation>, ReplayError> {
    let mut machine = ReplayMachine::new();
    machine.feed(history.iter().cloned())?;
    let mut activations = Vec::new();
    while let Some(activation) = machine.next_activation()? {
        machine.complete(workflow(&activation, accept))?;
        activations.push(activation);
    }
    Ok(activations)
}

#[test]
fn an_update_is_written_live_and_replayed_without_its_validator() {
    let history = run_live();
    let types: Vec<EventType> = history.iter().map(HistoryEvent::event_type).collect();
    assert_eq!(
        types,
        [
            EventType::WorkflowExecutionStarted,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
            EventType::WorkflowTaskCompleted,
            EventType::WorkflowExecutionUpdateAccepted,
            EventType::TimerStarted,
            EventType::TimerFired,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
            EventType::WorkflowTaskCompleted,
            EventType::WorkflowExecutionUpdateCompleted,
            EventType::WorkflowExecutionCompleted,
        ]
    );
    let EventAttributes::WorkflowExecutionUpdateAccepted(accepted) = &history[4].attributes else {
        unreachable!()
    };
    assert_eq!(accepted.accepted_request, request("u1"));
    // Sequenced after the event before the task's WorkflowTaskStarted (3), as Temporal writes it.
    assert_eq!(accepted.accepted_request_sequencing_event_id.get(), 2);
    let EventAttributes::WorkflowExecutionUpdateCompleted(completed) = &history[10].attributes
    else {
        unreachable!()
    };
    assert_eq!(completed.accepted_event_id.get(), 5);

    let activations = replay(&history, true).unwrap();
    let updates: Vec<&Job> = activations
        .iter()
        .flat_map(|activation| &activation.jobs)
        .filter(|job| matches!(job, Job::DoUpdate { .. }))
        .collect();
    assert_eq!(
        updates.len(),
        1,
        "delivered once, by the task that accepted it"
    );
    assert!(
        matches!(updates[0], Job::DoUpdate { run_validator: false, update_id, .. } if update_id.as_str() == "u1"),
        "validators never run on replay"
    );
    // Code that now rejects the update does not match the UpdateAccepted in history.
    assert!(matches!(
        replay(&history, false),
        Err(ReplayError::Nondeterminism(_))
    ));
}

#[test]
fn an_update_reaches_the_live_task_after_a_full_replay() {
    // A run whose first task set a timer; then an update arrives and its speculative task
    // starts. A worker without the run cached replays task 1, then runs the live task.
    let options = StartWorkflowOptions::new(
        WorkflowId::new("cart").unwrap(),
        TaskQueueName::new("carts").unwrap(),
    );
    let start = StartRequest::from_options(
        Namespace::default(),
        &options,
        RunId::from_u128(1),
        WorkflowType::new("Cart").unwrap(),
        Payloads::empty(),
        Header::new(),
        "client".into(),
        T0,
    )
    .unwrap();
    let (mut machine, effects) = ExecutionMachine::start(start, T0);
    let mut history = effects.events;
    let started = |machine: &mut ExecutionMachine, history: &mut Vec<HistoryEvent>| {
        let scheduled_event_id = machine.workflow_task().unwrap().scheduled_event_id;
        let effects = apply(
            machine,
            history,
            Input::WorkflowTaskStarted {
                scheduled_event_id,
                request_id: format!("poll-{scheduled_event_id}"),
                identity: "worker".into(),
            },
            T0,
        );
        let Reply::WorkflowTaskStarted(started) = effects.reply else {
            panic!("not started")
        };
        started
    };
    let first = started(&mut machine, &mut history);
    let timer = Command::StartTimer(StartTimerCommandAttributes {
        timer_id: TimerId::new("1").unwrap(),
        start_to_fire_timeout: Duration::from_secs(60),
    });
    apply(
        &mut machine,
        &mut history,
        Input::WorkflowTaskCompleted(Box::new(WorkflowTaskCompletion {
            token: first.token,
            commands: vec![timer],
            identity: "worker".into(),
            sticky: None,
            force_create_workflow_task: false,
            sdk_metadata: Default::default(),
            next_run_id: RunId::from_u128(3),
            messages: Vec::new(),
            deployment_version: None,
            versioning_behavior: Default::default(),
        })),
        T0,
    );
    apply(
        &mut machine,
        &mut history,
        Input::Update {
            request: request("u1"),
            ends_start_delay: false,
        },
        T0,
    );
    let speculative = started(&mut machine, &mut history);
    let mut replay = ReplayMachine::new();
    replay
        .feed(
            history
                .iter()
                .cloned()
                .chain(speculative.transient_events.clone()),
        )
        .unwrap();
    replay.deliver_updates(speculative.updates.clone());
    let replayed = replay.next_activation().unwrap().unwrap();
    assert!(replayed.is_replaying);
    assert!(
        !replayed
            .jobs
            .iter()
            .any(|job| matches!(job, Job::DoUpdate { .. }))
    );
    replay
        .complete(vec![WorkflowCommand::StartTimer {
            seq: 1,
            duration: Duration::from_secs(60),
        }])
        .unwrap();
    let live = replay.next_activation().unwrap().unwrap();
    assert!(!live.is_replaying);
    assert!(
        live.jobs.iter().any(|job| matches!(
            job,
            Job::DoUpdate {
                run_validator: true,
                ..
            }
        )),
        "{:?}",
        live.jobs
    );
}
