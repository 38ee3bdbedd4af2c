//! Side effects (spec §5.22): non-deterministic values inside workflow code, recorded once.
//!
//! The workflow draws a trace id with `side_effect` (recorded as a `MarkerRecorded` event,
//! never recomputed on replay) and polls a feature flag with `mutable_side_effect` (a new
//! marker only when the value changes). Replaying the finished history afterwards shows
//! the recorded values come back without the closures running again.
//!
//! `cargo run -p endure --example side_effects`

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use endure::EventAttributes;
use endure::workflow::{WorkflowContext, WorkflowError};
use endure::{Replayer, StartWorkflowOptions, TaskQueueName, Worker, WorkerOptions, WorkflowId};

/// The external state the workflow polls (a stand-in for a configuration service).
static FEATURE_FLAG: AtomicBool = AtomicBool::new(false);
/// How many times the side-effect closures ran.
static CLOSURE_RUNS: AtomicUsize = AtomicUsize::new(0);

/// A random number from the OS-seeded hasher: different on every call, which is exactly
/// what workflow code must never use directly.
fn unsafe_random() -> u64 {
    CLOSURE_RUNS.fetch_add(1, Ordering::SeqCst);
    RandomState::new().hash_one(0u8)
}

#[endure::workflow(name = "SideEffects")]
async fn side_effects(ctx: WorkflowContext) -> Result<String, WorkflowError> {
    // §5.22.3: run once, recorded, replayed from history.
    let trace_id = ctx.side_effect(|| format!("trace-{:016x}", unsafe_random()))?;
    ctx.logger().info(&format!("generated trace id {trace_id}"));
    // §5.22.5: poll a flag four times; only changes are recorded.
    let mut seen = Vec::new();
    for _ in 0..4 {
        let flag = ctx.mutable_side_effect(
            "feature-flag",
            || {
                CLOSURE_RUNS.fetch_add(1, Ordering::SeqCst);
                FEATURE_FLAG.load(Ordering::SeqCst)
            },
            |old, new| old == new,
        )?;
        seen.push(flag);
        let _ = ctx.sleep(Duration::from_millis(100)).await;
    }
    Ok(format!("{trace_id} saw the flag as {seen:?}"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let directory = tempfile::tempdir()?;
    let client = endure::embedded::open(directory.path().join("side-effects.redb")).await?;
    let queue = TaskQueueName::new("side-effects")?;
    let mut worker = Worker::new(
        client.transport(),
        client.namespace().clone(),
        queue.clone(),
        WorkerOptions::default(),
    );
    worker.register::<side_effects>();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));

    let handle = client
        .start::<side_effects>(
            StartWorkflowOptions::new(WorkflowId::new("side-effects")?, queue),
            &(),
        )
        .await?;
    // The flag flips while the workflow polls it.
    tokio::time::sleep(Duration::from_millis(150)).await;
    FEATURE_FLAG.store(true, Ordering::SeqCst);
    println!("result: {}", handle.result::<String>().await?);

    let history = handle.history().await?;
    let markers = history
        .iter()
        .filter(|event| matches!(event.attributes, EventAttributes::MarkerRecorded(_)))
        .count();
    println!("{markers} MarkerRecorded events: the trace id and the flag's two values");

    let before = CLOSURE_RUNS.load(Ordering::SeqCst);
    Replayer::for_workflow::<side_effects>().replay_history(&history)?;
    let during_replay = CLOSURE_RUNS.load(Ordering::SeqCst) - before;
    println!("replayed the history: the side-effect closures ran {during_replay} times");
    let _ = stop.send(());
    running.await?;
    Ok(())
}
