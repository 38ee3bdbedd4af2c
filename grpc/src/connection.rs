//! One HTTP/2 connection served with the [`WorkflowService`].

use std::net::SocketAddr;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;

use crate::service::{Peer, WorkflowService};

/// Serves gRPC on `stream` (a connection whose first bytes are the HTTP/2 preface) until
/// the peer closes it or it fails.
pub async fn serve_connection<S>(service: WorkflowService, stream: S, peer: SocketAddr)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let service = tower::ServiceBuilder::new()
        .map_request(move |mut request: http::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(Peer(peer));
            request
        })
        .service(service);
    let served = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
        .await;
    if let Err(error) = served {
        tracing::debug!(%peer, %error, "gRPC connection closed");
    }
}
