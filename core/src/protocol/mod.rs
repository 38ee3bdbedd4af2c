//! The engine's API as messages: what clients and workers send and get back, one request
//! and one response type per RPC (`rpc.rs`'s table), the [`Handler`] the engine implements,
//! and the Transport port that carries [`Request`]s and [`Response`]s.
//!
//! The messages are the protocol's own: the engine maps them to its machine's inputs and
//! back, so what crosses the wire is what clients and workers need — no engine-only field
//! (a successor's run id is drawn by the engine), no machine reply, no storage row.
//!
//! Adapters: in-process (`endure_server::engine::InProcessTransport`) and TCP
//! (`endure::remote::TcpTransport`, served by `endure_server::tcp`). The SDK
//! holds an `Arc<dyn Transport>`, so user code does not change between embedded and server
//! mode.

mod cluster;
mod completion_token;
mod deployments;
mod namespaces;
mod rpc;
mod schedules;
mod search_attributes;
mod tasks;
mod text;
mod workflows;

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};

use crate::ids::RunId;

pub use cluster::*;
pub use completion_token::{
    ActivityCompletionToken, COMPLETION_TOKEN_BYTES_MAX, CompletionTokenError,
};
pub use deployments::*;
pub use namespaces::*;
pub use rpc::{CheckText, Handler, Request, Response, Rpc};
pub use schedules::*;
pub use search_attributes::*;
pub use tasks::*;
pub use workflows::*;

/// What kind of failure a [`RemoteError`] is: what the caller can do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorKind {
    /// The workflow id is taken (see the error's run id).
    AlreadyStarted,
    /// No such workflow, run, task or attempt.
    NotFound,
    /// The request is invalid; retrying it cannot help.
    InvalidArgument,
    /// The run is closed, or closing.
    FailedPrecondition,
    /// A concurrent change won; retrying is safe.
    Conflict,
    /// The engine or its storage is unavailable, or the connection to it failed; retry
    /// later.
    Unavailable,
    /// The call did not finish within its deadline; it may or may not have taken effect.
    DeadlineExceeded,
    /// What the request would create exists already (a namespace).
    AlreadyExists,
    /// The server failed handling the request (a bug, or a library failing on bad data);
    /// it logged why. Retrying may or may not help.
    Internal,
    /// The caller's credentials do not allow the call (the message names the role it
    /// needs); retrying with the same credentials cannot help.
    PermissionDenied,
    /// The server requires credentials and the call came with none, or with ones it no
    /// longer accepts (expired, revoked): connect again with valid ones.
    Unauthenticated,
    /// A rate limit (the namespace's, the connection's or the server's) refused the call;
    /// retry after a backoff.
    ResourceExhausted,
}

impl ErrorKind {
    /// The kind's name, as metrics and logs label it (`NotFound`, `Unavailable`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::AlreadyStarted => "AlreadyStarted",
            Self::NotFound => "NotFound",
            Self::InvalidArgument => "InvalidArgument",
            Self::FailedPrecondition => "FailedPrecondition",
            Self::Conflict => "Conflict",
            Self::Unavailable => "Unavailable",
            Self::DeadlineExceeded => "DeadlineExceeded",
            Self::AlreadyExists => "AlreadyExists",
            Self::Internal => "Internal",
            Self::PermissionDenied => "PermissionDenied",
            Self::Unauthenticated => "Unauthenticated",
            Self::ResourceExhausted => "ResourceExhausted",
        }
    }
}

/// A failed call, in a form that crosses a wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct RemoteError {
    /// What the caller can do.
    pub kind: ErrorKind,
    /// What happened, for people.
    pub message: String,
    /// For `AlreadyStarted`: the run that holds the workflow id.
    pub run_id: Option<RunId>,
}

/// A boxed `Send` future, as transports return them.
pub type TransportFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Response, RemoteError>> + Send + 'a>>;

/// The Transport port: carries one request to the engine and its response back. Long polls
/// resolve when a task comes or the poll expires (with an empty response).
pub trait Transport: Send + Sync + 'static {
    /// Sends `request` and waits for the response.
    fn call(&self, request: Request) -> TransportFuture<'_>;
}
