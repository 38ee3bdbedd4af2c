//! Workflow definitions: a workflow's type name, argument and result types and its function
//! in one type, so registering, starting and calling it are checked at compile time.
//! `#[endure::workflow]` writes one from an async function.

use std::future::Future;
use std::sync::Arc;

use endure_core::{Payload, Payloads};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{BoxFuture, WorkflowContext, WorkflowError, WorkflowFunction};
use crate::payloads::decode_arguments;

/// The contract and code of one workflow type (usually written by `#[endure::workflow]`).
pub trait WorkflowDefinition: 'static {
    /// The workflow type name (spec §5.4.4: the function's name unless renamed).
    const NAME: &'static str;
    /// The argument (a struct is recommended, so fields can evolve — spec §5.4.2).
    type Input: Serialize + DeserializeOwned + Send + 'static;
    /// The result.
    type Output: Serialize + DeserializeOwned + Send + 'static;
    /// Runs the workflow.
    fn run(
        ctx: WorkflowContext,
        input: Self::Input,
    ) -> BoxFuture<Result<Self::Output, WorkflowError>>;
}

/// A typed workflow function as the executor runs it: decode the argument, run, encode the
/// result.
pub(crate) fn typed_workflow_function<I, O, F, Fut>(workflow: Arc<F>) -> WorkflowFunction
where
    I: DeserializeOwned + Send + 'static,
    O: Serialize + Send + 'static,
    F: Fn(WorkflowContext, I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, WorkflowError>> + Send + 'static,
{
    Box::new(move |ctx, input: Payloads| {
        let workflow = Arc::clone(&workflow);
        Box::pin(async move {
            let argument: I = decode_arguments(&input)?;
            let output = workflow(ctx, argument).await?;
            Ok(Some(Payloads::one(Payload::encode(&output)?)))
        }) as BoxFuture<_>
    })
}
