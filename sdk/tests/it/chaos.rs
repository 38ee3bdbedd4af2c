//! Chaos without madsim (`testing::check_seeds`): the spec's nondeterminism examples (map
//! iteration order, `tokio::time` in workflow code, activities reordered by randomness) are
//! each caught within ten seeds; a deterministic workflow passes every seed under every
//! fault, its history showing the faults; one seed reproduces its log and histories.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use endure::chaos::{Chaos, ChaosEvent, ChaosKind};
use endure::testing::{SeedFailure, check_seeds};
use endure::workflow::{ActivityError, WorkflowContext, WorkflowError};
use endure::*;
use parking_lot::Mutex;

#[endure::activity(name = "Ship")]
async fn ship(_ctx: ActivityContext, item: String) -> Result<String, ActivityError> {
    Ok(format!("shipped {item}"))
}

fn options() -> ActivityOptions {
    ActivityOptions {
        start_to_close_timeout: Some(Duration::from_secs(30)),
        retry_policy: Some(RetryPolicy {
            initial_interval: Duration::from_secs(1),
            ..RetryPolicy::default()
        }),
        ..ActivityOptions::default()
    }
}

/// Ships the items of a `HashMap` in its iteration order: random per map.
#[endure::workflow(name = "MapOrder")]
async fn map_order(ctx: WorkflowContext, _: ()) -> Result<Vec<String>, WorkflowError> {
    let ctx = ctx.with_activity_options(options());
    let stock: HashMap<&str, u32> = [("apple", 1), ("pear", 2), ("plum", 3), ("fig", 4)].into();
    let mut shipped = Vec::new();
    for item in stock.keys() {
        shipped.push(ctx.run_activity::<ship>(&(*item).to_owned()).await?);
    }
    Ok(shipped)
}

/// Waits with `tokio::time::sleep` instead of the workflow's timer.
#[endure::workflow(name = "TokioSleep")]
async fn tokio_sleep(ctx: WorkflowContext, _: ()) -> Result<String, WorkflowError> {
    let ctx = ctx.with_activity_options(options());
    tokio::time::sleep(Duration::from_secs(60)).await;
    Ok(ctx.run_activity::<ship>(&"late".to_owned()).await?)
}

/// Ships two items in an order chosen by OS randomness (a fresh `RandomState`'s hash).
#[endure::workflow(name = "CoinOrder")]
async fn coin_order(ctx: WorkflowContext, _: ()) -> Result<Vec<String>, WorkflowError> {
    use std::hash::BuildHasher;
    let ctx = ctx.with_activity_options(options());
    let coin = std::collections::hash_map::RandomState::new()
        .hash_one(1u8)
        .is_multiple_of(2);
    let order = if coin { ["a", "b"] } else { ["b", "a"] };
    let mut shipped = Vec::new();
    for item in order {
        shipped.push(ctx.run_activity::<ship>(&item.to_owned()).await?);
    }
    Ok(shipped)
}

/// Runs workflow `W` once per seed 0..10 under chaos; the first failing seed.
fn first_failure<W>(test: &str) -> Box<SeedFailure>
where
    W: endure::workflow::WorkflowDefinition<Input = ()> + 'static,
{
    let failure = check_seeds(test, 0..10, Chaos::new, |environment| async move {
        let queue = TaskQueueName::new("chaos")?;
        let mut worker = environment.worker(queue.clone());
        worker
            .register_workflow_definition::<W>()
            .register::<ship>();
        environment.spawn_worker(worker);
        let options = StartWorkflowOptions::new(WorkflowId::new("wf")?, queue);
        let handle = environment.client().start::<W>(options, &()).await?;
        handle.result::<serde_json::Value>().await?;
        Ok(())
    })
    .expect_err("a nondeterministic workflow is caught within ten seeds");
    assert!(failure.seed < 10);
    assert!(
        failure
            .rerun
            .contains(&format!("ENDURE_SIM_SEED={}", failure.seed))
    );
    assert!(failure.rerun.contains(test), "{}", failure.rerun);
    let saved = failure.saved_to.as_ref().expect("the report is saved");
    assert!(saved.join("failure.txt").exists());
    assert!(saved.join("faults.txt").exists());
    failure
}

/// The run's history in the failure report holds a workflow task failed as
/// nondeterministic, and the JSON saved for it reads back.
fn assert_failed_as_nondeterministic(failure: &SeedFailure) {
    let (run, events) = failure.histories.iter().next().expect("one run");
    let failed = events
        .iter()
        .find_map(|event| match &event.attributes {
            EventAttributes::WorkflowTaskFailed(failed) => Some((event.event_id, failed)),
            _ => None,
        })
        .expect("a workflow task failed");
    assert_eq!(
        failed.1.cause,
        WorkflowTaskFailedCause::NonDeterministicError
    );
    // The failed task is the one started just before it.
    let started = &events[usize::try_from(failed.1.started_event_id.get()).unwrap() - 1];
    assert!(
        matches!(started.attributes, EventAttributes::WorkflowTaskStarted(_)),
        "{started:?}"
    );
    assert!(started.event_id < failed.0);
    let file = failure
        .saved_to
        .as_ref()
        .unwrap()
        .join(format!("{}.json", run.replace('/', "--")));
    let export = HistoryExport::from_json(&std::fs::read_to_string(file).unwrap()).unwrap();
    assert_eq!(&export.events, events);
}

#[test]
fn map_iteration_order_is_caught() {
    let failure = first_failure::<map_order>("map_iteration_order_is_caught");
    assert!(failure.error.contains("not deterministic"), "{failure}");
    assert!(failure.error.contains("Ship"), "{failure}");
    assert_failed_as_nondeterministic(&failure);
}

#[test]
fn tokio_time_in_a_workflow_is_caught() {
    let failure = first_failure::<tokio_sleep>("tokio_time_in_a_workflow_is_caught");
    assert_eq!(failure.seed, 0, "found at once: {failure}");
    assert!(failure.error.contains("OutsideWake"), "{failure}");
    assert!(failure.error.contains("uses tokio"), "{failure}");
}

#[test]
fn activities_reordered_by_randomness_are_caught() {
    let failure = first_failure::<coin_order>("activities_reordered_by_randomness_are_caught");
    assert!(failure.error.contains("not deterministic"), "{failure}");
    assert_failed_as_nondeterministic(&failure);
}

/// Records each run of an attempt in a shared ledger (not idempotent).
struct Count;

impl endure::activity::ActivityDefinition for Count {
    const NAME: &'static str = "Count";
    type Input = String;
    type Output = String;
}

/// What activities did, across attempts.
#[derive(Clone, Default)]
struct Ledger(Arc<Mutex<Vec<String>>>);

#[endure::workflow(name = "Steady")]
async fn steady(ctx: WorkflowContext, items: Vec<String>) -> Result<String, WorkflowError> {
    let ctx = ctx.with_activity_options(options());
    let mut done = Vec::new();
    for item in items {
        done.push(ctx.run_activity::<Count>(&item).await?);
        ctx.sleep(Duration::from_secs(10)).await?;
    }
    let extra: String = ctx.signal_channel("extra").recv_json().await?;
    done.push(ctx.run_activity::<Count>(&extra).await?);
    Ok(done.join(","))
}

/// The deterministic workflow under every fault on one environment: its result, its
/// histories, the chaos log and what the ledger saw.
type Outcome = (
    String,
    BTreeMap<String, Vec<HistoryEvent>>,
    Vec<ChaosEvent>,
    Vec<String>,
);

fn steady_seeds(test: &str, seeds: std::ops::Range<u64>) -> Vec<Outcome> {
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let collected = Arc::clone(&outcomes);
    check_seeds(test, seeds, Chaos::new, move |environment| {
        let collected = Arc::clone(&collected);
        async move {
            let queue = TaskQueueName::new("steady")?;
            let ledger = Ledger::default();
            let mut worker = environment.worker(queue.clone());
            let recorded = ledger.clone();
            worker
                .register::<steady>()
                .register_activity::<Count, _, _>(move |_ctx, item: String| {
                    recorded.0.lock().push(item.clone());
                    async move { Ok(item) }
                });
            environment.spawn_worker(worker);
            let options = StartWorkflowOptions::new(WorkflowId::new("steady-1")?, queue);
            let items = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
            let handle = environment
                .client()
                .start::<steady>(options, &items)
                .await?;
            handle.signal("extra", &"d".to_owned()).await?;
            let result = handle.result::<String>().await?;
            let histories = environment.histories().await?;
            let log = environment.chaos().map(Chaos::log).unwrap_or_default();
            let ledger = ledger.0.lock().clone();
            collected.lock().push((result, histories, log, ledger));
            Ok(())
        }
    })
    .unwrap_or_else(|failure| panic!("{failure}"));
    std::mem::take(&mut *outcomes.lock())
}

#[test]
fn a_deterministic_workflow_passes_every_seed_and_its_history_shows_the_faults() {
    let outcomes = steady_seeds(
        "a_deterministic_workflow_passes_every_seed_and_its_history_shows_the_faults",
        0..10,
    );
    assert_eq!(outcomes.len(), 10);
    let mut kinds = std::collections::BTreeSet::new();
    for (result, histories, log, ledger) in &outcomes {
        assert_eq!(result, "a,b,c,d");
        kinds.extend(log.iter().map(|event| event.kind));
        assert!(
            log.iter().all(|event| !event.kind.is_violation()),
            "{log:?}"
        );
        let events = histories.values().next().expect("one run");
        let types: Vec<EventType> = events.iter().map(|e| e.event_type()).collect();
        assert_eq!(types.first(), Some(&EventType::WorkflowExecutionStarted));
        assert_eq!(types.last(), Some(&EventType::WorkflowExecutionCompleted));
        assert_eq!(
            types
                .iter()
                .filter(|t| **t == EventType::ActivityTaskCompleted)
                .count(),
            4
        );
        assert_eq!(
            types
                .iter()
                .filter(|t| **t == EventType::TimerFired)
                .count(),
            3
        );
        // Each attempt run twice or lost shows in the ledger; each failed or lost attempt
        // in the attempt the history records.
        let twice = log
            .iter()
            .filter(|e| e.kind == ChaosKind::ActivityTwice)
            .count();
        let lost = log
            .iter()
            .filter(|e| e.kind == ChaosKind::ActivityTimeout)
            .count();
        assert_eq!(ledger.len(), 4 + twice + lost, "{log:?} {ledger:?}");
        let retried: u32 = events
            .iter()
            .filter_map(|event| match &event.attributes {
                EventAttributes::ActivityTaskStarted(started) => Some(started.attempt - 1),
                _ => None,
            })
            .sum();
        let failed_or_lost = log
            .iter()
            .filter(|e| {
                matches!(
                    e.kind,
                    ChaosKind::ActivityFailure | ChaosKind::ActivityTimeout
                )
            })
            .count();
        assert_eq!(retried as usize, failed_or_lost, "{log:?}");
    }
    for kind in [
        ChaosKind::CacheEviction,
        ChaosKind::ActivityFailure,
        ChaosKind::ActivityTimeout,
        ChaosKind::ActivityTwice,
        ChaosKind::MessageDelay,
    ] {
        assert!(
            kinds.contains(&kind),
            "{kind:?} never injected in ten seeds"
        );
    }
}

#[test]
fn one_seed_reproduces_its_chaos_log_and_histories() {
    let test = "one_seed_reproduces_its_chaos_log_and_histories";
    let first = steady_seeds(test, 7..8);
    let second = steady_seeds(test, 7..8);
    let shape = |outcome: &Outcome| {
        let histories: Vec<Vec<(u64, EventType)>> = outcome
            .1
            .values()
            .map(|events| {
                events
                    .iter()
                    .map(|e| (e.event_id.get(), e.event_type()))
                    .collect()
            })
            .collect();
        (
            outcome.0.clone(),
            histories,
            outcome.2.clone(),
            outcome.3.clone(),
        )
    };
    assert!(!first[0].2.is_empty(), "seed 7 injects faults");
    assert_eq!(shape(&first[0]), shape(&second[0]));
}
