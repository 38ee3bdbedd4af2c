//! Tests of the execution machine: a harness that drives one run and keeps its history,
//! data-driven checks of each transition, and properties on random input sequences.

mod activity;
mod children;
mod close;
mod eager;
mod external;
mod harness;
mod history_limits;
mod properties;
mod reset;
mod search_attributes;
mod timers_signals;
mod updates;
mod versioning;
mod workflow_task;
