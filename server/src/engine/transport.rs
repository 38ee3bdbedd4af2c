//! The in-process adapter of the Transport port: requests become engine calls directly.

use std::panic::AssertUnwindSafe;
use std::task::Poll;

use endure_core::clock::Clock;
use endure_core::execution::Rejected;
use endure_core::protocol::{
    ErrorKind, RemoteError, Request, Response, Transport, TransportFuture,
};
use endure_core::storage::Storage;

use super::api::EngineError;
use super::polling::WorkflowPoll;
use super::runtime::Engine;

/// Carries requests to an engine in the same process.
pub struct InProcessTransport<S, C> {
    engine: Engine<S, C>,
}

impl<S, C> InProcessTransport<S, C> {
    /// A transport to `engine`.
    pub fn new(engine: Engine<S, C>) -> Self {
        Self { engine }
    }
}

impl From<EngineError> for RemoteError {
    fn from(error: EngineError) -> Self {
        let message = error.to_string();
        let (kind, run_id) = match &error {
            EngineError::AlreadyStarted { run_id, .. } => {
                (ErrorKind::AlreadyStarted, Some(*run_id))
            }
            EngineError::NotFound(_)
            | EngineError::NamespaceNotFound(_)
            | EngineError::Rejected(Rejected::NotFound(_)) => (ErrorKind::NotFound, None),
            EngineError::NamespaceExists(_) => (ErrorKind::AlreadyExists, None),
            EngineError::Rejected(Rejected::WorkflowClosed | Rejected::SignalLimitExceeded(_)) => {
                (ErrorKind::FailedPrecondition, None)
            }
            // Closing takes one workflow task; a retry goes to whatever comes next.
            EngineError::Rejected(Rejected::WorkflowClosing) => (ErrorKind::Unavailable, None),
            // Too many updates in flight: retry once some complete.
            EngineError::Rejected(Rejected::UpdateLimitExceeded(_)) => {
                (ErrorKind::Unavailable, None)
            }
            EngineError::UpdateAborted(abort) if abort.is_retryable() => {
                (ErrorKind::Unavailable, None)
            }
            EngineError::UpdateAborted(_) => (ErrorKind::FailedPrecondition, None),
            EngineError::Invalid(_) | EngineError::Rejected(_) => {
                (ErrorKind::InvalidArgument, None)
            }
            EngineError::Conflict(_) => (ErrorKind::Conflict, None),
            EngineError::BadRequest(_) => (ErrorKind::InvalidArgument, None),
            EngineError::NotReady(_) => (ErrorKind::FailedPrecondition, None),
            EngineError::TimedOut(_) => (ErrorKind::DeadlineExceeded, None),
            EngineError::Storage(_) | EngineError::Shutdown | EngineError::Overloaded(_) => {
                (ErrorKind::Unavailable, None)
            }
        };
        Self {
            kind,
            message,
            run_id,
        }
    }
}

impl<S: Storage, C: Clock> Transport for InProcessTransport<S, C> {
    /// Runs the request; a panic while running it (a bug, or a library failing on bad
    /// data) becomes an `Internal` error reply, logged, instead of a call never answered.
    fn call(&self, request: Request) -> TransportFuture<'_> {
        let name = request.name();
        Box::pin(async move {
            let mut dispatch = std::pin::pin!(self.dispatch(request));
            let outcome = std::future::poll_fn(|context| {
                std::panic::catch_unwind(AssertUnwindSafe(|| dispatch.as_mut().poll(context)))
                    .map_or_else(|panic| Poll::Ready(Err(panic)), |poll| poll.map(Ok))
            })
            .await;
            match outcome {
                Ok(result) => result.map_err(RemoteError::from),
                Err(panic) => {
                    let message = crate::panics::message(panic.as_ref());
                    tracing::error!(request = name, panic = %message, "a request panicked");
                    Err(RemoteError {
                        kind: ErrorKind::Internal,
                        message: format!(
                            "the server failed handling {name} ({message}); the failure is in its log"
                        ),
                        run_id: None,
                    })
                }
            }
        })
    }
}

impl<S: Storage, C: Clock> InProcessTransport<S, C> {
    async fn dispatch(&self, request: Request) -> Result<Response, EngineError> {
        request.check_text()?;
        let engine = &self.engine;
        Ok(match request {
            Request::StartWorkflow(request) => {
                Response::Started(engine.start_workflow(*request).await?)
            }
            Request::SignalWithStartWorkflow { start, signal } => {
                Response::Started(engine.signal_with_start_workflow(*start, signal).await?)
            }
            Request::UpdateWorkflow(update) => {
                Response::Update(Box::new(engine.update_workflow(*update).await?))
            }
            Request::UpdateWithStartWorkflow { start, update } => {
                let (start, update) = engine.update_with_start_workflow(*start, *update).await?;
                Response::UpdateWithStart {
                    start,
                    update: Box::new(update),
                }
            }
            Request::SignalWorkflow {
                namespace,
                workflow_id,
                run_id,
                signal,
            } => {
                engine
                    .signal_workflow(&namespace, &workflow_id, run_id, signal)
                    .await?;
                Response::Done
            }
            Request::RequestCancelWorkflow {
                namespace,
                workflow_id,
                run_id,
                reason,
                identity,
            } => {
                engine
                    .request_cancel_workflow(&namespace, &workflow_id, run_id, reason, identity)
                    .await?;
                Response::Done
            }
            Request::CreateNamespace { name, config } => {
                Response::Namespace(Box::new(engine.create_namespace(name, config).await?))
            }
            Request::DescribeNamespace { name } => {
                Response::Namespace(Box::new(engine.describe_namespace(&name).await?))
            }
            Request::ListNamespaces => Response::Namespaces(engine.list_namespaces().await?),
            Request::Health => Response::Health(engine.health()),
            Request::PollUpdate {
                namespace,
                workflow_id,
                run_id,
                update_id,
            } => Response::Update(Box::new(
                engine
                    .poll_update(&namespace, &workflow_id, run_id, &update_id)
                    .await?,
            )),
            Request::DeleteWorkflow {
                namespace,
                workflow_id,
                run_id,
                identity,
            } => {
                engine
                    .delete_workflow(&namespace, &workflow_id, run_id, identity)
                    .await?;
                Response::Done
            }
            Request::UpdateNamespace { name, update } => {
                Response::Namespace(Box::new(engine.update_namespace(&name, update).await?))
            }
            Request::ResetWorkflow {
                namespace,
                workflow_id,
                run_id,
                request,
            } => Response::Reset {
                run_id: engine
                    .reset_workflow(&namespace, &workflow_id, run_id, *request)
                    .await?,
            },
            Request::TerminateWorkflow {
                namespace,
                workflow_id,
                run_id,
                reason,
                details,
                identity,
            } => {
                engine
                    .terminate_workflow(&namespace, &workflow_id, run_id, reason, details, identity)
                    .await?;
                Response::Done
            }
            Request::PollWorkflowTask {
                namespace,
                task_queue,
                identity,
            } => match engine
                .poll_workflow_task_or_query(&namespace, &task_queue, &identity)
                .await?
            {
                Some(WorkflowPoll::Task(task)) => Response::WorkflowTask(Some(task)),
                Some(WorkflowPoll::Query(query)) => Response::QueryTask(query),
                None => Response::WorkflowTask(None),
            },
            Request::QueryWorkflow {
                namespace,
                workflow_id,
                run_id,
                query_type,
                args,
            } => Response::QueryAnswered(
                engine
                    .query_workflow(&namespace, &workflow_id, run_id, query_type, args)
                    .await?,
            ),
            Request::RespondQueryTask { query_id, answer } => {
                engine.respond_query(query_id, answer)?;
                Response::Done
            }
            Request::CompleteWorkflowTask {
                execution,
                completion,
            } => Response::WorkflowTaskCompleted(
                engine
                    .complete_workflow_task(&execution, *completion)
                    .await?,
            ),
            Request::ResetStickyTaskQueue { execution } => {
                engine.reset_sticky_task_queue(&execution).await?;
                Response::Done
            }
            Request::FailWorkflowTask {
                execution,
                token,
                cause,
                failure,
                identity,
            } => {
                engine
                    .fail_workflow_task(&execution, token, cause, failure, identity)
                    .await?;
                Response::Done
            }
            Request::PollActivityTask {
                namespace,
                task_queue,
                identity,
            } => Response::ActivityTask(
                engine
                    .poll_activity_task(&namespace, &task_queue, &identity)
                    .await?
                    .map(Box::new),
            ),
            Request::RecordActivityHeartbeat {
                execution,
                token,
                details,
            } => Response::Heartbeat {
                cancel_requested: engine
                    .record_activity_heartbeat(&execution, token, details)
                    .await?,
            },
            Request::CompleteActivityTask {
                execution,
                token,
                result,
                identity,
            } => {
                engine
                    .complete_activity_task(&execution, token, result, identity)
                    .await?;
                Response::Done
            }
            Request::FailActivityTask {
                execution,
                token,
                failure,
                identity,
            } => {
                engine
                    .fail_activity_task(&execution, token, failure, identity)
                    .await?;
                Response::Done
            }
            Request::CancelActivityTask {
                execution,
                token,
                details,
                identity,
            } => {
                engine
                    .cancel_activity_task(&execution, token, details, identity)
                    .await?;
                Response::Done
            }
            Request::GetHistory { execution } => {
                Response::History(engine.history(&execution).await?)
            }
            Request::GetHistoryPage {
                execution,
                first_event_id,
            } => Response::HistoryPage(engine.history_page(&execution, first_event_id).await?),
            Request::ListWorkflows {
                namespace,
                query,
                offset,
                limit,
            } => Response::Workflows(
                engine
                    .list_workflows(&namespace, &query, offset, limit)
                    .await?,
            ),
            Request::AwaitWorkflowClose {
                namespace,
                workflow_id,
                run_id,
                wait,
            } => Response::Description(Box::new(
                engine
                    .await_close(&namespace, &workflow_id, run_id, wait)
                    .await?,
            )),
            Request::DescribeWorkflow {
                namespace,
                workflow_id,
                run_id,
            } => Response::Description(Box::new(
                engine
                    .describe_workflow(&namespace, &workflow_id, run_id)
                    .await?,
            )),
        })
    }
}
