//! Endure's messages to Temporal's protobuf messages and back.
//!
//! Outward (history events, descriptions, tasks) every field Endure holds is filled in;
//! what Endure has no notion of keeps its protobuf default. Inward (requests, commands)
//! every field is checked as the engine's own protocol checks it, and a field Endure cannot
//! honour is refused with `INVALID_ARGUMENT` naming it, never dropped silently.

pub(crate) mod command;
pub(crate) mod common;
pub(crate) mod deployment;
pub(crate) mod enums;
pub(crate) mod failure;
pub(crate) mod history;
pub(crate) mod protocol;
pub(crate) mod schedule;
pub(crate) mod sdk_metadata;

/// A request field Temporal's API allows that Endure cannot take.
#[derive(Debug, thiserror::Error)]
#[error("{field}: {message}")]
pub(crate) struct BadField {
    /// The field, as Temporal's API names it (`start_to_close_timeout`).
    pub(crate) field: &'static str,
    /// What is wrong, and what to send instead.
    pub(crate) message: String,
}

impl BadField {
    pub(crate) fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

impl From<endure_core::ValidationError> for BadField {
    fn from(error: endure_core::ValidationError) -> Self {
        Self::new("request", error.to_string())
    }
}

impl From<BadField> for tonic::Status {
    fn from(error: BadField) -> Self {
        Self::invalid_argument(error.to_string())
    }
}
