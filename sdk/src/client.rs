//! The client: starts workflows, waits for their results, signals, cancels, terminates and
//! reads them (spec §2.4, §5.19). It talks to the engine through a Transport, so the same
//! code works embedded and (later) against a server.

use std::sync::Arc;
use std::time::Duration;

use endure_core::execution::SignalRequest;
use endure_core::history::HistoryEvent;
use endure_core::protocol::{
    AwaitWorkflowCloseRequest, ClusterDescription, CountWorkflowsRequest, DeleteWorkflowRequest,
    DescribeClusterRequest, DescribeTaskQueueRequest, DescribeWorkflowRequest,
    GetHistoryPageRequest, GetHistoryRequest, Health, HealthRequest, HistoryPageResponse,
    ListWorkflowsRequest, QueryWorkflowRequest, RemoteError, Request, RequestCancelWorkflowRequest,
    Response, Rpc, SignalWithStartWorkflowRequest, SignalWorkflowRequest, StartWorkflowRequest,
    TaskQueueDescription, TerminateWorkflowRequest, Transport, WorkflowDescription,
    WorkflowExecutionInfo,
};
use endure_core::storage::{ExecutionKey, VisibilityQuery};
use endure_core::{
    EventAttributes, Failure, Header, Namespace, PayloadError, Payloads, RunId, SignalName,
    StartWorkflowOptions, TaskQueueName, ValidationError, WorkflowId, WorkflowType,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::interceptors::{ClientInterceptor, ClientNext};
use crate::workflow::WorkflowDefinition;

/// How long one wait for a result may last before it is renewed (a long poll).
const RESULT_LONG_POLL_DEFAULT: Duration = Duration::from_secs(60);

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The engine refused or failed the call.
    #[error(transparent)]
    Remote(#[from] RemoteError),
    /// The request is invalid (caught before it was sent).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// An argument or result could not be converted.
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// The workflow failed (its failure says why).
    #[error("workflow failed: {0}")]
    WorkflowFailed(Box<Failure>),
    /// The workflow closed without a result: canceled, terminated or timed out.
    #[error("workflow closed without a result: {0}")]
    WorkflowClosed(String),
    /// The engine answered something unexpected.
    #[error("unexpected response: {0}")]
    Unexpected(String),
    /// The workflow's code could not answer the query (an unknown query type, a handler
    /// error); the workflow itself is unaffected.
    #[error("query failed: {0}")]
    QueryFailed(String),
    /// The update was rejected by the workflow's validator, or its handler failed (the
    /// failure says which and why).
    #[error("update failed: {0}")]
    UpdateFailed(Box<Failure>),
    /// A list filter did not parse (caught before it was sent).
    #[error(transparent)]
    BadFilter(#[from] endure_core::list_filter::FilterError),
}

/// A connection to the engine for one namespace: start workflows, find them, and get a
/// [`WorkflowHandle`] to talk to one.
///
/// [`Client::connect`] reaches a server (`endure server start-dev`) over TCP;
/// `endure::embedded::open(path)` runs the engine in-process. Clients are cheap to clone
/// and share one connection.
///
/// ```
/// use endure::{StartWorkflowOptions, TaskQueueName, WorkflowExecutionStatus, WorkflowId};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// // `Client::connect("127.0.0.1:7233", Namespace::default())` for a server.
/// let client = endure::embedded::in_memory().await?;
/// let options = StartWorkflowOptions::new(
///     WorkflowId::new("order-42")?,
///     TaskQueueName::new("orders")?,
/// );
/// // Started by type name; no worker polls "orders" yet, so the run waits for one.
/// client.start_workflow(options, "OrderWorkflow", &"user_123").await?;
///
/// let running = client
///     .list_workflows_matching("WorkflowType = 'OrderWorkflow' AND ExecutionStatus = 'Running'", 10)
///     .await?;
/// assert_eq!(running.len(), 1);
/// assert_eq!(running[0].status, WorkflowExecutionStatus::Running);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) transport: Arc<dyn Transport>,
    pub(crate) namespace: Namespace,
    pub(crate) identity: String,
    long_poll: Duration,
    /// Each call gives up after this long (Go's `context.WithTimeout`), if set.
    timeout: Option<Duration>,
    /// What every call runs through, outermost first.
    interceptors: Arc<[Arc<dyn ClientInterceptor>]>,
}

impl Client {
    /// A client over `transport` for `namespace`.
    pub fn new(transport: Arc<dyn Transport>, namespace: Namespace) -> Self {
        Self {
            transport,
            namespace,
            identity: "endure-client".into(),
            long_poll: RESULT_LONG_POLL_DEFAULT,
            timeout: None,
            interceptors: Arc::new([]),
        }
    }

    /// The same client with every call also run through `interceptor` (after those added
    /// before it): see [`interceptors`](crate::interceptors).
    pub fn with_interceptor(mut self, interceptor: Arc<dyn ClientInterceptor>) -> Self {
        let mut all = self.interceptors.to_vec();
        all.push(interceptor);
        self.interceptors = all.into();
        self
    }

    /// The same client with every call given up after `timeout` (Go's
    /// `context.WithTimeout` around each call): a call still running then fails with
    /// `ErrorKind::DeadlineExceeded` — it may or may not have taken effect — and is
    /// cancelled on the server. A wait for a result gives up after `timeout` in all.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The same client naming itself `identity` (Go's `client.Options.Identity`; default
    /// `endure-client`) in what it records: the `identity` of the events its calls write
    /// (a cancel request, a termination, an activity it completes).
    pub fn with_identity(mut self, identity: impl Into<String>) -> Self {
        self.identity = identity.into();
        self
    }

    /// The same client with result waits of up to `long_poll` each (default 60 s).
    pub fn with_long_poll(mut self, long_poll: Duration) -> Self {
        self.long_poll = long_poll;
        self
    }

    /// The transport, to build a worker on the same connection.
    pub fn transport(&self) -> Arc<dyn Transport> {
        Arc::clone(&self.transport)
    }

    /// The namespace.
    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// Sends one RPC and returns its answer: the named methods wrap this, and a call
    /// without one can be made with its request message
    /// (`endure_core::protocol`'s table lists them).
    ///
    /// The request goes into the boxed call at once, so the returned future is small
    /// whatever the request's size.
    pub fn rpc<R: Rpc>(
        &self,
        request: R,
    ) -> impl Future<Output = Result<R::Response, ClientError>> + Send + '_ {
        let call = self.call(request.into_request());
        async move {
            let response = call.await?;
            R::from_response(response).map_err(|other| unexpected::<R>(&other))
        }
    }

    /// One call through the interceptors. Boxed: inline, every client future (a start, a
    /// result, a signal) would carry this one's kilobytes and copy them at each move.
    pub(crate) fn call(
        &self,
        request: Request,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Response, ClientError>> + Send + '_>> {
        Box::pin(async move {
            if self.interceptors.is_empty() {
                return self.send(request).await;
            }
            ClientNext::new(&self.interceptors, self).run(request).await
        })
    }

    /// Sends one call to the engine, past the interceptors.
    pub(crate) async fn send(&self, request: Request) -> Result<Response, ClientError> {
        let Some(timeout) = self.timeout else {
            return Ok(self.transport.call(request).await?);
        };
        let name = request.name();
        match tokio::time::timeout(timeout, self.transport.call(request)).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(ClientError::Remote(RemoteError {
                kind: endure_core::protocol::ErrorKind::DeadlineExceeded,
                message: format!(
                    "{name} did not finish within the client's timeout of {timeout:?}; it may or may not have taken effect"
                ),
                run_id: None,
            })),
        }
    }

    /// Starts workflow `workflow_type` with `input` (Go's `ExecuteWorkflow` without waiting).
    /// The input is the workflow's arguments: a tuple is several (one payload each, as Go
    /// passes them), `()` none.
    pub async fn start_workflow<I: Serialize>(
        &self,
        options: StartWorkflowOptions,
        workflow_type: &str,
        input: &I,
    ) -> Result<WorkflowHandle, ClientError> {
        let input = argument(input, "workflow input")?;
        self.start_workflow_raw(options, workflow_type, input).await
    }

    /// Starts workflow `workflow_type` with arguments already encoded (a payload per
    /// argument, any encoding): for payloads of another converter, or passed on untouched.
    pub async fn start_workflow_raw(
        &self,
        options: StartWorkflowOptions,
        workflow_type: &str,
        input: Payloads,
    ) -> Result<WorkflowHandle, ClientError> {
        options.validate()?;
        input.check_size("workflow input")?;
        // Every start carries a request id, so one the transport repeats (an answer lost on
        // the way back) finds the run it created instead of failing as already started.
        let mut options = options;
        if options.request_id.is_none() {
            options.request_id = Some(fresh_request_id());
        }
        let request = StartWorkflowRequest {
            namespace: self.namespace.clone(),
            workflow_type: WorkflowType::new(workflow_type)?,
            input,
            header: Header::new(),
            identity: self.identity.clone(),
            options: options.clone(),
        };
        let started = self.rpc(request).await?;
        Ok(self.handle(options.id, Some(started.run_id)))
    }

    /// Signal-with-start (Go's `SignalWithStartWorkflow`): sends signal `signal_name` to
    /// the workflow id's running run — ending its start delay if it has one (spec
    /// §5.17.5) — or starts the workflow with `input` and the signal delivered first.
    pub async fn signal_with_start_workflow<I: Serialize, S: Serialize>(
        &self,
        options: StartWorkflowOptions,
        workflow_type: &str,
        input: &I,
        signal_name: &str,
        signal_value: &S,
    ) -> Result<WorkflowHandle, ClientError> {
        self.signal_with_start_workflow_raw(
            options,
            workflow_type,
            argument(input, "workflow input")?,
            signal_name,
            argument(signal_value, "signal input")?,
        )
        .await
    }

    /// [`signal_with_start_workflow`](Self::signal_with_start_workflow) with arguments
    /// already encoded (a payload each).
    pub async fn signal_with_start_workflow_raw(
        &self,
        options: StartWorkflowOptions,
        workflow_type: &str,
        input: Payloads,
        signal_name: &str,
        signal_input: Payloads,
    ) -> Result<WorkflowHandle, ClientError> {
        options.validate()?;
        input.check_size("workflow input")?;
        signal_input.check_size("signal input")?;
        let mut options = options;
        if options.request_id.is_none() {
            options.request_id = Some(fresh_request_id());
        }
        let signal = SignalRequest {
            signal_name: SignalName::new(signal_name)?,
            input: signal_input,
            identity: self.identity.clone(),
            header: Header::new(),
            request_id: options.request_id.clone(),
        };
        let start = StartWorkflowRequest {
            namespace: self.namespace.clone(),
            workflow_type: WorkflowType::new(workflow_type)?,
            input,
            header: Header::new(),
            identity: self.identity.clone(),
            options: options.clone(),
        };
        let started = self
            .rpc(SignalWithStartWorkflowRequest { start, signal })
            .await?;
        Ok(self.handle(options.id, Some(started.run_id)))
    }

    /// Signal-with-start of workflow `W` (a `#[endure::workflow]` function).
    pub async fn signal_with_start<W: WorkflowDefinition, S: Serialize>(
        &self,
        options: StartWorkflowOptions,
        input: &W::Input,
        signal_name: &str,
        signal_value: &S,
    ) -> Result<WorkflowHandle, ClientError> {
        self.signal_with_start_workflow(options, W::NAME, input, signal_name, signal_value)
            .await
    }

    /// Starts workflow `W` (a `#[endure::workflow]` function) with its typed argument.
    pub async fn start<W: WorkflowDefinition>(
        &self,
        options: StartWorkflowOptions,
        input: &W::Input,
    ) -> Result<WorkflowHandle, ClientError> {
        self.start_workflow(options, W::NAME, input).await
    }

    /// Starts workflow `W` and waits for its typed result.
    pub async fn execute<W: WorkflowDefinition>(
        &self,
        options: StartWorkflowOptions,
        input: &W::Input,
    ) -> Result<W::Output, ClientError> {
        self.start::<W>(options, input).await?.result().await
    }

    /// Starts a workflow and waits for its result.
    pub async fn execute_workflow<I: Serialize, O: DeserializeOwned>(
        &self,
        options: StartWorkflowOptions,
        workflow_type: &str,
        input: &I,
    ) -> Result<O, ClientError> {
        self.start_workflow(options, workflow_type, input)
            .await?
            .result()
            .await
    }

    /// Whether the engine serves (Temporal's health check): a store stopped by a failure —
    /// a full disk, a failing device, a corrupt file — says why.
    pub async fn health(&self) -> Result<Health, ClientError> {
        self.rpc(HealthRequest).await
    }

    /// The cluster the server belongs to: its members, the shards each holds and every
    /// shard's lease (a single-node server names no node and lists none).
    pub async fn describe_cluster(&self) -> Result<ClusterDescription, ClientError> {
        self.rpc(DescribeClusterRequest)
            .await
            .map(|description| *description)
    }

    /// Runs of the namespace matching `query`, latest start first: `limit` rows after
    /// skipping `offset` (status, type, id, start time and search-attribute filters).
    pub async fn list_workflows(
        &self,
        query: VisibilityQuery,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<WorkflowExecutionInfo>, ClientError> {
        self.rpc(ListWorkflowsRequest {
            namespace: self.namespace.clone(),
            query,
            offset,
            limit,
        })
        .await
    }

    /// Runs of the namespace that `filter` selects, latest start first, at most `limit`
    /// (Go's `ListWorkflow` with a query): `WorkflowType = 'Order' AND ExecutionStatus =
    /// 'Running' AND StartTime > '2026-11-01T00:00:00Z'`, custom search attributes by name
    /// (see `endure_core::list_filter` for the language). A filter that does not parse is
    /// refused before anything is sent, saying where and why.
    pub async fn list_workflows_matching(
        &self,
        filter: &str,
        limit: usize,
    ) -> Result<Vec<WorkflowExecutionInfo>, ClientError> {
        self.list_workflows(VisibilityQuery::parse(filter)?, 0, limit)
            .await
    }

    /// How many runs of the namespace `filter` selects (Go's `CountWorkflow`), in the list
    /// filter language of [`list_workflows_matching`](Self::list_workflows_matching); the
    /// empty filter counts every run.
    pub async fn count_workflows_matching(&self, filter: &str) -> Result<u64, ClientError> {
        self.rpc(CountWorkflowsRequest {
            namespace: self.namespace.clone(),
            query: VisibilityQuery::parse(filter)?,
        })
        .await
    }

    /// Who polled `task_queue` in the last five minutes, per half (Go's
    /// `DescribeTaskQueue`): each worker's identity, last access time and version.
    pub async fn describe_task_queue(
        &self,
        task_queue: &TaskQueueName,
    ) -> Result<TaskQueueDescription, ClientError> {
        self.rpc(DescribeTaskQueueRequest {
            namespace: self.namespace.clone(),
            task_queue: task_queue.clone(),
        })
        .await
    }

    /// A handle on workflow `workflow_id` (its current run if `run_id` is `None`).
    pub fn handle(&self, workflow_id: WorkflowId, run_id: Option<RunId>) -> WorkflowHandle {
        WorkflowHandle {
            client: self.clone(),
            workflow_id,
            run_id,
        }
    }
}

/// A started workflow, by id (and run, if pinned): wait for its result, signal, query or
/// update it, describe it, read its history, cancel or terminate it.
///
/// ```
/// use endure::{StartWorkflowOptions, TaskQueueName, WorkflowExecutionStatus, WorkflowId};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let client = endure::embedded::in_memory().await?;
/// let options = StartWorkflowOptions::new(WorkflowId::new("cart-7")?, TaskQueueName::new("carts")?);
/// client.start_workflow(options, "CartWorkflow", &()).await?;
///
/// // Any process can get a handle by id.
/// let handle = client.handle(WorkflowId::new("cart-7")?, None);
/// handle.signal("add_item", &("sku-1", 2)).await?;
/// let description = handle.describe().await?;
/// assert_eq!(description.status, WorkflowExecutionStatus::Running);
///
/// handle.terminate("the shop closed").await?;
/// assert_eq!(handle.describe().await?.status, WorkflowExecutionStatus::Terminated);
/// let events = handle.history().await?;
/// assert_eq!(events.last().map(|e| e.event_type().name()), Some("WorkflowExecutionTerminated"));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct WorkflowHandle {
    pub(crate) client: Client,
    pub(crate) workflow_id: WorkflowId,
    pub(crate) run_id: Option<RunId>,
}

impl std::fmt::Debug for WorkflowHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkflowHandle")
            .field("namespace", &self.client.namespace)
            .field("workflow_id", &self.workflow_id)
            .field("run_id", &self.run_id)
            .finish_non_exhaustive()
    }
}

impl WorkflowHandle {
    /// The workflow id.
    pub fn workflow_id(&self) -> &WorkflowId {
        &self.workflow_id
    }

    /// The run this handle follows (the current run if none was given).
    pub fn run_id(&self) -> Option<RunId> {
        self.run_id
    }

    /// The run's status and size.
    pub async fn describe(&self) -> Result<WorkflowDescription, ClientError> {
        let request = DescribeWorkflowRequest {
            namespace: self.client.namespace.clone(),
            workflow_id: self.workflow_id.clone(),
            run_id: self.run_id,
        };
        Ok(*self.client.rpc(request).await?)
    }

    /// The run's history.
    pub async fn history(&self) -> Result<Vec<HistoryEvent>, ClientError> {
        let execution = self.describe().await?.execution;
        history_of(&self.client, execution).await
    }

    /// One page (about 1 MiB) of the run's history from `first_event_id`; the page names
    /// where the next one starts.
    pub async fn history_page(
        &self,
        first_event_id: endure_core::EventId,
    ) -> Result<HistoryPageResponse, ClientError> {
        let execution = self.describe().await?.execution;
        self.client
            .rpc(GetHistoryPageRequest {
                execution,
                first_event_id,
            })
            .await
    }

    /// Sends a signal; `value` is its arguments (a tuple is several).
    pub async fn signal<T: Serialize>(&self, name: &str, value: &T) -> Result<(), ClientError> {
        self.signal_raw(name, argument(value, "signal input")?)
            .await
    }

    /// Sends a signal whose arguments are already encoded.
    pub async fn signal_raw(&self, name: &str, input: Payloads) -> Result<(), ClientError> {
        // A fresh request id: this call is one signal however often the transport repeats
        // it; calling `signal` again sends another.
        self.send_signal(name, input, Some(fresh_request_id()))
            .await
    }

    /// Asks the workflow's code `query_type` with `args` (Go's `QueryWorkflow`, spec
    /// §5.19.1): its registered handler answers from the state after the last completed
    /// workflow task. Running and closed runs can be queried; nothing is written to
    /// history.
    pub async fn query<A: Serialize, R: DeserializeOwned>(
        &self,
        query_type: &str,
        args: &A,
    ) -> Result<R, ClientError> {
        let answer = self
            .query_raw(query_type, argument(args, "query arguments")?)
            .await?;
        Ok(answer.unwrap_or_default().decode_first()?)
    }

    /// Queries with arguments already encoded; the answer's payloads as the handler wrote
    /// them (`None` for no answer).
    pub async fn query_raw(
        &self,
        query_type: &str,
        args: Payloads,
    ) -> Result<Option<Payloads>, ClientError> {
        args.check_size("query arguments")?;
        let request = QueryWorkflowRequest {
            header: Header::new(),
            namespace: self.client.namespace.clone(),
            workflow_id: self.workflow_id.clone(),
            run_id: self.run_id,
            query_type: query_type.to_owned(),
            args,
        };
        self.client
            .rpc(request)
            .await?
            .map_err(ClientError::QueryFailed)
    }

    /// Sends a signal that is applied once however many times it is sent with the same
    /// `request_id` — for retrying a signal whose answer was lost (an `Unavailable` or
    /// `DeadlineExceeded` error says nothing about whether it arrived).
    pub async fn signal_with_request_id<T: Serialize>(
        &self,
        name: &str,
        value: &T,
        request_id: &str,
    ) -> Result<(), ClientError> {
        let request_id = endure_core::RequestId::new(request_id)?;
        self.send_signal(name, argument(value, "signal input")?, Some(request_id))
            .await
    }

    async fn send_signal(
        &self,
        name: &str,
        input: Payloads,
        request_id: Option<endure_core::RequestId>,
    ) -> Result<(), ClientError> {
        input.check_size("signal input")?;
        let signal = SignalRequest {
            signal_name: SignalName::new(name)?,
            input,
            identity: self.client.identity.clone(),
            header: Header::new(),
            request_id,
        };
        self.client
            .rpc(SignalWorkflowRequest {
                namespace: self.client.namespace.clone(),
                workflow_id: self.workflow_id.clone(),
                run_id: self.run_id,
                signal,
            })
            .await
    }

    /// Asks the workflow to cancel (it decides how).
    pub async fn cancel(&self) -> Result<(), ClientError> {
        self.client
            .rpc(RequestCancelWorkflowRequest {
                namespace: self.client.namespace.clone(),
                workflow_id: self.workflow_id.clone(),
                run_id: self.run_id,
                reason: "canceled by client".into(),
                identity: self.client.identity.clone(),
            })
            .await
    }

    /// Ends the run now, without the workflow's involvement.
    pub async fn terminate(&self, reason: &str) -> Result<(), ClientError> {
        self.client
            .rpc(TerminateWorkflowRequest {
                namespace: self.client.namespace.clone(),
                workflow_id: self.workflow_id.clone(),
                run_id: self.run_id,
                reason: reason.to_owned(),
                details: None,
                identity: self.client.identity.clone(),
            })
            .await
    }

    /// Deletes the run (or the current run): terminated first if it is open, then its
    /// history and visibility row are gone (Temporal's `DeleteWorkflowExecution`); the
    /// workflow id is free again.
    pub async fn delete(&self) -> Result<(), ClientError> {
        self.client
            .rpc(DeleteWorkflowRequest {
                namespace: self.client.namespace.clone(),
                workflow_id: self.workflow_id.clone(),
                run_id: self.run_id,
                identity: self.client.identity.clone(),
            })
            .await
    }

    /// Waits for the workflow's result, following retries, cron and continue-as-new to the
    /// run that ends the chain (within the client's timeout in all, if it has one).
    pub async fn result<O: DeserializeOwned>(&self) -> Result<O, ClientError> {
        Ok(self
            .result_raw()
            .await?
            .unwrap_or_default()
            .decode_first()?)
    }

    /// Waits for the workflow's result as the workflow wrote it (`None` for no result).
    pub async fn result_raw(&self) -> Result<Option<Payloads>, ClientError> {
        let Some(timeout) = self.client.timeout else {
            return self.wait_for_result().await;
        };
        tokio::time::timeout(timeout, self.wait_for_result())
            .await
            .unwrap_or_else(|_| {
                Err(ClientError::Remote(RemoteError {
                    kind: endure_core::protocol::ErrorKind::DeadlineExceeded,
                    message: format!(
                        "the workflow did not close within the client's timeout of {timeout:?}"
                    ),
                    run_id: None,
                }))
            })
    }

    async fn wait_for_result(&self) -> Result<Option<Payloads>, ClientError> {
        let mut run_id = self.run_id;
        loop {
            let closed = self
                .client
                .rpc(AwaitWorkflowCloseRequest {
                    namespace: self.client.namespace.clone(),
                    workflow_id: self.workflow_id.clone(),
                    run_id,
                    wait: self.client.long_poll,
                })
                .await?;
            // The closing event comes with the answer once the run closed.
            let Some(last) = closed.closing_event else {
                if closed.description.status.is_closed() {
                    return Err(ClientError::Unexpected(
                        "a closed run answered without its closing event".into(),
                    ));
                }
                continue;
            };
            let next_run = match last.attributes {
                EventAttributes::WorkflowExecutionCompleted(a)
                    if a.new_execution_run_id.is_none() =>
                {
                    return Ok(a.result);
                }
                EventAttributes::WorkflowExecutionFailed(a) if a.new_execution_run_id.is_none() => {
                    return Err(ClientError::WorkflowFailed(Box::new(a.failure)));
                }
                EventAttributes::WorkflowExecutionCompleted(a) => a.new_execution_run_id,
                EventAttributes::WorkflowExecutionFailed(a) => a.new_execution_run_id,
                EventAttributes::WorkflowExecutionTimedOut(a)
                    if a.new_execution_run_id.is_some() =>
                {
                    a.new_execution_run_id
                }
                EventAttributes::WorkflowExecutionContinuedAsNew(a) => Some(a.new_execution_run_id),
                other => {
                    return Err(ClientError::WorkflowClosed(format!(
                        "{:?}",
                        other.event_type()
                    )));
                }
            };
            run_id = next_run;
        }
    }
}

/// A response that is not `R`'s: a transport or engine bug.
pub(crate) fn unexpected<R: Rpc>(response: &Response) -> ClientError {
    ClientError::Unexpected(format!("{} answered with {response:?}", R::NAME))
}

/// Sends one RPC over `transport` (workers call the transport without a client).
pub(crate) async fn call_rpc<R: Rpc>(
    transport: &dyn Transport,
    request: R,
) -> Result<R::Response, ClientError> {
    let response = transport.call(request.into_request()).await?;
    R::from_response(response).map_err(|other| unexpected::<R>(&other))
}

async fn history_of(
    client: &Client,
    execution: ExecutionKey,
) -> Result<Vec<HistoryEvent>, ClientError> {
    client.rpc(GetHistoryRequest { execution }).await
}

/// `value` as the arguments of a request (a payload per argument), refused before it is
/// sent if one is over the payload limit (2 MiB), as the engine would refuse it.
pub(crate) fn argument<T: Serialize + ?Sized>(
    value: &T,
    field: &'static str,
) -> Result<Payloads, ClientError> {
    let payloads = Payloads::encode_arguments(value)?;
    payloads.check_size(field)?;
    Ok(payloads)
}

/// A request id unique to this call: 128 random bits from std's hasher keys, which the OS
/// seeds per thread and which move on with every use (madsim seeds them under simulation,
/// so a simulated run draws the same ids every time).
pub(crate) fn fresh_request_id() -> endure_core::RequestId {
    use std::hash::BuildHasher;
    let high = std::collections::hash_map::RandomState::new().hash_one(0u8);
    let low = std::collections::hash_map::RandomState::new().hash_one(1u8);
    endure_core::RequestId::new(format!("{high:016x}{low:016x}"))
        .expect("a short ASCII id is valid")
}
