//! The workflows page: a filter box in the list language, status, type and time-range
//! facets with counts, auto-refresh, and pages of runs.

use std::collections::BTreeSet;

use endure::{Client, ClientError};
use endure_core::protocol::WorkflowExecutionInfo;
use endure_core::storage::VisibilityQuery;
use endure_core::{Namespace, WorkflowExecutionStatus};
use maud::{Markup, html};
use serde::Deserialize;

use super::format;

/// Rows per page.
const PAGE_ROWS: usize = 25;
/// How many recent runs the type facet looks through for types.
const TYPE_SAMPLE: usize = 500;

/// The page's query string.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct ListPage {
    /// The filter typed in the box.
    #[serde(default)]
    pub(crate) query: String,
    /// The status facet.
    #[serde(default)]
    pub(crate) status: String,
    /// The type facet.
    #[serde(default, rename = "type")]
    pub(crate) workflow_type: String,
    /// The time-range facet: `1h`, `24h`, `7d`, or empty for all time.
    #[serde(default)]
    pub(crate) range: String,
    /// The first row shown.
    #[serde(default)]
    pub(crate) offset: usize,
}

/// The time ranges offered, with their labels.
const RANGES: [(&str, &str, i64); 4] = [
    ("", "All time", 0),
    ("1h", "Last hour", 3_600),
    ("24h", "Last 24 hours", 86_400),
    ("7d", "Last 7 days", 604_800),
];

impl ListPage {
    /// The link to this page with `change` applied (and back to the first rows).
    fn link(&self, namespace: &Namespace, change: impl FnOnce(&mut Self)) -> String {
        let mut next = self.clone();
        next.offset = 0;
        change(&mut next);
        let mut pairs = Vec::new();
        for (key, value) in [
            ("query", next.query.as_str()),
            ("status", next.status.as_str()),
            ("type", next.workflow_type.as_str()),
            ("range", next.range.as_str()),
        ] {
            if !value.is_empty() {
                pairs.push(format!("{key}={}", encode(value)));
            }
        }
        if next.offset > 0 {
            pairs.push(format!("offset={}", next.offset));
        }
        let query = if pairs.is_empty() {
            String::new()
        } else {
            format!("?{}", pairs.join("&"))
        };
        format!("/namespaces/{namespace}/workflows{query}")
    }

    /// The filter the facets and the box make together, leaving out the facets in
    /// `without`.
    fn filter(&self, now: jiff::Timestamp, with_status: bool, with_type: bool) -> String {
        let mut parts = Vec::new();
        if !self.query.trim().is_empty() {
            parts.push(format!("({})", self.query.trim()));
        }
        if with_status && !self.status.is_empty() {
            parts.push(format!("ExecutionStatus = {}", quote(&self.status)));
        }
        if with_type && !self.workflow_type.is_empty() {
            parts.push(format!("WorkflowType = {}", quote(&self.workflow_type)));
        }
        if let Some((_, _, seconds)) = RANGES.iter().find(|(key, _, _)| *key == self.range)
            && *seconds > 0
        {
            let since = now
                .checked_sub(jiff::SignedDuration::from_secs(*seconds))
                .unwrap_or(now);
            parts.push(format!("StartTime > '{since}'"));
        }
        parts.join(" AND ")
    }
}

/// `text` as a list-language string literal.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `text` percent-encoded for a query string.
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// What the page shows, gathered from the engine.
struct Listing {
    rows: Vec<WorkflowExecutionInfo>,
    more: bool,
    total: u64,
    by_status: Vec<(WorkflowExecutionStatus, u64)>,
    types: BTreeSet<String>,
}

/// Reads what the page shows.
async fn gather(
    client: &Client,
    page: &ListPage,
    now: jiff::Timestamp,
) -> Result<Listing, ClientError> {
    // The box alone first, so an error's position is where the user typed it.
    VisibilityQuery::parse(page.query.trim())?;
    let filter = page.filter(now, true, true);
    let query = VisibilityQuery::parse(&filter)?;
    let mut rows = client
        .list_workflows(query, page.offset, PAGE_ROWS + 1)
        .await?;
    let more = rows.len() > PAGE_ROWS;
    rows.truncate(PAGE_ROWS);
    let without_status = page.filter(now, false, true);
    let total = client.count_workflows_matching(&without_status).await?;
    let mut by_status = Vec::new();
    for status in WorkflowExecutionStatus::ALL {
        let clause = format!("ExecutionStatus = '{}'", format::status_name(status));
        let counted = if without_status.is_empty() {
            clause
        } else {
            format!("{without_status} AND {clause}")
        };
        by_status.push((status, client.count_workflows_matching(&counted).await?));
    }
    let without_type = VisibilityQuery::parse(&page.filter(now, true, false))?;
    let types = client
        .list_workflows(without_type, 0, TYPE_SAMPLE)
        .await?
        .into_iter()
        .map(|row| row.workflow_type.to_string())
        .collect();
    Ok(Listing {
        rows,
        more,
        total,
        by_status,
        types,
    })
}

/// The page, or the error to show.
pub(crate) async fn render(client: &Client, page: &ListPage) -> Result<Markup, ClientError> {
    let namespace = client.namespace().clone();
    let now = jiff::Timestamp::now();
    let listing = match gather(client, page, now).await {
        Ok(listing) => listing,
        Err(ClientError::BadFilter(error)) => {
            return Ok(layout(
                &namespace,
                page,
                None,
                Some((error.position, error.message)),
            ));
        }
        Err(other) => return Err(other),
    };
    Ok(layout(&namespace, page, Some(&listing), None))
}

/// The whole page: the form, the facets, and the table (or the filter's error).
fn layout(
    namespace: &Namespace,
    page: &ListPage,
    listing: Option<&Listing>,
    filter_error: Option<(usize, String)>,
) -> Markup {
    let body = html! {
        div.heading {
            h1 { "Workflows" }
            @if let Some(listing) = listing {
                span.count id="workflow-count" { (listing.total) " runs" }
            }
            label.refresh {
                input type="checkbox" id="auto-refresh";
                " Auto-refresh"
            }
        }
        form.filter id="filter-form" method="get" action={ "/namespaces/" (namespace) "/workflows" } {
            div.filter-row {
                input type="search" name="query" id="filter-input" value=(page.query)
                    placeholder="WorkflowType = 'Order' AND StartTime > '2026-12-01T00:00:00Z'"
                    autocomplete="off" spellcheck="false"
                    class=[filter_error.as_ref().map(|_| "invalid")];
                @if !page.status.is_empty() { input type="hidden" name="status" value=(page.status); }
                select name="type" id="type-facet" data-autosubmit {
                    option value="" { "All types" }
                    @if let Some(listing) = listing {
                        @for workflow_type in &listing.types {
                            option value=(workflow_type) selected[*workflow_type == page.workflow_type] { (workflow_type) }
                        }
                    }
                    @if listing.is_none_or(|l| !l.types.contains(&page.workflow_type)) && !page.workflow_type.is_empty() {
                        option value=(page.workflow_type) selected { (page.workflow_type) }
                    }
                }
                select name="range" id="range-facet" data-autosubmit {
                    @for (key, label, _) in RANGES {
                        option value=(key) selected[key == page.range] { (label) }
                    }
                }
                button type="submit" { "Apply" }
            }
            @if let Some((position, message)) = &filter_error {
                div.filter-error id="filter-error" role="alert" {
                    strong { "This filter does not parse" }
                    " at character " (position + 1) ": " (message)
                    pre.caret { (page.query.trim()) "\n" (" ".repeat(*position)) "^" }
                }
            }
        }
        @if let Some(listing) = listing {
            nav.facets id="status-facets" {
                a class={ "facet" @if page.status.is_empty() { " active" } }
                    href=(page.link(namespace, |p| p.status.clear())) {
                    "All " span.n { (listing.total) }
                }
                @for (status, count) in &listing.by_status {
                    @let name = format::status_name(*status);
                    a class={ "facet facet-" (name.to_lowercase()) @if page.status == name { " active" } }
                        data-status=(name)
                        href=(page.link(namespace, |p| p.status = name.clone())) {
                        (name) " " span.n { (count) }
                    }
                }
            }
            (table(namespace, &listing.rows))
            nav.pager {
                @if page.offset > 0 {
                    a href=(page.link(namespace, |p| p.offset = page.offset.saturating_sub(PAGE_ROWS))) { "← Newer" }
                }
                span.muted {
                    @if listing.rows.is_empty() { "No runs" }
                    @else { "Runs " (page.offset + 1) "–" (page.offset + listing.rows.len()) }
                }
                @if listing.more {
                    a href=(page.link(namespace, |p| p.offset = page.offset + PAGE_ROWS)) { "Older →" }
                }
            }
        }
    };
    super::layout::page("Workflows", namespace.as_str(), body)
}

/// The runs' table.
fn table(namespace: &Namespace, rows: &[WorkflowExecutionInfo]) -> Markup {
    html! {
        table.runs id="workflows" {
            thead { tr {
                th { "Status" } th { "Workflow ID" } th { "Run ID" } th { "Type" }
                th { "Task queue" } th { "Started" } th { "Closed" } th { "Took" }
            } }
            tbody {
                @for row in rows {
                    @let id = row.execution.workflow_id.to_string();
                    @let run = row.execution.run_id.to_string();
                    tr data-workflow-id=(id) data-status=(format::status_name(row.status)) {
                        td { (format::status(row.status)) }
                        td { a href={ "/namespaces/" (namespace) "/workflows/" (encode(&id)) "?run_id=" (run) } { (id) } }
                        td.mono title=(run) { (run.chars().take(8).collect::<String>()) "…" }
                        td { (row.workflow_type.to_string()) }
                        td { (row.task_queue.to_string()) }
                        td { (format::time(row.start_time)) }
                        td { (format::time_or_dash(row.close_time)) }
                        td.muted {
                            @if let Some(close) = row.close_time {
                                (format::duration(close.saturating_duration_since(row.start_time)))
                            }
                        }
                    }
                }
                @if rows.is_empty() {
                    tr { td colspan="8" .empty { "No workflow runs match." } }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facets_and_the_box_make_one_filter() {
        let now: jiff::Timestamp = "2026-12-03T12:00:00Z".parse().unwrap();
        let page = ListPage {
            query: "WorkflowId STARTS_WITH 'order-'".into(),
            status: "Running".into(),
            workflow_type: "Order's".into(),
            range: "1h".into(),
            offset: 25,
        };
        assert_eq!(
            page.filter(now, true, true),
            "(WorkflowId STARTS_WITH 'order-') AND ExecutionStatus = 'Running' AND WorkflowType = 'Order''s' AND StartTime > '2026-12-03T11:00:00Z'"
        );
        assert!(VisibilityQuery::parse(&page.filter(now, true, true)).is_ok());
        assert_eq!(ListPage::default().filter(now, true, true), "");
        let link = page.link(&Namespace::default_namespace(), |p| p.status.clear());
        assert_eq!(
            link,
            "/namespaces/default/workflows?query=WorkflowId%20STARTS_WITH%20%27order-%27&type=Order%27s&range=1h"
        );
    }
}
