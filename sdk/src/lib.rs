//! `endure`: durable execution with Temporal's programming model, in Rust.
//!
//! Workflows are async functions that survive crashes: every step they take is recorded in
//! a history, and a workflow resumes after a restart by replaying it. Activities do the IO.
//! A [`Worker`] hosts both for a task queue; a [`Client`] starts workflows and talks to them
//! through a [`WorkflowHandle`]. The engine runs in your process on a redb file
//! ([`embedded::open`]), in memory, or as a server (`endure server start-dev`, then
//! [`Client::connect`]).
//!
//! ```
//! use std::time::Duration;
//!
//! use endure::{
//!     ActivityContext, ActivityError, ActivityOptions, StartWorkflowOptions, TaskQueueName,
//!     Worker, WorkerOptions, WorkflowContext, WorkflowError, WorkflowId,
//! };
//!
//! /// An activity: where IO goes. Retried by the engine when it fails.
//! #[endure::activity(name = "Compose")]
//! async fn compose(_ctx: ActivityContext, name: String) -> Result<String, ActivityError> {
//!     Ok(format!("hello, {name}"))
//! }
//!
//! /// A workflow: deterministic code that schedules activities, timers and children.
//! #[endure::workflow(name = "Greet")]
//! async fn greet(ctx: WorkflowContext, name: String) -> Result<String, WorkflowError> {
//!     let ctx = ctx.with_activity_options(ActivityOptions {
//!         start_to_close_timeout: Some(Duration::from_secs(10)),
//!         ..ActivityOptions::default()
//!     });
//!     Ok(ctx.run_activity::<compose>(&name).await?)
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! // The embedded engine (`embedded::open("app.redb")` keeps it in a file).
//! let client = endure::embedded::in_memory().await?;
//! let queue = TaskQueueName::new("greetings")?;
//! let mut worker = Worker::new(
//!     client.transport(),
//!     client.namespace().clone(),
//!     queue.clone(),
//!     WorkerOptions::default(),
//! );
//! worker.register::<greet>().register::<compose>();
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let running = tokio::spawn(worker.run(async {
//!     let _ = stopped.await;
//! }));
//!
//! let options = StartWorkflowOptions::new(WorkflowId::new("greet-ada")?, queue);
//! let handle = client.start::<greet>(options, &"ada".to_owned()).await?;
//! assert_eq!(handle.result::<String>().await?, "hello, ada");
//!
//! let _ = stop.send(());
//! running.await?;
//! # Ok(())
//! # }
//! ```
//!
//! Where things are: the workflow side is [`WorkflowContext`] (timers, activities, child
//! workflows, signals, queries, updates, side effects, versions, sessions; its module
//! [`workflow`](mod@workflow) says which Rust constructs break determinism), the activity side
//! [`ActivityContext`] (heartbeats, cancellation). [`Replayer`] checks that today's code
//! still replays yesterday's histories; [`testing::TestEnvironment`] skips time in tests, and
//! [`chaos`] with `testing::check_seeds` (feature `test-util`) runs them under faults.
//! Payloads follow Temporal's converter ([`Payload`]) and can be encrypted by a
//! [`PayloadCodec`]. The domain vocabulary of `endure-core` is re-exported here, so user
//! code names `endure::…` only. README's feature table lists what works end to end.

pub mod activity;
mod activity_context;
mod async_activity;
pub mod chaos;
mod client;
pub mod codec;
mod deployment_client;
pub mod interceptors;
mod local_activities;
pub mod metrics;
mod namespace_client;
mod payloads;
pub mod remote;
pub mod replayer;
mod reset_client;
mod schedule_client;
mod search_attribute_client;
mod task_slots;
#[cfg(feature = "embedded")]
pub mod testing;
mod update_client;
mod worker;
pub mod workflow;

pub use activity_context::{ActivityContext, ActivityInfo, CancelReason};
pub use async_activity::AsyncActivityHandle;
pub use client::{Client, ClientError, WorkflowHandle};
pub use codec::CodecTransport;
pub use deployment_client::DeploymentClient;
/// Payload encodings: the default converter chain's metadata values and [`payload::Binary`].
pub use endure_core::payload;
pub use endure_core::payload::Binary;
pub use endure_core::payload_codec::{CodecChain, CodecError, PayloadCodec, VisitPayloads};
/// Schedule specs, policies and descriptions (spec §5.17).
pub use endure_core::schedule;
/// Worker versioning (spec §5.13.1): versions, behaviors, deployments and their routing.
pub use endure_core::versioning;
pub use endure_core::versioning::{VersioningBehavior, WorkerDeploymentVersion};
pub use payloads::decode_arguments;
pub use reset_client::ResetOptions;
pub use schedule_client::{
    ScheduleClient, ScheduleHandle, ScheduleOptions, schedule_workflow_action,
};
pub use update_client::{UpdateHandle, UpdateOptions};
pub use worker::{
    Registration, Worker, WorkerDeploymentOptions, WorkerOptions, WorkflowRegisterOptions,
};
/// What workflow code names most, also at the crate root.
pub use workflow::{
    ActivityError, ChildWorkflowError, ChildWorkflowHandle, ChildWorkflowOptions,
    ContinueAsNewOptions, ExternalWorkflowError, LocalActivityOptions, Selector, SessionError,
    SessionInfo, SessionOptions, SignalChannel, WorkflowContext, WorkflowError, WorkflowInfo,
};

/// `#[endure::workflow]` and `#[endure::activity]`: definitions named after their functions.
pub use endure_macros::{activity, workflow};

pub use replayer::{ReplayFailure, Replayer};

pub use endure_core::attribute_registry::SearchAttributeType;
pub use endure_core::cluster::{Member, NodeName};
pub use endure_core::execution::{
    PendingActivity, PendingActivityState, PendingChild, Rejected, ResetError, ResetPoint,
    ResetReapply,
};
/// History as Temporal shapes it: events, their attributes and types, back-references,
/// the JSON export the Replayer reads.
pub use endure_core::history;
pub use endure_core::history::{
    EventAttributes, EventType, History, HistoryError, HistoryEvent, HistoryExport,
};
/// Every bound Endure enforces, each with its unit.
pub use endure_core::limits;
pub use endure_core::list_filter::FilterError;
pub use endure_core::namespace::{NamespaceConfig, NamespaceRecord, NamespaceUpdate};
pub use endure_core::protocol::SearchAttributesListing;
pub use endure_core::protocol::{
    ActivityCompletionToken, ClusterDescription, ClusterMember, CompletionTokenError, ErrorKind,
    Health, HistoryPageResponse, PollerInfo, RemoteError, Request, Response, Rpc, ShardOwnership,
    TaskQueueDescription, Transport, TransportFuture, WorkflowDescription, WorkflowExecutionInfo,
};
pub use endure_core::replay::ReplayError;
pub use endure_core::storage::{ExecutionKey, StorageError, VisibilityQuery, WriteRejection};
pub use endure_core::time::Timestamp;
pub use endure_core::{
    ActivityCancellationType, ActivityId, ActivityOptions, ActivityType,
    ChildWorkflowCancellationType, CronSchedule, Failure, FailureInfo, Header, Memo, Namespace,
    ParentClosePolicy, Payload, PayloadError, Payloads, RetryPolicy, RunId, SearchAttributeValue,
    SearchAttributes, SignalName, StartWorkflowOptions, TaskQueueName, TimeoutType, UpdateId,
    UpdateOutcome, UpdateStage, ValidationError, WorkflowExecution, WorkflowExecutionStatus,
    WorkflowId, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowType,
};
pub use endure_core::{
    ContinueAsNewInitiator, ContinueAsNewWorkflowExecutionCommandAttributes, CronError, EventId,
    MarkerName, PayloadMap, QueryName, RequestId, RetryState, TaskQueueKind, TimerId, UpdateAbort,
    UpdateName, UpdateRequest, WorkflowTaskFailedCause,
};

/// The embedded engine, for running everything in one process (feature `embedded`).
#[cfg(feature = "embedded")]
pub mod embedded {
    use std::path::Path;
    use std::sync::Arc;

    pub use endure_server::engine::{Engine, EngineConfig, EngineError, InProcessTransport};

    use crate::Client;

    /// Opens (or creates) the engine on the redb file at `path` and returns a client for the
    /// `default` namespace connected to it in-process.
    pub async fn open(path: impl AsRef<Path>) -> Result<Client, EngineError> {
        open_with(path, EngineConfig::default()).await
    }

    /// [`open`] with the engine tuned by `config`: how long a query waits for a worker's
    /// answer (`query_timeout`, 20 s by default), how long polls wait, the shards of a new
    /// store.
    pub async fn open_with(
        path: impl AsRef<Path>,
        config: EngineConfig,
    ) -> Result<Client, EngineError> {
        let engine = Engine::open_with(path, config).await?;
        Ok(Client::new(
            Arc::new(InProcessTransport::new(engine)),
            endure_core::Namespace::default(),
        ))
    }

    /// An engine on the in-memory store (nothing survives the process), and its client.
    pub async fn in_memory() -> Result<Client, EngineError> {
        let engine = Engine::in_memory().await?;
        Ok(Client::new(
            Arc::new(InProcessTransport::new(engine)),
            endure_core::Namespace::default(),
        ))
    }
}
