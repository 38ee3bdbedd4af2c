//! The token that completes an activity attempt from outside the worker that started it
//! (Go's `TaskToken` with `client.CompleteActivity`, the SDKs' async activity handles).
//!
//! It names the run and the attempt — everything a completion, failure, cancellation or
//! heartbeat request needs. Its bytes are a version byte and the postcard encoding of the
//! two; as text (for a command line, a queue message or a database column) it is those
//! bytes in unpadded URL-safe base64. A token is not a credential: the engine checks every
//! request against the run's state, so a token for an attempt that has ended (completed,
//! timed out, retried) is refused, and one for another namespace is authorized as any call
//! to that namespace is.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::execution::ActivityTaskToken;
use crate::ids::ExecutionKey;

/// The first byte of a token's bytes: its format's version.
const TOKEN_VERSION: u8 = 1;

/// Most bytes a token may have: a run's key (namespace, workflow id, run id), the
/// scheduled event id and the attempt, with room to spare.
pub const COMPLETION_TOKEN_BYTES_MAX: usize = 4 * 1024;

/// An activity attempt, named so that it can be completed from anywhere.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityCompletionToken {
    /// The run that scheduled the activity.
    pub execution: ExecutionKey,
    /// The attempt.
    pub token: ActivityTaskToken,
}

/// Why bytes or text are not a completion token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompletionTokenError {
    /// Empty, or longer than [`COMPLETION_TOKEN_BYTES_MAX`].
    #[error("a task token is 1 to {COMPLETION_TOKEN_BYTES_MAX} bytes; this one is {0}")]
    Length(usize),
    /// Made by another version of the format, or not a token at all.
    #[error("not a task token this version understands (format byte {0})")]
    Version(u8),
    /// Not URL-safe base64.
    #[error("a task token's text is unpadded URL-safe base64: {0}")]
    Base64(String),
    /// The bytes after the version do not decode, or hold an invalid id.
    #[error("the task token does not decode: {0}")]
    Malformed(String),
}

impl ActivityCompletionToken {
    /// The token's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = vec![TOKEN_VERSION];
        // Ids, numbers and strings the engine made: postcard encodes them into a vector
        // without fail.
        let encoded = postcard::to_allocvec(self).unwrap_or_default();
        debug_assert!(!encoded.is_empty(), "a token always encodes");
        bytes.extend_from_slice(&encoded);
        bytes
    }

    /// Reads a token from its bytes, refusing any this version did not make.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CompletionTokenError> {
        if bytes.is_empty() || bytes.len() > COMPLETION_TOKEN_BYTES_MAX {
            return Err(CompletionTokenError::Length(bytes.len()));
        }
        if bytes[0] != TOKEN_VERSION {
            return Err(CompletionTokenError::Version(bytes[0]));
        }
        match postcard::take_from_bytes::<Self>(&bytes[1..]) {
            Ok((token, [])) => Ok(token),
            Ok((_, rest)) => Err(CompletionTokenError::Malformed(format!(
                "{} bytes after the token",
                rest.len()
            ))),
            Err(error) => Err(CompletionTokenError::Malformed(error.to_string())),
        }
    }
}

impl fmt::Display for ActivityCompletionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.to_bytes()))
    }
}

impl FromStr for ActivityCompletionToken {
    type Err = CompletionTokenError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        // Base64 text four thirds of the bytes' length: longer text is refused unread.
        if text.len() > COMPLETION_TOKEN_BYTES_MAX * 4 / 3 + 4 {
            return Err(CompletionTokenError::Length(text.len() * 3 / 4));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim())
            .map_err(|error| CompletionTokenError::Base64(error.to_string()))?;
        Self::from_bytes(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{EventId, Namespace, RunId, WorkflowId};

    fn token() -> ActivityCompletionToken {
        ActivityCompletionToken {
            execution: ExecutionKey {
                namespace: Namespace::new("payments").unwrap(),
                workflow_id: WorkflowId::new("order-7").unwrap(),
                run_id: RunId::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0),
            },
            token: ActivityTaskToken {
                scheduled_event_id: EventId::new(5).unwrap(),
                attempt: 3,
            },
        }
    }

    #[test]
    fn a_token_round_trips_through_its_bytes_and_its_text() {
        let token = token();
        assert_eq!(token.to_bytes()[0], TOKEN_VERSION);
        assert_eq!(
            ActivityCompletionToken::from_bytes(&token.to_bytes()),
            Ok(token.clone())
        );
        let text = token.to_string();
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{text}"
        );
        assert_eq!(text.parse::<ActivityCompletionToken>(), Ok(token));
    }

    #[test]
    fn bytes_that_are_not_a_token_are_refused_with_the_reason() {
        let bytes = token().to_bytes();
        assert_eq!(
            ActivityCompletionToken::from_bytes(&[]),
            Err(CompletionTokenError::Length(0))
        );
        let mut other_version = bytes.clone();
        other_version[0] = 9;
        assert_eq!(
            ActivityCompletionToken::from_bytes(&other_version),
            Err(CompletionTokenError::Version(9))
        );
        assert!(matches!(
            ActivityCompletionToken::from_bytes(&bytes[..bytes.len() - 1]),
            Err(CompletionTokenError::Malformed(_))
        ));
        let mut longer = bytes;
        longer.push(0);
        assert!(matches!(
            ActivityCompletionToken::from_bytes(&longer),
            Err(CompletionTokenError::Malformed(_))
        ));
        assert_eq!(
            ActivityCompletionToken::from_bytes(&vec![
                TOKEN_VERSION;
                COMPLETION_TOKEN_BYTES_MAX + 1
            ]),
            Err(CompletionTokenError::Length(COMPLETION_TOKEN_BYTES_MAX + 1))
        );
        assert!(matches!(
            "not base64!".parse::<ActivityCompletionToken>(),
            Err(CompletionTokenError::Base64(_))
        ));
    }

    #[test]
    fn a_token_holding_an_invalid_id_is_refused() {
        // Version, then a namespace of one byte that is a control character.
        let bytes = [TOKEN_VERSION, 1, 0x07, 1, b'w'];
        assert!(matches!(
            ActivityCompletionToken::from_bytes(&bytes),
            Err(CompletionTokenError::Malformed(_))
        ));
    }
}
