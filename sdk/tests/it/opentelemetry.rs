//! The OpenTelemetry interceptor end to end (feature `opentelemetry`): one trace from the
//! client's start through the workflow, its activity, its child and the child's activity,
//! read back from the SDK's in-memory exporter. The worker caches no run, so every
//! workflow task replays the history: workflow spans must still come out once each. The
//! activity's own `tracing` span joins the trace through `tracing-opentelemetry`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use endure::interceptors::opentelemetry::TracingInterceptor;
use endure::workflow::{ChildWorkflowOptions, WorkflowContext, WorkflowError};
use endure::*;
use opentelemetry::global::BoxedTracer;
use opentelemetry::trace::{SpanId, TracerProvider};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;

use crate::store_client;

/// Charges, in a `tracing` span of its own (exported by `tracing-opentelemetry`).
#[endure::activity(name = "Charge")]
async fn charge(_ctx: ActivityContext, (): ()) -> Result<(), ActivityError> {
    tracing::info_span!("charge_card").in_scope(|| ());
    Ok(())
}

#[endure::activity(name = "Pack")]
async fn pack(_ctx: ActivityContext, (): ()) -> Result<(), ActivityError> {
    Ok(())
}

fn activity_options() -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(10))
}

/// Charges, then has a child pack.
#[endure::workflow(name = "Order")]
async fn order(ctx: WorkflowContext, (): ()) -> Result<(), WorkflowError> {
    let ctx = ctx.with_activity_options(activity_options());
    ctx.run_activity::<charge>(&()).await?;
    ctx.execute_child_workflow::<_, ()>(
        "Ship",
        &(),
        ChildWorkflowOptions {
            workflow_id: Some("ship-1".into()),
            ..ChildWorkflowOptions::default()
        },
    )
    .await?;
    Ok(())
}

/// Packs.
#[endure::workflow(name = "Ship")]
async fn ship(ctx: WorkflowContext, (): ()) -> Result<(), WorkflowError> {
    let ctx = ctx.with_activity_options(activity_options());
    ctx.run_activity::<pack>(&()).await?;
    Ok(())
}

// One thread, so the test's `tracing` subscriber sees the activity's span.
#[tokio::test(flavor = "current_thread")]
async fn one_trace_runs_from_the_clients_start_to_the_childs_activity() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    // `tracing` spans at info level and above to the same provider (the engine's and the
    // worker's debug spans stay out).
    let _default = tracing::subscriber::set_default(
        tracing_subscriber::registry().with(
            tracing_opentelemetry::layer()
                .with_tracer(provider.tracer("endure-tracing"))
                .with_filter(LevelFilter::INFO),
        ),
    );
    let tracing = TracingInterceptor::new(
        BoxedTracer::new(Box::new(provider.tracer("endure-test"))),
        TraceContextPropagator::new(),
    );

    let (client, _store) = store_client().await;
    let client = client.with_interceptor(Arc::new(tracing.clone()));
    let queue = TaskQueueName::new("traced").unwrap();
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions {
            max_cached_workflows: 0,
            ..WorkerOptions::default()
        },
    );
    worker
        .register::<order>()
        .register::<ship>()
        .register::<charge>()
        .register::<pack>()
        .add_interceptor(Arc::new(tracing));
    let (stop, running) = crate::spawn_worker(worker);
    let options = StartWorkflowOptions::new(WorkflowId::new("order-1").unwrap(), queue);
    client.execute::<order>(options, &()).await.unwrap();
    let _ = stop.send(());
    running.await.unwrap();

    let spans = exporter.get_finished_spans().unwrap();
    // Each span once, whatever the replays.
    let mut names: Vec<&str> = spans.iter().map(|span| span.name.as_ref()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "RunActivity:Charge",
            "RunActivity:Pack",
            "RunWorkflow:Order",
            "RunWorkflow:Ship",
            "StartActivity:Charge",
            "StartActivity:Pack",
            "StartChildWorkflow:Ship",
            "StartWorkflow:Order",
            "activity_attempt",
            "activity_attempt",
            "charge_card",
        ]
    );
    // One trace, and each span the child of the one before it in the chain.
    let trace = spans[0].span_context.trace_id();
    assert!(
        spans
            .iter()
            .all(|span| span.span_context.trace_id() == trace)
    );
    // The two attempts' spans, told apart by their parents below.
    let by_name: BTreeMap<&str, (SpanId, SpanId)> = spans
        .iter()
        .filter(|span| span.name != "activity_attempt")
        .map(|span| {
            (
                span.name.as_ref(),
                (span.span_context.span_id(), span.parent_span_id),
            )
        })
        .collect();
    let parent_of = |name: &str| by_name[name].1;
    let id_of = |name: &str| by_name[name].0;
    assert_eq!(parent_of("StartWorkflow:Order"), SpanId::INVALID);
    for (child, parent) in [
        ("RunWorkflow:Order", "StartWorkflow:Order"),
        ("StartActivity:Charge", "RunWorkflow:Order"),
        ("RunActivity:Charge", "StartActivity:Charge"),
        ("StartChildWorkflow:Ship", "RunWorkflow:Order"),
        ("RunWorkflow:Ship", "StartChildWorkflow:Ship"),
        ("StartActivity:Pack", "RunWorkflow:Ship"),
        ("RunActivity:Pack", "StartActivity:Pack"),
    ] {
        assert_eq!(parent_of(child), id_of(parent), "{child} under {parent}");
    }
    // The activity's `tracing` span sits under its attempt's, under `RunActivity:Charge`.
    let attempts: Vec<(SpanId, SpanId)> = spans
        .iter()
        .filter(|span| span.name == "activity_attempt")
        .map(|span| (span.span_context.span_id(), span.parent_span_id))
        .collect();
    let charge_attempt = attempts
        .iter()
        .find(|(_, parent)| *parent == id_of("RunActivity:Charge"))
        .expect("Charge's attempt span under RunActivity:Charge");
    assert!(
        attempts
            .iter()
            .any(|(_, parent)| *parent == id_of("RunActivity:Pack"))
    );
    assert_eq!(parent_of("charge_card"), charge_attempt.0);
}
