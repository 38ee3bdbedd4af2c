//! Context headers through interceptors while the engine is killed and loses power inside
//! its commits, requests are delayed and sent twice, a worker freezes for three seconds
//! (its tasks time out and go elsewhere; it wakes holding stale ones) and workers keep no
//! run cached (every workflow task replays the whole history). A client
//! interceptor stamps each order's own tenant on its start and signals; each run's
//! workflow interceptor carries its start's tenant onto every activity, child, external
//! signal and continue-as-new. Every activity attempt and every run checks it got its
//! order's tenant (a missing or foreign one fails the order); every header-carrying event
//! of every run of every order holds it; every run is well formed and replays through the
//! same interceptor. Run with `RUSTFLAGS="--cfg madsim"`.

use std::sync::Arc;
use std::time::Duration;

use endure::interceptors::{
    CallFuture, ClientInterceptor, ClientNext, Outbound, WorkerInterceptor, WorkflowInterceptor,
    headers_mut,
};
use endure::workflow::{ChildWorkflowOptions, WorkflowContext, WorkflowError};
use endure::*;
use endure_core::history::{EventAttributes, HistoryEvent};
use endure_core::protocol::Transport;
use endure_sim::cluster::{Cluster, ClusterConfig, StoreChoice};
use endure_sim::driver;
use endure_sim::invariants::check_all;
use endure_sim::seeds::run_seeds;
use madsim::rand::Rng;

const ORDERS: u32 = 3;
const FAULTS_MAX: u32 = 20;
const TENANT: &str = "tenant";

/// The tenant of the order a workflow id belongs to: `order-N` and everything it starts
/// (`order-N-ship`) belong to `order-N`.
fn tenant_of(workflow_id: &str) -> String {
    workflow_id.split('-').take(2).collect::<Vec<_>>().join("-")
}

fn tenant(header: &Header) -> Option<String> {
    header.get(TENANT)?.decode::<String>().ok()
}

/// Stamps each start and signal with the tenant of the workflow it targets.
struct StampTenant;

impl ClientInterceptor for StampTenant {
    fn call<'a>(&'a self, mut request: Request, next: ClientNext<'a>) -> CallFuture<'a> {
        let target = match &request {
            Request::StartWorkflow(start) => Some(start.options.id.to_string()),
            Request::SignalWorkflow(signal) => Some(signal.workflow_id.to_string()),
            _ => None,
        };
        if let Some(target) = target {
            let stamp = Payload::json(&tenant_of(&target)).expect("a string encodes");
            for header in headers_mut(&mut request) {
                header.0.insert(TENANT.into(), stamp.clone());
            }
        }
        next.run(request)
    }
}

/// Gives each run a [`CarryTenant`] with its start's tenant.
struct Propagate;

impl WorkerInterceptor for Propagate {
    fn intercept_workflow(&self, info: &WorkflowInfo) -> Option<Arc<dyn WorkflowInterceptor>> {
        Some(Arc::new(CarryTenant(
            info.started.header.get(TENANT).cloned(),
        )))
    }
}

/// Puts the run's tenant on every call it makes.
struct CarryTenant(Option<Payload>);

impl CarryTenant {
    fn carry(&self, call: Outbound<'_>) {
        if let Some(tenant) = &self.0 {
            call.header.0.insert(TENANT.into(), tenant.clone());
        }
    }
}

impl WorkflowInterceptor for CarryTenant {
    fn schedule_activity(&self, _ctx: &WorkflowContext, call: Outbound<'_>) {
        self.carry(call);
    }

    fn start_child_workflow(&self, _ctx: &WorkflowContext, call: Outbound<'_>) {
        self.carry(call);
    }

    fn signal_external_workflow(&self, _ctx: &WorkflowContext, call: Outbound<'_>) {
        self.carry(call);
    }

    fn continue_as_new(&self, _ctx: &WorkflowContext, call: Outbound<'_>) {
        self.carry(call);
    }
}

/// A run's own tenant must be its order's, or the run fails. (The order comes in the
/// input, not from the workflow id, which an offline replay does not know.)
fn check_run_tenant(ctx: &WorkflowContext, order: &str) -> Result<(), WorkflowError> {
    let want = tenant_of(order);
    match tenant(&ctx.info().started.header) {
        Some(got) if got == want => Ok(()),
        got => Err(Failure::application(
            format!("run has tenant {got:?}, not {want}"),
            "WrongTenant",
        )
        .into()),
    }
}

/// Charges in four heartbeated steps; refuses (for good) an attempt without its tenant.
#[endure::activity(name = "Charge")]
async fn charge(ctx: ActivityContext, order: String) -> Result<String, ActivityError> {
    let got = tenant(ctx.header());
    if got.as_deref() != Some(tenant_of(&order).as_str()) {
        return Err(ActivityError::application(
            format!("charge for {order} has tenant {got:?}"),
            "WrongTenant",
        )
        .non_retryable());
    }
    for step in 0..4u32 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        ctx.heartbeat(&step).await;
    }
    Ok(format!("charged {order}"))
}

fn activity_options() -> ActivityOptions {
    ActivityOptions {
        start_to_close_timeout: Some(Duration::from_secs(30)),
        heartbeat_timeout: Some(Duration::from_secs(2)),
        retry_policy: Some(RetryPolicy {
            initial_interval: Duration::from_millis(200),
            non_retryable_error_types: vec!["WrongTenant".into()],
            ..RetryPolicy::default()
        }),
        ..ActivityOptions::default()
    }
}

/// Round 0: charges, starts `Ship` and signals it `go`, waits for it and for `approve`,
/// continues as new. Round 1: charges again and completes.
#[endure::workflow(name = "Order")]
async fn order(ctx: WorkflowContext, (id, round): (String, u32)) -> Result<u32, WorkflowError> {
    check_run_tenant(&ctx, &id)?;
    let ctx = ctx.with_activity_options(activity_options());
    ctx.run_activity::<charge>(&id).await?;
    if round > 0 {
        return Ok(round);
    }
    let ship = ctx.start_child_workflow(
        "Ship",
        &format!("{id}-ship"),
        ChildWorkflowOptions {
            workflow_id: Some(format!("{id}-ship")),
            ..ChildWorkflowOptions::default()
        },
    );
    ship.started().await?;
    ship.signal("go", &())
        .await
        .map_err(|error| Failure::application(error.to_string(), "SignalFailed"))?;
    ship.result::<()>().await?;
    ctx.signal_channel("approve").recv_json::<()>().await?;
    Err(ctx.continue_as_new(&(id, round + 1)))
}

/// Waits for `go` (which must carry its order's tenant), then charges for shipping.
#[endure::workflow(name = "Ship")]
async fn ship(ctx: WorkflowContext, id: String) -> Result<(), WorkflowError> {
    check_run_tenant(&ctx, &id)?;
    let ctx = ctx.with_activity_options(activity_options());
    ctx.signal_channel("go").recv_json::<()>().await?;
    ctx.run_activity::<charge>(&id).await?;
    Ok(())
}

fn register(worker: &mut Worker) {
    worker
        .register::<order>()
        .register::<ship>()
        .register::<charge>()
        .add_interceptor(Arc::new(Propagate));
}

fn worker(
    name: &'static str,
) -> impl Fn(Arc<dyn Transport>, &WorkerOptions) -> Worker + Send + Sync + 'static {
    endure_sim::cluster::worker(name, "orders", register)
}

/// The tenant of each event that carries a header.
fn carried(history: &[HistoryEvent]) -> Vec<(u64, Option<String>)> {
    history
        .iter()
        .filter_map(|event| Some((event.event_id.get(), tenant(event.attributes.header()?))))
        .collect()
}

async fn scenario(seed: u64) {
    let cluster = Arc::new(Cluster::start(ClusterConfig {
        store: StoreChoice::Disk { seed },
        max_commit_delay: Duration::from_millis(20),
        max_request_delay: Duration::from_millis(30),
        duplicate_requests: 0.05,
        // No run stays cached: every task replays its history through the interceptors.
        worker: WorkerOptions {
            max_cached_workflows: 0,
            ..WorkerOptions::default()
        },
        ..ClusterConfig::default()
    }));
    cluster.add_worker("worker-1", worker("worker-1"));
    cluster.add_worker("worker-2", worker("worker-2"));
    let client = cluster.client().with_interceptor(Arc::new(StampTenant));
    // A worker freezes somewhere in the run (the driver counts only engine kills, so the
    // worker is paused rather than killed) and wakes later.
    let freezer = Arc::clone(&cluster);
    let freeze_at = madsim::rand::thread_rng().gen_range(500..4_000);
    let freezing = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(freeze_at)).await;
        freezer.pause("worker-1");
        tokio::time::sleep(Duration::from_millis(3_000)).await;
        freezer.resume("worker-1");
    });
    driver::through_kills_and_power_losses(&cluster, FAULTS_MAX, async move {
        for id in 0..ORDERS {
            let mut options = StartWorkflowOptions::new(
                WorkflowId::new(format!("order-{id}")).unwrap(),
                TaskQueueName::new("orders").unwrap(),
            );
            options.request_id = Some(format!("start-{id}").parse().unwrap());
            options.task_timeout = Some(Duration::from_secs(1));
            driver::start_until_taken::<order>(&client, options, &(format!("order-{id}"), 0)).await;
        }
        for id in 0..ORDERS {
            let handle = client.handle(WorkflowId::new(format!("order-{id}")).unwrap(), None);
            while handle
                .signal_with_request_id("approve", &(), &format!("approve-{id}"))
                .await
                .is_err()
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        for id in 0..ORDERS {
            let handle = client.handle(WorkflowId::new(format!("order-{id}")).unwrap(), None);
            let round = driver::result_when_reachable::<u32>(&handle)
                .await
                .unwrap_or_else(|error| panic!("order-{id}: {error}"));
            assert_eq!(round, 1, "order-{id}");
        }
    })
    .await;
    freezing.await.expect("the worker froze and woke");

    let histories = cluster.histories().await;
    let replayer = Replayer::for_workflow::<order>().add_interceptor(Arc::new(Propagate));
    let orders: std::collections::BTreeMap<String, Vec<HistoryEvent>> = histories
        .iter()
        .filter(|(_, history)| {
            matches!(&history[0].attributes,
                EventAttributes::WorkflowExecutionStarted(a) if a.workflow_type.as_str() == "Order")
        })
        .map(|(run, history)| (run.clone(), history.clone()))
        .collect();
    check_all(&orders, &replayer).unwrap();
    let ships: std::collections::BTreeMap<String, Vec<HistoryEvent>> = histories
        .iter()
        .filter(|(run, _)| !orders.contains_key(*run))
        .map(|(run, history)| (run.clone(), history.clone()))
        .collect();
    check_all(
        &ships,
        &Replayer::for_workflow::<ship>().add_interceptor(Arc::new(Propagate)),
    )
    .unwrap();
    // Two runs per order (continue-as-new) and a child each.
    assert_eq!(orders.len(), 2 * ORDERS as usize, "{:?}", orders.keys());
    assert_eq!(ships.len(), ORDERS as usize, "{:?}", ships.keys());
    for (run, history) in &histories {
        // Keys are `workflow-id/run-id`.
        let want = tenant_of(run.split('/').next().unwrap_or(run));
        let headers = carried(history);
        assert!(!headers.is_empty(), "{run}");
        for (event_id, got) in headers {
            assert_eq!(
                got.as_deref(),
                Some(want.as_str()),
                "{run}: event {event_id} carries the wrong tenant"
            );
        }
    }
}

#[test]
fn headers_reach_every_hop_through_crashes_and_replays() {
    run_seeds(
        "headers_reach_every_hop_through_crashes_and_replays",
        &[1, 2, 3, 4, 5],
        Duration::from_secs(900),
        scenario,
    );
}
