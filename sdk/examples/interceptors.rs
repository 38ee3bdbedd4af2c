//! Interceptors and headers: a request id travels from the client's start to the
//! workflow, to its activity and to its child workflow and the child's activity, through
//! context headers — the way tracing, auth context or tenant ids propagate in Temporal. A
//! client interceptor writes it; a worker interceptor gives each run a workflow interceptor
//! that copies the run's header onto every call the run makes, and logs every activity
//! attempt with the header it got.
//!
//! `cargo run -p endure --example interceptors`

use std::sync::Arc;
use std::time::Duration;

use endure::interceptors::{
    ActivityRun, CallFuture, ClientInterceptor, ClientNext, Outbound, WorkerInterceptor,
    WorkflowInterceptor, headers_mut,
};
use endure::workflow::{ChildWorkflowOptions, WorkflowContext, WorkflowError};
use endure::{
    ActivityContext, ActivityError, ActivityOptions, Header, Payload, Request,
    StartWorkflowOptions, TaskQueueName, Worker, WorkerOptions, WorkflowId, WorkflowInfo,
};

/// The header key carried from hop to hop.
const REQUEST_ID: &str = "request-id";

/// Client side: every start, signal, query and update carries the caller's request id.
struct StampRequestId(String);

impl ClientInterceptor for StampRequestId {
    fn call<'a>(&'a self, mut request: Request, next: ClientNext<'a>) -> CallFuture<'a> {
        for header in headers_mut(&mut request) {
            if let Ok(id) = Payload::json(&self.0) {
                header.0.insert(REQUEST_ID.into(), id);
            }
        }
        next.run(request)
    }
}

/// Worker side: logs activity attempts and hands each run a [`CarryRequestId`].
struct Propagate;

impl WorkerInterceptor for Propagate {
    fn intercept_workflow(&self, info: &WorkflowInfo) -> Option<Arc<dyn WorkflowInterceptor>> {
        let id = info.started.header.get(REQUEST_ID).cloned()?;
        Some(Arc::new(CarryRequestId(id)))
    }

    fn execute_activity(&self, ctx: &ActivityContext, run: ActivityRun) -> ActivityRun {
        println!(
            "activity {:<6} runs for request {}",
            ctx.info().activity_type,
            request_id(ctx.header())
        );
        run
    }
}

/// One run's interceptor: its start's request id goes on every activity and child.
struct CarryRequestId(Payload);

impl WorkflowInterceptor for CarryRequestId {
    fn schedule_activity(&self, _ctx: &WorkflowContext, call: Outbound<'_>) {
        call.header.0.insert(REQUEST_ID.into(), self.0.clone());
    }

    fn start_child_workflow(&self, ctx: &WorkflowContext, call: Outbound<'_>) {
        if !ctx.is_replaying() {
            println!(
                "workflow starts child {} carrying the request id",
                call.name
            );
        }
        call.header.0.insert(REQUEST_ID.into(), self.0.clone());
    }
}

fn request_id(header: &Header) -> String {
    header
        .get(REQUEST_ID)
        .and_then(|payload| payload.decode::<String>().ok())
        .unwrap_or_else(|| "(none)".into())
}

#[endure::activity(name = "Charge")]
async fn charge(_ctx: ActivityContext, amount: u32) -> Result<String, ActivityError> {
    Ok(format!("charged {amount}"))
}

#[endure::activity(name = "Ship")]
async fn ship(_ctx: ActivityContext, (): ()) -> Result<String, ActivityError> {
    Ok("shipped".into())
}

/// Charges, then has a child ship.
#[endure::workflow(name = "Order")]
async fn order(ctx: WorkflowContext, amount: u32) -> Result<String, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions {
        start_to_close_timeout: Some(Duration::from_secs(10)),
        ..ActivityOptions::default()
    });
    let charged = ctx.run_activity::<charge>(&amount).await?;
    let shipped: String = ctx
        .execute_child_workflow("Shipment", &(), ChildWorkflowOptions::default())
        .await?;
    Ok(format!("{charged}, {shipped}"))
}

/// The child: ships.
#[endure::workflow(name = "Shipment")]
async fn shipment(ctx: WorkflowContext, (): ()) -> Result<String, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions {
        start_to_close_timeout: Some(Duration::from_secs(10)),
        ..ActivityOptions::default()
    });
    Ok(ctx.run_activity::<ship>(&()).await?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let directory = tempfile::tempdir()?;
    let client = endure::embedded::open(directory.path().join("interceptors.redb"))
        .await?
        .with_interceptor(Arc::new(StampRequestId("req-8f3a".into())));
    let queue = TaskQueueName::new("orders")?;
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    worker
        .register::<order>()
        .register::<shipment>()
        .register::<charge>()
        .register::<ship>()
        .add_interceptor(Arc::new(Propagate));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));

    let options = StartWorkflowOptions::new(WorkflowId::new("order-1")?, queue);
    let result = client.execute::<order>(options, &42).await?;
    println!("order-1: {result}");

    let _ = stop.send(());
    running.await?;
    Ok(())
}
