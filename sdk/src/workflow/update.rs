//! Update handlers (Go's `SetUpdateHandler` / `SetUpdateHandlerWithOptions`, spec §5.19.3):
//! a validator that may refuse an update before anything is written, and a handler that
//! runs as a coroutine of the workflow — it may sleep, run activities and wait — whose
//! result is the update's.
//!
//! Updates reach the workflow after the activation's other jobs have run, so a handler the
//! workflow function registers before it first blocks sees even the update that came with
//! the first task (update-with-start). An update whose name has no handler by then is
//! rejected. Validators run only when an update is new, never on replay: history already
//! says it was accepted.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use endure_core::replay::{UpdateResponse, WorkflowCommand};
use endure_core::{Failure, Payload, Payloads, UpdateId, UpdateOutcome};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::context::WorkflowContext;
use super::executor::BoxFuture;
use super::state::{SharedState, WorkflowError};
use crate::interceptors::InboundUpdate;

/// Checks an update's arguments; `Err` rejects it.
pub(crate) type UpdateValidator = Box<dyn Fn(&Payloads) -> Result<(), Box<Failure>> + Send>;

/// Runs an accepted update to its outcome.
pub(crate) type UpdateRunner =
    Arc<dyn Fn(WorkflowContext, Payloads) -> BoxFuture<UpdateOutcome> + Send + Sync>;

/// A registered update handler.
pub(crate) struct UpdateHandler {
    pub(crate) validator: UpdateValidator,
    pub(crate) runner: UpdateRunner,
}

/// An update delivered to the workflow and not yet accepted or rejected.
pub(crate) struct PendingUpdate {
    pub(crate) update_id: UpdateId,
    pub(crate) name: String,
    pub(crate) args: Payloads,
    pub(crate) header: endure_core::Header,
    pub(crate) run_validator: bool,
}

impl WorkflowContext {
    /// Handles updates named `name` with `handler` (Go's `SetUpdateHandler`): it runs as
    /// a coroutine with its own context, may block, and its `Ok` value (or failure) is the
    /// update's result. Registering a name again replaces the handler.
    pub fn set_update_handler<A, R, F, Fut>(&self, name: &str, handler: F)
    where
        A: DeserializeOwned + Send + 'static,
        R: Serialize + 'static,
        F: Fn(Self, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, WorkflowError>> + Send + 'static,
    {
        self.set_update_handler_with_validator(name, handler, |_: &A| Ok::<(), String>(()));
    }

    /// Like [`set_update_handler`](Self::set_update_handler), with a validator (Go's
    /// `UpdateHandlerOptions.Validator`): a synchronous, read-only check of the arguments
    /// that runs before anything is written. An `Err` (or a panic) rejects the update —
    /// the client gets the message and history keeps no trace of it.
    pub fn set_update_handler_with_validator<A, R, F, Fut, V, E>(
        &self,
        name: &str,
        handler: F,
        validator: V,
    ) where
        A: DeserializeOwned + Send + 'static,
        R: Serialize + 'static,
        F: Fn(Self, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, WorkflowError>> + Send + 'static,
        V: Fn(&A) -> Result<(), E> + Send + 'static,
        E: std::fmt::Display,
    {
        let validator: UpdateValidator = Box::new(move |args: &Payloads| {
            let argument: A = decode(args)?;
            match std::panic::catch_unwind(AssertUnwindSafe(|| validator(&argument))) {
                Ok(Ok(())) => Ok(()),
                Ok(Err(error)) => Err(Box::new(
                    Failure::application(error.to_string(), "UpdateRejected").non_retryable(),
                )),
                Err(_) => Err(Box::new(
                    Failure::application("the update's validator panicked", "UpdateRejected")
                        .non_retryable(),
                )),
            }
        });
        let handler = Arc::new(handler);
        let runner: UpdateRunner = Arc::new(move |ctx: Self, args: Payloads| {
            let handler = Arc::clone(&handler);
            Box::pin(async move {
                let argument: A = match decode(&args) {
                    Ok(argument) => argument,
                    Err(failure) => return UpdateOutcome::Failure(*failure),
                };
                match handler(ctx, argument).await {
                    Ok(value) => match Payload::encode(&value) {
                        Ok(payload) => UpdateOutcome::Success(Payloads::one(payload)),
                        Err(error) => UpdateOutcome::Failure(Failure::application(
                            format!("cannot encode the update's result: {error}"),
                            "PayloadError",
                        )),
                    },
                    Err(error) => UpdateOutcome::Failure(handler_failure(error)),
                }
            })
        });
        self.state
            .lock()
            .update_handlers
            .insert(name.to_owned(), UpdateHandler { validator, runner });
    }

    /// Resolves once no update handler is running (Go's `workflow.AllHandlersFinished`):
    /// await it before returning, so accepted updates complete instead of being failed by
    /// the workflow's close.
    pub fn all_handlers_finished(&self) -> impl Future<Output = ()> + Send + 'static {
        let state = Arc::clone(&self.state);
        self.wait_condition(move || state.lock().running_update_handlers == 0)
    }
}

fn decode<A: DeserializeOwned>(args: &Payloads) -> Result<A, Box<Failure>> {
    crate::payloads::decode_arguments(args).map_err(|error| {
        Box::new(
            Failure::application(
                format!("cannot decode the update's arguments: {error}"),
                "PayloadError",
            )
            .non_retryable(),
        )
    })
}

/// How a handler's error becomes the update's failure.
fn handler_failure(error: WorkflowError) -> Failure {
    match error {
        WorkflowError::Failed(failure) => *failure,
        WorkflowError::Canceled => Failure::canceled(None),
        WorkflowError::ContinueAsNew(_) => Failure::application(
            "an update handler cannot continue the workflow as new; return from the workflow function instead",
            "UpdateHandlerError",
        )
        .non_retryable(),
    }
}

/// What processing a pending update did.
pub(crate) enum Processed {
    /// Accepted: run this coroutine (the handler) next.
    Accepted(BoxFuture<()>),
    /// Rejected, or nothing to do.
    Done,
}

/// Accepts or rejects one pending update, issuing its response; on acceptance returns the
/// handler's coroutine, which issues the completion when it ends. `Err` when history says
/// an update was accepted that this code has no handler for (replay only).
pub(crate) fn process(
    state: &SharedState,
    ctx: WorkflowContext,
    update: PendingUpdate,
) -> Result<Processed, String> {
    let interceptors = Arc::clone(&state.lock().interceptors);
    let inbound = InboundUpdate {
        update_id: &update.update_id,
        name: &update.name,
        args: &update.args,
        header: &update.header,
    };
    for interceptor in interceptors.iter() {
        interceptor.handle_update(&ctx, &inbound);
    }
    let mut guard = state.lock();
    let found = guard.update_handlers.get(&update.name).map(|handler| {
        let verdict = if update.run_validator {
            (handler.validator)(&update.args)
        } else {
            Ok(())
        };
        (Arc::clone(&handler.runner), verdict)
    });
    let response = |response| WorkflowCommand::UpdateResponse {
        update_id: update.update_id.clone(),
        response,
    };
    let runner = match found {
        Some((runner, Ok(()))) => runner,
        Some((_, Err(failure))) => {
            guard
                .commands
                .push(response(UpdateResponse::Rejected(*failure)));
            return Ok(Processed::Done);
        }
        None if !update.run_validator => {
            return Err(format!(
                "history accepted update {} ({}), but the workflow registered no handler for it",
                update.update_id, update.name
            ));
        }
        None => {
            let known: Vec<&str> = guard.update_handlers.keys().map(String::as_str).collect();
            let failure = Failure::application(
                format!(
                    "unknown update {}; this workflow handles [{}]",
                    update.name,
                    known.join(", ")
                ),
                "UpdateRejected",
            )
            .non_retryable();
            guard
                .commands
                .push(response(UpdateResponse::Rejected(failure)));
            return Ok(Processed::Done);
        }
    };
    guard.commands.push(response(UpdateResponse::Accepted));
    guard.running_update_handlers += 1;
    drop(guard);
    let state = Arc::clone(state);
    let update_id = update.update_id;
    let future = runner(ctx, update.args);
    Ok(Processed::Accepted(Box::pin(async move {
        let outcome = future.await;
        let mut state = state.lock();
        state.running_update_handlers -= 1;
        state.commands.push(WorkflowCommand::UpdateResponse {
            update_id,
            response: UpdateResponse::Completed(outcome),
        });
    })))
}
