//! The engine through its API with raw commands (the SDK comes next): every test plays the
//! worker by hand and asserts the history event by event. Time is a manual clock.

use std::sync::Arc;
use std::time::Duration;

use endure_core::execution::{Reply, SignalRequest, WorkflowTaskCompletion};
use endure_core::history::{EventType, HistoryEvent, SdkMetadata, check_well_formed};
use endure_core::storage::Storage;
use endure_core::time::Timestamp;
use endure_core::*;
use endure_server::clock::ManualClock;
use endure_server::engine::*;
use endure_server::storage::MemoryStorage;

const T0: Timestamp = Timestamp::from_unix_seconds(1_795_860_000);

struct Harness {
    engine: Engine<MemoryStorage, ManualClock>,
    clock: Arc<ManualClock>,
    storage: Arc<MemoryStorage>,
}

fn ns() -> Namespace {
    Namespace::default()
}

fn queue() -> TaskQueueName {
    TaskQueueName::new("orders").unwrap()
}

fn json(value: &str) -> Payloads {
    Payloads::one(Payload::json(value).unwrap())
}

async fn harness() -> Harness {
    let clock = Arc::new(ManualClock::new(T0));
    let storage = Arc::new(MemoryStorage::new());
    let engine = Engine::with_ports(
        Arc::clone(&storage),
        Arc::clone(&clock),
        EngineConfig::default(),
    )
    .await
    .unwrap();
    Harness {
        engine,
        clock,
        storage,
    }
}

fn start_request(id: &str) -> StartWorkflowRequest {
    StartWorkflowRequest {
        namespace: ns(),
        options: StartWorkflowOptions::new(WorkflowId::new(id).unwrap(), queue()),
        workflow_type: WorkflowType::new("OrderWorkflow").unwrap(),
        input: json("user_123"),
        header: Header::new(),
        identity: "client".into(),
    }
}

fn activity(
    retry: Option<RetryPolicy>,
    configure: impl FnOnce(&mut ScheduleActivityTaskCommandAttributes),
) -> Command {
    let mut attributes = ScheduleActivityTaskCommandAttributes {
        activity_id: ActivityId::new("1").unwrap(),
        activity_type: ActivityType::new("SendEmail").unwrap(),
        task_queue: None,
        header: Header::new(),
        input: json("user_123"),
        schedule_to_close_timeout: None,
        schedule_to_start_timeout: None,
        start_to_close_timeout: Some(Duration::from_secs(10)),
        heartbeat_timeout: None,
        retry_policy: retry,
        request_eager_execution: false,
    };
    configure(&mut attributes);
    Command::ScheduleActivityTask(Box::new(attributes))
}

impl Harness {
    /// Polls the next workflow task and completes it with `commands`.
    async fn workflow_task(&self, commands: Vec<Command>) -> WorkflowTaskForWorker {
        let task = self
            .engine
            .poll_workflow_task(&ns(), &queue(), "worker")
            .await
            .unwrap()
            .expect("a workflow task");
        let reply = self
            .engine
            .complete_workflow_task(
                &task.execution,
                WorkflowTaskCompletion::new(task.token, commands, "worker"),
            )
            .await
            .unwrap();
        assert!(matches!(reply, Reply::Accepted), "{reply:?}");
        task
    }

    async fn history(&self, id: &str) -> Vec<HistoryEvent> {
        let execution = self
            .engine
            .resolve_run(&ns(), &WorkflowId::new(id).unwrap(), None)
            .await
            .unwrap();
        let history = self.engine.history(&execution).await.unwrap();
        check_well_formed(&history).unwrap();
        history
    }

    /// Advances the clock and waits until `id`'s history has `events` events.
    async fn advance_until(&self, duration: Duration, id: &str, events: usize) {
        self.clock.advance(duration);
        for _ in 0..1000 {
            if self.history(id).await.len() >= events {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!(
            "history of {id} did not reach {events} events: {:?}",
            types(&self.history(id).await)
        );
    }
}

fn types(history: &[HistoryEvent]) -> Vec<EventType> {
    history.iter().map(HistoryEvent::event_type).collect()
}

#[tokio::test]
async fn quickstart_round_trip_writes_temporals_history() {
    let h = harness().await;
    let started = h
        .engine
        .start_workflow(start_request("order_1"))
        .await
        .unwrap();
    assert!(started.started);
    let first = h
        .workflow_task(vec![activity(
            Some(RetryPolicy::with_maximum_attempts(3)),
            |_| {},
        )])
        .await;
    assert_eq!(
        types(&first.history),
        [
            EventType::WorkflowExecutionStarted,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted
        ]
    );
    let task = h
        .engine
        .poll_activity_task(&ns(), &queue(), "activity-worker")
        .await
        .unwrap()
        .expect("an activity");
    assert_eq!(task.task.scheduled.activity_type.as_str(), "SendEmail");
    h.engine
        .complete_activity_task(
            &task.execution,
            task.token(),
            Some(json("sent")),
            "activity-worker".into(),
        )
        .await
        .unwrap();
    h.workflow_task(vec![Command::StartTimer(StartTimerCommandAttributes {
        timer_id: TimerId::new("1").unwrap(),
        start_to_fire_timeout: Duration::from_secs(5),
    })])
    .await;
    h.advance_until(Duration::from_secs(5), "order_1", 13).await;
    h.workflow_task(vec![Command::CompleteWorkflowExecution(
        CompleteWorkflowExecutionCommandAttributes {
            result: Some(json("workflow_completed_sent")),
        },
    )])
    .await;
    let history = h.history("order_1").await;
    assert_eq!(
        types(&history),
        types(&history::samples::quickstart_history().events)
    );
    let description = h
        .engine
        .describe_workflow(&ns(), &WorkflowId::new("order_1").unwrap(), None)
        .await
        .unwrap();
    assert_eq!(description.status, WorkflowExecutionStatus::Completed);
    assert_eq!(description.history_length, 16);
}

#[tokio::test]
async fn activity_retries_after_the_backoff_and_reports_the_final_attempt() {
    let h = harness().await;
    h.engine
        .start_workflow(start_request("retry"))
        .await
        .unwrap();
    h.workflow_task(vec![activity(None, |_| {})]).await;
    let first = h
        .engine
        .poll_activity_task(&ns(), &queue(), "aw")
        .await
        .unwrap()
        .unwrap();
    h.engine
        .fail_activity_task(
            &first.execution,
            first.token(),
            Failure::application("smtp down", "SmtpError"),
            "aw".into(),
        )
        .await
        .unwrap();
    assert_eq!(h.history("retry").await.len(), 5, "a retry writes no event");
    h.clock.advance(Duration::from_secs(1));
    let second = h
        .engine
        .poll_activity_task(&ns(), &queue(), "aw")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.token().attempt, 2);
    let late = h
        .engine
        .complete_activity_task(&first.execution, first.token(), None, "aw".into())
        .await;
    assert!(
        matches!(late, Err(EngineError::Rejected(_))),
        "the first attempt's late completion is refused"
    );
    h.engine
        .complete_activity_task(
            &second.execution,
            second.token(),
            Some(json("sent")),
            "aw".into(),
        )
        .await
        .unwrap();
    let history = h.history("retry").await;
    assert_eq!(
        &types(&history)[5..],
        [
            EventType::ActivityTaskStarted,
            EventType::ActivityTaskCompleted,
            EventType::WorkflowTaskScheduled
        ]
    );
    let EventAttributes::ActivityTaskStarted(started) = &history[5].attributes else {
        panic!()
    };
    assert_eq!(started.attempt, 2);
    assert!(started.last_failure.is_some());
}

/// Runs one activity with `configure`d timeouts and no retries until it times out; returns
/// the timeout type reported.
async fn time_out(
    configure: impl FnOnce(&mut ScheduleActivityTaskCommandAttributes),
    start_it: bool,
    wait: Duration,
) -> TimeoutType {
    let h = harness().await;
    h.engine
        .start_workflow(start_request("timeout"))
        .await
        .unwrap();
    h.workflow_task(vec![activity(
        Some(RetryPolicy::with_maximum_attempts(1)),
        configure,
    )])
    .await;
    if start_it {
        h.engine
            .poll_activity_task(&ns(), &queue(), "aw")
            .await
            .unwrap()
            .unwrap();
    }
    h.advance_until(wait, "timeout", 7).await;
    let history = h.history("timeout").await;
    let timed_out = history
        .iter()
        .find_map(|event| match &event.attributes {
            EventAttributes::ActivityTaskTimedOut(a) => Some(a.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no timeout in {:?}", types(&history)));
    assert_eq!(
        *types(&history).last().unwrap(),
        EventType::WorkflowTaskScheduled
    );
    match &timed_out.failure.info {
        FailureInfo::Timeout { timeout_type, .. } => *timeout_type,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn each_activity_timeout_fires() {
    let schedule_to_start = time_out(
        |a| a.schedule_to_start_timeout = Some(Duration::from_secs(3)),
        false,
        Duration::from_secs(3),
    )
    .await;
    assert_eq!(schedule_to_start, TimeoutType::ScheduleToStart);
    let start_to_close = time_out(
        |a| a.start_to_close_timeout = Some(Duration::from_secs(4)),
        true,
        Duration::from_secs(4),
    )
    .await;
    assert_eq!(start_to_close, TimeoutType::StartToClose);
    let heartbeat = time_out(
        |a| a.heartbeat_timeout = Some(Duration::from_secs(2)),
        true,
        Duration::from_secs(2),
    )
    .await;
    assert_eq!(heartbeat, TimeoutType::Heartbeat);
    let schedule_to_close = time_out(
        |a| {
            a.start_to_close_timeout = None;
            a.schedule_to_close_timeout = Some(Duration::from_secs(5));
        },
        true,
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(schedule_to_close, TimeoutType::ScheduleToClose);
}

#[tokio::test]
async fn a_duplicate_start_names_the_running_run_and_leaves_it_untouched() {
    let h = harness().await;
    let first = h.engine.start_workflow(start_request("dup")).await.unwrap();
    let before = h.history("dup").await;
    let second = h.engine.start_workflow(start_request("dup")).await;
    assert_eq!(
        second,
        Err(EngineError::AlreadyStarted {
            workflow_id: WorkflowId::new("dup").unwrap(),
            run_id: first.run_id
        })
    );
    assert_eq!(
        h.history("dup").await,
        before,
        "the running run is untouched"
    );
    let mut use_existing = start_request("dup");
    use_existing.options.id_conflict_policy = WorkflowIdConflictPolicy::UseExisting;
    assert_eq!(
        h.engine.start_workflow(use_existing).await,
        Ok(StartWorkflowResponse {
            run_id: first.run_id,
            started: false
        })
    );
}

#[tokio::test]
async fn a_retried_start_with_the_same_request_id_is_idempotent() {
    let h = harness().await;
    let mut request = start_request("idempotent");
    request.options.request_id = Some(RequestId::new("req-1").unwrap());
    let first = h.engine.start_workflow(request.clone()).await.unwrap();
    let again = h.engine.start_workflow(request).await.unwrap();
    assert_eq!(
        again,
        StartWorkflowResponse {
            run_id: first.run_id,
            started: false
        }
    );
    assert_eq!(h.history("idempotent").await.len(), 2);
}

#[tokio::test]
async fn a_new_owner_recovers_pending_tasks_and_deadlines_and_fences_the_old_one() {
    let h = harness().await;
    h.engine
        .start_workflow(start_request("recovered"))
        .await
        .unwrap();
    h.workflow_task(vec![Command::StartTimer(StartTimerCommandAttributes {
        timer_id: TimerId::new("1").unwrap(),
        start_to_fire_timeout: Duration::from_secs(30),
    })])
    .await;
    h.engine
        .start_workflow(start_request("backlogged"))
        .await
        .unwrap();
    // A second engine on the same store takes over every shard.
    let successor = Engine::with_ports(
        Arc::clone(&h.storage),
        Arc::clone(&h.clock),
        EngineConfig::default(),
    )
    .await
    .unwrap();
    let task = successor
        .poll_workflow_task(&ns(), &queue(), "worker")
        .await
        .unwrap()
        .expect("the backlog survived");
    assert_eq!(task.execution.workflow_id.as_str(), "backlogged");
    successor
        .complete_workflow_task(
            &task.execution,
            WorkflowTaskCompletion::new(task.token, vec![], "worker"),
        )
        .await
        .unwrap();
    let stale = h
        .engine
        .signal_workflow(
            &ns(),
            &WorkflowId::new("recovered").unwrap(),
            None,
            signal(),
        )
        .await;
    assert!(
        matches!(stale, Err(EngineError::Conflict(_))),
        "the old owner is fenced: {stale:?}"
    );
    h.clock.advance(Duration::from_secs(30));
    let fired = successor
        .poll_workflow_task(&ns(), &queue(), "worker")
        .await
        .unwrap()
        .expect("the recovered timer fired");
    assert_eq!(fired.execution.workflow_id.as_str(), "recovered");
    assert!(types(&fired.history).contains(&EventType::TimerFired));
    assert!(
        h.storage
            .load_execution(&fired.execution)
            .await
            .unwrap()
            .is_some()
    );
}

fn signal() -> endure_core::execution::SignalRequest {
    SignalRequest::new(SignalName::new("s").unwrap(), Payloads::empty(), "c")
}

#[tokio::test]
async fn activity_pollers_never_take_workflow_tasks_of_the_same_queue() {
    let h = harness().await;
    h.engine
        .start_workflow(start_request("shared-queue"))
        .await
        .unwrap();
    let engine = h.engine.clone();
    let activity_poller =
        tokio::spawn(async move { engine.poll_activity_task(&ns(), &queue(), "aw").await });
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    assert!(
        !activity_poller.is_finished(),
        "the activity poller waits: there is no activity task"
    );
    let task = h
        .engine
        .poll_workflow_task(&ns(), &queue(), "w")
        .await
        .unwrap();
    assert!(
        task.is_some(),
        "the workflow task is still there for a workflow poller"
    );
    activity_poller.abort();
}

#[tokio::test]
async fn a_workflow_runs_through_the_in_process_transport() {
    use endure_core::protocol::*;
    let h = harness().await;
    let transport: Arc<dyn Transport> = Arc::new(InProcessTransport::new(h.engine.clone()));
    let Response::StartWorkflow(started) = transport
        .call(start_request("via-transport").into_request())
        .await
        .unwrap()
    else {
        panic!("not started")
    };
    let duplicate = transport
        .call(start_request("via-transport").into_request())
        .await
        .unwrap_err();
    assert_eq!(duplicate.kind, ErrorKind::AlreadyStarted);
    assert_eq!(duplicate.run_id, Some(started.run_id));
    let poll = PollWorkflowTaskRequest {
        namespace: ns(),
        task_queue: queue(),
        identity: "w".into(),
        deployment_version: None,
        normal_queue: None,
    };
    let Response::PollWorkflowTask(Some(PolledWorkflowTask::Task(task))) =
        transport.call(poll.into_request()).await.unwrap()
    else {
        panic!("no task")
    };
    let completion = CompleteWorkflowTaskRequest {
        execution: task.execution.clone(),
        token: task.token,
        commands: vec![Command::CompleteWorkflowExecution(
            CompleteWorkflowExecutionCommandAttributes {
                result: Some(json("done")),
            },
        )],
        identity: "w".into(),
        sticky: None,
        force_create_workflow_task: false,
        sdk_metadata: SdkMetadata::default(),
        messages: Vec::new(),
        deployment_version: None,
        versioning_behavior: Default::default(),
    };
    let reply = transport.call(completion.into_request()).await.unwrap();
    assert_eq!(
        reply,
        Response::CompleteWorkflowTask(CompleteWorkflowTaskResponse::Accepted)
    );
    let Response::GetHistory(history) = transport
        .call(
            GetHistoryRequest {
                execution: task.execution.clone(),
            }
            .into_request(),
        )
        .await
        .unwrap()
    else {
        panic!("no history")
    };
    assert_eq!(
        types(&history),
        [
            EventType::WorkflowExecutionStarted,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
            EventType::WorkflowTaskCompleted,
            EventType::WorkflowExecutionCompleted
        ]
    );
    let closed = transport
        .call(
            SignalWorkflowRequest {
                namespace: ns(),
                workflow_id: WorkflowId::new("via-transport").unwrap(),
                run_id: None,
                signal: signal(),
            }
            .into_request(),
        )
        .await
        .unwrap_err();
    assert_eq!(closed.kind, ErrorKind::FailedPrecondition);
    // Messages survive a wire encoding.
    let request = start_request("wire").into_request();
    let bytes = postcard::to_allocvec(&request).unwrap();
    assert_eq!(postcard::from_bytes::<Request>(&bytes).unwrap(), request);
}

#[tokio::test]
async fn a_waiting_poller_gets_the_task_started_in_the_same_commit() {
    let h = harness().await;
    let engine = h.engine.clone();
    let poller = tokio::spawn(async move {
        engine
            .poll_workflow_task(&ns(), &queue(), "waiting-worker")
            .await
    });
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    h.engine
        .start_workflow(start_request("sync"))
        .await
        .unwrap();
    let history = h.history("sync").await;
    assert_eq!(
        types(&history),
        [
            EventType::WorkflowExecutionStarted,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted
        ],
        "the start's own write records the task as started"
    );
    let EventAttributes::WorkflowTaskStarted(started) = &history[2].attributes else {
        panic!()
    };
    assert_eq!(started.identity, "waiting-worker");
    assert!(
        h.storage
            .dispatch_rows(&ns(), &queue(), 10)
            .await
            .unwrap()
            .is_empty(),
        "no backlog row was written"
    );
    let task = poller
        .await
        .unwrap()
        .unwrap()
        .expect("the poller got the task");
    assert_eq!(task.history.len(), 3);
    // The activity it schedules goes straight to a waiting activity poller too.
    let engine = h.engine.clone();
    let activity_poller = tokio::spawn(async move {
        engine
            .poll_activity_task(&ns(), &queue(), "activity-worker")
            .await
    });
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    let completion =
        WorkflowTaskCompletion::new(task.token, vec![activity(None, |_| {})], "waiting-worker");
    h.engine
        .complete_workflow_task(&task.execution, completion)
        .await
        .unwrap();
    let activity_task = activity_poller
        .await
        .unwrap()
        .unwrap()
        .expect("the activity was handed over");
    assert_eq!(activity_task.task.token.attempt, 1);
    assert_eq!(
        h.history("sync").await.len(),
        5,
        "ActivityTaskStarted is still written only at close"
    );
}

#[tokio::test]
async fn a_sticky_task_carries_only_the_events_after_the_workers_last_task() {
    let h = harness().await;
    h.engine
        .start_workflow(start_request("sticky"))
        .await
        .unwrap();
    let sticky_queue = TaskQueueName::new("worker-1:sticky").unwrap();
    let first = h
        .engine
        .poll_workflow_task(&ns(), &queue(), "worker-1")
        .await
        .unwrap()
        .expect("the first task");
    assert_eq!(
        first.history.len(),
        3,
        "a normal task carries the whole history"
    );
    assert_eq!(first.workflow_type.as_str(), "OrderWorkflow");
    h.engine
        .complete_workflow_task(
            &first.execution,
            WorkflowTaskCompletion {
                token: first.token,
                commands: vec![],
                identity: "worker-1".into(),
                sticky: Some(endure_core::execution::StickyAttributes {
                    task_queue: sticky_queue.clone(),
                    schedule_to_start_timeout: Duration::from_secs(5),
                }),
                force_create_workflow_task: false,
                sdk_metadata: SdkMetadata::default(),
                next_run_id: RunId::from_u128(0),
                messages: Vec::new(),
                deployment_version: None,
                versioning_behavior: Default::default(),
            },
        )
        .await
        .unwrap();
    let id = WorkflowId::new("sticky").unwrap();
    h.engine
        .signal_workflow(&ns(), &id, None, signal())
        .await
        .unwrap();
    let sticky = h
        .engine
        .poll_workflow_task(&ns(), &sticky_queue, "worker-1")
        .await
        .unwrap()
        .expect("the task waits on the worker's sticky queue");
    assert_eq!(sticky.previous_started_event_id, EventId::new(3));
    assert_eq!(sticky.workflow_type.as_str(), "OrderWorkflow");
    assert_eq!(
        sticky
            .history
            .iter()
            .map(|event| (event.event_id.get(), event.event_type()))
            .collect::<Vec<_>>(),
        [
            (4, EventType::WorkflowTaskCompleted),
            (5, EventType::WorkflowExecutionSignaled),
            (6, EventType::WorkflowTaskScheduled),
            (7, EventType::WorkflowTaskStarted),
        ]
    );
    h.engine
        .complete_workflow_task(
            &sticky.execution,
            WorkflowTaskCompletion {
                token: sticky.token,
                commands: vec![],
                identity: "worker-1".into(),
                sticky: Some(endure_core::execution::StickyAttributes {
                    task_queue: sticky_queue.clone(),
                    schedule_to_start_timeout: Duration::from_secs(5),
                }),
                force_create_workflow_task: false,
                sdk_metadata: SdkMetadata::default(),
                next_run_id: RunId::from_u128(0),
                messages: Vec::new(),
                deployment_version: None,
                versioning_behavior: Default::default(),
            },
        )
        .await
        .unwrap();
    // The worker stops and hands the run back: the next task is a normal one, whole.
    h.engine
        .reset_sticky_task_queue(&sticky.execution)
        .await
        .unwrap();
    h.engine
        .signal_workflow(&ns(), &id, None, signal())
        .await
        .unwrap();
    let normal = h
        .engine
        .poll_workflow_task(&ns(), &queue(), "worker-2")
        .await
        .unwrap()
        .expect("the task is on the normal queue");
    assert_eq!(normal.history.len(), 11);
    assert_eq!(normal.previous_started_event_id, EventId::new(7));
}

#[tokio::test]
async fn a_task_whose_history_exceeds_a_page_carries_the_first_page_and_where_the_rest_starts() {
    let h = harness().await;
    h.engine
        .start_workflow(start_request("paged"))
        .await
        .unwrap();
    h.workflow_task(vec![]).await;
    let id = WorkflowId::new("paged").unwrap();
    let blob = Payloads::one(Payload::json(&"x".repeat(450 * 1024)).unwrap());
    for _ in 0..3 {
        let mut big = signal();
        big.input = blob.clone();
        h.engine
            .signal_workflow(&ns(), &id, None, big)
            .await
            .unwrap();
    }
    let task = h
        .engine
        .poll_workflow_task(&ns(), &queue(), "worker")
        .await
        .unwrap()
        .expect("a workflow task");
    let next = task.next_page.expect("the history spans pages");
    assert!(task.transient_events.is_empty());
    let rest = h.engine.history_page(&task.execution, next).await.unwrap();
    let mut ids: Vec<u64> = task.history.iter().map(|e| e.event_id.get()).collect();
    ids.extend(rest.events.iter().map(|e| e.event_id.get()));
    assert_eq!(
        ids,
        (1..=9).collect::<Vec<_>>(),
        "first page + the rest = the whole history"
    );
    assert_eq!(
        rest.events.last().map(|e| e.event_type()),
        Some(EventType::WorkflowTaskStarted)
    );
}

#[tokio::test]
async fn a_signal_retried_after_the_run_continued_as_new_is_a_duplicate() {
    let h = harness().await;
    h.engine
        .start_workflow(start_request("chained"))
        .await
        .unwrap();
    let id = WorkflowId::new("chained").unwrap();
    let mut signal = signal();
    signal.request_id = Some(RequestId::new("retried-signal").unwrap());
    h.engine
        .signal_workflow(&ns(), &id, None, signal.clone())
        .await
        .unwrap();
    let first = h
        .workflow_task(vec![Command::ContinueAsNewWorkflowExecution(Box::new(
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
        ))])
        .await;
    // The client never heard back and retries: the current run is now the new one.
    h.engine
        .signal_workflow(&ns(), &id, None, signal.clone())
        .await
        .unwrap();
    let new_run = h.history("chained").await;
    assert_eq!(
        types(&new_run),
        [
            EventType::WorkflowExecutionStarted,
            EventType::WorkflowTaskScheduled
        ],
        "the new run was not signalled again"
    );
    let old_run = h.engine.history(&first.execution).await.unwrap();
    assert_eq!(
        old_run
            .iter()
            .filter(|event| event.event_type() == EventType::WorkflowExecutionSignaled)
            .count(),
        1
    );
    // A different request id reaches the new run.
    signal.request_id = Some(RequestId::new("another-signal").unwrap());
    h.engine
        .signal_workflow(&ns(), &id, None, signal)
        .await
        .unwrap();
    assert!(types(&h.history("chained").await).contains(&EventType::WorkflowExecutionSignaled));
}

#[tokio::test]
async fn a_runs_time_never_goes_back_when_a_new_owner_has_a_slower_clock() {
    let h = harness().await;
    h.clock.advance(Duration::from_secs(10));
    h.engine
        .start_workflow(start_request("timeline"))
        .await
        .unwrap();
    h.workflow_task(vec![Command::StartTimer(StartTimerCommandAttributes {
        timer_id: TimerId::new("1").unwrap(),
        start_to_fire_timeout: Duration::from_secs(5),
    })])
    .await;
    // The engine restarts on a machine whose clock is eight seconds behind.
    let behind = Arc::new(ManualClock::new(T0.saturating_add(Duration::from_secs(2))));
    let successor = Engine::with_ports(
        Arc::clone(&h.storage),
        Arc::clone(&behind),
        EngineConfig::default(),
    )
    .await
    .unwrap();
    let id = WorkflowId::new("timeline").unwrap();
    successor
        .signal_workflow(&ns(), &id, None, signal())
        .await
        .unwrap();
    let execution = successor.resolve_run(&ns(), &id, None).await.unwrap();
    let history = successor.history(&execution).await.unwrap();
    assert!(
        history
            .windows(2)
            .all(|pair| pair[0].event_time <= pair[1].event_time),
        "event times never decrease: {:?}",
        history.iter().map(|e| e.event_time).collect::<Vec<_>>()
    );
    // The timer fires by the run's own timeline: five seconds after it started, whatever
    // the new owner's clock said then.
    behind.advance(Duration::from_secs(13));
    for _ in 0..1000 {
        tokio::task::yield_now().await;
    }
    let history = successor.history(&execution).await.unwrap();
    let started = history
        .iter()
        .find(|e| e.event_type() == EventType::TimerStarted)
        .unwrap()
        .event_time;
    let fired = history
        .iter()
        .find(|e| e.event_type() == EventType::TimerFired)
        .expect("the timer fired")
        .event_time;
    assert!(fired >= started.saturating_add(Duration::from_secs(5)));
}

/// Deadlines far past the shard's in-memory window stay in storage, survive a restart and
/// fire when their time comes (the window is read in as the clock reaches them).
#[tokio::test]
async fn deadlines_beyond_the_window_fire_after_a_restart() {
    let h = harness().await;
    let ids = ["sleeper-1", "sleeper-2", "sleeper-3"];
    for (index, id) in ids.iter().enumerate() {
        h.engine.start_workflow(start_request(id)).await.unwrap();
        h.workflow_task(vec![Command::StartTimer(StartTimerCommandAttributes {
            timer_id: TimerId::new("1").unwrap(),
            // A day, and a second apart.
            start_to_fire_timeout: Duration::from_secs(86_400 + index as u64),
        })])
        .await;
    }
    // A new engine on the same store: nothing of the old one's memory is left.
    drop(h.engine);
    let engine = Engine::with_ports(
        Arc::clone(&h.storage),
        Arc::clone(&h.clock),
        EngineConfig::default(),
    )
    .await
    .unwrap();
    let h = Harness { engine, ..h };
    h.advance_until(Duration::from_secs(86_399), "sleeper-1", 5)
        .await;
    assert_eq!(h.history("sleeper-1").await.len(), 5, "not a second early");
    h.advance_until(Duration::from_secs(1), "sleeper-1", 6)
        .await;
    h.advance_until(Duration::from_secs(2), "sleeper-3", 6)
        .await;
    for id in ids {
        let history = h.history(id).await;
        assert_eq!(
            types(&history)[4..6],
            [EventType::TimerStarted, EventType::TimerFired],
            "{id}"
        );
    }
}

/// Signals sent at once to one run are applied together (a batch, one write) and still each
/// exactly once: every request id is recorded once, a repeat of one — in the same batch
/// or a later one — is a duplicate, and the history holds one Signaled event per id, in
/// the order the shard took them, behind one workflow task.
#[tokio::test]
async fn concurrent_signals_are_batched_and_each_applied_once() {
    let h = harness().await;
    h.engine
        .start_workflow(start_request("signalled"))
        .await
        .unwrap();
    let signal = |index: usize| endure_core::execution::SignalRequest {
        signal_name: SignalName::new("tick").unwrap(),
        input: json(&index.to_string()),
        identity: "client".into(),
        header: Header::new(),
        request_id: Some(RequestId::new(format!("tick-{index}")).unwrap()),
    };
    let id = WorkflowId::new("signalled").unwrap();
    let mut sends = Vec::new();
    // 60 sends of 40 distinct ids, all in flight at once: the repeats race their originals.
    for index in (0..40).chain(0..20) {
        let (engine, id, signal) = (h.engine.clone(), id.clone(), signal(index));
        sends.push(tokio::spawn(async move {
            engine.signal_workflow(&ns(), &id, None, signal).await
        }));
    }
    for send in sends {
        send.await.unwrap().unwrap();
    }
    let history = h.history("signalled").await;
    let mut ids: Vec<String> = history
        .iter()
        .filter_map(|event| match &event.attributes {
            EventAttributes::WorkflowExecutionSignaled(a) => {
                Some(a.request_id.as_ref().unwrap().to_string())
            }
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 40, "one Signaled event per request id");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 40, "no id twice");
    let scheduled = history
        .iter()
        .filter(|event| event.event_type() == EventType::WorkflowTaskScheduled)
        .count();
    assert_eq!(
        scheduled, 1,
        "the signals wait behind the first workflow task"
    );
    // The first task sees them all; a late repeat is still a duplicate.
    h.engine
        .signal_workflow(&ns(), &id, None, signal(3))
        .await
        .unwrap();
    assert_eq!(h.history("signalled").await.len(), history.len());
}
