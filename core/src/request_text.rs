//! The free-form strings a request carries — identities, reasons, query types — bounded
//! before the engine takes the request, since identities and reasons are written into
//! history (a 7 MB identity once was). Ids and names are bounded by their own types.

use crate::ValidationError;
use crate::limits::{IDENTITY_BYTES_MAX, REASON_BYTES_MAX};
use crate::protocol::Request;
use crate::validation::check_text;

impl Request {
    /// Checks every free-form string of the request: an identity at most
    /// [`IDENTITY_BYTES_MAX`] bytes, a reason or query type at most [`REASON_BYTES_MAX`],
    /// none with control characters (a reason may hold line breaks and tabs).
    pub fn check_text(&self) -> Result<(), ValidationError> {
        let identity = |text: &str| check_text("identity", text, IDENTITY_BYTES_MAX);
        let reason = |text: &str| check_reason("reason", text);
        match self {
            Self::StartWorkflow(start) => identity(&start.identity),
            Self::SignalWithStartWorkflow { start, signal } => {
                identity(&start.identity)?;
                identity(&signal.identity)
            }
            Self::UpdateWorkflow(update) => identity(&update.request.identity),
            Self::UpdateWithStartWorkflow { start, update } => {
                identity(&start.identity)?;
                identity(&update.request.identity)
            }
            Self::SignalWorkflow { signal, .. } => identity(&signal.identity),
            Self::RequestCancelWorkflow {
                reason: why,
                identity: who,
                ..
            }
            | Self::TerminateWorkflow {
                reason: why,
                identity: who,
                ..
            } => {
                reason(why)?;
                identity(who)
            }
            Self::PollWorkflowTask { identity: who, .. }
            | Self::FailWorkflowTask { identity: who, .. }
            | Self::PollActivityTask { identity: who, .. }
            | Self::CompleteActivityTask { identity: who, .. }
            | Self::FailActivityTask { identity: who, .. }
            | Self::CancelActivityTask { identity: who, .. }
            | Self::DeleteWorkflow { identity: who, .. } => identity(who),
            Self::CompleteWorkflowTask { completion, .. } => identity(&completion.identity),
            Self::QueryWorkflow { query_type, .. } => check_reason("query_type", query_type),
            Self::ResetWorkflow { request, .. } => {
                reason(&request.reason)?;
                identity(&request.identity)
            }
            Self::ResetStickyTaskQueue { .. }
            | Self::RespondQueryTask { .. }
            | Self::RecordActivityHeartbeat { .. }
            | Self::GetHistory { .. }
            | Self::GetHistoryPage { .. }
            | Self::ListWorkflows { .. }
            | Self::AwaitWorkflowClose { .. }
            | Self::DescribeWorkflow { .. }
            | Self::CreateNamespace { .. }
            | Self::DescribeNamespace { .. }
            | Self::ListNamespaces
            | Self::UpdateNamespace { .. }
            | Self::Health
            | Self::PollUpdate { .. } => Ok(()),
        }
    }
}

/// A reason may span lines: tabs and line breaks are allowed, other control characters not.
fn check_reason(field: &'static str, text: &str) -> Result<(), ValidationError> {
    let flattened: String = text
        .chars()
        .map(|c| {
            if matches!(c, '\n' | '\r' | '\t') {
                ' '
            } else {
                c
            }
        })
        .collect();
    check_text(field, &flattened, REASON_BYTES_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Namespace, TaskQueueName, WorkflowId};

    fn poll(identity: String) -> Request {
        Request::PollActivityTask {
            namespace: Namespace::default(),
            task_queue: TaskQueueName::new("q").unwrap(),
            identity,
        }
    }

    fn cancel(reason: &str) -> Request {
        Request::RequestCancelWorkflow {
            namespace: Namespace::default(),
            workflow_id: WorkflowId::new("w").unwrap(),
            run_id: None,
            reason: reason.into(),
            identity: "cli".into(),
        }
    }

    #[test]
    fn identities_and_reasons_are_bounded_and_printable() {
        assert_eq!(poll("x".repeat(IDENTITY_BYTES_MAX)).check_text(), Ok(()));
        assert_eq!(
            poll("x".repeat(7 << 20)).check_text(),
            Err(ValidationError::TooLong {
                field: "identity",
                len: 7 << 20,
                limit: IDENTITY_BYTES_MAX
            })
        );
        assert!(matches!(
            poll("worker\u{0}".into()).check_text(),
            Err(ValidationError::ControlCharacter { .. })
        ));
        assert_eq!(cancel("wrong order\n\tsee ticket 42").check_text(), Ok(()));
        assert!(matches!(
            cancel(&"r".repeat(REASON_BYTES_MAX + 1)).check_text(),
            Err(ValidationError::TooLong {
                field: "reason",
                ..
            })
        ));
        assert!(matches!(
            cancel("bell\u{7}").check_text(),
            Err(ValidationError::ControlCharacter { .. })
        ));
    }
}
