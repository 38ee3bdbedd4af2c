//! The shard's one timer, kept armed across the turns of its loop and armed anew only when
//! the time it must wake at changes.
//!
//! A timer made afresh on every turn is a new entry in the runtime's timer wheel each time.
//! When the wheel held nothing earlier as the runtime's idle thread parked, every such entry
//! is earlier than that thread's wake-up, and the runtime wakes it to park again with the
//! new one: measured, 3.4 wake-ups of the other core per one-activity workflow run
//! sequentially, a third of all its cross-thread wake-ups. A timer that stays in the wheel
//! wakes nothing until a deadline comes earlier than the one it holds.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use endure_core::clock::Clock;
use endure_core::time::Timestamp;

/// A timer for one time at a time.
pub(super) struct Alarm {
    /// The time it is armed for; `None` before it is first armed and after it rang.
    at: Option<Timestamp>,
    sleep: Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl Alarm {
    /// An alarm armed for nothing: it never rings until armed.
    pub(super) fn new() -> Self {
        Self {
            at: None,
            sleep: Box::pin(std::future::pending()),
        }
    }

    /// Arms it for `at` on `clock`, unless it is armed for `at` already (its timer, and its
    /// place in the runtime's timer wheel, are kept).
    pub(super) fn arm<C: Clock>(&mut self, clock: &Arc<C>, at: Timestamp) {
        if self.at == Some(at) {
            return;
        }
        let clock = Arc::clone(clock);
        self.sleep = Box::pin(async move { clock.sleep_until(at).await });
        self.at = Some(at);
    }

    /// Resolves when the time it is armed for comes; it must then be armed again. Dropping
    /// this future before then leaves the alarm armed.
    pub(super) async fn rung(&mut self) {
        self.sleep.as_mut().await;
        self.at = None;
        self.sleep = Box::pin(std::future::pending());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::time::Duration;

    fn at(seconds: u64) -> Timestamp {
        Timestamp::from_unix_nanos(seconds * 1_000_000_000)
    }

    /// Polls `future` once: whether it resolved.
    fn resolves(future: impl Future<Output = ()>) -> bool {
        let mut future = std::pin::pin!(future);
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        future.as_mut().poll(&mut context).is_ready()
    }

    #[test]
    fn it_rings_at_the_time_it_is_armed_for_and_then_only_when_armed_again() {
        let clock = Arc::new(ManualClock::new(at(100)));
        let mut alarm = Alarm::new();
        assert!(
            !resolves(alarm.rung()),
            "an alarm armed for nothing never rings"
        );
        alarm.arm(&clock, at(105));
        assert!(!resolves(alarm.rung()));
        clock.advance(Duration::from_secs(5));
        assert!(resolves(alarm.rung()));
        assert_eq!(alarm.at, None);
        assert!(
            !resolves(alarm.rung()),
            "it rang: it waits to be armed again"
        );
        alarm.arm(&clock, at(105));
        assert!(
            resolves(alarm.rung()),
            "armed for a time that passed, it rings at once"
        );
    }

    #[test]
    fn arming_it_for_the_time_it_holds_keeps_its_timer_and_another_time_replaces_it() {
        let clock = Arc::new(ManualClock::new(at(100)));
        let mut alarm = Alarm::new();
        alarm.arm(&clock, at(200));
        let armed = std::ptr::from_ref(&*alarm.sleep).cast::<()>();
        alarm.arm(&clock, at(200));
        assert_eq!(std::ptr::from_ref(&*alarm.sleep).cast::<()>(), armed);
        alarm.arm(&clock, at(150));
        assert_eq!(alarm.at, Some(at(150)));
        clock.advance(Duration::from_secs(50));
        assert!(
            resolves(alarm.rung()),
            "it rings at the time it was armed for last"
        );
    }
}
