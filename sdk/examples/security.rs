//! A server that requires TLS and credentials, and the Quick Start run against it with a
//! key per role: the worker's key runs the worker and nothing else, the app's key starts
//! the workflow, a dashboard's read-only key reads it and is refused a terminate.
//!
//! ```sh
//! cargo run -p endure --features tls --example security
//! ```
//!
//! Everything runs in this process on loopback: a test CA and the server's certificate
//! (generated here; in production they come from your PKI), the engine behind a TCP server
//! with `Security` and `ServerTls`, and clients that trust the CA. `endure server start-dev
//! --tls-cert … --tls-key … --auth-config FILE` is the same server as a process (README,
//! "Security").

// TLS and the credential files are not built for the simulator (`--cfg madsim`).
#[cfg(not(madsim))]
#[path = "shared/order.rs"]
mod order;

#[cfg(not(madsim))]
fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    example::main()
}

#[cfg(madsim)]
fn main() {}

#[cfg(not(madsim))]
mod example {
    use std::sync::Arc;

    use crate::order::{order_workflow, send_email};
    use endure::embedded::{Engine, InProcessTransport};
    use endure::remote::{ApiKey, ClientTls, RemoteOptions};
    use endure::{
        Client, ClientError, Namespace, StartWorkflowOptions, TaskQueueName, Worker, WorkerOptions,
        WorkflowId,
    };
    use endure_core::access::Claims;
    use endure_server::security::{CredentialStore, CredentialTable, Security, generate_api_key};
    use endure_server::tcp::{TcpServer, TcpServerConfig};
    use endure_server::tls::{ServerTls, TlsFiles};

    type Error = Box<dyn std::error::Error + Send + Sync>;

    /// A CA and a certificate for `localhost` it signed, written into `dir`: (ca, cert, key).
    fn certificates(dir: &std::path::Path) -> Result<[std::path::PathBuf; 3], Error> {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate()?;
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_pem = ca.self_signed(&ca_key)?.pem();
        let key = KeyPair::generate()?;
        let cert = CertificateParams::new(vec!["localhost".to_owned()])?
            .signed_by(&key, &Issuer::new(ca, ca_key))?;
        let paths = ["ca.pem", "server.pem", "server.key"].map(|file| dir.join(file));
        std::fs::write(&paths[0], ca_pem)?;
        std::fs::write(&paths[1], cert.pem())?;
        std::fs::write(&paths[2], key.serialize_pem())?;
        Ok(paths)
    }

    /// A fresh key granting `permission` to `subject`, from the OS's randomness (a key is a
    /// secret), as `endure admin api-key create` makes them.
    fn key(
        table: CredentialTable,
        subject: &str,
        permission: &str,
    ) -> Result<(CredentialTable, String), Error> {
        let mut random = [0u8; 32];
        getrandom::fill(&mut random)?;
        let (key, hash) = generate_api_key(random);
        let mut claims = Claims::new(subject);
        claims.grant_permission(permission);
        Ok((table.with_api_key(hash, claims), key))
    }

    #[tokio::main]
    pub(crate) async fn main() -> Result<(), Error> {
        let dir = tempfile::tempdir()?;
        let [ca, cert, key_file] = certificates(dir.path())?;

        // The server: the engine, TLS, and the keys it accepts (only their hashes are kept).
        let table = CredentialTable::default();
        let (table, worker_key) = key(table, "orders-worker", "default:worker")?;
        let (table, app_key) = key(table, "orders-app", "default:write")?;
        let (table, dashboard_key) = key(table, "dashboard", "default:read")?;
        let security = Security::open().with_authenticator(Arc::new(CredentialStore::new(table)));
        let tls = ServerTls::load(
            TlsFiles {
                cert,
                key: key_file,
                client_ca: None,
            },
            &[],
        )?;
        let engine = Engine::open(dir.path().join("store.redb")).await?;
        let server = TcpServer::bind(
            "127.0.0.1:0".parse()?,
            Arc::new(InProcessTransport::new(engine)),
            TcpServerConfig::default(),
        )
        .await?
        .with_security(Arc::new(security))
        .with_tls(tls);
        let address = server.local_addr()?.to_string();
        tokio::spawn(server.serve(std::future::pending()));
        println!("Server on {address}: TLS, credentials required");

        let connect = |key: &str| {
            Client::connect_with(
                address.clone(),
                Namespace::default(),
                RemoteOptions {
                    api_key: Some(ApiKey::fixed(key)),
                    tls: Some(ClientTls {
                        ca: Some(ca.clone()),
                        server_name: Some("localhost".into()),
                        ..ClientTls::default()
                    }),
                    ..RemoteOptions::default()
                },
            )
        };

        // The worker, with the worker's key.
        let queue = TaskQueueName::new("my-task-queue")?;
        let worker_client = connect(&worker_key);
        let mut worker = Worker::new(
            worker_client.transport(),
            worker_client.namespace().clone(),
            queue.clone(),
            WorkerOptions::default(),
        );
        worker.register::<order_workflow>().register::<send_email>();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(worker.run(async {
            let _ = stopped.await;
        }));

        // The app starts the workflow; the worker may not.
        let options = StartWorkflowOptions::new(WorkflowId::new("order_42")?, queue);
        if let Err(ClientError::Remote(refused)) = worker_client
            .start::<order_workflow>(options.clone(), &"user_123".to_owned())
            .await
        {
            println!(
                "The worker's key may not start workflows: {}",
                refused.message
            );
        }
        let app = connect(&app_key);
        let handle = app
            .start::<order_workflow>(options, &"user_123".to_owned())
            .await?;
        let result: String = handle.result().await?;
        println!("Workflow result: {result}");

        // The dashboard reads; it may not terminate.
        let dashboard = connect(&dashboard_key);
        let run = dashboard.handle(WorkflowId::new("order_42")?, None);
        println!("The dashboard sees it {:?}", run.describe().await?.status);
        match run.terminate("from the dashboard").await {
            Err(ClientError::Remote(refused)) => {
                println!("The dashboard may not terminate it: {}", refused.message);
            }
            other => return Err(format!("the terminate should be refused: {other:?}").into()),
        }
        let _ = stop.send(());
        running.await?;
        Ok(())
    }
}
