//! ListWorkflowExecutions and CountWorkflowExecutions: Temporal's visibility query is
//! Endure's list-filter language (the same SQL-like `WorkflowType = 'Order' AND
//! ExecutionStatus = 'Running'`; `crate::list_filter` in endure-core says what it takes).

use endure_core::protocol::{CountWorkflowsRequest, ListWorkflowsRequest, WorkflowExecutionInfo};
use endure_core::storage::VisibilityQuery;
use endure_core::{Payload, WorkflowExecutionStatus};
use tonic::Status;

use crate::convert::common::{memo, payload, run_id, search_attributes, time, time_opt};
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

/// Where a query's `GROUP BY` clause starts (outside quoted text), if it has one.
fn group_by_at(text: &str) -> Option<usize> {
    let upper = text.to_ascii_uppercase();
    let bytes = upper.as_bytes();
    let mut quote = None;
    for (at, &byte) in bytes.iter().enumerate() {
        match quote {
            Some(open) if byte == open => quote = None,
            Some(_) => {}
            None if matches!(byte, b'\'' | b'"' | b'`') => quote = Some(byte),
            None => {
                let starts_word = at == 0 || bytes[at - 1].is_ascii_whitespace();
                if starts_word && upper[at..].starts_with("GROUP") {
                    let rest = upper[at + 5..].trim_start();
                    if rest.len() < upper.len() - at - 5
                        && rest.starts_with("BY")
                        && rest[2..].starts_with(|c: char| c.is_ascii_whitespace())
                    {
                        return Some(at);
                    }
                }
            }
        }
    }
    None
}

/// CountWorkflowExecutions, and with `GROUP BY ExecutionStatus` (the one grouping
/// Temporal's server takes) a count per status present, largest first, each group's value
/// the status's name as a JSON string.
pub(crate) async fn count(
    call: Call,
    request: pb::CountWorkflowExecutionsRequest,
) -> Result<pb::CountWorkflowExecutionsResponse, Status> {
    let namespace = namespace(&request.namespace)?;
    let Some(at) = group_by_at(&request.query) else {
        let count = call
            .rpc(CountWorkflowsRequest {
                namespace,
                query: query(&request.query)?,
            })
            .await?;
        return Ok(pb::CountWorkflowExecutionsResponse {
            count: i64::try_from(count).unwrap_or(i64::MAX),
            groups: Vec::new(),
        });
    };
    let field = request.query[at..]
        .split_whitespace()
        .skip(2)
        .collect::<Vec<_>>();
    if field != ["ExecutionStatus"] {
        return Err(Status::invalid_argument(format!(
            "query: GROUP BY takes one field, ExecutionStatus (as Temporal's server); found {:?}",
            field.join(" ")
        )));
    }
    let base = query(&request.query[..at])?;
    let mut groups = Vec::new();
    for status in WorkflowExecutionStatus::ALL {
        let count = call
            .rpc(CountWorkflowsRequest {
                namespace: namespace.clone(),
                query: VisibilityQuery {
                    status: Some(status),
                    ..base.clone()
                },
            })
            .await?;
        if count > 0 {
            groups.push((status, count));
        }
    }
    // Largest first; ties in the order of the statuses.
    groups.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
    let total: u64 = groups.iter().map(|(_, count)| count).sum();
    Ok(pb::CountWorkflowExecutionsResponse {
        count: i64::try_from(total).unwrap_or(i64::MAX),
        groups: groups
            .into_iter()
            .map(|(status, count)| {
                let name = format!("{status:?}");
                pb::count_workflow_executions_response::AggregationGroup {
                    group_values: vec![payload(
                        Payload::json(&name).unwrap_or_else(|_| Payload::null()),
                    )],
                    count: i64::try_from(count).unwrap_or(i64::MAX),
                }
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::group_by_at;

    #[test]
    fn group_by_is_found_outside_quotes_only() {
        let query = "WorkflowType = 'Order' GROUP BY ExecutionStatus";
        assert_eq!(group_by_at(query), Some(23));
        assert_eq!(group_by_at("group  by ExecutionStatus"), Some(0));
        assert_eq!(group_by_at("WorkflowId = 'group by x'"), None);
        assert_eq!(group_by_at("GroupName = 'a' AND x = 1"), None);
        assert_eq!(group_by_at("GROUPBY x"), None);
        assert_eq!(group_by_at(""), None);
    }
}
