//! Chaos for tests: faults a worker injects into its own work, drawn from a seed, so a bug
//! that production would show once a month shows in a test run — and again with the same
//! seed.
//!
//! Give a worker a [`Chaos`] in [`WorkerOptions::chaos`](crate::WorkerOptions::chaos) (the
//! [`TestEnvironment`](crate::testing::TestEnvironment) and the simulator do it for their
//! workers) and it:
//! - **replays every workflow task from scratch** beside the cached run and compares the
//!   commands both issue: code that is not deterministic (map iteration order, the system
//!   clock, randomness, global state) fails its task with `NonDeterministicError` at the
//!   first task where it matters, not weeks later when a worker restarts;
//! - **evicts runs from its cache** at random, so later tasks replay history;
//! - **fails activity attempts** before they run (a retryable `ChaosInjected` failure);
//! - **loses an attempt's result** after it ran, so the attempt times out (its
//!   start-to-close timeout) and is retried: the side effect happened, the workflow never
//!   heard;
//! - **runs an attempt twice** and reports once: at-least-once delivery made visible, so a
//!   side effect that is not idempotent shows up twice;
//! - **delays signals and updates** a client of the test environment sends (by skipped
//!   time), so they land at different points of the run;
//! - **reports a workflow woken from outside** (a `tokio` timer, channel or IO awaited in
//!   workflow code), which would otherwise leave the run silently stuck.
//!
//! Every injected fault and every violation found is recorded in the [`Chaos::log`], in
//! order. Workers given clones of one `Chaos` share its log; each draws from its own
//! generator, seeded from the seed and the worker's identity.

use std::sync::Arc;
use std::time::Duration;

use endure_core::random::SplitMix64;
use parking_lot::Mutex;

/// The failure type of an activity attempt failed by chaos.
pub const INJECTED_FAILURE_TYPE: &str = "ChaosInjected";

/// What chaos did, or found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ChaosKind {
    /// A run was evicted from the worker's cache after its task.
    CacheEviction,
    /// An activity attempt was failed before it ran.
    ActivityFailure,
    /// An activity attempt ran and its result was lost: it times out and is retried.
    ActivityTimeout,
    /// An activity attempt ran twice; its second result was reported.
    ActivityTwice,
    /// A signal or update was held back before it was sent.
    MessageDelay,
    /// A replay from scratch issued other commands than the cached run: the workflow's
    /// code is not deterministic (a violation).
    Nondeterminism,
    /// Workflow code was woken from outside the workflow (a violation).
    OutsideWake,
}

impl ChaosKind {
    /// Whether this entry is a bug found rather than a fault injected.
    pub fn is_violation(self) -> bool {
        matches!(self, Self::Nondeterminism | Self::OutsideWake)
    }
}

/// One entry of the chaos log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChaosEvent {
    /// What happened.
    pub kind: ChaosKind,
    /// The worker it happened on.
    pub worker: String,
    /// To which workflow, activity or message, and why.
    pub detail: String,
}

impl std::fmt::Display for ChaosEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} on {}: {}", self.kind, self.worker, self.detail)
    }
}

/// The probabilities and switches of chaos, and its shared log. Start from
/// [`Chaos::new`] (everything on, at rates that let most workflows finish) or
/// [`Chaos::quiet`] (nothing) and adjust:
///
/// ```
/// use std::time::Duration;
///
/// let chaos = endure::chaos::Chaos::quiet(7)
///     .replay_every_task(true)
///     .activity_twice(0.5)
///     .message_delays(Duration::from_secs(5));
/// assert!(chaos.log().is_empty());
/// ```
#[derive(Clone, Debug)]
pub struct Chaos {
    seed: u64,
    replay_every_task: bool,
    cache_eviction: f64,
    activity_failure: f64,
    activity_timeout: f64,
    activity_twice: f64,
    max_message_delay: Duration,
    rng: Arc<Mutex<SplitMix64>>,
    log: Arc<Mutex<Vec<ChaosEvent>>>,
    /// Woken at every violation recorded.
    violation_found: Arc<tokio::sync::Notify>,
}

impl Chaos {
    /// Every fault on: every task replayed and compared, one run in five evicted after its
    /// task, one activity attempt in ten failed, one in twenty losing its result, one in
    /// five run twice, signals and updates held up to five seconds.
    pub fn new(seed: u64) -> Self {
        Self {
            replay_every_task: true,
            cache_eviction: 0.2,
            activity_failure: 0.1,
            activity_timeout: 0.05,
            activity_twice: 0.2,
            max_message_delay: Duration::from_secs(5),
            ..Self::quiet(seed)
        }
    }

    /// No fault: turn on the ones wanted.
    pub fn quiet(seed: u64) -> Self {
        Self {
            seed,
            replay_every_task: false,
            cache_eviction: 0.0,
            activity_failure: 0.0,
            activity_timeout: 0.0,
            activity_twice: 0.0,
            max_message_delay: Duration::ZERO,
            rng: Arc::new(Mutex::new(SplitMix64::new(seed))),
            log: Arc::default(),
            violation_found: Arc::default(),
        }
    }

    /// Replays every workflow task from scratch and compares its commands.
    pub fn replay_every_task(mut self, on: bool) -> Self {
        self.replay_every_task = on;
        self
    }

    /// The probability a run is evicted from the cache after a task.
    pub fn cache_evictions(mut self, probability: f64) -> Self {
        self.cache_eviction = probability;
        self
    }

    /// The probability an activity attempt is failed before it runs.
    pub fn activity_failures(mut self, probability: f64) -> Self {
        self.activity_failure = probability;
        self
    }

    /// The probability an activity attempt's result is lost after it ran (it times out).
    pub fn activity_timeouts(mut self, probability: f64) -> Self {
        self.activity_timeout = probability;
        self
    }

    /// The probability an activity attempt runs twice.
    pub fn activity_twice(mut self, probability: f64) -> Self {
        self.activity_twice = probability;
        self
    }

    /// The longest a signal or update is held before it is sent (test environment clients).
    pub fn message_delays(mut self, longest: Duration) -> Self {
        self.max_message_delay = longest;
        self
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Everything injected and found so far, in order.
    pub fn log(&self) -> Vec<ChaosEvent> {
        self.log.lock().clone()
    }

    /// The violations found so far (nondeterminism, wakes from outside).
    pub fn violations(&self) -> Vec<ChaosEvent> {
        self.log
            .lock()
            .iter()
            .filter(|event| event.kind.is_violation())
            .cloned()
            .collect()
    }

    /// Resolves once a violation is in the log (at once if one already is).
    pub async fn violation(&self) -> ChaosEvent {
        loop {
            let notified = self.violation_found.notified();
            if let Some(violation) = self.violations().into_iter().next() {
                return violation;
            }
            notified.await;
        }
    }

    /// This chaos for the worker `identity`: the same log, a generator of its own seeded
    /// from the seed and the identity (so workers draw independently of each other's
    /// timing).
    pub fn for_worker(&self, identity: &str) -> Self {
        let mixed = identity
            .bytes()
            .fold(self.seed ^ 0xcbf2_9ce4_8422_2325, |hash, byte| {
                (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
            });
        Self {
            rng: Arc::new(Mutex::new(SplitMix64::new(mixed))),
            ..self.clone()
        }
    }

    /// Whether every task is replayed and compared.
    pub(crate) fn replays_every_task(&self) -> bool {
        self.replay_every_task
    }

    /// Draws whether a fault of probability `probability` happens.
    fn happens(&self, probability: f64) -> bool {
        if probability <= 0.0 {
            return false;
        }
        // 53 random bits as a fraction in [0, 1).
        let draw = (self.rng.lock().next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        draw < probability
    }

    /// Whether to evict the run after its task.
    pub(crate) fn evicts(&self) -> bool {
        self.happens(self.cache_eviction)
    }

    /// What to do to an activity attempt.
    pub(crate) fn activity_fault(&self) -> Option<ChaosKind> {
        if self.happens(self.activity_failure) {
            Some(ChaosKind::ActivityFailure)
        } else if self.happens(self.activity_timeout) {
            Some(ChaosKind::ActivityTimeout)
        } else if self.happens(self.activity_twice) {
            Some(ChaosKind::ActivityTwice)
        } else {
            None
        }
    }

    /// How long to hold a signal or update.
    pub(crate) fn message_delay(&self) -> Duration {
        let longest = u64::try_from(self.max_message_delay.as_millis()).unwrap_or(u64::MAX);
        if longest == 0 {
            return Duration::ZERO;
        }
        Duration::from_millis(self.rng.lock().below(longest + 1))
    }

    /// Records an entry.
    pub(crate) fn record(&self, kind: ChaosKind, worker: &str, detail: impl Into<String>) {
        let event = ChaosEvent {
            kind,
            worker: worker.to_owned(),
            detail: detail.into(),
        };
        if kind.is_violation() {
            tracing::error!(%event, "chaos found a violation");
        } else {
            tracing::debug!(%event, "chaos");
        }
        self.log.lock().push(event);
        if kind.is_violation() {
            self.violation_found.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_faults() {
        let draws = |chaos: &Chaos| -> Vec<Option<ChaosKind>> {
            (0..200).map(|_| chaos.activity_fault()).collect()
        };
        let a = Chaos::new(3).for_worker("w");
        let b = Chaos::new(3).for_worker("w");
        assert_eq!(draws(&a), draws(&b));
        let other = Chaos::new(3).for_worker("v");
        assert_ne!(draws(&a), draws(&other));
        // Every fault kind is drawn at these rates, and most attempts run untouched.
        let drawn = draws(&Chaos::new(11));
        for kind in [
            ChaosKind::ActivityFailure,
            ChaosKind::ActivityTimeout,
            ChaosKind::ActivityTwice,
        ] {
            assert!(drawn.contains(&Some(kind)), "{kind:?} never drawn");
        }
        assert!(drawn.iter().filter(|d| d.is_none()).count() > 100);
    }

    #[test]
    fn quiet_chaos_injects_nothing() {
        let chaos = Chaos::quiet(1);
        assert!((0..100).all(|_| chaos.activity_fault().is_none() && !chaos.evicts()));
        assert_eq!(chaos.message_delay(), Duration::ZERO);
        assert!(!chaos.replays_every_task());
    }

    #[test]
    fn clones_for_workers_share_the_log() {
        let chaos = Chaos::quiet(1);
        let worker = chaos.for_worker("w");
        worker.record(ChaosKind::CacheEviction, "w", "run r");
        worker.record(ChaosKind::OutsideWake, "w", "run r");
        assert_eq!(chaos.log().len(), 2);
        assert_eq!(chaos.violations().len(), 1);
        assert_eq!(chaos.violations()[0].kind, ChaosKind::OutsideWake);
        let delay = Chaos::quiet(2).message_delays(Duration::from_millis(10));
        assert!((0..50).all(|_| delay.message_delay() <= Duration::from_millis(10)));
    }
}
