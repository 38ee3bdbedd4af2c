//! The workflow API driven end to end in-process: the real execution machine stands in for
//! the engine, the replay machine cuts activations, the executor runs async workflow code; a
//! simulated activity worker, clock and signaller play the rest. Every finished history is
//! then replayed with the same code and must match.

// The simulated activity worker returns `Failure`s by value, as an activity function would.
#![allow(clippy::result_large_err)]

use std::sync::Arc;
use std::time::Duration;

use endure_core::execution::*;
use endure_core::history::{EventType, HistoryEvent};
use endure_core::replay::{ReplayError, ReplayMachine};
use endure_core::simulated_run::SimulatedRun;
use endure_core::time::Timestamp;
use endure_core::*;
use parking_lot::Mutex;

use super::*;

const T0: Timestamp = Timestamp::from_unix_seconds(1_795_860_000);

type Activity =
    Arc<dyn Fn(&str, &Payloads, u32) -> Result<Option<Payloads>, Failure> + Send + Sync>;

pub(super) fn json<T: serde::Serialize>(value: &T) -> Payloads {
    Payloads::one(Payload::json(value).unwrap())
}

/// Runs a workflow to its close on the simulated engine; returns the history.
fn run(
    make: &dyn Fn() -> WorkflowFunction,
    activity: Activity,
    signals: &[(&str, &str)],
) -> Vec<HistoryEvent> {
    let mut executor = WorkflowExecutor::new(make());
    SimulatedRun {
        workflow: Box::new(|activation| executor.activate(activation).unwrap()),
        activity: Box::new(|scheduled, attempt| {
            activity(scheduled.activity_type.as_str(), &scheduled.input, attempt)
        }),
        signals: signals
            .iter()
            .map(|(name, value)| SignalRequest {
                signal_name: SignalName::new(*name).unwrap(),
                input: json(value),
                identity: "client".into(),
                header: Header::new(),
                request_id: None,
            })
            .collect(),
        updates: Vec::new(),
        attempts: None,
    }
    .run(json(&"input"))
}

/// Replays a closed history with a fresh executor of the same workflow.
pub(super) fn replay_history(
    history: &[HistoryEvent],
    make: &dyn Fn() -> WorkflowFunction,
) -> Result<(), ReplayError> {
    let mut machine = ReplayMachine::new();
    machine.feed(history.iter().cloned())?;
    let mut executor = WorkflowExecutor::new(make());
    while let Some(activation) = machine.next_activation()? {
        let commands = executor
            .activate(&activation)
            .expect("replayed activation runs");
        assert!(machine.complete(commands)?.is_empty());
    }
    Ok(())
}

pub(super) fn types(history: &[HistoryEvent]) -> Vec<EventType> {
    history.iter().map(HistoryEvent::event_type).collect()
}

pub(super) fn result_of(history: &[HistoryEvent]) -> Option<Payloads> {
    match &history.last().unwrap().attributes {
        endure_core::EventAttributes::WorkflowExecutionCompleted(a) => a.result.clone(),
        other => panic!("not completed: {other:?}"),
    }
}

/// Answers its arguments as its one result value (several arguments as a list).
fn echo_activity() -> Activity {
    Arc::new(|_, input, _| {
        let value: serde_json::Value = input
            .decode_arguments()
            .map_err(|e| Failure::application(e.to_string(), "PayloadError"))?;
        let payload = endure_core::Payload::encode(&value)
            .map_err(|e| Failure::application(e.to_string(), "PayloadError"))?;
        Ok(Some(Payloads::one(payload)))
    })
}

pub(super) fn workflow<F, Fut>(body: F) -> impl Fn() -> WorkflowFunction
where
    F: Fn(WorkflowContext, Payloads) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = WorkflowResult> + Send + 'static,
{
    move || {
        let body = body.clone();
        Box::new(move |ctx, input| Box::pin(body(ctx, input)) as BoxFuture<WorkflowResult>)
    }
}

fn options() -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(10))
}

#[test]
fn quickstart_order_workflow_runs_and_replays() {
    let make = workflow(|ctx: WorkflowContext, input: Payloads| async move {
        let user: String = input.0[0].decode()?;
        let ctx = ctx.with_activity_options(ActivityOptions {
            retry_policy: Some(RetryPolicy::with_maximum_attempts(3)),
            ..options()
        });
        let sent: String = ctx
            .execute_activity("SendEmail", &(user, "Order Created"))
            .await?;
        ctx.sleep(Duration::from_secs(5)).await.ok();
        Ok(Some(json(&format!("workflow_completed_{sent}"))))
    });
    let activity: Activity = Arc::new(|name, _, _| {
        assert_eq!(name, "SendEmail");
        Ok(Some(json(&"sent")))
    });
    let history = run(&make, activity, &[]);
    assert_eq!(
        types(&history),
        types(&endure_core::history::samples::quickstart_history().events)
    );
    assert_eq!(result_of(&history), Some(json(&"workflow_completed_sent")));
    replay_history(&history, &make).unwrap();
}

#[test]
fn activity_failures_reach_the_workflow_with_their_cause() {
    let make = workflow(|ctx: WorkflowContext, _| async move {
        let ctx = ctx.with_activity_options(ActivityOptions {
            retry_policy: Some(RetryPolicy::with_maximum_attempts(2)),
            ..options()
        });
        match ctx.execute_activity::<_, String>("Flaky", &1).await {
            Ok(_) => Ok(Some(json(&"unexpected"))),
            Err(error) => Ok(Some(json(&error.0.root_cause().message))),
        }
    });
    let activity: Activity = Arc::new(|_, _, attempt| {
        Err(Failure::application(
            format!("attempt {attempt} failed"),
            "Flaky",
        ))
    });
    let history = run(&make, activity, &[]);
    assert_eq!(result_of(&history), Some(json(&"attempt 2 failed")));
    replay_history(&history, &make).unwrap();
}

#[test]
fn spawned_coroutines_channels_and_wait_groups_are_deterministic() {
    let make = workflow(|ctx: WorkflowContext, _| async move {
        let (sender, receiver) = channel::<u32>(0);
        let group = WaitGroup::new();
        for index in 0..3u32 {
            let ctx2 = ctx.with_activity_options(options());
            let sender = sender.clone();
            let group = group.clone();
            group.add(1);
            ctx.spawn(async move {
                let doubled: u32 = ctx2.execute_activity("Double", &index).await.unwrap_or(0);
                sender.send(doubled).await;
                group.done();
            });
        }
        let mut received = Vec::new();
        for _ in 0..3 {
            received.push(receiver.recv().await.unwrap_or(0));
        }
        group.wait().await;
        assert!(receiver.try_recv().is_none());
        Ok(Some(json(&received)))
    });
    let activity: Activity = Arc::new(|_, input, _| {
        let value: u32 = input.0[0].decode().unwrap();
        Ok(Some(json(&(value * 2))))
    });
    let history = run(&make, activity, &[]);
    let scheduled = history
        .iter()
        .filter(|e| e.event_type() == EventType::ActivityTaskScheduled)
        .count();
    assert_eq!(scheduled, 3, "three activities in one task");
    assert_eq!(
        result_of(&history),
        Some(json(&vec![0u32, 2, 4])),
        "FIFO order of coroutines and activities"
    );
    replay_history(&history, &make).unwrap();
}

#[test]
fn signals_wait_conditions_and_selectors() {
    let make = workflow(|ctx: WorkflowContext, _| async move {
        let approvals = ctx.signal_channel("approve");
        let count = Arc::new(Mutex::new(0u32));
        let counter = Arc::clone(&count);
        let signals = ctx.signal_channel("approve");
        ctx.spawn(async move {
            for _ in 0..2 {
                signals.recv().await;
                *counter.lock() += 1;
            }
        });
        let watched = Arc::clone(&count);
        ctx.wait_condition(move || *watched.lock() >= 2).await;
        assert!(
            approvals.try_recv().is_none(),
            "the spawned coroutine took both"
        );
        let mut selector = Selector::new();
        let timer = ctx.timer(Duration::from_secs(60));
        selector.add_future(ctx.timer(Duration::from_secs(10)), |_| "short");
        selector.add_future(timer, |_| "long");
        let first = selector.select().await;
        Ok(Some(json(&first)))
    });
    let history = run(
        &make,
        echo_activity(),
        &[("approve", "a"), ("approve", "b")],
    );
    assert_eq!(result_of(&history), Some(json(&Some("short"))));
    replay_history(&history, &make).unwrap();
}

#[test]
fn cancelling_a_scope_cancels_its_timer() {
    let make = workflow(|ctx: WorkflowContext, _| async move {
        let (scoped, handle) = ctx.with_cancel();
        let timer = scoped.timer(Duration::from_secs(3600));
        ctx.sleep(Duration::from_secs(1)).await.ok();
        handle.cancel();
        let outcome = timer.await;
        Ok(Some(json(&(outcome == Err(Canceled)))))
    });
    let history = run(&make, echo_activity(), &[]);
    assert!(types(&history).contains(&EventType::TimerCanceled));
    assert_eq!(result_of(&history), Some(json(&true)));
    replay_history(&history, &make).unwrap();
}

#[test]
fn side_effects_and_random_replay_their_recorded_values() {
    let calls = Arc::new(Mutex::new(0u32));
    let counter = Arc::clone(&calls);
    let make = workflow(move |ctx: WorkflowContext, _| {
        let counter = Arc::clone(&counter);
        async move {
            let value: u32 = ctx.side_effect(|| {
                *counter.lock() += 1;
                41 + *counter.lock()
            })?;
            let random = ctx.random_u64();
            let uuid = ctx.uuid();
            ctx.sleep(Duration::from_secs(1)).await.ok();
            Ok(Some(json(&(value, random, uuid))))
        }
    });
    let history = run(&make, echo_activity(), &[]);
    assert!(types(&history).contains(&EventType::MarkerRecorded));
    assert_eq!(*calls.lock(), 1);
    let recorded = result_of(&history);
    replay_history(&history, &make).unwrap();
    assert_eq!(
        *calls.lock(),
        1,
        "replay reads the marker instead of running the side effect"
    );
    let (value, _, _): (u32, u64, String) = recorded.unwrap().0[0].decode().unwrap();
    assert_eq!(value, 42);
}

#[test]
fn get_version_keeps_old_runs_on_the_old_path() {
    let old_code = workflow(|ctx: WorkflowContext, _| async move {
        ctx.sleep(Duration::from_secs(1)).await.ok();
        Ok(Some(json(&"old")))
    });
    let new_code = workflow(|ctx: WorkflowContext, _| async move {
        let version = ctx.get_version("add-timer", DEFAULT_VERSION, 1);
        if version == DEFAULT_VERSION {
            ctx.sleep(Duration::from_secs(1)).await.ok();
            Ok(Some(json(&"old")))
        } else {
            ctx.sleep(Duration::from_secs(2)).await.ok();
            Ok(Some(json(&"new")))
        }
    });
    let old_history = run(&old_code, echo_activity(), &[]);
    replay_history(&old_history, &new_code).expect("an old run replays on the old path");
    let new_history = run(&new_code, echo_activity(), &[]);
    assert_eq!(result_of(&new_history), Some(json(&"new")));
    replay_history(&new_history, &new_code).unwrap();
    let broken = replay_history(&new_history, &old_code);
    assert!(
        matches!(broken, Err(ReplayError::Nondeterminism(_))),
        "{broken:?}"
    );
}

#[test]
fn reordering_activities_is_nondeterminism() {
    let make = |first: &'static str, second: &'static str| {
        workflow(move |ctx: WorkflowContext, _| async move {
            let ctx = ctx.with_activity_options(options());
            let _: String = ctx.execute_activity(first, &"x").await?;
            let _: String = ctx.execute_activity(second, &"x").await?;
            Ok(None)
        })
    };
    let history = run(&make("Charge", "Ship"), echo_activity(), &[]);
    let error = replay_history(&history, &make("Ship", "Charge")).unwrap_err();
    let ReplayError::Nondeterminism(nondeterminism) = error else {
        panic!("{error:?}")
    };
    assert_eq!(nondeterminism.event_id.get(), 5);
    assert!(
        nondeterminism.expected.contains("Charge"),
        "{nondeterminism}"
    );
    assert!(nondeterminism.actual.contains("Ship"), "{nondeterminism}");
}

/// The activation of a run's first workflow task (no input).
fn first_task_activation() -> endure_core::replay::Activation {
    let mut history = endure_core::history::HistoryBuilder::new(T0, Duration::from_millis(1));
    let queue = TaskQueueName::new("q").unwrap();
    history.add_workflow_execution_started(
        WorkflowType::new("Test").unwrap(),
        queue.clone(),
        Payloads::empty(),
        RunId::from_u128(1),
    );
    let scheduled = history.add_workflow_task_scheduled(queue);
    history.add_workflow_task_started(scheduled);
    let mut machine = ReplayMachine::new();
    machine.feed(history.build().events).unwrap();
    machine.next_activation().unwrap().unwrap()
}

#[tokio::test]
async fn awaiting_a_tokio_timer_fails_the_task_with_a_named_error() {
    let make = workflow(|_ctx: WorkflowContext, _| async move {
        tokio::time::sleep(Duration::from_millis(5)).await;
        Ok(None)
    });
    {
        let activation = first_task_activation();
        let mut executor = WorkflowExecutor::new(make());
        assert!(
            executor.activate(&activation).unwrap().is_empty(),
            "blocked on the tokio timer"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(
            executor.activate(&activation),
            Err(WorkflowTaskError::WakeOutsideActivation)
        );
    }
}

#[tokio::test]
async fn a_wake_from_outside_is_told_to_the_hook_once() {
    let (send, receive) = tokio::sync::oneshot::channel::<()>();
    let receive = Arc::new(Mutex::new(Some(receive)));
    let make = workflow(move |_ctx: WorkflowContext, _| {
        let receive = receive.lock().take();
        async move {
            if let Some(receive) = receive {
                let _ = receive.await;
            }
            Ok(None)
        }
    });
    let activation = first_task_activation();
    let told = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = Arc::clone(&told);
    let mut executor = WorkflowExecutor::new(make()).with_outside_wake_hook(Arc::new(move || {
        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }));
    assert!(executor.activate(&activation).unwrap().is_empty());
    assert_eq!(told.load(std::sync::atomic::Ordering::SeqCst), 0);
    send.send(()).unwrap();
    assert_eq!(
        told.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "told at the wake"
    );
    assert_eq!(
        executor.activate(&activation),
        Err(WorkflowTaskError::WakeOutsideActivation)
    );
    assert_eq!(
        told.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "told once"
    );
}

#[test]
fn a_panic_fails_the_task_not_the_workflow() {
    let make = workflow(|_ctx: WorkflowContext, _| async move { panic!("bug in workflow code") });
    let activation = first_task_activation();
    let mut executor = WorkflowExecutor::new(make());
    assert_eq!(
        executor.activate(&activation),
        Err(WorkflowTaskError::Panicked("bug in workflow code".into()))
    );
}

#[test]
fn the_replayer_checks_exported_histories() {
    let make = |first: &'static str| {
        workflow(move |ctx: WorkflowContext, _| async move {
            let ctx = ctx.with_activity_options(options());
            let _: String = ctx.execute_activity(first, &"x").await?;
            ctx.sleep(Duration::from_secs(1)).await.ok();
            Ok(None)
        })
    };
    let history = run(&make("Charge"), echo_activity(), &[]);
    let json = endure_core::history::HistoryExport::new(history.clone()).to_json();
    crate::Replayer::new(make("Charge"))
        .replay_json(&json)
        .unwrap();
    match crate::Replayer::new(make("Refund")).replay_json(&json) {
        Err(crate::ReplayFailure::Nondeterminism(nondeterminism)) => {
            assert_eq!(nondeterminism.event_id.get(), 5);
            assert_eq!(
                nondeterminism.expected,
                "ActivityTaskScheduled (activity 1 of type Charge)"
            );
            assert_eq!(
                nondeterminism.actual,
                "ScheduleActivityTask (activity 1 of type Refund)"
            );
        }
        other => panic!("expected nondeterminism, got {other:?}"),
    }
    // A history cut in the middle of a task replays up to where it ends.
    crate::Replayer::new(make("Charge"))
        .replay_history(&history[..8])
        .unwrap();
    assert!(matches!(
        crate::Replayer::new(make("Charge")).replay_json("{\"format\": \"x\"}"),
        Err(crate::ReplayFailure::Export(_))
    ));
}

#[test]
fn mutable_side_effects_are_recorded_only_when_they_change() {
    let readings = Arc::new(Mutex::new(vec![1u32, 1, 2]));
    let source = Arc::clone(&readings);
    let make = workflow(move |ctx: WorkflowContext, _| {
        let source = Arc::clone(&source);
        async move {
            let mut seen = Vec::new();
            for _ in 0..3 {
                let source = Arc::clone(&source);
                let value: u32 = ctx.mutable_side_effect(
                    "config",
                    move || source.lock().remove(0),
                    |a, b| a == b,
                )?;
                seen.push(value);
                ctx.sleep(Duration::from_secs(1)).await.ok();
            }
            Ok(Some(json(&seen)))
        }
    });
    let history = run(&make, echo_activity(), &[]);
    let markers = history
        .iter()
        .filter(|event| event.event_type() == EventType::MarkerRecorded)
        .count();
    assert_eq!(
        markers, 2,
        "1 recorded, 1 unchanged (not recorded), 2 recorded"
    );
    assert_eq!(result_of(&history), Some(json(&vec![1u32, 1, 2])));
    *readings.lock() = vec![9, 9, 9];
    replay_history(&history, &make).expect("replay reads the recorded values, not the new source");
}

mod programs {
    //! Random async workflow programs: run live, then replayed, must emit the same commands.

    use proptest::prelude::*;

    use super::*;

    #[derive(Clone, Copy, Debug)]
    enum Step {
        Activity,
        Timer(u8),
        Parallel(u8),
        SideEffect,
        Signal,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            Just(Step::Activity),
            (1u8..90).prop_map(Step::Timer),
            (1u8..4).prop_map(Step::Parallel),
            Just(Step::SideEffect),
            Just(Step::Signal),
        ]
    }

    fn program(steps: Vec<Step>) -> impl Fn() -> WorkflowFunction {
        workflow(move |ctx: WorkflowContext, _| {
            let steps = steps.clone();
            async move {
                let ctx = ctx.with_activity_options(options());
                let mut trace = Vec::new();
                for (index, step) in steps.into_iter().enumerate() {
                    match step {
                        Step::Activity => {
                            let value: u32 = ctx.execute_activity("Echo", &(index as u32)).await?;
                            trace.push(value);
                        }
                        Step::Timer(seconds) => {
                            ctx.sleep(Duration::from_secs(u64::from(seconds)))
                                .await
                                .ok();
                        }
                        Step::Parallel(count) => {
                            let group = WaitGroup::new();
                            for _ in 0..count {
                                let ctx = ctx.clone();
                                let group = group.clone();
                                group.add(1);
                                ctx.clone().spawn(async move {
                                    let _: Result<u32, _> =
                                        ctx.execute_activity("Echo", &0u32).await;
                                    group.done();
                                });
                            }
                            group.wait().await;
                        }
                        Step::SideEffect => {
                            let value: u64 = ctx.side_effect(|| 7)?;
                            trace.push(value as u32);
                        }
                        Step::Signal => {
                            ctx.signal_channel("go").recv().await;
                        }
                    }
                }
                Ok(Some(json(&trace)))
            }
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn programs_replay_with_identical_commands(steps in proptest::collection::vec(step(), 0..7)) {
            let signals = steps.iter().filter(|step| matches!(step, Step::Signal)).count();
            let signal_list: Vec<(&str, &str)> = (0..signals).map(|_| ("go", "now")).collect();
            let make = program(steps);
            let history = run(&make, echo_activity(), &signal_list);
            prop_assert!(replay_history(&history, &make).is_ok());
        }
    }
}

/// Spec §5.5: iterating a hash map in workflow code is a determinism hazard, because its
/// order depends on the hasher's keys, which differ between processes (std seeds them
/// randomly). The worker that replays a history is often not the one that wrote it.
#[test]
fn iterating_a_hash_map_is_a_replay_hazard_and_sorted_keys_are_not() {
    use std::collections::HashMap;
    use std::hash::{BuildHasher, DefaultHasher, Hasher};

    /// A hasher seeded like std's `RandomState`, but with a seed the test picks.
    #[derive(Clone, Copy)]
    struct Seeded(u64);
    impl BuildHasher for Seeded {
        type Hasher = DefaultHasher;
        fn build_hasher(&self) -> DefaultHasher {
            let mut hasher = DefaultHasher::new();
            hasher.write_u64(self.0);
            hasher
        }
    }
    let customers = ["ada", "bob", "cy", "dee", "eve", "fay", "gus", "hal"];
    let amounts = move |seed| {
        let mut map = HashMap::with_hasher(Seeded(seed));
        for (amount, customer) in (1u32..).zip(customers) {
            map.insert(customer.to_owned(), amount);
        }
        map
    };
    // Two processes, two iteration orders.
    let order = |seed| amounts(seed).into_keys().collect::<Vec<_>>();
    assert_ne!(order(1), order(2), "the seeds must give different orders");

    // The hazard: one activity per entry, scheduled in the map's order. Each activity
    // echoes its input, and the code logs whom it charged beside what the activity answered.
    type Log = Arc<Mutex<Vec<(String, String)>>>;
    let iterating = |seed: u64, named_ids: bool, log: Log| {
        workflow(move |ctx: WorkflowContext, _| {
            let log = Arc::clone(&log);
            async move {
                for (customer, amount) in amounts(seed) {
                    let ctx = ctx.with_activity_options(ActivityOptions {
                        activity_id: named_ids
                            .then(|| ActivityId::new(format!("charge-{customer}")).unwrap()),
                        ..options()
                    });
                    let (charged, _): (String, u32) =
                        ctx.execute_activity("Charge", &(&customer, amount)).await?;
                    log.lock().push((customer, charged));
                }
                Ok(None)
            }
        })
    };
    let live = Log::default();
    let history = run(
        &iterating(1, false, Arc::clone(&live)),
        echo_activity(),
        &[],
    );
    assert!(
        live.lock()
            .iter()
            .all(|(customer, charged)| customer == charged)
    );
    // Replayed in another process, the same code quietly pairs results with the wrong
    // customers: ids from sequence numbers and one activity type cannot tell them apart.
    let replayed = Log::default();
    replay_history(&history, &iterating(2, false, Arc::clone(&replayed))).unwrap();
    assert!(
        replayed
            .lock()
            .iter()
            .any(|(customer, charged)| customer != charged),
        "{:?}",
        replayed.lock()
    );
    // With activity ids naming the customer the mismatch is at least caught on replay.
    let history = run(&iterating(1, true, Log::default()), echo_activity(), &[]);
    let replayed = replay_history(&history, &iterating(2, true, Log::default()));
    assert!(
        matches!(replayed, Err(ReplayError::Nondeterminism(_))),
        "{replayed:?}"
    );

    // The deterministic alternative: collect the keys and sort them (or keep a BTreeMap).
    let sorted = |seed: u64| {
        workflow(move |ctx: WorkflowContext, _| async move {
            let ctx = ctx.with_activity_options(options());
            let amounts = amounts(seed);
            let mut customers: Vec<&String> = amounts.keys().collect();
            customers.sort();
            for customer in customers {
                let _: String = ctx
                    .execute_activity("Charge", &(customer, amounts[customer]))
                    .await?;
            }
            Ok(None)
        })
    };
    let history = run(&sorted(1), echo_activity(), &[]);
    replay_history(&history, &sorted(2)).unwrap();
    replay_history(&history, &sorted(3)).unwrap();
}
