//! Registering workflows and activities with a worker: typed functions, definitions made by
//! `#[endure::workflow]` / `#[endure::activity]`, dynamic fallbacks, and each workflow
//! type's versioning behavior.

use std::future::Future;
use std::sync::Arc;

use endure_core::versioning::VersioningBehavior;
use endure_core::{Payload, Payloads};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{ActivityFunction, Registration, Worker, WorkflowFactory, WorkflowRegisterOptions};
use crate::activity::ActivityDefinition;
use crate::activity_context::ActivityContext;
use crate::payloads::decode_arguments;
use crate::workflow::definition::typed_workflow_function;
use crate::workflow::{
    ActivityError, BoxFuture, WorkflowContext, WorkflowDefinition, WorkflowError,
};

impl Worker {
    /// Registers a workflow under `name` (its type name, spec §5.4.4): an async function of
    /// its context and its argument (a struct is recommended; a tuple takes several
    /// arguments). Registering another name for the same function keeps both (§5.13.3).
    pub fn register_workflow<I, O, F, Fut>(&mut self, name: &str, workflow: F) -> &mut Self
    where
        I: DeserializeOwned + Send + 'static,
        O: Serialize + Send + 'static,
        F: Fn(WorkflowContext, I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, WorkflowError>> + Send + 'static,
    {
        let workflow = Arc::new(workflow);
        let factory: WorkflowFactory =
            Arc::new(move || typed_workflow_function(Arc::clone(&workflow)));
        self.workflows.insert(name.to_owned(), factory);
        self
    }

    /// Registers a workflow like [`register_workflow`](Self::register_workflow), with how
    /// its runs follow new versions of a versioned worker (Go's
    /// `RegisterWorkflowWithOptions`, spec §5.13.1): pinned to the version they started on,
    /// or moving to the current version at their next workflow task.
    pub fn register_workflow_with_options<I, O, F, Fut>(
        &mut self,
        name: &str,
        workflow: F,
        options: WorkflowRegisterOptions,
    ) -> &mut Self
    where
        I: DeserializeOwned + Send + 'static,
        O: Serialize + Send + 'static,
        F: Fn(WorkflowContext, I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, WorkflowError>> + Send + 'static,
    {
        self.register_workflow(name, workflow);
        self.set_versioning_behavior(name, options.versioning_behavior)
    }

    /// Sets how runs of workflow type `name` follow new versions (for types registered with
    /// [`register`](Self::register)); the default is the deployment options'.
    pub fn set_versioning_behavior(
        &mut self,
        name: &str,
        behavior: VersioningBehavior,
    ) -> &mut Self {
        self.behaviors.insert(name.to_owned(), behavior);
        self
    }

    /// Registers a workflow or activity function marked `#[endure::workflow]` or
    /// `#[endure::activity]` under its type name (Go's `RegisterWorkflow`/`RegisterActivity`).
    pub fn register<T: Registration>(&mut self) -> &mut Self {
        T::register_with(self);
        self
    }

    /// Registers workflow `W` under `W::NAME`.
    pub fn register_workflow_definition<W: WorkflowDefinition>(&mut self) -> &mut Self {
        self.register_workflow(W::NAME, W::run)
    }

    /// Registers the implementation of activity `A` (spec §5.6): an async function of its
    /// context and `A::Input`, which can close over shared resources (a client, a pool).
    pub fn register_activity<A, F, Fut>(&mut self, implementation: F) -> &mut Self
    where
        A: ActivityDefinition,
        F: Fn(ActivityContext, A::Input) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<A::Output, ActivityError>> + Send + 'static,
    {
        let implementation = Arc::new(implementation);
        let function: ActivityFunction = Arc::new(move |ctx, input| {
            let implementation = Arc::clone(&implementation);
            Box::pin(async move {
                let argument: A::Input = decode_arguments(&input).map_err(|error| {
                    ActivityError::application(
                        format!("cannot decode the argument: {error}"),
                        "PayloadError",
                    )
                    .non_retryable()
                })?;
                let output = implementation(ctx, argument).await?;
                let payload = Payload::encode(&output).map_err(|error| {
                    ActivityError::application(error.to_string(), "PayloadError").non_retryable()
                })?;
                Ok(Some(Payloads::one(payload)))
            })
        });
        self.activities.insert(A::NAME.to_owned(), function);
        self
    }

    /// Registers the fallback for workflow types registered under no name (spec §5.10): it
    /// gets the type name and the raw encoded arguments, and returns raw encoded results.
    pub fn register_dynamic_workflow<F, Fut>(&mut self, workflow: F) -> &mut Self
    where
        F: Fn(WorkflowContext, String, Payloads) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Option<Payloads>, WorkflowError>> + Send + 'static,
    {
        let workflow = Arc::new(workflow);
        self.dynamic_workflow = Some(Arc::new(move |workflow_type: String| {
            let workflow = Arc::clone(&workflow);
            Box::new(move |ctx, input: Payloads| {
                Box::pin(workflow(ctx, workflow_type, input)) as BoxFuture<_>
            })
        }));
        self
    }

    /// Registers the fallback for activity types registered under no name (spec §5.10).
    pub fn register_dynamic_activity<F, Fut>(&mut self, activity: F) -> &mut Self
    where
        F: Fn(ActivityContext, String, Payloads) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Option<Payloads>, ActivityError>> + Send + 'static,
    {
        let activity = Arc::new(activity);
        self.dynamic_activity = Some(Arc::new(move |ctx, activity_type, input| {
            Box::pin(activity(ctx, activity_type, input))
        }));
        self
    }
}
