//! Sessions (spec §5.15): every activity of a session runs on the one worker that took it;
//! a worker's session limit holds creations until their timeout; a recreated session comes
//! back to the same worker; a worker that shuts down fails its sessions, and the workflow
//! opens a new one elsewhere.

use std::sync::Arc;
use std::time::Duration;

use endure::activity::ActivityDefinition;
use endure::workflow::{
    ActivityError, SessionError, SessionInfo, SessionOptions, SessionState, WorkflowContext,
    WorkflowError,
};
use endure::*;
use endure_core::EventAttributes;
use endure_core::history::{EventType, HistoryEvent, check_well_formed};

use crate::{spawn_worker, store_client};

struct Download;
impl ActivityDefinition for Download {
    const NAME: &'static str = "Download";
    type Input = String;
    type Output = String;
}

struct Process;
impl ActivityDefinition for Process {
    const NAME: &'static str = "Process";
    type Input = String;
    type Output = String;
}

struct Upload;
impl ActivityDefinition for Upload {
    const NAME: &'static str = "Upload";
    type Input = String;
    type Output = String;
}

/// Blocks until the test lets it go (or its context is canceled).
struct Hold;
impl ActivityDefinition for Hold {
    const NAME: &'static str = "Hold";
    type Input = ();
    type Output = String;
}

fn queue() -> TaskQueueName {
    TaskQueueName::new("files").unwrap()
}

fn session_options(creation: Duration) -> SessionOptions {
    SessionOptions {
        creation_timeout: creation,
        execution_timeout: Duration::from_secs(120),
        heartbeat_timeout: None,
    }
}

fn activity_context(ctx: &WorkflowContext) -> WorkflowContext {
    ctx.with_activity_options(ActivityOptions {
        retry_policy: Some(RetryPolicy::with_maximum_attempts(1)),
        ..ActivityOptions::with_start_to_close_timeout(Duration::from_secs(30))
    })
}

/// What the file workflow reports: the worker of each step and the session's info.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct FileReport {
    steps: Vec<String>,
    host_name: String,
    task_queue: String,
}

/// The spec's example: download, process and upload a file on one host.
async fn process_file(ctx: WorkflowContext, url: String) -> Result<FileReport, WorkflowError> {
    let session = activity_context(&ctx)
        .create_session(session_options(Duration::from_secs(30)))
        .await?;
    let downloaded = session.run_activity::<Download>(&url).await?;
    let processed = session.run_activity::<Process>(&downloaded).await?;
    let uploaded = session.run_activity::<Upload>(&processed).await?;
    let info = session.session_info().expect("a session context");
    session.complete_session().await;
    assert_eq!(session.session_info().unwrap().state, SessionState::Closed);
    let steps = [downloaded, processed, uploaded]
        .iter()
        .map(|step| step.split('@').next_back().unwrap_or_default().to_owned())
        .collect();
    Ok(FileReport {
        steps,
        host_name: info.host_name,
        task_queue: info.task_queue.to_string(),
    })
}

/// A session worker named `identity` whose file activities say where they ran.
fn file_worker(client: &Client, identity: &str, max_sessions: usize) -> Worker {
    file_worker_with(
        client,
        WorkerOptions {
            identity: identity.to_owned(),
            enable_session_worker: true,
            max_concurrent_session_execution_size: max_sessions,
            ..WorkerOptions::default()
        },
    )
}

fn file_worker_with(client: &Client, options: WorkerOptions) -> Worker {
    let identity = options.identity.clone();
    let identity = identity.as_str();
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue(),
        options,
    );
    worker.register_workflow("ProcessFile", process_file);
    let me = identity.to_owned();
    worker.register_activity::<Download, _, _>(move |_ctx, url: String| {
        let me = me.clone();
        async move { Ok(format!("{url}.downloaded@{me}")) }
    });
    let me = identity.to_owned();
    worker.register_activity::<Process, _, _>(move |_ctx, file: String| {
        let me = me.clone();
        async move {
            Ok(format!(
                "{}.processed@{me}",
                file.split('@').next().unwrap_or_default()
            ))
        }
    });
    let me = identity.to_owned();
    worker.register_activity::<Upload, _, _>(move |_ctx, file: String| {
        let me = me.clone();
        async move {
            Ok(format!(
                "{}.uploaded@{me}",
                file.split('@').next().unwrap_or_default()
            ))
        }
    });
    worker
}

fn scheduled(event: &HistoryEvent) -> (String, String) {
    match &event.attributes {
        EventAttributes::ActivityTaskScheduled(scheduled) => (
            scheduled.activity_type.to_string(),
            scheduled.task_queue.to_string(),
        ),
        other => panic!("not a scheduled activity: {other:?}"),
    }
}

#[tokio::test]
async fn a_sessions_activities_all_run_on_the_one_worker_of_three_that_took_it() {
    let (client, _store) = store_client().await;
    let workers: Vec<_> = ["host-a", "host-b", "host-c"]
        .iter()
        .map(|name| spawn_worker(file_worker(&client, name, 1000)))
        .collect();
    let mut handles = Vec::new();
    for index in 0..6 {
        let id = WorkflowId::new(format!("file-{index}")).unwrap();
        let handle = client
            .start_workflow(
                StartWorkflowOptions::new(id, queue()),
                "ProcessFile",
                &format!("s3://bucket/{index}"),
            )
            .await
            .unwrap();
        handles.push(handle);
    }
    for handle in &handles {
        let report: FileReport = handle.result().await.unwrap();
        assert_eq!(report.steps.len(), 3);
        assert!(
            report.steps.iter().all(|step| *step == report.host_name),
            "every step on the session's host: {report:?}"
        );
        assert!(
            report
                .task_queue
                .ends_with(&format!("@{}", report.host_name))
        );

        let history = handle.history().await.unwrap();
        check_well_formed(&history).unwrap();
        let types: Vec<EventType> = history.iter().map(HistoryEvent::event_type).collect();
        // The creation activity, its worker's signal, then the three steps.
        use EventType::*;
        let mut expected = vec![
            WorkflowExecutionStarted,
            WorkflowTaskScheduled,
            WorkflowTaskStarted,
            WorkflowTaskCompleted,
            ActivityTaskScheduled,
            WorkflowExecutionSignaled,
            WorkflowTaskScheduled,
            WorkflowTaskStarted,
            WorkflowTaskCompleted,
        ];
        for _ in 0..3 {
            expected.extend([
                ActivityTaskScheduled,
                ActivityTaskStarted,
                ActivityTaskCompleted,
                WorkflowTaskScheduled,
                WorkflowTaskStarted,
                WorkflowTaskCompleted,
            ]);
        }
        assert_eq!(types[..expected.len()], expected[..], "{types:?}");
        let creation = &history[4];
        assert_eq!(
            scheduled(creation),
            (
                "internalSessionCreationActivity".into(),
                "files__internal_session_creation".into()
            )
        );
        let EventAttributes::WorkflowExecutionSignaled(signaled) = &history[5].attributes else {
            unreachable!()
        };
        assert_eq!(signaled.identity, report.host_name);
        for (step, name) in [(9, "Download"), (15, "Process"), (21, "Upload")] {
            assert_eq!(
                scheduled(&history[step]),
                (name.into(), report.task_queue.clone())
            );
            let EventAttributes::ActivityTaskStarted(started) = &history[step + 1].attributes
            else {
                unreachable!()
            };
            assert_eq!(started.identity, report.host_name);
        }
        // Completing: the creation activity is asked to cancel and the completion activity
        // runs on the session's worker. The creation activity's own end races the
        // workflow's, so it is looked for, not placed; a workflow task it interrupts
        // (UnhandledCommand) is retried.
        let tail: Vec<&HistoryEvent> = history[expected.len()..]
            .iter()
            .filter(|event| !closes(event, creation.event_id))
            .collect();
        let tail_types: Vec<EventType> = tail.iter().map(|event| event.event_type()).collect();
        assert_eq!(
            tail_types[..2],
            [ActivityTaskCancelRequested, ActivityTaskScheduled]
        );
        let completion = tail[1].event_id;
        let completion_events: Vec<EventType> = tail[2..]
            .iter()
            .filter(|event| closes(event, completion))
            .map(|event| event.event_type())
            .collect();
        assert_eq!(
            completion_events,
            [ActivityTaskStarted, ActivityTaskCompleted]
        );
        let rest: Vec<&HistoryEvent> = tail[2..]
            .iter()
            .copied()
            .filter(|event| !closes(event, completion))
            .collect();
        assert_workflow_tasks_then_completion(&rest);
        let EventAttributes::ActivityTaskCancelRequested(cancel) = &tail[0].attributes else {
            unreachable!()
        };
        assert_eq!(cancel.scheduled_event_id, creation.event_id);
        assert_eq!(
            scheduled(tail[1]),
            (
                "internalSessionCompletionActivity".into(),
                report.task_queue.clone()
            )
        );
        let creation_end = history
            .iter()
            .filter(|event| closes(event, creation.event_id))
            .map(HistoryEvent::event_type)
            .collect::<Vec<_>>();
        assert!(
            creation_end.is_empty() || creation_end == [ActivityTaskStarted, ActivityTaskCompleted],
            "{creation_end:?}"
        );
    }
    for (stop, running) in workers {
        let _ = stop.send(());
        running.await.unwrap();
    }
}

/// `events` are workflow tasks (each completed, or failed because an event arrived while it
/// ran) and then the workflow's completion.
fn assert_workflow_tasks_then_completion(events: &[&HistoryEvent]) {
    let (last, tasks) = events.split_last().expect("events");
    assert_eq!(last.event_type(), EventType::WorkflowExecutionCompleted);
    assert!(!tasks.is_empty() && tasks.len() % 3 == 0, "{tasks:?}");
    for (index, task) in tasks.chunks(3).enumerate() {
        assert_eq!(task[0].event_type(), EventType::WorkflowTaskScheduled);
        assert_eq!(task[1].event_type(), EventType::WorkflowTaskStarted);
        match &task[2].attributes {
            EventAttributes::WorkflowTaskCompleted(_) => {}
            EventAttributes::WorkflowTaskFailed(failed) if index + 1 < tasks.len() / 3 => {
                assert_eq!(failed.cause, WorkflowTaskFailedCause::UnhandledCommand);
            }
            other => panic!("not a workflow task's end: {other:?}"),
        }
    }
}

/// Whether `event` is the start or end of the activity scheduled at `scheduled`.
fn closes(event: &HistoryEvent, scheduled: EventId) -> bool {
    match &event.attributes {
        EventAttributes::ActivityTaskStarted(a) => a.scheduled_event_id == scheduled,
        EventAttributes::ActivityTaskCompleted(a) => a.scheduled_event_id == scheduled,
        EventAttributes::ActivityTaskCanceled(a) => a.scheduled_event_id == scheduled,
        EventAttributes::ActivityTaskFailed(a) => a.scheduled_event_id == scheduled,
        EventAttributes::ActivityTaskTimedOut(a) => a.scheduled_event_id == scheduled,
        _ => false,
    }
}

/// Holds a session open until signaled `finish`; reports how its creation went.
async fn hold_session(ctx: WorkflowContext, creation_ms: u64) -> Result<String, WorkflowError> {
    match activity_context(&ctx)
        .create_session(session_options(Duration::from_millis(creation_ms)))
        .await
    {
        Ok(session) => {
            let host = session.session_info().unwrap().host_name;
            ctx.signal_channel("finish").recv().await;
            session.complete_session().await;
            Ok(format!("open on {host}"))
        }
        Err(SessionError::Creation(error)) => Ok(format!("creation failed: {error}")),
        Err(error) => Err(error.into()),
    }
}

#[tokio::test]
async fn the_1001st_session_on_a_full_worker_waits_until_its_creation_timeout() {
    let (client, _store) = store_client().await;
    let mut worker = file_worker(&client, "host-a", 1000);
    worker.register_workflow("HoldSession", hold_session);
    let (stop, running) = spawn_worker(worker);
    let start = |id: String, creation_ms: u64| {
        let client = client.clone();
        async move {
            client
                .start_workflow(
                    StartWorkflowOptions::new(WorkflowId::new(id).unwrap(), queue()),
                    "HoldSession",
                    &creation_ms,
                )
                .await
                .unwrap()
        }
    };
    let starting: Vec<_> = (0..1000)
        .map(|index| tokio::spawn(start(format!("hold-{index}"), 120_000)))
        .collect();
    let mut open = Vec::new();
    for started in starting {
        open.push(started.await.unwrap());
    }
    // Every one of the thousand is open: its session's signal is in its history.
    for handle in &open {
        wait_for_signal_count(handle, 1).await;
    }
    let extra = start("hold-1000".into(), 1_500).await;
    let outcome: String = extra.result().await.unwrap();
    assert!(
        outcome.starts_with("creation failed") && outcome.contains("ScheduleToStart"),
        "{outcome}"
    );
    let history = extra.history().await.unwrap();
    let timed_out = history
        .iter()
        .find_map(|event| match &event.attributes {
            EventAttributes::ActivityTaskTimedOut(timed_out) => Some(timed_out),
            _ => None,
        })
        .expect("the creation activity timed out");
    assert_eq!(
        history[timed_out.scheduled_event_id.get() as usize - 1].event_type(),
        EventType::ActivityTaskScheduled
    );
    assert_eq!(timed_out.started_event_id, None, "no worker ever took it");

    // One session completes; its slot takes the next creation.
    open[0].signal("finish", &()).await.unwrap();
    assert_eq!(open[0].result::<String>().await.unwrap(), "open on host-a");
    let next = start("hold-1001".into(), 30_000).await;
    wait_for_signal_count(&next, 1).await;
    for handle in open.iter().skip(1).chain([&next]) {
        handle.signal("finish", &()).await.unwrap();
    }
    for handle in open.iter().skip(1).chain([&next]) {
        assert_eq!(handle.result::<String>().await.unwrap(), "open on host-a");
    }
    let _ = stop.send(());
    running.await.unwrap();
}

async fn wait_for_signal_count(handle: &WorkflowHandle, count: usize) {
    loop {
        let history = handle.history().await.unwrap();
        let signals = history
            .iter()
            .filter(|event| event.event_type() == EventType::WorkflowExecutionSignaled)
            .count();
        if signals >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs `Hold` in a session; if the session fails, opens another and runs it there.
/// Returns the hosts of each session and the recreated session's host.
async fn survive_a_worker(ctx: WorkflowContext, _: ()) -> Result<Vec<String>, WorkflowError> {
    let ctx = activity_context(&ctx);
    let mut hosts = Vec::new();
    loop {
        let session = ctx
            .create_session(session_options(Duration::from_secs(30)))
            .await?;
        let info: SessionInfo = session.session_info().unwrap();
        hosts.push(info.host_name.clone());
        match session.run_activity::<Hold>(&()).await {
            Ok(_) => {
                session.complete_session().await;
                // Back on the same worker through the token.
                let again = ctx
                    .recreate_session(
                        &info.recreate_token(),
                        session_options(Duration::from_secs(30)),
                    )
                    .await?;
                hosts.push(again.session_info().unwrap().host_name);
                again.complete_session().await;
                return Ok(hosts);
            }
            Err(error) if error.is_session_failed() => {
                assert_eq!(session.session_info().unwrap().state, SessionState::Failed);
                // A failed session's activities fail at once, unscheduled.
                let refused = session.run_activity::<Hold>(&()).await;
                assert!(refused.is_err_and(|error: ActivityError| error.is_session_failed()));
                continue;
            }
            Err(error) => return Err(error.into()),
        }
    }
}

#[tokio::test]
async fn a_worker_that_shuts_down_fails_its_sessions_and_the_workflow_moves_to_another() {
    let (client, _store) = store_client().await;
    let (held, mut holding) = tokio::sync::mpsc::unbounded_channel::<String>();
    let release = Arc::new(tokio::sync::Notify::new());
    let hold_worker = |identity: &str| {
        // Its activities get a short grace period when it shuts down.
        let mut worker = file_worker_with(
            &client,
            WorkerOptions {
                identity: identity.to_owned(),
                enable_session_worker: true,
                graceful_shutdown_timeout: Some(Duration::from_millis(200)),
                ..WorkerOptions::default()
            },
        );
        worker.register_workflow("Survive", survive_a_worker);
        let (held, release, me) = (held.clone(), Arc::clone(&release), identity.to_owned());
        worker.register_activity::<Hold, _, _>(move |ctx: ActivityContext, ()| {
            let (held, release, me) = (held.clone(), Arc::clone(&release), me.clone());
            async move {
                let _ = held.send(me.clone());
                tokio::select! {
                    biased;
                    () = release.notified() => Ok(me),
                    _ = ctx.cancelled() => Err(ActivityError::canceled(None)),
                }
            }
        });
        worker
    };
    let (stop_a, running_a) = spawn_worker(hold_worker("host-a"));
    let handle = client
        .start_workflow(
            StartWorkflowOptions::new(WorkflowId::new("survivor").unwrap(), queue()),
            "Survive",
            &(),
        )
        .await
        .unwrap();
    assert_eq!(holding.recv().await.unwrap(), "host-a");
    // A second worker comes up; the first shuts down mid-session.
    let (stop_b, running_b) = spawn_worker(hold_worker("host-b"));
    let _ = stop_a.send(());
    running_a.await.unwrap();
    assert_eq!(holding.recv().await.unwrap(), "host-b");
    release.notify_waiters();
    let hosts: Vec<String> = handle.result().await.unwrap();
    assert_eq!(hosts, ["host-a", "host-b", "host-b"]);

    let history = handle.history().await.unwrap();
    check_well_formed(&history).unwrap();
    // The first session's creation activity failed, non-retryably, as its worker left.
    let failed = history
        .iter()
        .find_map(|event| match &event.attributes {
            EventAttributes::ActivityTaskFailed(failed) => Some(failed),
            _ => None,
        })
        .expect("the first session's creation failed");
    assert_eq!(failed.identity, "host-a");
    assert_eq!(
        scheduled(&history[failed.scheduled_event_id.get() as usize - 1]).0,
        "internalSessionCreationActivity"
    );
    let _ = stop_b.send(());
    running_b.await.unwrap();
}

#[tokio::test]
async fn creating_a_session_where_no_session_worker_polls_times_out() {
    let (client, _store) = store_client().await;
    // A worker without sessions: it runs the workflow, never a session.
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue(),
        WorkerOptions::default(),
    );
    worker.register_workflow("HoldSession", hold_session);
    let (stop, running) = spawn_worker(worker);
    let handle = client
        .start_workflow(
            StartWorkflowOptions::new(WorkflowId::new("lonely").unwrap(), queue()),
            "HoldSession",
            &300u64,
        )
        .await
        .unwrap();
    let outcome: String = handle.result().await.unwrap();
    assert!(outcome.starts_with("creation failed"), "{outcome}");
    let _ = stop.send(());
    running.await.unwrap();
}
