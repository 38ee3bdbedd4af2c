//! The worker deployments page: each deployment's current and ramping versions, and every
//! version with its status, task queues and last poll.

use endure::{Client, ClientError};
use maud::{Markup, html};

use super::format;

/// The namespace's worker deployments.
pub(crate) async fn render(client: &Client) -> Result<Markup, ClientError> {
    let namespace = client.namespace().as_str();
    let deployments = client.deployments().list().await?;
    let body = html! {
        div.heading { h1 { "Worker deployments" } span.count { (deployments.len()) " deployments" } }
        @if deployments.is_empty() {
            p.muted { "No worker deployments: workers that set a deployment version appear here (spec §5.13.1)." }
        }
        @for deployment in &deployments {
            section.deployment data-deployment=(deployment.name) {
                h2 { (deployment.name) }
                p {
                    "Current: " strong { (deployment.routing.current.as_ref().map(ToString::to_string).unwrap_or_else(|| "unversioned".into())) }
                    @if let Some(ramping) = &deployment.routing.ramping {
                        " · ramping " strong { (ramping.to_string()) } " at " (deployment.routing.ramping_percentage) "%"
                    }
                }
                table.runs {
                    thead { tr { th { "Version" } th { "Status" } th { "Task queues" } th { "Created" } th { "Last poll" } } }
                    tbody {
                        @for version in &deployment.versions {
                            tr {
                                td.mono { (version.version.to_string()) }
                                td { (format!("{:?}", version.status)) }
                                td { (version.task_queues.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")) }
                                td { (format::time(version.created_at)) }
                                td { (format::time(version.last_poll_at)) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(super::layout::page("Deployments", namespace, body))
}
