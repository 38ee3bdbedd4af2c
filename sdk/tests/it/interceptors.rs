//! Interceptors and headers end to end: a client interceptor stamps a tenant into every
//! header it sends; a worker interceptor gives each run a workflow interceptor that
//! carries the start's tenant onto every activity, local activity, child, external signal
//! and continue-as-new, and sees every signal, query and update; activity attempts run
//! through it. Each interceptor must see each call exactly once, and history must hold
//! the headers on the events that carry them in Temporal.

use std::sync::Arc;
use std::time::Duration;

use endure::interceptors::{
    ActivityRun, CallFuture, ClientInterceptor, ClientNext, Heartbeat, InboundQuery, InboundSignal,
    InboundUpdate, Outbound, WorkerInterceptor, WorkflowInterceptor, WorkflowRun, call_subject,
    headers_mut,
};
use endure::workflow::{WorkflowContext, WorkflowError};
use endure::*;
use endure_core::history::{EventAttributes, EventType, HistoryEvent, check_well_formed};
use parking_lot::Mutex;

use crate::store_client;

/// The header key the test's interceptors propagate.
const TENANT: &str = "tenant";

/// What the interceptors saw, one line per call.
#[derive(Default)]
struct Log(Mutex<Vec<String>>);

impl Log {
    fn push(&self, line: String) {
        self.0.lock().push(line);
    }

    /// The lines seen so far, sorted (activities and workflow tasks interleave freely).
    fn sorted(&self) -> Vec<String> {
        let mut lines = self.0.lock().clone();
        lines.sort();
        lines
    }
}

/// The tenant a header carries, or `-`.
fn tenant(header: &Header) -> String {
    header
        .get(TENANT)
        .and_then(|payload| payload.decode::<String>().ok())
        .unwrap_or_else(|| "-".into())
}

/// The client side: stamps the tenant on every header-carrying call.
struct Stamp {
    log: Arc<Log>,
}

impl ClientInterceptor for Stamp {
    fn call<'a>(&'a self, mut request: Request, next: ClientNext<'a>) -> CallFuture<'a> {
        if let Some(subject) = call_subject(&request) {
            self.log
                .push(format!("client {} {subject}", request.name()));
        }
        for header in headers_mut(&mut request) {
            header
                .0
                .insert(TENANT.into(), Payload::json(&"acme").unwrap());
        }
        next.run(request)
    }
}

/// The worker side: activities, heartbeats, and a [`Carry`] per run.
struct Record {
    log: Arc<Log>,
}

impl WorkerInterceptor for Record {
    fn intercept_workflow(&self, info: &WorkflowInfo) -> Option<Arc<dyn WorkflowInterceptor>> {
        Some(Arc::new(Carry {
            log: Arc::clone(&self.log),
            workflow_type: info.started.workflow_type.to_string(),
            tenant: info.started.header.get(TENANT).cloned(),
        }))
    }

    fn execute_activity(&self, ctx: &ActivityContext, run: ActivityRun) -> ActivityRun {
        let log = Arc::clone(&self.log);
        let line = format!(
            "activity {} tenant={} local={}",
            ctx.info().activity_type,
            tenant(ctx.header()),
            ctx.is_local()
        );
        Box::pin(async move {
            let outcome = run.await;
            log.push(format!("{line} ok={}", outcome.is_ok()));
            outcome
        })
    }

    fn record_heartbeat(&self, ctx: &ActivityContext, heartbeat: &Heartbeat<'_>) {
        self.log.push(format!(
            "heartbeat {} details={}",
            ctx.info().activity_type,
            heartbeat.details.is_some()
        ));
    }
}

/// One run's interceptor: passes the start's tenant on, logs what is new.
struct Carry {
    log: Arc<Log>,
    workflow_type: String,
    tenant: Option<Payload>,
}

impl Carry {
    fn outbound(&self, ctx: &WorkflowContext, kind: &str, call: Outbound<'_>) {
        if let Some(tenant) = &self.tenant {
            call.header.0.insert(TENANT.into(), tenant.clone());
        }
        if !ctx.is_replaying() {
            self.log
                .push(format!("{} {kind} {}", self.workflow_type, call.name));
        }
    }
}

impl WorkflowInterceptor for Carry {
    fn execute_workflow(&self, ctx: &WorkflowContext, run: WorkflowRun) -> WorkflowRun {
        let started = tenant(&ctx.info().started.header);
        if !ctx.is_replaying() {
            self.log
                .push(format!("{} run tenant={started}", self.workflow_type));
        }
        let log = Arc::clone(&self.log);
        let ctx = ctx.clone();
        let workflow_type = self.workflow_type.clone();
        Box::pin(async move {
            let outcome = run.await;
            if !ctx.is_replaying() {
                let end = match &outcome {
                    Ok(_) => "completed",
                    Err(WorkflowError::ContinueAsNew(_)) => "continued",
                    Err(_) => "failed",
                };
                log.push(format!("{workflow_type} {end}"));
            }
            outcome
        })
    }

    fn handle_signal(&self, ctx: &WorkflowContext, signal: &InboundSignal<'_>) {
        if !ctx.is_replaying() {
            self.log.push(format!(
                "{} signal {} tenant={}",
                self.workflow_type,
                signal.name,
                tenant(signal.header)
            ));
        }
    }

    fn handle_query(&self, _ctx: &WorkflowContext, query: &InboundQuery<'_>) {
        self.log.push(format!(
            "{} query {} tenant={}",
            self.workflow_type,
            query.query_type,
            tenant(query.header)
        ));
    }

    fn handle_update(&self, ctx: &WorkflowContext, update: &InboundUpdate<'_>) {
        if !ctx.is_replaying() {
            self.log.push(format!(
                "{} update {} tenant={}",
                self.workflow_type,
                update.name,
                tenant(update.header)
            ));
        }
    }

    fn schedule_activity(&self, ctx: &WorkflowContext, call: Outbound<'_>) {
        self.outbound(ctx, "schedule_activity", call);
    }

    fn schedule_local_activity(&self, ctx: &WorkflowContext, call: Outbound<'_>) {
        self.outbound(ctx, "schedule_local_activity", call);
    }

    fn start_child_workflow(&self, ctx: &WorkflowContext, call: Outbound<'_>) {
        self.outbound(ctx, "start_child_workflow", call);
    }

    fn signal_external_workflow(&self, ctx: &WorkflowContext, call: Outbound<'_>) {
        self.outbound(ctx, "signal_external_workflow", call);
    }

    fn continue_as_new(&self, ctx: &WorkflowContext, call: Outbound<'_>) {
        self.outbound(ctx, "continue_as_new", call);
    }
}

/// Charges (and heartbeats once).
#[endure::activity(name = "Charge")]
async fn charge(ctx: ActivityContext, (): ()) -> Result<(), ActivityError> {
    ctx.heartbeat(&"charging").await;
    Ok(())
}

/// Audits, as a local activity.
#[endure::activity(name = "Audit")]
async fn audit(_ctx: ActivityContext, (): ()) -> Result<(), ActivityError> {
    Ok(())
}

/// Packs, for the child.
#[endure::activity(name = "Pack")]
async fn pack(_ctx: ActivityContext, (): ()) -> Result<(), ActivityError> {
    Ok(())
}

fn activity_options() -> ActivityOptions {
    ActivityOptions {
        start_to_close_timeout: Some(Duration::from_secs(10)),
        ..ActivityOptions::default()
    }
}

/// Round 0: answers `round`, takes `note` updates, charges, audits locally, starts `Ship`
/// and signals it `go`, waits for its result and for `approve`, then continues as new.
/// Round 1: charges and completes.
#[endure::workflow(name = "Order")]
async fn order(ctx: WorkflowContext, round: u32) -> Result<String, WorkflowError> {
    let ctx = ctx.with_activity_options(activity_options());
    ctx.set_query_handler("round", move |(): ()| {
        Ok::<_, std::convert::Infallible>(round)
    });
    ctx.set_update_handler("note", |_ctx: WorkflowContext, note: String| async move {
        Ok(format!("noted {note}"))
    });
    ctx.run_activity::<charge>(&()).await?;
    if round > 0 {
        return Ok("done".into());
    }
    ctx.execute_local_activity::<_, ()>(
        "Audit",
        &(),
        LocalActivityOptions::with_start_to_close_timeout(Duration::from_secs(5)),
    )
    .await?;
    let ship = ctx.start_child_workflow(
        "Ship",
        &(),
        ChildWorkflowOptions {
            workflow_id: Some("ship-1".into()),
            ..ChildWorkflowOptions::default()
        },
    );
    ship.started()
        .await
        .map_err(|error| WorkflowError::Failed(Box::new(error.0.as_ref().clone())))?;
    ship.signal("go", &())
        .await
        .map_err(|error| Failure::application(error.to_string(), "SignalFailed"))?;
    ship.result::<()>()
        .await
        .map_err(|error| WorkflowError::Failed(Box::new(error.0.as_ref().clone())))?;
    ctx.signal_channel("approve").recv_json::<()>().await?;
    Err(ctx.continue_as_new(&(round + 1)))
}

/// Waits for `go`, then packs.
#[endure::workflow(name = "Ship")]
async fn ship(ctx: WorkflowContext, (): ()) -> Result<(), WorkflowError> {
    let ctx = ctx.with_activity_options(activity_options());
    ctx.signal_channel("go").recv_json::<()>().await?;
    ctx.run_activity::<pack>(&()).await?;
    Ok(())
}

/// The tenant of each event that carries a header (markers aside: a local activity's
/// marker carries none), by type, in history order.
fn headers(events: &[HistoryEvent]) -> Vec<(EventType, String)> {
    events
        .iter()
        .filter(|event| event.event_type() != EventType::MarkerRecorded)
        .filter_map(|event| Some((event.event_type(), tenant(event.attributes.header()?))))
        .collect()
}

#[tokio::test]
async fn interceptors_see_every_call_once_and_headers_reach_every_hop() {
    let (client, _store) = store_client().await;
    let log = Arc::new(Log::default());
    let client = client.with_interceptor(Arc::new(Stamp {
        log: Arc::clone(&log),
    }));
    let queue = TaskQueueName::new("intercepted").unwrap();
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    worker
        .register::<order>()
        .register::<ship>()
        .register::<charge>()
        .register::<audit>()
        .register::<pack>()
        .add_interceptor(Arc::new(Record {
            log: Arc::clone(&log),
        }));
    let (stop, running) = crate::spawn_worker(worker);

    let options = StartWorkflowOptions::new(WorkflowId::new("order-7").unwrap(), queue);
    let first = client.start::<order>(options, &0).await.unwrap();
    let noted: String = first.update("note", &"fragile").await.unwrap();
    assert_eq!(noted, "noted fragile");
    let round: u32 = first.query("round", &()).await.unwrap();
    assert_eq!(round, 0);
    // Approved at once: the run reads the signal once its child finished.
    first.signal("approve", &()).await.unwrap();
    let latest = client.handle(WorkflowId::new("order-7").unwrap(), None);
    assert_eq!(latest.result::<String>().await.unwrap(), "done");
    let child = client.handle(WorkflowId::new("ship-1").unwrap(), None);
    child.result::<()>().await.unwrap();
    let _ = stop.send(());
    running.await.unwrap();

    let mut expected = vec![
        // The client's calls that carry a header, each once.
        "client StartWorkflow Order",
        "client UpdateWorkflow note",
        "client QueryWorkflow round",
        "client SignalWorkflow approve",
        // The first run: its inbound calls with the client's header, its outbound calls.
        "Order run tenant=acme",
        "Order update note tenant=acme",
        "Order query round tenant=acme",
        "Order schedule_activity Charge",
        "Order schedule_local_activity Audit",
        "Order start_child_workflow Ship",
        "Order signal_external_workflow go",
        "Order signal approve tenant=acme",
        "Order continue_as_new Order",
        "Order continued",
        // The child, started with the parent's tenant and signalled with it.
        "Ship run tenant=acme",
        "Ship signal go tenant=acme",
        "Ship schedule_activity Pack",
        "Ship completed",
        // The next run, started with the tenant continue-as-new carried.
        "Order run tenant=acme",
        "Order schedule_activity Charge",
        "Order completed",
        // Every activity attempt, with the header the workflow wrote.
        "activity Charge tenant=acme local=false ok=true",
        "activity Charge tenant=acme local=false ok=true",
        "heartbeat Charge details=true",
        "heartbeat Charge details=true",
        "activity Audit tenant=acme local=true ok=true",
        "activity Pack tenant=acme local=false ok=true",
    ];
    expected.sort_unstable();
    assert_eq!(log.sorted(), expected);

    // History holds the headers where Temporal records them.
    let history = first.history().await.unwrap();
    check_well_formed(&history).unwrap();
    let mut carried = headers(&history);
    carried.sort_by_key(|(event_type, _)| format!("{event_type:?}"));
    let acme = |event_type| (event_type, "acme".to_owned());
    let mut want = vec![
        acme(EventType::WorkflowExecutionStarted),
        acme(EventType::WorkflowExecutionUpdateAccepted),
        acme(EventType::ActivityTaskScheduled),
        acme(EventType::StartChildWorkflowExecutionInitiated),
        acme(EventType::ChildWorkflowExecutionStarted),
        acme(EventType::SignalExternalWorkflowExecutionInitiated),
        acme(EventType::WorkflowExecutionSignaled),
        acme(EventType::WorkflowExecutionContinuedAsNew),
    ];
    want.sort_by_key(|(event_type, _)| format!("{event_type:?}"));
    assert_eq!(carried, want);

    let child_history = child.history().await.unwrap();
    check_well_formed(&child_history).unwrap();
    let mut carried = headers(&child_history);
    carried.sort_by_key(|(event_type, _)| format!("{event_type:?}"));
    assert_eq!(
        carried,
        vec![
            acme(EventType::ActivityTaskScheduled),
            acme(EventType::WorkflowExecutionSignaled),
            acme(EventType::WorkflowExecutionStarted),
        ]
    );

    // The second run, event by event: its start and its activity carry the tenant.
    let second = latest.history().await.unwrap();
    check_well_formed(&second).unwrap();
    let types: Vec<EventType> = second.iter().map(HistoryEvent::event_type).collect();
    assert_eq!(types, crate::ONE_ACTIVITY_HISTORY);
    match &second[4].attributes {
        EventAttributes::ActivityTaskScheduled(scheduled) => {
            assert_eq!(
                scheduled.workflow_task_completed_event_id,
                second[3].event_id
            );
            assert_eq!(tenant(&scheduled.header), "acme");
        }
        other => panic!("expected ActivityTaskScheduled, got {other:?}"),
    }
    match &second[0].attributes {
        EventAttributes::WorkflowExecutionStarted(started) => {
            assert_eq!(tenant(&started.header), "acme");
        }
        other => panic!("expected WorkflowExecutionStarted, got {other:?}"),
    }

    // The histories replay through the same interceptor, writing the same headers.
    let replayer = Replayer::for_workflow::<order>().add_interceptor(Arc::new(Record {
        log: Arc::new(Log::default()),
    }));
    replayer.replay_history(&history).unwrap();
    replayer.replay_history(&second).unwrap();
}
