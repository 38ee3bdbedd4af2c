//! One HTTP/2 connection served with the [`WorkflowService`].

use std::net::SocketAddr;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;

use crate::service::{Peer, WorkflowService};

/// Serves gRPC on `stream` (a connection whose first bytes are the HTTP/2 preface) until
/// the peer closes it or it fails; `certificate_subject` is its verified client
/// certificate's (mutual TLS), which authenticates calls that bring no token.
pub async fn serve_connection<S>(
    service: WorkflowService,
    stream: S,
    peer: SocketAddr,
    certificate_subject: Option<String>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let service = tower::ServiceBuilder::new()
        .map_request(move |mut request: http::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(Peer {
                address: peer,
                certificate_subject: certificate_subject.clone(),
            });
            request
        })
        .service(service);
    let served = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
        .max_concurrent_streams(crate::STREAMS_PER_CONNECTION_MAX)
        .max_header_list_size(crate::HEADER_LIST_BYTES_MAX)
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
        .await;
    if let Err(error) = served {
        tracing::debug!(%peer, %error, "gRPC connection closed");
    }
}
