//! Payload codecs on the client's and the worker's transport (Go's
//! `NewPayloadCodecGRPCClientInterceptor`): every payload of every request is encoded on
//! its way to the engine, every payload of every response decoded on its way back, so the
//! engine — and anyone reading its store — only ever holds encoded payloads.

use std::sync::Arc;

use endure_core::payload_codec::{CodecChain, CodecError, PayloadCodec};
use endure_core::protocol::{ErrorKind, RemoteError, Request, Transport, TransportFuture};

/// A transport that runs `codecs` over what passes through it.
pub struct CodecTransport {
    inner: Arc<dyn Transport>,
    codecs: CodecChain,
}

impl CodecTransport {
    /// `inner` with `codecs` applied to every request and response.
    pub fn new(inner: Arc<dyn Transport>, codecs: CodecChain) -> Self {
        Self { inner, codecs }
    }
}

/// A codec's failure as the error a call returns: an encoding failure is the caller's
/// (`InvalidArgument`, nothing was sent); a decoding failure is `Internal` (the engine
/// answered, but its answer could not be read — a missing key, a codec that changed).
fn codec_error(kind: ErrorKind, request: &'static str, error: &CodecError) -> RemoteError {
    let direction = match kind {
        ErrorKind::InvalidArgument => "request was not sent",
        _ => "answer could not be read",
    };
    RemoteError {
        kind,
        message: format!("{request}: the {direction}: {error}"),
        run_id: None,
    }
}

impl Transport for CodecTransport {
    fn call(&self, mut request: Request) -> TransportFuture<'_> {
        Box::pin(async move {
            let name = request.name();
            self.codecs
                .encode_all(&mut request)
                .map_err(|error| codec_error(ErrorKind::InvalidArgument, name, &error))?;
            let mut response = self.inner.call(request).await?;
            self.codecs
                .decode_all(&mut response)
                .map_err(|error| codec_error(ErrorKind::Internal, name, &error))?;
            Ok(response)
        })
    }
}

impl crate::Client {
    /// The same client with `codec` applied to every payload it sends and receives (Go's
    /// `client.Options.DataConverter` built with `converter.NewCodecDataConverter`): for
    /// encryption, compression or offloading. Workers built from this client's
    /// [`transport`](Self::transport) apply it too — they must, to read what the client
    /// encoded. Calling it again adds a codec after the first (encoded after it, decoded
    /// before it).
    pub fn with_codec(self, codec: impl PayloadCodec) -> Self {
        self.with_codecs(CodecChain::new(vec![Arc::new(codec)]))
    }

    /// The same client with a chain of codecs (see [`Self::with_codec`]).
    pub fn with_codecs(mut self, codecs: CodecChain) -> Self {
        self.transport = Arc::new(CodecTransport::new(self.transport, codecs));
        self
    }
}
