//! A front end's caller as a [`Transport`]: every call goes through [`Security`] — the
//! caller's credential checked again if the accepted credentials changed, rate limits,
//! authorization, the audit log and the listing filter — before it reaches the engine.
//!
//! The TCP server does the same per frame on a connection; front ends without a
//! connection of their own (the HTTP/JSON API, one caller per request) wrap the engine's
//! in-process transport in a [`GuardedTransport`] and hand it to an SDK `Client`. Such a
//! caller lives for one request, so the per-connection rate limit (`--connection-rps`)
//! bounds each request's calls only; the namespace's and the server's limits apply as to
//! every call.

use std::sync::Arc;

use endure_core::protocol::{Request, Transport, TransportFuture};
use parking_lot::Mutex;

use crate::engine::instruments::REQUESTS_REFUSED;

use super::{AuthError, ConnectionBucket, Security, Session, audit};

/// One caller's calls to `inner`, each decided by the security first.
pub struct GuardedTransport {
    inner: Arc<dyn Transport>,
    security: Arc<Security>,
    caller: Mutex<Caller>,
}

/// The caller's session and its rate-limit bucket.
struct Caller {
    session: Session,
    bucket: ConnectionBucket,
}

impl GuardedTransport {
    /// A caller from `peer` presenting `token` (an API key or a JWT; `None`: no
    /// credential, which an open server needs none of). A token the server refuses is an
    /// error; on an open server any token is taken and ignored.
    pub fn new(
        inner: Arc<dyn Transport>,
        security: Arc<Security>,
        peer: impl Into<String>,
        token: Option<String>,
    ) -> Result<Self, AuthError> {
        Self::for_connection(inner, security, peer, None, token)
    }

    /// A caller on a connection that may have presented a verified client certificate
    /// (mTLS): its `certificate_subject` authenticates the caller when it brings no
    /// `token`, as on the native listener.
    pub fn for_connection(
        inner: Arc<dyn Transport>,
        security: Arc<Security>,
        peer: impl Into<String>,
        certificate_subject: Option<String>,
        token: Option<String>,
    ) -> Result<Self, AuthError> {
        let mut session = Session::new(peer, certificate_subject);
        if security.requires_authentication() {
            match token {
                Some(token) => {
                    session.authenticate(&security, token)?;
                }
                None => session.authenticate_certificate(&security),
            }
        }
        let bucket = security.rate_limits().connection_bucket();
        Ok(Self {
            inner,
            security,
            caller: Mutex::new(Caller { session, bucket }),
        })
    }

    /// Who the caller is: its subject, or `anonymous`.
    pub fn subject(&self) -> String {
        self.caller.lock().session.subject().to_owned()
    }
}

impl Transport for GuardedTransport {
    fn call(&self, request: Request) -> TransportFuture<'_> {
        let admitted = {
            let mut caller = self.caller.lock();
            let Caller { session, bucket } = &mut *caller;
            if let Some(lost) = session.refresh(&self.security) {
                tracing::info!(subject = %session.subject(), %lost, peer = %session.peer, "a caller's credential is no longer valid");
            }
            self.security.admit(session, bucket, &request).map(|()| {
                let claims = self
                    .security
                    .needs_claims_after(&request)
                    .then(|| session.claims().cloned())
                    .flatten();
                (audit::Pending::of(session, &request), claims)
            })
        };
        if let Err(error) = &admitted {
            metrics::counter!(REQUESTS_REFUSED, "reason" => error.kind.name()).increment(1);
        }
        Box::pin(async move {
            let (pending, claims) = admitted?;
            let mut result = self.inner.call(request).await;
            if let Ok(response) = &mut result {
                self.security.filter(claims.as_ref(), response);
            }
            if let Some(pending) = pending {
                pending.finish(&result);
            }
            result
        })
    }
}
