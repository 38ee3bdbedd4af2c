//! `endure bench --mode server --secure`: the dev server with TLS and credentials, so the
//! cost of the handshake, the encryption and each call's authorization is measured. A
//! throwaway CA and server certificate (rcgen) and one `system:admin` API key are written
//! into the benchmark's directory; the clients trust the CA and present the key.

use std::path::{Path, PathBuf};

use endure::remote::{ApiKey, ClientTls, RemoteOptions};
use endure::{Client, Namespace};
use endure_server::security::generate_api_key;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

use super::server_error;
use crate::error::CliError;

/// The server's extra arguments and how clients connect.
pub(super) struct Secured {
    /// `--tls-cert … --tls-key … --auth-config …`.
    pub(super) server_args: Vec<String>,
    ca: PathBuf,
    key: String,
}

impl Secured {
    /// Writes the certificates and the auth configuration into `directory`.
    pub(super) fn prepare(directory: &Path) -> Result<Self, CliError> {
        let ca_key = KeyPair::generate().map_err(server_error)?;
        let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(server_error)?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_pem = ca.self_signed(&ca_key).map_err(server_error)?.pem();
        let server_key = KeyPair::generate().map_err(server_error)?;
        let certificate = CertificateParams::new(vec!["localhost".to_owned()])
            .map_err(server_error)?
            .signed_by(&server_key, &Issuer::new(ca, ca_key))
            .map_err(server_error)?;
        let mut random = [0u8; 32];
        getrandom::fill(&mut random).map_err(server_error)?;
        let (key, hash) = generate_api_key(random);
        let [ca_file, cert, key_file, auth] =
            ["ca.pem", "server.pem", "server.key", "auth.toml"].map(|file| directory.join(file));
        let files = [
            (&ca_file, ca_pem),
            (&cert, certificate.pem()),
            (&key_file, server_key.serialize_pem()),
            (
                &auth,
                format!(
                    "[[api_key]]\nname = \"bench\"\nsha256 = \"{hash}\"\npermissions = [\"system:admin\"]\n"
                ),
            ),
        ];
        for (path, text) in files {
            std::fs::write(path, text).map_err(server_error)?;
        }
        let path = |path: &PathBuf| path.display().to_string();
        Ok(Self {
            server_args: vec![
                "--tls-cert".into(),
                path(&cert),
                "--tls-key".into(),
                path(&key_file),
                "--auth-config".into(),
                path(&auth),
            ],
            ca: ca_file,
            key,
        })
    }

    /// A client of the server at `address` over TLS with the key.
    pub(super) fn client(&self, address: &str) -> Client {
        Client::connect_with(
            address,
            Namespace::default(),
            RemoteOptions {
                api_key: Some(ApiKey::fixed(self.key.clone())),
                tls: Some(ClientTls {
                    ca: Some(self.ca.clone()),
                    server_name: Some("localhost".into()),
                    ..ClientTls::default()
                }),
                ..RemoteOptions::default()
            },
        )
    }
}
