//! Sessions on the pure machines: the real execution machine plays the engine, a simulated
//! session worker holds the creation activity open and signals where the session is.

#![allow(clippy::result_large_err)]

use std::time::Duration;

use endure_core::execution::SignalRequest;
use endure_core::history::{EventType, HistoryEvent};
use endure_core::simulated_run::{Attempt, SimulatedRun};
use endure_core::*;

use super::session::{SESSION_CREATION_ACTIVITY, SessionCreated};
use super::tests::{json, replay_history, result_of, types, workflow};
use super::*;

/// The simulated session worker `host`: the signal its creation activity sends.
fn created_signal(scheduled_input: &Payloads, host: &str) -> SignalRequest {
    let session_id: String = scheduled_input.decode_first().unwrap();
    SignalRequest {
        signal_name: SignalName::new(session_id).unwrap(),
        input: json(&SessionCreated {
            task_queue: format!("res@{host}"),
            host_name: host.into(),
            resource_id: "res".into(),
        }),
        identity: host.into(),
        header: Header::new(),
        request_id: None,
    }
}

/// Runs `make` with creations held by hosts `w1`, `w2`, … in turn (or left in their
/// queue with `ignore_creations`), `Hold` activities held, and the rest echoing their
/// type.
fn run(make: &dyn Fn() -> WorkflowFunction, ignore_creations: bool) -> Vec<HistoryEvent> {
    let mut executor = WorkflowExecutor::new(make());
    let mut hosts = 0;
    SimulatedRun {
        workflow: Box::new(|activation| executor.activate(activation).unwrap()),
        activity: Box::new(|scheduled, _| {
            Ok(Some(json(&format!(
                "{}@{}",
                scheduled.activity_type, scheduled.task_queue
            ))))
        }),
        signals: Vec::new(),
        updates: Vec::new(),
        attempts: Some(Box::new(move |scheduled| {
            match scheduled.activity_type.as_str() {
                SESSION_CREATION_ACTIVITY if ignore_creations => Attempt::Ignore,
                SESSION_CREATION_ACTIVITY => {
                    hosts += 1;
                    Attempt::Hold(vec![created_signal(&scheduled.input, &format!("w{hosts}"))])
                }
                "Hold" => Attempt::Hold(Vec::new()),
                _ => Attempt::Run,
            }
        })),
    }
    .run(json(&"input"))
}

fn session_options() -> SessionOptions {
    SessionOptions {
        creation_timeout: Duration::from_secs(30),
        execution_timeout: Duration::from_secs(600),
        heartbeat_timeout: Some(Duration::from_secs(5)),
    }
}

fn activity_options() -> ActivityOptions {
    ActivityOptions {
        retry_policy: Some(RetryPolicy::with_maximum_attempts(1)),
        ..ActivityOptions::with_start_to_close_timeout(Duration::from_secs(60))
    }
}

/// (activity type, task queue) of each ActivityTaskScheduled, in order.
fn scheduled_activities(history: &[HistoryEvent]) -> Vec<(String, String)> {
    history
        .iter()
        .filter_map(|event| match &event.attributes {
            EventAttributes::ActivityTaskScheduled(a) => {
                Some((a.activity_type.to_string(), a.task_queue.to_string()))
            }
            _ => None,
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[test]
fn a_sessions_activities_go_to_its_workers_queue_and_completion_cancels_its_creation() {
    let make = workflow(|ctx: WorkflowContext, _input: Payloads| async move {
        let ctx = ctx.with_activity_options(activity_options());
        let session = ctx.create_session(session_options()).await?;
        // One open session per context.
        let again = session.create_session(session_options()).await;
        assert!(matches!(again, Err(SessionError::AlreadyOpen)));
        let downloaded: String = session.execute_activity("Download", &()).await?;
        let processed: String = session.execute_activity("Process", &()).await?;
        let info = session.session_info().unwrap();
        assert_eq!(
            (info.host_name.as_str(), info.state),
            ("w1", SessionState::Open)
        );
        session.complete_session().await;
        assert_eq!(session.session_info().unwrap().state, SessionState::Closed);
        // A completed session's context is cancelled; the parent carries on.
        let late = session.execute_activity::<_, String>("Late", &()).await;
        assert!(late.is_err_and(|error| error.is_canceled()));
        let after: String = ctx.execute_activity("After", &()).await?;
        // The token brings a new session back to the same worker's queue.
        let bad = ctx.recreate_session(b"junk", session_options()).await;
        assert!(matches!(bad, Err(SessionError::InvalidToken(_))));
        let recreated = ctx
            .recreate_session(&info.recreate_token(), session_options())
            .await?;
        let host = recreated.session_info().unwrap().host_name;
        recreated.complete_session().await;
        Ok(Some(json(&[downloaded, processed, after, host])))
    });
    let history = run(&make, false);
    let result: Vec<String> = result_of(&history).unwrap().decode_first().unwrap();
    assert_eq!(
        result,
        ["Download@res@w1", "Process@res@w1", "After@simulated", "w2"]
    );
    assert_eq!(
        scheduled_activities(&history),
        pairs(&[
            (
                SESSION_CREATION_ACTIVITY,
                "simulated__internal_session_creation"
            ),
            ("Download", "res@w1"),
            ("Process", "res@w1"),
            ("internalSessionCompletionActivity", "res@w1"),
            ("After", "simulated"),
            // Recreated on w1's queue (the simulated worker answers as w2).
            (SESSION_CREATION_ACTIVITY, "res@w1"),
            ("internalSessionCompletionActivity", "res@w2"),
        ])
    );
    // Completing cancels the creation activity, in the task that schedules the completion.
    let creation = history
        .iter()
        .find(|event| event.event_type() == EventType::ActivityTaskScheduled)
        .unwrap()
        .event_id;
    let cancel = history
        .iter()
        .position(|event| event.event_type() == EventType::ActivityTaskCancelRequested)
        .unwrap();
    let EventAttributes::ActivityTaskCancelRequested(requested) = &history[cancel].attributes
    else {
        unreachable!()
    };
    assert_eq!(requested.scheduled_event_id, creation);
    assert_eq!(
        scheduled_activities(&history[cancel + 1..])[0].0,
        "internalSessionCompletionActivity"
    );
    // The creation's signal is named for the session and opens it.
    let signaled: Vec<EventType> = types(&history)
        .into_iter()
        .filter(|kind| *kind == EventType::WorkflowExecutionSignaled)
        .collect();
    assert_eq!(signaled.len(), 2);
    replay_history(&history, &make).unwrap();
}

#[test]
fn a_session_whose_worker_stops_heartbeating_fails_its_activities_and_a_new_one_opens() {
    let make = workflow(|ctx: WorkflowContext, _input: Payloads| async move {
        let ctx = ctx.with_activity_options(activity_options());
        let session = ctx.create_session(session_options()).await?;
        let held = session.execute_activity::<_, String>("Hold", &()).await;
        let held_failed = held.is_err_and(|error| error.is_session_failed());
        let state = session.session_info().unwrap().state;
        // A failed session schedules nothing: the activity fails at once.
        let refused = session.execute_activity::<_, String>("Download", &()).await;
        let refused_failed = refused.is_err_and(|error| error.is_session_failed());
        let next = ctx.create_session(session_options()).await?;
        let downloaded: String = next.execute_activity("Download", &()).await?;
        next.complete_session().await;
        Ok(Some(json(&(
            held_failed,
            state == SessionState::Failed,
            refused_failed,
            downloaded,
        ))))
    });
    let history = run(&make, false);
    let result: (bool, bool, bool, String) = result_of(&history).unwrap().decode_first().unwrap();
    assert_eq!(result, (true, true, true, "Download@res@w2".into()));
    assert_eq!(
        scheduled_activities(&history),
        pairs(&[
            (
                SESSION_CREATION_ACTIVITY,
                "simulated__internal_session_creation"
            ),
            ("Hold", "res@w1"),
            (
                SESSION_CREATION_ACTIVITY,
                "simulated__internal_session_creation"
            ),
            ("Download", "res@w2"),
            ("internalSessionCompletionActivity", "res@w2"),
        ])
    );
    // The first creation timed out on its heartbeat; in the next task the workflow asked
    // to cancel the held activity and opened a new session.
    let timed_out = history
        .iter()
        .position(|event| event.event_type() == EventType::ActivityTaskTimedOut)
        .unwrap();
    let EventAttributes::ActivityTaskTimedOut(attributes) = &history[timed_out].attributes else {
        unreachable!()
    };
    assert_eq!(attributes.scheduled_event_id.get(), 5);
    assert!(matches!(
        attributes.failure.root_cause().info,
        FailureInfo::Timeout {
            timeout_type: TimeoutType::Heartbeat,
            ..
        }
    ));
    assert_eq!(
        types(&history[timed_out + 1..timed_out + 6]),
        [
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
            EventType::WorkflowTaskCompleted,
            EventType::ActivityTaskCancelRequested,
            EventType::ActivityTaskScheduled,
        ]
    );
    replay_history(&history, &make).unwrap();
}

#[test]
fn a_creation_no_worker_takes_times_out_and_says_so() {
    let make = workflow(|ctx: WorkflowContext, _input: Payloads| async move {
        let outcome = ctx.create_session(session_options()).await;
        let message = match outcome {
            Err(SessionError::Creation(error)) => format!("{:?}", error.0.root_cause().info),
            Err(other) => format!("other: {other}"),
            Ok(_) => "opened".into(),
        };
        // Invalid options never schedule anything.
        let invalid = ctx
            .create_session(SessionOptions {
                creation_timeout: Duration::ZERO,
                ..session_options()
            })
            .await;
        assert!(matches!(invalid, Err(SessionError::InvalidOptions(_))));
        Ok(Some(json(&message)))
    });
    let history = run(&make, true);
    let message: String = result_of(&history).unwrap().decode_first().unwrap();
    assert!(message.contains("ScheduleToStart"), "{message}");
    assert_eq!(
        types(&history),
        [
            EventType::WorkflowExecutionStarted,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
            EventType::WorkflowTaskCompleted,
            EventType::ActivityTaskScheduled,
            EventType::ActivityTaskTimedOut,
            EventType::WorkflowTaskScheduled,
            EventType::WorkflowTaskStarted,
            EventType::WorkflowTaskCompleted,
            EventType::WorkflowExecutionCompleted,
        ]
    );
    replay_history(&history, &make).unwrap();
}
