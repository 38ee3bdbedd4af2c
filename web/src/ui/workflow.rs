//! The workflow page: the run's summary, input and outcome, pending activities and
//! children, the timeline, the history (each event's attributes expandable), the stack
//! trace, and the actions — signal, query, update, cancel, terminate, reset.

use endure::{Client, ClientError};
use endure_core::protocol::WorkflowDescription;
use endure_core::{RunId, WorkflowId};
use maud::{Markup, html};
use serde_json::Value;

use super::events::{self, EventView};
use super::format;
use super::workflows::encode;

/// Reads the run and renders its page.
pub(crate) async fn render(
    client: &Client,
    workflow_id: WorkflowId,
    run_id: Option<RunId>,
) -> Result<Markup, ClientError> {
    let description = client
        .handle(workflow_id.clone(), run_id)
        .describe()
        .await?;
    let run = description.execution.run_id;
    let history = client.handle(workflow_id, Some(run)).history().await?;
    let events: Vec<EventView> = history.iter().map(EventView::of).collect();
    Ok(page(client, &description, &events))
}

fn page(client: &Client, description: &WorkflowDescription, events: &[EventView]) -> Markup {
    let namespace = client.namespace().as_str();
    let id = description.execution.workflow_id.to_string();
    let run = description.execution.run_id.to_string();
    let running = !description.status.is_closed();
    let outcome = events::outcome(events);
    let children = events::children(events);
    let start = description.start_time;
    let end = description.close_time.unwrap_or_else(|| {
        let now = jiff::Timestamp::now().as_nanosecond();
        let now = endure_core::time::Timestamp::from_unix_nanos(u64::try_from(now).unwrap_or(0));
        events.last().map_or(now, |last| last.time.max(now))
    });
    let workflow_link = |workflow_id: &str, run_id: Option<&str>| {
        format!(
            "/namespaces/{namespace}/workflows/{}{}",
            encode(workflow_id),
            run_id
                .map(|run| format!("?run_id={run}"))
                .unwrap_or_default()
        )
    };
    let body = html! {
        div.heading
            id="workflow"
            data-namespace=(namespace)
            data-workflow-id=(id)
            data-run-id=(run)
            data-next-event=(events.len() + 1)
            data-running=(running) {
            h1 { (id) }
            (format::status(description.status))
            @if running {
                label.refresh { input type="checkbox" id="auto-refresh"; " Auto-refresh" }
            }
        }
        div.actions id="actions" {
            button data-open="signal" disabled[!running] { "Signal" }
            button data-open="query" { "Query" }
            button data-open="update" disabled[!running] { "Update" }
            button data-open="cancel" disabled[!running] { "Cancel" }
            button.danger data-open="terminate" disabled[!running] { "Terminate" }
            button data-open="reset" { "Reset" }
        }
        (dialogs())
        section.summary {
            dl.grid {
                dt { "Type" } dd id="summary-type" { (description.workflow_type.to_string()) }
                dt { "Run ID" } dd.mono { (run) }
                dt { "Task queue" } dd { (description.task_queue.to_string()) }
                dt { "Started" } dd { (format::time(start)) }
                dt { "Closed" } dd { (format::time_or_dash(description.close_time)) }
                dt { "Took" } dd { (format::duration(end.saturating_duration_since(start))) @if running { " so far" } }
                dt { "History" } dd id="summary-history-length" { (description.history_length) " events" }
                dt { "Pending" } dd {
                    (description.pending_activities) " activities, "
                    (description.pending_timers) " timers, "
                    (description.pending_children) " children"
                }
                @if let Some(parent) = &description.parent {
                    @let parent_id = parent.workflow_id.to_string();
                    @let parent_run = parent.run_id.map(|run| run.to_string());
                    dt { "Parent" } dd { a id="parent-link" href=(workflow_link(&parent_id, parent_run.as_deref())) { (parent_id) } }
                }
                @if let Some(next) = description.next_run_id {
                    @let next = next.to_string();
                    dt { "Next run" } dd { a href=(workflow_link(&id, Some(&next))) { (next) } }
                }
            }
        }
        div.columns {
            section {
                h2 { "Input" }
                (format::json_block(format::unwrap_single(outcome.input.as_ref().unwrap_or(&Value::Null))))
            }
            section id="outcome" {
                @if let Some(failure) = &outcome.failure {
                    h2 { "Failure" }
                    div.failure { (format::json_block(failure)) }
                } @else if let Some(result) = &outcome.result {
                    h2 { "Result" }
                    (format::json_block(format::unwrap_single(result)))
                } @else {
                    h2 { "Result" }
                    p.muted { @if running { "Running…" } @else { "None" } }
                }
            }
        }
        @if !description.pending_activity_details.is_empty() {
            section id="pending-activities" {
                h2 { "Pending activities" }
                table.runs {
                    thead { tr {
                        th { "Activity" } th { "State" } th { "Attempt" } th { "Scheduled" }
                        th { "Worker" } th { "Last heartbeat" } th { "Last failure" }
                    } }
                    tbody {
                        @for activity in &description.pending_activity_details {
                            tr {
                                td { (activity.activity_type.to_string()) " " span.muted { "#" (activity.activity_id.to_string()) } }
                                td { (format!("{:?}", activity.state)) }
                                td { (activity.attempt) }
                                td { (format::time(activity.scheduled_time)) }
                                td { (activity.last_worker_identity.clone().unwrap_or_default()) }
                                td {
                                    (format::time_or_dash(activity.last_heartbeat_time))
                                    @if let Some(details) = &activity.heartbeat_details {
                                        " " code { (format::json_inline(&endure_core::Payload::readable_all(Some(details)), 80)) }
                                    }
                                }
                                td.failure-cell {
                                    @if let Some(failure) = &activity.last_failure { (failure.to_string()) }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if !children.is_empty() {
            section id="children" {
                h2 { "Child workflows" }
                table.runs {
                    thead { tr { th { "Workflow ID" } th { "Type" } th { "State" } } }
                    tbody {
                        @for child in &children {
                            tr {
                                td { a href=(workflow_link(&child.workflow_id, child.run_id.as_deref())) { (child.workflow_id) } }
                                td { (child.workflow_type) }
                                td { (child.state) }
                            }
                        }
                    }
                }
            }
        }
        section {
            h2 { "Timeline" }
            (super::timeline::render(&events::bars(events), start, end))
        }
        @if running {
            section {
                h2 { "Stack trace" }
                pre.stack id="stack-trace" data-query="__stack_trace" { "Asking a worker…" }
            }
        }
        section {
            h2 { "History " span.muted { "(" (events.len()) " events)" } }
            (history_table(events, namespace, &id, &run))
        }
    };
    super::layout::page(&id, namespace, body)
}

/// The history, one row per event, its attributes behind a disclosure.
fn history_table(events: &[EventView], namespace: &str, id: &str, run: &str) -> Markup {
    let shown = &events[..events.len().min(HISTORY_ROWS_MAX)];
    html! {
        table.history id="history" {
            thead { tr { th { "ID" } th { "Time" } th { "Type" } th { "Details" } } }
            tbody {
                @for event in shown {
                    tr data-event-id=(event.id) data-event-type=(event.kind) {
                        td.mono { (event.id) }
                        td { (format::time(event.time)) }
                        td class={ "event-type " (category(event.kind)) } { (event.kind) }
                        td {
                            details {
                                summary { (event.summary()) }
                                (format::json_block(&event.attributes))
                            }
                        }
                    }
                }
            }
        }
        @if events.len() > shown.len() {
            p.muted id="history-more" {
                "The first " (shown.len()) " of " (events.len()) " events. The rest: "
                a href={ "/api/v1/namespaces/" (namespace) "/workflows/" (encode(id)) "/history?run_id=" (run) "&first_event_id=" (shown.len() + 1) } {
                    "the history from event " (shown.len() + 1)
                }
                " (JSON), or " code { "endure workflow show -w " (id) } "."
            }
        }
    }
}

/// The most history rows a page shows; the rest are a link to the API's pages away (a
/// history may hold 51,200 events).
pub(crate) const HISTORY_ROWS_MAX: usize = 2_000;

/// The colour family of an event type.
fn category(kind: &str) -> &'static str {
    if kind.starts_with("WorkflowTask") {
        "cat-task"
    } else if kind.starts_with("Activity") {
        "cat-activity"
    } else if kind.starts_with("Timer") {
        "cat-timer"
    } else if kind.contains("Child") {
        "cat-child"
    } else if kind.contains("Failed") || kind.contains("TimedOut") || kind.contains("Terminated") {
        "cat-bad"
    } else {
        "cat-workflow"
    }
}

/// The action dialogs: each a form the script sends to the API.
fn dialogs() -> Markup {
    let field = |name: &str, label: &str, placeholder: &str| {
        html! {
            label { (label) input type="text" name=(name) placeholder=(placeholder) autocomplete="off"; }
        }
    };
    let arguments = html! {
        label { "Arguments (JSON, one value per line)"
            textarea name="args" rows="3" placeholder="\"user_123\"" {}
        }
    };
    html! {
        dialog id="dialog-signal" { form data-action="signal" method="dialog" {
            h3 { "Send a signal" }
            (field("name", "Signal name", "approve"))
            (arguments)
            (buttons("Send signal"))
        } }
        dialog id="dialog-query" { form data-action="query" method="dialog" {
            h3 { "Query" }
            (field("name", "Query type", "__stack_trace"))
            (arguments)
            (buttons("Query"))
        } }
        dialog id="dialog-update" { form data-action="update" method="dialog" {
            h3 { "Send an update" }
            (field("name", "Update name", "set_limit"))
            (arguments)
            (buttons("Send update"))
        } }
        dialog id="dialog-cancel" { form data-action="cancel" method="dialog" {
            h3 { "Cancel this run?" }
            p { "The workflow is asked to cancel; its code decides how to clean up." }
            (buttons("Request cancellation"))
        } }
        dialog id="dialog-terminate" { form data-action="terminate" method="dialog" {
            h3 { "Terminate this run?" }
            p { "The run stops at once; its code runs no more. This cannot be undone." }
            (field("reason", "Reason", "why it is terminated"))
            (buttons("Terminate"))
        } }
        dialog id="dialog-reset" { form data-action="reset" method="dialog" {
            h3 { "Reset this run?" }
            p { "A new run replays this history up to the event and continues from there; this run is terminated." }
            (field("event_id", "Event ID (a WorkflowTaskCompleted)", "e.g. 4"))
            (field("reason", "Reason", "why it is reset"))
            (buttons("Reset"))
        } }
    }
}

fn buttons(confirm: &str) -> Markup {
    html! {
        output.dialog-result {}
        div.dialog-buttons {
            button type="button" data-close { "Close" }
            button type="submit" .primary { (confirm) }
        }
    }
}

#[cfg(test)]
mod tests {
    use endure_core::time::Timestamp;

    use super::*;

    #[test]
    fn a_long_history_shows_its_first_rows_and_links_to_the_rest() {
        let events: Vec<EventView> = (1..=HISTORY_ROWS_MAX as u64 + 5)
            .map(|id| EventView {
                id,
                time: Timestamp::from_unix_seconds(id),
                kind: "WorkflowExecutionSignaled",
                attributes: serde_json::json!({ "signal_name": "tick" }),
            })
            .collect();
        let page = history_table(&events, "default", "many/signals", "run-1").into_string();
        assert_eq!(page.matches("<tr data-event-id=").count(), HISTORY_ROWS_MAX);
        assert!(page.contains(
            "/api/v1/namespaces/default/workflows/many%2Fsignals/history?run_id=run-1&amp;first_event_id=2001"
        ), "{}", &page[page.len() - 600..]);
        let short = history_table(&events[..3], "default", "w", "r").into_string();
        assert_eq!(short.matches("<tr data-event-id=").count(), 3);
        assert!(!short.contains("history-more"));
    }
}
