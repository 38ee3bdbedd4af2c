//! Temporal's Python SDK over TLS (ALPN `h2` on the listener Endure's own TLS clients
//! share) with API keys: the key's roles are enforced on every gRPC call, as on the native
//! protocol.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use endure_core::access::{Claims, Role};
use endure_grpc::{GrpcOptions, WorkflowService, serve_connection};
use endure_server::security::{CredentialStore, CredentialTable, Security, generate_api_key};
use endure_server::tcp::{TcpServer, TcpServerConfig};
use endure_server::tls::{ServerTls, TlsFiles};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use serde_json::json;

use crate::{kinds, python, run_python};

/// A CA and a `localhost` certificate it signed, written into `dir`: (CA, cert, key).
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "gRPC test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let paths = (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    );
    std::fs::write(&paths.0, ca_cert.pem()).unwrap();
    std::fs::write(&paths.1, cert.pem()).unwrap();
    std::fs::write(&paths.2, key.serialize_pem()).unwrap();
    paths
}

#[tokio::test(flavor = "multi_thread")]
async fn temporals_python_sdk_over_tls_with_api_keys() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = certificates(dir.path());
    let (admin_key, admin_hash) = generate_api_key([7; 32]);
    let (reader_key, reader_hash) = generate_api_key([8; 32]);
    let mut admin = Claims::new("python-admin");
    admin.grant("default", Role::Admin);
    let mut reader = Claims::new("python-reader");
    reader.grant("default", Role::Reader);
    let table = CredentialTable::default()
        .with_api_key(admin_hash, admin)
        .with_api_key(reader_hash, reader);
    let security =
        Arc::new(Security::open().with_authenticator(Arc::new(CredentialStore::new(table))));

    let engine = endure::embedded::open(dir.path().join("store.redb"))
        .await
        .unwrap();
    let transport = engine.transport();
    let service = WorkflowService::new(GrpcOptions {
        transport: Arc::clone(&transport),
        security: Arc::clone(&security),
    });
    let tls = ServerTls::load(
        TlsFiles {
            cert,
            key,
            client_ca: None,
        },
        &[b"h2"],
    )
    .unwrap();
    let server = TcpServer::bind(
        "127.0.0.1:0".parse().unwrap(),
        transport,
        TcpServerConfig::default(),
    )
    .await
    .unwrap()
    .with_security(security)
    .with_tls(tls)
    .with_http2(Arc::new(move |stream, peer, subject| {
        Box::pin(serve_connection(service.clone(), stream, peer, subject))
    }));
    let address = server.local_addr().unwrap();
    let serving = tokio::spawn(server.serve(std::future::pending()));

    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/scenarios.py");
    let stdout = run_python(
        python,
        script,
        vec![
            "secure".to_owned(),
            format!("localhost:{}", address.port()),
            ca.display().to_string(),
            admin_key.clone(),
            reader_key,
        ],
    )
    .await;
    let seen: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap();
    assert_eq!(
        seen,
        json!({
            "result": "workflow_completed_sent to user_tls",
            "reader_describes": "COMPLETED",
            "reader_starts": "PERMISSION_DENIED",
            "no_key": "UNAUTHENTICATED",
        })
    );
    // Endure's own client reads the history over the same TLS port with the same key.
    let client = endure::Client::connect_with(
        format!("localhost:{}", address.port()),
        endure::Namespace::default_namespace(),
        endure::remote::RemoteOptions {
            tls: Some(endure::remote::ClientTls {
                ca: Some(ca),
                ..Default::default()
            }),
            api_key: Some(endure::remote::ApiKey::fixed(admin_key)),
            ..Default::default()
        },
    );
    let history = client
        .handle(endure::WorkflowId::new("py-tls").unwrap(), None)
        .history()
        .await
        .unwrap();
    assert_eq!(kinds(&history), crate::QUICKSTART);
    serving.abort();
}
