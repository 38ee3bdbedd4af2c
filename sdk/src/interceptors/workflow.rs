//! Workflow interceptors (Temporal's workflow inbound and outbound interceptors): one per
//! run, made by a [`WorkerInterceptor`](super::WorkerInterceptor), around the run and told
//! of what it receives and of every call it makes that carries a header.

use endure_core::{Header, Payloads, UpdateId};

use crate::WorkflowContext;
use crate::workflow::{BoxFuture, WorkflowResult};

/// The future of a workflow run: its result, or how it ends otherwise.
pub type WorkflowRun = BoxFuture<WorkflowResult>;

/// One run's interceptor. Inbound: around the run, and told of each signal, query and
/// update it receives. Outbound: told of each activity, local activity, child workflow,
/// external signal and continue-as-new it issues, with the header to write. Every method
/// has a default that does nothing.
///
/// It runs as workflow code (deterministically, again on replay): no IO, clock or
/// randomness, and the same headers for the same history. Emit side effects such as spans
/// only when [`WorkflowContext::is_replaying`] is false.
pub trait WorkflowInterceptor: Send + Sync + 'static {
    /// Runs around the workflow function: return `run`, or a future that awaits it. Called
    /// once per run per replay; [`WorkflowContext::info`] has the start's header.
    fn execute_workflow(&self, ctx: &WorkflowContext, run: WorkflowRun) -> WorkflowRun {
        let _ = ctx;
        run
    }

    /// A signal arrived (before any channel reads it).
    fn handle_signal(&self, ctx: &WorkflowContext, signal: &InboundSignal<'_>) {
        let _ = (ctx, signal);
    }

    /// A query is about to be answered (queries run no workflow code but their handler).
    fn handle_query(&self, ctx: &WorkflowContext, query: &InboundQuery<'_>) {
        let _ = (ctx, query);
    }

    /// An update arrived, before its validator and handler run.
    fn handle_update(&self, ctx: &WorkflowContext, update: &InboundUpdate<'_>) {
        let _ = (ctx, update);
    }

    /// The workflow schedules an activity named `call.name`.
    fn schedule_activity(&self, ctx: &WorkflowContext, call: Outbound<'_>) {
        let _ = (ctx, call);
    }

    /// The workflow runs a local activity named `call.name`.
    fn schedule_local_activity(&self, ctx: &WorkflowContext, call: Outbound<'_>) {
        let _ = (ctx, call);
    }

    /// The workflow starts a child workflow of type `call.name`.
    fn start_child_workflow(&self, ctx: &WorkflowContext, call: Outbound<'_>) {
        let _ = (ctx, call);
    }

    /// The workflow signals another workflow with signal `call.name`.
    fn signal_external_workflow(&self, ctx: &WorkflowContext, call: Outbound<'_>) {
        let _ = (ctx, call);
    }

    /// The workflow continues as new, as type `call.name`.
    fn continue_as_new(&self, ctx: &WorkflowContext, call: Outbound<'_>) {
        let _ = (ctx, call);
    }
}

/// A signal delivered to the run.
#[derive(Debug)]
#[non_exhaustive]
pub struct InboundSignal<'a> {
    /// The signal's name.
    pub name: &'a str,
    /// Its arguments.
    pub input: &'a Payloads,
    /// The sender's header.
    pub header: &'a Header,
}

/// A query asked of the run.
#[derive(Debug)]
#[non_exhaustive]
pub struct InboundQuery<'a> {
    /// The query type.
    pub query_type: &'a str,
    /// Its arguments.
    pub args: &'a Payloads,
    /// The client's header.
    pub header: &'a Header,
}

/// An update delivered to the run.
#[derive(Debug)]
#[non_exhaustive]
pub struct InboundUpdate<'a> {
    /// The update's id.
    pub update_id: &'a UpdateId,
    /// The update's name.
    pub name: &'a str,
    /// Its arguments.
    pub args: &'a Payloads,
    /// The client's header.
    pub header: &'a Header,
}

/// A call the workflow makes: what it names, and the header it will carry.
#[derive(Debug)]
#[non_exhaustive]
pub struct Outbound<'a> {
    /// The activity type, child workflow type, signal name or continue-as-new type.
    pub name: &'a str,
    /// The header the call carries; starts empty, and each interceptor may add to it.
    pub header: &'a mut Header,
}

/// A run's interceptors, outermost first.
pub(crate) type WorkflowInterceptors = std::sync::Arc<[std::sync::Arc<dyn WorkflowInterceptor>]>;

/// Calls `hook` on each of `interceptors` in order with an [`Outbound`] for `name`, and
/// returns the header they wrote.
pub(crate) fn outbound_header(
    interceptors: &WorkflowInterceptors,
    name: &str,
    hook: impl Fn(&dyn WorkflowInterceptor, Outbound<'_>),
) -> Header {
    let mut header = Header::new();
    for interceptor in interceptors.iter() {
        hook(
            interceptor.as_ref(),
            Outbound {
                name,
                header: &mut header,
            },
        );
    }
    header
}
