//! A worker's credential revoked mid-run, on a server that requires credentials, while
//! the engine is killed and loses power inside its commits and requests are delayed and
//! sent twice. Worker A runs the orders with its own API key until the key is revoked at a
//! random moment; worker B, with a key of its own, joins later and finishes them. Every
//! call worker A makes is recorded at its transport: no task may reach it later than a
//! moment after the revocation (its waiting long polls are dropped, a poll's task is
//! checked again before it is handed over), and no call it sends after the revocation may
//! succeed — a reconnect with the revoked key is refused at the handshake. Every order
//! completes exactly once with its result, and every run is well formed and replays.
//! Run with `RUSTFLAGS="--cfg madsim"`.
#![allow(
    clippy::disallowed_methods,
    reason = "madsim's Instant is the simulated clock, read to time the revocation"
)]

use std::sync::Arc;
use std::time::Duration;

use endure::remote::ApiKey;
use endure::workflow::{WorkflowContext, WorkflowError};
use endure::*;
use endure_core::access::{Claims, Role};
use endure_core::protocol::{Request, Response, Transport, TransportFuture};
use endure_server::security::{ApiKeyHash, CredentialStore, CredentialTable, generate_api_key};
use endure_sim::cluster::{Cluster, ClusterConfig, StoreChoice};
use endure_sim::driver;
use endure_sim::faults::FaultKind;
use endure_sim::invariants::check_all;
use endure_sim::seeds::run_seeds;
use madsim::rand::Rng;
use madsim::time::Instant;
use parking_lot::Mutex;

const ORDERS: u32 = 4;
const FAULTS_MAX: u32 = 10;
/// How late after the revocation a task may still reach the revoked worker: one that the
/// server handed over just before, still on the wire.
const IN_FLIGHT_GRACE: Duration = Duration::from_millis(500);

/// Three heartbeated steps.
#[endure::activity(name = "Pack")]
async fn pack(ctx: ActivityContext, order: String) -> Result<String, ActivityError> {
    for step in 0..3u32 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        ctx.heartbeat(&step).await;
    }
    Ok(format!("packed {order}"))
}

/// Packs three times with a timer between: several workflow and activity tasks per order.
#[endure::workflow(name = "Order")]
async fn order(ctx: WorkflowContext, id: String) -> Result<u32, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions {
        start_to_close_timeout: Some(Duration::from_secs(20)),
        heartbeat_timeout: Some(Duration::from_secs(2)),
        retry_policy: Some(RetryPolicy {
            initial_interval: Duration::from_millis(200),
            ..RetryPolicy::default()
        }),
        ..ActivityOptions::default()
    });
    for _ in 0..3 {
        ctx.run_activity::<pack>(&id).await?;
        ctx.sleep(Duration::from_millis(300)).await?;
    }
    Ok(3)
}

fn register(worker: &mut Worker) {
    worker.register::<order>().register::<pack>();
}

/// One call of worker A, as its transport saw it.
#[derive(Clone, Debug)]
struct Call {
    rpc: &'static str,
    sent: Instant,
    answered: Instant,
    /// The answer was a task (a poll's) or a success (anything else).
    took_effect: bool,
    /// A poll answered with a task.
    task: bool,
}

/// Records every call made through it.
struct Recording {
    inner: Arc<dyn Transport>,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl Transport for Recording {
    fn call(&self, request: Request) -> TransportFuture<'_> {
        Box::pin(async move {
            let rpc = request.name();
            let sent = Instant::now();
            let outcome = self.inner.call(request).await;
            let task = matches!(
                &outcome,
                Ok(Response::PollWorkflowTask(Some(_)) | Response::PollActivityTask(Some(_)))
            );
            let took_effect = match &outcome {
                Ok(Response::PollWorkflowTask(None) | Response::PollActivityTask(None)) => false,
                Ok(_) => true,
                Err(_) => false,
            };
            self.calls.lock().push(Call {
                rpc,
                sent,
                answered: Instant::now(),
                took_effect,
                task,
            });
            outcome
        })
    }
}

/// A key for `subject` (its randomness from the seed: a seed's run is reproducible),
/// granting `role` in `scope`.
fn key(
    seed: u64,
    label: u8,
    subject: &str,
    scope: &str,
    role: Role,
) -> (String, ApiKeyHash, Claims) {
    let mut random = [label; 32];
    random[..8].copy_from_slice(&seed.to_le_bytes());
    let (key, hash) = generate_api_key(random);
    let mut claims = Claims::new(subject);
    claims.grant(scope, role);
    (key, hash, claims)
}

async fn scenario(seed: u64) {
    let (admin_key, admin_hash, admin) = key(seed, 1, "driver", "system", Role::Admin);
    let (a_key, a_hash, a_claims) = key(seed, 2, "worker-a", "default", Role::Worker);
    let (b_key, b_hash, b_claims) = key(seed, 3, "worker-b", "default", Role::Worker);
    let store = Arc::new(CredentialStore::new(
        CredentialTable::default()
            .with_api_key(admin_hash, admin)
            .with_api_key(a_hash, a_claims)
            .with_api_key(b_hash, b_claims),
    ));
    let mut config = ClusterConfig {
        store: StoreChoice::Disk { seed },
        max_commit_delay: Duration::from_millis(20),
        max_request_delay: Duration::from_millis(30),
        duplicate_requests: 0.05,
        credentials: Some(store),
        ..ClusterConfig::default()
    };
    config.remote.api_key = Some(ApiKey::fixed(admin_key));
    let cluster = Arc::new(Cluster::start(config));

    let calls: Arc<Mutex<Vec<Call>>> = Arc::default();
    let recorded = Arc::clone(&calls);
    cluster.add_worker_with_key(
        "worker-a",
        ApiKey::fixed(a_key),
        move |transport, options| {
            let transport: Arc<dyn Transport> = Arc::new(Recording {
                inner: transport,
                calls: Arc::clone(&recorded),
            });
            endure_sim::cluster::worker("worker-a", "orders", register)(transport, options)
        },
    );

    // The revocation, then worker B some time later.
    let revoker = Arc::clone(&cluster);
    let (revoke_at, b_after) = {
        let mut random = madsim::rand::thread_rng();
        (random.gen_range(200..1_500), random.gen_range(500..3_000))
    };
    let revoking = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(revoke_at)).await;
        let revoked_at = Instant::now();
        revoker.revoke_api_key("worker-a", &a_hash);
        tokio::time::sleep(Duration::from_millis(b_after)).await;
        revoker.add_worker_with_key(
            "worker-b",
            ApiKey::fixed(b_key),
            endure_sim::cluster::worker("worker-b", "orders", register),
        );
        revoked_at
    });

    let client = cluster.client();
    driver::through_kills_and_power_losses(&cluster, FAULTS_MAX, async move {
        for id in 0..ORDERS {
            let mut options = StartWorkflowOptions::new(
                WorkflowId::new(format!("order-{id}")).unwrap(),
                TaskQueueName::new("orders").unwrap(),
            );
            options.request_id = Some(format!("start-{id}").parse().unwrap());
            options.task_timeout = Some(Duration::from_secs(1));
            driver::start_until_taken::<order>(&client, options, &format!("order-{id}")).await;
        }
        for id in 0..ORDERS {
            let handle = client.handle(WorkflowId::new(format!("order-{id}")).unwrap(), None);
            let packed = driver::result_when_reachable::<u32>(&handle)
                .await
                .unwrap_or_else(|error| panic!("order-{id}: {error}"));
            assert_eq!(packed, 3, "order-{id}");
        }
    })
    .await;
    let revoked_at = revoking.await.expect("the revocation ran");
    // Worker A keeps polling (backing off: reconnects wait up to 5 s each) and is
    // refused.
    let refused_poll = |calls: &[Call]| {
        calls.iter().any(|call| {
            call.answered > revoked_at && !call.took_effect && call.rpc.starts_with("Poll")
        })
    };
    for _ in 0..60 {
        if refused_poll(&calls.lock()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(cluster.faults.count(FaultKind::CredentialRevoked), 1);

    let calls = calls.lock().clone();
    // The orders take seconds; the revocation comes well within them.
    assert!(
        calls
            .iter()
            .any(|call| call.task && call.answered < revoked_at),
        "worker A ran tasks before its key was revoked"
    );
    for call in &calls {
        assert!(
            !(call.task && call.answered > revoked_at + IN_FLIGHT_GRACE),
            "worker A was handed a task {:?} after its key was revoked: {call:?}",
            call.answered - revoked_at
        );
        assert!(
            !(call.took_effect && call.sent > revoked_at),
            "a call worker A sent after its key was revoked took effect: {call:?}"
        );
    }
    assert!(
        refused_poll(&calls),
        "worker A's polls were refused after the revocation"
    );

    let histories = cluster.histories().await;
    assert_eq!(histories.len(), ORDERS as usize, "{:?}", histories.keys());
    check_all(&histories, &Replayer::for_workflow::<order>()).unwrap();
}

#[test]
fn a_revoked_workers_calls_are_refused_and_its_orders_finish_elsewhere() {
    run_seeds(
        "a_revoked_workers_calls_are_refused_and_its_orders_finish_elsewhere",
        &[1, 2, 3, 4, 5],
        Duration::from_secs(900),
        scenario,
    );
}
