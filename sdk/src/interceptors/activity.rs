//! Activity interceptors' vocabulary: the future of an attempt an interceptor wraps
//! (activity inbound) and the heartbeat it observes (activity outbound).

use endure_core::Payloads;

use crate::workflow::{ActivityError, BoxFuture};

/// The future of one activity attempt: its result, or why it failed.
pub type ActivityRun = BoxFuture<Result<Option<Payloads>, ActivityError>>;

/// A heartbeat about to be sent.
#[derive(Debug)]
#[non_exhaustive]
pub struct Heartbeat<'a> {
    /// The details recorded with it, if they encoded.
    pub details: Option<&'a Payloads>,
}

/// `run` wrapped by each of `interceptors`, the first outermost.
pub(crate) fn intercept_activity(
    interceptors: &super::WorkerInterceptors,
    ctx: &crate::ActivityContext,
    run: ActivityRun,
) -> ActivityRun {
    interceptors.iter().rev().fold(run, |run, interceptor| {
        interceptor.execute_activity(ctx, run)
    })
}
