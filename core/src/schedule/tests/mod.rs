//! The schedule module's tests: specs (`spec.rs`) and the scheduler's decisions
//! (`scheduler.rs`).

mod history;
mod scheduler;
mod spec;
