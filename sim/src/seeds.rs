//! Running a scenario over seeds: each seed on a fresh madsim runtime; a failure prints its
//! seed and the command that reruns just that seed.

use std::future::Future;
use std::time::Duration;

/// The environment variable that narrows a run to one seed.
pub const SEED_VARIABLE: &str = "ENDURE_SIM_SEED";

/// The environment variable that runs a range of seeds instead (`FIRST..END`, end
/// excluded): the soak (`scripts/soak`). Every seed runs even after one fails.
pub const SEEDS_VARIABLE: &str = "ENDURE_SIM_SEEDS";

/// Where a soak appends one JSON line per seed run: test, seed, outcome, faults injected.
pub const REPORT_VARIABLE: &str = "ENDURE_SIM_REPORT";

/// The seeds to run: `ENDURE_SIM_SEED` if set, else the `ENDURE_SIM_SEEDS` range, else
/// `seeds`.
pub fn seeds_to_run(seeds: &[u64]) -> Vec<u64> {
    if let Some(seed) = std::env::var(SEED_VARIABLE)
        .ok()
        .and_then(|seed| seed.parse().ok())
    {
        return vec![seed];
    }
    match std::env::var(SEEDS_VARIABLE)
        .ok()
        .as_deref()
        .and_then(parse_range)
    {
        Some(range) => range.collect(),
        None => seeds.to_vec(),
    }
}

/// `FIRST..END` as a range of seeds.
fn parse_range(text: &str) -> Option<std::ops::Range<u64>> {
    let (first, end) = text.split_once("..")?;
    Some(first.trim().parse().ok()?..end.trim().parse().ok()?)
}

/// Runs `scenario` once per seed, each on its own runtime with `time_limit` of simulated
/// time; returns each seed's result. A failing seed is reported with its rerun command
/// and then fails the test — at once, or, in a soak, after every seed has run.
pub fn run_seeds<T, F, Fut>(test: &str, seeds: &[u64], time_limit: Duration, scenario: F) -> Vec<T>
where
    F: Fn(u64) -> Fut + Sync,
    Fut: Future<Output = T>,
    T: Send,
{
    let soak = soaking();
    let mut results = Vec::new();
    let mut failed = Vec::new();
    for seed in seeds_to_run(seeds) {
        let (outcome, faults) = run_isolated(test, seed, time_limit, &scenario);
        report(test, seed, outcome.is_ok(), faults);
        match outcome {
            Ok(value) => results.push(value),
            Err(panic) if !soak => std::panic::resume_unwind(panic),
            Err(_) => failed.push(seed),
        }
    }
    assert!(failed.is_empty(), "{test} failed with seeds {failed:?}");
    results
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
    match run_isolated(test, seed, time_limit, scenario).0 {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// The outcome of one seed's run on a fresh thread, and the faults it injected.
fn run_isolated<T, F, Fut>(
    test: &str,
    seed: u64,
    time_limit: Duration,
    scenario: &F,
) -> (std::thread::Result<T>, u64)
where
    F: Fn(u64) -> Fut + Sync,
    Fut: Future<Output = T>,
    T: Send,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let outcome = run_seed_here(test, seed, time_limit, scenario);
                (outcome, crate::faults::injected_on_this_thread())
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Whether this is a soak: a range of seeds, every one run even after one fails.
pub(crate) fn soaking() -> bool {
    std::env::var(SEED_VARIABLE).is_err() && std::env::var(SEEDS_VARIABLE).is_ok()
}

/// Appends a line to the soak report, if one is asked for.
pub(crate) fn report(test: &str, seed: u64, ok: bool, faults: u64) {
    let Ok(path) = std::env::var(REPORT_VARIABLE) else {
        return;
    };
    let line = format!("{{\"test\":{test:?},\"seed\":{seed},\"ok\":{ok},\"faults\":{faults}}}\n");
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut file| std::io::Write::write_all(&mut file, line.as_bytes()));
    if let Err(error) = written {
        eprintln!("cannot append to the soak report {path}: {error}");
    }
}

fn run_seed_here<T, F, Fut>(
    test: &str,
    seed: u64,
    time_limit: Duration,
    scenario: &F,
) -> std::thread::Result<T>
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = T>,
{
    let mut runtime =
        madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
    runtime.set_time_limit(time_limit);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(async {
            let _logging = crate::logging::for_this_seed();
            scenario(seed).await
        })
    }));
    if outcome.is_err() {
        eprintln!(
            "simulation {test} failed with seed {seed}; rerun it with:\n  \
             {SEED_VARIABLE}={seed} RUSTFLAGS=\"--cfg madsim\" cargo test -p endure-scenarios \
             --profile sim --target-dir target/madsim {test}"
        );
    }
    outcome
}
