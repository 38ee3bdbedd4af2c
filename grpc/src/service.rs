//! The `WorkflowService` as a tower service: each call's path names its RPC, its body is
//! decoded with prost, its caller's credential (`authorization: Bearer …`, as Temporal's
//! SDKs send an API key) becomes a [`GuardedTransport`] over the engine, and its handler
//! maps the request onto the engine's calls. A method with no handler answers
//! `UNIMPLEMENTED` with its name; a panicking handler answers `INTERNAL`.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use endure_core::Namespace;
use endure_core::protocol::{Rpc, Transport};
use endure_server::security::{GuardedTransport, Security};
use tonic::body::Body;
use tonic::{Request, Response, Status};

use crate::rpc;
use crate::status::status;

/// The gRPC path prefix of every `WorkflowService` method.
pub const SERVICE_PATH: &str = "/temporal.api.workflowservice.v1.WorkflowService/";

/// The gRPC path prefix of every `OperatorService` method.
pub const OPERATOR_SERVICE_PATH: &str = "/temporal.api.operatorservice.v1.OperatorService/";

/// What the service serves with.
#[derive(Clone)]
pub struct GrpcOptions {
    /// The engine, as its in-process transport (every call is guarded by `security` first).
    pub transport: Arc<dyn Transport>,
    /// The server's front-end security (open for the dev server).
    pub security: Arc<Security>,
}

impl GrpcOptions {
    /// Options for `transport` on an open server.
    pub fn new(transport: Arc<dyn Transport>) -> Self {
        Self {
            transport,
            security: Arc::new(Security::open()),
        }
    }
}

/// Temporal's `WorkflowService` over Endure's engine.
#[derive(Clone)]
pub struct WorkflowService {
    options: Arc<GrpcOptions>,
}

impl WorkflowService {
    /// The service for `options`.
    pub fn new(options: GrpcOptions) -> Self {
        Self {
            options: Arc::new(options),
        }
    }
}

/// Who a connection comes from, put in each of its requests' extensions.
#[derive(Clone, Debug)]
pub struct Peer {
    /// Its address.
    pub address: std::net::SocketAddr,
    /// Its verified client certificate's subject (mutual TLS).
    pub certificate_subject: Option<String>,
}

/// One call's caller: the engine as it may use it.
pub(crate) struct Call {
    transport: GuardedTransport,
}

impl Call {
    /// Runs one engine call as this caller.
    pub(crate) async fn rpc<R: Rpc>(&self, request: R) -> Result<R::Response, Status> {
        let response = self
            .transport
            .call(request.into_request())
            .await
            .map_err(status)?;
        R::from_response(response).map_err(|other| {
            Status::internal(format!(
                "the engine answered {} with another call's response ({:?})",
                R::NAME,
                std::mem::discriminant(&*other)
            ))
        })
    }
}

/// A call about a run that has closed — a worker's answer to one of its tasks, a signal,
/// a cancel request, a termination: Temporal's server answers `NOT_FOUND` ("workflow
/// execution already completed"), which SDKs take quietly for tasks and raise as "not
/// found" to clients; the engine's `FAILED_PRECONDITION` (a closed run, for these calls)
/// is mapped to it.
pub(crate) fn closed_run_not_found(status: Status) -> Status {
    if status.code() == tonic::Code::FailedPrecondition {
        Status::not_found(status.message().to_owned())
    } else {
        status
    }
}

/// A namespace name from a request; empty is refused, as Temporal's server refuses it.
pub(crate) fn namespace(name: &str) -> Result<Namespace, Status> {
    if name.is_empty() {
        return Err(Status::invalid_argument(
            "namespace: the namespace is required",
        ));
    }
    Namespace::new(name).map_err(|error| Status::invalid_argument(format!("namespace: {error}")))
}

/// The bearer token of a call's `authorization` metadata.
fn bearer<T>(request: &Request<T>) -> Option<String> {
    let value = request.metadata().get("authorization")?.to_str().ok()?;
    let token = match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token,
        _ => value,
    };
    let token = token.trim();
    (!token.is_empty()).then(|| token.to_owned())
}

/// Serves one unary call with `handler`.
async fn unary<B, Req, Res, F, Fut>(
    options: Arc<GrpcOptions>,
    request: http::Request<B>,
    handler: F,
) -> http::Response<Body>
where
    B: http_body::Body + Send + 'static,
    B::Data: Into<bytes::Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send,
    Req: prost::Message + Default + Send + 'static,
    Res: prost::Message + Send + 'static,
    F: Fn(Call, Req) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<Res, Status>> + Send + 'static,
{
    let service = tower::service_fn(move |request: Request<Req>| {
        let options = Arc::clone(&options);
        let handler = handler.clone();
        async move {
            let (peer, certificate_subject) = match request.extensions().get::<Peer>() {
                Some(peer) => (
                    format!("grpc {}", peer.address),
                    peer.certificate_subject.clone(),
                ),
                None => ("grpc".to_owned(), None),
            };
            let token = bearer(&request);
            let transport = GuardedTransport::for_connection(
                Arc::clone(&options.transport),
                Arc::clone(&options.security),
                peer,
                certificate_subject,
                token,
            )
            .map_err(|error| Status::unauthenticated(error.to_string()))?;
            let call = Call { transport };
            let answer = futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(
                handler(call, request.into_inner()),
            ))
            .await;
            match answer {
                Ok(answer) => answer.map(Response::new),
                Err(_) => {
                    tracing::error!("a gRPC handler panicked");
                    Err(Status::internal(
                        "the server failed handling this call; the failure is in its log",
                    ))
                }
            }
        }
    });
    // Temporal's SDKs send gzip-compressed requests.
    let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::<Res, Req>::default())
        .accept_compressed(tonic::codec::CompressionEncoding::Gzip)
        .max_decoding_message_size(crate::MESSAGE_BYTES_MAX)
        .max_encoding_message_size(crate::MESSAGE_BYTES_MAX);
    grpc.unary(service, request).await
}

/// `WorkflowService`'s methods served, and their handlers: one table for the routing and
/// for [`IMPLEMENTED`].
macro_rules! workflow_service {
    ($then:ident $(, $arg:expr)*) => {
        $then!(($($arg),*) {
            "GetSystemInfo" => rpc::system::get_system_info,
            "RegisterNamespace" => rpc::namespaces::register_namespace,
            "DescribeNamespace" => rpc::namespaces::describe_namespace,
            "ListNamespaces" => rpc::namespaces::list_namespaces,
            "UpdateNamespace" => rpc::namespaces::update_namespace,
            "StartWorkflowExecution" => rpc::workflows::start,
            "SignalWorkflowExecution" => rpc::workflows::signal,
            "SignalWithStartWorkflowExecution" => rpc::workflows::signal_with_start,
            "QueryWorkflow" => rpc::workflows::query,
            "UpdateWorkflowExecution" => rpc::updates::update,
            "PollWorkflowExecutionUpdate" => rpc::updates::poll,
            "ExecuteMultiOperation" => rpc::multi::execute,
            "DescribeTaskQueue" => rpc::system::describe_task_queue,
            "DescribeWorkerDeployment" => rpc::deployments::describe,
            "DescribeWorkerDeploymentVersion" => rpc::deployments::describe_version,
            "ListWorkerDeployments" => rpc::deployments::list,
            "SetWorkerDeploymentCurrentVersion" => rpc::deployments::set_current,
            "SetWorkerDeploymentRampingVersion" => rpc::deployments::set_ramping,
            "DeleteWorkerDeploymentVersion" => rpc::deployments::delete_version,
            "UpdateWorkflowExecutionOptions" => rpc::deployments::update_options,
            "RequestCancelWorkflowExecution" => rpc::workflows::request_cancel,
            "TerminateWorkflowExecution" => rpc::workflows::terminate,
            "DescribeWorkflowExecution" => rpc::describe::describe,
            "GetWorkflowExecutionHistory" => rpc::history::get_history,
            "ListWorkflowExecutions" => rpc::visibility::list,
            "CountWorkflowExecutions" => rpc::visibility::count,
            "DeleteWorkflowExecution" => rpc::admin::delete,
            "ResetWorkflowExecution" => rpc::admin::reset,
            "PollWorkflowTaskQueue" => rpc::workflow_tasks::poll,
            "RespondWorkflowTaskCompleted" => rpc::workflow_tasks::complete,
            "RespondWorkflowTaskFailed" => rpc::workflow_tasks::fail,
            "RespondQueryTaskCompleted" => rpc::workflow_tasks::respond_query,
            "ResetStickyTaskQueue" => rpc::workflow_tasks::reset_sticky,
            "ShutdownWorker" => rpc::workflow_tasks::shutdown_worker,
            "PollActivityTaskQueue" => rpc::activity_tasks::poll,
            "RecordActivityTaskHeartbeat" => rpc::activity_tasks::heartbeat,
            "RespondActivityTaskCompleted" => rpc::activity_tasks::complete,
            "RespondActivityTaskFailed" => rpc::activity_tasks::fail,
            "RespondActivityTaskCanceled" => rpc::activity_tasks::cancel,
            "RecordActivityTaskHeartbeatById" => rpc::by_id::heartbeat,
            "RespondActivityTaskCompletedById" => rpc::by_id::complete,
            "RespondActivityTaskFailedById" => rpc::by_id::fail,
            "RespondActivityTaskCanceledById" => rpc::by_id::cancel,
            "CreateSchedule" => rpc::schedules::create,
            "DescribeSchedule" => rpc::schedules::describe,
            "UpdateSchedule" => rpc::schedules::update,
            "PatchSchedule" => rpc::schedules::patch,
            "DeleteSchedule" => rpc::schedules::delete,
            "ListSchedules" => rpc::schedules::list,
        })
    };
}

/// `OperatorService`'s methods served, and their handlers.
macro_rules! operator_service {
    ($then:ident $(, $arg:expr)*) => {
        $then!(($($arg),*) {
            "AddSearchAttributes" => rpc::operator::add,
            "ListSearchAttributes" => rpc::operator::list,
            "RemoveSearchAttributes" => rpc::operator::remove,
        })
    };
}

/// The names of a table's methods.
macro_rules! names {
    (() { $($name:literal => $handler:path,)* }) => {
        &[$($name),*]
    };
}

/// Routes `method` through a table.
macro_rules! dispatch {
    (($method:expr, $options:expr, $request:expr) { $($name:literal => $handler:path,)* }) => {
        match $method {
            $($name => unary($options, $request, $handler).await,)*
            other => Status::unimplemented(format!(
                "{other} is not implemented by Endure's gRPC front end (README, \"Using Temporal's SDKs\", lists what is)"
            ))
            .into_http(),
        }
    };
}

/// The `OperatorService` methods served.
pub const OPERATOR_IMPLEMENTED: &[&str] = operator_service!(names);

/// The `WorkflowService` methods served, for the README's table and the tests.
pub const IMPLEMENTED: &[&str] = workflow_service!(names);

async fn route<B>(options: Arc<GrpcOptions>, request: http::Request<B>) -> http::Response<Body>
where
    B: http_body::Body + Send + 'static,
    B::Data: Into<bytes::Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send,
{
    let path = request.uri().path().to_owned();
    if let Some(method) = path.strip_prefix(OPERATOR_SERVICE_PATH) {
        return operator_service!(dispatch, method, options, request);
    }
    let Some(method) = path.strip_prefix(SERVICE_PATH) else {
        return Status::unimplemented(format!(
            "{path}: Endure serves Temporal's WorkflowService and OperatorService only"
        ))
        .into_http();
    };
    workflow_service!(dispatch, method, options, request)
}

impl<B> tower::Service<http::Request<B>> for WorkflowService
where
    B: http_body::Body + Send + 'static,
    B::Data: Into<bytes::Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let options = Arc::clone(&self.options);
        Box::pin(async move { Ok(route(options, request).await) })
    }
}
