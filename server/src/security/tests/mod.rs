//! The security module's unit tests: credentials, sessions and revocation, the listing
//! filter, rate limits on paused time; `files` the configuration file and JWTs.

use std::sync::Arc;
use std::time::Duration;

use endure_core::access::{Claims, Role};
use endure_core::protocol::{
    ErrorKind, HealthRequest, ListNamespacesRequest, ListWorkflowsRequest, Request,
    TerminateWorkflowRequest,
};
use endure_core::storage::VisibilityQuery;
use endure_core::time::Timestamp;
use endure_core::{Namespace, WorkflowId};

use super::*;

fn claims(subject: &str, permissions: &[&str]) -> Claims {
    let mut claims = Claims::new(subject);
    for permission in permissions {
        assert!(claims.grant_permission(permission));
    }
    claims
}

fn list(namespace: &str) -> Request {
    Request::ListWorkflows(ListWorkflowsRequest {
        namespace: Namespace::new(namespace).unwrap(),
        query: VisibilityQuery::default(),
        offset: 0,
        limit: 10,
    })
}

fn terminate(namespace: &str) -> Request {
    Request::TerminateWorkflow(TerminateWorkflowRequest {
        namespace: Namespace::new(namespace).unwrap(),
        workflow_id: WorkflowId::new("order-1").unwrap(),
        run_id: None,
        reason: "test".into(),
        details: None,
        identity: "someone-else".into(),
    })
}

/// A store with a reader and an admin key for tenant-a; the keys in clear.
fn store() -> (Arc<CredentialStore>, String, String) {
    let (reader, reader_hash) = generate_api_key([1; 32]);
    let (admin, admin_hash) = generate_api_key([2; 32]);
    let table = CredentialTable::default()
        .with_api_key(reader_hash, claims("reader-a", &["tenant-a:read"]))
        .with_api_key(admin_hash, claims("admin-a", &["tenant-a:admin"]))
        .with_certificate("CN=worker-a", claims("worker-a", &["tenant-a:worker"]));
    (Arc::new(CredentialStore::new(table)), reader, admin)
}

#[test]
fn api_keys_are_recognised_by_hash_only_and_print_as_hex() {
    let (key, hash) = generate_api_key([7; 32]);
    assert!(key.starts_with(API_KEY_PREFIX));
    assert_eq!(key.len(), API_KEY_PREFIX.len() + 43, "{key}");
    assert!(
        key[API_KEY_PREFIX.len()..]
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
    );
    assert_eq!(ApiKeyHash::of(&key), hash);
    assert_eq!(ApiKeyHash::from_hex(&hash.to_string()), Some(hash));
    assert_eq!(ApiKeyHash::from_hex("abc"), None);
    assert_ne!(generate_api_key([8; 32]).1, hash);
}

#[test]
fn credentials_map_to_their_claims_and_unknown_ones_are_refused() {
    let (store, reader, _) = store();
    let now = Timestamp::from_unix_nanos(0);
    fn key(token: &str) -> Credential<'_> {
        Credential {
            token: Some(token),
            certificate_subject: None,
        }
    }
    let found = store.authenticate(key(&reader), now).unwrap();
    assert_eq!(found.claims.subject, "reader-a");
    assert_eq!(found.claims.role_in("tenant-a"), Some(Role::Reader));
    assert_eq!(found.expires, None);
    assert_eq!(
        store.authenticate(key("endure_not-a-key"), now),
        Err(AuthError::UnknownApiKey)
    );
    // Not an API key and no JWT verifier: refused the same way.
    assert_eq!(
        store.authenticate(key("a.b.c"), now),
        Err(AuthError::UnknownApiKey)
    );
    fn certificate(subject: &str) -> Credential<'_> {
        Credential {
            token: None,
            certificate_subject: Some(subject),
        }
    }
    let worker = store.authenticate(certificate("CN=worker-a"), now).unwrap();
    assert_eq!(worker.claims.role_in("tenant-a"), Some(Role::Worker));
    assert_eq!(
        store.authenticate(certificate("CN=mallory"), now),
        Err(AuthError::UnknownCertificate("CN=mallory".into()))
    );
    assert_eq!(
        store.authenticate(Credential::default(), now),
        Err(AuthError::Missing)
    );
}

#[test]
fn an_open_server_allows_every_call_and_filters_nothing() {
    let security = Security::open();
    let session = Session::new("peer", None);
    let mut bucket = security.rate_limits().connection_bucket();
    for request in [list("tenant-a"), terminate("tenant-b")] {
        security.admit(&session, &mut bucket, &request).unwrap();
    }
    assert!(!security.requires_authentication());
}

#[test]
fn calls_are_checked_against_the_session_and_revocation_takes_effect_at_the_next_call() {
    let (store, reader, admin) = store();
    let security = Security::open().with_authenticator(store.clone());
    let mut bucket = security.rate_limits().connection_bucket();

    // No credential: only the health check.
    let mut session = Session::new("peer", None);
    let refused = security
        .admit(&session, &mut bucket, &list("tenant-a"))
        .unwrap_err();
    assert_eq!(refused.kind, ErrorKind::Unauthenticated);
    assert!(refused.message.contains("--api-key"), "{}", refused.message);
    security
        .admit(&session, &mut bucket, &Request::Health(HealthRequest))
        .unwrap();

    // A reader reads tenant-a, but neither terminates there nor reads tenant-b.
    assert_eq!(
        session.authenticate(&security, reader).unwrap().subject,
        "reader-a"
    );
    security
        .admit(&session, &mut bucket, &list("tenant-a"))
        .unwrap();
    let denied = security
        .admit(&session, &mut bucket, &terminate("tenant-a"))
        .unwrap_err();
    assert_eq!(denied.kind, ErrorKind::PermissionDenied);
    assert!(denied.message.contains("writer"), "{}", denied.message);
    let elsewhere = security
        .admit(&session, &mut bucket, &list("tenant-b"))
        .unwrap_err();
    assert_eq!(elsewhere.kind, ErrorKind::PermissionDenied);

    // Revoked: the next call finds out.
    let (_, reader_hash) = generate_api_key([1; 32]);
    store.revoke_api_key(&reader_hash);
    assert_eq!(session.refresh(&security), Some(AuthError::UnknownApiKey));
    let revoked = security
        .admit(&session, &mut bucket, &list("tenant-a"))
        .unwrap_err();
    assert_eq!(revoked.kind, ErrorKind::Unauthenticated);
    assert!(revoked.message.contains("revoked"), "{}", revoked.message);

    // A bad credential leaves the session without claims.
    assert!(
        session
            .authenticate(&security, "endure_nope".into())
            .is_err()
    );
    assert!(session.claims().is_none());
    session.authenticate(&security, admin).unwrap();
    security
        .admit(&session, &mut bucket, &terminate("tenant-a"))
        .unwrap();
}

#[test]
fn a_certificate_alone_authenticates_an_mtls_session() {
    let (store, _, _) = store();
    let security = Security::open().with_authenticator(store);
    let mut session = Session::new("peer", Some("CN=worker-a".into()));
    session.authenticate_certificate(&security);
    assert_eq!(session.subject(), "worker-a");
    let mut stranger = Session::new("peer", Some("CN=mallory".into()));
    stranger.authenticate_certificate(&security);
    assert!(stranger.claims().is_none());
}

#[test]
fn a_namespace_listing_shows_only_the_namespaces_the_caller_holds_a_role_in() {
    let (store, _, _) = store();
    let security = Security::open().with_authenticator(store);
    let record = |name: &str| endure_core::namespace::NamespaceRecord {
        name: Namespace::new(name).unwrap(),
        config: Default::default(),
        created: Timestamp::from_unix_nanos(0),
        updated: Timestamp::from_unix_nanos(0),
        version: 1,
        deployments: Default::default(),
        search_attributes: Default::default(),
    };
    let request = Request::ListNamespaces(ListNamespacesRequest);
    assert!(security.needs_claims_after(&request));
    let mut response = endure_core::protocol::Response::ListNamespaces(vec![
        record("tenant-a"),
        record("tenant-b"),
    ]);
    security.filter(Some(&claims("a", &["tenant-a:read"])), &mut response);
    let endure_core::protocol::Response::ListNamespaces(left) = &response else {
        unreachable!()
    };
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].name.as_str(), "tenant-a");
    security.filter(None, &mut response);
    let endure_core::protocol::Response::ListNamespaces(left) = &response else {
        unreachable!()
    };
    assert!(left.is_empty());
}

#[tokio::test(start_paused = true)]
async fn rate_limits_refuse_past_the_rate_and_refill_with_time() {
    let limits = RateLimits::new(RateLimitConfig {
        server_rps: Some(100.0),
        namespace_rps: Some(3.0),
        connection_rps: Some(2.0),
    });
    let (mut one, mut two) = (limits.connection_bucket(), limits.connection_bucket());
    limits.admit(&mut one, &list("tenant-a")).unwrap();
    limits.admit(&mut one, &list("tenant-a")).unwrap();
    assert_eq!(
        limits.admit(&mut one, &list("tenant-a")),
        Err(LimitHit::Connection)
    );
    // Another connection: its own bucket, but the namespace's third token is the last.
    limits.admit(&mut two, &list("tenant-a")).unwrap();
    assert_eq!(
        limits.admit(&mut two, &list("tenant-a")),
        Err(LimitHit::Namespace("tenant-a".into()))
    );
    // A refused call took nothing from the connection's bucket: its second token serves
    // another namespace, which the first one's limit does not touch.
    limits.admit(&mut two, &list("tenant-b")).unwrap();
    assert_eq!(
        limits.admit(&mut two, &list("tenant-b")),
        Err(LimitHit::Connection)
    );
    // The health check is never limited.
    for _ in 0..10 {
        limits
            .admit(&mut one, &Request::Health(HealthRequest))
            .unwrap();
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    limits.admit(&mut one, &list("tenant-a")).unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_rate_limited_call_is_a_retryable_resource_exhausted() {
    let security = Security::open().with_rate_limits(RateLimitConfig {
        server_rps: Some(1.0),
        ..RateLimitConfig::default()
    });
    let session = Session::new("peer", None);
    let mut bucket = security.rate_limits().connection_bucket();
    security
        .admit(&session, &mut bucket, &list("tenant-a"))
        .unwrap();
    let refused = security
        .admit(&session, &mut bucket, &list("tenant-a"))
        .unwrap_err();
    assert_eq!(refused.kind, ErrorKind::ResourceExhausted);
    assert!(refused.message.contains("retry"), "{}", refused.message);
}

#[cfg(all(feature = "auth-config", not(madsim)))]
mod files;
