//! Activities completed from outside their worker (Go's `activity.ErrResultPending` with
//! `client.CompleteActivity` and `CompleteActivityByID`; Python's async activity handles).
//!
//! An activity that hands its work to another system — a person approving a payment, a
//! partner's webhook — takes its [`ActivityContext::completion_token`], passes it along,
//! and returns [`ActivityError::result_pending`]. The worker then reports nothing and frees
//! the slot; the attempt stays started until someone holding the token (or the workflow
//! and activity ids) completes, fails or cancels it through an [`AsyncActivityHandle`], or
//! until its timeouts fire — a heartbeat timeout applies to heartbeats sent through the
//! handle, so long waits should set one and heartbeat.
//!
//! [`ActivityContext::completion_token`]: crate::ActivityContext::completion_token
//! [`ActivityError::result_pending`]: crate::ActivityError::result_pending

use endure_core::protocol::{
    ActivityCompletionToken, CancelActivityTaskRequest, CompleteActivityTaskRequest,
    DescribeWorkflowRequest, ErrorKind, FailActivityTaskRequest, RecordActivityHeartbeatRequest,
    RemoteError, Rpc,
};
use endure_core::{ActivityId, Payload, Payloads, RunId, WorkflowId};
use serde::Serialize;

use crate::client::{Client, ClientError};
use crate::workflow::ActivityError;

/// How many times a by-id answer looks the attempt up again when the one it found ended
/// before the answer reached it (timed out and retried meanwhile).
const BY_ID_LOOKUPS_MAX: usize = 3;

/// The activity an [`AsyncActivityHandle`] answers for.
#[derive(Clone, Debug)]
enum Target {
    /// One attempt, by its token.
    Token(ActivityCompletionToken),
    /// Whatever attempt of the activity is current when the answer is sent.
    Id {
        workflow_id: WorkflowId,
        run_id: Option<RunId>,
        activity_id: ActivityId,
    },
}

/// Completes, fails, cancels or heartbeats an activity from outside its worker: made by
/// [`Client::async_activity`] (from a token) or [`Client::async_activity_by_id`].
///
/// ```no_run
/// # async fn approve(client: endure::Client, token: endure::ActivityCompletionToken) -> Result<(), endure::ClientError> {
/// // Elsewhere — a webhook, a person's approval — with the token the activity handed out:
/// client.async_activity(token).complete(&"approved").await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct AsyncActivityHandle {
    client: Client,
    target: Target,
}

impl std::fmt::Debug for AsyncActivityHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncActivityHandle")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A handle on the activity attempt `token` names (Go's `CompleteActivity` and
    /// `RecordActivityHeartbeat` with a task token). The token names its run's namespace;
    /// this client's connection and credentials carry the answer.
    pub fn async_activity(&self, token: ActivityCompletionToken) -> AsyncActivityHandle {
        AsyncActivityHandle {
            client: self.clone(),
            target: Target::Token(token),
        }
    }

    /// A handle on activity `activity_id` of workflow `workflow_id` in this client's
    /// namespace (its current run when `run_id` is `None`): each answer goes to the
    /// activity's current attempt (Go's `CompleteActivityByID`).
    pub fn async_activity_by_id(
        &self,
        workflow_id: WorkflowId,
        run_id: Option<RunId>,
        activity_id: ActivityId,
    ) -> AsyncActivityHandle {
        AsyncActivityHandle {
            client: self.clone(),
            target: Target::Id {
                workflow_id,
                run_id,
                activity_id,
            },
        }
    }
}

impl AsyncActivityHandle {
    /// Completes the activity with `result`: the workflow's activity future resolves to it.
    pub async fn complete<T: Serialize + ?Sized>(&self, result: &T) -> Result<(), ClientError> {
        self.complete_raw(Some(Payloads::one(Payload::encode(result)?)))
            .await
    }

    /// Completes the activity with an already encoded result.
    pub async fn complete_raw(&self, result: Option<Payloads>) -> Result<(), ClientError> {
        let identity = self.client.identity.clone();
        self.answer(|token| CompleteActivityTaskRequest {
            execution: token.execution,
            token: token.token,
            result: result.clone(),
            identity: identity.clone(),
        })
        .await
        .map(drop)
    }

    /// Fails the attempt with `error`: retried per the activity's retry policy, as if its
    /// worker had returned the error.
    pub async fn fail(&self, error: ActivityError) -> Result<(), ClientError> {
        let identity = self.client.identity.clone();
        self.answer(|token| FailActivityTaskRequest {
            execution: token.execution,
            token: token.token,
            failure: (*error.0).clone(),
            identity: identity.clone(),
        })
        .await
        .map(drop)
    }

    /// Acknowledges the cancellation the workflow requested (learned from
    /// [`heartbeat`](Self::heartbeat)): records ActivityTaskCanceled with `details`.
    pub async fn report_cancellation(&self, details: Option<Payloads>) -> Result<(), ClientError> {
        let identity = self.client.identity.clone();
        self.answer(|token| CancelActivityTaskRequest {
            execution: token.execution,
            token: token.token,
            details: details.clone(),
            identity: identity.clone(),
        })
        .await
        .map(drop)
    }

    /// Records a heartbeat with `details` (kept for the next attempt) and keeps the
    /// attempt's heartbeat timeout from firing. Returns whether the workflow asked to
    /// cancel the activity; answer that with [`report_cancellation`](Self::report_cancellation).
    pub async fn heartbeat<T: Serialize + ?Sized>(&self, details: &T) -> Result<bool, ClientError> {
        let details = Payloads::encode_arguments(details)?;
        let response = self
            .answer(|token| RecordActivityHeartbeatRequest {
                execution: token.execution,
                token: token.token,
                details: Some(details.clone()),
            })
            .await?;
        Ok(response.cancel_requested)
    }

    /// The token of the attempt the handle answers for now.
    pub async fn token(&self) -> Result<ActivityCompletionToken, ClientError> {
        match &self.target {
            Target::Token(token) => Ok(token.clone()),
            Target::Id {
                workflow_id,
                run_id,
                activity_id,
            } => {
                let described = self
                    .client
                    .rpc(DescribeWorkflowRequest {
                        namespace: self.client.namespace.clone(),
                        workflow_id: workflow_id.clone(),
                        run_id: *run_id,
                    })
                    .await?;
                described
                    .pending_activity_token(activity_id)
                    .ok_or_else(|| {
                        ClientError::Remote(RemoteError {
                            kind: ErrorKind::NotFound,
                            message: format!(
                                "{} has no pending activity {activity_id} (it finished, or never was)",
                                described.execution
                            ),
                            run_id: None,
                        })
                    })
            }
        }
    }

    /// Sends the request `make` builds for the current attempt. By id, an attempt that
    /// ended between the lookup and the answer (the engine says not found) is looked up
    /// again, and the answer sent to the attempt that replaced it.
    async fn answer<R: Rpc>(
        &self,
        make: impl Fn(ActivityCompletionToken) -> R,
    ) -> Result<R::Response, ClientError> {
        let by_id = matches!(self.target, Target::Id { .. });
        let mut token = self.token().await?;
        let mut lookups = 1;
        loop {
            let refused = match self.client.rpc(make(token.clone())).await {
                Err(ClientError::Remote(error)) if by_id && error.kind == ErrorKind::NotFound => {
                    error
                }
                other => return other,
            };
            if lookups >= BY_ID_LOOKUPS_MAX {
                return Err(ClientError::Remote(refused));
            }
            // Sent again only if the attempt moved on: the same attempt refused (one not
            // started yet, say) is the answer.
            let current = self.token().await?;
            lookups += 1;
            if current == token {
                return Err(ClientError::Remote(refused));
            }
            tracing::debug!(error = %refused, "the attempt ended before the answer; sending it to the next");
            token = current;
        }
    }
}
