//! The free-form strings a request carries — identities, reasons, query types — bounded
//! before the engine takes the request, since identities and reasons are written into
//! history (a 7 MB identity once was). Ids and names are bounded by their own types. Each
//! request says which strings it carries in its `CheckText` impl.

use crate::ValidationError;
use crate::limits::{IDENTITY_BYTES_MAX, REASON_BYTES_MAX};
use crate::validation::check_text;

/// An identity: at most [`IDENTITY_BYTES_MAX`] bytes, no control characters.
pub(super) fn identity(text: &str) -> Result<(), ValidationError> {
    check_text("identity", text, IDENTITY_BYTES_MAX)
}

/// A reason or query type: at most [`REASON_BYTES_MAX`] bytes; line breaks and tabs
/// allowed, other control characters not.
pub(super) fn reason(field: &'static str, text: &str) -> Result<(), ValidationError> {
    check_reason(field, text)
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
    use crate::protocol::{PollActivityTaskRequest, Request, RequestCancelWorkflowRequest, Rpc};
    use crate::{Namespace, TaskQueueName, WorkflowId};

    fn poll(identity: String) -> Request {
        PollActivityTaskRequest {
            namespace: Namespace::default(),
            task_queue: TaskQueueName::new("q").unwrap(),
            identity,
            deployment_version: None,
        }
        .into_request()
    }

    fn cancel(reason: &str) -> Request {
        RequestCancelWorkflowRequest {
            namespace: Namespace::default(),
            workflow_id: WorkflowId::new("w").unwrap(),
            run_id: None,
            reason: reason.into(),
            identity: "cli".into(),
        }
        .into_request()
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
