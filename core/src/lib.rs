//! `endure-core`: Endure's vocabulary and its pure machines.
//!
//! This crate holds the domain types of durable execution — ids, payloads and their
//! converter and codecs, failures, retry policies, options — the history events and
//! commands with Temporal's names, the codec that persists them, the engine's protocol, and
//! the pure machines: the execution machine ([`execution`]: inputs and `now` in, events,
//! tasks and a reply out; the start decision) and the replay machine ([`replay`]: history
//! in, activations out).
//!
//! **Architecture invariant:** nothing here touches an async runtime, IO, a clock or
//! randomness. Time (`now`), run ids and seeds are arguments. `cargo tree -p endure-core`
//! shows no runtime, and `clippy.toml` bans the clock, threads, OS randomness and hash-map
//! iteration order in this crate.

#![deny(missing_docs)]

pub mod access;
pub mod attribute_registry;
pub mod clock;
pub mod cluster;
pub mod codec;
mod command;
pub mod cron;
pub mod duration_text;
mod enums;
pub mod execution;
mod failure;
pub mod fuzzing;
mod hashing;
pub mod history;
mod ids;
pub mod limits;
pub mod list_filter;
pub mod lru;
pub mod namespace;
pub mod options;
pub mod payload;
pub mod payload_codec;
pub mod protocol;
pub mod random;
pub mod replay;
mod retry;
pub mod schedule;
mod search_attributes;
#[cfg(any(test, feature = "testing"))]
pub mod simulated_run;
pub mod storage;
mod task_queue;
pub mod time;
mod update;
mod validation;
pub mod versioning;
pub mod wire;
#[cfg(any(test, feature = "testing"))]
pub mod workload;

pub use command::*;
pub use cron::{CronError, CronSchedule};
pub use enums::*;
pub use failure::{FAILURE_SOURCE, Failure, FailureInfo};
pub use history::{EventAttributes, EventType, History, HistoryError, HistoryEvent};
pub use ids::{
    ActivityId, ActivityType, EventId, ExecutionKey, MarkerName, Namespace, QueryName, RequestId,
    RunId, SignalName, TaskQueueName, TimerId, UpdateId, UpdateName, WorkflowExecution, WorkflowId,
    WorkflowType,
};
pub use options::{ActivityOptions, StartWorkflowOptions};
pub use payload::{Header, Memo, Payload, PayloadError, PayloadMap, Payloads};
pub use retry::RetryPolicy;
pub use search_attributes::{SearchAttributeValue, SearchAttributes};
pub use task_queue::TaskQueue;
pub use time::Timestamp;
pub use update::{
    UpdateAbort, UpdateDelivery, UpdateMessage, UpdateMessageBody, UpdateNotice, UpdateOutcome,
    UpdateRequest, UpdateStage,
};
pub use validation::ValidationError;
