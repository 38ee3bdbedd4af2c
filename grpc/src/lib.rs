//! Temporal's `WorkflowService` gRPC API on Endure.
#![cfg(not(madsim))]

mod convert;
mod proto;
mod status;
mod token;
