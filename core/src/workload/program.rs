//! Workflow programs: steps generated from a seed, the result they must return and the
//! signals they wait for.

use serde::{Deserialize, Serialize};

use crate::random::SplitMix64;

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
    /// Wait for update `update-{name}` (accepted and completed with its argument);
    /// contributes its value.
    AwaitUpdate {
        /// The update's name suffix.
        name: u8,
    },
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

impl Program {
    /// The program of `seed`: up to `length` steps at the top, coroutines nested once.
    pub fn generate(seed: u64, length: usize) -> Self {
        let mut rng = SplitMix64::new(seed);
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

    /// The updates to send, as (name, argument): each is awaited by one step, and its
    /// handler returns the argument.
    pub fn updates(&self) -> Vec<(String, u64)> {
        let mut updates = Vec::new();
        collect_updates(&self.steps, &mut updates);
        updates
    }
}

fn generate_steps(
    rng: &mut SplitMix64,
    length: usize,
    depth: u8,
    next_signal: &mut u8,
) -> Vec<Step> {
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
                if rng.below(3) == 0 {
                    Step::AwaitUpdate { name: *next_signal }
                } else {
                    Step::AwaitSignal { name: *next_signal }
                }
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
            Step::AwaitUpdate { name } => update_value(*name),
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

fn collect_updates(steps: &[Step], updates: &mut Vec<(String, u64)>) {
    for step in steps {
        match step {
            Step::AwaitUpdate { name } => updates.push((update_name(*name), update_value(*name))),
            Step::Spawn(steps) => collect_updates(steps, updates),
            _ => {}
        }
    }
}

/// The name of update `name`: `update-{name}`.
pub fn update_name(name: u8) -> String {
    format!("update-{name}")
}

/// The value update `name` carries, and that its step contributes.
pub fn update_value(name: u8) -> u64 {
    u64::from(name) * 7 + 1
}

/// The name of signal `name`: `signal-{name}`.
pub fn signal_name(name: u8) -> String {
    format!("signal-{name}")
}

/// The value signal `name` carries, and that its step contributes.
pub fn signal_value(name: u8) -> u64 {
    u64::from(name) * 10
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_always_gives_the_same_program_and_result() {
        let with_updates = (0..50)
            .filter(|seed| !Program::generate(*seed, 8).updates().is_empty())
            .count();
        assert!(
            with_updates > 5,
            "{with_updates} of 50 programs send updates"
        );
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
