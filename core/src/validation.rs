//! The typed refusal of bad input: what was wrong, and what to do instead.
//!
//! Every public constructor and option type validates through here, in the SDK before a
//! command is emitted and again in the engine. Messages name the field, the value or size,
//! and the limit, so that a person can act on them without reading Endure's source.

use std::time::Duration;

use crate::cron::CronError;
use crate::limits::DURATION_MAX;

/// Why an id, a name, a payload or a set of options was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// A required id or name is the empty string.
    #[error("{field} is empty; give it a non-empty value")]
    Empty {
        /// The field that was empty.
        field: &'static str,
    },
    /// An id, a name or a message is longer than its limit.
    #[error("{field} is {len} bytes long; the limit is {limit} bytes")]
    TooLong {
        /// The field that was too long.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// An id or a name holds a control character (newline, NUL, …).
    #[error(
        "{field} contains the control character {character:?} at byte {position}; ids and names must be printable"
    )]
    ControlCharacter {
        /// The field holding the character.
        field: &'static str,
        /// Byte offset of the character.
        position: usize,
        /// The character itself.
        character: char,
    },
    /// An id or a name holds an invisible formatting character: a bidirectional override
    /// or isolate, or a zero-width character. Two ids that print alike would differ.
    #[error(
        "{field} contains the invisible character U+{:04X} at byte {position}; ids and names may not hold bidirectional controls or zero-width characters", u32::from(*character)
    )]
    InvisibleCharacter {
        /// The field holding the character.
        field: &'static str,
        /// Byte offset of the character.
        position: usize,
        /// The character itself.
        character: char,
    },
    /// A namespace name uses a character outside `[A-Za-z0-9._-]`, or does not start with a
    /// letter or digit.
    #[error(
        "namespace {name:?} has {character:?} at byte {position}; a namespace starts with a letter or digit and continues with letters, digits, '.', '-' or '_'"
    )]
    NamespaceCharacter {
        /// The refused name.
        name: String,
        /// Byte offset of the character.
        position: usize,
        /// The character itself.
        character: char,
    },
    /// An identifier that must be a UUID (a run id) is not one.
    #[error(
        "{field} {value:?} is not a UUID; expected 32 hex digits as 8-4-4-4-12, e.g. 0191c2a4-7b1e-7c3d-9e0f-123456789abc"
    )]
    NotUuid {
        /// The field.
        field: &'static str,
        /// The refused text.
        value: String,
    },
    /// Activity options carry neither of the two timeouts of which one is required (spec §5.8).
    #[error(
        "activity options set neither start_to_close_timeout nor schedule_to_close_timeout; set at least one (start_to_close_timeout, the limit on one attempt, is usually the one you want)"
    )]
    MissingActivityTimeout,
    /// A timeout or delay was given as zero. Leave it unset instead.
    #[error("{field} is zero; leave it unset for the default, or give a positive duration")]
    ZeroDuration {
        /// The field.
        field: &'static str,
    },
    /// A timeout or delay is longer than [`DURATION_MAX`].
    #[error("{field} is {value:?}; the longest accepted is {limit:?} (100 years)", limit = DURATION_MAX)]
    DurationTooLong {
        /// The field.
        field: &'static str,
        /// The refused duration.
        value: Duration,
    },
    /// A payload is over [`crate::limits::PAYLOAD_BYTES_MAX`], or a group of payloads over
    /// [`crate::limits::MESSAGE_BYTES_MAX`].
    #[error(
        "{field} is {size} bytes; the limit is {limit} bytes — store large data elsewhere and pass a reference (a key or URL) instead"
    )]
    PayloadTooLarge {
        /// What was too large.
        field: &'static str,
        /// Its encoded size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// A payload has no `encoding` metadata, or one Endure cannot decode.
    #[error(
        "{field} has encoding {encoding:?}; expected one of json/plain, binary/null, binary/plain"
    )]
    PayloadEncoding {
        /// The payload's role.
        field: &'static str,
        /// The encoding found, or empty if none.
        encoding: String,
    },
    /// A retry policy is inconsistent.
    #[error("{field}: {reason}")]
    RetryPolicy {
        /// Which retry policy (activity, workflow, …) and which of its fields.
        field: &'static str,
        /// What is wrong and what is accepted.
        reason: String,
    },
    /// A cron schedule does not parse.
    #[error("cron_schedule {expression:?}: {error}")]
    Cron {
        /// The refused expression.
        expression: String,
        /// Where and why it does not parse.
        error: CronError,
    },
    /// Start delay and a cron schedule were both given.
    #[error(
        "start_delay cannot be combined with cron_schedule; a cron schedule already decides when each run starts"
    )]
    StartDelayWithCron,
    /// A search attribute key, value or set is refused.
    #[error("search attribute {key:?}: {reason}")]
    SearchAttribute {
        /// The key concerned (empty when the whole set is too large).
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A namespace's retention is outside the accepted range.
    #[error("retention is {value:?}; give between one hour and ten years (3 days if unset)")]
    Retention {
        /// The refused retention.
        value: Duration,
    },
    /// A worker deployment version is malformed.
    #[error("{field}: {reason}")]
    Version {
        /// The field holding it.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A failure's cause chain is deeper than [`crate::limits::FAILURE_CAUSE_DEPTH_MAX`].
    #[error("failure cause chain is {depth} deep; the limit is {limit}")]
    FailureTooDeep {
        /// The chain's depth.
        depth: usize,
        /// The limit.
        limit: usize,
    },
}

/// Checks that `text` is at most `limit` bytes and printable (no control characters).
pub(crate) fn check_text(
    field: &'static str,
    text: &str,
    limit: usize,
) -> Result<(), ValidationError> {
    if text.len() > limit {
        return Err(ValidationError::TooLong {
            field,
            len: text.len(),
            limit,
        });
    }
    if let Some((position, character)) = text.char_indices().find(|(_, c)| c.is_control()) {
        return Err(ValidationError::ControlCharacter {
            field,
            position,
            character,
        });
    }
    Ok(())
}

/// Whether `character` is an invisible formatting character an id or a name may not hold:
/// the bidirectional marks, embeddings, overrides and isolates (U+061C, U+200E, U+200F,
/// U+202A–U+202E, U+2066–U+2069) and the zero-width characters (U+200B–U+200D, U+2060,
/// U+FEFF).
pub(crate) fn is_invisible(character: char) -> bool {
    matches!(
        character,
        '\u{061C}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// Checks that `text` holds no invisible formatting character (see [`is_invisible`]).
pub(crate) fn check_visible(field: &'static str, text: &str) -> Result<(), ValidationError> {
    match text.char_indices().find(|(_, c)| is_invisible(*c)) {
        Some((position, character)) => Err(ValidationError::InvisibleCharacter {
            field,
            position,
            character,
        }),
        None => Ok(()),
    }
}

/// Checks that `duration`, if set, is positive and at most [`DURATION_MAX`].
pub(crate) fn check_optional_duration(
    field: &'static str,
    duration: Option<Duration>,
) -> Result<(), ValidationError> {
    match duration {
        None => Ok(()),
        Some(value) => check_duration(field, value),
    }
}

/// Checks that `duration` is positive and at most [`DURATION_MAX`].
pub(crate) fn check_duration(field: &'static str, value: Duration) -> Result<(), ValidationError> {
    if value.is_zero() {
        return Err(ValidationError::ZeroDuration { field });
    }
    if value > DURATION_MAX {
        return Err(ValidationError::DurationTooLong { field, value });
    }
    Ok(())
}

/// Deserialises an `f64`, refusing NaN and infinities: no valid record holds them, so bytes
/// that do are corrupt.
pub(crate) fn deserialize_finite_f64<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<f64, D::Error> {
    let value = <f64 as serde::Deserialize>::deserialize(deserializer)?;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(serde::de::Error::custom(format!(
            "{value} is not a finite number"
        )))
    }
}
