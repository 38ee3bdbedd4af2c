//! The namespaces page.

use endure::{Client, ClientError};
use maud::{Markup, html};

use super::format;

/// The namespaces the caller may see.
pub(crate) async fn render(client: &Client) -> Result<Markup, ClientError> {
    let namespaces = client.list_namespaces().await?;
    let body = html! {
        h1 { "Namespaces" }
        table.runs id="namespaces" {
            thead { tr { th { "Name" } th { "Description" } th { "Owner" } th { "Retention" } th { "Created" } } }
            tbody {
                @for record in &namespaces {
                    tr {
                        td { a href={ "/namespaces/" (record.name) "/workflows" } { (record.name) } }
                        td { (record.config.description) }
                        td { (record.config.owner_email) }
                        td { (endure_core::duration_text::format(record.config.retention)) }
                        td { (format::time(record.created)) }
                    }
                }
            }
        }
    };
    Ok(super::layout::page(
        "Namespaces",
        client.namespace().as_str(),
        body,
    ))
}
