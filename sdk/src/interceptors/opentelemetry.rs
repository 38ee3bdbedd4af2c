//! OpenTelemetry tracing through interceptors (feature `opentelemetry`), shaped like
//! Temporal's: one trace from a client's start through the workflow, its activities and its
//! children, the trace context carried in each call's header under `_tracer-data` (a JSON
//! object of the propagator's fields, as Temporal's SDKs write it).
//!
//! Spans, named as Temporal names them: `StartWorkflow:<type>`, `SignalWithStartWorkflow:<type>`,
//! `SignalWorkflow:<name>`, `QueryWorkflow:<name>`, `UpdateWorkflow:<name>`,
//! `UpdateWithStartWorkflow:<type>` around the client's calls; `RunWorkflow:<type>` when a
//! run starts; `StartActivity:<type>`, `StartChildWorkflow:<type>`,
//! `SignalExternalWorkflow:<name>`, `ContinueAsNew:<type>` when a run issues them;
//! `HandleSignal:<name>`, `HandleQuery:<name>`, `HandleUpdate:<name>` when it receives them;
//! `RunActivity:<type>` around each activity attempt (local ones included).
//!
//! Workflow-side spans are emitted only when a step is new, never on replay, and last no
//! time (a run's life spans processes and replays; Temporal's Python SDK does the same). A
//! run's `RunWorkflow` span has an id derived from its run id, so a worker that replays the
//! run later parents its new spans to the same span without emitting it again.
//!
//! Export is the application's choice: build an `opentelemetry_sdk` tracer provider with an
//! exporter (OTLP through `opentelemetry-otlp`, or any other), then hand its tracer and a
//! propagator (the W3C `TraceContextPropagator`) to [`TracingInterceptor::new`], and add the
//! interceptor to clients and workers. With a `tracing-opentelemetry` layer installed, the
//! `tracing` spans an activity opens join its trace (under `RunActivity`, through an
//! `activity_attempt` span), and the engine's and worker's debug spans export too.

use std::collections::BTreeMap;
use std::sync::Arc;

use endure_core::protocol::Request;
use endure_core::{Header, Payload, RunId};
use opentelemetry::global::BoxedTracer;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{
    FutureExt, Span, SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags, TraceId,
    TraceState, Tracer,
};
use opentelemetry::{Context, KeyValue};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::{
    ActivityRun, CallFuture, ClientInterceptor, ClientNext, InboundQuery, InboundSignal,
    InboundUpdate, Outbound, WorkerInterceptor, WorkflowInterceptor, WorkflowRun, call_subject,
    headers_mut,
};
use crate::workflow::WorkflowInfo;
use crate::{ActivityContext, WorkflowContext};

/// The header key the trace context travels under (Temporal's).
pub const TRACE_HEADER: &str = "_tracer-data";

/// What the tracer and propagator are shared as.
struct Shared {
    tracer: BoxedTracer,
    propagator: Box<dyn TextMapPropagator + Send + Sync>,
}

/// Client and worker interceptor that traces calls, runs and attempts with OpenTelemetry.
/// Clone it onto a client ([`Client::with_interceptor`](crate::Client::with_interceptor))
/// and onto workers ([`Worker::add_interceptor`](crate::Worker::add_interceptor)).
#[derive(Clone)]
pub struct TracingInterceptor {
    shared: Arc<Shared>,
}

impl TracingInterceptor {
    /// Traces with `tracer` (e.g. `BoxedTracer::new(Box::new(provider.tracer("endure")))`),
    /// carrying context in the form `propagator` writes (W3C `traceparent` with
    /// `opentelemetry_sdk::propagation::TraceContextPropagator`).
    pub fn new(
        tracer: BoxedTracer,
        propagator: impl TextMapPropagator + Send + Sync + 'static,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                tracer,
                propagator: Box::new(propagator),
            }),
        }
    }
}

impl Shared {
    /// The context a header carries (empty if none or unreadable).
    fn extract(&self, header: &Header) -> Context {
        let fields: BTreeMap<String, String> = header
            .get(TRACE_HEADER)
            .and_then(|payload| payload.decode().ok())
            .unwrap_or_default();
        self.propagator.extract(&Fields(fields))
    }

    /// Writes `context` into `header`.
    fn inject(&self, context: &Context, header: &mut Header) {
        let mut fields = Fields(BTreeMap::new());
        self.propagator.inject_context(context, &mut fields);
        if let Ok(payload) = Payload::json(&fields.0) {
            header.0.insert(TRACE_HEADER.into(), payload);
        }
    }

    /// A span that starts and ends now, child of `parent`, with `attributes`.
    fn instant(&self, name: String, kind: SpanKind, parent: &Context, attributes: Vec<KeyValue>) {
        let mut span = self
            .tracer
            .span_builder(name)
            .with_kind(kind)
            .with_attributes(attributes)
            .start_with_context(&self.tracer, parent);
        span.end();
    }
}

/// A propagator's fields, in a sorted map (so a header's bytes do not depend on hashing).
struct Fields(BTreeMap<String, String>);

impl Injector for Fields {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
}

impl Extractor for Fields {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

/// The span name of a client call, if it is one Temporal traces.
fn client_span_name(request: &Request) -> Option<String> {
    let operation = match request {
        Request::StartWorkflow(_)
        | Request::SignalWithStartWorkflow(_)
        | Request::SignalWorkflow(_)
        | Request::QueryWorkflow(_)
        | Request::UpdateWorkflow(_)
        | Request::UpdateWithStartWorkflow(_) => request.name(),
        _ => return None,
    };
    Some(format!("{operation}:{}", call_subject(request)?))
}

impl ClientInterceptor for TracingInterceptor {
    fn call<'a>(&'a self, mut request: Request, next: ClientNext<'a>) -> CallFuture<'a> {
        let Some(name) = client_span_name(&request) else {
            return next.run(request);
        };
        let shared = &self.shared;
        let span = shared
            .tracer
            .span_builder(name)
            .with_kind(SpanKind::Client)
            .start_with_context(&shared.tracer, &Context::current());
        let context = Context::current_with_span(span);
        for header in headers_mut(&mut request) {
            shared.inject(&context, header);
        }
        Box::pin(async move {
            let outcome = next.run(request).with_context(context.clone()).await;
            let span = context.span();
            if let Err(error) = &outcome {
                span.set_status(Status::error(error.to_string()));
            }
            span.end();
            outcome
        })
    }
}

impl WorkerInterceptor for TracingInterceptor {
    fn intercept_workflow(&self, info: &WorkflowInfo) -> Option<Arc<dyn WorkflowInterceptor>> {
        let parent = self.shared.extract(&info.started.header);
        let run_span = run_span_context(&parent, info.run_id());
        Some(Arc::new(RunTracing {
            shared: Arc::clone(&self.shared),
            parent,
            run: Context::new().with_remote_span_context(run_span),
            attributes: vec![
                KeyValue::new("temporalWorkflowID", info.workflow_id().to_string()),
                KeyValue::new("temporalRunID", info.run_id().to_string()),
            ],
            workflow_type: info.started.workflow_type.to_string(),
        }))
    }

    fn execute_activity(&self, ctx: &ActivityContext, run: ActivityRun) -> ActivityRun {
        let shared = &self.shared;
        let info = ctx.info();
        let parent = shared.extract(ctx.header());
        let span = shared
            .tracer
            .span_builder(format!("RunActivity:{}", info.activity_type))
            .with_kind(SpanKind::Server)
            .with_attributes(vec![
                KeyValue::new("temporalWorkflowID", info.execution.workflow_id.to_string()),
                KeyValue::new("temporalRunID", info.execution.run_id.to_string()),
                KeyValue::new("temporalActivityID", info.activity_id.to_string()),
            ])
            .start_with_context(&shared.tracer, &parent);
        let context = parent.with_span(span);
        // The attempt's `tracing` span, under `RunActivity` for `tracing-opentelemetry`: the
        // activity's own `tracing` spans join the trace. Without that layer it stays a
        // plain span (setting its parent then fails, and nothing needs it).
        let attempt = tracing::info_span!(
            "activity_attempt",
            activity_type = %info.activity_type,
            attempt = info.attempt,
        );
        let _ = attempt.set_parent(context.clone());
        Box::pin(async move {
            let outcome = run.instrument(attempt).with_context(context.clone()).await;
            let span = context.span();
            if let Err(error) = &outcome {
                span.set_status(Status::error(error.0.message.clone()));
            }
            span.end();
            outcome
        })
    }
}

/// The `RunWorkflow` span's context of run `run_id`: in the trace of the start's context
/// (or a trace of its own), with an id derived from the run id, the same on every worker
/// and replay.
fn run_span_context(parent: &Context, run_id: RunId) -> SpanContext {
    let bits = run_id.as_u128();
    let parent_span = parent.span();
    let parent_context = parent_span.span_context();
    let trace_id = if parent_context.is_valid() {
        parent_context.trace_id()
    } else {
        TraceId::from_bytes(bits.to_be_bytes())
    };
    // A run id's low 64 bits are random (UUIDv7); folded with the high ones, never zero.
    let folded = ((bits >> 64) as u64) ^ (bits as u64);
    let span_id = SpanId::from_bytes(folded.max(1).to_be_bytes());
    SpanContext::new(
        trace_id,
        span_id,
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    )
}

/// One run's tracing.
struct RunTracing {
    shared: Arc<Shared>,
    /// The start's context (the client's `StartWorkflow` span, or a parent run's call).
    parent: Context,
    /// The run's `RunWorkflow` span, as the parent of what the run does.
    run: Context,
    attributes: Vec<KeyValue>,
    workflow_type: String,
}

impl RunTracing {
    /// A span for a call the run issues, its context written into the call's header.
    fn outbound(&self, ctx: &WorkflowContext, operation: &str, call: Outbound<'_>) {
        if ctx.is_replaying() {
            // The call is already in history; its header is not sent again.
            self.shared.inject(&self.run, call.header);
            return;
        }
        let span = self
            .shared
            .tracer
            .span_builder(format!("{operation}:{}", call.name))
            .with_kind(SpanKind::Client)
            .with_attributes(self.attributes.clone())
            .start_with_context(&self.shared.tracer, &self.run);
        let context = self.run.with_span(span);
        self.shared.inject(&context, call.header);
        context.span().end();
    }

    /// A span for something the run received, child of the sender's context.
    fn inbound(&self, operation: &str, name: &str, header: &Header) {
        let parent = self.shared.extract(header);
        self.shared.instant(
            format!("{operation}:{name}"),
            SpanKind::Server,
            &parent,
            self.attributes.clone(),
        );
    }
}

impl WorkflowInterceptor for RunTracing {
    fn execute_workflow(&self, ctx: &WorkflowContext, run: WorkflowRun) -> WorkflowRun {
        if !ctx.is_replaying() {
            let run_span = self.run.span().span_context().clone();
            let mut builder = self
                .shared
                .tracer
                .span_builder(format!("RunWorkflow:{}", self.workflow_type))
                .with_kind(SpanKind::Server)
                .with_attributes(self.attributes.clone())
                .with_span_id(run_span.span_id());
            if !self.parent.span().span_context().is_valid() {
                builder = builder.with_trace_id(run_span.trace_id());
            }
            let mut span = builder.start_with_context(&self.shared.tracer, &self.parent);
            span.end();
        }
        run
    }

    fn handle_signal(&self, ctx: &WorkflowContext, signal: &InboundSignal<'_>) {
        if !ctx.is_replaying() {
            self.inbound("HandleSignal", signal.name, signal.header);
        }
    }

    fn handle_query(&self, _ctx: &WorkflowContext, query: &InboundQuery<'_>) {
        self.inbound("HandleQuery", query.query_type, query.header);
    }

    fn handle_update(&self, ctx: &WorkflowContext, update: &InboundUpdate<'_>) {
        if !ctx.is_replaying() {
            self.inbound("HandleUpdate", update.name, update.header);
        }
    }

    fn schedule_activity(&self, ctx: &WorkflowContext, call: Outbound<'_>) {
        self.outbound(ctx, "StartActivity", call);
    }

    fn schedule_local_activity(&self, ctx: &WorkflowContext, call: Outbound<'_>) {
        self.outbound(ctx, "StartActivity", call);
    }

    fn start_child_workflow(&self, ctx: &WorkflowContext, call: Outbound<'_>) {
        self.outbound(ctx, "StartChildWorkflow", call);
    }

    fn signal_external_workflow(&self, ctx: &WorkflowContext, call: Outbound<'_>) {
        self.outbound(ctx, "SignalExternalWorkflow", call);
    }

    fn continue_as_new(&self, ctx: &WorkflowContext, call: Outbound<'_>) {
        self.outbound(ctx, "ContinueAsNew", call);
    }
}
