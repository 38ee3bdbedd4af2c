//! Interceptors (Temporal's client, workflow inbound/outbound and activity inbound/outbound
//! interceptors): code that runs around every client call, every workflow run and the
//! signals, queries and updates it receives, every call it makes that carries a header,
//! and every activity attempt. They add tracing, auth context or logging without touching
//! workflow code.
//!
//! **Headers** carry that context: a client interceptor writes into the header of a start,
//! signal, query or update ([`headers_mut`]); the workflow reads it
//! ([`WorkflowContext::info`]`().started.header`), writes it on the activities, children,
//! signals and continue-as-new it issues ([`WorkflowInterceptor`]'s outbound hooks), and an
//! activity reads its own ([`ActivityContext::header`]). Headers are recorded in history
//! with the events that carry them in Temporal, so a replay sees the same ones.
//!
//! A client takes [`ClientInterceptor`]s ([`Client::with_interceptor`]); a worker takes
//! [`WorkerInterceptor`]s ([`Worker::add_interceptor`](crate::Worker::add_interceptor)),
//! which intercept activity attempts and hand each workflow run its own
//! [`WorkflowInterceptor`]. The first added is the outermost: it sees a call first and its
//! result last.
//!
//! Workflow interceptors run inside workflow code, so they are bound by its rules (no IO,
//! no clock, no randomness; [`WorkflowContext::is_replaying`] says whether a step is new):
//! they are called again when a run is replayed, and must set the same headers then.
//!
//! ```
//! use std::sync::Arc;
//!
//! use endure::interceptors::{ClientInterceptor, ClientNext, CallFuture, headers_mut};
//! use endure::{Payload, Request};
//!
//! /// Stamps every header a call carries with the tenant it is made for.
//! struct Tenant(String);
//!
//! impl ClientInterceptor for Tenant {
//!     fn call<'a>(&'a self, mut request: Request, next: ClientNext<'a>) -> CallFuture<'a> {
//!         for header in headers_mut(&mut request) {
//!             if let Ok(tenant) = Payload::json(&self.0) {
//!                 header.0.insert("tenant".into(), tenant);
//!             }
//!         }
//!         next.run(request)
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let client = endure::embedded::in_memory()
//!     .await?
//!     .with_interceptor(Arc::new(Tenant("acme".into())));
//! # let _ = client;
//! # Ok(())
//! # }
//! ```
//!
//! `examples/interceptors.rs` shows all three kinds passing a header from a client's start
//! to a workflow, its activity and its child.
//!
//! [`WorkflowContext::info`]: crate::WorkflowContext::info
//! [`WorkflowContext::is_replaying`]: crate::WorkflowContext::is_replaying
//! [`ActivityContext::header`]: crate::ActivityContext::header
//! [`Client::with_interceptor`]: crate::Client::with_interceptor

mod activity;
mod client;
#[cfg(feature = "opentelemetry")]
pub mod opentelemetry;
mod workflow;

pub(crate) use activity::intercept_activity;
pub use activity::{ActivityRun, Heartbeat};
pub use client::{CallFuture, ClientInterceptor, ClientNext, call_subject, headers_mut};
pub use workflow::{
    InboundQuery, InboundSignal, InboundUpdate, Outbound, WorkflowInterceptor, WorkflowRun,
};
pub(crate) use workflow::{WorkflowInterceptors, outbound_header};

use std::sync::Arc;

use crate::ActivityContext;
use crate::workflow::WorkflowInfo;

/// A worker's interceptor: around each activity attempt (activity inbound), on each
/// heartbeat (activity outbound), and the maker of each workflow run's own
/// [`WorkflowInterceptor`] (workflow inbound and outbound). Every method has a default
/// that does nothing, so an implementation writes only what it needs.
pub trait WorkerInterceptor: Send + Sync + 'static {
    /// The interceptor for the run `info` describes, or `None` to leave it alone. Called
    /// once per run per worker that runs it: when the run starts, and again whenever a
    /// worker replays it (after a cache eviction, on another worker, for a query).
    fn intercept_workflow(&self, info: &WorkflowInfo) -> Option<Arc<dyn WorkflowInterceptor>> {
        let _ = info;
        None
    }

    /// Runs around one activity attempt (local activities included): return `run`, or a
    /// future that awaits it. `ctx` has the attempt's information and header.
    fn execute_activity(&self, ctx: &ActivityContext, run: ActivityRun) -> ActivityRun {
        let _ = ctx;
        run
    }

    /// Called when the attempt heartbeats, before the heartbeat is sent.
    fn record_heartbeat(&self, ctx: &ActivityContext, heartbeat: &Heartbeat<'_>) {
        let _ = (ctx, heartbeat);
    }
}

/// A worker's interceptors, outermost first.
pub(crate) type WorkerInterceptors = Arc<[Arc<dyn WorkerInterceptor>]>;

#[cfg(test)]
mod tests;
