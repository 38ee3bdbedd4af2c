//! `endure workflow show`: a run's history as a table, as JSON lines, or as the export the
//! Replayer reads; with `--follow`, new events as they are written until the run closes.

use std::time::Duration;

use endure::workflow::SESSION_CREATION_ACTIVITY;
use endure::{Client, WorkflowHandle};
use endure_core::history::{EventAttributes, HistoryEvent, HistoryExport};
use endure_core::{EventId, TaskQueueName};

use crate::args::{Output, ShowArgs};
use crate::error::{CliError, usage};
use crate::render::{Table, say};
use endure_core::duration_text as duration;

/// How often `--follow` asks for new events while the run is open.
const FOLLOW_POLL_INTERVAL: Duration = Duration::from_millis(250);

/// Widths of the ID, TIME and TYPE columns when events are printed as they come (the
/// longest event type, `SignalExternalWorkflowExecutionInitiated`, is 40 characters).
const FOLLOW_WIDTHS: [usize; 3] = [5, 30, 40];

/// Runs `workflow show`.
pub(crate) async fn run(args: ShowArgs) -> Result<(), CliError> {
    let (handle, output) = crate::workflow::handle(&args.execution)?;
    if args.follow {
        let client = crate::workflow::client(&args.execution.client)?;
        return follow(&client, handle, output).await;
    }
    let history = handle.history().await?;
    match output {
        // The Replayer reads this very document back (`Replayer::replay_json`).
        Output::Json => say(HistoryExport::new(history).to_json()),
        // An event per line, as the export writes each.
        Output::Jsonl => say(crate::render::json_lines(&history)?),
        Output::Text => say(history_table(&history)),
    }
}

/// Prints the run's events as they are written, until its closing event.
async fn follow(client: &Client, handle: WorkflowHandle, output: Output) -> Result<(), CliError> {
    if output == Output::Json {
        return Err(usage(
            "--follow prints events as they come: use -o jsonl (one event per line) or text",
        ));
    }
    // Pin the run, so a continue-as-new or a new run with this id is not followed into.
    let run = handle.describe().await?.execution.run_id;
    let handle = client.handle(handle.workflow_id().clone(), Some(run));
    let mut next = EventId::FIRST;
    let mut workflow_queue: Option<TaskQueueName> = None;
    if output == Output::Text {
        say(follow_line(["ID", "TIME", "TYPE", "DETAILS"]))?;
    }
    loop {
        let page = handle.history_page(next).await?;
        for event in &page.events {
            if let EventAttributes::WorkflowExecutionStarted(started) = &event.attributes {
                workflow_queue = Some(started.task_queue.clone());
            }
            match output {
                Output::Text => {
                    let cells = row(event, workflow_queue.as_ref());
                    say(follow_line(cells.each_ref().map(String::as_str)))?;
                }
                _ => say(crate::render::json_lines(event)?)?,
            }
            if event.event_type().is_closing() {
                return Ok(());
            }
            next = event.event_id.next();
        }
        if page.next_event_id.is_none() {
            tokio::time::sleep(FOLLOW_POLL_INTERVAL).await;
        }
    }
}

/// A row with the first three columns padded to [`FOLLOW_WIDTHS`].
fn follow_line(cells: [&str; 4]) -> String {
    let mut line = String::new();
    for (cell, width) in cells.iter().zip(FOLLOW_WIDTHS) {
        line.push_str(&format!("{cell:<width$}  "));
    }
    line.push_str(cells[3]);
    line.trim_end().to_owned()
}

/// An event's cells: id, time, type and what identifies it with its back-references.
fn row(event: &HistoryEvent, workflow_queue: Option<&TaskQueueName>) -> [String; 4] {
    let mut details: Vec<String> = summary(&event.attributes).into_iter().collect();
    details.extend(activity_routing(&event.attributes, workflow_queue));
    details.extend(
        event
            .attributes
            .back_references()
            .iter()
            .map(|reference| format!("{}={}", reference.field, reference.target)),
    );
    [
        event.event_id.to_string(),
        event.event_time.to_string(),
        event.event_type().name().to_owned(),
        details.join(" "),
    ]
}

/// A history as a table: id, time, type, back-references.
fn history_table(history: &[HistoryEvent]) -> String {
    let mut table = Table::new(vec!["ID", "TIME", "TYPE", "DETAILS"]);
    let workflow_queue = history.first().and_then(|event| match &event.attributes {
        EventAttributes::WorkflowExecutionStarted(started) => Some(&started.task_queue),
        _ => None,
    });
    for event in history {
        table.row(row(event, workflow_queue).into());
    }
    table.render()
}

/// Where an activity goes when not to the workflow's queue (a session's worker, another
/// queue), and the session a session creation opens.
fn activity_routing(
    attributes: &EventAttributes,
    workflow_queue: Option<&TaskQueueName>,
) -> Vec<String> {
    let EventAttributes::ActivityTaskScheduled(a) = attributes else {
        return Vec::new();
    };
    let mut details = Vec::new();
    if a.activity_type.as_str() == SESSION_CREATION_ACTIVITY
        && let Ok(session_id) = a.input.decode_first::<String>()
    {
        details.push(format!("session={session_id}"));
    }
    if Some(&a.task_queue) != workflow_queue {
        details.push(format!("task_queue={}", a.task_queue));
    }
    details
}

/// What identifies an event at a glance: the activity, timer, signal, type or reason.
fn summary(attributes: &EventAttributes) -> Option<String> {
    Some(match attributes {
        EventAttributes::WorkflowExecutionStarted(a) => {
            format!("type={} task_queue={}", a.workflow_type, a.task_queue)
        }
        EventAttributes::ActivityTaskScheduled(a) => {
            format!(
                "activity_type={} activity_id={}",
                a.activity_type, a.activity_id
            )
        }
        EventAttributes::TimerStarted(a) => format!(
            "timer_id={} timeout={}",
            a.timer_id,
            duration::format(a.start_to_fire_timeout)
        ),
        EventAttributes::WorkflowExecutionSignaled(a) => format!("signal={}", a.signal_name),
        EventAttributes::MarkerRecorded(a) => format!("marker={}", a.marker_name),
        EventAttributes::StartChildWorkflowExecutionInitiated(a) => {
            format!("workflow_id={} type={}", a.workflow_id, a.workflow_type)
        }
        EventAttributes::WorkflowExecutionTerminated(a) => format!("reason={:?}", a.reason),
        EventAttributes::WorkflowTaskFailed(a) => format!("cause={:?}", a.cause),
        // A versioned worker's completion: its build and the type's behavior (§5.13.1).
        EventAttributes::WorkflowTaskCompleted(a) => match &a.worker_deployment_version {
            Some(version) => format!("version={version} behavior={:?}", a.versioning_behavior),
            None => return None,
        },
        EventAttributes::WorkflowExecutionOptionsUpdated(a) => match &a.versioning_override {
            Some(endure::versioning::VersioningOverride::Pinned(version)) => {
                format!("versioning_override=pinned:{version}")
            }
            Some(endure::versioning::VersioningOverride::AutoUpgrade) => {
                "versioning_override=auto_upgrade".to_owned()
            }
            None => "versioning_override=unset".to_owned(),
        },
        EventAttributes::WorkflowExecutionFailed(a) => format!("failure={:?}", a.failure.message),
        EventAttributes::ActivityTaskFailed(a) => format!("failure={:?}", a.failure.message),
        _ => return None,
    })
}
