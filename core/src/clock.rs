//! The Clock port: the engine's only source of time.
//!
//! Adapters: the system clock (virtualised by madsim under simulation), later a skewed clock
//! for the simulator and a skipping clock for the test environment.

use std::future::Future;

use crate::time::Timestamp;

/// Tells the time and sleeps. The engine reads time only here.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> Timestamp;

    /// Resolves at or after `deadline` (at once if it has passed).
    fn sleep_until(&self, deadline: Timestamp) -> impl Future<Output = ()> + Send;
}
