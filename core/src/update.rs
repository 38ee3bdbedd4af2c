//! Workflow updates as history records them: the request and its outcome (spec §5.19.3).

use serde::{Deserialize, Serialize};

use crate::failure::Failure;
use crate::ids::{UpdateId, UpdateName};
use crate::payload::{Header, Payloads};

/// An update request: who sent it, which handler, with what arguments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct UpdateRequest {
    /// The update id; deduplicates retried requests within a run.
    pub update_id: UpdateId,
    /// The client that sent it.
    pub identity: String,
    /// The update handler's name.
    pub name: UpdateName,
    /// Context headers.
    pub header: Header,
    /// The handler's arguments.
    pub args: Payloads,
}

/// How an accepted update ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub enum UpdateOutcome {
    /// The handler returned this value.
    Success(Payloads),
    /// The handler failed.
    Failure(Failure),
}
