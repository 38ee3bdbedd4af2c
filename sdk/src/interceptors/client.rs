//! Client interceptors (Temporal's `ClientOutboundInterceptor`): around every call a
//! [`Client`] makes, with the call's request to read or change (its headers above all)
//! and its response or error.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use endure_core::Header;
use endure_core::protocol::{Request, Response};

use crate::{Client, ClientError};

/// The future of one intercepted call.
pub type CallFuture<'a> = Pin<Box<dyn Future<Output = Result<Response, ClientError>> + Send + 'a>>;

/// Runs around every call of a [`Client`] (starts, signals, queries, updates, cancels,
/// lists, result waits…): change the request, time or trace the call, or refuse it. Call
/// `next.run(request)` to go on; not calling it answers the call without the engine.
pub trait ClientInterceptor: Send + Sync + 'static {
    /// Intercepts one call.
    fn call<'a>(&'a self, request: Request, next: ClientNext<'a>) -> CallFuture<'a>;
}

/// The rest of the chain after an interceptor: the interceptors after it, then the engine.
pub struct ClientNext<'a> {
    rest: &'a [Arc<dyn ClientInterceptor>],
    client: &'a Client,
}

impl<'a> ClientNext<'a> {
    /// The chain starting with `interceptors`, ending at `client`'s transport.
    pub(crate) fn new(interceptors: &'a [Arc<dyn ClientInterceptor>], client: &'a Client) -> Self {
        Self {
            rest: interceptors,
            client,
        }
    }

    /// Passes `request` on: to the next interceptor, or to the engine after the last.
    pub fn run(self, request: Request) -> CallFuture<'a> {
        match self.rest.split_first() {
            Some((first, rest)) => first.call(
                request,
                ClientNext {
                    rest,
                    client: self.client,
                },
            ),
            None => Box::pin(self.client.send(request)),
        }
    }
}

/// Every header `request` carries, to read or write: a start's, a signal's, a query's, an
/// update's (both of a signal-with-start or an update-with-start; none for other calls).
pub fn headers_mut(request: &mut Request) -> Vec<&mut Header> {
    match request {
        Request::StartWorkflow(start) => vec![&mut start.header],
        Request::SignalWithStartWorkflow(both) => {
            vec![&mut both.start.header, &mut both.signal.header]
        }
        Request::SignalWorkflow(signal) => vec![&mut signal.signal.header],
        Request::QueryWorkflow(query) => vec![&mut query.header],
        Request::UpdateWorkflow(update) => vec![&mut update.request.header],
        Request::UpdateWithStartWorkflow(both) => {
            vec![&mut both.start.header, &mut both.update.request.header]
        }
        _ => Vec::new(),
    }
}

/// What a header-carrying call names: the workflow type a start starts, or the signal,
/// query or update sent (Temporal's tracing names its spans `StartWorkflow:<type>`,
/// `SignalWorkflow:<name>`, …). `None` for other calls.
pub fn call_subject(request: &Request) -> Option<&str> {
    match request {
        Request::StartWorkflow(start) => Some(start.workflow_type.as_str()),
        Request::SignalWithStartWorkflow(both) => Some(both.start.workflow_type.as_str()),
        Request::UpdateWithStartWorkflow(both) => Some(both.start.workflow_type.as_str()),
        Request::SignalWorkflow(signal) => Some(signal.signal.signal_name.as_str()),
        Request::QueryWorkflow(query) => Some(query.query_type.as_str()),
        Request::UpdateWorkflow(update) => Some(update.request.name.as_str()),
        _ => None,
    }
}
