//! Who may call the engine over the network, and how often: authentication (an
//! [`Authenticator`] turns a credential into [`Claims`]), authorization (an [`Authorizer`]
//! decides each call; the default is `endure_core::access`'s role table), rate limits
//! ([`RateLimits`]) and the audit log ([`audit`]). The front ends (the TCP server, and any
//! other) hold one [`Security`] and ask it about every call, polls and task completions
//! included; the in-process transport of an embedded engine does not — whoever embeds the
//! engine is already inside it.
//!
//! A server without an authenticator is open: every caller may do everything, as
//! Temporal's dev server. With one, a connection that presents no credential is
//! unauthenticated and may only ask for the health check.

pub mod audit;
#[cfg(all(feature = "auth-config", not(madsim)))]
pub mod config;
mod credentials;
mod guarded;
#[cfg(all(feature = "auth-config", not(madsim)))]
pub mod jwt;
mod rate_limits;

use std::sync::Arc;

pub use guarded::GuardedTransport;

pub use credentials::{
    API_KEY_PREFIX, ApiKeyHash, CredentialStore, CredentialTable, TokenVerifier, generate_api_key,
};
use endure_core::access::{Claims, Denied};
use endure_core::protocol::{ErrorKind, RemoteError, Request, Response};
use endure_core::time::Timestamp;
pub use rate_limits::{
    ConnectionBucket, LimitHit, NAMESPACE_BUCKETS_MAX, RateLimitConfig, RateLimits,
};

/// What a caller presented: a bearer token (an API key or a JWT) and, over mTLS, the
/// subject of its verified client certificate.
#[derive(Clone, Copy, Debug, Default)]
pub struct Credential<'a> {
    /// The bearer token, if one was sent.
    pub token: Option<&'a str>,
    /// The verified client certificate's subject (`CN=…,O=…`), if any.
    pub certificate_subject: Option<&'a str>,
}

/// A credential accepted: who the caller is, its roles, and until when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticated {
    /// The caller's subject and roles.
    pub claims: Claims,
    /// When the credential stops being valid (a JWT's `exp`); `None` for API keys and
    /// certificates, which hold until revoked.
    pub expires: Option<Timestamp>,
}

/// Why a credential was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No credential this server accepts was presented.
    #[error(
        "no credential: this server requires an API key or a JWT (--api-key, ENDURE_API_KEY) or a client certificate"
    )]
    Missing,
    /// An API key this server does not know (never issued, or revoked).
    #[error("the API key is not valid (unknown or revoked)")]
    UnknownApiKey,
    /// A token that is not a valid JWT for this server (bad signature, wrong issuer or
    /// audience, unknown key id, malformed).
    #[error("the token is not valid: {0}")]
    InvalidToken(String),
    /// A token past its expiry.
    #[error("the token expired")]
    Expired,
    /// A certificate subject the server's configuration does not name.
    #[error("the client certificate's subject {0:?} is not known to this server")]
    UnknownCertificate(String),
}

/// Turns credentials into claims. Implementations must not block (they run on the
/// connection's task); reloading keys happens elsewhere and bumps
/// [`generation`](Self::generation).
pub trait Authenticator: Send + Sync + 'static {
    /// The claims of `credential`, or why it is refused.
    fn authenticate(
        &self,
        credential: Credential<'_>,
        now: Timestamp,
    ) -> Result<Authenticated, AuthError>;

    /// A number that changes whenever the set of accepted credentials changes (a key
    /// revoked, the configuration reloaded): connections authenticated under an older
    /// generation present their credential again before their next call.
    fn generation(&self) -> u64;

    /// A receiver told of every generation change, so connections drop the calls in
    /// flight (long polls) of a credential no longer accepted at once; `None` (the default)
    /// if the authenticator cannot say, and sessions then notice at their next call.
    fn changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        None
    }
}

/// Decides whether claims may make a call. The default, [`ClaimAuthorizer`], is
/// `endure_core::access`'s role table; embedders can plug their own (a policy service, an
/// allow-list of workflow types).
pub trait Authorizer: Send + Sync + 'static {
    /// Whether `claims` (`None`: an unauthenticated caller) may make `request`.
    fn authorize(&self, claims: Option<&Claims>, request: &Request) -> Result<(), Denied>;
}

/// The default authorizer: the roles of `endure_core::access` (reader, worker, writer,
/// admin per namespace; `system:…` for every namespace).
#[derive(Clone, Copy, Debug, Default)]
pub struct ClaimAuthorizer;

impl Authorizer for ClaimAuthorizer {
    fn authorize(&self, claims: Option<&Claims>, request: &Request) -> Result<(), Denied> {
        endure_core::access::authorize(claims, request)
    }
}

/// A front end's security: authentication (none: an open server), authorization, rate
/// limits, and the clock that expires tokens.
pub struct Security {
    authenticator: Option<Arc<dyn Authenticator>>,
    authorizer: Arc<dyn Authorizer>,
    rate_limits: RateLimits,
    now: Box<dyn Fn() -> Timestamp + Send + Sync>,
}

impl Default for Security {
    /// An open server with no rate limits.
    fn default() -> Self {
        Self::open()
    }
}

impl Security {
    /// An open server: no authentication, every call allowed, no rate limits.
    pub fn open() -> Self {
        Self {
            authenticator: None,
            authorizer: Arc::new(ClaimAuthorizer),
            rate_limits: RateLimits::new(RateLimitConfig::default()),
            now: Box::new(|| {
                use endure_core::clock::Clock;
                crate::clock::SystemClock.now()
            }),
        }
    }

    /// Requires credentials, checked by `authenticator`.
    pub fn with_authenticator(mut self, authenticator: Arc<dyn Authenticator>) -> Self {
        self.authenticator = Some(authenticator);
        self
    }

    /// Decides calls with `authorizer` instead of the role table.
    pub fn with_authorizer(mut self, authorizer: Arc<dyn Authorizer>) -> Self {
        self.authorizer = authorizer;
        self
    }

    /// Limits request rates.
    pub fn with_rate_limits(mut self, config: RateLimitConfig) -> Self {
        self.rate_limits = RateLimits::new(config);
        self
    }

    /// Reads time from `clock` (token expiry).
    pub fn with_clock<C: endure_core::clock::Clock>(mut self, clock: Arc<C>) -> Self {
        self.now = Box::new(move || clock.now());
        self
    }

    /// Whether callers must authenticate.
    pub fn requires_authentication(&self) -> bool {
        self.authenticator.is_some()
    }

    /// The rate limits.
    pub fn rate_limits(&self) -> &RateLimits {
        &self.rate_limits
    }

    /// Authenticates `credential` (an open server accepts anything as nobody in
    /// particular).
    pub fn authenticate(&self, credential: Credential<'_>) -> Result<Authenticated, AuthError> {
        match &self.authenticator {
            Some(authenticator) => authenticator.authenticate(credential, (self.now)()),
            None => Err(AuthError::Missing),
        }
    }

    /// The authenticator's current generation (0 on an open server).
    pub fn generation(&self) -> u64 {
        self.authenticator
            .as_ref()
            .map_or(0, |authenticator| authenticator.generation())
    }

    /// Told of every change of the accepted credentials (see [`Authenticator::changes`]).
    pub fn changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        self.authenticator.as_ref()?.changes()
    }

    /// Whether a session authenticated until `expires` has expired.
    pub fn expired(&self, expires: Option<Timestamp>) -> bool {
        expires.is_some_and(|expires| (self.now)() >= expires)
    }

    /// Decides one call: rate limits first (the connection's bucket, the namespace's, the
    /// server's), then authorization. Denials are audited when the call is an audited
    /// one.
    pub fn admit(
        &self,
        session: &Session,
        bucket: &mut ConnectionBucket,
        request: &Request,
    ) -> Result<(), RemoteError> {
        if let Err(limit) = self.rate_limits.admit(bucket, request) {
            return Err(RemoteError {
                kind: ErrorKind::ResourceExhausted,
                message: format!("{} refused: {limit}; retry after a backoff", request.name()),
                run_id: None,
            });
        }
        if self.authenticator.is_none() {
            return Ok(());
        }
        if let Err(denied) = self.authorizer.authorize(session.claims(), request) {
            audit::denied(session, request, &denied);
            let kind = if session.claims().is_none() {
                ErrorKind::Unauthenticated
            } else {
                ErrorKind::PermissionDenied
            };
            let hint = match (kind, &session.lost) {
                (ErrorKind::Unauthenticated, Some(lost)) => {
                    format!(" ({lost}: connect again with a valid credential)")
                }
                (ErrorKind::Unauthenticated, None) => {
                    " (this server requires credentials: an API key or a JWT, --api-key or ENDURE_API_KEY)".to_owned()
                }
                _ => String::new(),
            };
            return Err(RemoteError {
                kind,
                message: format!("{denied}{hint}"),
                run_id: None,
            });
        }
        Ok(())
    }

    /// What a caller may see of a call's answer: the namespaces it holds no role in are
    /// left out of a namespace listing. `claims` are the caller's when the call was made
    /// (only a listing needs them: see [`needs_claims_after`](Self::needs_claims_after)).
    pub fn filter(&self, claims: Option<&Claims>, response: &mut Response) {
        if self.authenticator.is_none() {
            return;
        }
        if let Response::ListNamespaces(namespaces) = response {
            namespaces.retain(|record| {
                claims.is_some_and(|claims| claims.sees_namespace(record.name.as_str()))
            });
        }
    }
}

impl Security {
    /// Whether [`filter`](Self::filter) needs the caller's claims for `request`'s answer.
    pub fn needs_claims_after(&self, request: &Request) -> bool {
        self.authenticator.is_some() && matches!(request, Request::ListNamespaces(_))
    }
}

/// One connection's caller: the claims its last credential earned (none yet), and the
/// authenticator generation they were checked under.
#[derive(Clone, Debug, Default)]
pub struct Session {
    authenticated: Option<Authenticated>,
    /// Why an authenticated session lost its claims (revoked, expired), for the next
    /// call's error.
    lost: Option<AuthError>,
    token: Option<String>,
    certificate_subject: Option<String>,
    generation: u64,
    /// Where the connection comes from, for the audit log.
    pub peer: String,
}

impl Session {
    /// A session for a connection from `peer`, with its verified client certificate's
    /// subject if it came over mTLS.
    pub fn new(peer: impl Into<String>, certificate_subject: Option<String>) -> Self {
        Self {
            peer: peer.into(),
            certificate_subject,
            ..Self::default()
        }
    }

    /// The claims, once authenticated.
    pub fn claims(&self) -> Option<&Claims> {
        self.authenticated
            .as_ref()
            .map(|authenticated| &authenticated.claims)
    }

    /// Who the caller is, for logs: its subject, or `anonymous`.
    pub fn subject(&self) -> &str {
        self.claims()
            .map_or("anonymous", |claims| claims.subject.as_str())
    }

    /// Authenticates with the connection's certificate alone (mTLS without a token); a
    /// subject the server does not know leaves the session unauthenticated.
    pub fn authenticate_certificate(&mut self, security: &Security) {
        if self.certificate_subject.is_some() && security.requires_authentication() {
            let _ = self.reauthenticate(security);
        }
    }

    /// Presents `token` (with the certificate, if any): the claims on success.
    pub fn authenticate(
        &mut self,
        security: &Security,
        token: String,
    ) -> Result<&Claims, AuthError> {
        self.token = Some(token);
        self.reauthenticate(security)?;
        self.claims().ok_or(AuthError::Missing)
    }

    /// Checks the session before a call: its credential presented again if the accepted
    /// credentials changed since (revoked: the session loses its claims), and expired
    /// claims dropped. Returns why the session is no longer authenticated, if it was and
    /// is not any more.
    pub fn refresh(&mut self, security: &Security) -> Option<AuthError> {
        self.authenticated.as_ref()?;
        if security.generation() != self.generation
            && let Err(error) = self.reauthenticate(security)
        {
            self.lost = Some(error.clone());
            return Some(error);
        }
        let expires = self.authenticated.as_ref().and_then(|a| a.expires);
        if security.expired(expires) {
            self.authenticated = None;
            self.lost = Some(AuthError::Expired);
            return Some(AuthError::Expired);
        }
        None
    }

    /// For a poll (which may be handed a task long after it was admitted) on a server that
    /// authenticates: what to check again before the task is handed over.
    pub fn recheck_for(&self, security: &Security, request: &Request) -> Option<Recheck> {
        let poll = matches!(
            request,
            Request::PollWorkflowTask(_) | Request::PollActivityTask(_)
        );
        (poll && security.requires_authentication() && self.authenticated.is_some()).then(|| {
            Recheck {
                generation: self.generation,
                token: self.token.clone(),
                certificate_subject: self.certificate_subject.clone(),
            }
        })
    }

    fn reauthenticate(&mut self, security: &Security) -> Result<(), AuthError> {
        self.generation = security.generation();
        let credential = Credential {
            token: self.token.as_deref(),
            certificate_subject: self.certificate_subject.as_deref(),
        };
        match security.authenticate(credential) {
            Ok(authenticated) => {
                self.authenticated = Some(authenticated);
                self.lost = None;
                Ok(())
            }
            Err(error) => {
                self.authenticated = None;
                Err(error)
            }
        }
    }
}

/// A poll's credential as admitted, to check again when its answer is ready.
#[derive(Clone, Debug)]
pub struct Recheck {
    generation: u64,
    token: Option<String>,
    certificate_subject: Option<String>,
}

impl Recheck {
    /// Whether the credential still holds: unchanged credentials, or presented again and
    /// accepted.
    pub fn still_valid(&self, security: &Security) -> Result<(), AuthError> {
        if security.generation() == self.generation {
            return Ok(());
        }
        let credential = Credential {
            token: self.token.as_deref(),
            certificate_subject: self.certificate_subject.as_deref(),
        };
        let authenticated = security.authenticate(credential)?;
        if security.expired(authenticated.expires) {
            return Err(AuthError::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
