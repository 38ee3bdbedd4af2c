//! Workflow definitions: a workflow's type name, argument and result types and its function
//! in one type, so registering, starting and calling it are checked at compile time.
//! `#[endure::workflow]` writes one from an async function.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{BoxFuture, WorkflowContext, WorkflowError};

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
