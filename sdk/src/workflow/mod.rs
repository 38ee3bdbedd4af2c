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

mod context;
mod executor;
mod random;
mod state;
mod sync;

#[cfg(test)]
mod tests;

pub use context::{
    ActivityFuture, CancelHandle, Canceled, DEFAULT_VERSION, ReplayAwareLogger, SignalChannel,
    Timer, WorkflowContext, WorkflowInfo,
};
pub use executor::{BoxFuture, WorkflowExecutor, WorkflowFunction, WorkflowResult};
pub use state::{ActivityError, WorkflowError, WorkflowTaskError};
pub use sync::{
    Receiver, Selector, Sender, SettableFuture, Setter, WaitGroup, channel, settable_future,
};
