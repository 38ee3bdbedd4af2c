//! The random workload: workflow programs generated from a seed, run by one interpreter
//! workflow (`Program`) with one activity (`Attempt`), whose result is known in advance.
//!
//! A program is a list of [`Step`]s — activities that fail their first attempts and are
//! retried, durable timers, side effects and mutable side effects, versions, coroutines
//! spawned with their own steps (joined with a wait group), selectors racing a timer
//! against an activity, channels between coroutines, and waits for signals — so a run exercises the
//! features together under whatever faults the scenario throws. [`Program::expected`] is
//! the result a correct engine must produce; [`Program::signals`] the signals the driver
//! must send (each consumed by exactly one step).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use endure::workflow::{
    ActivityError, Selector, WaitGroup, WorkflowContext, WorkflowError, channel,
};
use endure::{ActivityContext, ActivityOptions, RetryPolicy, Worker};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// One step of a program.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    /// Run the `Attempt` activity: its first `failing` attempts fail, each takes `millis`;
    /// contributes `id`.
    Activity {
        /// Contributed to the result.
        id: u32,
        /// Attempts that fail before one succeeds.
        failing: u8,
        /// How long an attempt works.
        millis: u16,
    },
    /// Sleep on a durable timer; contributes 1.
    Timer {
        /// How long.
        millis: u16,
    },
    /// Record a side effect; contributes its value.
    SideEffect {
        /// The value.
        value: u32,
    },
    /// Ask for a version of a change (new runs get the newest, 1); contributes 1.
    Version {
        /// The change.
        change: u8,
    },
    /// Run these steps in a new coroutine; the program waits for it at its end; contributes
    /// what the steps contribute.
    Spawn(Vec<Self>),
    /// Wait for one signal named `signal-{name}`; contributes its value.
    AwaitSignal {
        /// The signal's name suffix.
        name: u8,
    },
    /// Record a mutable side effect under `id`; contributes its value.
    MutableSideEffect {
        /// The side effect's id (a later step may change its value).
        id: u8,
        /// The value.
        value: u32,
    },
    /// Select between a timer and an activity, whichever is first; contributes 1.
    Race {
        /// The timer.
        timer_millis: u16,
        /// The activity's duration.
        activity_millis: u16,
    },
    /// A coroutine sends `values` over a channel one by one; the program receives them;
    /// contributes their sum.
    Pipe {
        /// The values sent.
        values: Vec<u8>,
    },
}

/// A generated program: what to run and what it must return.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Program {
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// SplitMix64: a tiny generator, so a program is a pure function of its seed.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }
}

impl Program {
    /// The program of `seed`: up to `length` steps at the top, coroutines nested once.
    pub fn generate(seed: u64, length: usize) -> Self {
        let mut rng = SplitMix(seed);
        let mut next_signal = 0u8;
        let steps = generate_steps(&mut rng, length, 1, &mut next_signal);
        Self { steps }
    }

    /// The result a correct run returns.
    pub fn expected(&self) -> u64 {
        contribution(&self.steps)
    }

    /// The signals to send, as (name, value): each is consumed by one step.
    pub fn signals(&self) -> Vec<(String, u64)> {
        let mut signals = Vec::new();
        collect_signals(&self.steps, &mut signals);
        signals
    }
}

fn generate_steps(rng: &mut SplitMix, length: usize, depth: u8, next_signal: &mut u8) -> Vec<Step> {
    let count = 1 + rng.below(length as u64) as usize;
    (0..count)
        .map(|_| match rng.below(12) {
            0..=3 => Step::Activity {
                id: rng.below(1_000) as u32,
                failing: rng.below(3) as u8,
                millis: rng.below(400) as u16,
            },
            4..=5 => Step::Timer {
                millis: 1 + rng.below(3_000) as u16,
            },
            6 => Step::SideEffect {
                value: rng.below(100) as u32,
            },
            7 => match rng.below(4) {
                0 => Step::Version {
                    change: rng.below(3) as u8,
                },
                1 => Step::MutableSideEffect {
                    id: rng.below(2) as u8,
                    value: rng.below(50) as u32,
                },
                2 => Step::Race {
                    timer_millis: 1 + rng.below(2_000) as u16,
                    activity_millis: rng.below(2_000) as u16,
                },
                _ => Step::Pipe {
                    values: (0..1 + rng.below(4)).map(|_| rng.below(20) as u8).collect(),
                },
            },
            8..=9 if depth > 0 => Step::Spawn(generate_steps(rng, 3, depth - 1, next_signal)),
            _ => {
                *next_signal += 1;
                Step::AwaitSignal { name: *next_signal }
            }
        })
        .collect()
}

fn contribution(steps: &[Step]) -> u64 {
    steps
        .iter()
        .map(|step| match step {
            Step::Activity { id, .. } => u64::from(*id),
            Step::Timer { .. } | Step::Version { .. } | Step::Race { .. } => 1,
            Step::SideEffect { value } | Step::MutableSideEffect { value, .. } => u64::from(*value),
            Step::Pipe { values } => values.iter().map(|value| u64::from(*value)).sum(),
            Step::Spawn(steps) => contribution(steps),
            Step::AwaitSignal { name } => signal_value(*name),
        })
        .sum()
}

fn collect_signals(steps: &[Step], signals: &mut Vec<(String, u64)>) {
    for step in steps {
        match step {
            Step::AwaitSignal { name } => signals.push((signal_name(*name), signal_value(*name))),
            Step::Spawn(steps) => collect_signals(steps, signals),
            _ => {}
        }
    }
}

fn signal_name(name: u8) -> String {
    format!("signal-{name}")
}

fn signal_value(name: u8) -> u64 {
    u64::from(name) * 10
}

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
    let spawned = Arc::new(Mutex::new(0u64));
    let group = WaitGroup::new();
    let own = run_steps(
        ctx.clone(),
        program.steps,
        Arc::clone(&spawned),
        group.clone(),
    )
    .await?;
    group.wait().await;
    let from_coroutines = *spawned.lock();
    Ok(own + from_coroutines)
}

type StepsFuture = Pin<Box<dyn Future<Output = Result<u64, WorkflowError>> + Send>>;

/// Runs `steps` in order; spawned coroutines add their sums to `spawned` and leave `group`.
fn run_steps(
    ctx: WorkflowContext,
    steps: Vec<Step>,
    spawned: Arc<Mutex<u64>>,
    group: WaitGroup,
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
                    let (inner_ctx, inner_spawned, inner_group) =
                        (ctx.clone(), Arc::clone(&spawned), group.clone());
                    let done = group.clone();
                    let total = Arc::clone(&spawned);
                    ctx.spawn(async move {
                        // A coroutine's failure surfaces as a missing contribution.
                        if let Ok(value) =
                            run_steps(inner_ctx, steps, inner_spawned, inner_group).await
                        {
                            *total.lock() += value;
                        }
                        done.done();
                    });
                    0
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
    use super::*;

    #[test]
    fn a_seed_always_gives_the_same_program_and_result() {
        for seed in 0..50 {
            let program = Program::generate(seed, 8);
            assert_eq!(program, Program::generate(seed, 8));
            assert!(!program.steps.is_empty());
            let signals = program.signals();
            let names: std::collections::BTreeSet<&String> =
                signals.iter().map(|(name, _)| name).collect();
            assert_eq!(names.len(), signals.len(), "each signal name used once");
            assert!(program.expected() >= signals.iter().map(|(_, value)| value).sum::<u64>());
        }
    }
}
