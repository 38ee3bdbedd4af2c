//! GetWorkflowExecutionHistory: a run's history by pages, or (with the close-event filter
//! and `wait_new_event`, how SDKs wait for a result) its closing event once it closes.
//! With `wait_new_event` and all events, a follower past the end of an open run waits for
//! its next events and always gets a token to ask again until the run closes.

use std::time::Duration;

use endure_core::protocol::{
    AwaitWorkflowCloseRequest, DescribeWorkflowRequest, GetHistoryPageRequest,
};
use endure_core::{EventId, ExecutionKey, HistoryEvent, Namespace};
use tonic::Status;

use crate::convert::common::execution_in;
use crate::convert::history::history;
use crate::proto::{enums as pbe, service as pb};
use crate::service::{Call, namespace};
use crate::token::{self, PageToken};

/// How long one close-event long poll waits before answering "not yet" with a token to
/// ask again (Temporal's SDKs ask again at once; their own call deadline is longer).
pub const CLOSE_POLL_WAIT: Duration = Duration::from_secs(20);

/// One page of persisted history from `first`, and where the next starts.
pub(crate) async fn page(
    call: &Call,
    execution: &ExecutionKey,
    first: EventId,
) -> Result<(Vec<HistoryEvent>, Option<EventId>), Status> {
    let page = call
        .rpc(GetHistoryPageRequest {
            execution: execution.clone(),
            first_event_id: first,
        })
        .await?;
    Ok((page.events, page.next_event_id))
}

/// The run a request names: its run id, or the workflow id's current run.
async fn run_of(
    call: &Call,
    namespace: Namespace,
    request_execution: Option<crate::proto::common::WorkflowExecution>,
) -> Result<ExecutionKey, Status> {
    let target = execution_in(request_execution)?;
    if let Some(run_id) = target.run_id {
        return Ok(ExecutionKey {
            namespace,
            workflow_id: target.workflow_id,
            run_id,
        });
    }
    let described = call
        .rpc(DescribeWorkflowRequest {
            namespace,
            workflow_id: target.workflow_id,
            run_id: None,
        })
        .await?;
    Ok(described.execution)
}

/// The answer with `events` and, when there is more, the token for it.
fn answer(
    events: Vec<HistoryEvent>,
    next: Option<PageToken>,
) -> pb::GetWorkflowExecutionHistoryResponse {
    pb::GetWorkflowExecutionHistoryResponse {
        history: Some(history(events)),
        next_page_token: next.map(|next| token::encode(&next)).unwrap_or_default(),
        ..Default::default()
    }
}

/// GetWorkflowExecutionHistory.
pub(crate) async fn get_history(
    call: Call,
    request: pb::GetWorkflowExecutionHistoryRequest,
) -> Result<pb::GetWorkflowExecutionHistoryResponse, Status> {
    let namespace = namespace(&request.namespace)?;
    let close_only =
        request.history_event_filter_type == i32::from(pbe::HistoryEventFilterType::CloseEvent);
    let continued: Option<PageToken> = (!request.next_page_token.is_empty())
        .then(|| token::decode("next_page_token", &request.next_page_token))
        .transpose()?;
    if let Some(continued) = &continued
        && continued.execution.namespace != namespace
    {
        return Err(Status::invalid_argument(
            "next_page_token: the token is for another namespace",
        ));
    }
    if close_only {
        let execution = match continued {
            Some(token) => token.execution,
            None => run_of(&call, namespace, request.execution).await?,
        };
        let closed = call
            .rpc(AwaitWorkflowCloseRequest {
                namespace: execution.namespace.clone(),
                workflow_id: execution.workflow_id.clone(),
                run_id: Some(execution.run_id),
                wait: if request.wait_new_event {
                    CLOSE_POLL_WAIT
                } else {
                    Duration::ZERO
                },
            })
            .await?;
        let Some(closing) = closed.closing_event else {
            let again = request.wait_new_event.then(|| PageToken {
                execution,
                next_event_id: EventId::FIRST,
                transient: Vec::new(),
            });
            return Ok(answer(Vec::new(), again));
        };
        return Ok(answer(vec![closing], None));
    }
    let (execution, first, transient) = match continued {
        Some(token) => (token.execution, token.next_event_id, token.transient),
        None => (
            run_of(&call, namespace, request.execution).await?,
            EventId::FIRST,
            Vec::new(),
        ),
    };
    let (mut events, mut next) = page(&call, &execution, first).await?;
    if request.wait_new_event {
        // Following a run (`temporal workflow show --follow`): past its end, wait for its
        // next event a while (the store is read every FOLLOW_POLL_INTERVAL).
        let mut waited = Duration::ZERO;
        while events.is_empty() && next.is_none() && waited < CLOSE_POLL_WAIT {
            tokio::time::sleep(FOLLOW_POLL_INTERVAL).await;
            waited += FOLLOW_POLL_INTERVAL;
            (events, next) = page(&call, &execution, first).await?;
        }
    }
    // A page of at most `maximum_page_size` events when the caller asks for one; the
    // rest (and a workflow task's transient events) by token.
    let limit = usize::try_from(request.maximum_page_size).unwrap_or(0);
    if limit > 0 && events.len() > limit {
        next = Some(events[limit].event_id);
        events.truncate(limit);
    }
    let next = match next {
        Some(next_event_id) => Some(PageToken {
            execution,
            next_event_id,
            transient,
        }),
        None => {
            // The last page carries a workflow task's events that are not persisted.
            events.extend(transient);
            let last = events
                .last()
                .map(|event| (event.event_id, event.event_type()));
            let open = last.is_none_or(|(_, kind)| !kind.is_closing());
            // A follower of an open run gets a token for the events still to come.
            (request.wait_new_event && open).then(|| PageToken {
                execution,
                next_event_id: last.map_or(first, |(id, _)| id.next()),
                transient: Vec::new(),
            })
        }
    };
    Ok(answer(events, next))
}

/// How often a follower's long poll reads the store for a run's next events.
const FOLLOW_POLL_INTERVAL: Duration = Duration::from_millis(200);
