//! Task tokens and history page tokens: what Endure's tasks and pages need to be answered,
//! in the opaque bytes Temporal's API hands workers and clients.
//!
//! A token is a version byte and the postcard encoding of [`TaskToken`] or
//! [`PageToken`]. Bytes this server did not issue are refused with `INVALID_ARGUMENT`,
//! never trusted: the engine checks every token against the run's state anyway.

use endure_core::execution::{ActivityTaskToken, WorkflowTaskToken};
use endure_core::{EventId, ExecutionKey, HistoryEvent};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::convert::BadField;

/// The first byte of every token: its format's version.
const TOKEN_VERSION: u8 = 1;

/// What a task token stands for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) enum TaskToken {
    /// A workflow task of a run.
    Workflow {
        /// The run.
        execution: ExecutionKey,
        /// The task.
        token: WorkflowTaskToken,
    },
    /// An activity attempt of a run.
    Activity {
        /// The run.
        execution: ExecutionKey,
        /// The attempt.
        token: ActivityTaskToken,
    },
    /// A query task (Temporal's legacy query, answered by RespondQueryTaskCompleted).
    Query {
        /// The queried run.
        execution: ExecutionKey,
        /// The query's id.
        query_id: u64,
    },
}

/// Where the next page of a history starts, and the events of a workflow task that are
/// not in persisted history (its transient Scheduled and Started), which go on the last
/// page as Temporal's server puts them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct PageToken {
    /// The run.
    pub(crate) execution: ExecutionKey,
    /// The first event of the next page.
    pub(crate) next_event_id: EventId,
    /// The task's transient events, for the last page.
    pub(crate) transient: Vec<HistoryEvent>,
}

/// Encodes a token.
pub(crate) fn encode<T: Serialize>(token: &T) -> Vec<u8> {
    let mut bytes = vec![TOKEN_VERSION];
    // A token holds ids, numbers and events the engine produced: encoding cannot fail.
    let encoded = postcard::to_allocvec(token).unwrap_or_default();
    debug_assert!(!encoded.is_empty(), "a token encodes");
    bytes.extend(encoded);
    bytes
}

/// Decodes a token this server issued.
pub(crate) fn decode<T: DeserializeOwned>(
    field: &'static str,
    bytes: &[u8],
) -> Result<T, BadField> {
    let not_ours = || {
        BadField::new(
            field,
            "this token was not issued by this Endure server (or is damaged)",
        )
    };
    match bytes.split_first() {
        Some((&TOKEN_VERSION, rest)) => postcard::from_bytes(rest).map_err(|_| not_ours()),
        _ => Err(not_ours()),
    }
}

#[cfg(test)]
mod tests {
    use endure_core::{Namespace, RunId, WorkflowId};

    use super::*;

    fn key() -> ExecutionKey {
        ExecutionKey {
            namespace: Namespace::default_namespace(),
            workflow_id: WorkflowId::new("w").unwrap(),
            run_id: RunId::from_u128(7),
        }
    }

    #[test]
    fn tokens_round_trip_and_foreign_bytes_are_refused() {
        let token = TaskToken::Query {
            execution: key(),
            query_id: 3,
        };
        let bytes = encode(&token);
        assert_eq!(decode::<TaskToken>("task_token", &bytes).unwrap(), token);
        for bad in [&b""[..], b"\x02abc", &bytes[..bytes.len() - 1]] {
            let error = decode::<TaskToken>("task_token", bad).unwrap_err();
            assert_eq!(error.field, "task_token");
        }
    }
}
