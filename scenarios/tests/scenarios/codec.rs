//! Every client and worker encrypts its payloads with a codec while the engine is killed and
//! loses power inside its commits, and requests are delayed and sent twice: each workflow —
//! an activity that fails once with details and answers bytes, a side effect, a local
//! activity, a signal of two arguments — returns what its parts computed, read back
//! through the codec; the engine's store holds only ciphertext (read without the codec,
//! every payload of every history is encrypted, as many as the decoded history holds); and
//! every decoded history is well formed and replays. Run with `RUSTFLAGS="--cfg madsim"`.

use std::sync::Arc;
use std::time::Duration;

use endure::activity::ActivityDefinition;
use endure::workflow::{ActivityError, LocalActivityOptions, WorkflowContext, WorkflowError};
use endure::*;
use endure_core::protocol::Transport;
use endure_sim::cluster::{Cluster, ClusterConfig, StoreChoice};
use endure_sim::driver;
use endure_sim::invariants::check_all;
use endure_sim::seeds::run_seeds;

const WORKFLOWS: u64 = 4;
const FAULTS_MAX: u32 = 20;
const ENCRYPTED: &str = "binary/encrypted";

/// A stand-in cipher with an encryption codec's layout (see the SDK's codec test).
struct Xor;

impl PayloadCodec for Xor {
    fn encode(&self, payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
        Ok(payloads
            .into_iter()
            .map(|payload| {
                let mut sealed = Payload::with_encoding(
                    ENCRYPTED,
                    payload.data.iter().map(|b| b ^ 0xa5).collect(),
                );
                let original = payload.encoding().unwrap_or_default().as_bytes().to_vec();
                sealed.metadata.insert("encoding-original".into(), original);
                sealed
            })
            .collect())
    }

    fn decode(&self, payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
        payloads
            .into_iter()
            .map(|payload| {
                if payload.encoding() != Some(ENCRYPTED) {
                    return Ok(payload);
                }
                let original = payload
                    .metadata
                    .get("encoding-original")
                    .and_then(|bytes| std::str::from_utf8(bytes).ok())
                    .ok_or_else(|| CodecError("no encoding-original".into()))?;
                Ok(Payload::with_encoding(
                    original,
                    payload.data.iter().map(|b| b ^ 0xa5).collect(),
                ))
            })
            .collect()
    }
}

struct Seal;

impl ActivityDefinition for Seal {
    const NAME: &'static str = "Seal";
    type Input = (String, u64);
    type Output = Vec<u8>;
}

struct Check;

impl ActivityDefinition for Check {
    const NAME: &'static str = "Check";
    type Input = (u64, u64);
    type Output = u64;
}

/// Seals, stamps, checks locally, waits for the unlock word, and answers all of it.
#[endure::workflow(name = "Vault")]
async fn vault(
    ctx: WorkflowContext,
    (owner, n): (String, u64),
) -> Result<(String, Vec<u8>), WorkflowError> {
    let sealing = ctx.with_activity_options(ActivityOptions {
        retry_policy: Some(RetryPolicy {
            initial_interval: Duration::from_millis(100),
            ..RetryPolicy::default()
        }),
        ..ActivityOptions::with_start_to_close_timeout(Duration::from_secs(5))
    });
    let sealed: Vec<u8> = sealing
        .execute_activity("Seal", &(owner.clone(), n))
        .await?;
    let stamp: u64 = ctx.side_effect(|| n * 7)?;
    let checked: u64 = ctx
        .execute_local_activity(
            "Check",
            &(n, stamp),
            LocalActivityOptions::with_start_to_close_timeout(Duration::from_secs(2)),
        )
        .await?;
    let (word, times): (String, u64) = ctx.signal_channel("unlock").recv_json().await?;
    Ok((
        format!("{owner}:{checked}:{}", word.repeat(times as usize)),
        sealed,
    ))
}

fn expected(n: u64) -> (String, Vec<u8>) {
    (
        format!("owner-{n}:{}:{}", n + n * 7, "ok".repeat(n as usize)),
        vec![n as u8; 3],
    )
}

fn worker(
    name: &'static str,
) -> impl Fn(Arc<dyn Transport>, &WorkerOptions) -> Worker + Send + Sync + 'static {
    move |transport, options| {
        let mut worker = Worker::new(
            transport,
            Namespace::default(),
            TaskQueueName::new("vaults").unwrap(),
            WorkerOptions {
                identity: name.into(),
                ..options.clone()
            },
        );
        worker.register::<vault>();
        worker.register_activity::<Seal, _, _>(|ctx: ActivityContext, (_owner, n)| async move {
            if ctx.info().attempt == 1 {
                let details = Payloads::encode_arguments(&("first attempt", n)).unwrap();
                return Err(ActivityError::new(
                    Failure::application("the first seal always breaks", "Seal")
                        .with_details(details),
                ));
            }
            Ok(vec![n as u8; 3])
        });
        worker.register_activity::<Check, _, _>(|_ctx, (n, stamp): (u64, u64)| async move {
            Ok::<_, ActivityError>(n + stamp)
        });
        worker
    }
}

async fn scenario(seed: u64) {
    let cluster = Cluster::start(ClusterConfig {
        store: StoreChoice::Disk { seed },
        duplicate_requests: 0.1,
        max_request_delay: Duration::from_millis(20),
        codecs: CodecChain::new(vec![Arc::new(Xor)]),
        ..ClusterConfig::default()
    });
    cluster.add_worker("worker-1", worker("worker-1"));
    cluster.add_worker("worker-2", worker("worker-2"));
    let client = cluster.client();
    driver::through_kills_and_power_losses(&cluster, FAULTS_MAX, async move {
        let mut handles = Vec::new();
        for n in 0..WORKFLOWS {
            let mut options = StartWorkflowOptions::new(
                WorkflowId::new(format!("vault-{n}")).unwrap(),
                TaskQueueName::new("vaults").unwrap(),
            );
            options.request_id = Some(format!("start-{n}").parse().unwrap());
            let input = (format!("owner-{n}"), n);
            handles.push(driver::start_until_taken::<vault>(&client, options, &input).await);
        }
        for (n, handle) in handles.iter().enumerate() {
            let request_id = format!("unlock-{n}");
            while handle
                .signal_with_request_id("unlock", &("ok", n as u64), &request_id)
                .await
                .is_err()
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        for (n, handle) in handles.iter().enumerate() {
            let result: (String, Vec<u8>) = driver::result_when_reachable(handle)
                .await
                .unwrap_or_else(|error| panic!("vault-{n}: {error}"));
            assert_eq!(result, expected(n as u64), "vault-{n}");
        }
    })
    .await;

    let ids: Vec<String> = (0..WORKFLOWS).map(|n| format!("vault-{n}")).collect();
    let results: Vec<(String, Vec<u8>)> = cluster.results(ids, Duration::from_secs(300)).await;
    for (n, result) in results.iter().enumerate() {
        assert_eq!(*result, expected(n as u64), "vault-{n}");
    }
    let decoded = cluster.histories().await;
    check_all(&decoded, &Replayer::for_workflow::<vault>()).unwrap();
    let raw = cluster.raw_client();
    let stored = cluster
        .add_client_node("raw-reader")
        .spawn(async move {
            let mut stored = Vec::new();
            for n in 0..WORKFLOWS {
                let handle = raw.handle(WorkflowId::new(format!("vault-{n}")).unwrap(), None);
                stored.push(handle.history().await.expect("read the stored history"));
            }
            stored
        })
        .await
        .expect("the raw reader ran");
    for (n, mut history) in stored.into_iter().enumerate() {
        let mut encodings = Vec::new();
        history
            .visit_payloads(&mut |payloads| {
                encodings.extend(
                    payloads
                        .iter()
                        .map(|p| p.encoding().unwrap_or_default().to_owned()),
                );
                Ok(())
            })
            .unwrap();
        assert!(
            encodings.iter().all(|encoding| encoding == ENCRYPTED),
            "vault-{n} stores plain payloads: {encodings:?}"
        );
        let decoded_history = decoded
            .iter()
            .find(|(run, _)| run.starts_with(&format!("vault-{n}/")))
            .map(|(_, history)| history.clone())
            .unwrap();
        let mut plain = 0;
        decoded_history
            .clone()
            .visit_payloads(&mut |payloads| {
                plain += payloads.len();
                Ok(())
            })
            .unwrap();
        assert_eq!(encodings.len(), plain, "vault-{n}: every payload encoded");
        assert!(plain >= 8, "vault-{n}: {plain} payloads");
    }
}

#[test]
fn codecs_encrypt_every_payload_through_crashes() {
    run_seeds(
        "codecs_encrypt_every_payload_through_crashes",
        &[0, 1, 2, 3, 4, 5],
        Duration::from_secs(900),
        scenario,
    );
}
