//! The public simulation API: your own workflows and activities in a simulated deployment
//! (an engine on a simulated disk, N workers, a driver of your scenario), under the faults
//! you choose, over many seeds; a failing seed comes back with its rerun command, its fault
//! log and every history saved as JSON.
//!
//! Build a [`Simulation`] per seed (so state your activities and invariants share, such as
//! a fake payment provider, is fresh for each) and give the builder to [`check`]:
//!
//! ```ignore
//! endure_sim::simulation::check("orders_charge_once", 0..20, |_seed| {
//!     let bank = Bank::default();
//!     let audit = bank.clone();
//!     Simulation::new("orders")
//!         .workers(2, move |worker| {
//!             let bank = bank.clone();
//!             worker.register::<order>();
//!             worker.register_activity::<Charge, _, _>(move |ctx, cents| bank.charge(ctx, cents));
//!         })
//!         .faults(&[Fault::KillWorker, Fault::KillEngine])
//!         .replay::<order>()
//!         .invariant("each order is charged once", move |_outcome| audit.charged_once())
//!         .scenario(|driver| async move { /* start orders, wait for their results */ Ok(()) })
//! })?;
//! ```
//!
//! Built in, on every seed: every run well formed ([`check_run`]), closed within the
//! liveness bound once faults stop (no stuck runs), no timer early, every run of a type
//! given to [`Simulation::replay`] replaying, every resolution exactly once; and, with
//! [`Simulation::chaos`], no nondeterminism found by replaying every task. Runs only under
//! madsim: `RUSTFLAGS="--cfg madsim" cargo test --target-dir target/madsim`.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use endure::chaos::{Chaos, ChaosEvent};
use endure::testing::{SeedFailure, panic_message};
use endure::workflow::WorkflowDefinition;
use endure::{Client, Replayer, Worker, WorkerOptions};
use endure_core::EventAttributes;
use endure_core::history::HistoryEvent;
use endure_core::storage::VisibilityQuery;

use crate::cluster::{Cluster, ClusterConfig, StoreChoice};
use crate::diagnosis::stuck_report;
use crate::digest::outcome_digest;
use crate::faults::Fault as LoggedFault;
use crate::invariants::{check_closed, check_replays, check_run, check_timers_not_early};
use crate::swarm::{self, Fault};

/// A scenario's future.
type Driving = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// What a seed's run leaves: its histories, faults and digest.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The seed.
    pub seed: u64,
    /// Every run's final history, by `workflow-id/run-id`.
    pub histories: BTreeMap<String, Vec<HistoryEvent>>,
    /// The faults the simulator injected, in order.
    pub faults: Vec<LoggedFault>,
    /// What the workers' chaos injected and found, in order.
    pub chaos: Vec<ChaosEvent>,
    /// A digest of the histories and the fault log: equal for two runs of one seed.
    pub digest: u64,
}

impl Outcome {
    /// The result of workflow `workflow_id`'s run that completed (the last one, after
    /// retries or continue-as-new), decoded; `None` if no run of it completed, `Err` if the
    /// result does not decode as `T`.
    pub fn result<T: serde::de::DeserializeOwned>(
        &self,
        workflow_id: &str,
    ) -> Option<Result<T, String>> {
        let prefix = format!("{workflow_id}/");
        self.histories
            .iter()
            .filter(|(run, _)| run.starts_with(&prefix))
            .flat_map(|(_, events)| events.iter())
            .filter_map(|event| match &event.attributes {
                EventAttributes::WorkflowExecutionCompleted(completed) => {
                    Some((event.event_time, completed))
                }
                _ => None,
            })
            .max_by_key(|(time, _)| *time)
            .map(|(_, completed)| {
                let payloads = completed.result.clone().unwrap_or_default();
                endure::decode_arguments(&payloads).map_err(|error| error.to_string())
            })
    }
}

/// What a scenario drives the deployment with, on a client node of its own.
#[derive(Clone)]
pub struct Driver {
    /// A client of the engine.
    pub client: Client,
    /// The deployment, for faults the scenario times itself (`cluster.kill("worker-1")`).
    pub cluster: Arc<Cluster>,
    /// The seed.
    pub seed: u64,
}

/// A user invariant: `Ok` or what broke.
type Invariant = Arc<dyn Fn(&Outcome) -> Result<(), String> + Send + Sync>;

/// One seed's deployment and scenario; see the [module](self).
pub struct Simulation {
    task_queue: String,
    workers: usize,
    register: Arc<dyn Fn(&mut Worker) + Send + Sync>,
    faults: Vec<Fault>,
    faults_max: u32,
    config: ClusterConfig,
    chaos: Option<Chaos>,
    replayers: BTreeMap<&'static str, fn() -> Replayer>,
    invariants: Vec<(String, Invariant)>,
    scenario: Option<Arc<dyn Fn(Driver) -> Driving + Send + Sync>>,
    liveness_bound: Duration,
    time_limit: Duration,
}

impl Simulation {
    /// A deployment whose workers poll `task_queue`: one worker, no faults, no scenario yet.
    pub fn new(task_queue: &str) -> Self {
        Self {
            task_queue: task_queue.to_owned(),
            workers: 1,
            register: Arc::new(|_| {}),
            faults: Vec::new(),
            faults_max: 20,
            config: ClusterConfig::default(),
            chaos: None,
            replayers: BTreeMap::new(),
            invariants: Vec::new(),
            scenario: None,
            liveness_bound: Duration::from_secs(600),
            time_limit: Duration::from_secs(3_600),
        }
    }

    /// `count` workers (`worker-1`…), each built with what `register` registers; a worker
    /// restarted after a kill is built again (an empty cache, as after a crash).
    pub fn workers(
        mut self,
        count: usize,
        register: impl Fn(&mut Worker) + Send + Sync + 'static,
    ) -> Self {
        self.workers = count.max(1);
        self.register = Arc::new(register);
        self
    }

    /// Throws faults drawn from `faults` (see [`swarm::CATALOGUE`]: engine and worker kills,
    /// power loss inside a commit, fsync errors, partitions, one-way clogs, pauses, dropped
    /// connections, clock jumps, hostile peers, corrupt reads) one after another while the
    /// scenario runs, up to [`faults_max`](Self::faults_max).
    pub fn faults(mut self, faults: &[Fault]) -> Self {
        self.faults = faults.to_vec();
        self
    }

    /// The most faults thrown (20 by default).
    pub fn faults_max(mut self, max: u32) -> Self {
        self.faults_max = max;
        self
    }

    /// Delays each client and worker request by up to `longest` before it is sent.
    pub fn request_delays(mut self, longest: Duration) -> Self {
        self.config.max_request_delay = longest;
        self
    }

    /// Sends each client and worker request twice with probability `probability`.
    pub fn duplicate_requests(mut self, probability: f64) -> Self {
        self.config.duplicate_requests = probability;
        self
    }

    /// Starts each engine with its clock off by up to `largest`, either way.
    pub fn clock_skew(mut self, largest: Duration) -> Self {
        self.config.max_clock_skew = largest;
        self
    }

    /// Workers inject `chaos` into their own work: every task replayed and compared, cache
    /// evictions, activity attempts failed, lost (timed out) or run twice (see
    /// [`endure::chaos`]). Its log is in the [`Outcome`]; its violations fail the seed.
    pub fn chaos(mut self, chaos: Chaos) -> Self {
        self.chaos = Some(chaos);
        self
    }

    /// Anything else of the deployment: engine and worker options, the TCP server's
    /// limits, codecs.
    pub fn configure(mut self, configure: impl FnOnce(&mut ClusterConfig)) -> Self {
        configure(&mut self.config);
        self
    }

    /// Replays every final history of workflow type `W` with today's code (the built-in
    /// determinism check; runs of types not given are not replayed).
    pub fn replay<W: WorkflowDefinition>(mut self) -> Self {
        self.replayers.insert(W::NAME, Replayer::for_workflow::<W>);
        self
    }

    /// Adds an invariant of your own, checked after the built-in ones: `name` says what it
    /// holds in a failure.
    pub fn invariant(
        mut self,
        name: &str,
        check: impl Fn(&Outcome) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.invariants.push((name.to_owned(), Arc::new(check)));
        self
    }

    /// Every run must close within `bound` of simulated time once faults stop (600 s by
    /// default).
    pub fn liveness_bound(mut self, bound: Duration) -> Self {
        self.liveness_bound = bound;
        self
    }

    /// The most simulated time a seed may take (an hour by default).
    pub fn time_limit(mut self, limit: Duration) -> Self {
        self.time_limit = limit;
        self
    }

    /// The scenario: what clients do (start workflows, signal, wait for results), on a
    /// client node; an `Err` fails the seed. Retry calls the faults make fail:
    /// [`crate::driver::start_until_taken`], [`crate::driver::result_when_reachable`].
    pub fn scenario<F, Fut>(mut self, scenario: F) -> Self
    where
        F: Fn(Driver) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.scenario = Some(Arc::new(move |driver| Box::pin(scenario(driver))));
        self
    }

    /// Runs this deployment for `seed` inside the current madsim runtime; `Err` with what
    /// failed and the histories read, if any could be.
    pub async fn run(
        self,
        seed: u64,
    ) -> Result<Outcome, (String, BTreeMap<String, Vec<HistoryEvent>>, Vec<String>)> {
        let mut config = self.config.clone();
        config.store = StoreChoice::Disk { seed };
        config.worker = WorkerOptions {
            chaos: self.chaos.clone(),
            ..config.worker
        };
        let cluster = Arc::new(Cluster::start(config));
        let names: Vec<String> = (1..=self.workers)
            .map(|number| format!("worker-{number}"))
            .collect();
        for name in &names {
            let (identity, queue, register) = (
                name.clone(),
                self.task_queue.clone(),
                Arc::clone(&self.register),
            );
            cluster.add_worker(name, move |transport, options| {
                let mut worker = Worker::new(
                    transport,
                    endure_core::Namespace::default(),
                    endure_core::TaskQueueName::new(queue.as_str())
                        .expect("a valid task queue name"),
                    WorkerOptions {
                        identity: identity.clone(),
                        ..options.clone()
                    },
                );
                register(&mut worker);
                worker
            });
        }
        // The scenario on its own node; faults until it is done.
        let done = Arc::new(AtomicBool::new(false));
        let driving = self.scenario.clone().map(|scenario| {
            let driver = Driver {
                client: cluster.client(),
                cluster: Arc::clone(&cluster),
                seed,
            };
            let finished = Arc::clone(&done);
            cluster.add_client_node("driver").spawn(async move {
                let outcome = scenario(driver).await;
                finished.store(true, Ordering::SeqCst);
                outcome
            })
        });
        let workers: Vec<&str> = names.iter().map(String::as_str).collect();
        swarm::throw(
            &cluster,
            &workers,
            &self.faults,
            || done.load(Ordering::SeqCst),
            0,
            self.faults_max,
        )
        .await;
        let driven = match driving {
            Some(driving) => {
                let driven = async {
                    driving
                        .await
                        .unwrap_or_else(|error| Err(format!("the scenario's task failed: {error}")))
                };
                // A violation chaos found ends the seed: its run would only retry its task.
                match &self.chaos {
                    Some(chaos) => tokio::select! {
                        biased;
                        violation = chaos.violation() => Err(format!("chaos found {violation}")),
                        driven = driven => driven,
                    },
                    None => driven.await,
                }
            }
            None => Ok(()),
        };
        let fault_lines = || {
            let mut lines: Vec<String> = cluster
                .faults
                .entries()
                .iter()
                .map(|fault| {
                    format!(
                        "{:>9} ms {:?} {}",
                        fault.at_millis, fault.kind, fault.detail
                    )
                })
                .collect();
            if let Some(chaos) = &self.chaos {
                lines.extend(chaos.log().iter().map(|event| format!("chaos: {event}")));
            }
            lines
        };
        let liveness = match &driven {
            Ok(()) => all_closed(&cluster, self.liveness_bound).await,
            Err(_) => Ok(()),
        };
        let histories = cluster.histories().await;
        let broken = driven
            .map_err(|error| match error {
                found if found.starts_with("chaos found") => found,
                error => format!("the scenario failed: {error}"),
            })
            .and(liveness)
            .and_then(|()| self.built_in(&histories));
        if let Err(error) = broken {
            return Err((error, histories, fault_lines()));
        }
        let faults = cluster.faults.entries();
        let outcome = Outcome {
            seed,
            digest: outcome_digest(&histories, &faults),
            histories,
            faults,
            chaos: self.chaos.as_ref().map(Chaos::log).unwrap_or_default(),
        };
        for (name, invariant) in &self.invariants {
            if let Err(broken) = invariant(&outcome) {
                return Err((
                    format!("invariant \"{name}\" broken: {broken}"),
                    outcome.histories,
                    fault_lines(),
                ));
            }
        }
        Ok(outcome)
    }

    /// The built-in invariants over every final history.
    fn built_in(&self, histories: &BTreeMap<String, Vec<HistoryEvent>>) -> Result<(), String> {
        if let Some(violation) = self
            .chaos
            .as_ref()
            .and_then(|c| c.violations().first().cloned())
        {
            return Err(format!("chaos found {violation}"));
        }
        for (run, history) in histories {
            let checked = check_run(run, history)
                .and_then(|()| check_closed(run, history))
                .and_then(|()| check_timers_not_early(run, history));
            checked.map_err(|violation| format!("{violation:?}"))?;
            let workflow_type = history.first().and_then(|event| match &event.attributes {
                EventAttributes::WorkflowExecutionStarted(started) => {
                    Some(started.workflow_type.as_str())
                }
                _ => None,
            });
            if let Some(replayer) = workflow_type.and_then(|t| self.replayers.get(t)) {
                check_replays(run, history, &replayer())
                    .map_err(|violation| format!("{violation:?}"))?;
            }
        }
        Ok(())
    }
}

/// Waits until every run has closed, for at most `bound` of simulated time; else the
/// stuck report of the first open one.
#[allow(
    clippy::disallowed_methods,
    reason = "the bound is on the simulator's clock, not an engine input"
)]
async fn all_closed(cluster: &Cluster, bound: Duration) -> Result<(), String> {
    let client = cluster.client();
    let (faults, tasks) = (cluster.faults.clone(), cluster.tasks());
    cluster
        .on_client("liveness", async move {
            let deadline = tokio::time::Instant::now() + bound;
            loop {
                let open = client
                    .list_workflows(VisibilityQuery::default(), 0, 100_000)
                    .await
                    .ok()
                    .map(|rows| rows.into_iter().find(|row| !row.status.is_closed()));
                match open {
                    Some(None) => return Ok(()),
                    Some(Some(row)) if tokio::time::Instant::now() >= deadline => {
                        let id = row.execution.workflow_id.to_string();
                        let handle = client.handle(row.execution.workflow_id, None);
                        let tasks = tasks.report(&id).await;
                        return Err(
                            stuck_report(&id, bound, &handle, tasks, &faults.entries()).await
                        );
                    }
                    None if tokio::time::Instant::now() >= deadline => {
                        return Err(format!("liveness: the engine did not answer in {bound:?}"));
                    }
                    _ => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
        })
        .await
}

/// Runs the simulation `build` makes for each seed of `seeds` (`ENDURE_SIM_SEED` alone, or
/// the `ENDURE_SIM_SEEDS` range, when set), each on a fresh madsim runtime seeded with it;
/// returns every outcome, or the first failing seed's report (saved under
/// [`endure::testing::reports_dir`] and printed, with its rerun command).
pub fn check(
    test: &str,
    seeds: impl IntoIterator<Item = u64>,
    build: impl Fn(u64) -> Simulation + Sync,
) -> Result<Vec<Outcome>, Box<SeedFailure>> {
    let seeds: Vec<u64> = seeds.into_iter().collect();
    let mut outcomes = Vec::new();
    let mut first_failure = None;
    for seed in crate::seeds::seeds_to_run(&seeds) {
        let (outcome, injected) = run_one(test, seed, &build);
        crate::seeds::report(test, seed, outcome.is_ok(), injected);
        match outcome {
            Ok(outcome) => outcomes.push(outcome),
            Err(mut failure) => {
                failure.save();
                eprintln!("{failure}");
                first_failure.get_or_insert(failure);
                if !crate::seeds::soaking() {
                    break;
                }
            }
        }
    }
    match first_failure {
        Some(failure) => Err(failure),
        None => Ok(outcomes),
    }
}

/// One seed on a thread and runtime of its own (see [`crate::seeds::run_seed`]), and how
/// many faults it injected.
fn run_one(
    test: &str,
    seed: u64,
    build: &(impl Fn(u64) -> Simulation + Sync),
) -> (Result<Outcome, Box<SeedFailure>>, u64) {
    let (outcome, injected) = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let simulation = build(seed);
                let limit = simulation.time_limit;
                let mut runtime =
                    madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
                runtime.set_time_limit(limit);
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    runtime.block_on(async {
                        let _logging = crate::logging::for_this_seed();
                        simulation.run(seed).await
                    })
                }));
                (outcome, crate::faults::injected_on_this_thread())
            })
            .join()
            .unwrap_or_else(|panic| (Err(panic), 0))
    });
    let (error, histories, faults) = match outcome {
        Ok(Ok(outcome)) => return (Ok(outcome), injected),
        Ok(Err(failed)) => failed,
        Err(panic) => (
            format!(
                "panicked: {} (histories unread: the simulation stopped)",
                panic_message(&*panic)
            ),
            BTreeMap::new(),
            Vec::new(),
        ),
    };
    let package = std::env::var("CARGO_PKG_NAME")
        .map(|name| format!(" -p {name}"))
        .unwrap_or_default();
    let failure = Box::new(SeedFailure {
        test: test.to_owned(),
        seed,
        error,
        faults,
        histories,
        rerun: format!(
            "{}={seed} RUSTFLAGS=\"--cfg madsim\" cargo test{package} --target-dir \
             target/madsim {test}",
            crate::seeds::SEED_VARIABLE
        ),
        saved_to: None,
    });
    (Err(failure), injected)
}
