//! Running a scenario over seeds: each seed on a fresh madsim runtime; a failure prints its
//! seed and the command that reruns just that seed.

use std::future::Future;
use std::time::Duration;

/// The environment variable that narrows a run to one seed.
pub const SEED_VARIABLE: &str = "ENDURE_SIM_SEED";

/// The seeds to run: `ENDURE_SIM_SEED` if set, else `seeds`.
pub fn seeds_to_run(seeds: &[u64]) -> Vec<u64> {
    match std::env::var(SEED_VARIABLE)
        .ok()
        .and_then(|seed| seed.parse().ok())
    {
        Some(seed) => vec![seed],
        None => seeds.to_vec(),
    }
}

/// Runs `scenario` once per seed, each on its own runtime with `time_limit` of simulated
/// time; returns each seed's result. A failing seed is reported with its rerun command and
/// then fails the test.
pub fn run_seeds<T, F, Fut>(test: &str, seeds: &[u64], time_limit: Duration, scenario: F) -> Vec<T>
where
    F: Fn(u64) -> Fut + Sync,
    Fut: Future<Output = T>,
    T: Send,
{
    seeds_to_run(seeds)
        .into_iter()
        .map(|seed| run_seed(test, seed, time_limit, &scenario))
        .collect()
}

/// Runs `scenario` for one seed (see [`run_seeds`]) on a thread of its own, as madsim's
/// test runner does: std's hasher keys are drawn once per thread, from madsim's seeded
/// generator, so a fresh thread per seed makes them the seed's.
pub fn run_seed<T, F, Fut>(test: &str, seed: u64, time_limit: Duration, scenario: &F) -> T
where
    F: Fn(u64) -> Fut + Sync,
    Fut: Future<Output = T>,
    T: Send,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| run_seed_here(test, seed, time_limit, scenario))
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

fn run_seed_here<T, F, Fut>(test: &str, seed: u64, time_limit: Duration, scenario: &F) -> T
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = T>,
{
    let mut runtime =
        madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
    runtime.set_time_limit(time_limit);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(scenario(seed))
    }));
    match outcome {
        Ok(value) => value,
        Err(panic) => {
            eprintln!(
                "simulation {test} failed with seed {seed}; rerun it with:\n  \
                 {SEED_VARIABLE}={seed} RUSTFLAGS=\"--cfg madsim\" cargo test -p endure-scenarios \
                 --profile sim --target-dir target/madsim {test}"
            );
            std::panic::resume_unwind(panic)
        }
    }
}
