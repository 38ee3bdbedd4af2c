//! Request rates: token buckets per connection, per namespace and for the whole server,
//! refilled at the configured requests per second with one second of burst. A call over any
//! of them is refused before it runs with a retryable `ResourceExhausted` (the SDK's
//! transport backs off and retries it). The health check is never limited.

use std::collections::BTreeMap;
use std::fmt;

use endure_core::access::Need;
use endure_core::protocol::Request;
use parking_lot::Mutex;
use tokio::time::Instant;

/// Most namespaces with a bucket at once. When a new one would pass it, the buckets that
/// have refilled are dropped (a new bucket starts full, so nothing is lost); if none has,
/// all are (a burst of fresh namespaces cannot make the server hold more).
pub const NAMESPACE_BUCKETS_MAX: usize = 10_000;

/// The rates, in requests per second; `None` is unlimited.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RateLimitConfig {
    /// All calls to the server together.
    pub server_rps: Option<f64>,
    /// Each namespace's calls.
    pub namespace_rps: Option<f64>,
    /// Each connection's calls.
    pub connection_rps: Option<f64>,
}

/// Which limit refused a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LimitHit {
    /// The server's.
    Server,
    /// The namespace's.
    Namespace(String),
    /// The connection's.
    Connection,
}

impl fmt::Display for LimitHit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Server => f.write_str("the server's request rate limit is reached"),
            Self::Namespace(namespace) => {
                write!(f, "namespace {namespace:?}'s request rate limit is reached")
            }
            Self::Connection => f.write_str("this connection's request rate limit is reached"),
        }
    }
}

/// A token bucket.
#[derive(Clone, Debug)]
struct Bucket {
    rate: f64,
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    fn new(rate: f64, now: Instant) -> Self {
        Self {
            rate,
            tokens: Self::burst(rate),
            updated: now,
        }
    }

    /// One second's worth, and at least one call.
    fn burst(rate: f64) -> f64 {
        rate.max(1.0)
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(Self::burst(self.rate));
        self.updated = now;
    }

    /// Refills, then whether a token is there to take.
    fn ready(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= 1.0
    }

    fn full(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= Self::burst(self.rate)
    }
}

/// One connection's bucket, held by the connection.
#[derive(Clone, Debug, Default)]
pub struct ConnectionBucket(Option<Bucket>);

/// The server's and the namespaces' buckets.
#[derive(Debug)]
pub struct RateLimits {
    config: RateLimitConfig,
    server: Mutex<Option<Bucket>>,
    namespaces: Mutex<BTreeMap<String, Bucket>>,
}

impl RateLimits {
    /// Limits at `config`'s rates.
    pub fn new(config: RateLimitConfig) -> Self {
        for rate in [
            config.server_rps,
            config.namespace_rps,
            config.connection_rps,
        ]
        .into_iter()
        .flatten()
        {
            debug_assert!(rate > 0.0, "a rate limit must be positive");
        }
        Self {
            config,
            server: Mutex::new(None),
            namespaces: Mutex::default(),
        }
    }

    /// The rates.
    pub fn config(&self) -> RateLimitConfig {
        self.config
    }

    /// A new connection's bucket.
    pub fn connection_bucket(&self) -> ConnectionBucket {
        ConnectionBucket(
            self.config
                .connection_rps
                .map(|rate| Bucket::new(rate, Instant::now())),
        )
    }

    /// Takes a token from each bucket the call counts against, or says which is empty.
    pub fn admit(&self, bucket: &mut ConnectionBucket, request: &Request) -> Result<(), LimitHit> {
        if matches!(request, Request::Health(_)) || self.config == RateLimitConfig::default() {
            return Ok(());
        }
        let now = Instant::now();
        // Every bucket is checked before any is taken from, so a call refused by one
        // limit costs nothing against the others.
        let mut connection = bucket.0.as_mut();
        if let Some(bucket) = connection.as_deref_mut()
            && !bucket.ready(now)
        {
            return Err(LimitHit::Connection);
        }
        let mut namespaces = self.namespaces.lock();
        let namespace = match (self.config.namespace_rps, first_namespace(request)) {
            (Some(rate), Some(namespace)) => {
                if !namespaces.contains_key(namespace) && namespaces.len() >= NAMESPACE_BUCKETS_MAX
                {
                    namespaces.retain(|_, bucket| !bucket.full(now));
                    if namespaces.len() >= NAMESPACE_BUCKETS_MAX {
                        namespaces.clear();
                    }
                }
                let bucket = namespaces
                    .entry(namespace.to_owned())
                    .or_insert_with(|| Bucket::new(rate, now));
                if !bucket.ready(now) {
                    return Err(LimitHit::Namespace(namespace.to_owned()));
                }
                Some(bucket)
            }
            _ => None,
        };
        let mut server = self.server.lock();
        let server = match self.config.server_rps {
            Some(rate) => {
                let bucket = server.get_or_insert_with(|| Bucket::new(rate, now));
                if !bucket.ready(now) {
                    return Err(LimitHit::Server);
                }
                Some(bucket)
            }
            None => None,
        };
        for bucket in [connection, namespace, server].into_iter().flatten() {
            bucket.tokens -= 1.0;
        }
        Ok(())
    }
}

/// The namespace a call counts against: the first one it touches.
fn first_namespace(request: &Request) -> Option<&str> {
    let mut first = None;
    let _ = request.needs(|need| {
        if let Need::Role { namespace, .. } = need {
            first = Some(namespace.as_str());
            return Err(());
        }
        Ok(())
    });
    first
}
