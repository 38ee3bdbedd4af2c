//! [`check_seeds`]: a scenario under chaos, once per seed, each on a fresh test environment
//! and runtime; the first failing seed comes back with everything needed to see why.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use endure_core::history::HistoryEvent;
use endure_core::{EventAttributes, WorkflowTaskFailedCause};

use super::TestEnvironment;
use super::report::{SEED_VARIABLE, SeedFailure, panic_message, seeds_to_run};
use crate::chaos::Chaos;

/// What a scenario may fail with.
pub type ScenarioError = Box<dyn std::error::Error + Send + Sync>;

/// The most skipped time a seed's scenario may take: past it the runs are stuck.
const SKIPPED_TIME_LIMIT: Duration = Duration::from_secs(365 * 24 * 3600);

/// Runs `scenario` once per seed of `seeds` (only `ENDURE_SIM_SEED`'s when it is set), each
/// on a fresh paused runtime (on a thread of its own) with a fresh
/// [`TestEnvironment::with_chaos`]`(chaos(seed))`; returns the first failing seed.
///
/// A seed fails when the scenario returns an error or panics, when it takes more than a
/// year of skipped time (a stuck run), when chaos found a violation (a replay that issued
/// other commands, a wake from outside the workflow) and when a history holds a workflow
/// task failed as nondeterministic. The [`SeedFailure`] holds the seed, its rerun command,
/// the chaos log and every history, saved as JSON under [`reports_dir`](super::reports_dir)
/// and printed.
///
/// ```
/// use endure::chaos::Chaos;
/// use endure::testing::check_seeds;
/// use endure::{StartWorkflowOptions, TaskQueueName, WorkflowContext, WorkflowError, WorkflowId};
///
/// #[endure::workflow(name = "Hello")]
/// async fn hello(_ctx: WorkflowContext, name: String) -> Result<String, WorkflowError> {
///     Ok(format!("hello {name}"))
/// }
///
/// check_seeds("hello", 0..3, Chaos::new, |environment| async move {
///     let queue = TaskQueueName::new("hello")?;
///     let mut worker = environment.worker(queue.clone());
///     worker.register::<hello>();
///     environment.spawn_worker(worker);
///     let options = StartWorkflowOptions::new(WorkflowId::new("hello-1")?, queue);
///     let handle = environment.client().start::<hello>(options, &"ada".to_owned()).await?;
///     assert_eq!(handle.result::<String>().await?, "hello ada");
///     Ok(())
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn check_seeds<C, F, Fut>(
    test: &str,
    seeds: impl IntoIterator<Item = u64>,
    chaos: C,
    scenario: F,
) -> Result<(), Box<SeedFailure>>
where
    C: Fn(u64) -> Chaos + Sync,
    F: Fn(TestEnvironment) -> Fut + Sync,
    Fut: Future<Output = Result<(), ScenarioError>> + Send + 'static,
{
    for seed in seeds_to_run(seeds) {
        let failure = std::thread::scope(|scope| {
            scope
                .spawn(|| run_seed(test, seed, chaos(seed), &scenario))
                .join()
                .unwrap_or_else(|panic| {
                    Some(failure(test, seed, panic_message(&*panic), Vec::new()))
                })
        });
        if let Some(mut failure) = failure {
            failure.save();
            eprintln!("{failure}");
            return Err(Box::new(failure));
        }
    }
    Ok(())
}

/// One seed on a fresh paused runtime; its failure, if it failed.
fn run_seed<F, Fut>(test: &str, seed: u64, chaos: Chaos, scenario: &F) -> Option<SeedFailure>
where
    F: Fn(TestEnvironment) -> Fut,
    Fut: Future<Output = Result<(), ScenarioError>> + Send + 'static,
{
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return Some(failure(test, seed, format!("no runtime: {error}"), vec![])),
    };
    runtime.block_on(async {
        let environment = match TestEnvironment::with_chaos(chaos.clone()).await {
            Ok(environment) => environment,
            Err(error) => {
                return Some(failure(test, seed, format!("no engine: {error}"), vec![]));
            }
        };
        let mut running = tokio::spawn(scenario(environment.clone()));
        // A violation ends the seed at once: its run would only retry its task.
        let finished = tokio::select! {
            biased;
            violation = chaos.violation() => {
                running.abort();
                return Some(report(test, seed, &chaos, &environment, violation.to_string()).await);
            }
            finished = tokio::time::timeout(SKIPPED_TIME_LIMIT, &mut running) => finished,
        };
        let outcome = match finished {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(error))) => Err(format!("the scenario failed: {error}")),
            Ok(Err(joined)) if joined.is_panic() => Err(format!(
                "the scenario panicked: {}",
                panic_message(&*joined.into_panic())
            )),
            Ok(Err(joined)) => Err(format!("the scenario was cancelled: {joined}")),
            Err(_) => Err(format!(
                "the scenario did not finish within {} days of skipped time: a run is stuck",
                SKIPPED_TIME_LIMIT.as_secs() / 86_400
            )),
        };
        let histories = environment.histories().await.unwrap_or_default();
        let error = outcome.err().or_else(|| violations(&chaos, &histories))?;
        Some(report(test, seed, &chaos, &environment, error).await)
    })
}

/// The failure of a seed with `error`: the chaos log and every history with it.
async fn report(
    test: &str,
    seed: u64,
    chaos: &Chaos,
    environment: &TestEnvironment,
    error: String,
) -> SeedFailure {
    let faults = chaos.log().iter().map(ToString::to_string).collect();
    let mut failure = failure(test, seed, error, faults);
    failure.histories = environment.histories().await.unwrap_or_default();
    failure
}

/// The built-in invariants: no violation in the chaos log, no task failed as
/// nondeterministic in any history.
fn violations(chaos: &Chaos, histories: &BTreeMap<String, Vec<HistoryEvent>>) -> Option<String> {
    if let Some(violation) = chaos.violations().first() {
        return Some(violation.to_string());
    }
    histories.iter().find_map(|(run, events)| {
        events.iter().find_map(|event| match &event.attributes {
            EventAttributes::WorkflowTaskFailed(failed)
                if failed.cause == WorkflowTaskFailedCause::NonDeterministicError =>
            {
                Some(format!(
                    "run {run}: workflow task failed as nondeterministic at event {}",
                    event.event_id.get()
                ))
            }
            _ => None,
        })
    })
}

/// A failure of `test` at `seed`, with its rerun command.
fn failure(test: &str, seed: u64, error: String, faults: Vec<String>) -> SeedFailure {
    let package = std::env::var("CARGO_PKG_NAME")
        .map(|name| format!(" -p {name}"))
        .unwrap_or_default();
    SeedFailure {
        test: test.to_owned(),
        seed,
        error,
        faults,
        histories: BTreeMap::new(),
        rerun: format!("{SEED_VARIABLE}={seed} cargo test{package} {test}"),
        saved_to: None,
    }
}
