//! TLS for the server's listeners (rustls on the ring provider; no OpenSSL): the server's
//! certificate chain and key from PEM files, reloaded with the client CA when any of them
//! changes (a renewed certificate is served to new connections without a restart), and
//! optionally mutual TLS
//! — clients must present a certificate issued by the CA of `--tls-client-ca`, whose
//! subject authorization can map to roles (see `security::config`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::RwLock;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;

/// How often the certificate files' modification times are checked.
pub const RELOAD_CHECK_INTERVAL: Duration = Duration::from_secs(5);

/// How long a client may take to finish the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the server's TLS material is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, PEM, leaf first.
    pub cert: PathBuf,
    /// The private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// For mutual TLS: the CA (PEM, one or more certificates) client certificates must
    /// chain to. `None`: clients present none.
    pub client_ca: Option<PathBuf>,
}

/// Why TLS cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file cannot be read or holds no usable PEM.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// rustls refused the material (a key that does not match its certificate, say).
    #[error("TLS: {0}")]
    Rustls(String),
}

fn file_error(path: &Path, reason: impl std::fmt::Display) -> TlsError {
    TlsError::File {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

/// Every certificate of a PEM file.
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|error| file_error(path, error))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| file_error(path, error))?;
    if certificates.is_empty() {
        return Err(file_error(path, "no CERTIFICATE block in the file"));
    }
    Ok(certificates)
}

/// The private key of a PEM file.
pub fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|error| file_error(path, error))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The rustls configuration the files describe.
fn server_config(files: &TlsFiles, alpn: &[Vec<u8>]) -> Result<rustls::ServerConfig, TlsError> {
    let chain = read_certificates(&files.cert)?;
    let key = read_key(&files.key)?;
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|error| TlsError::Rustls(error.to_string()))?;
    let builder = match &files.client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for certificate in read_certificates(ca)? {
                roots
                    .add(certificate)
                    .map_err(|error| file_error(ca, error))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                .build()
                .map_err(|error| TlsError::Rustls(error.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|error| TlsError::Rustls(format!("{}: {error}", files.key.display())))?;
    config.alpn_protocols = alpn.to_vec();
    Ok(config)
}

/// A server's TLS: the rustls configuration its listeners accept with, swapped whole when
/// its files change (each new connection takes the configuration in force).
#[derive(Clone)]
pub struct ServerTls {
    config: Arc<RwLock<Arc<rustls::ServerConfig>>>,
    files: TlsFiles,
    alpn: Vec<Vec<u8>>,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("files", &self.files)
            .finish()
    }
}

impl ServerTls {
    /// Loads the files; `alpn` the protocols offered (`h2`, `http/1.1`; none for the native
    /// protocol).
    pub fn load(files: TlsFiles, alpn: &[&[u8]]) -> Result<Self, TlsError> {
        let alpn: Vec<Vec<u8>> = alpn.iter().map(|protocol| protocol.to_vec()).collect();
        let config = server_config(&files, &alpn)?;
        Ok(Self {
            config: Arc::new(RwLock::new(Arc::new(config))),
            files,
            alpn,
        })
    }

    /// The acceptor for the next connection (the configuration in force).
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(Arc::clone(&self.config.read()))
    }

    /// Whether clients must present a certificate.
    pub fn mutual(&self) -> bool {
        self.files.client_ca.is_some()
    }

    /// Loads the certificate, its key and the client CA again; on failure the configuration
    /// in force stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let fresh = server_config(&self.files, &self.alpn)?;
        *self.config.write() = Arc::new(fresh);
        Ok(())
    }

    /// Reloads whenever the certificate, the key or the client CA file changes, until the
    /// task is aborted.
    pub fn watch(&self) -> tokio::task::JoinHandle<()> {
        let tls = self.clone();
        tokio::spawn(async move {
            let files: Vec<PathBuf> = [Some(&tls.files.cert), Some(&tls.files.key)]
                .into_iter()
                .chain([tls.files.client_ca.as_ref()])
                .flatten()
                .cloned()
                .collect();
            let modified = || -> Vec<Option<SystemTime>> {
                files
                    .iter()
                    .map(|file| std::fs::metadata(file).and_then(|m| m.modified()).ok())
                    .collect()
            };
            let mut seen = modified();
            loop {
                tokio::time::sleep(RELOAD_CHECK_INTERVAL).await;
                let now = modified();
                if now == seen {
                    continue;
                }
                seen = now;
                match tls.reload() {
                    Ok(()) => {
                        tracing::warn!(cert = %tls.files.cert.display(), "TLS certificate reloaded")
                    }
                    Err(error) => {
                        tracing::error!(%error, "the changed TLS files do not load; the previous configuration is still served")
                    }
                }
            }
        })
    }
}

/// The subject of a verified client certificate (`CN=billing-app, O=Acme`, as authorization
/// names it), from a TLS connection's peer certificates.
pub fn peer_subject(certificates: Option<&[CertificateDer<'_>]>) -> Option<String> {
    let leaf = certificates?.first()?;
    let (_, parsed) = x509_parser::parse_x509_certificate(leaf.as_ref()).ok()?;
    Some(parsed.subject().to_string())
}
