//! TLS end to end: a server certificate from a test CA (rcgen), the Quick Start over TLS,
//! a plain client and a client trusting another CA refused, a renewed certificate served
//! after a reload, and mutual TLS — a client without a certificate refused at the
//! handshake, one with a certificate authenticated by its subject alone (and authorized by
//! the role the server's configuration gives that subject).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU32;

use endure::embedded::{Engine, InProcessTransport};
use endure::remote::{ApiKey, ClientTls, RemoteOptions};
use endure::*;
use endure_core::access::Claims;
use endure_core::protocol::ErrorKind;
use endure_core::storage::VisibilityQuery;
use endure_server::security::{CredentialStore, CredentialTable, Security, generate_api_key};
use endure_server::storage::RedbStorage;
use endure_server::tcp::{TcpServer, TcpServerConfig};
use endure_server::tls::{ServerTls, TlsFiles};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

use crate::quickstart::start_worker;

type RedbEngine = Engine<RedbStorage, endure_server::clock::SystemClock>;

/// A test certificate authority.
pub(crate) struct Authority {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

impl Authority {
    pub(crate) fn new(name: &str) -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let certificate = params.self_signed(&key).unwrap();
        Self {
            issuer: Issuer::new(params, key),
            pem: certificate.pem(),
        }
    }

    /// Writes a certificate for `names` (DNS names or IPs; the subject's CN is the first)
    /// and its key into `dir` as `<file>.pem` and `<file>.key`; returns their paths.
    pub(crate) fn issue(&self, dir: &Path, file: &str, names: &[&str]) -> (PathBuf, PathBuf) {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
        let mut params = CertificateParams::new(names.clone()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, &names[0]);
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Endure Tests");
        let certificate = params.signed_by(&key, &self.issuer).unwrap();
        let (cert, key_path) = (
            dir.join(format!("{file}.pem")),
            dir.join(format!("{file}.key")),
        );
        std::fs::write(&cert, certificate.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        (cert, key_path)
    }

    /// Writes the CA's certificate into `dir`; returns its path.
    pub(crate) fn write(&self, dir: &Path, file: &str) -> PathBuf {
        let path = dir.join(format!("{file}.pem"));
        std::fs::write(&path, &self.pem).unwrap();
        path
    }
}

struct Served {
    address: String,
    tls: ServerTls,
    _engine: RedbEngine,
}

async fn serve(dir: &Path, files: TlsFiles, security: Security) -> Served {
    let engine: RedbEngine = Engine::open(dir.join("store.redb")).await.unwrap();
    let tls = ServerTls::load(files, &[]).unwrap();
    let transport = Arc::new(InProcessTransport::new(engine.clone()));
    let server = TcpServer::bind(
        "127.0.0.1:0".parse().unwrap(),
        transport,
        TcpServerConfig::default(),
    )
    .await
    .unwrap()
    .with_tls(tls.clone())
    .with_security(Arc::new(security));
    let address = server.local_addr().unwrap().to_string();
    tokio::spawn(server.serve(std::future::pending()));
    Served {
        address,
        tls,
        _engine: engine,
    }
}

fn client(address: &str, tls: Option<ClientTls>, api_key: Option<&str>) -> Client {
    Client::connect_with(
        address,
        Namespace::default(),
        RemoteOptions {
            tls,
            api_key: api_key.map(ApiKey::fixed),
            ..RemoteOptions::default()
        },
    )
}

fn trusting(ca: &Path) -> ClientTls {
    ClientTls {
        ca: Some(ca.to_owned()),
        server_name: Some("localhost".into()),
        ..ClientTls::default()
    }
}

#[tokio::test]
async fn the_quickstart_runs_over_tls_and_a_renewed_certificate_is_served_after_reload() {
    let dir = tempfile::tempdir().unwrap();
    let (first_ca, second_ca) = (Authority::new("First CA"), Authority::new("Second CA"));
    let (cert, key) = first_ca.issue(dir.path(), "server", &["localhost", "127.0.0.1"]);
    let first_ca_file = first_ca.write(dir.path(), "first-ca");
    let second_ca_file = second_ca.write(dir.path(), "second-ca");
    let served = serve(
        dir.path(),
        TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
            client_ca: None,
        },
        Security::open(),
    )
    .await;

    let secure = client(&served.address, Some(trusting(&first_ca_file)), None);
    let (stop, running) = start_worker(&secure, Arc::new(AtomicU32::new(0)), false);
    let result: String = secure
        .execute_workflow(
            StartWorkflowOptions::new(
                WorkflowId::new("order-tls").unwrap(),
                TaskQueueName::new("my-task-queue").unwrap(),
            ),
            "OrderWorkflow",
            &"user_123",
        )
        .await
        .unwrap();
    assert_eq!(result, "workflow_completed_sent");
    let _ = stop.send(());
    running.await.unwrap();

    // Plain TCP to a TLS listener: no handshake.
    let plain = client(&served.address, None, None);
    let error = plain.health().await.unwrap_err().to_string();
    assert!(error.contains("Unavailable"), "{error}");
    // A client trusting another CA refuses the server.
    let stranger = client(&served.address, Some(trusting(&second_ca_file)), None);
    let error = stranger.health().await.unwrap_err().to_string();
    assert!(error.contains("TLS handshake"), "{error}");
    // By IP address, the certificate's other name.
    let by_ip = client(
        &served.address,
        Some(ClientTls {
            server_name: None,
            ..trusting(&first_ca_file)
        }),
        None,
    );
    by_ip.health().await.unwrap();

    // The certificate renewed by the second CA: after the reload, new connections get it.
    second_ca.issue(dir.path(), "server", &["localhost"]);
    served.tls.reload().unwrap();
    let renewed = client(&served.address, Some(trusting(&second_ca_file)), None);
    renewed.health().await.unwrap();
    let old = client(&served.address, Some(trusting(&first_ca_file)), None);
    assert!(old.health().await.is_err());
}

#[tokio::test]
async fn mutual_tls_requires_a_client_certificate_and_its_subject_authenticates() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Authority::new("Orders CA");
    let ca_file = ca.write(dir.path(), "ca");
    // The CA the server checks client certificates against, in a file of its own.
    let client_ca_file = ca.write(dir.path(), "client-ca");
    let (cert, key) = ca.issue(dir.path(), "server", &["localhost"]);
    let (worker_cert, worker_key) = ca.issue(dir.path(), "worker", &["orders-worker"]);
    let (other_cert, other_key) = ca.issue(dir.path(), "other", &["someone-else"]);
    let mut worker_claims = Claims::new("orders-worker");
    worker_claims.grant("default", endure_core::access::Role::Reader);
    let (admin_key, admin_hash) = generate_api_key([3; 32]);
    let mut admin_claims = Claims::new("admin");
    admin_claims.grant("system", endure_core::access::Role::Admin);
    let table = CredentialTable::default()
        .with_certificate("CN=orders-worker, O=Endure Tests", worker_claims)
        .with_api_key(admin_hash, admin_claims);
    let security = Security::open().with_authenticator(Arc::new(CredentialStore::new(table)));
    let served = serve(
        dir.path(),
        TlsFiles {
            cert,
            key,
            client_ca: Some(client_ca_file.clone()),
        },
        security,
    )
    .await;

    // No client certificate: the handshake fails.
    let anonymous = client(&served.address, Some(trusting(&ca_file)), None);
    assert!(anonymous.health().await.is_err());

    // The worker's certificate alone: authenticated as its subject, with its role.
    let with_certificate = |cert: &Path, key: &Path, api_key: Option<&str>| {
        client(
            &served.address,
            Some(ClientTls {
                cert: Some(cert.to_owned()),
                key: Some(key.to_owned()),
                ..trusting(&ca_file)
            }),
            api_key,
        )
    };
    let worker = with_certificate(&worker_cert, &worker_key, None);
    worker
        .list_workflows(VisibilityQuery::default(), 0, 1)
        .await
        .unwrap();
    let denied = worker
        .handle(WorkflowId::new("x").unwrap(), None)
        .terminate("no")
        .await
        .unwrap_err();
    let ClientError::Remote(denied) = denied else {
        panic!("{denied}")
    };
    assert_eq!(denied.kind, ErrorKind::PermissionDenied);
    assert!(
        denied.message.contains("orders-worker"),
        "{}",
        denied.message
    );

    // A certificate from the CA whose subject the server does not know: connected, but
    // unauthenticated — unless it also presents a key.
    let other = with_certificate(&other_cert, &other_key, None);
    let error = other
        .list_workflows(VisibilityQuery::default(), 0, 1)
        .await
        .unwrap_err();
    let ClientError::Remote(error) = error else {
        panic!("{error}")
    };
    assert_eq!(error.kind, ErrorKind::Unauthenticated);
    let other_with_key = with_certificate(&other_cert, &other_key, Some(&admin_key));
    other_with_key
        .list_workflows(VisibilityQuery::default(), 0, 1)
        .await
        .unwrap();

    // The client CA replaced and reloaded: certificates of the old CA no longer connect.
    Authority::new("Next CA").write(dir.path(), "client-ca");
    served.tls.reload().unwrap();
    let after = with_certificate(&worker_cert, &worker_key, None);
    assert!(after.health().await.is_err());
}
