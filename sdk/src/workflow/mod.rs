//! The workflow side of the SDK: the context workflow code runs with, and the executor that
//! runs it deterministically over activations from the replay machine.
//!
//! **How handlers share workflow state:** workflow code is an `async` function taking a
//! [`WorkflowContext`]; state shared between the main coroutine, spawned coroutines and
//! (later) signal, query and update handlers lives in ordinary shared cells the function
//! creates (`Arc<Mutex<…>>` or the workflow's own channels). All of them run on the
//! workflow's single executor, one at a time, in a deterministic order, so the locks are
//! never contended and reads are repeatable on replay — the Rust form of the Go closures in
//! spec §5.19.
//!
//! **Determinism rules (spec §5.5).** Workflow code is replayed, often by another process,
//! and must issue the same commands in the same order each time. Use the context's
//! equivalents of what Go forbids: `ctx.now()` not `SystemTime::now()`, `ctx.sleep` /
//! `ctx.timer` not `tokio::time::sleep` (awaiting a tokio timer fails the task with a named
//! error), `ctx.spawn` not `tokio::spawn`, [`channel`] and [`Selector`] not tokio's,
//! `ctx.logger()` (silent during replay), `ctx.random_u64` / `ctx.side_effect` for
//! randomness, and activities for any IO.
//!
//! **Map iteration.** Never let a `HashMap`'s or `HashSet`'s iteration order decide what the
//! workflow does: std seeds their hashers randomly per process, so the replaying worker
//! sees another order. Worse than a failure, with sequence-numbered activity ids the replay
//! may *succeed* and hand each result to the wrong entry. Iterate a `BTreeMap`, or collect
//! the keys and sort them first:
//!
//! ```
//! # use std::collections::HashMap;
//! fn charge_order(amounts: &HashMap<String, u32>) -> Vec<(&String, u32)> {
//!     let mut customers: Vec<&String> = amounts.keys().collect();
//!     customers.sort(); // the same order in every process
//!     customers.into_iter().map(|c| (c, amounts[c])).collect()
//! }
//! # let amounts = HashMap::from([("bob".to_owned(), 2), ("ada".to_owned(), 1)]);
//! # assert_eq!(charge_order(&amounts)[0].0, "ada");
//! ```
//!
//! The test `iterating_a_hash_map_is_a_replay_hazard_and_sorted_keys_are_not` shows both
//! the hazard and the fix.

mod child;
mod context;
mod continue_as_new;
pub(crate) mod definition;
pub(crate) mod executor;
mod external;
mod local_activity;
mod local_activity_marker;
mod markers;
mod random;
mod scoped;
mod search_attributes;
mod session;
mod state;
mod sync;
mod update;

#[cfg(test)]
mod session_tests;
#[cfg(test)]
mod tests;

pub use child::{ChildWorkflowError, ChildWorkflowHandle, ChildWorkflowOptions};
pub use context::{
    ActivityFuture, CancelHandle, Canceled, ReplayAwareLogger, SignalChannel, Timer,
    WorkflowContext, WorkflowInfo,
};
pub use continue_as_new::ContinueAsNewOptions;
pub use definition::WorkflowDefinition;
pub use executor::{
    BoxFuture, STACK_TRACE_QUERY, WorkflowExecutor, WorkflowFunction, WorkflowResult,
};
pub use local_activity::{
    LOCAL_ACTIVITY_MARKER, LocalActivityOptions, LocalActivityOutcome, LocalActivityRequest,
};
pub use local_activity_marker::LocalActivityMarkerData;
pub use markers::DEFAULT_VERSION;
pub use session::{
    DEFAULT_SESSION_HEARTBEAT_TIMEOUT, SESSION_COMPLETION_ACTIVITY, SESSION_CREATION_ACTIVITY,
    SESSION_FAILED_ERROR_TYPE, SessionError, SessionInfo, SessionOptions, SessionState,
};
pub(crate) use session::{SessionCreated, TOO_MANY_SESSIONS, creation_task_queue};
pub use state::{
    ActivityError, ExternalWorkflowError, RESULT_PENDING_ERROR_TYPE, WorkflowError,
    WorkflowTaskError,
};
pub use sync::{
    Receiver, Selector, Sender, SettableFuture, Setter, WaitGroup, channel, settable_future,
};
