//! The random workload on a whole cluster: one interpreter workflow (`Program`) with one
//! activity (`Attempt`) runs the programs of `endure_core::workload` — the same generator
//! core's property tests feed to their command-level interpreter — through the SDK.
//!
//! A program is a list of [`Step`]s — activities that fail their first attempts and are
//! retried, durable timers, side effects and mutable side effects, versions, coroutines
//! spawned with their own steps (joined with a wait group), selectors racing a timer
//! against an activity, channels between coroutines, and waits for signals — so a run
//! exercises the features together under whatever faults the scenario throws.
//! [`Program::expected`] is the result a correct engine must produce; [`Program::signals`]
//! the signals the driver must send (each consumed by exactly one step).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use endure::workflow::{
    ActivityError, Selector, WaitGroup, WorkflowContext, WorkflowError, channel,
};
use endure::{ActivityContext, ActivityOptions, RetryPolicy, Worker};
use std::collections::BTreeMap;

pub use endure_core::workload::{Program, Step};
use endure_core::workload::{signal_name, update_name};
use parking_lot::Mutex;

/// The activity of every program: fails while its attempt is at most `failing`.
#[endure::activity(name = "Attempt")]
pub async fn attempt(
    ctx: ActivityContext,
    (id, failing, millis): (u32, u8, u16),
) -> Result<u32, ActivityError> {
    tokio::time::sleep(Duration::from_millis(u64::from(millis))).await;
    if ctx.info().attempt <= u32::from(failing) {
        return Err(ActivityError::application("a planned failure", "Planned"));
    }
    Ok(id)
}

/// The interpreter: runs the program's steps and returns the sum of their contributions.
#[endure::workflow(name = "Program")]
pub async fn program(ctx: WorkflowContext, program: Program) -> Result<u64, WorkflowError> {
    let ctx = ctx.with_activity_options(ActivityOptions {
        start_to_close_timeout: Some(Duration::from_secs(3)),
        retry_policy: Some(RetryPolicy {
            initial_interval: Duration::from_millis(200),
            maximum_interval: Some(Duration::from_secs(1)),
            ..RetryPolicy::default()
        }),
        ..ActivityOptions::default()
    });
    // Every update's handler, registered before the first wait so an update never finds
    // none: it records its argument, which the step awaiting it takes.
    let updates: Updates = Arc::new(Mutex::new(BTreeMap::new()));
    for (name, _) in program.updates() {
        let arrived = Arc::clone(&updates);
        let key = name.clone();
        ctx.set_update_handler(&name, move |_ctx: WorkflowContext, value: u64| {
            arrived.lock().insert(key.clone(), value);
            async move { Ok(value) }
        });
    }
    let spawned = Arc::new(Mutex::new(0u64));
    let group = WaitGroup::new();
    let own = run_steps(
        ctx.clone(),
        program.steps,
        (Arc::clone(&spawned), group.clone(), Arc::clone(&updates)),
    )
    .await?;
    group.wait().await;
    let from_coroutines = *spawned.lock();
    Ok(own + from_coroutines)
}

type StepsFuture = Pin<Box<dyn Future<Output = Result<u64, WorkflowError>> + Send>>;

/// Arguments of the updates that arrived, by update name.
type Updates = Arc<Mutex<BTreeMap<String, u64>>>;

/// Runs `steps` in order; spawned coroutines add their sums to `spawned` and leave `group`;
/// an update step takes its argument from `updates`.
fn run_steps(
    ctx: WorkflowContext,
    steps: Vec<Step>,
    (spawned, group, updates): (Arc<Mutex<u64>>, WaitGroup, Updates),
) -> StepsFuture {
    Box::pin(async move {
        let mut sum = 0u64;
        for step in steps {
            sum += match step {
                Step::Activity {
                    id,
                    failing,
                    millis,
                } => u64::from(ctx.run_activity::<attempt>(&(id, failing, millis)).await?),
                Step::Timer { millis } => {
                    let _ = ctx.sleep(Duration::from_millis(u64::from(millis))).await;
                    1
                }
                Step::SideEffect { value } => u64::from(ctx.side_effect(|| value)?),
                Step::MutableSideEffect { id, value } => u64::from(ctx.mutable_side_effect(
                    &format!("mutable-{id}"),
                    || value,
                    |old, new| old == new,
                )?),
                Step::Race {
                    timer_millis,
                    activity_millis,
                } => {
                    let mut selector = Selector::new();
                    selector
                        .add_future(
                            ctx.sleep(Duration::from_millis(u64::from(timer_millis))),
                            |_| (),
                        )
                        .add_future(
                            ctx.run_activity::<attempt>(&(0, 0, activity_millis)),
                            |_| (),
                        );
                    selector.select().await;
                    1
                }
                Step::Pipe { values } => {
                    let (sender, receiver) = channel::<u8>(1);
                    let count = values.len();
                    ctx.spawn(async move {
                        for value in values {
                            sender.send(value).await;
                        }
                    });
                    let mut sum = 0u64;
                    for _ in 0..count {
                        sum += receiver.recv().await.map_or(0, u64::from);
                    }
                    sum
                }
                Step::Version { change } => {
                    let version = ctx.get_version(&format!("change-{change}"), -1, 1);
                    u64::from(version == 1)
                }
                Step::Spawn(steps) => {
                    group.add(1);
                    let inner = (Arc::clone(&spawned), group.clone(), Arc::clone(&updates));
                    let inner_ctx = ctx.clone();
                    let done = group.clone();
                    let total = Arc::clone(&spawned);
                    ctx.spawn(async move {
                        // A coroutine's failure surfaces as a missing contribution.
                        if let Ok(value) = run_steps(inner_ctx, steps, inner).await {
                            *total.lock() += value;
                        }
                        done.done();
                    });
                    0
                }
                Step::AwaitUpdate { name } => {
                    let name = update_name(name);
                    let arrived = Arc::clone(&updates);
                    let key = name.clone();
                    ctx.wait_condition(move || arrived.lock().contains_key(&key))
                        .await;
                    updates.lock().remove(&name).unwrap_or_default()
                }
                Step::AwaitSignal { name } => {
                    ctx.signal_channel(&signal_name(name))
                        .recv_json::<u64>()
                        .await?
                }
            };
        }
        Ok(sum)
    })
}

/// Registers the interpreter and its activity.
pub fn register(worker: &mut Worker) {
    worker.register::<program>().register::<attempt>();
}

#[cfg(test)]
mod tests {
    use endure::activity::ActivityDefinition;

    #[test]
    fn the_activity_has_the_type_core_programs_schedule() {
        assert_eq!(
            <super::attempt as ActivityDefinition>::NAME,
            endure_core::workload::ACTIVITY_TYPE
        );
    }
}
