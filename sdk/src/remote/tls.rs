//! TLS to the server (rustls on ring; no OpenSSL): the server verified against a CA file
//! or, without one, the system's trusted roots; a client certificate and key for mutual
//! TLS. Temporal's CLI flags and the SDK name the same things: `--tls-ca`, `--tls-cert`,
//! `--tls-key`, `--tls-server-name`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use endure_core::protocol::{ErrorKind, RemoteError};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// How a transport speaks TLS.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientTls {
    /// The CA (PEM) the server's certificate must chain to; `None`: the system's roots.
    pub ca: Option<PathBuf>,
    /// The client certificate chain (PEM), for mutual TLS.
    pub cert: Option<PathBuf>,
    /// The client certificate's private key (PEM), for mutual TLS.
    pub key: Option<PathBuf>,
    /// The name the server's certificate must carry; `None`: the host of the address.
    pub server_name: Option<String>,
}

fn refused(message: String) -> RemoteError {
    RemoteError {
        kind: ErrorKind::InvalidArgument,
        message,
        run_id: None,
    }
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, RemoteError> {
    let read = CertificateDer::pem_file_iter(path)
        .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
        .map_err(|error| refused(format!("TLS: {}: {error}", path.display())))?;
    if read.is_empty() {
        return Err(refused(format!(
            "TLS: {}: no CERTIFICATE block in the file",
            path.display()
        )));
    }
    Ok(read)
}

impl ClientTls {
    /// The connector and the server name to verify, for `address` (`host:port`).
    pub(super) fn connector(
        &self,
        address: &str,
    ) -> Result<(tokio_rustls::TlsConnector, ServerName<'static>), RemoteError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        match &self.ca {
            Some(ca) => {
                for certificate in certificates(ca)? {
                    roots
                        .add(certificate)
                        .map_err(|error| refused(format!("TLS: {}: {error}", ca.display())))?;
                }
            }
            None => {
                let native = rustls_native_certs::load_native_certs();
                for certificate in native.certs {
                    let _ = roots.add(certificate);
                }
                if roots.is_empty() {
                    return Err(refused(
                        "TLS: no CA given (--tls-ca) and no system root certificates found".into(),
                    ));
                }
            }
        }
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| refused(format!("TLS: {error}")))?
            .with_root_certificates(roots);
        let config = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => {
                let key = PrivateKeyDer::from_pem_file(key)
                    .map_err(|error| refused(format!("TLS: {}: {error}", key.display())))?;
                builder
                    .with_client_auth_cert(certificates(cert)?, key)
                    .map_err(|error| refused(format!("TLS: client certificate: {error}")))?
            }
            (None, None) => builder.with_no_client_auth(),
            _ => {
                return Err(refused(
                    "TLS: a client certificate needs its key, and a key its certificate (--tls-cert with --tls-key)"
                        .into(),
                ));
            }
        };
        let host = match &self.server_name {
            Some(name) => name.clone(),
            None => address
                .rsplit_once(':')
                .map_or(address, |(host, _)| host)
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
        };
        let name = ServerName::try_from(host.clone())
            .map_err(|error| refused(format!("TLS: server name {host:?}: {error}")))?;
        Ok((tokio_rustls::TlsConnector::from(Arc::new(config)), name))
    }
}
