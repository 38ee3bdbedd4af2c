//! The schedules page: each schedule's workflow type, state, next and recent runs, and
//! buttons to pause, unpause and trigger it.

use endure::{Client, ClientError};
use maud::{Markup, html};

use super::format;
use super::workflows::encode;

/// The namespace's schedules.
pub(crate) async fn render(client: &Client) -> Result<Markup, ClientError> {
    let namespace = client.namespace().as_str();
    let listed = client.schedules().list("").await?;
    // The listing catches up with a change a moment later (as Temporal's); each schedule
    // is described, so a page reloaded after pausing shows it paused.
    let mut schedules = Vec::with_capacity(listed.len());
    for entry in listed {
        let handle = client.schedules().handle(entry.schedule_id.clone());
        match handle.describe().await {
            Ok(description) => schedules.push((entry, Some(description))),
            // Deleted since it was listed.
            Err(ClientError::Remote(remote))
                if remote.kind == endure_core::protocol::ErrorKind::NotFound => {}
            Err(other) => return Err(other),
        }
    }
    let body = html! {
        div.heading { h1 { "Schedules" } span.count { (schedules.len()) " schedules" } }
        table.runs id="schedules" data-namespace=(namespace) {
            thead { tr {
                th { "Schedule ID" } th { "Workflow type" } th { "State" }
                th { "Next runs" } th { "Recent runs" } th {}
            } }
            tbody {
                @for (entry, description) in &schedules {
                    @let id = entry.schedule_id.to_string();
                    @let (paused, notes) = description.as_ref().map_or(
                        (entry.info.paused, entry.info.notes.as_str()),
                        |d| (d.schedule.state.paused, d.schedule.state.notes.as_str()),
                    );
                    @let recent = description.as_ref().map_or(&entry.info.recent_actions, |d| &d.info.recent_actions);
                    @let next = description.as_ref().map_or(&entry.info.future_action_times, |d| &d.future_action_times);
                    tr data-schedule-id=(id) {
                        td.mono { (id) }
                        td { (entry.info.workflow_type.to_string()) }
                        td {
                            @if paused {
                                span.status.status-canceled { "Paused" }
                                @if !notes.is_empty() { br; span.muted { (notes) } }
                            } @else {
                                span.status.status-running { "Active" }
                            }
                        }
                        td { @for at in next.iter().take(3) { (format::time(*at)) br; } }
                        td {
                            @for action in recent.iter() {
                                @let workflow = action.workflow_id.to_string();
                                a href={ "/namespaces/" (namespace) "/workflows/" (encode(&workflow)) "?run_id=" (action.run_id) } { (workflow) }
                                " " (format::status(action.status)) br;
                            }
                        }
                        td.row-actions {
                            @if paused {
                                button data-schedule-action="unpause" { "Unpause" }
                            } @else {
                                button data-schedule-action="pause" { "Pause" }
                            }
                            button data-schedule-action="trigger" { "Trigger now" }
                        }
                    }
                }
                @if schedules.is_empty() {
                    tr { td colspan="6" .empty { "No schedules. Create one with " code { "endure schedule create" } "." } }
                }
            }
        }
        output.dialog-result id="schedule-result" {}
    };
    Ok(super::layout::page("Schedules", namespace, body))
}
