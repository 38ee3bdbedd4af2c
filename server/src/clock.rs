//! The system clock adapter of the Clock port. Under `--cfg madsim` tokio's clock is the
//! simulator's, so this same code runs on virtual time.

use std::time::Duration;

use endure_core::clock::Clock;
use endure_core::time::Timestamp;

/// Wall-clock time, sleeping with tokio.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(
        clippy::disallowed_methods,
        reason = "the system Clock adapter is the one place that reads the OS clock"
    )]
    fn now(&self) -> Timestamp {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Timestamp::from_unix_nanos(u64::try_from(since_epoch.as_nanos()).unwrap_or(u64::MAX))
    }

    async fn sleep_until(&self, deadline: Timestamp) {
        let wait = deadline.saturating_duration_since(self.now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// A clock that moves only when told: for tests (and the base of a time-skipping clock).
#[derive(Debug)]
pub struct ManualClock {
    now: parking_lot::Mutex<Timestamp>,
    moved: tokio::sync::Notify,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: Timestamp) -> Self {
        Self {
            now: parking_lot::Mutex::new(start),
            moved: tokio::sync::Notify::new(),
        }
    }

    /// Moves the clock forward by `duration`, waking every sleeper whose time came.
    pub fn advance(&self, duration: Duration) {
        {
            let mut now = self.now.lock();
            *now = now.saturating_add(duration);
        }
        self.moved.notify_waiters();
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.lock()
    }

    async fn sleep_until(&self, deadline: Timestamp) {
        loop {
            // Register before checking, so a move between the check and the wait wakes us.
            let moved = self.moved.notified();
            let mut moved = std::pin::pin!(moved);
            moved.as_mut().enable();
            if self.now() >= deadline {
                return;
            }
            moved.await;
        }
    }
}

/// Time as tokio's clock measures it, from a fixed start: on a paused tokio runtime
/// (`#[tokio::test(start_paused = true)]`) time jumps to the next timer whenever every task
/// waits on one — the time-skipping clock of the test environment.
#[derive(Debug)]
pub struct TokioClock {
    start: Timestamp,
    origin: tokio::time::Instant,
}

impl TokioClock {
    /// A clock reading `start` now.
    pub fn new(start: Timestamp) -> Self {
        Self {
            start,
            origin: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Timestamp {
        self.start.saturating_add(self.origin.elapsed())
    }

    async fn sleep_until(&self, deadline: Timestamp) {
        let wait = deadline.saturating_duration_since(self.now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}
