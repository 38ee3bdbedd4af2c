//! The in-process adapter of the Transport port: requests become engine calls directly.

use std::panic::AssertUnwindSafe;
use std::task::Poll;

use endure_core::clock::Clock;
use endure_core::execution::Rejected;
use endure_core::protocol::{
    ErrorKind, RemoteError, Request, Response, Transport, TransportFuture,
};
use endure_core::storage::Storage;
use tracing::Instrument;

use super::api::EngineError;
use super::instruments;
use super::runtime::Engine;

/// Carries requests to an engine in the same process.
pub struct InProcessTransport<S, C> {
    pub(super) engine: Engine<S, C>,
}

impl<S, C> InProcessTransport<S, C> {
    /// A transport to `engine`.
    pub fn new(engine: Engine<S, C>) -> Self {
        Self { engine }
    }
}

impl From<EngineError> for RemoteError {
    fn from(error: EngineError) -> Self {
        let message = error.to_string();
        let (kind, run_id) = match &error {
            EngineError::AlreadyStarted { run_id, .. } => {
                (ErrorKind::AlreadyStarted, Some(*run_id))
            }
            EngineError::NotFound(_)
            | EngineError::DeploymentNotFound(_)
            | EngineError::NamespaceNotFound(_)
            | EngineError::Rejected(Rejected::NotFound(_)) => (ErrorKind::NotFound, None),
            EngineError::NamespaceExists(_) => (ErrorKind::AlreadyExists, None),
            EngineError::Rejected(Rejected::WorkflowClosed) => {
                (ErrorKind::FailedPrecondition, None)
            }
            // The run holds all the signals it may: no retry can help (Temporal's
            // `ErrSignalsLimitExceeded`, an invalid argument before 1.24).
            EngineError::Rejected(Rejected::SignalLimitExceeded(_)) => {
                (ErrorKind::InvalidArgument, None)
            }
            // Closing takes one workflow task; a retry goes to whatever comes next.
            EngineError::Rejected(Rejected::WorkflowClosing) => (ErrorKind::Unavailable, None),
            // Too many updates in flight: retry once some complete.
            EngineError::Rejected(Rejected::UpdateLimitExceeded(_)) => {
                (ErrorKind::Unavailable, None)
            }
            EngineError::UpdateAborted(abort) if abort.is_retryable() => {
                (ErrorKind::Unavailable, None)
            }
            EngineError::UpdateAborted(_) => (ErrorKind::FailedPrecondition, None),
            EngineError::Invalid(_) | EngineError::Rejected(_) => {
                (ErrorKind::InvalidArgument, None)
            }
            EngineError::Conflict(_) => (ErrorKind::Conflict, None),
            EngineError::BadRequest(_) => (ErrorKind::InvalidArgument, None),
            EngineError::NotReady(_) => (ErrorKind::FailedPrecondition, None),
            EngineError::TimedOut(_) => (ErrorKind::DeadlineExceeded, None),
            EngineError::Storage(_)
            | EngineError::Shutdown
            | EngineError::Overloaded(_)
            | EngineError::NotServed { .. } => (ErrorKind::Unavailable, None),
        };
        Self {
            kind,
            message,
            run_id,
        }
    }
}

impl<S: Storage, C: Clock> Transport for InProcessTransport<S, C> {
    /// Runs the request; a panic while running it (a bug, or a library failing on bad
    /// data) becomes an `Internal` error reply, logged, instead of a call never answered.
    fn call(&self, request: Request) -> TransportFuture<'_> {
        let name = request.name();
        Box::pin(async move {
            let started = self.engine.inner.clock.now();
            // Runs the dispatch, a panic in it caught as the call's outcome.
            macro_rules! guarded {
                ($dispatch:expr) => {{
                    let mut dispatch = std::pin::pin!($dispatch);
                    std::future::poll_fn(|context| {
                        std::panic::catch_unwind(AssertUnwindSafe(|| {
                            dispatch.as_mut().poll(context)
                        }))
                        .map_or_else(|panic| Poll::Ready(Err(panic)), |poll| poll.map(Ok))
                    })
                    .await
                }};
            }
            // The span wraps the (large) dispatch future only when it records: a disabled
            // span costs no move of it.
            let span = tracing::debug_span!("rpc", rpc = name);
            let outcome = if span.is_disabled() {
                guarded!(self.dispatch(request))
            } else {
                guarded!(self.dispatch(request).instrument(span))
            };
            let latency = instruments::seconds(started, self.engine.inner.clock.now());
            metrics::histogram!(instruments::REQUEST_LATENCY, "rpc" => name).record(latency);
            let result = match outcome {
                Ok(result) => result.map_err(RemoteError::from),
                Err(panic) => {
                    let message = crate::panics::message(panic.as_ref());
                    tracing::error!(request = name, panic = %message, "a request panicked");
                    Err(RemoteError {
                        kind: ErrorKind::Internal,
                        message: format!(
                            "the server failed handling {name} ({message}); the failure is in its log"
                        ),
                        run_id: None,
                    })
                }
            };
            let outcome = match &result {
                Ok(_) => "ok",
                Err(error) => error.kind.name(),
            };
            metrics::counter!(instruments::REQUESTS, "rpc" => name, "outcome" => outcome)
                .increment(1);
            result
        })
    }
}

impl<S: Storage, C: Clock> InProcessTransport<S, C> {
    /// Checks the request's free-form strings, then runs it on the engine
    /// (`handlers.rs`).
    async fn dispatch(&self, request: Request) -> Result<Response, EngineError> {
        request.check_text()?;
        match request {
            // Another node forwarded it here: served here, never forwarded again.
            Request::Forwarded(forwarded) => {
                if matches!(*forwarded.request, Request::Forwarded(_)) {
                    return Err(EngineError::BadRequest(
                        "a forwarded request is never forwarded again".into(),
                    ));
                }
                let response = forwarded.request.dispatch(self).await?;
                Ok(Response::Forwarded(Box::new(response)))
            }
            request => request.dispatch(self).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(error: EngineError) -> ErrorKind {
        RemoteError::from(error).kind
    }

    #[test]
    fn a_closed_run_is_a_failed_precondition_and_a_full_one_an_invalid_argument() {
        // The gRPC front end answers Temporal's NOT_FOUND for the first: it must mean a
        // closed run and nothing else for signals, cancel requests and terminations.
        assert_eq!(
            kind(EngineError::Rejected(Rejected::WorkflowClosed)),
            ErrorKind::FailedPrecondition
        );
        assert_eq!(
            kind(EngineError::Rejected(Rejected::SignalLimitExceeded(10_000))),
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            kind(EngineError::Rejected(Rejected::WorkflowClosing)),
            ErrorKind::Unavailable
        );
    }
}
