//! Reading workflows: list (the list-filter language, paged), count, describe, history
//! (paged, and long-polled for new events).

use std::time::Duration;

use axum::Json;
use axum::extract::Path;
use endure_core::EventId;
use endure_core::history::HistoryEvent;
use endure_core::protocol::{WorkflowDescription, WorkflowExecutionInfo};
use endure_core::storage::VisibilityQuery;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::params::{self, NamespacePath, Params, WorkflowPath};
use crate::Caller;

/// Rows per page when none is asked for.
pub const PAGE_SIZE_DEFAULT: usize = 50;
/// The most rows a page may ask for.
pub const PAGE_SIZE_MAX: usize = 1_000;
/// The longest a history request waits for new events.
pub const HISTORY_WAIT_MAX: Duration = Duration::from_secs(20);
/// How often a waiting history request looks for new events.
const HISTORY_WAIT_POLL: Duration = Duration::from_millis(200);

/// A list's query string.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// A list filter (`WorkflowType = 'Order' AND ExecutionStatus = 'Running'`); empty
    /// lists every run.
    pub query: Option<String>,
    /// Rows per page (default 50, at most 1,000).
    pub page_size: Option<usize>,
    /// The `next_page_token` of the previous page.
    pub next_page_token: Option<String>,
}

/// A page of runs, latest start first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WorkflowPage {
    /// The runs: execution (namespace, workflow_id, run_id), workflow_type, task_queue,
    /// status, start_time, close_time, memo, search_attributes.
    #[schema(value_type = Vec<Object>)]
    pub workflows: Vec<WorkflowExecutionInfo>,
    /// Pass as `next_page_token` for the next page; absent on the last.
    pub next_page_token: Option<String>,
}

/// `GET /api/v1/namespaces/{namespace}/workflows`
#[utoipa::path(
    get,
    path = "/api/v1/namespaces/{namespace}/workflows",
    tag = "workflows",
    params(NamespacePath, ListParams),
    responses(
        (status = 200, description = "A page of runs", body = WorkflowPage),
        (status = 400, description = "A filter that does not parse (code BadFilter, with position)", body = ErrorBody),
    )
)]
pub(crate) async fn list(
    caller: Caller,
    Path(NamespacePath { namespace }): Path<NamespacePath>,
    Params(params): Params<ListParams>,
) -> Result<Json<WorkflowPage>, ApiError> {
    let client = caller.client(params::namespace(&namespace)?);
    let filter = params.query.unwrap_or_default();
    let query = VisibilityQuery::parse(&filter)
        .map_err(|error| ApiError::from(endure::ClientError::from(error)))?;
    let limit = params
        .page_size
        .unwrap_or(PAGE_SIZE_DEFAULT)
        .clamp(1, PAGE_SIZE_MAX);
    let offset = match params.next_page_token.as_deref() {
        None | Some("") => 0,
        Some(token) => token.parse::<usize>().map_err(|_| {
            ApiError::bad_request(format!(
                "next_page_token {token:?} is not one this API gave; start from the first page"
            ))
        })?,
    };
    // One more than the page, to know whether another follows.
    let mut workflows = client.list_workflows(query, offset, limit + 1).await?;
    let next_page_token = (workflows.len() > limit).then(|| (offset + limit).to_string());
    workflows.truncate(limit);
    Ok(Json(WorkflowPage {
        workflows,
        next_page_token,
    }))
}

/// A count's query string.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CountParams {
    /// A list filter; empty counts every run.
    pub query: Option<String>,
}

/// How many runs a filter selects.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WorkflowCount {
    /// The number of runs.
    pub count: u64,
}

/// `GET /api/v1/namespaces/{namespace}/workflow-count`
#[utoipa::path(
    get,
    path = "/api/v1/namespaces/{namespace}/workflow-count",
    tag = "workflows",
    params(NamespacePath, CountParams),
    responses(
        (status = 200, description = "The count", body = WorkflowCount),
        (status = 400, description = "A filter that does not parse", body = ErrorBody),
    )
)]
pub(crate) async fn count(
    caller: Caller,
    Path(NamespacePath { namespace }): Path<NamespacePath>,
    Params(params): Params<CountParams>,
) -> Result<Json<WorkflowCount>, ApiError> {
    let client = caller.client(params::namespace(&namespace)?);
    let count = client
        .count_workflows_matching(params.query.as_deref().unwrap_or_default())
        .await?;
    Ok(Json(WorkflowCount { count }))
}

/// Which run: the current one unless `run_id` names another.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunParams {
    /// The run; empty or absent for the workflow's current run.
    pub run_id: Option<String>,
}

/// `GET /api/v1/namespaces/{namespace}/workflows/{workflow_id}`
#[utoipa::path(
    get,
    path = "/api/v1/namespaces/{namespace}/workflows/{workflow_id}",
    tag = "workflows",
    params(
        WorkflowPath,
        RunParams,
    ),
    responses(
        (status = 200, description = "The run: status, times, parent, pending activities and children, memo, search attributes", body = Object),
        (status = 404, description = "No such workflow", body = ErrorBody),
    )
)]
pub(crate) async fn describe(
    caller: Caller,
    Path(WorkflowPath {
        namespace,
        workflow_id,
    }): Path<WorkflowPath>,
    Params(params): Params<RunParams>,
) -> Result<Json<WorkflowDescription>, ApiError> {
    let client = caller.client(params::namespace(&namespace)?);
    let handle = client.handle(
        params::workflow_id(&workflow_id)?,
        params::run_id(params.run_id.as_deref())?,
    );
    Ok(Json(handle.describe().await?))
}

/// A history request's query string.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// The run; absent for the current one.
    pub run_id: Option<String>,
    /// The first event wanted (default 1): the `next_event_id` of the previous page.
    pub first_event_id: Option<u64>,
    /// When no event from `first_event_id` exists yet and the run is open, wait up to
    /// 20 s for one (long poll).
    #[serde(default)]
    pub wait_new_event: bool,
}

/// A page of history.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HistoryPage {
    /// The run the events belong to.
    pub run_id: String,
    /// Events in order, in the history export's form: `event_id`, `event_time`,
    /// `attributes: {"<EventType>": {…}}` (docs/format.md).
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<HistoryEvent>,
    /// The `first_event_id` of the next request: after the last event returned (or the
    /// one asked for, if none was).
    pub next_event_id: u64,
    /// Whether the run has closed (no event will follow the last).
    pub closed: bool,
}

/// `GET /api/v1/namespaces/{namespace}/workflows/{workflow_id}/history`
#[utoipa::path(
    get,
    path = "/api/v1/namespaces/{namespace}/workflows/{workflow_id}/history",
    tag = "workflows",
    params(
        WorkflowPath,
        HistoryParams,
    ),
    responses(
        (status = 200, description = "A page of events", body = HistoryPage),
        (status = 404, description = "No such workflow", body = ErrorBody),
    )
)]
pub(crate) async fn history(
    caller: Caller,
    Path(WorkflowPath {
        namespace,
        workflow_id,
    }): Path<WorkflowPath>,
    Params(params): Params<HistoryParams>,
) -> Result<Json<HistoryPage>, ApiError> {
    let client = caller.client(params::namespace(&namespace)?);
    let workflow_id = params::workflow_id(&workflow_id)?;
    let run = params::run_id(params.run_id.as_deref())?;
    // Pin the run, so a new run with this id is not read into.
    let description = client.handle(workflow_id.clone(), run).describe().await?;
    let run = description.execution.run_id;
    let handle = client.handle(workflow_id, Some(run));
    let first = params
        .first_event_id
        .map(|id| {
            EventId::new(id).ok_or_else(|| ApiError::bad_request("first_event_id starts at 1"))
        })
        .transpose()?
        .unwrap_or(EventId::FIRST);
    let mut closed = description.close_time.is_some();
    let deadline = tokio::time::Instant::now() + HISTORY_WAIT_MAX;
    loop {
        let page = handle.history_page(first).await?;
        let waited_enough = tokio::time::Instant::now() >= deadline;
        if !page.events.is_empty() || closed || !params.wait_new_event || waited_enough {
            closed = closed
                || page
                    .events
                    .last()
                    .is_some_and(|event| event.event_type().is_closing());
            return Ok(Json(HistoryPage {
                run_id: run.to_string(),
                next_event_id: page
                    .events
                    .last()
                    .map_or(first, |event| event.event_id.next())
                    .get(),
                events: page.events,
                closed,
            }));
        }
        tokio::time::sleep(HISTORY_WAIT_POLL).await;
        closed = handle.describe().await?.close_time.is_some();
    }
}
