//! ListWorkflowExecutions and CountWorkflowExecutions: Temporal's visibility query is
//! Endure's list-filter language (the same SQL-like `WorkflowType = 'Order' AND
//! ExecutionStatus = 'Running'`; `crate::list_filter` in endure-core says what it takes).

use endure_core::protocol::{CountWorkflowsRequest, ListWorkflowsRequest, WorkflowExecutionInfo};
use endure_core::storage::VisibilityQuery;
use tonic::Status;

use crate::convert::common::{memo, run_id, search_attributes, time, time_opt};
use crate::convert::enums::enum_out;
use crate::proto::{common as pbc, enums as pbe, service as pb, workflow as pbw};
use crate::service::{Call, namespace};

/// The page size when a request leaves it unset, and the largest taken (Temporal's).
pub const LIST_PAGE_SIZE_MAX: usize = 1_000;

fn query(text: &str) -> Result<VisibilityQuery, Status> {
    VisibilityQuery::parse(text)
        .map_err(|error| Status::invalid_argument(format!("query: {error}")))
}

/// A listed run as Temporal's.
pub(crate) fn info(row: WorkflowExecutionInfo) -> pbw::WorkflowExecutionInfo {
    pbw::WorkflowExecutionInfo {
        execution: Some(pbc::WorkflowExecution {
            workflow_id: row.execution.workflow_id.as_str().to_owned(),
            run_id: run_id(row.execution.run_id),
        }),
        r#type: Some(pbc::WorkflowType {
            name: row.workflow_type.into(),
        }),
        start_time: Some(time(row.start_time)),
        close_time: time_opt(row.close_time),
        status: enum_out!(
            row.status,
            pbe::WorkflowExecutionStatus,
            "WORKFLOW_EXECUTION_STATUS_"
        ),
        execution_time: Some(time(row.start_time)),
        memo: memo(row.memo),
        search_attributes: search_attributes(&row.search_attributes),
        task_queue: row.task_queue.into(),
        ..Default::default()
    }
}

/// ListWorkflowExecutions: latest start first, paged by offset.
pub(crate) async fn list(
    call: Call,
    request: pb::ListWorkflowExecutionsRequest,
) -> Result<pb::ListWorkflowExecutionsResponse, Status> {
    let limit = usize::try_from(request.page_size)
        .ok()
        .filter(|size| *size > 0)
        .unwrap_or(LIST_PAGE_SIZE_MAX)
        .min(LIST_PAGE_SIZE_MAX);
    let offset = if request.next_page_token.is_empty() {
        0
    } else {
        std::str::from_utf8(&request.next_page_token)
            .ok()
            .and_then(|text| text.parse::<usize>().ok())
            .ok_or_else(|| {
                Status::invalid_argument("next_page_token: not a token this server gave")
            })?
    };
    // One more than the page, to know whether another follows.
    let mut rows = call
        .rpc(ListWorkflowsRequest {
            namespace: namespace(&request.namespace)?,
            query: query(&request.query)?,
            offset,
            limit: limit + 1,
        })
        .await?;
    let next_page_token = if rows.len() > limit {
        rows.truncate(limit);
        (offset + limit).to_string().into_bytes()
    } else {
        Vec::new()
    };
    Ok(pb::ListWorkflowExecutionsResponse {
        executions: rows.into_iter().map(info).collect(),
        next_page_token,
    })
}

/// CountWorkflowExecutions (without `GROUP BY`).
pub(crate) async fn count(
    call: Call,
    request: pb::CountWorkflowExecutionsRequest,
) -> Result<pb::CountWorkflowExecutionsResponse, Status> {
    let count = call
        .rpc(CountWorkflowsRequest {
            namespace: namespace(&request.namespace)?,
            query: query(&request.query)?,
        })
        .await?;
    Ok(pb::CountWorkflowExecutionsResponse {
        count: i64::try_from(count).unwrap_or(i64::MAX),
        groups: Vec::new(),
    })
}
